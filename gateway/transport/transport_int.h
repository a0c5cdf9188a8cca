/* The transport module's shared inside, for its own files only: the state of
 * listeners, configured peers and connections, and the functions one file
 * calls in another. transport.h is the module's contract with the layers
 * above; nothing outside gateway/transport/ includes this header.
 * Connections are owned by the transport and die only in conn_close(), which
 * marks them and lets a zero-delay "reaper" event free them, so no callback
 * frees a connection its caller is still using. Upper layers refer to
 * connections by id; a stale id simply finds nothing. */
#ifndef PC_TRANSPORT_TRANSPORT_INT_H
#define PC_TRANSPORT_TRANSPORT_INT_H

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/counters.h"
#include "framing.h"
#include "tls.h"
#include "transport.h"

#define TLS_RECORD_MAX 16384

enum conn_state { CONN_CONNECTING, CONN_HANDSHAKING, CONN_OPEN, CONN_CLOSING };

struct listener {
	struct transport *tp;
	const struct listener_config *cfg;
	int index;
	int fd;
	struct event *ev;
	struct tls_ctx tls;
	bool tls_ready;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned n_open;         /* inbound connections not closing: its budget */
	struct event *resume;    /* re-arms accepting after a pause for descriptors */
	bool starved;            /* paused since the last successful accept */
};

/* A configured next hop: its TLS client context and its health. After a
 * failed attempt no new connection is tried before retry_at_ms, so an
 * outage costs a bounded number of attempts, not one per request. */
struct peer_ctx {
	const struct peer_config *cfg;
	struct tls_ctx tls;
	bool tls_ready;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned failures;       /* consecutive failed attempts */
	uint64_t retry_at_ms;
	bool down;
};

struct conn {
	struct conn *next;
	struct transport *tp;
	uint64_t id;
	int fd;
	enum pc_transport transport;
	enum conn_state state;
	bool outgoing;
	int listener;            /* receiving listener, -1 when outgoing */
	struct peer_ctx *peer;   /* outgoing to a configured peer: outside any budget */
	/* Inbound: delivered a valid message (the endpoint said so) or showed a
	 * verified certificate. Until then it may be evicted and must speak
	 * within first_message_timeout. */
	bool proven;
	struct tls_ctx *tls_ctx; /* listener's or peer's; NULL for TCP */
	struct tls_cred *tls_cred; /* the credentials its session was made with */
	gnutls_session_t tls;
	bool session_saved;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct event *ev_read;
	struct event *ev_write;
	struct pc_buf in;
	struct pc_buf out;
	struct framer framer; /* where framing of the message in `in` stands */
	char identity[PC_IDENTITY_MAX];
	char alias_host[INET6_ADDRSTRLEN];
	unsigned alias_port;
	time_t created;
	uint64_t created_ms;     /* the first-message timeout is short: seconds are too coarse */
	time_t last_activity;
	time_t message_started; /* when the partial message in `in` began */
};

struct transport {
	struct event_base *base;
	const struct gateway_config *cfg;
	struct transport_events ev;
	struct listener listeners[CFG_MAX_LISTENERS];
	unsigned n_listeners;
	struct peer_ctx peers[CFG_MAX_PEERS];
	unsigned n_peers;
	struct conn *conns;
	unsigned n_conns;
	unsigned n_out;          /* outgoing connections to other than configured peers */
	uint64_t next_conn_id;
	struct event *sweep;
	struct event *reaper;
	char *dgram;
	struct framing_limits framing;
	/* SIP messages by transport, [0] received, [1] sent (the labelled
	 * portcullis_sip_messages_total; CNT_MSG_* count them all together). */
	uint64_t messages[3][2];
};

/* Monotonic seconds, for the connection timeouts counted in seconds. */
static inline time_t now_s(void) { return (time_t)(pc_clock_ms() / 1000); }

/* address.c: a numeric IPv4 or IPv6 address and port. 0 or -1. */
int parse_address(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len);

/* conn.c: connection lifetime, budgets and timeouts. */
const char *conn_str(const struct conn *c, char *buf, size_t len);
struct conn *conn_new(struct transport *tp, int fd, enum pc_transport transport,
		      const struct sockaddr_storage *addr, socklen_t addrlen,
		      struct tls_ctx *tls_ctx, int listener, bool outgoing);
/* why_counter < 0: count nothing. */
void conn_close(struct conn *c, enum pc_counter why_counter, const char *why);
void conn_free(struct conn *c);
struct conn *conn_find(struct transport *tp, uint64_t id);
void conn_peer(const struct conn *c, struct pc_peer *from);
bool admit_connection(struct transport *tp, struct listener *l, const struct sockaddr_storage *ss);
void reap_cb(evutil_socket_t fd, short what, void *arg);
void sweep_cb(evutil_socket_t fd, short what, void *arg);

/* io.c: bytes in and out of sockets, framed into messages. */
void conn_event(evutil_socket_t fd, short what, void *arg);
void conn_want_write(struct conn *c, bool want);
int conn_queue(struct conn *c, const char *data, size_t len);
void conn_handshake(struct conn *c);
void udp_cb(evutil_socket_t fd, short what, void *arg);
int udp_send(struct transport *tp, const struct pc_peer *to, const char *data, size_t len);

/* listener.c: listening sockets and accepting connections. */
int listener_open(struct transport *tp, struct listener *l);

/* outgoing.c: the health of configured peers. */
void peer_reached(struct peer_ctx *p);
void peer_failed(struct transport *tp, struct peer_ctx *p);

#endif
