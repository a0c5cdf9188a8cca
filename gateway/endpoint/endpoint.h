/* The gateway's SIP core above the transaction layer: message intake (parse,
 * stateless checks, Via received/rport, RFC 5923 aliases), answers to requests
 * addressed to the gateway itself (OPTIONS health checks), CANCEL handling,
 * OPTIONS keep-alive pings toward configured peers, and the refusal of
 * everything the call layer does not handle yet. It wires the transport and
 * the transaction layer together through their callbacks. */
#ifndef PC_ENDPOINT_ENDPOINT_H
#define PC_ENDPOINT_ENDPOINT_H

#include "config/config.h"

struct event_base;
struct endpoint;

struct endpoint *endpoint_new(struct event_base *base, const struct gateway_config *cfg);
/* Open listeners and start peer keep-alives. 0 or -1 (reason logged). */
int endpoint_start(struct endpoint *ep);
void endpoint_free(struct endpoint *ep);
/* Log every non-zero counter (SIGUSR1 and at shutdown). */
void endpoint_log_counters(const struct endpoint *ep);

#endif
