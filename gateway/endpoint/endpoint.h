/* The gateway's SIP core above the transaction layer: message intake (parse,
 * stateless checks, Via received/rport, RFC 5923 aliases), answers to requests
 * addressed to the gateway itself (OPTIONS health checks), CANCEL handling,
 * OPTIONS keep-alive pings toward configured peers, and the refusal of
 * everything the call layer does not handle yet. It wires the transport and
 * the transaction layer together through their callbacks. */
#ifndef PC_ENDPOINT_ENDPOINT_H
#define PC_ENDPOINT_ENDPOINT_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>

#include "core/peer.h"
#include "sip/msg.h"

struct event_base;
struct endpoint;
struct txn;
struct txn_layer;

/* Whoever starts a client transaction, or takes over a server transaction,
 * sets the transaction's user data to a struct whose first member is a
 * struct txn_owner; the endpoint dispatches the transaction layer's
 * callbacks for that transaction to it. Any member may be NULL. */
struct txn_owner {
	void (*on_response)(struct txn_owner *o, struct txn *ct, msg_t *resp);
	void (*on_failure)(struct txn_owner *o, struct txn *ct, int status);
	void (*on_terminated)(struct txn_owner *o, struct txn *t);
	/* A CANCEL matched this server INVITE transaction while it was pending;
	 * the endpoint already answered the CANCEL with 200. */
	void (*on_cancel)(struct txn_owner *o, struct txn *invite_st);
};

/* The call layer: gets the requests the endpoint does not answer itself. */
struct call_handler {
	void *ctx;
	/* Runs for every well-formed request, ACK and CANCEL included, before
	 * any transaction or other state exists for it and before the endpoint
	 * answers anything itself: false when refused. A refusal may set
	 * *answer to a response, which the endpoint sends once and statelessly:
	 * never retransmitted, so a spoofed UDP source gets at most one packet
	 * per request it sent; left NULL, the request is dropped in silence.
	 * NULL admits all. */
	bool (*screen)(void *ctx, msg_t *req, const struct pc_peer *from, msg_t **answer);
	/* The address part of the screen alone (network lists, bans), taking
	 * nothing from any rate: false when `from` must not be answered at all,
	 * asked before a stateless answer to a message too malformed to screen.
	 * NULL answers all. */
	bool (*source_ok)(void *ctx, const struct pc_peer *from);
	/* Returns true when it took the request (and will answer it through
	 * the server transaction), false to let the endpoint refuse it. */
	bool (*on_request)(void *ctx, struct txn *st, msg_t *req);
	/* An ACK outside any transaction: the ACK for a 2xx (borrowed). */
	void (*on_ack)(void *ctx, msg_t *ack, const struct pc_peer *from);
	/* A peer's inbound TCP/TLS connection closed. */
	void (*on_inbound_closed)(void *ctx, uint64_t conn_id);
};

/* Everything the call layer may ask of the floors below it, as one table
 * of operations: the endpoint fills it (endpoint_call_net), and unit tests
 * of the call layer fill it with fakes, so calls are tested without sockets
 * or sleeping. Each request takes one path down: call layer -> this table
 * -> transaction layer -> transport. */
struct call_net {
	void *ctx;
	/* Start a client transaction for `req` (taken) toward `to`; its
	 * callbacks go to `owner` (may be NULL: nobody listens). NULL on failure. */
	struct txn *(*request)(void *ctx, msg_t *req, const struct pc_peer *to,
			       struct txn_owner *owner);
	/* Send a message outside any transaction (the ACK for a 2xx); not taken.
	 * 0 or a negative pc_err. */
	int (*send)(void *ctx, const struct pc_peer *to, msg_t *msg);
	/* Via sent-by and Contact host:port toward `to`: the listener `to`
	 * arrived on when it serves that transport, else one of leg `leg`
	 * (NULL: any leg), else any listener of the transport and family. The
	 * peer's next request must reach the leg it belongs to, with that
	 * leg's requirements. 0 or -1. */
	int (*sent_by)(void *ctx, const struct pc_peer *to, const char *leg, char *host,
		       size_t hostlen, unsigned *port);
	/* Seconds before the configured peer `to` is tried again after failed
	 * connections (0: now): the Retry-After of a 503. */
	unsigned (*retry_after)(void *ctx, const struct pc_peer *to);
	/* Resolve a configured peer (numeric address only). 0 or -1. */
	int (*peer_address)(void *ctx, const struct peer_config *p, struct pc_peer *out);
	/* One-shot timer, as the transaction layer's (txn.h): a handle that
	 * timer_stop releases exactly once, also after it fired. */
	void *(*timer_start)(void *ctx, unsigned ms, void (*fire)(void *arg), void *arg);
	void (*timer_stop)(void *ctx, void *timer);
	/* The TLS version of to's connection ("TLS1.3"), NULL when not TLS
	 * or closed (may itself be NULL: unit tests' fakes). */
	const char *(*tls_version)(void *ctx, const struct pc_peer *to);
};

struct endpoint *endpoint_new(struct event_base *base, const struct gateway_config *cfg);
/* Its transport (reload swaps the TLS credentials there). */
struct transport *endpoint_transport(struct endpoint *ep);
/* Open listeners and start peer keep-alives. 0 or -1 (reason logged). */
int endpoint_start(struct endpoint *ep);
void endpoint_free(struct endpoint *ep);
void endpoint_set_call_handler(struct endpoint *ep, const struct call_handler *h);
/* The endpoint's operations for the call layer. */
void endpoint_call_net(struct endpoint *ep, struct call_net *out);

/* What is live now, for the metrics and the health check. */
struct endpoint_gauges {
	unsigned connections;   /* open TCP/TLS connections */
	unsigned transactions;
	unsigned listeners;
	unsigned peers_pinged;  /* configured peers with keep-alive pings */
	unsigned peers_up;      /* of those, the ones that answered the last ping */
	uint64_t messages[3][2]; /* SIP messages by pc_transport: [0] received, [1] sent */
};
void endpoint_gauges(const struct endpoint *ep, struct endpoint_gauges *out);
/* The TLS version of p's connection ("TLS1.3"), NULL when not TLS or closed. */
const char *endpoint_tls_version(const struct endpoint *ep, const struct pc_peer *p);

/* Configured peer `index` (cfg->peers) now: whether it is pinged
 * (keepalive_interval > 0), its last ping's outcome (-1 none yet, 0 down,
 * 1 up) and the seconds before a peer backed off after failed connections
 * is tried again (0: not backed off). For portcullisctl peers. */
struct endpoint_peer_state {
	bool pinged;
	int up;
	unsigned retry_after_s;
};
void endpoint_peer_state(const struct endpoint *ep, unsigned index, struct endpoint_peer_state *out);

/* Log every non-zero counter (SIGUSR1 and at shutdown). */
void endpoint_log_counters(const struct endpoint *ep);

#endif
