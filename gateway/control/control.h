/* The control socket of portcullisctl(8): a Unix stream socket on which a
 * client sends one request line (line.h) and gets one JSON document back,
 * then the connection closes. The module knows sockets, peers' credentials
 * and JSON, not calls: the commands are callbacks the composition root
 * registers (gateway/control_commands.c), so this module ranks just above
 * core and config. Who may connect: the socket's mode (0660, owned by the
 * gateway's user and group) and, checked again on every connection with
 * SO_PEERCRED/SO_PEERGROUPS, root, the gateway's own uid and the members
 * of the socket's group (docs/security-model.md). */
#ifndef PC_CONTROL_CONTROL_H
#define PC_CONTROL_CONTROL_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/config.h"
#include "control/line.h"

#define CONTROL_MAX_CONNECTIONS 8 /* clients served at once; more are told "busy" */
#define CONTROL_TIMEOUT_S 5       /* to send the request line, and to read the answer */
#define CONTROL_COMMANDS_MAX 16

struct event_base;
struct control;

/* A command: argv[0] is its name, argv[1..argc-1] its arguments (checked
 * against the registered counts already). Returns the answer, a JSON
 * object (a new reference), or NULL with a message for the operator in
 * err. */
typedef json_t *control_fn(void *ctx, int argc, char **argv, char *err, size_t errlen);

/* What the configuration asks that start-up would refuse: a control group
 * that does not exist. 0, or -1 with the reason in err. */
int control_check(const struct control_config *cc, char *err, size_t errlen);

/* Makes the socket at cc->socket (a stale socket nobody answers on is
 * replaced; anything else there is an error), owned by `owner` and by
 * cc->group (or `owner_gid` when it is empty), mode 0660, and listens on
 * `base`. Runs before the privilege drop. NULL with the reason in err. */
struct control *control_new(struct event_base *base, const struct control_config *cc, uid_t owner,
			    gid_t owner_gid, char *err, size_t errlen);
/* Registers `name` taking min_args..max_args arguments; `usage` is shown
 * when the count is wrong and by the built-in `help`. 0 or -1 (table full). */
int control_add(struct control *c, const char *name, int min_args, int max_args,
		const char *usage, control_fn *fn, void *ctx);
/* Closes every connection and the socket, and removes the socket file when
 * it is still the one made here (and the process may). NULL-safe. */
void control_free(struct control *c);

/* The answer to one request line (len bytes, no LF): what the connection
 * sends back. Exposed for the unit tests. A new reference, never NULL
 * unless out of memory. */
json_t *control_answer(struct control *c, char *line, size_t len, uid_t peer_uid);

#endif
