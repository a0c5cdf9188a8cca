/* Per-call media quality: the relay's own receive figures for each side's
 * RTP (RFC 3550 A.1 extended sequence numbers, expected and lost, with
 * duplicates and late packets told apart by a 64-packet window; A.8
 * interarrival jitter in the codec's timestamp units), what each side's
 * peer reports in RTCP SR/RR (rtcp_report.c), the round-trip time between
 * the relay and that peer (§6.4.1: its LSR names an SR the relay forwarded
 * to it and saw the time of, its DLSR says how long it held it), and the
 * accessor that turns them into figures and an E-model MOS (emodel.c).
 * The relay calls in only for packets that authenticated or passed the
 * source rule, so nobody else's packets or reports are counted. The RTP
 * path costs a few integer operations and no call or allocation. The
 * figures are made from a quality_src gathered on the relaying thread
 * (directly, or as a media worker published it: snapshot.c). */
#include "media_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "emodel.h"
#include "rtcp_report.h"

/* RFC 3550 A.1: a forward jump beyond MAX_DROPOUT or a step back beyond
 * MAX_MISORDER is a restarted or confused source, believed only when the
 * next packet follows it. */
#define RX_MAX_DROPOUT 3000
#define RX_MAX_MISORDER 100
#define RX_NO_BAD_SEQ 0x10000u
/* A report whose SR was forwarded longer ago than this is not timed. */
#define RTT_MAX_US (60ull * 1000000)
#define MAX_CLOCK_RATE 192000

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rx_expected(const struct rx_stats *r)
{
	if (!r->started)
		return 0;
	return (uint64_t)r->cycles + r->max_seq - r->base_seq + 1;
}

/* A new source, or an old one that jumped: the figures so far are kept as
 * prior totals and counting starts again from `seq`. */
static void rx_restart(struct rx_stats *r, uint32_t ssrc, uint16_t seq)
{
	r->prior_expected += rx_expected(r);
	r->prior_received += r->received;
	r->started = true;
	r->ssrc = ssrc;
	r->max_seq = seq;
	r->base_seq = seq;
	r->cycles = 0;
	r->bad_seq = RX_NO_BAD_SEQ;
	r->received = 1;
	r->window = 1;
	r->have_transit = false;
}

/* Updates the sequence figures; false when the packet is a duplicate or
 * an unconfirmed jump, which the jitter must not see either. */
static bool rx_sequence(struct rx_stats *r, uint32_t ssrc, uint16_t seq)
{
	if (!r->started || ssrc != r->ssrc) {
		rx_restart(r, ssrc, seq);
		return true;
	}
	uint16_t d = (uint16_t)(seq - r->max_seq);
	if (d == 0) {
		r->dups++;
		return false;
	}
	if (d < RX_MAX_DROPOUT) {
		if (seq < r->max_seq)
			r->cycles += 65536;
		r->window = d >= 64 ? 1 : (r->window << d) | 1;
		r->max_seq = seq;
		r->received++;
		return true;
	}
	if (d <= 65536 - RX_MAX_MISORDER) {
		if ((uint32_t)seq == r->bad_seq) {
			rx_restart(r, ssrc, seq);
			return true;
		}
		r->bad_seq = (uint32_t)(uint16_t)(seq + 1);
		return false;
	}
	unsigned back = 65536u - d; /* 1..RX_MAX_MISORDER */
	if (back < 64) {
		if ((r->window >> back) & 1) {
			r->dups++;
			return false;
		}
		r->window |= UINT64_C(1) << back;
	}
	/* Older than the window: it cannot be told from a duplicate, and
	 * counts as a late arrival. */
	r->late++;
	r->received++;
	return true;
}

void quality_rtp(struct side *x, const uint8_t *pkt, uint64_t now_us)
{
	struct rx_stats *r = &x->rx;
	if (!rx_sequence(r, get32(pkt + 8), (uint16_t)(pkt[2] << 8 | pkt[3])))
		return;
	/* A.8, only on the codec's own payload type: telephone events and
	 * comfort noise keep or jump their timestamps. */
	if (x->clock_rate == 0 || (int)(pkt[1] & 0x7f) != x->codec_pt)
		return;
	uint32_t arrival = (uint32_t)(now_us * x->clock_rate / 1000000);
	uint32_t transit = arrival - get32(pkt + 4);
	if (r->have_transit) {
		int32_t d = (int32_t)(transit - r->transit);
		uint32_t ad = d < 0 ? 0u - (uint32_t)d : (uint32_t)d;
		/* A sender jumping its timestamps by hours must not wrap the
		 * estimate (16 |D| at steady state): 2^26 units is over two
		 * hours at 8 kHz, already past any meaning. */
		if (ad > (1u << 26))
			ad = 1u << 26;
		r->jitter_q4 += ad - ((r->jitter_q4 + 8) >> 4);
	}
	r->transit = transit;
	r->have_transit = true;
}

/* The report block about what we send to x: the media of y's source when
 * one is known and reported, else the first. */
static const struct rtcp_block *pick_block(const struct rtcp_summary *sum, const struct side *y)
{
	for (unsigned i = 0; i < sum->n_blocks; i++)
		if (y->rx.started && sum->block[i].ssrc == y->rx.ssrc)
			return &sum->block[i];
	return sum->n_blocks ? &sum->block[0] : NULL;
}

/* RFC 3550 §6.4.1 with the relay as the SR's sender: the SR named by LSR
 * left the relay toward x at sr->at_us; x's peer held it DLSR. */
static void time_round_trip(struct side *x, const struct rtcp_block *b, uint64_t now_us)
{
	if (b->lsr == 0)
		return;
	for (unsigned i = 0; i < QUALITY_SR_MARKS; i++) {
		const struct sr_mark *m = &x->rep.sr[i];
		if (m->at_us == 0 || m->ntp_mid != b->lsr)
			continue;
		uint64_t held = (uint64_t)b->dlsr * 1000000 / 65536;
		uint64_t since = now_us - m->at_us;
		/* A DLSR longer than the whole wait is a peer's clock (or a lie),
		 * not a round trip: nothing is recorded. */
		if (since < held || since > RTT_MAX_US)
			return;
		x->rep.rtt_us = since - held;
		x->rep.have_rtt = true;
		return;
	}
}

void quality_rtcp(struct side *x, struct side *y, const uint8_t *pkt, size_t n, uint64_t now_us)
{
	struct rtcp_summary sum;
	if (rtcp_report_parse(pkt, n, &sum) < 0) {
		x->rep.malformed++;
		return;
	}
	if (sum.have_sr) {
		/* It goes on to y: y's answer to it times the relay-y round trip. */
		struct sr_mark *m = &y->rep.sr[y->rep.sr_next++ % QUALITY_SR_MARKS];
		m->ntp_mid = sum.sr_ntp_mid;
		m->at_us = now_us ? now_us : 1;
	}
	const struct rtcp_block *b = pick_block(&sum, y);
	if (b == NULL)
		return;
	x->rep.have = true;
	x->rep.fraction = b->fraction;
	x->rep.cum_lost = b->cum_lost;
	x->rep.jitter = b->jitter;
	time_round_trip(x, b, now_us);
}

int media_stream_set_codec(struct media_stream *s, enum media_side side, unsigned payload_type,
			   unsigned clock_rate, enum media_codec codec)
{
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B || payload_type > 127 ||
	    clock_rate > MAX_CLOCK_RATE)
		return -1;
	struct side *x = &s->side[side];
	if (x->codec_pt != (int)payload_type || x->clock_rate != clock_rate) {
		/* Another timestamp scale: the jitter starts again. */
		x->rx.have_transit = false;
		x->rx.jitter_q4 = 0;
	}
	x->codec_pt = (int)payload_type;
	x->clock_rate = clock_rate;
	x->codec = codec;
	return 0;
}

static double ts_to_ms(uint64_t ts, unsigned rate) { return rate ? (double)ts * 1000.0 / rate : 0; }

void quality_gather(const struct side *x, struct quality_src *src)
{
	memset(src, 0, sizeof(*src)); /* padding too: it is published as words */
	src->codec = x->codec;
	src->clock_rate = x->clock_rate;
	src->rtp_in = x->st.rtp_in;
	src->rtp_in_bytes = x->st.rtp_in_bytes;
	src->rtp_out = x->st.rtp_out;
	src->rtp_out_bytes = x->st.rtp_out_bytes;
	src->replays = x->st.replays;
	src->rx = x->rx;
	src->rep_have = x->rep.have;
	src->rep_have_rtt = x->rep.have_rtt;
	src->rep_fraction = x->rep.fraction;
	src->rep_cum_lost = x->rep.cum_lost;
	src->rep_jitter = x->rep.jitter;
	src->rep_rtt_us = x->rep.rtt_us;
	src->rep_malformed = x->rep.malformed;
}

void quality_figures(const struct quality_src *src, struct media_quality *q)
{
	const struct rx_stats *r = &src->rx;
	memset(q, 0, sizeof(*q));
	q->codec = src->codec;
	q->clock_rate = src->clock_rate;
	q->rx_packets = src->rtp_in;
	q->rx_bytes = src->rtp_in_bytes;
	q->tx_packets = src->rtp_out;
	q->tx_bytes = src->rtp_out_bytes;
	q->expected = r->prior_expected + rx_expected(r);
	uint64_t received = r->prior_received + r->received;
	q->lost = q->expected > received ? q->expected - received : 0;
	q->fraction_lost = q->expected ? (double)q->lost / (double)q->expected : 0;
	/* Measured once a packet of the codec's payload type was timed. */
	q->has_jitter = src->clock_rate != 0 && (r->have_transit || r->jitter_q4 != 0);
	q->jitter_ms = ts_to_ms(r->jitter_q4 >> 4, src->clock_rate);
	q->duplicates = r->dups + src->replays;
	q->late = r->late;
	q->has_report = src->rep_have;
	q->reported_fraction_lost = src->rep_fraction / 256.0;
	q->reported_cum_lost = src->rep_cum_lost;
	q->reported_jitter_ms = ts_to_ms(src->rep_jitter, src->clock_rate);
	q->has_rtt = src->rep_have_rtt;
	q->rtt_ms = (double)src->rep_rtt_us / 1000.0;
	q->rtcp_malformed = src->rep_malformed;
	/* One-way delay: half the relay-peer round trip plus a jitter buffer
	 * of twice the jitter; loss as the relay saw it from this peer. */
	if (q->expected > 0) {
		double delay = (q->has_rtt ? q->rtt_ms / 2 : 0) + 2 * q->jitter_ms;
		q->has_mos = emodel_mos(src->codec, q->fraction_lost * 100.0, delay, &q->mos);
	}
}

/* A stream on a worker is read from what the worker last published
 * (snapshot.c: at most its period old, and fresh after every command and
 * at the DETACH); one on the signalling loop directly, exact. */
int media_stream_quality(const struct media_stream *s, enum media_side side,
			 struct media_quality *q)
{
	if (q == NULL)
		return -1;
	memset(q, 0, sizeof(*q));
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B)
		return -1;
	struct quality_src src;
	if (s->worker >= 0)
		quality_snapshot(&s->side[side], &src);
	else
		quality_gather(&s->side[side], &src);
	quality_figures(&src, q);
	return 0;
}

int media_quality_format(const struct media_quality *q, char *buf, size_t len)
{
	char jit[24] = "-", rtt[24] = "-", mos[16] = "-", rep[96] = "none";
	if (q->has_jitter)
		snprintf(jit, sizeof(jit), "%.1f", q->jitter_ms);
	if (q->has_rtt)
		snprintf(rtt, sizeof(rtt), "%.1f", q->rtt_ms);
	if (q->has_mos)
		snprintf(mos, sizeof(mos), "%.2f", q->mos);
	if (q->has_report)
		snprintf(rep, sizeof(rep), "loss %.1f%% (cum %" PRId32 "), jitter %.1f ms",
			 q->reported_fraction_lost * 100.0, q->reported_cum_lost,
			 q->reported_jitter_ms);
	const char *codec = media_codec_name(q->codec);
	return snprintf(buf, len,
			"rx %" PRIu64 " pkts, lost %" PRIu64 " (%.2f%%), jitter %s ms, rtt %s ms, "
			"MOS %s, codec %s, dup %" PRIu64 ", late %" PRIu64 ", tx %" PRIu64
			" pkts, reported %s",
			q->rx_packets, q->lost, q->fraction_lost * 100.0, jit, rtt, mos,
			codec ? codec : "-", q->duplicates, q->late, q->tx_packets, rep);
}
