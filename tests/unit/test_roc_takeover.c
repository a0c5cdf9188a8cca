/* A call taken over past an SRTP rollover (cluster mode, issue 12): each
 * context's ROC and highest sequence number, recorded when its ROC moves
 * (msrtp_take_wrapped, as the relay does), sealed and opened as the call
 * record (cluster/call_codec.c), must let a new context on the adopting
 * node (msrtp_seed) carry on where the failed node's was, with libsrtp2
 * as the peer that never failed: it keeps sending, and keeps receiving,
 * 49,000 packets past the record. Without the ROC the first packet after
 * the takeover must fail, which shows the test can fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "cluster/call_codec.h"
#include "libsrtp_ref.h"
#include "media/srtp.h"

#define SSRC 0x5eed0001u
/* Past one wrap, and then far into the next cycle (more than half of it
 * after the record, so an estimate around the recorded number alone
 * would pick the wrong ROC). */
#define SENT_BEFORE (0x1c000u - 7u)
#define LOST 40u /* packets that went to the dead node */

struct pkt {
	_Alignas(16) uint8_t b[512];
	size_t len;
};

static const uint8_t key_cluster[CL_CALL_KEY_LEN] = { 7, 7, 7 };

static void mk_rtp(struct pkt *p, uint32_t index)
{
	uint16_t seq = (uint16_t)index;
	memset(p->b, 0, sizeof(p->b));
	p->b[0] = 0x80;
	p->b[2] = (uint8_t)(seq >> 8);
	p->b[3] = (uint8_t)seq;
	p->b[8] = SSRC >> 24;
	p->b[9] = (uint8_t)(SSRC >> 16);
	p->b[10] = (uint8_t)(SSRC >> 8);
	p->b[11] = (uint8_t)SSRC;
	for (int i = 0; i < 160; i++)
		p->b[12 + i] = (uint8_t)(index + (uint32_t)i);
	p->len = 172;
}

static struct pc_srtp_params key_for(enum pc_srtp_suite s, uint8_t seed)
{
	struct pc_srtp_params p;
	memset(&p, 0, sizeof(p));
	p.suite = s;
	p.key_salt_len = pc_srtp_suite_key_salt_len(s);
	for (size_t i = 0; i < p.key_salt_len; i++)
		p.key_salt[i] = (uint8_t)(seed * 13u + i);
	return p;
}

/* The smallest record that opens, with side B's keys and indices. */
static void record(struct pc_call_state *s, const struct pc_srtp_params *k, uint64_t recv_top,
		   uint64_t send_top)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "0123456789abcdef");
	for (int i = 0; i < 2; i++) {
		struct pc_cs_leg *l = &s->legs[i];
		struct sockaddr_in *a = (void *)&l->peer;
		a->sin_family = AF_INET;
		a->sin_port = htons(5060);
		snprintf(l->cfg_leg, sizeof(l->cfg_leg), "leg%d", i);
		snprintf(l->call_id, sizeof(l->call_id), "c%d", i);
		snprintf(l->local_tag, sizeof(l->local_tag), "l%d", i);
		snprintf(l->remote_tag, sizeof(l->remote_tag), "r%d", i);
		snprintf(l->local_uri, sizeof(l->local_uri), "sip:a@b");
		snprintf(l->remote_uri, sizeof(l->remote_uri), "sip:c@d");
	}
	s->n_streams = 1;
	for (int k2 = 0; k2 < 2; k2++)
		s->streams[0].side[k2].relay_port = (uint16_t)(40000 + 2 * k2);
	struct pc_cs_side *d = &s->streams[0].side[1];
	d->has_recv = d->has_send = true;
	d->recv = d->send = *k;
	d->recv_roc = (uint32_t)(recv_top >> 16);
	d->recv_seq = (uint16_t)recv_top;
	d->send_roc = (uint32_t)(send_top >> 16);
	d->send_seq = (uint16_t)send_top;
}

/* Through Redis as the other node reads it: sealed, then opened. */
static void through_redis(const struct pc_call_state *s, struct pc_call_state *out)
{
	static uint8_t v[CL_CALL_SEALED_MAX];
	uint64_t at;
	int n = cl_call_seal(key_cluster, "A", 1780000000, s, v, sizeof(v));
	assert_true(n > 0);
	assert_int_equal(cl_call_open(key_cluster, "A", s->id, v, (size_t)n, out, &at), 0);
}

static void takeover(enum pc_srtp_suite suite)
{
	struct pc_srtp_params k = key_for(suite, 3);
	struct msrtp *rx = msrtp_new(&k, true), *tx = msrtp_new(&k, false);
	srtp_t peer_tx = libsrtp_ref_new(&k, false, false), peer_rx = libsrtp_ref_new(&k, true, false);
	assert_non_null(rx);
	assert_non_null(tx);
	assert_non_null(peer_tx);
	assert_non_null(peer_rx);
	uint64_t recv_top = 0, send_top = 0;
	unsigned recv_wraps = 0, send_wraps = 0;
	struct pkt p;
	/* The call on the node that fails: the record is written when a
	 * ROC moves (the relay asks msrtp_take_wrapped after each packet). */
	for (uint32_t i = 0; i < SENT_BEFORE; i++) {
		mk_rtp(&p, i);
		int n = (int)p.len;
		assert_int_equal(srtp_protect(peer_tx, p.b, &n), srtp_err_status_ok);
		p.len = (size_t)n;
		assert_int_equal(msrtp_unprotect(rx, p.b, &p.len, false), MSRTP_OK);
		if (msrtp_take_wrapped(rx)) {
			recv_top = msrtp_top(rx);
			recv_wraps++;
		}
		mk_rtp(&p, i);
		assert_int_equal(msrtp_protect(tx, p.b, &p.len, sizeof(p.b), false), MSRTP_OK);
		if (msrtp_take_wrapped(tx)) {
			send_top = msrtp_top(tx);
			send_wraps++;
		}
		n = (int)p.len;
		assert_int_equal(srtp_unprotect(peer_rx, p.b, &n), srtp_err_status_ok);
	}
	assert_int_equal(recv_wraps, 1); /* once per 65,536 packets, not per packet */
	assert_int_equal(send_wraps, 1);
	assert_int_equal(recv_top >> 16, 1);
	assert_int_equal(send_top >> 16, 1);

	struct pc_call_state s, got;
	record(&s, &k, recv_top, send_top);
	through_redis(&s, &got);
	const struct pc_cs_side *d = &got.streams[0].side[1];
	assert_int_equal(d->recv_roc, 1);
	assert_int_equal(d->send_roc, 1);

	/* The adopting node: its contexts from the record. */
	struct msrtp *rx2 = msrtp_new(&d->recv, true), *tx2 = msrtp_new(&d->send, false);
	struct msrtp *rx_bare = msrtp_new(&d->recv, true), *tx_bare = msrtp_new(&d->send, false);
	msrtp_seed(rx2, (uint64_t)d->recv_roc << 16 | d->recv_seq);
	msrtp_seed(tx2, (uint64_t)d->send_roc << 16 | d->send_seq);
	for (uint32_t i = SENT_BEFORE; i < SENT_BEFORE + LOST; i++) { /* to the dead node */
		mk_rtp(&p, i);
		int n = (int)p.len;
		assert_int_equal(srtp_protect(peer_tx, p.b, &n), srtp_err_status_ok);
	}
	uint32_t next = SENT_BEFORE + LOST;
	struct pkt plain, q;
	mk_rtp(&plain, next);
	p = plain;
	int n = (int)p.len;
	assert_int_equal(srtp_protect(peer_tx, p.b, &n), srtp_err_status_ok);
	p.len = (size_t)n;
	q = p;
	assert_int_equal(msrtp_unprotect(rx_bare, q.b, &q.len, false), MSRTP_AUTH_FAIL);
	assert_int_equal(msrtp_unprotect(rx2, p.b, &p.len, false), MSRTP_OK);
	assert_memory_equal(p.b, plain.b, plain.len);
	assert_int_equal(msrtp_top(rx2), next);

	/* Toward the peer: without the ROC libsrtp2 refuses it. */
	q = plain;
	assert_int_equal(msrtp_protect(tx_bare, q.b, &q.len, sizeof(q.b), false), MSRTP_OK);
	n = (int)q.len;
	assert_int_not_equal(srtp_unprotect(peer_rx, q.b, &n), srtp_err_status_ok);
	p = plain;
	assert_int_equal(msrtp_protect(tx2, p.b, &p.len, sizeof(p.b), false), MSRTP_OK);
	n = (int)p.len;
	assert_int_equal(srtp_unprotect(peer_rx, p.b, &n), srtp_err_status_ok);
	assert_memory_equal(p.b, plain.b, plain.len);
	uint32_t roc = 0;
	assert_int_equal(srtp_get_stream_roc(peer_rx, SSRC, &roc), srtp_err_status_ok);
	assert_int_equal(roc, 1);

	pc_call_state_wipe(&s);
	pc_call_state_wipe(&got);
	msrtp_free(rx);
	msrtp_free(tx);
	msrtp_free(rx2);
	msrtp_free(tx2);
	msrtp_free(rx_bare);
	msrtp_free(tx_bare);
	srtp_dealloc(peer_tx);
	srtp_dealloc(peer_rx);
}

static void test_takeover_cm(void **state)
{
	(void)state;
	takeover(PC_SRTP_AES_CM_128_HMAC_SHA1_80);
}

static void test_takeover_gcm(void **state)
{
	(void)state;
	takeover(PC_SRTP_AEAD_AES_128_GCM);
}

/* A seed does not open the way to a packet an attacker saved from long
 * before (an index from a cycle the record has left): it is placed in
 * the next cycle, where its tag does not verify. And a record whose ROC
 * is beyond a 48-bit index is refused. */
static void test_seed_bounds(void **state)
{
	(void)state;
	struct pc_srtp_params k = key_for(PC_SRTP_AES_CM_128_HMAC_SHA1_80, 9);
	struct msrtp *tx = msrtp_new(&k, false), *rx = msrtp_new(&k, true);
	struct pkt old;
	mk_rtp(&old, 0x20000 + 100); /* ROC 2, seq 100 */
	msrtp_seed(tx, 0x20000 + 99);
	assert_int_equal(msrtp_protect(tx, old.b, &old.len, sizeof(old.b), false), MSRTP_OK);
	msrtp_seed(rx, 0x20000 + 100 + 2048); /* recorded later than the capture */
	assert_int_equal(msrtp_unprotect(rx, old.b, &old.len, false), MSRTP_AUTH_FAIL);
	msrtp_free(tx);
	msrtp_free(rx);

	struct pc_call_state s, got;
	record(&s, &k, 0, 0);
	s.streams[0].side[1].send_roc = 0x10000;
	static uint8_t v[CL_CALL_SEALED_MAX];
	uint64_t at;
	int n = cl_call_seal(key_cluster, "A", 1780000000, &s, v, sizeof(v));
	assert_true(n > 0);
	assert_int_equal(cl_call_open(key_cluster, "A", s.id, v, (size_t)n, &got, &at), -1);
}

int main(void)
{
	srtp_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_takeover_cm),
		cmocka_unit_test(test_takeover_gcm),
		cmocka_unit_test(test_seed_bounds),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	srtp_shutdown();
	return rc;
}
