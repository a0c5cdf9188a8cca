/* The relay's streams: a stream is two sides, each with an RTP and an RTCP
 * socket on a port pair from its range (ports.c) in the engine's epoll set.
 * Here a stream is made and freed in two halves: its ports are taken and
 * released (quarantined, its state wiped) on the signalling thread, and it
 * is attached to and detached from an engine (epoll set, re-key timers,
 * stream list) on the engine's thread, so a media worker can relay it
 * while the SDP names its ports at once (issue 12). Each side is told where its peer receives (the SDP address, which a
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

/* --- on the signalling thread: the ports ------------------------------- */

/* Returns a side's pair to its range and closes its sockets. The engine's
 * thread must have detached the side first (stream_detach): the sockets
 * are out of its epoll set and backlog before they are closed here. */
static void side_release(struct media_engine *e, struct side *x, bool used)
{
	for (int k = 0; k < 2; k++) {
		if (x->sock[k].fd >= 0)
			close(x->sock[k].fd);
		x->sock[k].fd = -1;
	}
	if (x->have_pair)
		range_release(&e->ranges[x->range], x->pair, used);
	x->have_pair = false;
}

static int side_take(struct media_engine *e, struct side *x)
{
	struct port_range *r = &e->ranges[x->range];
	int fds[2];
	unsigned want = e->want_port[x->id];
	int rc = want ? range_take_port(r, want, fds, &x->pair) : range_take(r, fds, &x->pair);
	if (want && rc == -1) {
		log_warnx("media: port %u on %s is not free here", want, r->name);
		return -1;
	}
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
	x->family = r->addr.ss_family;
	x->port = range_port(r, x->pair);
	for (int k = 0; k < 2; k++)
		x->sock[k].fd = fds[k];
	return 0;
}

/* A stream with both pairs taken and bound, not yet relaying: the SDP can
 * name its ports at once, whichever thread will relay it. NULL when a
 * range is exhausted or a socket fails (logged; nothing kept). */
struct media_stream *stream_ports_take(struct media_engine *e, int range_a, int range_b)
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
	s->ports = e;
	s->worker = -1;
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
		if (side_take(e, &s->side[i]) < 0) {
			/* Never carried traffic: the pairs go straight back. */
			stream_ports_release(s, false);
			s = NULL;
			break;
		}
	}
	e->want_port[0] = e->want_port[1] = 0; /* for one stream only */
	return s;
}

void stream_ports_release(struct media_stream *s, bool used)
{
	side_release(s->ports, &s->side[0], used);
	side_release(s->ports, &s->side[1], used);
	/* The struct held latched addresses and key copies: leave nothing. */
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* --- on the engine's thread: relaying ------------------------------------ */

static void side_detach(struct media_engine *e, struct side *x)
{
	for (int k = 0; k < 2; k++) {
		backlog_remove(e, &x->sock[k]);
		/* Explicitly: the descriptor may be closed later, on another
		 * thread, and must not wake this engine meanwhile. */
		if (x->sock[k].fd >= 0 && x->sock[k].in_epoll)
			(void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, x->sock[k].fd, NULL);
		x->sock[k].in_epoll = false;
		uring_disarm(e, &x->sock[k]);
	}
	side_keys_close(x);
}

static int side_attach(struct media_engine *e, struct side *x)
{
	for (int k = 0; k < 2; k++) {
		if (e->uring) {
			if (uring_arm(e, &x->sock[k]) < 0)
				return -1;
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = &x->sock[k] };
		if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, x->sock[k].fd, &ev) < 0) {
			log_warnx("media: cannot add a relay socket to the epoll set: %s",
				  strerror(errno));
			return -1;
		}
		x->sock[k].in_epoll = true;
	}
	return side_keys_open(e, x);
}

int stream_attach(struct media_engine *e, struct media_stream *s)
{
	if (s->attached) {
		log_warnx("media: a stream attached twice; refused");
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		if (side_attach(e, &s->side[i]) < 0) {
			side_detach(e, &s->side[0]);
			side_detach(e, &s->side[1]);
			return -1;
		}
	}
	s->e = e;
	s->next = e->streams;
	s->prev = NULL;
	if (e->streams)
		e->streams->prev = s;
	e->streams = s;
	e->nstreams++;
	s->attached = true;
	return 0;
}

void stream_detach(struct media_engine *e, struct media_stream *s)
{
	if (!s->attached)
		return;
	s->attached = false;
	roc_forget(e, s);
	side_detach(e, &s->side[0]);
	side_detach(e, &s->side[1]);
	if (s->prev)
		s->prev->next = s->next;
	else
		e->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	e->nstreams--;
}

/* --- both at once: the engine on the signalling thread's loop ------------ */

struct media_stream *media_stream_new(struct media_engine *e, int range_a, int range_b)
{
	struct media_stream *s = stream_ports_take(e, range_a, range_b);
	if (s == NULL)
		return NULL;
	if (stream_attach(e, s) < 0) {
		stream_ports_release(s, false);
		return NULL;
	}
	return s;
}

void media_stream_free(struct media_stream *s)
{
	if (s == NULL)
		return;
	stream_detach(s->e, s);
	stream_ports_release(s, true);
}

unsigned media_stream_port(const struct media_stream *s, enum media_side side)
{
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B)
		return 0;
	return s->side[side].port;
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
	if (rtp_addr->ss_family != x->family) {
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
