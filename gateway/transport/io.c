/* Bytes in and out of the transport's sockets. Over a stream: the event
 * handler of a connection, which takes it from connecting through the TLS
 * handshake to open; reading, with framing into whole messages and CRLF
 * keep-alive answers; writing from the connection's bounded output queue. Over
 * UDP: reading datagrams in batches and sending from a listener's socket.
 * Complete messages go up through on_message; refused ones are counted and,
 * when they deserve an answer, handed up through on_refused. */
#include "transport_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

#define READS_PER_EVENT 16      /* fairness between connections */
#define DATAGRAMS_PER_EVENT 64

/* ---- writing ---- */

void conn_want_write(struct conn *c, bool want)
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

int conn_queue(struct conn *c, const char *data, size_t len)
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
			tp->messages[c->transport][0]++;
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

void conn_handshake(struct conn *c)
{
	char desc[128];
	int rc = gnutls_handshake(c->tls);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		conn_want_write(c, gnutls_record_get_direction(c->tls) == 1);
		return;
	}
	if (rc < 0) {
		char num[24];
		const char *alert = tls_alert_text(c->tls, rc, num, sizeof(num));
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

void conn_event(evutil_socket_t fd, short what, void *arg)
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

/* ---- UDP ---- */

void udp_cb(evutil_socket_t fd, short what, void *arg)
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
		tp->messages[PC_TP_UDP][0]++;
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

int udp_send(struct transport *tp, const struct pc_peer *to, const char *data, size_t len)
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
