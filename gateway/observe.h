/* The gateway's live HTTP documents (observe.c): /metrics, /health, /calls
 * (observe_calls.c) and the status page (/, /status.js, /status.css) on the
 * http listener, for the sources http.allow admits. */
#ifndef PC_OBSERVE_H
#define PC_OBSERVE_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"
#include "policy/admit.h"

struct b2bua;
struct cluster;
struct endpoint;
struct http_server;
struct media_pool;

struct observe {
	const struct gateway_config *cfg; /* leg names for labels */
	struct endpoint *ep;
	struct b2bua *b2bua;
	struct media_pool *media;
	struct cluster *cluster; /* cluster mode's, or NULL */
	struct admit_net allow[CFG_MAX_NETS];
	unsigned n_allow;
};

/* Parses http.allow (also for --check-config): 0, or -1 with
 * "file:line: http.allow: \"text\": why". */
int observe_init(struct observe *o, const struct gateway_config *cfg, char *err, size_t errlen);
/* Registers the documents on s, reading the floors in o. 0 or -1. */
int observe_serve(struct observe *o, struct http_server *s);

/* The /calls document (shared with the control tool):
 * {"calls":[{"id","state","started","answered","duration_s","from" (only as
 * privacy allows),"to","auth_failures","legs":[{"side","leg","transport",
 * "tls_version","srtp_suite","media":[{"codec","rx_packets","rx_bytes",
 * "tx_packets","tx_bytes","lost","fraction_lost","jitter_ms","rtt_ms",
 * "mos"}]}]}],"truncated":bool}. New reference, NULL without memory. */
json_t *observe_calls_json(struct observe *o);
/* http_fill_fn for /calls: the document above as text, cut to len. */
long observe_calls_fill(void *ctx, char *buf, size_t len);

#endif
