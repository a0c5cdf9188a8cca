/* Where an outgoing message goes, and the configured peers' health. Sending
 * over a stream reuses the connection a request came on, else one of ours to
 * the same address, else an inbound connection aliased under RFC 5923 (only
 * when its certificate names the peer), else opens a new connection: toward
 * a configured peer always (TLS only there, whose name is then verified),
 * toward anyone else out of the max_outgoing_connections budget. A
 * configured peer whose connections failed is left alone for an exponential
 * back-off (backoff.c), so an outage costs a bounded number of attempts. */
#include "transport_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "backoff.h"

/* ---- peer health ---- */

void peer_failed(struct transport *tp, struct peer_ctx *p)
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

void peer_reached(struct peer_ctx *p)
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
	if (rc == PC_OK) {
		counter_inc(CNT_MSG_SENT);
		tp->messages[to->transport][1]++;
	} else
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

unsigned transport_peer_retry_after(struct transport *tp, const struct pc_peer *to)
{
	struct peer_ctx *p = to->transport == PC_TP_UDP ? NULL : peer_for(tp, to);
	uint64_t ms = p ? peer_wait_ms(p) : 0;
	return (unsigned)((ms + 999) / 1000);
}
