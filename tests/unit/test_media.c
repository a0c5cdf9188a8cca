/* Unit tests of the media relay with real UDP on 127.0.0.1 and real libsrtp2
 * on the test side: a "phone" socket plays side A's peer and a "trunk" socket
 * side B's, and every check is made on what actually arrives on those sockets
 * (verified or decrypted by the test's own libsrtp2 contexts) and on the
 * per-side statistics. The event loop is driven in bounded non-blocking
 * steps, so a missing packet fails a test instead of hanging it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <srtp2/srtp.h>

#include "core/counters.h"
#include "core/log.h"
#include "media/media.h"
#include "libsrtp_ref.h"
#include "loopback.h"

#define PKT_MAX 2048
#define WAIT_MS 1000   /* longest wait for a packet that should arrive */
#define QUIET_MS 150   /* how long to wait to conclude nothing arrives */

struct pkt {
	_Alignas(16) uint8_t b[PKT_MAX];
	int len;
};

struct ep {
	int rtp, rtcp;
	unsigned rtp_port, rtcp_port;
};

static struct event_base *base;
static struct media_engine *eng;
static int ra, rb;

/* --- clock, sockets and the loop ----------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void ep_open(struct ep *p)
{
	p->rtp = loopback_udp(&p->rtp_port);
	p->rtcp = loopback_udp(&p->rtcp_port);
}

static void ep_close(struct ep *p)
{
	close(p->rtp);
	close(p->rtcp);
}

static void send_pkt(int fd, unsigned port, const struct pkt *p)
{
	struct sockaddr_storage to = loopback4(port);
	assert_int_equal(sendto(fd, p->b, (size_t)p->len, 0, (struct sockaddr *)&to,
				sizeof(struct sockaddr_in)),
			 p->len);
}

/* Runs the loop until a datagram arrives on fd or timeout_ms passes. */
static bool recv_wait(int fd, struct pkt *p, int timeout_ms, unsigned *from_port)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, p->b, sizeof(p->b), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n >= 0) {
			p->len = (int)n;
			if (from_port)
				*from_port = ntohs(((struct sockaddr_in *)&from)->sin_port);
			return true;
		}
		if (now_ms() >= end)
			return false;
		usleep(500);
	}
}

static void pump(int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	while (now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(500);
	}
}

static void expect_nothing(int fd)
{
	struct pkt p;
	assert_false(recv_wait(fd, &p, QUIET_MS, NULL));
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* --- packets and test-side libsrtp2 -------------------------------------- */

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static void mk_rtp(struct pkt *p, uint16_t seq, uint32_t ssrc, uint8_t fill)
{
	memset(p->b, 0, sizeof(p->b));
	p->b[0] = 0x80;
	p->b[1] = 0; /* PCMU */
	p->b[2] = (uint8_t)(seq >> 8);
	p->b[3] = (uint8_t)seq;
	put32(p->b + 4, (uint32_t)seq * 160u);
	put32(p->b + 8, ssrc);
	for (int i = 0; i < 160; i++)
		p->b[12 + i] = (uint8_t)(fill + i);
	p->len = 12 + 160;
}

/* An RTCP sender report (28 bytes). */
static void mk_rtcp(struct pkt *p, uint32_t ssrc, uint8_t fill)
{
	memset(p->b, 0, sizeof(p->b));
	p->b[0] = 0x80;
	p->b[1] = 200;
	p->b[2] = 0;
	p->b[3] = 6;
	put32(p->b + 4, ssrc);
	for (int i = 8; i < 28; i++)
		p->b[i] = (uint8_t)(fill + i);
	p->len = 28;
}

/* The test's own context for a key: inbound to verify what the relay sent,
 * outbound to produce what a secure peer would send. */
static srtp_t tctx(const struct pc_srtp_params *k, bool inbound)
{
	srtp_t s = libsrtp_ref_new(k, inbound, false);
	assert_non_null(s);
	return s;
}

static srtp_err_status_t t_protect(srtp_t s, const struct pc_srtp_params *k, struct pkt *p, bool rtcp)
{
	if (k->mki_len)
		return rtcp ? srtp_protect_rtcp_mki(s, p->b, &p->len, 1, 0)
			    : srtp_protect_mki(s, p->b, &p->len, 1, 0);
	return rtcp ? srtp_protect_rtcp(s, p->b, &p->len) : srtp_protect(s, p->b, &p->len);
}

static srtp_err_status_t t_unprotect(srtp_t s, const struct pc_srtp_params *k, struct pkt *p, bool rtcp)
{
	if (k->mki_len)
		return rtcp ? srtp_unprotect_rtcp_mki(s, p->b, &p->len, 1)
			    : srtp_unprotect_mki(s, p->b, &p->len, 1);
	return rtcp ? srtp_unprotect_rtcp(s, p->b, &p->len) : srtp_unprotect(s, p->b, &p->len);
}

static struct pc_srtp_params fresh(enum pc_srtp_suite suite)
{
	struct pc_srtp_params k;
	assert_int_equal(media_keys_fresh(suite, &k), 0);
	return k;
}

static struct media_side_stats stats(const struct media_stream *s, enum media_side side)
{
	struct media_side_stats st;
	media_stream_stats(s, side, &st);
	return st;
}

/* --- a call: phone (plain, side A) and trunk (SRTP, side B) -------------- */

#define PHONE_SSRC 0x11111111u
#define TRUNK_SSRC 0x22222222u

struct call {
	struct media_stream *s;
	struct ep phone, trunk;
	struct pc_srtp_params b_recv, b_send; /* side B: trunk protects with b_recv */
	srtp_t trunk_tx, trunk_rx;
	uint16_t phone_seq, trunk_seq;
	bool b_mux;
};

static void call_open(struct call *c, enum pc_srtp_suite suite, bool b_mux)
{
	memset(c, 0, sizeof(*c));
	c->s = media_stream_new(eng, ra, rb);
	assert_non_null(c->s);
	ep_open(&c->phone);
	ep_open(&c->trunk);
	struct sockaddr_storage pa = loopback4(c->phone.rtp_port), ta = loopback4(c->trunk.rtp_port);
	assert_int_equal(media_stream_set_remote(c->s, MEDIA_SIDE_A, &pa, c->phone.rtcp_port, false), 0);
	assert_int_equal(media_stream_set_remote(c->s, MEDIA_SIDE_B, &ta,
						 b_mux ? 0 : c->trunk.rtcp_port, b_mux), 0);
	c->b_recv = fresh(suite);
	c->b_send = fresh(suite);
	assert_int_equal(media_stream_set_crypto(c->s, MEDIA_SIDE_B, &c->b_recv, &c->b_send), 0);
	c->trunk_tx = tctx(&c->b_recv, false);
	c->trunk_rx = tctx(&c->b_send, true);
	c->phone_seq = 100;
	c->trunk_seq = 5000;
	c->b_mux = b_mux;
}

static void call_close(struct call *c)
{
	media_stream_free(c->s);
	ep_close(&c->phone);
	ep_close(&c->trunk);
	srtp_dealloc(c->trunk_tx);
	srtp_dealloc(c->trunk_rx);
}

/* Phone sends plain RTP (or RTCP); the trunk must get it protected under
 * B's send key, decrypting to exactly what the phone sent. */
static void phone_to_trunk(struct call *c, bool rtcp)
{
	struct pkt plain, got;
	if (rtcp)
		mk_rtcp(&plain, PHONE_SSRC, (uint8_t)c->phone_seq);
	else
		mk_rtp(&plain, c->phone_seq, PHONE_SSRC, (uint8_t)c->phone_seq);
	c->phone_seq++;
	unsigned aport = media_stream_port(c->s, MEDIA_SIDE_A);
	unsigned bport = media_stream_port(c->s, MEDIA_SIDE_B);
	send_pkt(rtcp ? c->phone.rtcp : c->phone.rtp, rtcp ? aport + 1 : aport, &plain);
	/* With rtcp-mux on B the trunk gets SRTCP on its RTP socket, sent from
	 * B's RTP port (symmetric RTP: from the port the trunk sends to). */
	bool on_rtcp = rtcp && !c->b_mux;
	unsigned from;
	assert_true(recv_wait(on_rtcp ? c->trunk.rtcp : c->trunk.rtp, &got, WAIT_MS, &from));
	assert_int_equal(from, on_rtcp ? bport + 1 : bport);
	assert_true(got.len > plain.len);
	/* Same header, different payload: it was encrypted. */
	assert_memory_equal(got.b, plain.b, rtcp ? 8 : 12);
	assert_memory_not_equal(got.b + (rtcp ? 8 : 12), plain.b + (rtcp ? 8 : 12), 16);
	assert_int_equal(t_unprotect(c->trunk_rx, &c->b_send, &got, rtcp), srtp_err_status_ok);
	assert_int_equal(got.len, plain.len);
	assert_memory_equal(got.b, plain.b, (size_t)plain.len);
}

/* Builds the trunk's next protected packet (under key k with context tx). */
static void trunk_make(struct call *c, struct pkt *plain, struct pkt *wire, srtp_t tx,
		       const struct pc_srtp_params *k, bool rtcp)
{
	if (rtcp)
		mk_rtcp(plain, TRUNK_SSRC, (uint8_t)c->trunk_seq);
	else
		mk_rtp(plain, c->trunk_seq, TRUNK_SSRC, (uint8_t)c->trunk_seq);
	c->trunk_seq++;
	*wire = *plain;
	assert_int_equal(t_protect(tx, k, wire, rtcp), srtp_err_status_ok);
}

/* Trunk sends SRTP (or SRTCP); the phone must get the plain original. */
static void trunk_to_phone(struct call *c, bool rtcp, bool b_mux)
{
	struct pkt plain, wire, got;
	trunk_make(c, &plain, &wire, c->trunk_tx, &c->b_recv, rtcp);
	unsigned bport = media_stream_port(c->s, MEDIA_SIDE_B);
	send_pkt(rtcp && !b_mux ? c->trunk.rtcp : c->trunk.rtp, rtcp && !b_mux ? bport + 1 : bport,
		 &wire);
	unsigned from;
	assert_true(recv_wait(rtcp ? c->phone.rtcp : c->phone.rtp, &got, WAIT_MS, &from));
	assert_int_equal(from, media_stream_port(c->s, MEDIA_SIDE_A) + (rtcp ? 1 : 0));
	assert_int_equal(got.len, plain.len);
	assert_memory_equal(got.b, plain.b, (size_t)plain.len);
}

/* The phone's RTP sent from socket `from` must reach the trunk, and the
 * trunk's next SRTP packet must come out on socket `to` (where side A's
 * media goes now: its SDP address or its latched source). */
static void round_trip_via(struct call *c, int from, int to)
{
	struct pkt plain, wire, got;
	mk_rtp(&plain, c->phone_seq, PHONE_SSRC, (uint8_t)c->phone_seq);
	c->phone_seq++;
	send_pkt(from, media_stream_port(c->s, MEDIA_SIDE_A), &plain);
	assert_true(recv_wait(c->trunk.rtp, &got, WAIT_MS, NULL));
	trunk_make(c, &plain, &wire, c->trunk_tx, &c->b_recv, false);
	send_pkt(c->trunk.rtp, media_stream_port(c->s, MEDIA_SIDE_B), &wire);
	assert_true(recv_wait(to, &got, WAIT_MS, NULL));
	assert_memory_equal(got.b, plain.b, (size_t)plain.len);
}

/* --- fixtures ------------------------------------------------------------ */

static int setup(void **state)
{
	counters_reset();
	base = event_base_new();
	assert_non_null(base);
	eng = media_engine_new(base);
	assert_non_null(eng);
	ra = media_engine_add_range(eng, "127.0.0.1", 40000, 40099, 0);
	rb = media_engine_add_range(eng, "127.0.0.1", 41000, 41099, 0);
	assert_true(ra >= 0 && rb >= 0);
	return 0;
}

static int teardown(void **state)
{
	media_engine_free(eng);
	event_base_free(base);
	eng = NULL;
	base = NULL;
	return 0;
}

/* --- tests --------------------------------------------------------------- */

static void test_plain_to_srtp(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	for (int i = 0; i < 5; i++) {
		phone_to_trunk(&c, false);
		trunk_to_phone(&c, false, false);
	}
	struct media_side_stats a = stats(c.s, MEDIA_SIDE_A), b = stats(c.s, MEDIA_SIDE_B);
	assert_int_equal(a.rtp_in, 5);
	assert_int_equal(a.rtp_out, 5);
	assert_int_equal(b.rtp_in, 5);
	assert_int_equal(b.rtp_out, 5);
	assert_int_equal(b.auth_failures + b.replays + b.wrong_source + b.no_destination, 0);
	assert_true(a.last_packet_ms > 0 && b.last_packet_ms > 0);
	assert_int_equal(media_engine_stream_count(eng), 1);
	call_close(&c);
	assert_int_equal(media_engine_stream_count(eng), 0);
}

/* More packets queued on one socket than a wake-up serves (4 batches of
 * 32): the relay sockets are edge-triggered, so the rest must be served
 * from the backlog on the next turn of the loop, not left until some new
 * packet happens to arrive. */
static void test_burst_beyond_one_turn(void **state)
{
	/* Over 128, and few enough for default socket buffers (~1 KiB of
	 * kernel memory a datagram) on both the relay's side and ours. */
	enum { BURST = 160 };
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	unsigned aport = media_stream_port(c.s, MEDIA_SIDE_A);
	for (int i = 0; i < BURST; i++) {
		struct pkt plain;
		mk_rtp(&plain, (uint16_t)(c.phone_seq++), PHONE_SSRC, (uint8_t)i);
		send_pkt(c.phone.rtp, aport, &plain);
	}
	int got = 0;
	struct pkt p;
	while (got < BURST && recv_wait(c.trunk.rtp, &p, WAIT_MS, NULL))
		got++;
	assert_int_equal(got, BURST);
	struct media_side_stats a = stats(c.s, MEDIA_SIDE_A), b = stats(c.s, MEDIA_SIDE_B);
	assert_int_equal(a.rtp_in, BURST);
	assert_int_equal(b.rtp_out, BURST);
	call_close(&c);
}

/* One batch (and more: the bursts exceed MEDIA_BATCH) mixing a peer's
 * packets with an attacker's from another port, all queued before the
 * relay reads any: every check still runs per packet. Toward the trunk, the
 * phone's 40 packets arrive in order and none of the 40 spoofed ones (same
 * SSRC and sequence numbers, other payload); toward the phone, a copy of
 * each valid SRTP packet sent from elsewhere just before it is refused as
 * the wrong source and does not use up the original's replay index. */
static void test_batch_mixed_sources(void **state)
{
	enum { BURST = 40 };
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	struct ep spoof;
	ep_open(&spoof);
	unsigned aport = media_stream_port(c.s, MEDIA_SIDE_A);
	unsigned bport = media_stream_port(c.s, MEDIA_SIDE_B);
	uint16_t seq0 = c.phone_seq;
	for (int i = 0; i < BURST; i++) {
		struct pkt p;
		mk_rtp(&p, (uint16_t)(seq0 + i), PHONE_SSRC, 0xAA);
		send_pkt(spoof.rtp, aport, &p);
		mk_rtp(&p, (uint16_t)(seq0 + i), PHONE_SSRC, (uint8_t)i);
		send_pkt(c.phone.rtp, aport, &p);
	}
	c.phone_seq = (uint16_t)(seq0 + BURST);
	for (int i = 0; i < BURST; i++) {
		struct pkt got, want;
		assert_true(recv_wait(c.trunk.rtp, &got, WAIT_MS, NULL));
		assert_int_equal(t_unprotect(c.trunk_rx, &c.b_send, &got, false), srtp_err_status_ok);
		mk_rtp(&want, (uint16_t)(seq0 + i), PHONE_SSRC, (uint8_t)i);
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.b, want.b, (size_t)want.len);
	}
	expect_nothing(c.trunk.rtp);
	struct media_side_stats a = stats(c.s, MEDIA_SIDE_A);
	assert_int_equal(a.rtp_in, BURST);
	assert_int_equal(a.source_refused, BURST);

	/* The trunk's first packet latches side B; then the burst. */
	trunk_to_phone(&c, false, false);
	struct pkt plain[BURST];
	for (int i = 0; i < BURST; i++) {
		struct pkt wire;
		trunk_make(&c, &plain[i], &wire, c.trunk_tx, &c.b_recv, false);
		send_pkt(spoof.rtp, bport, &wire);
		send_pkt(c.trunk.rtp, bport, &wire);
	}
	for (int i = 0; i < BURST; i++) {
		struct pkt got;
		assert_true(recv_wait(c.phone.rtp, &got, WAIT_MS, NULL));
		assert_int_equal(got.len, plain[i].len);
		assert_memory_equal(got.b, plain[i].b, (size_t)plain[i].len);
	}
	expect_nothing(c.phone.rtp);
	expect_nothing(spoof.rtp);
	struct media_side_stats b = stats(c.s, MEDIA_SIDE_B);
	assert_int_equal(b.rtp_in, BURST + 1);
	assert_int_equal(b.wrong_source, BURST);
	assert_int_equal(b.replays + b.auth_failures, 0);
	ep_close(&spoof);
	call_close(&c);
}

static void test_every_suite(void **state)
{
	for (int suite = 0; suite < PC_SRTP_SUITE__COUNT; suite++) {
		struct call c;
		call_open(&c, (enum pc_srtp_suite)suite, false);
		for (int i = 0; i < 3; i++) {
			phone_to_trunk(&c, false);
			trunk_to_phone(&c, false, false);
			phone_to_trunk(&c, true);
			trunk_to_phone(&c, true, false);
		}
		call_close(&c);
	}
}

static void test_mki(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	/* Re-key B with keys that carry a 4-byte MKI in both directions. */
	srtp_dealloc(c.trunk_tx);
	srtp_dealloc(c.trunk_rx);
	c.b_recv = fresh(PC_SRTP_AES_CM_128_HMAC_SHA1_80);
	c.b_recv.mki = 0x01020304;
	c.b_recv.mki_len = 4;
	c.b_send = fresh(PC_SRTP_AES_CM_128_HMAC_SHA1_80);
	c.b_send.mki = 7;
	c.b_send.mki_len = 2;
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &c.b_recv, &c.b_send), 0);
	c.trunk_tx = tctx(&c.b_recv, false);
	c.trunk_rx = tctx(&c.b_send, true);

	struct pkt plain, got;
	mk_rtp(&plain, 1, PHONE_SSRC, 9);
	send_pkt(c.phone.rtp, media_stream_port(c.s, MEDIA_SIDE_A), &plain);
	assert_true(recv_wait(c.trunk.rtp, &got, WAIT_MS, NULL));
	assert_int_equal(got.len, plain.len + 2 + 10); /* MKI, then the 80-bit tag */
	assert_int_equal(got.b[got.len - 12], 0);
	assert_int_equal(got.b[got.len - 11], 7);
	assert_int_equal(t_unprotect(c.trunk_rx, &c.b_send, &got, false), srtp_err_status_ok);
	assert_memory_equal(got.b, plain.b, (size_t)plain.len);
	trunk_to_phone(&c, false, false);
	trunk_to_phone(&c, true, false);

	/* An MKI value that does not fit its length is refused. */
	struct pc_srtp_params bad = fresh(PC_SRTP_AES_CM_128_HMAC_SHA1_80);
	bad.mki = 0x1ff;
	bad.mki_len = 1;
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &bad, NULL), -1);
	bad.mki_len = 5;
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &bad, NULL), -1);
	/* The failed calls changed nothing. */
	trunk_to_phone(&c, false, false);
	call_close(&c);
}

static void test_rtcp_and_mux(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	phone_to_trunk(&c, true);
	trunk_to_phone(&c, true, false);
	struct media_side_stats a = stats(c.s, MEDIA_SIDE_A), b = stats(c.s, MEDIA_SIDE_B);
	assert_int_equal(a.rtcp_in, 1);
	assert_int_equal(a.rtcp_out, 1);
	assert_int_equal(b.rtcp_in, 1);
	assert_int_equal(b.rtcp_out, 1);
	assert_int_equal(a.rtp_in + b.rtp_in, 0);
	call_close(&c);

	/* rtcp-mux on B: SRTCP travels on B's RTP port both ways, and is told
	 * apart from SRTP by its packet type. */
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, true);
	phone_to_trunk(&c, true);  /* arrives on the trunk's RTP socket */
	trunk_to_phone(&c, true, true);
	phone_to_trunk(&c, false);
	trunk_to_phone(&c, false, true);
	b = stats(c.s, MEDIA_SIDE_B);
	assert_int_equal(b.rtcp_in, 1);
	assert_int_equal(b.rtp_in, 1);
	assert_int_equal(b.rtcp_out, 1);
	assert_int_equal(b.rtp_out, 1);
	assert_int_equal(b.auth_failures, 0);
	expect_nothing(c.trunk.rtcp);
	call_close(&c);
}

static void test_tampered_dropped(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	struct pkt plain, wire;
	trunk_make(&c, &plain, &wire, c.trunk_tx, &c.b_recv, false);
	wire.b[20] ^= 0x01;
	send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &wire);
	expect_nothing(c.phone.rtp);
	struct media_side_stats a = stats(c.s, MEDIA_SIDE_A), b = stats(c.s, MEDIA_SIDE_B);
	assert_int_equal(b.auth_failures, 1);
	assert_int_equal(b.rtp_in, 0);
	assert_int_equal(a.rtp_out, 0);
	assert_int_equal(counter_get(CNT_MEDIA_AUTH_FAILED), 1);

	/* Tampered SRTCP too; then genuine traffic still flows. */
	trunk_make(&c, &plain, &wire, c.trunk_tx, &c.b_recv, true);
	wire.b[10] ^= 0x80;
	send_pkt(c.trunk.rtcp, media_stream_port(c.s, MEDIA_SIDE_B) + 1, &wire);
	expect_nothing(c.phone.rtcp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).auth_failures, 2);
	trunk_to_phone(&c, false, false);

	/* Plain RTP sent to a secure side is not SRTP: dropped. */
	/* (A sequence number ahead of the stream: one far behind would be
	 * refused by the replay check, which libsrtp runs before auth.) */
	mk_rtp(&plain, (uint16_t)(c.trunk_seq + 10), TRUNK_SSRC, 1);
	send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &plain);
	expect_nothing(c.phone.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).auth_failures, 3);
	call_close(&c);
}

/* The quality figures count only what passed a side's checks: a tampered
 * or plain packet on the secure side, or one from a source the plain
 * side's rule does not admit, carries a sequence number far ahead and
 * would show as a burst of loss if it were counted. */
static void test_quality_counts_only_checked_packets(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	for (int i = 0; i < 3; i++) {
		trunk_to_phone(&c, false, false);
		phone_to_trunk(&c, false);
	}
	struct pkt plain, wire;
	trunk_make(&c, &plain, &wire, c.trunk_tx, &c.b_recv, false);
	wire.b[20] ^= 0x01;
	send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &wire);
	mk_rtp(&plain, (uint16_t)(c.trunk_seq + 100), TRUNK_SSRC, 1);
	send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &plain);
	struct ep stranger;
	ep_open(&stranger);
	mk_rtp(&plain, (uint16_t)(c.phone_seq + 100), PHONE_SSRC, 1);
	send_pkt(stranger.rtp, media_stream_port(c.s, MEDIA_SIDE_A), &plain);
	pump(50);
	ep_close(&stranger);

	struct media_quality qa, qb;
	assert_int_equal(media_stream_quality(c.s, MEDIA_SIDE_A, &qa), 0);
	assert_int_equal(media_stream_quality(c.s, MEDIA_SIDE_B, &qb), 0);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).auth_failures, 2);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).source_refused, 1);
	assert_int_equal(qb.rx_packets, 3);
	assert_int_equal(qb.expected, 3);
	assert_int_equal(qb.lost, 0);
	assert_int_equal(qa.rx_packets, 3);
	assert_int_equal(qa.expected, 3);
	assert_int_equal(qa.lost, 0);
	/* what each side sent on, in packets and bytes */
	assert_int_equal(qa.tx_packets, 3);
	assert_int_equal(qb.tx_packets, 3);
	assert_true(qb.tx_bytes > qa.rx_bytes); /* protected toward the trunk: a tag more */
	assert_false(qa.has_mos); /* no codec told: no MOS */
	call_close(&c);
}

/* Found by the baresip test: an SRTP peer that sends before its answer
 * reached us must not get its packets forwarded raw (or its source
 * latched) while the side has no key yet. */
static void test_unkeyed_side_forwards_nothing(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AEAD_AES_128_GCM, false);
	media_stream_await_keys(c.s, MEDIA_SIDE_B);
	struct pkt plain, wire;
	trunk_make(&c, &plain, &wire, c.trunk_tx, &c.b_recv, false);
	send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &wire);
	expect_nothing(c.phone.rtp);
	assert_int_equal(counter_get(CNT_MEDIA_UNKEYED), 1);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).rtp_in, 0);
	/* Keyed (the answer arrived): the stream flows. */
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &c.b_recv, &c.b_send), 0);
	trunk_to_phone(&c, false, false);
	call_close(&c);
}

static void test_replay_dropped(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	struct pkt plain, wire, got;
	trunk_make(&c, &plain, &wire, c.trunk_tx, &c.b_recv, false);
	unsigned bport = media_stream_port(c.s, MEDIA_SIDE_B);
	send_pkt(c.trunk.rtp, bport, &wire);
	assert_true(recv_wait(c.phone.rtp, &got, WAIT_MS, NULL));
	send_pkt(c.trunk.rtp, bport, &wire);
	expect_nothing(c.phone.rtp);
	struct media_side_stats b = stats(c.s, MEDIA_SIDE_B);
	assert_int_equal(b.replays, 1);
	assert_int_equal(b.rtp_in, 1);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).rtp_out, 1);

	/* SRTCP replay as well. */
	trunk_make(&c, &plain, &wire, c.trunk_tx, &c.b_recv, true);
	send_pkt(c.trunk.rtcp, bport + 1, &wire);
	assert_true(recv_wait(c.phone.rtcp, &got, WAIT_MS, NULL));
	send_pkt(c.trunk.rtcp, bport + 1, &wire);
	expect_nothing(c.phone.rtcp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).replays, 2);
	call_close(&c);
}

static void test_latching(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	struct ep sdp_b, other;
	ep_open(&sdp_b);
	ep_open(&other);
	/* B's SDP names sdp_b; the trunk will really send from elsewhere. */
	struct sockaddr_storage sa = loopback4(sdp_b.rtp_port);
	assert_int_equal(media_stream_set_remote(c.s, MEDIA_SIDE_B, &sa, sdp_b.rtcp_port, false), 0);
	struct pkt plain, wire, got;
	unsigned aport = media_stream_port(c.s, MEDIA_SIDE_A), bport = media_stream_port(c.s, MEDIA_SIDE_B);

	/* Before latching, B-bound media goes to the SDP address. */
	mk_rtp(&plain, 1, PHONE_SSRC, 1);
	send_pkt(c.phone.rtp, aport, &plain);
	assert_true(recv_wait(sdp_b.rtp, &got, WAIT_MS, NULL));

	/* A forged packet from another source neither passes nor latches. */
	mk_rtp(&plain, 77, TRUNK_SSRC, 1);
	plain.len += 10;
	send_pkt(other.rtp, bport, &plain);
	expect_nothing(c.phone.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).auth_failures, 1);

	/* The trunk's authenticated packet latches B to the trunk. */
	trunk_to_phone(&c, false, false);
	mk_rtp(&plain, 2, PHONE_SSRC, 2);
	send_pkt(c.phone.rtp, aport, &plain);
	assert_true(recv_wait(c.trunk.rtp, &got, WAIT_MS, NULL));
	expect_nothing(sdp_b.rtp);

	/* A validly protected packet from another port: wrong source, and it
	 * must not consume its index either (the trunk's copy still works). */
	trunk_make(&c, &plain, &wire, c.trunk_tx, &c.b_recv, false);
	send_pkt(other.rtp, bport, &wire);
	expect_nothing(c.phone.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).wrong_source, 1);
	assert_int_equal(counter_get(CNT_MEDIA_WRONG_SOURCE), 1);
	send_pkt(c.trunk.rtp, bport, &wire);
	assert_true(recv_wait(c.phone.rtp, &got, WAIT_MS, NULL));
	assert_memory_equal(got.b, plain.b, (size_t)plain.len);

	/* RTCP latches separately: the first SRTCP from the trunk is fine. */
	trunk_to_phone(&c, true, false);

	call_close(&c);

	/* Plain side A (strict, the default): only the SDP's address and port
	 * are the phone. Another source neither crosses nor latches, before
	 * the answer or in the latch window after it (RTP bleed). */
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	aport = media_stream_port(c.s, MEDIA_SIDE_A);
	bport = media_stream_port(c.s, MEDIA_SIDE_B);
	mk_rtp(&plain, 3, PHONE_SSRC, 3);
	send_pkt(other.rtp, aport, &plain);
	expect_nothing(c.trunk.rtp);
	media_stream_answered(c.s);
	send_pkt(other.rtp, aport, &plain);
	send_pkt(other.rtcp, aport + 1, &plain);
	expect_nothing(c.trunk.rtp);
	expect_nothing(c.trunk.rtcp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).source_refused, 3);
	assert_int_equal(counter_get(CNT_MEDIA_SOURCE_REFUSED), 3);
	/* The trunk's media goes to the phone's SDP address only. */
	trunk_to_phone(&c, false, false);
	expect_nothing(other.rtp);
	phone_to_trunk(&c, false);
	phone_to_trunk(&c, true);

	/* A new SDP address for A (the peer moved): that address is the phone
	 * now, and the old one is refused. */
	sa = loopback4(other.rtp_port);
	assert_int_equal(media_stream_set_remote(c.s, MEDIA_SIDE_A, &sa, other.rtcp_port, false), 0);
	round_trip_via(&c, other.rtp, other.rtp);
	mk_rtp(&plain, 5, PHONE_SSRC, 5);
	send_pkt(c.phone.rtp, aport, &plain);
	expect_nothing(c.trunk.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).source_refused, 4);

	ep_close(&sdp_b);
	ep_close(&other);
	call_close(&c);
}

static struct sockaddr_storage lo_ip(const char *ip, unsigned port)
{
	struct sockaddr_storage ss = loopback4(port);
	assert_int_equal(inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr), 1);
	return ss;
}

/* The looser rules for phones behind NAT: `sdp` (the SDP's address, any
 * port) and `signalling-ip` (the SIP peer's address, any port). A source
 * they admit crosses, but latches only in the window after the answer and
 * re-latches only under the same rule; when the window has closed the
 * latched source is the only one. A source the rule does not admit never
 * crosses. */
static void test_nat_source_rules(void **state)
{
	media_engine_set_latch_window_ms(eng, 300);
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	struct ep nat; /* where the phone really sends from; its SDP names c.phone */
	ep_open(&nat);
	unsigned aport = media_stream_port(c.s, MEDIA_SIDE_A);
	struct pkt plain;
	assert_int_equal(media_stream_set_source(c.s, MEDIA_SIDE_A, MEDIA_SOURCE_SDP, NULL), 0);

	/* Before the answer: the NAT port crosses but does not latch. */
	round_trip_via(&c, nat.rtp, c.phone.rtp);
	expect_nothing(nat.rtp);

	/* Answered: it latches, and the trunk's media follows it. */
	media_stream_answered(c.s);
	round_trip_via(&c, nat.rtp, nat.rtp);
	expect_nothing(c.phone.rtp);
	/* Within the window another admitted source re-latches. */
	phone_to_trunk(&c, false);
	trunk_to_phone(&c, false, false);
	/* After it, the latched source is the only one. */
	pump(350);
	mk_rtp(&plain, 3, PHONE_SSRC, 3);
	send_pkt(nat.rtp, aport, &plain);
	expect_nothing(c.trunk.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).wrong_source, 1);
	trunk_to_phone(&c, false, false);

	/* An SDP address elsewhere: 127.0.0.1 is not the phone, and the latch
	 * the rule no longer admits is dropped (media goes to the SDP). */
	struct sockaddr_storage far = lo_ip("127.0.0.2", c.phone.rtp_port);
	assert_int_equal(media_stream_set_remote(c.s, MEDIA_SIDE_A, &far, 0, false), 0);
	mk_rtp(&plain, 4, PHONE_SSRC, 4);
	send_pkt(c.phone.rtp, aport, &plain);
	expect_nothing(c.trunk.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).source_refused, 1);

	/* signalling-ip: the SIP peer's address, whatever the SDP says. */
	struct sockaddr_storage sig = lo_ip("127.0.0.2", 5060);
	assert_int_equal(media_stream_set_source(c.s, MEDIA_SIDE_A, MEDIA_SOURCE_SIGNALLING_IP, &sig), 0);
	send_pkt(nat.rtp, aport, &plain);
	expect_nothing(c.trunk.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).source_refused, 2);
	sig = loopback4(5060);
	assert_int_equal(media_stream_set_source(c.s, MEDIA_SIDE_A, MEDIA_SOURCE_SIGNALLING_IP, &sig), 0);
	media_stream_answered(c.s);
	round_trip_via(&c, nat.rtp, nat.rtp);
	/* ... and no signalling peer known: nobody. */
	assert_int_equal(media_stream_set_source(c.s, MEDIA_SIDE_A, MEDIA_SOURCE_SIGNALLING_IP, NULL), 0);
	send_pkt(nat.rtp, aport, &plain);
	expect_nothing(c.trunk.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).source_refused, 3);
	assert_int_equal(media_stream_set_source(c.s, MEDIA_SIDE_A, (enum media_source)7, NULL), -1);

	ep_close(&nat);
	call_close(&c);
}

/* A secure side latches only to a source whose packet authenticated: a
 * forged packet sent first, even inside the latch window, takes nothing. */
static void test_secure_latch_needs_auth(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AEAD_AES_128_GCM, false);
	media_stream_answered(c.s);
	struct ep other;
	ep_open(&other);
	unsigned bport = media_stream_port(c.s, MEDIA_SIDE_B);
	struct pkt plain;
	mk_rtp(&plain, 9, TRUNK_SSRC, 9);
	plain.len += 16;
	send_pkt(other.rtp, bport, &plain);
	expect_nothing(c.phone.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).auth_failures, 1);
	/* Not latched to `other`: the phone's media still goes to the trunk. */
	phone_to_trunk(&c, false);
	trunk_to_phone(&c, false, false);
	ep_close(&other);
	call_close(&c);
}

/* Issue 8 item 2: plain media toward a side that will be secure but has no
 * send key yet (ringing on a call from an SRTP trunk) would leave in clear:
 * nothing crosses, RTP or RTCP, until the side is keyed. */
static void test_nothing_toward_unkeyed_side(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	media_stream_await_keys(c.s, MEDIA_SIDE_B);
	unsigned aport = media_stream_port(c.s, MEDIA_SIDE_A);
	struct pkt plain;
	mk_rtp(&plain, 1, PHONE_SSRC, 1);
	send_pkt(c.phone.rtp, aport, &plain);
	mk_rtcp(&plain, PHONE_SSRC, 1);
	send_pkt(c.phone.rtcp, aport + 1, &plain);
	expect_nothing(c.trunk.rtp);
	expect_nothing(c.trunk.rtcp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).toward_unkeyed, 2);
	assert_int_equal(counter_get(CNT_MEDIA_TOWARD_UNKEYED), 2);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).rtp_out + stats(c.s, MEDIA_SIDE_B).rtcp_out, 0);
	/* Keyed: it flows, protected. */
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &c.b_recv, &c.b_send), 0);
	phone_to_trunk(&c, false);
	phone_to_trunk(&c, true);
	call_close(&c);
}

/* libsrtp allocates per SSRC: the relay bounds how many a context takes. */
static void test_ssrc_limit(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	unsigned aport = media_stream_port(c.s, MEDIA_SIDE_A), bport = media_stream_port(c.s, MEDIA_SIDE_B);
	struct pkt plain, wire, got;
	for (uint32_t i = 0; i < 33; i++) {
		mk_rtp(&plain, 1, 0x1000 + i, 1);
		send_pkt(c.phone.rtp, aport, &plain);
		if (i < 32)
			assert_true(recv_wait(c.trunk.rtp, &got, WAIT_MS, NULL));
		else
			expect_nothing(c.trunk.rtp);
	}
	assert_int_equal(counter_get(CNT_MEDIA_SSRC_LIMIT), 1);
	for (uint32_t i = 0; i < 33; i++) {
		mk_rtp(&plain, 1, 0x2000 + i, 1);
		wire = plain;
		assert_int_equal(srtp_protect(c.trunk_tx, wire.b, &wire.len), srtp_err_status_ok);
		send_pkt(c.trunk.rtp, bport, &wire);
		if (i < 32)
			assert_true(recv_wait(c.phone.rtp, &got, WAIT_MS, NULL));
		else
			expect_nothing(c.phone.rtp);
	}
	assert_int_equal(counter_get(CNT_MEDIA_SSRC_LIMIT), 2);
	/* Known SSRCs still pass. */
	mk_rtp(&plain, 2, 0x2000, 1);
	assert_int_equal(srtp_protect(c.trunk_tx, plain.b, &plain.len), srtp_err_status_ok);
	send_pkt(c.trunk.rtp, bport, &plain);
	assert_true(recv_wait(c.phone.rtp, &got, WAIT_MS, NULL));
	call_close(&c);
}

static void test_no_destination(void **state)
{
	struct media_stream *s = media_stream_new(eng, ra, rb);
	assert_non_null(s);
	struct ep phone;
	ep_open(&phone);
	struct pkt p;
	mk_rtp(&p, 1, PHONE_SSRC, 1);
	/* A plain side with no SDP address yet knows no peer: refused. */
	send_pkt(phone.rtp, media_stream_port(s, MEDIA_SIDE_A), &p);
	pump(QUIET_MS);
	assert_int_equal(stats(s, MEDIA_SIDE_A).source_refused, 1);
	struct sockaddr_storage pa = loopback4(phone.rtp_port);
	assert_int_equal(media_stream_set_remote(s, MEDIA_SIDE_A, &pa, phone.rtcp_port, false), 0);
	send_pkt(phone.rtp, media_stream_port(s, MEDIA_SIDE_A), &p);
	pump(QUIET_MS);
	struct media_side_stats a = stats(s, MEDIA_SIDE_A);
	assert_int_equal(a.rtp_in, 1);
	assert_int_equal(a.no_destination, 1);
	/* Junk that is not RTP version 2 is dropped before anything else. */
	memset(p.b, 0xff, 40);
	p.len = 40;
	send_pkt(phone.rtp, media_stream_port(s, MEDIA_SIDE_A), &p);
	pump(QUIET_MS);
	assert_int_equal(stats(s, MEDIA_SIDE_A).rtp_in, 1);
	assert_int_equal(counter_get(CNT_MEDIA_MALFORMED), 1);
	/* Wrong family and port 0 are refused. */
	struct sockaddr_storage v6;
	memset(&v6, 0, sizeof(v6));
	v6.ss_family = AF_INET6;
	((struct sockaddr_in6 *)&v6)->sin6_port = htons(4000);
	assert_int_equal(media_stream_set_remote(s, MEDIA_SIDE_A, &v6, 0, false), -1);
	struct sockaddr_storage zero = loopback4(0);
	assert_int_equal(media_stream_set_remote(s, MEDIA_SIDE_A, &zero, 0, false), -1);
	ep_close(&phone);
	media_stream_free(s);
}

static void test_srtp_to_srtp(void **state)
{
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	/* Side A secure too, with a different suite and its own keys. */
	struct pc_srtp_params a_recv = fresh(PC_SRTP_AEAD_AES_128_GCM), a_send = fresh(PC_SRTP_AEAD_AES_128_GCM);
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_A, &a_recv, &a_send), 0);
	srtp_t phone_tx = tctx(&a_recv, false), phone_rx = tctx(&a_send, true);
	srtp_t in_key_rx = tctx(&a_recv, true); /* would verify the phone's own protection */
	srtp_t b_in_key_rx = tctx(&c.b_recv, true);

	for (uint16_t seq = 1; seq <= 3; seq++) {
		struct pkt plain, wire, got;
		mk_rtp(&plain, seq, PHONE_SSRC, (uint8_t)seq);
		wire = plain;
		assert_int_equal(srtp_protect(phone_tx, wire.b, &wire.len), srtp_err_status_ok);
		send_pkt(c.phone.rtp, media_stream_port(c.s, MEDIA_SIDE_A), &wire);
		assert_true(recv_wait(c.trunk.rtp, &got, WAIT_MS, NULL));
		assert_int_equal(got.len, plain.len + 10); /* re-protected for B's suite */
		struct pkt copy = got;
		assert_int_not_equal(srtp_unprotect(in_key_rx, copy.b, &copy.len), srtp_err_status_ok);
		assert_int_equal(srtp_unprotect(c.trunk_rx, got.b, &got.len), srtp_err_status_ok);
		assert_memory_equal(got.b, plain.b, (size_t)plain.len);

		trunk_make(&c, &plain, &wire, c.trunk_tx, &c.b_recv, false);
		send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &wire);
		assert_true(recv_wait(c.phone.rtp, &got, WAIT_MS, NULL));
		assert_int_equal(got.len, plain.len + 16); /* GCM tag */
		copy = got;
		assert_int_not_equal(srtp_unprotect(b_in_key_rx, copy.b, &copy.len), srtp_err_status_ok);
		assert_int_equal(srtp_unprotect(phone_rx, got.b, &got.len), srtp_err_status_ok);
		assert_memory_equal(got.b, plain.b, (size_t)plain.len);
	}
	/* An unauthenticated packet on the secure A side is dropped too. */
	struct pkt plain;
	mk_rtp(&plain, 50, PHONE_SSRC, 50);
	plain.len += 16;
	send_pkt(c.phone.rtp, media_stream_port(c.s, MEDIA_SIDE_A), &plain);
	expect_nothing(c.trunk.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_A).auth_failures, 1);

	srtp_dealloc(phone_tx);
	srtp_dealloc(phone_rx);
	srtp_dealloc(in_key_rx);
	srtp_dealloc(b_in_key_rx);
	call_close(&c);
}

static void test_rekey(void **state)
{
	media_engine_set_rekey_grace_ms(eng, 300);
	struct call c;
	call_open(&c, PC_SRTP_AES_CM_128_HMAC_SHA1_80, false);
	trunk_to_phone(&c, false, false);
	phone_to_trunk(&c, false);

	/* New receive key for B, same send key. */
	struct pc_srtp_params k2 = fresh(PC_SRTP_AES_CM_128_HMAC_SHA1_80);
	struct pc_srtp_params k1 = c.b_recv;
	srtp_t tx1 = c.trunk_tx, tx2 = tctx(&k2, false);
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &k2, &c.b_send), 0);
	/* The unchanged send key kept its context: the trunk's verifier goes on. */
	phone_to_trunk(&c, false);

	/* In flight under the old key: accepted during the grace. */
	trunk_to_phone(&c, false, false); /* c.trunk_tx is still tx1 */
	trunk_to_phone(&c, true, false);
	c.trunk_tx = tx2;
	c.b_recv = k2;
	trunk_to_phone(&c, false, false);
	trunk_to_phone(&c, true, false);
	/* Old key once more while still in grace. */
	c.trunk_tx = tx1;
	c.b_recv = k1;
	trunk_to_phone(&c, false, false);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).auth_failures, 0);

	/* After the grace the old key is dead. */
	pump(400);
	struct pkt plain, wire;
	trunk_make(&c, &plain, &wire, tx1, &k1, false);
	send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &wire);
	expect_nothing(c.phone.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).auth_failures, 1);
	/* ... and cannot come back: a new context under k1 would start a fresh
	 * replay window, and the packet recorded under it would pass again. */
	assert_true(media_stream_key_retired(c.s, MEDIA_SIDE_B, &k1));
	assert_false(media_stream_key_retired(c.s, MEDIA_SIDE_B, &k2));
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &k1, &c.b_send), -1);
	send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &wire);
	expect_nothing(c.phone.rtp);
	c.trunk_tx = tx2;
	c.b_recv = k2;
	trunk_to_phone(&c, false, false);

	/* Offering the same key again keeps its replay state: an old packet
	 * under k2 is still a replay, not a fresh start. */
	trunk_make(&c, &plain, &wire, tx2, &k2, false);
	send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &wire);
	struct pkt got;
	assert_true(recv_wait(c.phone.rtp, &got, WAIT_MS, NULL));
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &k2, &c.b_send), 0);
	send_pkt(c.trunk.rtp, media_stream_port(c.s, MEDIA_SIDE_B), &wire);
	expect_nothing(c.phone.rtp);
	assert_int_equal(stats(c.s, MEDIA_SIDE_B).replays, 1);

	/* A new send key takes effect at once; the old one no longer verifies. */
	struct pc_srtp_params s2 = fresh(PC_SRTP_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &k2, &s2), 0);
	mk_rtp(&plain, c.phone_seq++, PHONE_SSRC, 1);
	send_pkt(c.phone.rtp, media_stream_port(c.s, MEDIA_SIDE_A), &plain);
	assert_true(recv_wait(c.trunk.rtp, &got, WAIT_MS, NULL));
	struct pkt copy = got;
	assert_int_not_equal(srtp_unprotect(c.trunk_rx, copy.b, &copy.len), srtp_err_status_ok);
	srtp_t rx2 = tctx(&s2, true);
	assert_int_equal(srtp_unprotect(rx2, got.b, &got.len), srtp_err_status_ok);
	assert_memory_equal(got.b, plain.b, (size_t)plain.len);

	/* Turning B plain drops its keys at once: SRTP is then just bytes,
	 * and the phone gets them unverified by design of the signalling. */
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, NULL, NULL), 0);
	mk_rtp(&plain, c.phone_seq++, PHONE_SSRC, 2);
	send_pkt(c.phone.rtp, media_stream_port(c.s, MEDIA_SIDE_A), &plain);
	assert_true(recv_wait(c.trunk.rtp, &got, WAIT_MS, NULL));
	assert_int_equal(got.len, plain.len);
	assert_memory_equal(got.b, plain.b, (size_t)plain.len);
	/* The key it had is retired with it. */
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &k2, &s2), -1);
	assert_int_equal(media_stream_set_crypto(c.s, MEDIA_SIDE_B, &s2, &k2), 0);

	srtp_dealloc(tx1);
	c.trunk_tx = tx2;
	srtp_dealloc(rx2);
	call_close(&c);
}

static void test_ports(void **state)
{
	int fds_before = count_fds();
	struct media_engine *pe = media_engine_new(base);
	assert_non_null(pe);
	/* 42001..42009: pairs start at the even 42002, four pairs. */
	int r0 = media_engine_add_range(pe, "127.0.0.1", 42001, 42009, 200);
	int r1 = media_engine_add_range(pe, "127.0.0.1", 43000, 43007, 200);
	assert_int_equal(r0, 0);
	assert_int_equal(r1, 1);
	assert_int_equal(media_engine_free_pairs(pe, r0), 4);
	assert_int_equal(media_engine_add_range(pe, "127.0.0.1", 44001, 44001, 0), -1);
	assert_int_equal(media_engine_add_range(pe, "not-an-address", 44000, 44010, 0), -1);

	struct media_stream *s[4];
	unsigned seen = 0;
	for (int i = 0; i < 4; i++) {
		s[i] = media_stream_new(pe, r0, r1);
		assert_non_null(s[i]);
		unsigned pa = media_stream_port(s[i], MEDIA_SIDE_A);
		unsigned pb = media_stream_port(s[i], MEDIA_SIDE_B);
		assert_true(pa >= 42002 && pa <= 42008 && pa % 2 == 0);
		assert_true(pb >= 43000 && pb <= 43006 && pb % 2 == 0);
		seen |= 1u << ((pa - 42002) / 2);
	}
	assert_int_equal(seen, 0xf);
	assert_int_equal(media_engine_free_pairs(pe, r0), 0);
	assert_int_equal(media_engine_stream_count(pe), 4);
	assert_null(media_stream_new(pe, r0, r1));
	assert_null(media_stream_new(pe, r0, r1));
	assert_int_equal(counter_get(CNT_MEDIA_PORTS_EXHAUSTED), 2);
	assert_null(media_stream_new(pe, 0, 7));

	/* A released pair sits in quarantine before reuse. */
	unsigned freed = media_stream_port(s[2], MEDIA_SIDE_A);
	media_stream_free(s[2]);
	assert_int_equal(media_engine_free_pairs(pe, r0), 0);
	assert_null(media_stream_new(pe, r0, r1));
	pump(250);
	assert_int_equal(media_engine_free_pairs(pe, r0), 1);
	s[2] = media_stream_new(pe, r0, r1);
	assert_non_null(s[2]);
	assert_int_equal(media_stream_port(s[2], MEDIA_SIDE_A), freed);

	/* B exhausted while A is not: A's pair goes straight back. */
	int r2 = media_engine_add_range(pe, "127.0.0.1", 45000, 45001, 0);
	int r3 = media_engine_add_range(pe, "127.0.0.1", 46000, 46001, 0);
	struct media_stream *t = media_stream_new(pe, r2, r3);
	assert_non_null(t);
	media_stream_free(t);
	assert_int_equal(media_engine_free_pairs(pe, r2), 1);
	t = media_stream_new(pe, r3, r3); /* needs two pairs, has one */
	assert_null(t);
	assert_int_equal(media_engine_free_pairs(pe, r3), 1);

	for (int i = 0; i < 4; i++)
		media_stream_free(s[i]);
	assert_int_equal(media_engine_stream_count(pe), 0);
	pump(250);
	assert_int_equal(media_engine_free_pairs(pe, r0), 4);
	assert_int_equal(media_engine_free_pairs(pe, r1), 4);

	/* Quarantine 0: immediate reuse. */
	struct media_stream *u = media_stream_new(eng, ra, rb);
	unsigned up = media_stream_port(u, MEDIA_SIDE_A);
	unsigned before = media_engine_free_pairs(eng, ra);
	media_stream_free(u);
	assert_int_equal(media_engine_free_pairs(eng, ra), before + 1);
	(void)up;

	/* Streams still open when the engine goes are freed with it. */
	assert_non_null(media_stream_new(pe, r0, r1));
	media_engine_free(pe);
	assert_int_equal(count_fds(), fds_before);
}

/* Relay ports are drawn at random from the free set: successive calls do
 * not get neighbouring ports and a fresh range does not start at its first
 * port (the old FIFO handed out 50000, 50002, 50004, ...). Pairs some other
 * process holds are skipped, each at most once per draw. */
static void test_ports_unpredictable(void **state)
{
	struct media_engine *pe = media_engine_new(base);
	assert_non_null(pe);
	int r0 = media_engine_add_range(pe, "127.0.0.1", 50000, 50999, 0);
	int r1 = media_engine_add_range(pe, "127.0.0.1", 51000, 51999, 0);
	struct media_stream *s[20];
	unsigned neighbours = 0, prev = 0;
	for (int i = 0; i < 20; i++) {
		s[i] = media_stream_new(pe, r0, r1);
		assert_non_null(s[i]);
		unsigned p = media_stream_port(s[i], MEDIA_SIDE_A);
		if (i > 0 && (p == prev + 2 || p + 2 == prev))
			neighbours++;
		prev = p;
	}
	assert_true(neighbours <= 3);
	for (int i = 0; i < 20; i++)
		media_stream_free(s[i]);
	media_engine_free(pe);

	/* The first draw of a fresh range: many different ports. */
	unsigned first[24], distinct = 0;
	for (int i = 0; i < 24; i++) {
		pe = media_engine_new(base);
		r0 = media_engine_add_range(pe, "127.0.0.1", 50000, 50999, 0);
		r1 = media_engine_add_range(pe, "127.0.0.1", 51000, 51999, 0);
		struct media_stream *t = media_stream_new(pe, r0, r1);
		assert_non_null(t);
		first[i] = media_stream_port(t, MEDIA_SIDE_A);
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen |= first[j] == first[i];
		distinct += !seen;
		media_engine_free(pe);
	}
	assert_true(distinct >= 16);

	/* Three of four pairs held by someone else: the fourth is found, the
	 * busy ones stay free for later, and a fifth stream is refused. */
	pe = media_engine_new(base);
	r0 = media_engine_add_range(pe, "127.0.0.1", 52000, 52007, 0);
	r1 = media_engine_add_range(pe, "127.0.0.1", 53000, 53099, 0);
	int busy[3];
	for (int i = 0; i < 3; i++) {
		busy[i] = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_storage sa = loopback4(52002 + 2 * (unsigned)i);
		assert_int_equal(bind(busy[i], (struct sockaddr *)&sa, sizeof(struct sockaddr_in)), 0);
	}
	struct media_stream *t = media_stream_new(pe, r0, r1);
	assert_non_null(t);
	assert_int_equal(media_stream_port(t, MEDIA_SIDE_A), 52000);
	assert_int_equal(media_engine_free_pairs(pe, r0), 3);
	assert_null(media_stream_new(pe, r0, r1));
	close(busy[1]);
	struct media_stream *u = media_stream_new(pe, r0, r1);
	assert_non_null(u);
	assert_int_equal(media_stream_port(u, MEDIA_SIDE_A), 52004);
	close(busy[0]);
	close(busy[2]);
	media_engine_free(pe);
}

static void test_keys_fresh(void **state)
{
	static const size_t want[PC_SRTP_SUITE__COUNT] = { 30, 30, 46, 28, 44 };
	for (int suite = 0; suite < PC_SRTP_SUITE__COUNT; suite++) {
		struct pc_srtp_params a, b;
		memset(&a, 0xaa, sizeof(a));
		assert_int_equal(media_keys_fresh((enum pc_srtp_suite)suite, &a), 0);
		assert_int_equal(media_keys_fresh((enum pc_srtp_suite)suite, &b), 0);
		assert_int_equal(a.suite, suite);
		assert_int_equal(a.key_salt_len, want[suite]);
		assert_int_equal(a.mki_len, 0);
		assert_int_equal(a.lifetime, 0);
		assert_memory_not_equal(a.key_salt, b.key_salt, a.key_salt_len);
		assert_false(pc_srtp_params_equal(&a, &b));
		for (size_t i = a.key_salt_len; i < sizeof(a.key_salt); i++)
			assert_int_equal(a.key_salt[i], 0);
	}
	struct pc_srtp_params x;
	assert_int_equal(media_keys_fresh(PC_SRTP_SUITE__COUNT, &x), -1);
	assert_int_equal(media_keys_fresh(PC_SRTP_AEAD_AES_128_GCM, NULL), -1);
}

static void test_bad_params(void **state)
{
	struct media_stream *s = media_stream_new(eng, ra, rb);
	struct pc_srtp_params k = fresh(PC_SRTP_AES_CM_128_HMAC_SHA1_80);
	k.key_salt_len = 28;
	assert_int_equal(media_stream_set_crypto(s, MEDIA_SIDE_A, &k, NULL), -1);
	assert_int_equal(media_stream_set_crypto(s, MEDIA_SIDE_A, NULL, &k), -1);
	k.key_salt_len = 30;
	k.suite = PC_SRTP_SUITE__COUNT;
	assert_int_equal(media_stream_set_crypto(s, MEDIA_SIDE_A, &k, NULL), -1);
	assert_int_equal(media_stream_set_crypto(s, (enum media_side)2, NULL, NULL), -1);
	media_stream_free(s);
	assert_null(media_engine_new(NULL));
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	/* The relay has its own SRTP; libsrtp2 is only the test's peer. */
	if (srtp_init() != srtp_err_status_ok)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_to_srtp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_suite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_beyond_one_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_mixed_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mki, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtcp_and_mux, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quality_counts_only_checked_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unkeyed_side_forwards_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_destination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nat_source_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secure_latch_needs_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_toward_unkeyed_side, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssrc_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srtp_to_srtp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_unpredictable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_params, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
