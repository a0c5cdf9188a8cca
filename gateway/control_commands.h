/* The commands of the control socket (control_commands.c): what
 * portcullisctl(8) can ask of the running gateway, read from and done to
 * the floors the composition root holds. */
#ifndef PC_CONTROL_COMMANDS_H
#define PC_CONTROL_COMMANDS_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"

struct b2bua;
struct control;
struct endpoint;
struct media_pool;

struct control_commands {
	const struct gateway_config *cfg;
	struct endpoint *ep;
	struct b2bua *b2bua;
	struct media_pool *media;
	/* Providers other parts of the gateway own (main.c sets them; reload
	 * once the loop runs): NULL answers an error. */
	json_t *(*calls)(void *ctx);  /* the /calls document: observe_calls_json */
	void *calls_ctx;
	int (*reload)(void *ctx, char *report, size_t len); /* gateway_reload: 0 ok, -1 refused */
	void *reload_ctx;
	/* cluster takeover of a failed node's calls: 0 ok, -1 refused */
	int (*takeover)(void *ctx, const char *node, char *report, size_t len);
	void *takeover_ctx;
};

/* Registers calls, call kill, registrations, counters, reload, log-level
 * peers and takeover on `c`, reading `cc` (which must outlive `c`). 0 or -1. */
int control_commands_register(struct control *c, struct control_commands *cc);

#endif
