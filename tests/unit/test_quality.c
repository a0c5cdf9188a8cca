/* Media quality (gateway/media/quality.c, rtcp_report.c, emodel.c): the RTCP
 * report parser on hand-built packets, malformed ones above all (lengths
 * that lie, report counts past the packet, padding abuse, nothing at all);
 * the relay's own receive figures (loss, duplicates, late packets, sequence
 * wrap, a new source, jitter in timestamp units); the round-trip time from
 * LSR/DLSR against the relay's own view of the SR; and the E-model's MOS
 * against values worked out by hand below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "media/emodel.h"
#include "media/media_int.h"
#include "media/rtcp_report.h"

/* ---- building packets ---------------------------------------------------- */

struct pkt {
	uint8_t b[1500];
	size_t n;
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A report block at p. */
static void block(uint8_t *p, uint32_t ssrc, uint8_t fraction, int32_t cum, uint32_t jitter,
		  uint32_t lsr, uint32_t dlsr)
{
	put32(p, ssrc);
	p[4] = fraction;
	uint32_t c = (uint32_t)cum & 0xffffffu;
	p[5] = (uint8_t)(c >> 16);
	p[6] = (uint8_t)(c >> 8);
	p[7] = (uint8_t)c;
	put32(p + 8, 0x00010064);
	put32(p + 12, jitter);
	put32(p + 16, lsr);
	put32(p + 20, dlsr);
}

/* Appends an SR (ntp_mid in the middle of its NTP time) or RR with `rc`
 * blocks (each from the same figures), its length field as it should be. */
static uint8_t *add_report(struct pkt *k, bool sr, unsigned rc, uint32_t ntp_mid)
{
	uint8_t *p = k->b + k->n;
	size_t size = 8 + (sr ? 20 : 0) + 24 * (size_t)rc;
	memset(p, 0, size);
	p[0] = (uint8_t)(0x80 | rc);
	p[1] = sr ? 200 : 201;
	p[2] = (uint8_t)((size / 4 - 1) >> 8);
	p[3] = (uint8_t)(size / 4 - 1);
	put32(p + 4, 0x11111111);
	if (sr) {
		put32(p + 8, 0xe1000000 | (ntp_mid >> 16));
		put32(p + 12, ntp_mid << 16);
	}
	for (unsigned i = 0; i < rc; i++)
		block(p + size - 24 * (rc - i), 0x22222222 + i, 26, 12, 160, 0, 0);
	k->n += size;
	return p;
}

/* An SDES with one CNAME item, as compound packets carry. */
static void add_sdes(struct pkt *k)
{
	static const uint8_t sdes[] = { 0x81, 202, 0, 3, 0x11, 0x11, 0x11, 0x11,
					1,    3,   'a', 'b', 'c', 0, 0, 0 };
	memcpy(k->b + k->n, sdes, sizeof(sdes));
	k->n += sizeof(sdes);
}

static int parse(const struct pkt *k, struct rtcp_summary *s)
{
	return rtcp_report_parse(k->b, k->n, s);
}

/* ---- the parser ---------------------------------------------------------- */

static void sr_with_block_and_sdes(void **state)
{
	struct pkt k = { .n = 0 };
	add_report(&k, true, 1, 0xabcd1234);
	add_sdes(&k);
	struct rtcp_summary s;
	assert_int_equal(parse(&k, &s), 0);
	assert_true(s.have_sr);
	assert_int_equal(s.sr_ntp_mid, 0xabcd1234);
	assert_int_equal(s.sender_ssrc, 0x11111111);
	assert_int_equal(s.n_blocks, 1);
	assert_int_equal(s.block[0].ssrc, 0x22222222);
	assert_int_equal(s.block[0].fraction, 26);
	assert_int_equal(s.block[0].cum_lost, 12);
	assert_int_equal(s.block[0].jitter, 160);
	(void)state;
}

static void rr_blocks_and_negative_cumulative_loss(void **state)
{
	struct pkt k = { .n = 0 };
	uint8_t *p = add_report(&k, false, 2, 0);
	block(p + 8 + 24, 0x33333333, 0, -3, 7, 0x01020304, 65536);
	struct rtcp_summary s;
	assert_int_equal(parse(&k, &s), 0);
	assert_false(s.have_sr);
	assert_int_equal(s.n_blocks, 2);
	assert_int_equal(s.block[1].cum_lost, -3); /* duplicates: 24-bit two's complement */
	assert_int_equal(s.block[1].lsr, 0x01020304);
	assert_int_equal(s.block[1].dlsr, 65536);
	(void)state;
}

/* 31 blocks are counted; RTCP_REPORT_MAX_BLOCKS are kept. */
static void many_blocks_are_counted_not_kept(void **state)
{
	struct pkt k = { .n = 0 };
	add_report(&k, false, 31, 0);
	struct rtcp_summary s;
	assert_int_equal(parse(&k, &s), 0);
	assert_int_equal(s.blocks_seen, 31);
	assert_int_equal(s.n_blocks, RTCP_REPORT_MAX_BLOCKS);
	(void)state;
}

static void malformed_packets_are_refused(void **state)
{
	struct rtcp_summary s;
	struct pkt k = { .n = 0 };

	/* nothing, and less than a header */
	assert_int_equal(rtcp_report_parse(k.b, 0, &s), -1);
	assert_int_equal(rtcp_report_parse(NULL, 0, &s), -1);
	add_report(&k, false, 1, 0);
	assert_int_equal(rtcp_report_parse(k.b, 4, &s), -1);

	/* the length field claims a word more than the datagram has */
	k.b[3]++;
	assert_int_equal(parse(&k, &s), -1);
	k.b[3]--;
	/* a cut-off datagram */
	assert_int_equal(rtcp_report_parse(k.b, k.n - 4, &s), -1);
	/* the report count overflows the packet: 2 announced, 1 there */
	k.b[0] = 0x82;
	assert_int_equal(parse(&k, &s), -1);
	/* 31 announced in an empty SR whose length says header only */
	k.n = 0;
	uint8_t *p = add_report(&k, true, 0, 1);
	p[0] = 0x9f;
	assert_int_equal(parse(&k, &s), -1);
	/* an SR too short for its sender info (length 1 word past the header) */
	k.n = 0;
	p = add_report(&k, false, 0, 0);
	p[1] = 200;
	assert_int_equal(parse(&k, &s), -1);
	/* version 1 */
	k.n = 0;
	p = add_report(&k, false, 1, 0);
	p[0] = 0x41;
	assert_int_equal(parse(&k, &s), -1);
	/* a valid packet followed by 2 stray bytes */
	k.n = 0;
	add_report(&k, false, 1, 0);
	k.b[k.n++] = 0x80;
	k.b[k.n++] = 201;
	assert_int_equal(parse(&k, &s), -1);
	/* a second sub-packet of version 0 */
	k.n = 0;
	add_report(&k, false, 1, 0);
	memset(k.b + k.n, 0, 8);
	k.n += 8;
	assert_int_equal(parse(&k, &s), -1);
	(void)state;
}

static void padding_abuse_is_refused(void **state)
{
	struct rtcp_summary s;
	struct pkt k = { .n = 0 };

	/* well-formed: an RR with 1 block and 4 octets of padding at the end */
	uint8_t *p = add_report(&k, false, 1, 0);
	memset(k.b + k.n, 0, 4);
	k.n += 4;
	k.b[k.n - 1] = 4;
	p[0] |= 0x20;
	p[3]++;
	assert_int_equal(parse(&k, &s), 0);
	assert_int_equal(s.n_blocks, 1);
	/* a zero padding count */
	k.b[k.n - 1] = 0;
	assert_int_equal(parse(&k, &s), -1);
	/* padding that would eat the header */
	k.b[k.n - 1] = 255;
	assert_int_equal(parse(&k, &s), -1);
	/* padding that eats into the report block the count announces */
	k.b[k.n - 1] = 8;
	assert_int_equal(parse(&k, &s), -1);

	/* the padding bit on a packet that is not the last */
	k.n = 0;
	p = add_report(&k, false, 1, 0);
	p[0] |= 0x20;
	k.b[k.n - 1] = 4;
	add_sdes(&k);
	assert_int_equal(parse(&k, &s), -1);
	(void)state;
}

/* ---- the relay's own figures ---------------------------------------------- */

struct two {
	struct media_stream s;
};

static void two_sides(struct two *t)
{
	memset(t, 0, sizeof(*t));
	t->s.worker = -1; /* relayed on this thread: figures read directly */
	for (int i = 0; i < 2; i++) {
		t->s.side[i].s = &t->s;
		t->s.side[i].id = (enum media_side)i;
		t->s.side[i].codec_pt = -1;
	}
}

static void rtp(uint8_t *p, uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt)
{
	memset(p, 0, 12);
	p[0] = 0x80;
	p[1] = pt;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	put32(p + 4, ts);
	put32(p + 8, ssrc);
}

static void feed(struct side *x, uint16_t seq, uint32_t ts, uint64_t at_us)
{
	uint8_t p[12];
	rtp(p, seq, ts, 0x5555, 0);
	quality_rtp(x, p, at_us);
}

static struct media_quality quality(const struct two *t, enum media_side side)
{
	struct media_quality q;
	assert_int_equal(media_stream_quality(&t->s, side, &q), 0);
	return q;
}

/* Every 20th of 100 packets missing: 5 lost of 100 expected. */
static void loss_is_counted_from_sequence_gaps(void **state)
{
	struct two t;
	two_sides(&t);
	for (unsigned i = 0; i < 100; i++)
		if (i % 20 != 10)
			feed(&t.s.side[0], (uint16_t)(500 + i), i * 160, 1000 + i * 20000);
	struct media_quality q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.expected, 100);
	assert_int_equal(q.lost, 5);
	assert_true(q.fraction_lost > 0.0499 && q.fraction_lost < 0.0501);
	assert_int_equal(q.duplicates, 0);
	assert_int_equal(q.late, 0);
	/* side B saw nothing */
	q = quality(&t, MEDIA_SIDE_B);
	assert_int_equal(q.expected, 0);
	assert_false(q.has_mos);
	(void)state;
}

/* A duplicate is not received twice; a late packet fills its gap. */
static void duplicates_and_late_packets(void **state)
{
	struct two t;
	two_sides(&t);
	struct side *x = &t.s.side[0];
	feed(x, 10, 0, 1);
	feed(x, 11, 160, 2);
	feed(x, 13, 480, 3); /* 12 is missing for now */
	feed(x, 13, 480, 4); /* duplicate of the newest */
	feed(x, 11, 160, 5); /* duplicate inside the window */
	struct media_quality q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.lost, 1);
	assert_int_equal(q.duplicates, 2);
	feed(x, 12, 320, 6); /* late, fills the gap */
	q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.lost, 0);
	assert_int_equal(q.late, 1);
	feed(x, 12, 320, 7); /* and its copy is a duplicate, not late */
	q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.duplicates, 3);
	assert_int_equal(q.late, 1);
	assert_int_equal(q.expected, 4);
	(void)state;
}

/* Sequence numbers wrap without a loss; a new SSRC keeps what was counted. */
static void wrap_and_new_source(void **state)
{
	struct two t;
	two_sides(&t);
	struct side *x = &t.s.side[0];
	for (unsigned i = 0; i < 20; i++)
		feed(x, (uint16_t)(65530 + i), i * 160, i + 1);
	struct media_quality q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.expected, 20);
	assert_int_equal(q.lost, 0);
	uint8_t p[12];
	rtp(p, 7, 0, 0x6666, 0);
	quality_rtp(x, p, 100);
	rtp(p, 9, 320, 0x6666, 0);
	quality_rtp(x, p, 101);
	q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.expected, 23);
	assert_int_equal(q.lost, 1);
	/* a jump of 30000 is not believed until the next packet follows it */
	rtp(p, 30009, 480, 0x6666, 0);
	quality_rtp(x, p, 102);
	q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.expected, 23);
	rtp(p, 30010, 640, 0x6666, 0);
	quality_rtp(x, p, 103);
	q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.expected, 24);
	assert_int_equal(q.lost, 1);
	(void)state;
}

/* Packets every 20 ms, each second one held 20 ms: every transit
 * difference is 160 timestamp units at 8 kHz, so A.8's estimate converges
 * on 20 ms. Without a codec nothing is measured; other payload types
 * (telephone events) are not measured. */
static void jitter_in_timestamp_units(void **state)
{
	struct two t;
	two_sides(&t);
	struct side *x = &t.s.side[0];
	for (unsigned i = 0; i < 10; i++)
		feed(x, (uint16_t)i, i * 160, 5000000 + i * 20000 + (i % 2) * 20000);
	struct media_quality q = quality(&t, MEDIA_SIDE_A);
	assert_false(q.has_jitter);
	assert_true(q.jitter_ms == 0);

	two_sides(&t);
	assert_int_equal(media_stream_set_codec(&t.s, MEDIA_SIDE_A, 0, 8000, MEDIA_CODEC_PCMU), 0);
	for (unsigned i = 0; i < 300; i++)
		feed(x, (uint16_t)i, i * 160, 5000000 + i * 20000 + (i % 2) * 20000);
	q = quality(&t, MEDIA_SIDE_A);
	assert_true(q.has_jitter);
	assert_true(q.jitter_ms > 19.0 && q.jitter_ms <= 20.0);
	/* telephone events (PT 101) on the same clock do not move it */
	uint32_t before = x->rx.jitter_q4;
	uint8_t p[12];
	rtp(p, 300, 1, 0x5555, 101);
	quality_rtp(x, p, 99000000);
	assert_int_equal(x->rx.jitter_q4, before);
	/* a codec whose payload type never arrives measures nothing */
	two_sides(&t);
	assert_int_equal(media_stream_set_codec(&t.s, MEDIA_SIDE_A, 0, 8000, MEDIA_CODEC_PCMU), 0);
	for (unsigned i = 0; i < 5; i++) {
		rtp(p, (uint16_t)i, i * 160, 0x5555, 101);
		quality_rtp(x, p, 1000 + i * 20000);
	}
	q = quality(&t, MEDIA_SIDE_A);
	assert_false(q.has_jitter);
	assert_int_equal(q.expected, 5);
	/* bad setter arguments */
	assert_int_equal(media_stream_set_codec(&t.s, MEDIA_SIDE_A, 128, 8000, MEDIA_CODEC_PCMU), -1);
	assert_int_equal(media_stream_set_codec(&t.s, (enum media_side)2, 0, 8000, MEDIA_CODEC_PCMU), -1);
	assert_int_equal(media_stream_set_codec(NULL, MEDIA_SIDE_A, 0, 8000, MEDIA_CODEC_PCMU), -1);
	(void)state;
}

/* ---- reports and the round trip ------------------------------------------ */

/* A's peer sends an SR (it crosses toward B at 1.000 s); B's peer answers
 * at 1.600 s with LSR naming it and DLSR 0.5 s: 100 ms relay-B round trip.
 * B's block about A's source is the one taken, not the first. */
static void report_and_round_trip(void **state)
{
	struct two t;
	two_sides(&t);
	struct side *a = &t.s.side[0], *b = &t.s.side[1];
	feed(a, 1, 0, 1); /* A's source is 0x5555 */
	struct pkt k = { .n = 0 };
	add_report(&k, true, 0, 0x00aa0001);
	quality_rtcp(a, b, k.b, k.n, 1000000);

	k.n = 0;
	uint8_t *p = add_report(&k, false, 2, 0);
	block(p + 8, 0x9999, 200, 50, 8000, 0, 0);
	block(p + 32, 0x5555, 64, 7, 80, 0x00aa0001, 32768);
	assert_int_equal(media_stream_set_codec(&t.s, MEDIA_SIDE_B, 0, 8000, MEDIA_CODEC_PCMU), 0);
	quality_rtcp(b, a, k.b, k.n, 1600000);
	struct media_quality q = quality(&t, MEDIA_SIDE_B);
	assert_true(q.has_report);
	assert_true(q.reported_fraction_lost == 0.25);
	assert_int_equal(q.reported_cum_lost, 7);
	assert_true(q.reported_jitter_ms == 10.0);
	assert_true(q.has_rtt);
	assert_true(q.rtt_ms == 100.0);
	/* A itself has no report and no round trip */
	q = quality(&t, MEDIA_SIDE_A);
	assert_false(q.has_report);
	assert_false(q.has_rtt);

	/* an LSR the relay never forwarded, or a DLSR longer than the wait,
	 * times nothing: the old figure stays */
	k.n = 0;
	p = add_report(&k, false, 1, 0);
	block(p + 8, 0x5555, 0, 7, 80, 0x00bb0001, 0);
	quality_rtcp(b, a, k.b, k.n, 1700000);
	block(p + 8, 0x5555, 0, 7, 80, 0x00aa0001, 65536 * 10);
	quality_rtcp(b, a, k.b, k.n, 1800000);
	q = quality(&t, MEDIA_SIDE_B);
	assert_true(q.rtt_ms == 100.0);
	/* a malformed packet changes nothing but its counter */
	k.b[3] = 40;
	quality_rtcp(b, a, k.b, k.n, 1900000);
	q = quality(&t, MEDIA_SIDE_B);
	assert_int_equal(q.rtcp_malformed, 1);
	assert_true(q.reported_fraction_lost == 0.0);
	(void)state;
}

/* ---- the E-model ----------------------------------------------------------- */

static void assert_near(double got, double want, double tol)
{
	if (got < want - tol || got > want + tol)
		fail_msg("%f is not %f +- %f", got, want, tol);
}

/* Worked by hand:
 * - G.711, no loss, no delay: R = 93.2, MOS = 1 + 0.035*93.2
 *   + 93.2*(93.2-60)*(100-93.2)*7e-6 = 1 + 3.262 + 0.14729 = 4.4093.
 * - G.711, 5 % random loss: Ie,eff = 0 + 95*5/(5/1 + 25.1) = 15.7807,
 *   R = 77.4193, MOS = 1 + 2.70968 + 77.4193*17.4193*22.5807*7e-6
 *   = 1 + 2.70968 + 0.21316 = 3.9228.
 * - G.729A, no loss: R = 93.2 - 11 = 82.2, MOS = 1 + 2.877 + 0.22738 = 4.1044.
 * - G.711, 200 ms one way: Id = 0.024*200 + 0.11*(200-177.3) = 7.297,
 *   R = 85.903, MOS = 4.2262.
 * - The integration test's call: 5 % loss, jitter 20 ms (buffer 40 ms),
 *   RTT 100 ms (50 ms one way): Id = 0.024*90 = 2.16, R = 75.2593,
 *   MOS = 3.8330. */
static void emodel_values(void **state)
{
	double mos = 0;
	assert_true(emodel_mos(MEDIA_CODEC_PCMU, 0, 0, &mos));
	assert_near(mos, 4.4093, 0.0005);
	assert_true(emodel_mos(MEDIA_CODEC_PCMA, 5, 0, &mos));
	assert_near(mos, 3.9228, 0.0005);
	assert_true(emodel_mos(MEDIA_CODEC_G729, 0, 0, &mos));
	assert_near(mos, 4.1044, 0.0005);
	assert_true(emodel_mos(MEDIA_CODEC_PCMU, 0, 200, &mos));
	assert_near(mos, 4.2262, 0.0005);
	assert_true(emodel_mos(MEDIA_CODEC_PCMU, 5, 90, &mos));
	assert_near(mos, 3.8330, 0.0005);
	mos = -1;
	assert_false(emodel_mos(MEDIA_CODEC_UNKNOWN, 0, 0, &mos));
	assert_true(mos == -1);
	/* clamps and nonsense inputs */
	assert_true(emodel_mos_from_r(-10) == 1.0);
	assert_true(emodel_mos_from_r(3) == 1.0);
	assert_true(emodel_mos_from_r(120) == 4.5);
	assert_true(emodel_ie_eff(0, 25.1, -5, 0) == 0);
	assert_near(emodel_ie_eff(0, 25.1, 500, 1), 95 * 100 / 125.1, 1e-9);
	assert_true(emodel_delay_impairment(-3) == 0);
	assert_true(emodel_mos(MEDIA_CODEC_PCMU, 100, 5000, &mos));
	assert_true(mos == 1.0);
	(void)state;
}

static void codec_names(void **state)
{
	assert_int_equal(media_codec_from_name("pcmu"), MEDIA_CODEC_PCMU);
	assert_int_equal(media_codec_from_name("PCMA"), MEDIA_CODEC_PCMA);
	assert_int_equal(media_codec_from_name("G729"), MEDIA_CODEC_G729);
	assert_int_equal(media_codec_from_name("G722"), MEDIA_CODEC_G722);
	assert_int_equal(media_codec_from_name("opus"), MEDIA_CODEC_UNKNOWN);
	assert_int_equal(media_codec_from_name(NULL), MEDIA_CODEC_UNKNOWN);
	assert_string_equal(media_codec_name(MEDIA_CODEC_PCMU), "PCMU");
	assert_null(media_codec_name(MEDIA_CODEC_UNKNOWN));
	(void)state;
}

/* The accessor end to end on one side, and its log line. */
static void accessor_and_line(void **state)
{
	struct two t;
	two_sides(&t);
	assert_int_equal(media_stream_set_codec(&t.s, MEDIA_SIDE_A, 0, 8000, MEDIA_CODEC_PCMU), 0);
	for (unsigned i = 0; i < 100; i++)
		if (i % 20 != 10)
			feed(&t.s.side[0], (uint16_t)i, i * 160, 1000 + i * 20000);
	struct media_quality q = quality(&t, MEDIA_SIDE_A);
	assert_true(q.has_mos);
	/* no jitter (perfectly paced), no RTT: 5 % loss alone */
	assert_near(q.mos, 3.9228, 0.0005);
	char line[320];
	media_quality_format(&q, line, sizeof(line));
	assert_non_null(strstr(line, "lost 5 (5.00%)"));
	assert_non_null(strstr(line, "jitter 0.0 ms, rtt - ms, MOS 3.92, codec PCMU"));
	assert_non_null(strstr(line, "reported none"));
	assert_int_equal(media_stream_quality(NULL, MEDIA_SIDE_A, &q), -1);
	assert_int_equal(media_stream_quality(&t.s, MEDIA_SIDE_A, NULL), -1);
	(void)state;
}

/* A stream on a media worker is read from what its worker published
 * (snapshot.c), never from the figures the worker is changing: nothing
 * before the first publication, the figures of the moment after it, and
 * the same as the direct read once published again. */
static void worker_stream_reads_the_snapshot(void **state)
{
	struct two t;
	two_sides(&t);
	t.s.worker = 0;
	assert_int_equal(media_stream_set_codec(&t.s, MEDIA_SIDE_A, 0, 8000, MEDIA_CODEC_PCMU), 0);
	for (unsigned i = 0; i < 50; i++)
		if (i % 20 != 10)
			feed(&t.s.side[0], (uint16_t)i, i * 160, 1000 + i * 20000);
	struct media_quality q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.expected, 0);
	assert_int_equal(q.codec, MEDIA_CODEC_UNKNOWN);
	stream_publish(&t.s);
	q = quality(&t, MEDIA_SIDE_A);
	assert_int_equal(q.expected, 50);
	assert_int_equal(q.lost, 2);
	assert_int_equal(q.codec, MEDIA_CODEC_PCMU);
	for (unsigned i = 50; i < 100; i++)
		if (i % 20 != 10)
			feed(&t.s.side[0], (uint16_t)i, i * 160, 1000 + i * 20000);
	assert_int_equal(quality(&t, MEDIA_SIDE_A).expected, 50); /* not published yet */
	stream_publish(&t.s);
	struct media_quality w = quality(&t, MEDIA_SIDE_A);
	t.s.worker = -1;
	struct media_quality d = quality(&t, MEDIA_SIDE_A);
	assert_memory_equal(&w, &d, sizeof(w));
	assert_int_equal(w.lost, 5);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sr_with_block_and_sdes),
		cmocka_unit_test(rr_blocks_and_negative_cumulative_loss),
		cmocka_unit_test(many_blocks_are_counted_not_kept),
		cmocka_unit_test(malformed_packets_are_refused),
		cmocka_unit_test(padding_abuse_is_refused),
		cmocka_unit_test(loss_is_counted_from_sequence_gaps),
		cmocka_unit_test(duplicates_and_late_packets),
		cmocka_unit_test(wrap_and_new_source),
		cmocka_unit_test(jitter_in_timestamp_units),
		cmocka_unit_test(report_and_round_trip),
		cmocka_unit_test(emodel_values),
		cmocka_unit_test(codec_names),
		cmocka_unit_test(accessor_and_line),
		cmocka_unit_test(worker_stream_reads_the_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
