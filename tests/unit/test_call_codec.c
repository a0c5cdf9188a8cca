/* The sealed call-state record (cluster/call_codec.c): a full call reads
 * back as it was written; what an attacker with write access to a shared
 * Redis can do to a value (flip a byte anywhere, cut it, move it under
 * another record id, write one under another key) is refused; a clear
 * record with a field out of shape (unknown suite, key length not the
 * suite's, control character, stream count, trailing bytes) is refused;
 * nothing readable of the keys or the Call-ID is in the sealed value. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/call_codec.h"

static const uint8_t key[CL_CALL_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

static void set_v4(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
	struct sockaddr_in *a = (void *)ss;
	memset(ss, 0, sizeof(*ss));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &a->sin_addr);
}

static void fill(struct pc_call_state *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "00c0ffee12345678");
	s->answered_wall_s = 1790000000;
	for (int i = 0; i < 2; i++) {
		struct pc_cs_leg *l = &s->legs[i];
		snprintf(l->cfg_leg, sizeof(l->cfg_leg), i ? "trunk" : "phones");
		l->transport = i ? PC_TP_TLS : PC_TP_UDP;
		set_v4(&l->peer, i ? "10.0.0.2" : "10.0.0.1", 5060 + (unsigned)i);
		snprintf(l->call_id, sizeof(l->call_id), "secret-call-id-%d@host", i);
		if (i)
			snprintf(l->identity, sizeof(l->identity), "trunk.example.com");
		snprintf(l->local_tag, sizeof(l->local_tag), "lt%d", i);
		snprintf(l->remote_tag, sizeof(l->remote_tag), "rt%d", i);
		snprintf(l->local_uri, sizeof(l->local_uri), "sip:gw@192.0.2.1");
		snprintf(l->remote_uri, sizeof(l->remote_uri), "sip:alice@example.com");
		snprintf(l->remote_target, sizeof(l->remote_target), "sip:alice@10.0.0.1:5060");
		if (i)
			snprintf(l->route, sizeof(l->route), "<sip:edge.example;lr>");
		l->local_cseq = 7 + (uint32_t)i;
		l->remote_cseq = 3;
		l->sdp_id = 0x123456789ULL + (uint64_t)i;
		l->sdp_version = 41 + (uint64_t)i;
		l->secure = i;
	}
	s->n_streams = 2;
	for (unsigned m = 0; m < 2; m++)
		for (int k = 0; k < 2; k++) {
			struct pc_cs_side *d = &s->streams[m].side[k];
			d->relay_port = (uint16_t)(30000 + m * 4 + (unsigned)k * 2);
			set_v4(&d->media, "10.0.0.9", 40000 + m);
			d->rtcp_mux = m == 1;
			if (k == 1) {
				d->has_recv = d->has_send = true;
				d->recv.suite = PC_SRTP_AES_CM_128_HMAC_SHA1_80;
				d->recv.key_salt_len = 30;
				memset(d->recv.key_salt, 0xAB, 30);
				d->send.suite = PC_SRTP_AEAD_AES_256_GCM;
				d->send.key_salt_len = 44;
				memset(d->send.key_salt, 0xCD, 44);
				d->send.mki_len = 2;
				d->send.mki = 9;
				d->recv_roc = 1;
				d->recv_seq = 65000;
				d->send_roc = 0xffff;
				d->send_seq = 17;
			}
		}
}

/* The reference call in s, sealed into v: the value's length. */
static int sealed(struct pc_call_state *s, uint8_t v[CL_CALL_SEALED_MAX])
{
	fill(s);
	int n = cl_call_seal(key, "A", 1780000000, s, v, CL_CALL_SEALED_MAX);
	assert_true(n > 0);
	return n;
}

static void round_trip(void **state)
{
	(void)state;
	static struct pc_call_state s, back;
	static uint8_t v[CL_CALL_SEALED_MAX];
	uint64_t at = 0;
	int n = sealed(&s, v);
	assert_int_equal(cl_call_open(key, "A", s.id, v, (size_t)n, &back, &at), 0);
	assert_int_equal(at, 1780000000);
	assert_memory_equal(&s, &back, sizeof(s));
	/* nothing readable: the Call-ID and the key bytes are not in the value */
	assert_null(memmem(v, (size_t)n, "secret-call-id", 14));
	static const uint8_t ab[8] = { 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB };
	assert_null(memmem(v, (size_t)n, ab, sizeof(ab)));
	/* a fresh nonce each time: the same call seals differently */
	static uint8_t v2[CL_CALL_SEALED_MAX];
	int n2 = cl_call_seal(key, "A", 1780000000, &s, v2, sizeof(v2));
	assert_int_equal(n, n2);
	assert_memory_not_equal(v, v2, (size_t)n);
}

static void tamper_refused(void **state)
{
	(void)state;
	static struct pc_call_state s, back;
	static uint8_t v[CL_CALL_SEALED_MAX];
	uint64_t at = 0;
	int n = sealed(&s, v);
	for (int i = 0; i < n; i++) { /* every byte: magic, time, nonce, body, tag */
		v[i] ^= 0x01;
		assert_int_equal(cl_call_open(key, "A", s.id, v, (size_t)n, &back, &at), -1);
		v[i] ^= 0x01;
	}
	assert_int_equal(back.legs[0].call_id[0], '\0'); /* wiped on refusal */
	/* cut short, or one byte more */
	assert_int_equal(cl_call_open(key, "A", s.id, v, (size_t)n - 1, &back, &at), -1);
	assert_int_equal(cl_call_open(key, "A", s.id, v, (size_t)n + 1, &back, &at), -1);
	assert_int_equal(cl_call_open(key, "A", s.id, v, 10, &back, &at), -1);
	/* moved under another record's id */
	assert_int_equal(cl_call_open(key, "A", "00c0ffee12345679", v, (size_t)n, &back, &at), -1);
	assert_int_equal(cl_call_open(key, "A", "bad id", v, (size_t)n, &back, &at), -1);
	/* moved under another node's name (takeover of that node would raise it) */
	assert_int_equal(cl_call_open(key, "B", s.id, v, (size_t)n, &back, &at), -1);
	assert_int_equal(cl_call_open(key, "", s.id, v, (size_t)n, &back, &at), -1);
	/* another cluster's key */
	uint8_t other[CL_CALL_KEY_LEN];
	memcpy(other, key, sizeof(other));
	other[31] ^= 0x80;
	assert_int_equal(cl_call_open(other, "A", s.id, v, (size_t)n, &back, &at), -1);
	assert_int_equal(cl_call_open(key, "A", s.id, v, (size_t)n, &back, &at), 0);
}

/* A clear record that a node with the key (older, buggy) could have
 * sealed: each defect alone refuses it. */
static void malformed_refused(void **state)
{
	(void)state;
	static struct pc_call_state s, back;
	static uint8_t c[CL_CALL_PLAIN_MAX];
	fill(&s);
	int n = cl_call_encode(&s, c, sizeof(c));
	assert_true(n > 0);
	assert_int_equal(cl_call_decode(c, (size_t)n, &back), 0);
	assert_memory_equal(&s, &back, sizeof(s));
	/* trailing byte, cut at every length */
	assert_int_equal(cl_call_decode(c, (size_t)n + 1, &back), -1);
	for (int i = 0; i < n; i++)
		assert_int_equal(cl_call_decode(c, (size_t)i, &back), -1);
	/* version: 1 (no ROC each way) and 3 */
	c[3] = 1;
	assert_int_equal(cl_call_decode(c, (size_t)n, &back), -1);
	c[3] = 3;
	assert_int_equal(cl_call_decode(c, (size_t)n, &back), -1);
	c[3] = 2;
	/* what the encoder refuses to write */
	struct pc_call_state t = s;
	t.streams[0].side[1].recv.key_salt_len = 29;
	assert_int_equal(cl_call_encode(&t, c, sizeof(c)), -1);
	t = s;
	t.streams[0].side[1].recv.suite = PC_SRTP_SUITE__COUNT;
	assert_int_equal(cl_call_encode(&t, c, sizeof(c)), -1);
	t = s;
	t.legs[0].call_id[3] = '\n';
	assert_int_equal(cl_call_encode(&t, c, sizeof(c)), -1);
	t = s;
	t.n_streams = PC_CS_STREAMS + 1;
	assert_int_equal(cl_call_encode(&t, c, sizeof(c)), -1);
	assert_int_equal(cl_call_encode(&s, c, 100), -1); /* out too small */
	/* ... and the reader refuses when it finds it: patch the clear bytes */
	n = cl_call_encode(&s, c, sizeof(c));
	uint8_t *stream_count = memmem(c, (size_t)n, "\x02\x75\x30", 3); /* n_streams, then port 30000 */
	assert_non_null(stream_count);
	*stream_count = PC_CS_STREAMS + 1;
	assert_int_equal(cl_call_decode(c, (size_t)n, &back), -1);
	*stream_count = 2;
	uint8_t *cid = memmem(c, (size_t)n, "secret-call-id-0", 16);
	assert_non_null(cid);
	cid[0] = 0x01;
	assert_int_equal(cl_call_decode(c, (size_t)n, &back), -1);
	cid[0] = 's';
	uint8_t *suite = memmem(c, (size_t)n, "\x00\x1e\xab\xab", 4); /* suite 0, 30 bytes */
	assert_non_null(suite);
	suite[1] = 29; /* not the suite's length */
	assert_int_equal(cl_call_decode(c, (size_t)n, &back), -1);
	suite[1] = 30;
	suite[0] = 9; /* no such suite */
	assert_int_equal(cl_call_decode(c, (size_t)n, &back), -1);
	suite[0] = 0;
	assert_int_equal(cl_call_decode(c, (size_t)n, &back), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(tamper_refused),
		cmocka_unit_test(malformed_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
