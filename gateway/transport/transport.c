/* Listeners and connections. Connections are owned by the transport and die
 * only in conn_close(), which marks them and lets a zero-delay "reaper" event
 * free them, so no callback frees a connection its caller is still using.
 * Upper layers refer to connections by id; a stale id simply finds nothing. */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/err.h"
#include "core/log.h"
#include "backoff.h"
#include "framing.h"
#include "tls.h"

#define READS_PER_EVENT 16      /* fairness between connections */
#define DATAGRAMS_PER_EVENT 64
#define ACCEPTS_PER_EVENT 64    /* config_fd_need() reserves this much per listener */
#define ACCEPT_PAUSE_MS 100     /* out of descriptors: stop accepting this long */
#define OUT_BUF_MAX (1024 * 1024) /* a peer that does not read gets closed */
#define TLS_RECORD_MAX 16384

enum conn_state { CONN_CONNECTING, CONN_HANDSHAKING, CONN_OPEN, CONN_CLOSING };
static const char *const conn_state_names[] = { "connecting", "handshaking", "open", "closing" };

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
};

/* Whole seconds of the gateway's clock, for the idle and message timeouts. */
static time_t now_s(void)
{
	return (time_t)(pc_clock_ms() / 1000);
}

static int parse_address(const char *host, unsigned port, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

static const char *conn_str(const struct conn *c, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	pc_sockaddr_str((const struct sockaddr *)&c->addr, host, sizeof(host), &port);
	snprintf(buf, len, "%s conn %llu %s %s:%u", pc_transport_name(c->transport),
		 (unsigned long long)c->id, c->outgoing ? "to" : "from", host, port);
	return buf;
}

/* ---- peer health ---- */

static void peer_failed(struct transport *tp, struct peer_ctx *p)
{
	const struct limits_config *lim = &tp->cfg->limits;
	unsigned delay = backoff_delay_s(lim->peer_retry_min_s, lim->peer_retry_max_s, ++p->failures);
	p->retry_at_ms = pc_clock_ms() + (uint64_t)delay * 1000;
	counter_inc(CNT_PEER_CONNECT_FAILED);
	log_warnx("peer %s: %s (%u failed attempt%s); no new attempt for %u s", p->cfg->name,
		  p->down ? "still unreachable" : "unreachable, marked down", p->failures,
		  p->failures == 1 ? "" : "s", delay);
	p->down = true;
}

static void peer_reached(struct peer_ctx *p)
{
	if (p->down)
		log_info("peer %s is reachable again after %u failed attempt%s", p->cfg->name,
			 p->failures, p->failures == 1 ? "" : "s");
	p->down = false;
	p->failures = 0;
	p->retry_at_ms = 0;
}

/* Milliseconds until a new attempt toward p is allowed; 0 when it is. */
static uint64_t peer_wait_ms(const struct peer_ctx *p)
{
	uint64_t now = pc_clock_ms();
	return p->down && p->retry_at_ms > now ? p->retry_at_ms - now : 0;
}

/* ---- connection lifetime ---- */

static void conn_close(struct conn *c, enum pc_counter why_counter, const char *why)
{
	char desc[128];
	if (c->state == CONN_CLOSING)
		return;
	log_debug("%s closed: %s", conn_str(c, desc, sizeof(desc)), why);
	if ((int)why_counter >= 0)
		counter_inc(why_counter);
	if (c->tls && c->state == CONN_OPEN)
		gnutls_bye(c->tls, GNUTLS_SHUT_WR); /* best effort: non-blocking */
	bool undelivered = c->outgoing && (c->state != CONN_OPEN || c->out.len > 0);
	if (!c->outgoing)
		c->tp->listeners[c->listener].n_open--;
	else if (!c->peer)
		c->tp->n_out--;
	else if (c->state != CONN_OPEN)
		peer_failed(c->tp, c->peer);
	c->state = CONN_CLOSING;
	event_del(c->ev_read);
	event_del(c->ev_write);
	event_active(c->tp->reaper, EV_TIMEOUT, 0);
	if (undelivered && c->tp->ev.on_unreachable) {
		struct pc_peer to;
		memset(&to, 0, sizeof(to));
		to.transport = c->transport;
		to.addr = c->addr;
		to.addrlen = c->addrlen;
		to.listener = -1;
		c->tp->ev.on_unreachable(c->tp->ev.ctx, &to);
	}
	if (!c->outgoing && c->tp->ev.on_inbound_closed)
		c->tp->ev.on_inbound_closed(c->tp->ev.ctx, c->id);
}

static void conn_free(struct conn *c)
{
	if (c->tls) {
		if (c->tls_ctx && !c->tls_ctx->server && !c->session_saved)
			tls_ctx_save_session(c->tls_ctx, c->tls);
		gnutls_deinit(c->tls);
	}
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->fd >= 0)
		close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct transport *tp = arg;
	struct conn **pp = &tp->conns;
	while (*pp) {
		struct conn *c = *pp;
		if (c->state == CONN_CLOSING) {
			*pp = c->next;
			tp->n_conns--;
			conn_free(c);
		} else {
			pp = &c->next;
		}
	}
}

static struct conn *conn_find(struct transport *tp, uint64_t id)
{
	for (struct conn *c = tp->conns; c; c = c->next)
		if (c->id == id && c->state != CONN_CLOSING)
			return c;
	return NULL;
}

/* ---- writing ---- */

static void conn_want_write(struct conn *c, bool want)
{
	if (want)
		event_add(c->ev_write, NULL);
	else
		event_del(c->ev_write);
}

/* Push queued bytes out. Returns PC_OK (all or partly sent) or an error after
 * which the connection is closed. */
static int conn_flush(struct conn *c)
{
	char desc[128];
	while (c->out.len > 0) {
		ssize_t n;
		if (c->tls) {
			size_t chunk = c->out.len < TLS_RECORD_MAX ? c->out.len : TLS_RECORD_MAX;
			n = gnutls_record_send(c->tls, c->out.data, chunk);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				conn_want_write(c, true);
				return PC_OK;
			}
			if (n < 0) {
				log_warnx("%s: TLS send: %s", conn_str(c, desc, sizeof(desc)),
					  gnutls_strerror((int)n));
				conn_close(c, CNT_SEND_FAILED, "TLS send error");
				return PC_ERR_TLS;
			}
		} else {
			n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
				conn_want_write(c, true);
				return PC_OK;
			}
			if (n < 0) {
				log_warn("%s: send", conn_str(c, desc, sizeof(desc)));
				conn_close(c, CNT_SEND_FAILED, "send error");
				return PC_ERR_IO;
			}
		}
		buf_consume(&c->out, (size_t)n);
		c->last_activity = now_s();
	}
	conn_want_write(c, false);
	return PC_OK;
}

static int conn_queue(struct conn *c, const char *data, size_t len)
{
	int rc = buf_append(&c->out, data, len);
	if (rc != PC_OK) {
		char desc[128];
		log_warnx("%s: output queue full, peer is not reading",
			  conn_str(c, desc, sizeof(desc)));
		conn_close(c, CNT_SEND_FAILED, "output queue full");
		return rc;
	}
	if (c->state == CONN_OPEN)
		return conn_flush(c);
	return PC_OK;
}

/* ---- reading ---- */

static void conn_peer(const struct conn *c, struct pc_peer *from)
{
	memset(from, 0, sizeof(*from));
	from->transport = c->transport;
	from->addr = c->addr;
	from->addrlen = c->addrlen;
	from->conn_id = c->id;
	from->listener = c->listener;
	memcpy(from->identity, c->identity, sizeof(from->identity));
}

/* Counts a framing refusal and, when it deserves an answer, hands the
 * message's start to the layer that can build one. */
static void frame_refused(struct transport *tp, const struct frame *fr, const char *data,
			  const struct pc_peer *from, enum pc_counter other)
{
	switch (fr->refusal) {
	case REFUSE_HEADERS:
		counter_inc(CNT_MSG_TOO_MANY_HEADERS);
		break;
	case REFUSE_VIAS:
		counter_inc(CNT_MSG_TOO_MANY_VIAS);
		break;
	case REFUSE_BARE_CR:
		counter_inc(CNT_MSG_BARE_CR);
		break;
	default:
		counter_inc(other);
		break;
	}
	if (fr->status && tp->ev.on_refused)
		tp->ev.on_refused(tp->ev.ctx, data, fr->length, from, fr->status, fr->error);
}

static void conn_deliver(struct conn *c)
{
	struct transport *tp = c->tp;
	struct frame fr;
	char desc[128];

	while (c->state == CONN_OPEN && c->in.len > 0) {
		framing_next(&c->framer, c->in.data, c->in.len, &tp->framing, &fr);
		switch (fr.kind) {
		case FRAME_NEED_MORE:
			return;
		case FRAME_PING:
			counter_inc(CNT_KEEPALIVE_PING);
			buf_consume(&c->in, fr.length);
			if (conn_queue(c, "\r\n", 2) != PC_OK)
				return;
			break;
		case FRAME_PONG:
			buf_consume(&c->in, fr.length);
			break;
		case FRAME_ERROR: {
			struct pc_peer from;
			conn_peer(c, &from);
			log_warnx("%s: %s; closing", conn_str(c, desc, sizeof(desc)), fr.error);
			frame_refused(tp, &fr, (const char *)c->in.data, &from, CNT_STREAM_FRAMING_ERROR);
			/* The answer, if any, is queued first; the stream cannot be
			 * trusted to resynchronise after a refused header block. */
			conn_close(c, -1, fr.error);
			return;
		}
		case FRAME_MESSAGE: {
			struct pc_peer from;
			conn_peer(c, &from);
			counter_inc(CNT_MSG_RECEIVED);
			tp->ev.on_message(tp->ev.ctx, (const char *)c->in.data, fr.length, &from);
			buf_consume(&c->in, fr.length);
			break;
		}
		}
		c->message_started = now_s();
	}
}

static void conn_read(struct conn *c)
{
	char desc[128];
	unsigned char chunk[TLS_RECORD_MAX];

	for (int i = 0; i < READS_PER_EVENT && c->state == CONN_OPEN; i++) {
		ssize_t n;
		if (c->tls) {
			n = gnutls_record_recv(c->tls, chunk, sizeof(chunk));
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				break;
			if (n == GNUTLS_E_REHANDSHAKE) /* TLS 1.2 renegotiation: refused */
				n = GNUTLS_E_UNEXPECTED_PACKET;
			if (n < 0) {
				log_debug("%s: TLS receive: %s", conn_str(c, desc, sizeof(desc)),
					  gnutls_strerror((int)n));
				conn_close(c, -1, "TLS receive error");
				return;
			}
			if (!c->session_saved && !c->tls_ctx->server &&
			    (gnutls_session_get_flags(c->tls) & GNUTLS_SFLAGS_SESSION_TICKET)) {
				tls_ctx_save_session(c->tls_ctx, c->tls);
				c->session_saved = true;
			}
		} else {
			n = recv(c->fd, chunk, sizeof(chunk), 0);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				break;
			if (n < 0) {
				log_debug("%s: recv: %s", conn_str(c, desc, sizeof(desc)), strerror(errno));
				conn_close(c, -1, "receive error");
				return;
			}
		}
		if (n == 0) {
			conn_close(c, -1, "peer closed");
			return;
		}
		if (c->in.len == 0)
			c->message_started = now_s();
		c->last_activity = now_s();
		if (buf_append(&c->in, chunk, (size_t)n) != PC_OK) {
			log_warnx("%s: input exceeds the message size limit; closing",
				  conn_str(c, desc, sizeof(desc)));
			conn_close(c, CNT_MSG_TOO_LARGE, "input too large");
			return;
		}
		conn_deliver(c);
		if (c->tls && gnutls_record_check_pending(c->tls) == 0 && n < (ssize_t)sizeof(chunk))
			break;
	}
}

static void conn_handshake(struct conn *c)
{
	char desc[128];
	int rc = gnutls_handshake(c->tls);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		conn_want_write(c, gnutls_record_get_direction(c->tls) == 1);
		return;
	}
	if (rc < 0) {
		const char *alert = "";
		if (rc == GNUTLS_E_WARNING_ALERT_RECEIVED || rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
			alert = gnutls_alert_get_name(gnutls_alert_get(c->tls));
		log_warnx("%s: TLS handshake failed: %s%s%s", conn_str(c, desc, sizeof(desc)),
			  gnutls_strerror(rc), alert[0] ? ": " : "", alert);
		conn_close(c, CNT_TLS_HANDSHAKE_FAILED, "handshake failed");
		return;
	}
	counter_inc(CNT_TLS_HANDSHAKE_OK);
	if (gnutls_session_is_resumed(c->tls))
		counter_inc(CNT_TLS_RESUMED);
	tls_peer_identity(c->tls, c->identity, sizeof(c->identity));
	if (c->identity[0])
		c->proven = true;
	if (c->peer)
		peer_reached(c->peer);
	char *desc_s = gnutls_session_get_desc(c->tls);
	log_info("%s: TLS established %s%s, peer identity \"%s\"",
		 conn_str(c, desc, sizeof(desc)), desc_s ? desc_s : "",
		 gnutls_session_is_resumed(c->tls) ? " (resumed)" : "", c->identity);
	gnutls_free(desc_s);
	if (!c->tls_ctx->server && gnutls_protocol_get_version(c->tls) != GNUTLS_TLS1_3) {
		tls_ctx_save_session(c->tls_ctx, c->tls);
		c->session_saved = true;
	}
	c->state = CONN_OPEN;
	c->last_activity = now_s();
	conn_flush(c);
	if (c->state == CONN_OPEN && gnutls_record_check_pending(c->tls) > 0)
		conn_read(c);
}

static void conn_connected(struct conn *c)
{
	char desc[128];
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		log_warnx("%s: connect: %s", conn_str(c, desc, sizeof(desc)), strerror(err ? err : errno));
		conn_close(c, CNT_SEND_FAILED, "connect failed");
		return;
	}
	if (c->tls) {
		c->state = CONN_HANDSHAKING;
		conn_handshake(c);
	} else {
		c->state = CONN_OPEN;
		if (c->peer)
			peer_reached(c->peer);
		conn_flush(c);
	}
}

static void conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	switch (c->state) {
	case CONN_CONNECTING:
		if (what & EV_WRITE)
			conn_connected(c);
		break;
	case CONN_HANDSHAKING:
		conn_handshake(c);
		break;
	case CONN_OPEN:
		if (what & EV_WRITE)
			conn_flush(c);
		if ((what & EV_READ) && c->state == CONN_OPEN)
			conn_read(c);
		break;
	case CONN_CLOSING:
		break;
	}
}

static struct conn *conn_new(struct transport *tp, int fd, enum pc_transport transport,
			     const struct sockaddr_storage *addr, socklen_t addrlen,
			     struct tls_ctx *tls_ctx, int listener, bool outgoing)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->tp = tp;
	c->id = ++tp->next_conn_id;
	c->fd = fd;
	c->transport = transport;
	c->outgoing = outgoing;
	c->listener = listener;
	c->tls_ctx = tls_ctx;
	c->addr = *addr;
	c->addrlen = addrlen;
	c->created = c->last_activity = c->message_started = now_s();
	c->created_ms = pc_clock_ms();
	/* Room for one maximal message plus one read beyond it. */
	buf_init(&c->in, tp->cfg->limits.max_message_size + TLS_RECORD_MAX);
	buf_init(&c->out, OUT_BUF_MAX);
	c->ev_read = event_new(tp->base, fd, EV_READ | EV_PERSIST, conn_event, c);
	c->ev_write = event_new(tp->base, fd, EV_WRITE | EV_PERSIST, conn_event, c);
	if (!c->ev_read || !c->ev_write)
		goto fail;
	if (tls_ctx && tls_session_new(tls_ctx, fd, &c->tls) < 0)
		goto fail;
	c->next = tp->conns;
	tp->conns = c;
	tp->n_conns++;
	event_add(c->ev_read, NULL);
	return c;
fail:
	c->fd = -1; /* the caller closes fd */
	conn_free(c);
	return NULL;
}

/* ---- accepting ---- */

/* Out of descriptors (EMFILE/ENFILE) the pending connection stays in the
 * backlog and the listening socket stays readable: accepting again at once
 * would spin. The listener sleeps briefly instead; closing connections (the
 * sweep's timeouts, peers leaving) frees descriptors meanwhile. */
static void listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	event_add(l->ev, NULL);
}

static void listener_pause(struct listener *l, int err)
{
	counter_inc(CNT_ACCEPT_NO_FD);
	if (!l->starved)
		log_warnx("listener %s: accept: %s; pausing accepts for %d ms at a time until "
			  "descriptors are free", l->cfg->name, strerror(err), ACCEPT_PAUSE_MS);
	l->starved = true;
	struct timeval pause = { 0, ACCEPT_PAUSE_MS * 1000 };
	event_del(l->ev);
	evtimer_add(l->resume, &pause);
}

/* The listener's oldest idle connection that has proven nothing: no valid
 * message yet and no verified certificate. NULL when every one has. */
static struct conn *eviction_victim(struct transport *tp, const struct listener *l)
{
	struct conn *victim = NULL;
	for (struct conn *c = tp->conns; c; c = c->next)
		if (!c->outgoing && c->listener == l->index && c->state != CONN_CLOSING &&
		    !c->proven && (!victim || c->last_activity < victim->last_activity))
			victim = c;
	return victim;
}

/* May a new connection from ss enter listener l? Per source (IPv6: /64)
 * then the listener's own budget, which makes room by evicting a
 * connection that has proven nothing rather than turning everyone away. */
static bool admit_connection(struct transport *tp, struct listener *l,
			     const struct sockaddr_storage *ss)
{
	const struct limits_config *lim = &tp->cfg->limits;
	char host[INET6_ADDRSTRLEN], desc[128];
	unsigned port, same_source = 0;
	pc_sockaddr_str((const struct sockaddr *)ss, host, sizeof(host), &port);
	for (struct conn *c = tp->conns; c; c = c->next)
		if (!c->outgoing && c->state != CONN_CLOSING && pc_sockaddr_same_source(&c->addr, ss))
			same_source++;
	if (same_source >= lim->max_connections_per_ip) {
		log_warnx("listener %s: refusing connection from %s:%u: max_connections_per_ip "
			  "limit reached", l->cfg->name, host, port);
		counter_inc(CNT_CONN_REFUSED_LIMIT);
		return false;
	}
	if (l->n_open < l->cfg->max_connections)
		return true;
	struct conn *victim = eviction_victim(tp, l);
	if (!victim) {
		log_warnx("listener %s: refusing connection from %s:%u: max_connections (%u) "
			  "reached and every connection has proven itself", l->cfg->name, host, port,
			  l->cfg->max_connections);
		counter_inc(CNT_CONN_REFUSED_LIMIT);
		return false;
	}
	log_info("listener %s: max_connections reached; evicting %s for %s:%u",
		 l->cfg->name, conn_str(victim, desc, sizeof(desc)), host, port);
	conn_close(victim, CNT_CONN_EVICTED, "evicted: listener budget full");
	return true;
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct listener *l = arg;
	struct transport *tp = l->tp;
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				listener_pause(l, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("listener %s: accept", l->cfg->name);
			return;
		}
		l->starved = false;
		if (!admit_connection(tp, l, &ss)) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = conn_new(tp, fd, l->cfg->transport, &ss, sl,
					  l->cfg->transport == PC_TP_TLS ? &l->tls : NULL, l->index, false);
		if (!c) {
			close(fd);
			continue;
		}
		l->n_open++;
		counter_inc(CNT_CONN_ACCEPTED);
		c->state = c->tls ? CONN_HANDSHAKING : CONN_OPEN;
		if (c->tls)
			conn_handshake(c);
	}
}

/* ---- UDP ---- */

static void udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct transport *tp = l->tp;
	size_t max = tp->cfg->limits.max_message_size;
	for (int i = 0; i < DATAGRAMS_PER_EVENT; i++) {
		struct pc_peer from;
		memset(&from, 0, sizeof(from));
		from.addrlen = sizeof(from.addr);
		ssize_t n = recvfrom(fd, tp->dgram, max + 1, MSG_TRUNC,
				     (struct sockaddr *)&from.addr, &from.addrlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("listener %s: recvfrom", l->cfg->name);
			return;
		}
		if ((size_t)n > max) {
			counter_inc(CNT_MSG_TOO_LARGE);
			log_debug("listener %s: datagram of %zd bytes over the limit dropped",
				  l->cfg->name, n);
			continue;
		}
		/* RFC 5626 keep-alive over UDP is STUN; a bare CRLF is just ignored. */
		if (n <= 4 && strspn(tp->dgram, "\r\n") == (size_t)n)
			continue;
		tp->dgram[n] = '\0';
		from.transport = PC_TP_UDP;
		from.listener = l->index;
		counter_inc(CNT_MSG_RECEIVED);
		struct frame fr;
		framing_datagram((const unsigned char *)tp->dgram, (size_t)n, &tp->framing, &fr);
		if (fr.kind != FRAME_MESSAGE) {
			char where[96];
			log_info("listener %s: datagram from %s refused: %s", l->cfg->name,
				 pc_peer_str(&from, where, sizeof(where)), fr.error);
			frame_refused(tp, &fr, tp->dgram, &from, CNT_DGRAM_BAD_LENGTH);
			continue;
		}
		tp->dgram[fr.length] = '\0'; /* octets beyond Content-Length are discarded */
		tp->ev.on_message(tp->ev.ctx, tp->dgram, fr.length, &from);
	}
}

static int udp_send(struct transport *tp, const struct pc_peer *to, const char *data, size_t len)
{
	const struct listener *l = NULL;
	if (to->listener >= 0 && (unsigned)to->listener < tp->n_listeners &&
	    tp->listeners[to->listener].cfg->transport == PC_TP_UDP)
		l = &tp->listeners[to->listener];
	for (unsigned i = 0; !l && i < tp->n_listeners; i++)
		if (tp->listeners[i].cfg->transport == PC_TP_UDP &&
		    tp->listeners[i].addr.ss_family == to->addr.ss_family)
			l = &tp->listeners[i];
	if (!l)
		return PC_ERR_NOTFOUND;
	if (sendto(l->fd, data, len, 0, (const struct sockaddr *)&to->addr, to->addrlen) < 0) {
		char where[96];
		log_warn("UDP send to %s", pc_peer_str(to, where, sizeof(where)));
		return PC_ERR_IO;
	}
	return PC_OK;
}

/* ---- sending over streams ---- */

static struct peer_ctx *peer_for(struct transport *tp, const struct pc_peer *to)
{
	for (unsigned i = 0; i < tp->n_peers; i++)
		if (tp->peers[i].cfg->transport == to->transport &&
		    pc_sockaddr_equal(&tp->peers[i].addr, &to->addr))
			return &tp->peers[i];
	return NULL;
}

/* A new outgoing connection in *out. Toward a configured peer it is always
 * allowed (outsiders cannot fill that budget; reuse keeps it to one at a
 * time) unless the peer is backed off after failures; toward anyone else it
 * comes out of max_outgoing_connections. PC_OK or a negative pc_err. */
static int conn_connect(struct transport *tp, const struct pc_peer *to, struct conn **out)
{
	char where[96];
	struct tls_ctx *tls_ctx = NULL;
	struct peer_ctx *p = peer_for(tp, to);
	if (to->transport == PC_TP_TLS) {
		if (!p || !p->tls_ready) {
			/* Without a configured peer there is no name to verify. */
			log_warnx("no TLS peer configured for %s; refusing to connect",
				  pc_peer_str(to, where, sizeof(where)));
			return PC_ERR_NOTFOUND;
		}
		tls_ctx = &p->tls;
	}
	if (p && peer_wait_ms(p) > 0) {
		counter_inc(CNT_PEER_BACKOFF_REFUSED);
		log_debug("peer %s is down; no connection attempt for another %llu ms",
			  p->cfg->name, (unsigned long long)peer_wait_ms(p));
		return PC_ERR_DOWN;
	}
	if (!p && tp->n_out >= tp->cfg->limits.max_outgoing_connections) {
		counter_inc(CNT_CONN_REFUSED_LIMIT);
		log_warnx("max_outgoing_connections reached; cannot connect to %s",
			  pc_peer_str(to, where, sizeof(where)));
		return PC_ERR_LIMIT;
	}
	int fd = socket(to->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("socket for %s", pc_peer_str(to, where, sizeof(where)));
		return PC_ERR_IO;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&to->addr, to->addrlen) < 0 && errno != EINPROGRESS) {
		log_warn("connect to %s", pc_peer_str(to, where, sizeof(where)));
		close(fd);
		if (p)
			peer_failed(tp, p);
		return PC_ERR_IO;
	}
	struct conn *c = conn_new(tp, fd, to->transport, &to->addr, to->addrlen, tls_ctx, -1, true);
	if (!c) {
		close(fd);
		return PC_ERR_NOMEM;
	}
	c->peer = p;
	if (!p)
		tp->n_out++;
	counter_inc(CNT_CONN_OUTGOING);
	c->state = CONN_CONNECTING;
	conn_want_write(c, true);
	*out = c;
	return PC_OK;
}

static bool alias_fits_peer(struct transport *tp, struct conn *c, const struct pc_peer *to)
{
	struct peer_ctx *p = peer_for(tp, to);
	if (!p || !p->tls_ready)
		return true;
	const struct tls_config *cfg = p->tls.cfg;
	for (unsigned i = 0; i < cfg->n_peer_names; i++)
		if (tls_session_peer_matches(c->tls, cfg->peer_names[i]))
			return true;
	return false;
}

static struct conn *conn_for(struct transport *tp, const struct pc_peer *to)
{
	if (to->conn_id) {
		struct conn *c = conn_find(tp, to->conn_id);
		if (c && c->transport == to->transport)
			return c;
	}
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	pc_sockaddr_str((const struct sockaddr *)&to->addr, host, sizeof(host), &port);
	for (struct conn *c = tp->conns; c; c = c->next) {
		if (c->state == CONN_CLOSING || c->transport != to->transport)
			continue;
		/* Our own connections are reusable; the peer's only when aliased,
		 * and toward a configured peer only if it proved that peer's name. */
		if (c->outgoing && pc_sockaddr_equal(&c->addr, &to->addr)) {
			counter_inc(CNT_CONN_REUSED);
			return c;
		}
		if (c->alias_port == port && !strcmp(c->alias_host, host) &&
		    alias_fits_peer(tp, c, to)) {
			counter_inc(CNT_CONN_REUSED);
			return c;
		}
	}
	return NULL;
}

int transport_send(struct transport *tp, const struct pc_peer *to, const char *data, size_t len,
		   uint64_t *used_conn)
{
	int rc;
	if (to->transport == PC_TP_UDP) {
		rc = udp_send(tp, to, data, len);
		if (used_conn)
			*used_conn = 0;
	} else {
		struct conn *c = conn_for(tp, to);
		if (!c && to->conn_id && to->listener >= 0)
			return PC_ERR_CLOSED; /* a response whose connection is gone */
		if (!c && (rc = conn_connect(tp, to, &c)) < 0)
			return rc;
		if (used_conn)
			*used_conn = c->id;
		rc = conn_queue(c, data, len);
	}
	if (rc == PC_OK)
		counter_inc(CNT_MSG_SENT);
	else
		counter_inc(CNT_SEND_FAILED);
	return rc;
}

int transport_add_alias(struct transport *tp, uint64_t conn_id, const char *sent_by_host,
			unsigned port)
{
	char desc[128];
	struct conn *c = conn_find(tp, conn_id);
	if (!c || c->outgoing || c->state != CONN_OPEN)
		return PC_ERR_NOTFOUND;
	if (!c->tls || !tls_session_peer_matches(c->tls, sent_by_host)) {
		log_info("%s: refusing RFC 5923 alias for %s: %s", conn_str(c, desc, sizeof(desc)),
			 sent_by_host, c->tls ? "certificate does not name it" : "not TLS");
		return PC_ERR_STATE;
	}
	unsigned ignored;
	pc_sockaddr_str((const struct sockaddr *)&c->addr, c->alias_host, sizeof(c->alias_host), &ignored);
	c->alias_port = port;
	log_debug("%s: aliased as %s:%u (sent-by %s)", conn_str(c, desc, sizeof(desc)),
		  c->alias_host, port, sent_by_host);
	return PC_OK;
}

/* ---- limits sweep ---- */

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct transport *tp = arg;
	const struct limits_config *lim = &tp->cfg->limits;
	time_t now = now_s();
	uint64_t now_msec = pc_clock_ms();
	char desc[128];
	for (struct conn *c = tp->conns; c; c = c->next) {
		if (c->state == CONN_CLOSING)
			continue;
		if (c->state != CONN_OPEN && now - c->created >= (time_t)lim->handshake_timeout_s) {
			log_warnx("%s: %s for %us; closing", conn_str(c, desc, sizeof(desc)),
				  conn_state_names[c->state], lim->handshake_timeout_s);
			conn_close(c, CNT_CONN_TIMEOUT_CLOSED, "handshake timeout");
		} else if (!c->proven && !c->outgoing &&
			   now_msec - c->created_ms >= (uint64_t)lim->first_message_timeout_s * 1000) {
			log_info("%s: no valid message within %us; closing",
				 conn_str(c, desc, sizeof(desc)), lim->first_message_timeout_s);
			conn_close(c, CNT_CONN_FIRST_MESSAGE_TIMEOUT, "first message timeout");
		} else if (c->state == CONN_OPEN && c->in.len > 0 &&
			   now - c->message_started >= (time_t)lim->message_timeout_s) {
			log_warnx("%s: incomplete message for %us; closing",
				  conn_str(c, desc, sizeof(desc)), lim->message_timeout_s);
			conn_close(c, CNT_CONN_TIMEOUT_CLOSED, "message timeout");
		} else if (now - c->last_activity >= (time_t)lim->idle_timeout_s) {
			conn_close(c, CNT_CONN_IDLE_CLOSED, "idle timeout");
		}
	}
}

/* ---- set-up ---- */

static int listener_open(struct transport *tp, struct listener *l)
{
	const struct listener_config *lc = l->cfg;
	bool stream = lc->transport != PC_TP_UDP;

	if (parse_address(lc->address, lc->port, &l->addr, &l->addrlen) < 0) {
		log_err("listener %s: address \"%s\" is not a numeric IPv4 or IPv6 address",
			lc->name, lc->address);
		return -1;
	}
	if (lc->transport == PC_TP_TLS) {
		char label[96];
		snprintf(label, sizeof(label), "listener %s", lc->name);
		if (tls_ctx_init(&l->tls, &lc->tls, true, label) < 0)
			return -1;
		l->tls_ready = true;
	}
	l->fd = socket(l->addr.ss_family, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		log_warn("listener %s: socket", lc->name);
		return -1;
	}
	int one = 1;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&l->addr, l->addrlen) < 0) {
		log_warn("listener %s: bind %s %s:%u", lc->name, pc_transport_name(lc->transport),
			 lc->address, lc->port);
		return -1;
	}
	if (stream && listen(l->fd, 128) < 0) {
		log_warn("listener %s: listen", lc->name);
		return -1;
	}
	l->ev = event_new(tp->base, l->fd, EV_READ | EV_PERSIST, stream ? accept_cb : udp_cb, l);
	if (stream)
		l->resume = evtimer_new(tp->base, listener_resume, l);
	if (!l->ev || (stream && !l->resume) || event_add(l->ev, NULL) < 0) {
		log_err("listener %s: cannot register with the event loop", lc->name);
		return -1;
	}
	log_info("listening on %s %s:%u (leg %s, listener %s)", pc_transport_name(lc->transport),
		 lc->address, lc->port, lc->leg, lc->name);
	return 0;
}

int transport_peer_address(const struct peer_config *pc, struct pc_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->transport = pc->transport;
	out->listener = -1;
	return parse_address(pc->address, pc->port, &out->addr, &out->addrlen);
}

struct transport *transport_new(struct event_base *base, const struct gateway_config *cfg,
				const struct transport_events *ev)
{
	struct transport *tp = calloc(1, sizeof(*tp));
	if (!tp)
		return NULL;
	tp->base = base;
	tp->cfg = cfg;
	tp->ev = *ev;
	for (unsigned i = 0; i < CFG_MAX_LISTENERS; i++)
		tp->listeners[i].fd = -1;
	tp->dgram = malloc(cfg->limits.max_message_size + 2);
	tp->framing = (struct framing_limits){ .max_message = cfg->limits.max_message_size,
		.max_headers = cfg->limits.max_headers, .max_vias = cfg->limits.max_vias };
	tp->reaper = event_new(base, -1, 0, reap_cb, tp);
	tp->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, tp);
	if (!tp->dgram || !tp->reaper || !tp->sweep) {
		transport_free(tp);
		return NULL;
	}
	return tp;
}

int transport_start(struct transport *tp)
{
	const struct gateway_config *cfg = tp->cfg;
	for (unsigned i = 0; i < cfg->n_listeners; i++) {
		struct listener *l = &tp->listeners[i];
		l->tp = tp;
		l->cfg = &cfg->listeners[i];
		l->index = (int)i;
		tp->n_listeners = i + 1;
		if (listener_open(tp, l) < 0)
			return -1;
	}
	for (unsigned i = 0; i < cfg->n_peers; i++) {
		struct peer_ctx *p = &tp->peers[i];
		p->cfg = &cfg->peers[i];
		tp->n_peers = i + 1;
		if (parse_address(p->cfg->address, p->cfg->port, &p->addr, &p->addrlen) < 0) {
			log_err("peer %s: address \"%s\" is not a numeric IPv4 or IPv6 address",
				p->cfg->name, p->cfg->address);
			return -1;
		}
		if (p->cfg->transport == PC_TP_TLS) {
			char label[96];
			snprintf(label, sizeof(label), "peer %s", p->cfg->name);
			if (tls_ctx_init(&p->tls, &p->cfg->tls, false, label) < 0)
				return -1;
			p->tls_ready = true;
		}
	}
	struct timeval one_second = { 1, 0 };
	event_add(tp->sweep, &one_second);
	return 0;
}

void transport_free(struct transport *tp)
{
	if (!tp)
		return;
	while (tp->conns) {
		struct conn *c = tp->conns;
		tp->conns = c->next;
		conn_free(c);
	}
	for (unsigned i = 0; i < tp->n_listeners; i++) {
		struct listener *l = &tp->listeners[i];
		if (l->ev)
			event_free(l->ev);
		if (l->resume)
			event_free(l->resume);
		if (l->fd >= 0)
			close(l->fd);
		if (l->tls_ready)
			tls_ctx_deinit(&l->tls);
	}
	for (unsigned i = 0; i < tp->n_peers; i++)
		if (tp->peers[i].tls_ready)
			tls_ctx_deinit(&tp->peers[i].tls);
	if (tp->reaper)
		event_free(tp->reaper);
	if (tp->sweep)
		event_free(tp->sweep);
	free(tp->dgram);
	free(tp);
}

static bool serves(const struct listener *l, const struct pc_peer *to)
{
	return l->cfg->transport == to->transport && l->addr.ss_family == to->addr.ss_family;
}

int transport_sent_by(struct transport *tp, const struct pc_peer *to, const char *leg,
		      char *host, size_t hostlen, unsigned *port)
{
	const struct listener *pick = NULL;
	if (to->listener >= 0 && (unsigned)to->listener < tp->n_listeners &&
	    serves(&tp->listeners[to->listener], to))
		pick = &tp->listeners[to->listener];
	for (unsigned i = 0; i < tp->n_listeners && !pick && leg; i++)
		if (serves(&tp->listeners[i], to) && strcmp(tp->listeners[i].cfg->leg, leg) == 0)
			pick = &tp->listeners[i];
	for (unsigned i = 0; i < tp->n_listeners && !pick; i++)
		if (serves(&tp->listeners[i], to))
			pick = &tp->listeners[i];
	if (!pick)
		return -1;
	snprintf(host, hostlen, "%s", pick->cfg->address);
	*port = pick->cfg->port;
	return 0;
}

int transport_is_local(struct transport *tp, const char *host, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	for (unsigned i = 0; i < tp->n_listeners; i++) {
		const struct listener *l = &tp->listeners[i];
		if (parse_address(host, l->cfg->port, &ss, &sl) < 0)
			return 0;
		if (pc_sockaddr_same_ip(&ss, &l->addr) && (port == 0 || port == l->cfg->port))
			return 1;
	}
	return 0;
}

static int check_one(const struct tls_config *tls, bool server, const char *kind, const char *name)
{
	struct tls_ctx ctx;
	char label[96];
	snprintf(label, sizeof(label), "%s %s", kind, name);
	if (tls_ctx_init(&ctx, tls, server, label) < 0)
		return -1;
	tls_ctx_deinit(&ctx);
	return 0;
}

int transport_check_credentials(const struct gateway_config *cfg)
{
	int rc = 0;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].transport == PC_TP_TLS &&
		    check_one(&cfg->listeners[i].tls, true, "listener", cfg->listeners[i].name) < 0)
			rc = -1;
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].transport == PC_TP_TLS &&
		    check_one(&cfg->peers[i].tls, false, "peer", cfg->peers[i].name) < 0)
			rc = -1;
	return rc;
}

unsigned transport_connection_count(const struct transport *tp) { return tp->n_conns; }

void transport_conn_proven(struct transport *tp, uint64_t conn_id)
{
	struct conn *c = conn_find(tp, conn_id);
	if (c)
		c->proven = true;
}

unsigned transport_peer_retry_after(struct transport *tp, const struct pc_peer *to)
{
	struct peer_ctx *p = to->transport == PC_TP_UDP ? NULL : peer_for(tp, to);
	uint64_t ms = p ? peer_wait_ms(p) : 0;
	return (unsigned)((ms + 999) / 1000);
}
