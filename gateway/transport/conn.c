/* Connection lifetime and the limits on it: creating a connection, closing it
 * (counted, with the upper layers told of an undelivered outgoing message or
 * a closed inbound connection) and freeing it later from the reaper; the
 * admission of a new inbound connection against the per-source limit and its
 * listener's budget, which evicts a connection that proved nothing rather
 * than turn everyone away; and the once-a-second sweep of handshake,
 * first-message, message and idle timeouts. */
#include "transport_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define OUT_BUF_MAX (1024 * 1024) /* a peer that does not read gets closed */

static const char *const conn_state_names[] = { "connecting", "handshaking", "open", "closing" };

const char *conn_str(const struct conn *c, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	pc_sockaddr_str((const struct sockaddr *)&c->addr, host, sizeof(host), &port);
	snprintf(buf, len, "%s conn %llu %s %s:%u", pc_transport_name(c->transport),
		 (unsigned long long)c->id, c->outgoing ? "to" : "from", host, port);
	return buf;
}

/* ---- connection lifetime ---- */

void conn_close(struct conn *c, enum pc_counter why_counter, const char *why)
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

void conn_free(struct conn *c)
{
	if (c->tls) {
		if (c->tls_ctx && !c->tls_ctx->server && !c->session_saved)
			tls_ctx_save_session(c->tls_ctx, c->tls);
		gnutls_deinit(c->tls);
		tls_cred_unref(c->tls_cred);
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

void reap_cb(evutil_socket_t fd, short what, void *arg)
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

struct conn *conn_find(struct transport *tp, uint64_t id)
{
	for (struct conn *c = tp->conns; c; c = c->next)
		if (c->id == id && c->state != CONN_CLOSING)
			return c;
	return NULL;
}

void conn_peer(const struct conn *c, struct pc_peer *from)
{
	memset(from, 0, sizeof(*from));
	from->transport = c->transport;
	from->addr = c->addr;
	from->addrlen = c->addrlen;
	from->conn_id = c->id;
	from->listener = c->listener;
	memcpy(from->identity, c->identity, sizeof(from->identity));
}

struct conn *conn_new(struct transport *tp, int fd, enum pc_transport transport,
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
	if (tls_ctx && tls_session_new(tls_ctx, fd, &c->tls, &c->tls_cred) < 0)
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

/* ---- admission ---- */

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
bool admit_connection(struct transport *tp, struct listener *l, const struct sockaddr_storage *ss)
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

/* ---- limits sweep ---- */

void sweep_cb(evutil_socket_t fd, short what, void *arg)
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

unsigned transport_connection_count(const struct transport *tp) { return tp->n_conns; }

uint64_t transport_messages(const struct transport *tp, enum pc_transport t, bool sent)
{
	return (unsigned)t < 3 ? tp->messages[t][sent ? 1 : 0] : 0;
}

const char *transport_tls_version(struct transport *tp, const struct pc_peer *p)
{
	if (p->transport != PC_TP_TLS)
		return NULL;
	struct conn *c = p->conn_id ? conn_find(tp, p->conn_id) : NULL;
	/* A leg toward a peer names its address: our connection to it (a look,
	 * not a use: nothing is counted as reused). */
	for (struct conn *o = tp->conns; !c && o; o = o->next)
		if (o->outgoing && o->transport == PC_TP_TLS && o->state == CONN_OPEN &&
		    pc_sockaddr_equal(&o->addr, &p->addr))
			c = o;
	if (!c || c->state != CONN_OPEN || !c->tls)
		return NULL;
	switch (gnutls_protocol_get_version(c->tls)) {
	case GNUTLS_TLS1_3: return "TLS1.3";
	case GNUTLS_TLS1_2: return "TLS1.2";
	default: return NULL; /* config.c allows no other */
	}
}

void transport_conn_proven(struct transport *tp, uint64_t conn_id)
{
	struct conn *c = conn_find(tp, conn_id);
	if (c)
		c->proven = true;
}
