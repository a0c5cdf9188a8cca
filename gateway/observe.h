/* The gateway's live HTTP documents (observe.c): /metrics and /health on
 * the http listener, for the sources http.allow admits. */
#ifndef PC_OBSERVE_H
#define PC_OBSERVE_H

#include <stddef.h>

#include "config/config.h"
#include "policy/admit.h"

struct b2bua;
struct endpoint;
struct http_server;
struct media_engine;

struct observe {
	struct endpoint *ep;
	struct b2bua *b2bua;
	struct media_engine *media;
	struct admit_net allow[CFG_MAX_NETS];
	unsigned n_allow;
};

/* Parses http.allow (also for --check-config): 0, or -1 with
 * "file:line: http.allow: \"text\": why". */
int observe_init(struct observe *o, const struct gateway_config *cfg, char *err, size_t errlen);
/* Registers /metrics and /health on s, reading the floors in o. 0 or -1. */
int observe_serve(struct observe *o, struct http_server *s);

#endif
