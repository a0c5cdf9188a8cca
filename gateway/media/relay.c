/* The relay's per-packet path. A packet from a secure side is forwarded only
 * after it authenticated under that side's receive key (or, for a short
 * grace after a re-key, the previous one); toward a secure side it is
 * protected with that side's own send key, so no SRTP ever crosses the
 * gateway unverified or under the wrong key. A plain side has nothing to
 * authenticate, so its source is checked against what the signalling named
 * (the per-leg rule: SDP address and port, SDP address, or the SIP peer's
 * address) before anything else, and symmetric RTP latching happens only in
 * a window after the answer; a secure side latches to the first source whose
 * packet authenticated. Nothing crosses toward a side that will be secure
 * before its keys exist. Packets are read in recvmmsg batches into
 * engine-owned fixed buffers and written with sendmmsg: nothing is allocated
 * per packet. Every dropped packet is counted; every accepted one is shown
 * to quality.c (sequence, jitter, RTCP reports) after its checks. */
#include "media_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"
#include "core/peer.h"

/* recvmmsg rounds per socket per wake-up before the other sockets' turn. */
#define MEDIA_READS_PER_EVENT 4

/* RFC 5761 §4: with rtcp-mux, RTCP packet types 192-223 show as RTP payload
 * types 64-95 (marker bit masked), a range RTP must not use. The whole range
 * rather than just SR..APP (72-76) so RTPFB/PSFB/XR (205-207) feedback is
 * recognised too: treating NACK or PLI as RTP would fail SRTP auth. */
static bool is_rtcp_pt(uint8_t b1)
{
	uint8_t pt = b1 & 0x7f;
	return pt >= 64 && pt <= 95;
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
			if (e->meta[k].kind == K_RTCP) {
				ST_ADD(e->meta[k].to->st.rtcp_out, 1);
			} else {
				ST_ADD(e->meta[k].to->st.rtp_out, 1);
				ST_ADD(e->meta[k].to->st.rtp_out_bytes, e->out_iov[k].iov_len);
			}
		}
		done += (unsigned)r;
	}
	e->nout = 0;
	e->out_fd = -1;
}

static void queue_out(struct media_engine *e, int fd, const struct sockaddr_storage *dst, uint8_t *pkt,
		      int len, struct side *to, int kind)
{
	if (e->nout > 0 && e->out_fd != fd)
		flush(e);
	unsigned k = e->nout++;
	e->out_fd = fd;
	e->out_iov[k].iov_base = pkt;
	e->out_iov[k].iov_len = (size_t)len;
	e->out[k].msg_hdr.msg_name = (void *)dst; /* sendmmsg only reads it */
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
		ST_ADD(x->st.replays, 1);
		counter_inc(CNT_MEDIA_REPLAY);
		break;
	case MSRTP_SSRC_LIMIT:
		counter_inc(CNT_MEDIA_SSRC_LIMIT);
		break;
	case MSRTP_BAD_PACKET:
		counter_inc(CNT_MEDIA_MALFORMED);
		break;
	default: /* a failed tag, or a key past its lifetime */
		ST_ADD(x->st.auth_failures, 1);
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
bool source_allowed(const struct side *x, int kind, const struct sockaddr_storage *from)
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

/* Decides whether a packet of `kind` from side x, toward side y, may cross:
 * the checks run in this order so that a packet failing several lands in
 * the first one's drop counter, and the source checks come before any
 * crypto (a copy of a valid packet sent from elsewhere must not advance the
 * replay window of the real one). A packet that passes was unprotected in
 * place (*n is its new length), latched when it may be, and counted in. */
static bool receive(struct side *x, struct side *y, int kind,
		    const struct sockaddr_storage *from, uint8_t *pkt, size_t *n, uint64_t now)
{
	if (x->awaiting_keys) {
		/* Nothing from a side that will be secure crosses, nor latches,
		 * before its key is known. */
		counter_inc(CNT_MEDIA_UNKEYED);
		return false;
	}
	bool plain = !x->recv_keyed;
	bool may_latch = !plain || now < x->latch_until_ms;
	if (plain && !source_allowed(x, kind, from)) {
		/* No authentication here: only the source the signalling named
		 * counts as the peer, or anyone who guessed the port would be. */
		ST_ADD(x->st.source_refused, 1);
		counter_inc(CNT_MEDIA_SOURCE_REFUSED);
		return false;
	}
	if (x->latched[kind] && !pc_sockaddr_equal(from, &x->latch[kind]) && !(plain && may_latch)) {
		ST_ADD(x->st.wrong_source, 1);
		counter_inc(CNT_MEDIA_WRONG_SOURCE);
		return false;
	}
	if (y->awaiting_keys) {
		/* Toward a side that will be secure, nothing before its send
		 * key exists: it would go out in clear. */
		ST_ADD(x->st.toward_unkeyed, 1);
		counter_inc(CNT_MEDIA_TOWARD_UNKEYED);
		return false;
	}
	if (x->recv_keyed) {
		if (x->recv == NULL) {
			if ((x->recv = msrtp_new(&x->recv_p, true)) == NULL) {
				counter_inc(CNT_MEDIA_AUTH_FAILED); /* no memory: nothing unverified passes */
				return false;
			}
			msrtp_seed(x->recv, x->recv_seed); /* 0 but on a call taken over */
		}
		enum msrtp_status st = unprotect(x, pkt, n, kind == K_RTCP, now);
		if (st != MSRTP_OK) {
			count_recv_failure(x, st, kind, pkt, *n);
			return false;
		}
		if (msrtp_take_wrapped(x->recv))
			roc_wrapped(x);
	}
	/* A secure side's source proved itself just now (it authenticated);
	 * a plain side's matched its rule, and may (re-)latch in the window. */
	if (may_latch && (!x->latched[kind] || !pc_sockaddr_equal(from, &x->latch[kind])))
		latch(x, kind, from);
	if (kind == K_RTCP) {
		ST_ADD(x->st.rtcp_in, 1);
		if (!x->s->e->quality_off)
			quality_rtcp(x, y, pkt, *n, x->s->e->now_us);
	} else {
		ST_ADD(x->st.rtp_in, 1);
		ST_ADD(x->st.rtp_in_bytes, *n);
		if (!x->s->e->quality_off)
			quality_rtp(x, pkt, x->s->e->now_us);
	}
	ST_SET(x->st.last_packet_ms, now);
	return true;
}

/* Where a packet that crossed from side x goes: side y's peer, from which
 * socket, protected when y is secure. False when it goes nowhere (no
 * destination yet, or protection refused; counted). */
static bool forward(struct side *x, struct side *y, int kind, uint8_t *pkt, size_t n,
		    struct relay_out *out)
{
	int fd;
	struct sockaddr_storage *dst = destination(y, kind, &fd);
	if (dst == NULL) {
		ST_ADD(x->st.no_destination, 1);
		counter_inc(CNT_MEDIA_NO_DESTINATION);
		return false;
	}
	if (y->send_keyed) {
		if (y->send == NULL) {
			if ((y->send = msrtp_new(&y->send_p, false)) == NULL) {
				counter_inc(CNT_MEDIA_PROTECT_FAILED);
				return false;
			}
			msrtp_seed(y->send, y->send_seed);
		}
		/* Fails on a repeated index from a plain peer (keystream reuse),
		 * an expired key, too many SSRCs or a malformed header. */
		enum msrtp_status st = msrtp_protect(y->send, pkt, &n, MEDIA_PKT_BUF, kind == K_RTCP);
		if (st != MSRTP_OK) {
			counter_inc(st == MSRTP_SSRC_LIMIT ? CNT_MEDIA_SSRC_LIMIT
							   : CNT_MEDIA_PROTECT_FAILED);
			return false;
		}
		if (msrtp_take_wrapped(y->send))
			roc_wrapped(y);
	}
	out->fd = fd;
	out->dst = dst;
	out->len = n;
	out->to = y;
	out->kind = kind;
	return true;
}

/* One datagram read from socket `sock_kind` of side x (media_int.h). */
bool relay_packet(struct side *x, int sock_kind, uint8_t *pkt, size_t len, bool truncated,
		  const struct sockaddr_storage *from, uint64_t now, struct relay_out *out)
{
	struct side *y = &x->s->side[x->id == MEDIA_SIDE_A ? MEDIA_SIDE_B : MEDIA_SIDE_A];

	/* Version 2 and a full fixed header, or it is not RTP/RTCP (a STUN
	 * probe, junk, or a datagram larger than any we accept). */
	if (truncated || len < 8 || (pkt[0] >> 6) != 2 || from->ss_family != x->family) {
		counter_inc(CNT_MEDIA_MALFORMED);
		return false;
	}
	int kind = sock_kind;
	if (kind == K_RTP && x->rtcp_mux && is_rtcp_pt(pkt[1]))
		kind = K_RTCP;
	if (kind == K_RTP && len < 12) {
		counter_inc(CNT_MEDIA_MALFORMED);
		return false;
	}
	size_t n = len;
	return receive(x, y, kind, from, pkt, &n, now) && forward(x, y, kind, pkt, n, out);
}

/* One socket's share of a wake-up (media_int.h). */
bool relay_drain(struct media_engine *e, struct msock *ms)
{
	struct side *x = ms->side;

	for (int round = 0; round < MEDIA_READS_PER_EVENT; round++) {
		int n = recvmmsg(ms->fd, e->in, MEDIA_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("media: recvmmsg failed: %s", strerror(errno));
			return false;
		}
		/* One clock read per batch: packets of a batch arrived together.
		 * Microseconds, for the jitter estimate (quality.c). */
		e->now_us = pc_clock_us();
		uint64_t now = e->now_us / 1000;
		for (unsigned i = 0; i < (unsigned)n; i++) {
			struct relay_out o;
			if (relay_packet(x, ms->kind, e->buf[i], e->in[i].msg_len,
					 (e->in[i].msg_hdr.msg_flags & MSG_TRUNC) != 0, &e->from[i], now, &o))
				queue_out(e, o.fd, o.dst, e->buf[i], (int)o.len, o.to, o.kind);
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
