/* The relay's streams: a stream is two sides, each with an RTP and an RTCP
 * socket on a port pair from its range (ports.c) in the engine's epoll set.
 * Here a stream is made and freed (its pairs quarantined, its state wiped),
 * and each side is told where its peer receives (the SDP address, which a
 * changed address unlatches), which sources count as its peer (the per-leg
 * rule), and when the answer opens its latch window. The packets themselves
 * are relay.c's; the keys rekey.c's. */
#include "media_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"
#include "core/peer.h"

static void side_close(struct media_engine *e, struct side *x, bool used)
{
	for (int k = 0; k < 2; k++) {
		backlog_remove(e, &x->sock[k]);
		/* Closing the only descriptor also leaves the epoll set. */
		if (x->sock[k].fd >= 0)
			close(x->sock[k].fd);
		x->sock[k].fd = -1;
	}
	if (x->have_pair)
		range_release(&e->ranges[x->range], x->pair, used);
	x->have_pair = false;
	side_keys_close(x);
}

static int side_open(struct media_engine *e, struct media_stream *s, enum media_side id, int range)
{
	struct side *x = &s->side[id];
	struct port_range *r = &e->ranges[range];
	int fds[2];
	int rc = range_take(r, fds, &x->pair);
	if (rc == -1) {
		counter_inc(CNT_MEDIA_PORTS_EXHAUSTED);
		if (!r->exhausted_logged) {
			log_warnx("media: port range %s %u-%u exhausted: new streams refused", r->name,
				  r->first_port, r->first_port + 2 * r->npairs - 1);
			r->exhausted_logged = true;
		}
		return -1;
	}
	if (rc < 0)
		return -1;
	r->exhausted_logged = false;
	x->have_pair = true;
	for (int k = 0; k < 2; k++) {
		x->sock[k].fd = fds[k];
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = &x->sock[k] };
		if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fds[k], &ev) < 0) {
			log_warnx("media: cannot add a relay socket to the epoll set: %s",
				  strerror(errno));
			return -1;
		}
	}
	return side_keys_open(e, x);
}

struct media_stream *media_stream_new(struct media_engine *e, int range_a, int range_b)
{
	if (e == NULL || range_a < 0 || range_a >= e->nranges || range_b < 0 ||
	    range_b >= e->nranges) {
		log_warnx("media: stream on an unknown port range");
		return NULL;
	}
	struct media_stream *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		log_err("media: out of memory for a stream");
		return NULL;
	}
	s->e = e;
	const int ranges[2] = { range_a, range_b };
	for (int i = 0; i < 2; i++) {
		struct side *x = &s->side[i];
		x->s = s;
		x->id = (enum media_side)i;
		x->range = ranges[i];
		x->codec_pt = -1; /* no jitter until the codec is known */
		for (int k = 0; k < 2; k++) {
			x->sock[k].side = x;
			x->sock[k].kind = k;
			x->sock[k].fd = -1;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (side_open(e, s, (enum media_side)i, ranges[i]) < 0) {
			/* Never carried traffic: the pairs go straight back. */
			side_close(e, &s->side[0], false);
			side_close(e, &s->side[1], false);
			free(s);
			return NULL;
		}
	}
	s->next = e->streams;
	if (e->streams)
		e->streams->prev = s;
	e->streams = s;
	e->nstreams++;
	return s;
}

void media_stream_free(struct media_stream *s)
{
	if (s == NULL)
		return;
	struct media_engine *e = s->e;
	side_close(e, &s->side[0], true);
	side_close(e, &s->side[1], true);
	if (s->prev)
		s->prev->next = s->next;
	else
		e->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	e->nstreams--;
	/* The struct held latched addresses and key copies: leave nothing. */
	explicit_bzero(s, sizeof(*s));
	free(s);
}

unsigned media_stream_port(const struct media_stream *s, enum media_side side)
{
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B)
		return 0;
	const struct side *x = &s->side[side];
	return range_port(&s->e->ranges[x->range], x->pair);
}

int media_stream_set_remote(struct media_stream *s, enum media_side side,
			    const struct sockaddr_storage *rtp_addr, unsigned rtcp_port,
			    bool rtcp_mux)
{
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B)
		return -1;
	struct side *x = &s->side[side];
	if (rtp_addr == NULL) {
		/* No destination (e.g. the stream was disabled): forget the
		 * peer entirely, so a later address latches afresh. */
		x->have_remote = false;
		x->latched[K_RTP] = x->latched[K_RTCP] = false;
		x->rtcp_mux = rtcp_mux;
		return 0;
	}
	if (rtp_addr->ss_family != s->e->ranges[x->range].addr.ss_family) {
		log_warnx("media: remote address family differs from the relay address");
		return -1;
	}
	unsigned port = sa_port(rtp_addr);
	unsigned rport = rtcp_port ? rtcp_port : port + 1;
	if (port == 0 || rtcp_port > 65535 || (!rtcp_mux && rport > 65535)) {
		log_warnx("media: invalid remote media port %u/%u", port, rtcp_port);
		return -1;
	}
	struct sockaddr_storage rtp, rtcp;
	memset(&rtp, 0, sizeof(rtp));
	memcpy(&rtp, rtp_addr, sa_len(rtp_addr));
	rtcp = rtp;
	sa_set_port(&rtcp, rtcp_mux ? port : rport);

	/* A changed address means the peer moved (re-INVITE, transfer): let
	 * the new source latch. The same address keeps the latch, so NAT-ed
	 * peers are not unlatched by every session refresh. */
	if (x->have_remote && (!pc_sockaddr_equal(&rtp, &x->remote[K_RTP]) ||
			       !pc_sockaddr_equal(&rtcp, &x->remote[K_RTCP])))
		x->latched[K_RTP] = x->latched[K_RTCP] = false;
	x->remote[K_RTP] = rtp;
	x->remote[K_RTCP] = rtcp;
	x->rtcp_mux = rtcp_mux;
	x->have_remote = true;
	return 0;
}

int media_stream_set_source(struct media_stream *s, enum media_side side, enum media_source rule,
			    const struct sockaddr_storage *signalling)
{
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B || (unsigned)rule > MEDIA_SOURCE_SDP)
		return -1;
	struct side *x = &s->side[side];
	x->rule = rule;
	x->have_sig = signalling != NULL;
	if (signalling)
		x->sig = *signalling;
	/* A latch the new rule would not admit goes: the rule is checked on
	 * every packet, and destination() must not keep sending there. */
	for (int k = 0; k < 2; k++)
		if (x->latched[k] && !x->recv_keyed && !source_allowed(x, k, &x->latch[k]))
			x->latched[k] = false;
	return 0;
}

void media_stream_answered(struct media_stream *s)
{
	if (s == NULL)
		return;
	uint64_t until = pc_clock_ms() + s->e->latch_window_ms;
	/* Only a side without a latch gets a window: a session refresh to the
	 * same address must not let another host behind the peer's address
	 * (a carrier NAT) take the side over. A new address unlatched it
	 * (media_stream_set_remote), so a moved peer still latches. */
	for (int i = 0; i < 2; i++) {
		struct side *x = &s->side[i];
		if (!x->latched[K_RTP] && !x->latched[K_RTCP])
			x->latch_until_ms = until;
	}
}

void media_stream_stats(const struct media_stream *s, enum media_side side,
			struct media_side_stats *out)
{
	if (out == NULL)
		return;
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B) {
		memset(out, 0, sizeof(*out));
		return;
	}
	/* Field by field with relaxed loads: a worker thread may be
	 * publishing them meanwhile (media_int.h, ST_ADD). */
	const struct media_side_stats *st = &s->side[side].st;
#define ST_GET(f) out->f = __atomic_load_n(&st->f, __ATOMIC_RELAXED)
	ST_GET(rtp_in);
	ST_GET(rtcp_in);
	ST_GET(rtp_out);
	ST_GET(rtcp_out);
	ST_GET(auth_failures);
	ST_GET(replays);
	ST_GET(wrong_source);
	ST_GET(source_refused);
	ST_GET(toward_unkeyed);
	ST_GET(no_destination);
	ST_GET(last_packet_ms);
	ST_GET(rtp_in_bytes);
	ST_GET(rtp_out_bytes);
#undef ST_GET
}
