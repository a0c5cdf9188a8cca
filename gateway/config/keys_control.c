/* The keys of the control group: where the control socket of
 * portcullisctl(8) is made and which group may use it. The socket is a way
 * into a running gateway (it ends calls and reloads the configuration), so
 * its path must be absolute (never resolved against the configuration's
 * directory, where a relative name would land beside the keys) and fit a
 * sockaddr_un; the group must be a group name. Whether that group exists
 * is checked where the socket is made (gateway/control/control.c), and by
 * --check-config. docs/configuration.md documents the keys. */
#include "loader.h"

#include <stdio.h>
#include <string.h>

static int check_socket_path(struct cfg_loader *ld, const config_setting_t *s, char *value,
			     size_t size)
{
	if (value[0] && value[0] != '/')
		return cfg_fail(ld, s, "must be an absolute path (or \"\" for no control socket)");
	return 0;
}

static int check_group_name(struct cfg_loader *ld, const config_setting_t *s, char *value,
			    size_t size)
{
	if (value[0] && !config_user_name_valid(value))
		return cfg_fail(ld, s, "must be a group name (letters, digits, '.', '_', '-'; not starting with '-')");
	return 0;
}

#define T struct control_config
static const struct cfg_key control_keys[] = {
	/* STR's size check keeps the path within sun_path (CFG_SOCKET_MAX). */
	{ .name = "socket", .kind = K_STRING, FIELD(T, socket), .check = check_socket_path },
	{ .name = "group", .kind = K_STRING, FIELD(T, group), .check = check_group_name },
};
#undef T

const struct cfg_section cfg_control_section = SECTION(control_keys, NULL);
