/* SIP transports on one libevent loop: UDP sockets, TCP and TLS listeners and
 * connections (both directions), stream framing, keep-alives, connection
 * reuse and aliasing (RFC 5923), and the limits that stop a peer from holding
 * resources (a connection budget per listener and one for outgoing
 * connections, eviction of connections that proved nothing, first-message,
 * handshake, message and idle timeouts, back-off from a failing peer). Complete
 * messages go up through the on_message callback with the peer they came
 * from; nothing here parses SIP. */
#ifndef PC_TRANSPORT_TRANSPORT_H
#define PC_TRANSPORT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/peer.h"

struct event_base;
struct transport;

struct transport_events {
	void *ctx;
	/* A complete message (datagram, or framed stream message). data is
	 * valid only during the call. */
	void (*on_message)(void *ctx, const char *data, size_t len, const struct pc_peer *from);
	/* A message refused by framing, before any parse, that deserves an
	 * answer with `status` (too many headers or Via entries, a datagram
	 * shorter than its Content-Length): data holds its start line and the
	 * headers read so far. Counted already. May be NULL. */
	void (*on_refused)(void *ctx, const char *data, size_t len, const struct pc_peer *from,
			   int status, const char *why);
	/* An outgoing connection failed before it carried our data (connect or
	 * handshake failure, or closed with data still queued). May be NULL. */
	void (*on_unreachable)(void *ctx, const struct pc_peer *to);
	/* An inbound stream connection (a peer's, not ours) closed: dialogs that
	 * depend on it can only recover if the peer connects again. May be NULL. */
	void (*on_inbound_closed)(void *ctx, uint64_t conn_id);
};

struct transport *transport_new(struct event_base *base, const struct gateway_config *cfg,
				const struct transport_events *ev);
/* Bind every listener and load TLS credentials. Logs the reason; 0 or -1. */
int transport_start(struct transport *tp);
void transport_free(struct transport *tp);

/* Send bytes to a peer. Over a stream: the connection peer->conn_id if it is
 * still open, else an open connection to the same address (or alias), else a
 * new outgoing connection (TLS only toward a configured peer, whose name is
 * then verified). Data queued before a connection is ready is sent once it is.
 * On success, *used_conn (if non-NULL) receives the connection id.
 * PC_OK or a negative pc_err. */
int transport_send(struct transport *tp, const struct pc_peer *to, const char *data,
		   size_t len, uint64_t *used_conn);

/* RFC 5923: later requests to the peer's address at `port` may reuse the
 * inbound connection conn_id. Granted only on a TLS connection whose verified
 * client certificate names `sent_by_host` (the Via sent-by, RFC 5923 §5):
 * aliasing an unauthenticated connection would let anyone capture requests
 * meant for another server. PC_OK, or a negative pc_err when refused. */
int transport_add_alias(struct transport *tp, uint64_t conn_id, const char *sent_by_host,
			unsigned port);

/* The sent-by (address and port) to put in a Via or Contact for messages
 * toward `to`: the listener `to` arrived on when it serves that transport and
 * address family, else the first such listener in `prefer` (bit i stands for
 * listener i, the configuration's listeners[i]; 0: no preference), else any
 * such listener. The caller names in `prefer` the listeners the peer's next
 * request must reach, with their requirements. 0, or -1 when no listener
 * serves that transport. */
_Static_assert(CFG_MAX_LISTENERS <= 32, "a listener set is a 32-bit mask");
int transport_sent_by(struct transport *tp, const struct pc_peer *to, uint32_t prefer,
		      char *host, size_t hostlen, unsigned *port);

/* Is this host:port one of our listeners? (for requests addressed to us) */
int transport_is_local(struct transport *tp, const char *host, unsigned port);

/* Load every TLS credential the configuration names, without binding
 * anything (for --check-config). Logs each problem; 0 or -1. */
int transport_check_credentials(const struct gateway_config *cfg);

/* Reload: every TLS listener's and peer's certificate chain and CA bundle
 * read again from `cand` (whose listeners and peers are the running ones),
 * each certificate checked against the key the key holder holds. NULL when
 * one does not load (logged). Install gives them to new handshakes and
 * frees `c`; connections already up keep the credentials they started with. */
struct transport_creds;
struct transport_creds *transport_creds_load(const struct transport *tp, const struct gateway_config *cand);
void transport_creds_install(struct transport *tp, struct transport_creds *c);
void transport_creds_free(struct transport_creds *c);

unsigned transport_connection_count(const struct transport *tp);
/* SIP messages received (sent false) or sent over transport t since start. */
uint64_t transport_messages(const struct transport *tp, enum pc_transport t, bool sent);
/* "TLS1.3" or "TLS1.2": what the open TLS connection of `p` (its conn_id,
 * else ours to its address) negotiated; NULL when there is none. */
const char *transport_tls_version(struct transport *tp, const struct pc_peer *p);
/* The inbound connection conn_id delivered a valid message: it is no longer
 * subject to the first-message timeout or to eviction when its listener's
 * budget is full. */
void transport_conn_proven(struct transport *tp, uint64_t conn_id);
/* Seconds before a new connection to `to` (a configured peer that failed) is
 * tried again; 0 when one may be tried now. transport_send() refuses with
 * PC_ERR_DOWN meanwhile, so callers can answer 503 with Retry-After. */
unsigned transport_peer_retry_after(struct transport *tp, const struct pc_peer *to);
/* Resolve a configured peer into a pc_peer (numeric address only). 0 or -1. */
int transport_peer_address(const struct peer_config *pc, struct pc_peer *out);

#endif
