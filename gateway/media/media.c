/* The media relay engine: streams of two sides, each with an RTP and an RTCP
 * socket on the event loop, and the per-packet path between them. A packet
 * from a secure side is forwarded only after it authenticated under that
 * side's receive key (or, for a short grace after a re-key, the previous
 * one); toward a secure side it is protected with that side's own send key,
 * so no SRTP ever crosses the gateway unverified or under the wrong key.
 * A plain side has nothing to authenticate, so its source is checked
 * against what the signalling named (the per-leg rule: SDP address and
 * port, SDP address, or the SIP peer's address) before anything else, and
 * symmetric RTP latching happens only in a window after the answer; a
 * secure side latches to the first source whose packet authenticated.
 * Nothing crosses toward a side that will be secure before its keys exist.
 * Packets are read in recvmmsg batches into engine-owned fixed buffers and
 * written with sendmmsg: nothing is allocated per packet. The relay sockets
 * sit in an epoll set of the engine's own, edge-triggered, which is one
 * event on the gateway's libevent loop: one wake-up serves every socket that
 * became readable, without a libevent dispatch and a second readiness poll
 * per socket per packet (at 50 packets/s a socket rarely holds more than
 * one). The loop is single threaded and the relay calls no user code, so
 * nothing here is re-entered and no stream is freed while packets are
 * being relayed. */
#include "media_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"
#include "core/peer.h"

#define MEDIA_DEFAULT_GRACE_MS 2000
/* Receive keys a side remembers having retired (fingerprints, 8 bytes each):
 * a peer that cycles through more keys than this within one call is not a
 * peer we know of, and the cost is paid per stream. */
#define MEDIA_RETIRED_KEYS 4
/* A phone's first packets follow its answer (or the answer it receives)
 * within milliseconds; ten seconds leaves room for a slow start without
 * leaving a latch open for the whole call. */
#define MEDIA_DEFAULT_LATCH_WINDOW_MS 10000
/* recvmmsg rounds per socket per wake-up before the other sockets' turn. */
#define MEDIA_READS_PER_EVENT 4
/* Ready sockets taken from the epoll set per wake-up; more wait for the
 * next turn of the loop, so signalling is never starved by media. */
#define MEDIA_EVENTS 256
/* Round buffers to 16 bytes so every packet starts cache- and word-aligned. */
#define MEDIA_BUF_ALIGNED ((MEDIA_PKT_BUF + 15) & ~15)

enum { K_RTP = 0, K_RTCP = 1 };

struct side;

struct msock {
	struct side *side;
	int kind; /* which port this socket is: K_RTP or K_RTCP */
	int fd;
	/* Edge-triggered: a socket left with data after its share of reads
	 * waits on the engine's backlog list, since no new edge will come. */
	bool backlogged;
	struct msock *backlog_next;
};

struct side {
	struct media_stream *s;
	enum media_side id;
	int range;
	unsigned pair;
	bool have_pair;
	struct msock sock[2];
	bool have_remote;
	bool rtcp_mux;
	struct sockaddr_storage remote[2]; /* from SDP: RTP and RTCP destinations */
	bool latched[2];
	bool awaiting_keys;                /* secure but not keyed yet: drop all */
	struct sockaddr_storage latch[2];  /* first accepted source, per kind */
	/* A plain side's peer: which sources count as it (media_stream_set_source)
	 * and until when it may latch (set by media_stream_answered). */
	enum media_source rule;
	bool have_sig;
	struct sockaddr_storage sig;       /* the SIP peer's address; port ignored */
	uint64_t latch_until_ms;           /* 0: never answered, no latching */
	/* Keyed = secure in that direction, with recv_p / send_p the key.
	 * Their contexts are made from the key by the first packet that needs
	 * them, so a call that carries no media (on hold, not yet answered,
	 * idle) holds no derived keys: a GCM context is 4.6 KiB. Each caps
	 * its own SSRC count (MSRTP_MAX_SSRC), so no peer can grow them. */
	bool recv_keyed, send_keyed;
	struct msrtp *recv, *recv_old, *send;
	/* The keys behind each context; also how a repeated offer of the same
	 * key is recognised (it must keep its context: a new context under an
	 * old key would reset replay state and the send index). */
	struct pc_srtp_params recv_p, recv_old_p, send_p;
	uint64_t old_until_ms;
	struct event *grace_ev;
	uint64_t retired[MEDIA_RETIRED_KEYS]; /* fingerprints of retired recv keys */
	uint8_t n_retired, retired_next;      /* entries in use; the next to overwrite */
	struct media_side_stats st;
};

struct media_stream {
	struct media_engine *e;
	struct media_stream *prev, *next;
	struct side side[2];
};

struct out_meta {
	struct side *to;
	int kind;
};

struct media_engine {
	struct event_base *base;
	int epfd;               /* the relay sockets, edge-triggered */
	struct event *ep_ev;    /* epfd on the gateway's loop */
	struct msock *backlog;  /* sockets with data left over from a turn */
	struct epoll_event ready[MEDIA_EVENTS];
	struct port_range ranges[MEDIA_MAX_RANGES];
	int nranges;
	unsigned nstreams;
	struct media_stream *streams;
	unsigned grace_ms;
	unsigned latch_window_ms;
	/* One batch is in flight at a time (single-threaded loop), so one set
	 * of buffers serves every socket of every stream. */
	_Alignas(16) uint8_t buf[MEDIA_BATCH][MEDIA_BUF_ALIGNED];
	struct sockaddr_storage from[MEDIA_BATCH];
	struct iovec in_iov[MEDIA_BATCH];
	struct mmsghdr in[MEDIA_BATCH];
	struct iovec out_iov[MEDIA_BATCH];
	struct mmsghdr out[MEDIA_BATCH];
	struct out_meta meta[MEDIA_BATCH];
	unsigned nout;
	int out_fd;
};

/* --- helpers ------------------------------------------------------------- */

static socklen_t sa_len(const struct sockaddr_storage *sa)
{
	return sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static unsigned sa_port(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static void sa_set_port(struct sockaddr_storage *sa, unsigned port)
{
	if (sa->ss_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
}

/* RFC 5761 §4: with rtcp-mux, RTCP packet types 192-223 show as RTP payload
 * types 64-95 (marker bit masked), a range RTP must not use. The whole range
 * rather than just SR..APP (72-76) so RTPFB/PSFB/XR (205-207) feedback is
 * recognised too: treating NACK or PLI as RTP would fail SRTP auth. */
static bool is_rtcp_pt(uint8_t b1)
{
	uint8_t pt = b1 & 0x7f;
	return pt >= 64 && pt <= 95;
}

static void wipe_params(struct pc_srtp_params *p) { pc_srtp_params_wipe(p); }

/* --- engine -------------------------------------------------------------- */

static void on_ready(evutil_socket_t fd, short what, void *arg);

struct media_engine *media_engine_new(struct event_base *base)
{
	if (base == NULL)
		return NULL;
	struct media_engine *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		log_err("media: out of memory for the engine");
		return NULL;
	}
	e->base = base;
	e->grace_ms = MEDIA_DEFAULT_GRACE_MS;
	e->latch_window_ms = MEDIA_DEFAULT_LATCH_WINDOW_MS;
	e->out_fd = -1;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		log_err("media: cannot create the relay's epoll set");
		free(e);
		return NULL;
	}
	e->ep_ev = event_new(base, e->epfd, EV_READ | EV_PERSIST, on_ready, e);
	if (e->ep_ev == NULL || event_add(e->ep_ev, NULL) < 0) {
		log_warnx("media: cannot register the relay with the event loop");
		if (e->ep_ev)
			event_free(e->ep_ev);
		close(e->epfd);
		free(e);
		return NULL;
	}
	for (unsigned i = 0; i < MEDIA_BATCH; i++) {
		e->in_iov[i].iov_base = e->buf[i];
		e->in_iov[i].iov_len = MEDIA_PKT_IN_MAX;
		e->in[i].msg_hdr.msg_namelen = sizeof(e->from[i]);
		e->in[i].msg_hdr.msg_name = &e->from[i];
		e->in[i].msg_hdr.msg_iov = &e->in_iov[i];
		e->in[i].msg_hdr.msg_iovlen = 1;
		e->out[i].msg_hdr.msg_iov = &e->out_iov[i];
		e->out[i].msg_hdr.msg_iovlen = 1;
	}
	return e;
}

void media_engine_free(struct media_engine *e)
{
	if (e == NULL)
		return;
	while (e->streams)
		media_stream_free(e->streams);
	for (int i = 0; i < e->nranges; i++)
		range_fini(&e->ranges[i]);
	event_free(e->ep_ev);
	close(e->epfd);
	free(e);
}

void media_engine_set_rekey_grace_ms(struct media_engine *e, unsigned ms)
{
	if (e)
		e->grace_ms = ms;
}

void media_engine_set_latch_window_ms(struct media_engine *e, unsigned ms)
{
	if (e)
		e->latch_window_ms = ms;
}

int media_engine_add_range(struct media_engine *e, const char *bind_address, unsigned port_min,
			   unsigned port_max, unsigned quarantine_ms)
{
	if (e == NULL)
		return -1;
	if (e->nranges >= MEDIA_MAX_RANGES) {
		log_warnx("media: too many port ranges (at most %d)", MEDIA_MAX_RANGES);
		return -1;
	}
	if (range_init(&e->ranges[e->nranges], bind_address, port_min, port_max, quarantine_ms) < 0)
		return -1;
	return e->nranges++;
}

unsigned media_engine_free_pairs(const struct media_engine *e, int range)
{
	if (e == NULL || range < 0 || range >= e->nranges)
		return 0;
	return range_free_pairs(&e->ranges[range]);
}

unsigned media_engine_stream_count(const struct media_engine *e)
{
	return e ? e->nstreams : 0;
}

/* --- the packet path ------------------------------------------------------ */

/* Sends the queued packets, all bound for one socket. A failed datagram is
 * counted and skipped so one bad destination cannot stall the rest. */
static void flush(struct media_engine *e)
{
	unsigned done = 0;
	while (done < e->nout) {
		int r = sendmmsg(e->out_fd, &e->out[done], e->nout - done, MSG_DONTWAIT);
		if (r <= 0) {
			counter_inc(CNT_MEDIA_SEND_FAILED);
			done++;
			continue;
		}
		for (unsigned k = done; k < done + (unsigned)r; k++) {
			if (e->meta[k].kind == K_RTCP)
				e->meta[k].to->st.rtcp_out++;
			else
				e->meta[k].to->st.rtp_out++;
		}
		done += (unsigned)r;
	}
	e->nout = 0;
	e->out_fd = -1;
}

static void queue_out(struct media_engine *e, int fd, struct sockaddr_storage *dst, uint8_t *pkt,
		      int len, struct side *to, int kind)
{
	if (e->nout > 0 && e->out_fd != fd)
		flush(e);
	unsigned k = e->nout++;
	e->out_fd = fd;
	e->out_iov[k].iov_base = pkt;
	e->out_iov[k].iov_len = (size_t)len;
	e->out[k].msg_hdr.msg_name = dst;
	e->out[k].msg_hdr.msg_namelen = sa_len(dst);
	e->meta[k].to = to;
	e->meta[k].kind = kind;
}

/* Where a packet of `kind` for side y goes, and from which of y's sockets
 * (symmetric RTP: we send from the port the peer sends to). */
static struct sockaddr_storage *destination(struct side *y, int kind, int *fd)
{
	if (y->rtcp_mux) {
		*fd = y->sock[K_RTP].fd;
		if (y->latched[K_RTP])
			return &y->latch[K_RTP];
		if (y->latched[K_RTCP])
			return &y->latch[K_RTCP];
		return y->have_remote ? &y->remote[K_RTP] : NULL;
	}
	*fd = y->sock[kind].fd;
	if (y->latched[kind])
		return &y->latch[kind];
	return y->have_remote ? &y->remote[kind] : NULL;
}

static enum msrtp_status unprotect(struct side *x, uint8_t *pkt, size_t *len, bool rtcp,
				   uint64_t now)
{
	enum msrtp_status st = msrtp_unprotect(x->recv, pkt, len, rtcp);
	if (st == MSRTP_OK || x->recv_old == NULL || now >= x->old_until_ms)
		return st;
	/* Within the grace after a re-key a failure may be a packet still in
	 * flight under the previous key; a failed unprotect leaves the bytes
	 * as they were, so the same buffer can be tried again. */
	enum msrtp_status old = msrtp_unprotect(x->recv_old, pkt, len, rtcp);
	if (old == MSRTP_OK || old == MSRTP_REPLAY)
		return old;
	return st;
}

/* The first few refusals of a side are logged (at debug level, with what
 * identifies the packet but nothing of its contents or keys): enough to
 * diagnose a peer keying mismatch without a flood from an attacker. */
#define MEDIA_LOGGED_FAILURES 3

static void count_recv_failure(struct side *x, enum msrtp_status st, int kind, const uint8_t *pkt,
			       size_t len)
{
	uint64_t seen = x->st.auth_failures + x->st.replays;
	if (seen < MEDIA_LOGGED_FAILURES && log_get_level() >= LOG_LVL_DEBUG) {
		uint32_t ssrc;
		memcpy(&ssrc, pkt + (kind == K_RTCP ? 4 : 8), sizeof(ssrc));
		char seq[16] = "";
		if (kind == K_RTP)
			snprintf(seq, sizeof(seq), ", seq %u", (unsigned)(pkt[2] << 8 | pkt[3]));
		log_debug("media: stream %p side %c %s refused (status %d, %zu bytes, SSRC %08x%s, %s)",
			  (void *)x->s, x->id == MEDIA_SIDE_A ? 'A' : 'B',
			  kind == K_RTCP ? "SRTCP" : "SRTP", (int)st, len, ntohl(ssrc), seq,
			  x->recv_old && x->old_until_ms ? "re-key grace" : "one key");
	}
	switch (st) {
	case MSRTP_REPLAY:
		x->st.replays++;
		counter_inc(CNT_MEDIA_REPLAY);
		break;
	case MSRTP_SSRC_LIMIT:
		counter_inc(CNT_MEDIA_SSRC_LIMIT);
		break;
	case MSRTP_BAD_PACKET:
		counter_inc(CNT_MEDIA_MALFORMED);
		break;
	default: /* a failed tag, or a key past its lifetime */
		x->st.auth_failures++;
		counter_inc(CNT_MEDIA_AUTH_FAILED);
		break;
	}
}

static void latch(struct side *x, int kind, const struct sockaddr_storage *from)
{
	x->latch[kind] = *from;
	x->latched[kind] = true;
	if (log_get_level() >= LOG_LVL_DEBUG) {
		char host[64];
		unsigned port;
		pc_sockaddr_str((const struct sockaddr *)from, host, sizeof(host), &port);
		log_debug("media: stream %p side %c %s latched to %s port %u", (void *)x->s,
			  x->id == MEDIA_SIDE_A ? 'A' : 'B', kind == K_RTCP ? "RTCP" : "RTP", host,
			  port);
	}
}

/* Is `from` the peer of plain side x under its rule? Nothing is known
 * about a side without an SDP address (or, for signalling-ip, without a
 * signalling peer): then nothing is. */
static bool source_allowed(const struct side *x, int kind, const struct sockaddr_storage *from)
{
	switch (x->rule) {
	case MEDIA_SOURCE_SIGNALLING_IP:
		return x->have_sig && pc_sockaddr_same_ip(from, &x->sig);
	case MEDIA_SOURCE_SDP:
		return x->have_remote && pc_sockaddr_same_ip(from, &x->remote[kind]);
	case MEDIA_SOURCE_STRICT:
	default:
		return x->have_remote && pc_sockaddr_equal(from, &x->remote[kind]);
	}
}

static void relay_one(struct media_engine *e, struct side *x, int sock_kind, unsigned i,
		      uint64_t now)
{
	const struct mmsghdr *m = &e->in[i];
	uint8_t *pkt = e->buf[i];
	int len = (int)m->msg_len;
	const struct sockaddr_storage *from = &e->from[i];
	struct side *y = &x->s->side[x->id == MEDIA_SIDE_A ? MEDIA_SIDE_B : MEDIA_SIDE_A];

	/* Version 2 and a full fixed header, or it is not RTP/RTCP (a STUN
	 * probe, junk, or a datagram larger than any we accept). */
	if ((m->msg_hdr.msg_flags & MSG_TRUNC) || len < 8 || (pkt[0] >> 6) != 2 ||
	    from->ss_family != e->ranges[x->range].addr.ss_family) {
		counter_inc(CNT_MEDIA_MALFORMED);
		return;
	}
	int kind = sock_kind;
	if (kind == K_RTP && x->rtcp_mux && is_rtcp_pt(pkt[1]))
		kind = K_RTCP;
	if (kind == K_RTP && len < 12) {
		counter_inc(CNT_MEDIA_MALFORMED);
		return;
	}

	if (x->awaiting_keys) {
		/* Nothing from a side that will be secure crosses, nor latches,
		 * before its key is known. */
		counter_inc(CNT_MEDIA_UNKEYED);
		return;
	}
	/* Source checks before any crypto: a copy of a valid packet sent from
	 * elsewhere must not advance the replay window of the real one. */
	bool plain = !x->recv_keyed;
	bool may_latch = !plain || now < x->latch_until_ms;
	if (plain && !source_allowed(x, kind, from)) {
		/* No authentication here: only the source the signalling named
		 * counts as the peer, or anyone who guessed the port would be. */
		x->st.source_refused++;
		counter_inc(CNT_MEDIA_SOURCE_REFUSED);
		return;
	}
	if (x->latched[kind] && !pc_sockaddr_equal(from, &x->latch[kind]) && !(plain && may_latch)) {
		x->st.wrong_source++;
		counter_inc(CNT_MEDIA_WRONG_SOURCE);
		return;
	}
	if (y->awaiting_keys) {
		/* Toward a side that will be secure, nothing before its send
		 * key exists: it would go out in clear. */
		x->st.toward_unkeyed++;
		counter_inc(CNT_MEDIA_TOWARD_UNKEYED);
		return;
	}
	size_t n = (size_t)len;
	if (x->recv_keyed) {
		if (x->recv == NULL && (x->recv = msrtp_new(&x->recv_p, true)) == NULL) {
			counter_inc(CNT_MEDIA_AUTH_FAILED); /* no memory: nothing unverified passes */
			return;
		}
		enum msrtp_status st = unprotect(x, pkt, &n, kind == K_RTCP, now);
		if (st != MSRTP_OK) {
			count_recv_failure(x, st, kind, pkt, n);
			return;
		}
	}
	/* A secure side's source proved itself just now (it authenticated);
	 * a plain side's matched its rule, and may (re-)latch in the window. */
	if (may_latch && (!x->latched[kind] || !pc_sockaddr_equal(from, &x->latch[kind])))
		latch(x, kind, from);
	if (kind == K_RTCP)
		x->st.rtcp_in++;
	else
		x->st.rtp_in++;
	x->st.last_packet_ms = now;

	int fd;
	struct sockaddr_storage *dst = destination(y, kind, &fd);
	if (dst == NULL) {
		x->st.no_destination++;
		counter_inc(CNT_MEDIA_NO_DESTINATION);
		return;
	}
	if (y->send_keyed) {
		if (y->send == NULL && (y->send = msrtp_new(&y->send_p, false)) == NULL) {
			counter_inc(CNT_MEDIA_PROTECT_FAILED);
			return;
		}
		/* Fails on a repeated index from a plain peer (keystream reuse),
		 * an expired key, too many SSRCs or a malformed header. */
		enum msrtp_status st = msrtp_protect(y->send, pkt, &n, MEDIA_PKT_BUF, kind == K_RTCP);
		if (st != MSRTP_OK) {
			counter_inc(st == MSRTP_SSRC_LIMIT ? CNT_MEDIA_SSRC_LIMIT
							   : CNT_MEDIA_PROTECT_FAILED);
			return;
		}
	}
	queue_out(e, fd, dst, pkt, (int)n, y, kind);
}

/* Reads and relays what one socket holds, at most MEDIA_READS_PER_EVENT
 * batches. True when the socket may still hold more. */
static bool drain(struct media_engine *e, struct msock *ms)
{
	struct side *x = ms->side;

	for (int round = 0; round < MEDIA_READS_PER_EVENT; round++) {
		int n = recvmmsg(ms->fd, e->in, MEDIA_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("media: recvmmsg failed: %s", strerror(errno));
			return false;
		}
		/* One clock read per batch: packets of a batch arrived together. */
		uint64_t now = pc_clock_ms();
		for (unsigned i = 0; i < (unsigned)n; i++) {
			relay_one(e, x, ms->kind, i, now);
			/* The kernel rewrote these two; restore them for the next
			 * read (it never touches the iovecs). */
			e->in[i].msg_hdr.msg_namelen = sizeof(e->from[i]);
			e->in[i].msg_hdr.msg_flags = 0;
		}
		if (e->nout > 0)
			flush(e);
		if (n < MEDIA_BATCH)
			return false;
	}
	return true;
}

static void backlog_push(struct media_engine *e, struct msock *ms)
{
	if (ms->backlogged)
		return;
	ms->backlogged = true;
	ms->backlog_next = e->backlog;
	e->backlog = ms;
}

static void backlog_remove(struct media_engine *e, struct msock *ms)
{
	if (!ms->backlogged)
		return;
	for (struct msock **p = &e->backlog; *p; p = &(*p)->backlog_next) {
		if (*p == ms) {
			*p = ms->backlog_next;
			break;
		}
	}
	ms->backlogged = false;
}

/* One wake-up: first the sockets left over from the last turn, then every
 * socket that became readable since. */
static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct media_engine *e = arg;

	struct msock *left = e->backlog;
	e->backlog = NULL;
	while (left) {
		struct msock *ms = left;
		left = ms->backlog_next;
		ms->backlogged = false;
		if (drain(e, ms))
			backlog_push(e, ms);
	}
	int n = epoll_wait(e->epfd, e->ready, MEDIA_EVENTS, 0);
	for (int i = 0; i < n; i++) {
		struct msock *ms = e->ready[i].data.ptr;
		if (drain(e, ms))
			backlog_push(e, ms);
	}
	/* Work left: come back after the loop's other events, not never (an
	 * edge-triggered socket with data will not signal again). */
	if (e->backlog || n == MEDIA_EVENTS)
		event_active(e->ep_ev, EV_READ, 0);
}

/* --- streams ------------------------------------------------------------- */

/* A receive key leaves for good: remember it, so that it cannot come back
 * with a fresh replay window. */
static void retire_key(struct side *x, const struct pc_srtp_params *p)
{
	uint64_t fp;
	if (p->key_salt_len == 0 || media_key_fingerprint(p, &fp) < 0)
		return;
	x->retired[x->retired_next] = fp;
	x->retired_next = (uint8_t)((x->retired_next + 1) % MEDIA_RETIRED_KEYS);
	if (x->n_retired < MEDIA_RETIRED_KEYS)
		x->n_retired++;
}

static bool key_is_retired(const struct side *x, const struct pc_srtp_params *p)
{
	uint64_t fp;
	if (x->n_retired == 0 || media_key_fingerprint(p, &fp) < 0)
		return false;
	for (unsigned i = 0; i < x->n_retired; i++)
		if (x->retired[i] == fp)
			return true;
	return false;
}

static void drop_old_recv(struct side *x)
{
	retire_key(x, &x->recv_old_p);
	msrtp_free(x->recv_old);
	x->recv_old = NULL;
	wipe_params(&x->recv_old_p);
	x->old_until_ms = 0;
	if (x->grace_ev)
		evtimer_del(x->grace_ev);
}

static void on_grace_end(evutil_socket_t fd, short what, void *arg)
{
	drop_old_recv(arg);
}

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
	drop_old_recv(x);
	if (x->grace_ev)
		event_free(x->grace_ev);
	x->grace_ev = NULL;
	msrtp_free(x->recv);
	msrtp_free(x->send);
	x->recv = x->send = NULL;
	x->recv_keyed = x->send_keyed = false;
	wipe_params(&x->recv_p);
	wipe_params(&x->send_p);
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
	x->grace_ev = evtimer_new(e->base, on_grace_end, x);
	if (x->grace_ev == NULL) {
		log_warnx("media: cannot create the re-key timer");
		return -1;
	}
	return 0;
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

/* The previous receive context stays valid for grace_ms after a re-key. */
static void start_grace(struct media_engine *e, struct side *x, uint64_t now)
{
	x->old_until_ms = now + e->grace_ms;
	struct timeval tv = { .tv_sec = e->grace_ms / 1000,
			      .tv_usec = (e->grace_ms % 1000) * 1000 };
	evtimer_add(x->grace_ev, &tv);
}

int media_stream_set_crypto(struct media_stream *s, enum media_side side,
			    const struct pc_srtp_params *recv, const struct pc_srtp_params *send)
{
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B)
		return -1;
	struct side *x = &s->side[side];
	struct media_engine *e = s->e;
	if ((recv && !msrtp_params_valid(recv)) || (send && !msrtp_params_valid(send))) {
		log_warnx("media: invalid SRTP parameters for side %c", side == MEDIA_SIDE_A ? 'A' : 'B');
		return -1;
	}
	uint64_t now = pc_clock_ms();
	if (recv && media_stream_key_retired(s, side, recv)) {
		log_warnx("media: side %c offered a receive key it used before; refused",
			  side == MEDIA_SIDE_A ? 'A' : 'B');
		return -1;
	}
	x->awaiting_keys = false;
	/* The same key again (a session refresh) keeps its context, replay
	 * window and send index: a fresh context under an unchanged key would
	 * accept replays and reuse keystream. */
	bool recv_same = recv && x->recv_keyed && pc_srtp_params_equal(recv, &x->recv_p);
	bool recv_back = recv && !recv_same && x->recv_old && now < x->old_until_ms &&
			 pc_srtp_params_equal(recv, &x->recv_old_p);
	bool send_same = send && x->send_keyed && pc_srtp_params_equal(send, &x->send_p);

	if (recv == NULL) {
		/* The side turned plain: nothing of the old keys stays valid. */
		drop_old_recv(x);
		msrtp_free(x->recv);
		x->recv = NULL;
		if (x->recv_keyed)
			retire_key(x, &x->recv_p);
		x->recv_keyed = false;
		wipe_params(&x->recv_p);
	} else if (recv_back) {
		/* Back to the key still in grace: swap, keeping both states (the
		 * abandoned key's context, if it was never made, is not needed
		 * for the grace either). */
		struct msrtp *t = x->recv;
		x->recv = x->recv_old;
		x->recv_old = t;
		struct pc_srtp_params tp = x->recv_p;
		x->recv_p = x->recv_old_p;
		x->recv_old_p = tp;
		wipe_params(&tp);
		start_grace(e, x, now);
	} else if (!recv_same) {
		drop_old_recv(x);
		if (x->recv && e->grace_ms > 0) {
			x->recv_old = x->recv;
			x->recv_old_p = x->recv_p;
			start_grace(e, x, now);
		} else {
			/* Never used (no context yet) or no grace: gone now. */
			if (x->recv_keyed)
				retire_key(x, &x->recv_p);
			msrtp_free(x->recv);
		}
		x->recv = NULL;
		x->recv_p = *recv;
		x->recv_keyed = true;
	}

	if (send == NULL || !send_same) {
		/* The send key is replaced at once: the peer learns the new key
		 * in the same signalling exchange that gave it to us. */
		msrtp_free(x->send);
		x->send = NULL;
		wipe_params(&x->send_p);
		x->send_keyed = send != NULL;
		if (send)
			x->send_p = *send;
	}
	return 0;
}

bool media_stream_key_retired(const struct media_stream *s, enum media_side side,
			      const struct pc_srtp_params *recv)
{
	if (s == NULL || recv == NULL || (unsigned)side > MEDIA_SIDE_B)
		return false;
	const struct side *x = &s->side[side];
	/* The current key (a session refresh) and one still in its grace (a
	 * peer going back within it) keep their replay state: not retired. */
	if ((x->recv_keyed && pc_srtp_params_equal(recv, &x->recv_p)) ||
	    (x->recv_old && x->old_until_ms && pc_srtp_params_equal(recv, &x->recv_old_p)))
		return false;
	return key_is_retired(x, recv);
}

void media_stream_await_keys(struct media_stream *s, enum media_side side)
{
	if (s && (unsigned)side <= MEDIA_SIDE_B)
		s->side[side].awaiting_keys = true;
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
	*out = s->side[side].st;
}
