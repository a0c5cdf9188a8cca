/* The keys of the cluster group: where this gateway finds the Redis server
 * it shares state through, the name it goes by among the other nodes, the
 * file of the cluster key, Redis's user and password file, and the circuit
 * breaker's bounds. The group's
 * rule reads `redis` ("host:port", "[v6]:port" or "unix:/absolute/path")
 * into host and port or a socket path, so a typo is a file:line error at
 * start rather than a connection that never comes up. Absent group: off.
 * docs/configuration.md documents the keys. */
#include "loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_node_name(struct cfg_loader *ld, const config_setting_t *s, char *value, size_t size)
{
	/* A node name goes into Redis keys and values, a user name into AUTH:
	 * no separators, no spaces. */
	if (value[0] && !config_user_name_valid(value))
		return cfg_fail(ld, s, "must be a name (letters, digits, '.', '_', '-'; not starting with '-')");
	return 0;
}

/* "host:port" into c->host, c->port; the host part is checked by
 * getaddrinfo at connect time, here only its shape. */
static int read_host_port(struct cfg_loader *ld, const config_setting_t *s, struct cluster_config *c)
{
	const char *v = c->redis, *colon, *host = v;
	size_t hlen;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close || close[1] != ':')
			return cfg_fail(ld, s, "must be \"host:port\", \"[v6]:port\" or \"unix:/path\"");
		host = v + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon || strchr(v, ':') != colon)
			return cfg_fail(ld, s, "must be \"host:port\", \"[v6]:port\" or \"unix:/path\"");
		hlen = (size_t)(colon - v);
	}
	if (hlen == 0 || hlen >= sizeof(c->host))
		return cfg_fail(ld, s, "the host part is empty or too long");
	for (size_t i = 0; i < hlen; i++)
		if (host[i] <= ' ' || host[i] == '/' || host[i] == '@')
			return cfg_fail(ld, s, "the host part holds a character a host name cannot");
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || port < 1 || port > 65535)
		return cfg_fail(ld, s, "the port must be 1-65535");
	memcpy(c->host, host, hlen);
	c->host[hlen] = '\0';
	c->port = (unsigned)port;
	return 0;
}

static int check_cluster(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	(void)index;
	struct cluster_config *c = obj;
	if (!g)
		return 0; /* no group: single process */
	const config_setting_t *rs = cfg_member(g, "redis");
	if (!c->redis[0])
		return cfg_fail(ld, rs ? rs : g, "cluster needs redis = \"host:port\" or \"unix:/path\"");
	if (!c->node[0])
		return cfg_fail(ld, g, "cluster needs node = \"name\" (unique among the gateways)");
	if (c->user[0] && !c->password_file[0])
		return cfg_fail(ld, cfg_member(g, "user"), "a Redis user needs password_file");
	if (strncmp(c->redis, "unix:", 5) == 0) {
		const char *p = c->redis + 5;
		if (p[0] != '/')
			return cfg_fail(ld, rs, "a Unix socket path must be absolute");
		if (strlen(p) >= sizeof(c->unix_path))
			return cfg_fail(ld, rs, "a Unix socket path is at most %zu bytes",
					sizeof(c->unix_path) - 1);
		snprintf(c->unix_path, sizeof(c->unix_path), "%s", p);
		return 0;
	}
	return read_host_port(ld, rs, c);
}

#define T struct cluster_config
static const struct cfg_key cluster_keys[] = {
	STR("redis", redis, 0, NULL),
	{ .name = "node", .kind = K_STRING, FIELD(T, node), .check = check_node_name },
	STR("key_file", key_file, F_PATH, NULL),
	{ .name = "user", .kind = K_STRING, FIELD(T, user), .check = check_node_name },
	STR("password_file", password_file, F_PATH, NULL),
	UINT("command_timeout", command_timeout_ms, 0, 10, 60000, 250),
	UINT("max_pending", max_pending, 0, 1, 1000000, 4096),
	UINT("retry_max", retry_max_s, 0, 1, 3600, 30),
	UINT("heartbeat", heartbeat_s, 0, 1, 300, 30),
};
#undef T

const struct cfg_section cfg_cluster_section = SECTION(cluster_keys, check_cluster);
