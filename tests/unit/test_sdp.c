/* The SDP module on real bodies: what phones and SIPp send (plain G.711,
 * SDES offers, hold, IPv6, video declined), each malformed a=crypto form
 * refused with a reason that names it, the other leg's body written from a
 * plan with nothing of the sender left in it, and SDES lines printed and
 * parsed back for every suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"

/* Keys as real offers carry them: 30 bytes (AES-CM-128), 44 (AEAD-AES-256-GCM). */
#define KEY30 "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
#define KEY30B "HiUsMzpBSE9WXWRrcnmAh46VnKOqsbi/xs3U2+Lp"
#define KEY44 "LDM6QUhPVl1ka3J5gIeOlZyjqrG4v8bN1Nvi6fD3/gUMExohKC82PURLUlk="
#define KEY46 "LjU8Q0pRWF9mbXR7gomQl56lrLO6wcjP1t3k6/L5AAcOFRwjKjE4P0ZNVFtiaQ=="
#define KEY28 "HCMqMTg/Rk1UW2JpcHd+hYyTmqGor7a9xMvS2Q=="
#define KEY24 "GB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5"

static const char g711_offer[] =
	"v=0\r\n"
	"o=alice 53655765 2353687637 IN IP4 192.168.1.10\r\n"
	"s=Talk\r\n"
	"c=IN IP4 192.168.1.10\r\n"
	"t=0 0\r\n"
	"m=audio 6000 RTP/AVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=ptime:20\r\n"
	"a=sendrecv\r\n";

static const char srtp_offer[] =
	"v=0\r\n"
	"o=- 3912345678 3912345678 IN IP4 10.20.30.40\r\n"
	"s=baresip\r\n"
	"c=IN IP4 10.20.30.40\r\n"
	"t=0 0\r\n"
	"m=audio 40000 RTP/SAVP 9 0 8 101\r\n"
	"b=AS:80\r\n"
	"a=rtpmap:9 G722/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^20|1:4\r\n"
	"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" KEY30B "\r\n"
	"a=crypto:3 AEAD_AES_256_GCM inline:" KEY44 "\r\n"
	"a=ptime:20\r\n"
	"a=sendrecv\r\n";

static const char av_video_declined[] =
	"v=0\r\n"
	"o=bob 2890844526 2890844527 IN IP4 198.51.100.7\r\n"
	"s=-\r\n"
	"c=IN IP4 198.51.100.7\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"m=video 0 RTP/AVP 96\r\n"
	"a=rtpmap:96 H264/90000\r\n"
	"a=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\n";

static char why[160];

static void read_ok(const char *body, struct pc_sdp_desc *d)
{
	why[0] = '\0';
	int rc = pc_sdp_read(body, strlen(body), d, why, sizeof(why));
	if (rc != 0)
		fail_msg("pc_sdp_read: %s", why);
}

static void read_fails(const char *body, const char *why_part)
{
	struct pc_sdp_desc d;
	why[0] = '\0';
	assert_int_equal(pc_sdp_read(body, strlen(body), &d, why, sizeof(why)), -1);
	if (!strstr(why, why_part))
		fail_msg("reason \"%s\" does not name \"%s\"", why, why_part);
}

static size_t b64dec(const char *s, uint8_t *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	uint32_t v = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		v = v << 6 | (uint32_t)(strchr(a, *s) - a);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(v >> bits);
		}
	}
	return o;
}

static void assert_key(const struct pc_srtp_params *p, const char *b64)
{
	uint8_t k[64];
	size_t n = b64dec(b64, k);
	assert_int_equal(p->key_salt_len, n);
	assert_memory_equal(p->key_salt, k, n);
}

/* ---- reading ---- */

static void reads_plain_g711_offer(void **state)
{
	struct pc_sdp_desc d;
	read_ok(g711_offer, &d);
	assert_int_equal(d.n_streams, 1);
	const struct pc_sdp_stream *s = &d.streams[0];
	assert_string_equal(s->media, "audio");
	assert_int_equal(s->port, 6000);
	assert_int_equal(s->proto, PC_SDP_PROTO_RTP_AVP);
	assert_string_equal(s->address, "192.168.1.10");
	assert_false(s->ipv6);
	assert_int_equal(s->rtcp_port, 6001);
	assert_false(s->rtcp_mux);
	assert_int_equal(s->direction, PC_SDP_SENDRECV);
	assert_int_equal(s->n_crypto, 0);
	assert_int_equal(s->n_crypto_unsupported, 0);
}

/* The first format is the codec the quality figures are computed for:
 * from a=rtpmap, from RFC 3551's table for a static type without one, and
 * nothing for a non-RTP m-line or a name too long to keep. */
static void reads_first_format(void **state)
{
	struct pc_sdp_desc d;
	read_ok(g711_offer, &d);
	assert_true(d.streams[0].has_format);
	assert_int_equal(d.streams[0].format_pt, 0);
	assert_string_equal(d.streams[0].format_name, "PCMU");
	assert_int_equal(d.streams[0].format_rate, 8000);
	read_ok(srtp_offer, &d);
	assert_int_equal(d.streams[0].format_pt, 9);
	assert_string_equal(d.streams[0].format_name, "G722");
	assert_int_equal(d.streams[0].format_rate, 8000);
	pc_sdp_desc_wipe(&d);
	read_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n"
		"m=audio 7000 RTP/AVP 18 0\r\n", &d);
	assert_true(d.streams[0].has_format);
	assert_int_equal(d.streams[0].format_pt, 18);
	assert_string_equal(d.streams[0].format_name, "G729");
	assert_int_equal(d.streams[0].format_rate, 8000);
	read_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n"
		"m=audio 7000 RTP/AVP 96\r\na=rtpmap:96 an-encoding-name-far-too-long/8000\r\n", &d);
	assert_false(d.streams[0].has_format);
	(void)state;
}

static void reads_bare_lf_body(void **state)
{
	struct pc_sdp_desc d;
	read_ok("v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\n"
		"m=audio 7000 RTP/AVP 0", &d);
	assert_int_equal(d.n_streams, 1);
	assert_int_equal(d.streams[0].port, 7000);
}

static void reads_sdes_offer_with_three_keys(void **state)
{
	struct pc_sdp_desc d;
	read_ok(srtp_offer, &d);
	const struct pc_sdp_stream *s = &d.streams[0];
	assert_int_equal(s->proto, PC_SDP_PROTO_RTP_SAVP);
	assert_int_equal(s->n_crypto, 3);
	assert_int_equal(s->n_crypto_unsupported, 0);

	assert_int_equal(s->crypto[0].tag, 1);
	assert_int_equal(s->crypto[0].params.suite, PC_SRTP_AES_CM_128_HMAC_SHA1_80);
	assert_key(&s->crypto[0].params, KEY30);
	assert_int_equal(s->crypto[0].params.lifetime, 1u << 20);
	assert_int_equal(s->crypto[0].params.mki, 1);
	assert_int_equal(s->crypto[0].params.mki_len, 4);

	assert_int_equal(s->crypto[1].tag, 2);
	assert_int_equal(s->crypto[1].params.suite, PC_SRTP_AES_CM_128_HMAC_SHA1_32);
	assert_key(&s->crypto[1].params, KEY30B);
	assert_int_equal(s->crypto[1].params.lifetime, 0);
	assert_int_equal(s->crypto[1].params.mki_len, 0);

	assert_int_equal(s->crypto[2].tag, 3);
	assert_int_equal(s->crypto[2].params.suite, PC_SRTP_AEAD_AES_256_GCM);
	assert_key(&s->crypto[2].params, KEY44);
	pc_sdp_desc_wipe(&d);
	assert_int_equal(d.streams[0].crypto[0].params.key_salt[0], 0);
}

static void reads_declined_video(void **state)
{
	struct pc_sdp_desc d;
	read_ok(av_video_declined, &d);
	assert_int_equal(d.n_streams, 2);
	assert_string_equal(d.streams[0].media, "audio");
	assert_int_equal(d.streams[0].port, 49170);
	assert_string_equal(d.streams[1].media, "video");
	assert_int_equal(d.streams[1].port, 0);
	assert_int_equal(d.streams[1].rtcp_port, 0);
}

static void reads_rtcp_and_rtcp_mux(void **state)
{
	struct pc_sdp_desc d;
	read_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		"m=audio 5004 RTP/AVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
		"a=rtcp:5010 IN IP4 192.0.2.1\r\n"
		"m=audio 5006 RTP/SAVPF 0\r\na=rtcp-mux\r\n"
		"a=crypto:7 AES_256_CM_HMAC_SHA1_80 inline:" KEY46 "\r\n", &d);
	assert_int_equal(d.n_streams, 2);
	assert_int_equal(d.streams[0].proto, PC_SDP_PROTO_RTP_AVPF);
	assert_int_equal(d.streams[0].rtcp_port, 5010);
	assert_false(d.streams[0].rtcp_mux);
	assert_int_equal(d.streams[1].proto, PC_SDP_PROTO_RTP_SAVPF);
	assert_true(d.streams[1].rtcp_mux);
	assert_int_equal(d.streams[1].rtcp_port, 5007);
	assert_int_equal(d.streams[1].crypto[0].tag, 7);
	assert_int_equal(d.streams[1].crypto[0].params.suite, PC_SRTP_AES_256_CM_HMAC_SHA1_80);
	assert_key(&d.streams[1].crypto[0].params, KEY46);
	pc_sdp_desc_wipe(&d);
}

static void media_c_overrides_session_c(void **state)
{
	struct pc_sdp_desc d;
	read_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		"m=audio 5004 RTP/AVP 0\r\nc=IN IP4 203.0.113.5\r\n"
		"m=audio 5008 RTP/AVP 0\r\n", &d);
	assert_string_equal(d.streams[0].address, "203.0.113.5");
	assert_string_equal(d.streams[1].address, "192.0.2.1");
}

static void reads_hold(void **state)
{
	struct pc_sdp_desc d;
	read_ok("v=0\r\no=alice 1 2 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
		"m=audio 6000 RTP/AVP 0\r\na=sendonly\r\n", &d);
	assert_string_equal(d.streams[0].address, "0.0.0.0");
	assert_int_equal(d.streams[0].direction, PC_SDP_SENDONLY);

	/* Session-level direction, overridden per stream. */
	read_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		"a=recvonly\r\nm=audio 6000 RTP/AVP 0\r\nm=audio 6002 RTP/AVP 0\r\na=inactive\r\n",
		&d);
	assert_int_equal(d.streams[0].direction, PC_SDP_RECVONLY);
	assert_int_equal(d.streams[1].direction, PC_SDP_INACTIVE);
}

static void reads_ipv6(void **state)
{
	struct pc_sdp_desc d;
	read_ok("v=0\r\no=- 1 1 IN IP6 2001:db8::10\r\ns=-\r\nc=IN IP6 2001:db8::10\r\nt=0 0\r\n"
		"m=audio 30000 RTP/AVP 8\r\n", &d);
	assert_true(d.streams[0].ipv6);
	assert_string_equal(d.streams[0].address, "2001:db8::10");
}

static void dtls_profile_is_other_not_sdes(void **state)
{
	struct pc_sdp_desc d;
	read_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:actpass\r\n"
		"m=image 6000 udptl t38\r\n", &d);
	assert_int_equal(d.streams[0].proto, PC_SDP_PROTO_OTHER);
	assert_int_equal(d.streams[1].proto, PC_SDP_PROTO_OTHER);
	assert_string_equal(d.streams[1].media, "image");
}

static void unsupported_suite_is_counted(void **state)
{
	struct pc_sdp_desc d;
	read_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		"m=audio 5004 RTP/SAVP 0\r\n"
		"a=crypto:1 F8_128_HMAC_SHA1_80 inline:" KEY30 "\r\n"
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" KEY30B "\r\n", &d);
	assert_int_equal(d.streams[0].n_crypto, 1);
	assert_int_equal(d.streams[0].n_crypto_unsupported, 1);
	assert_int_equal(d.streams[0].crypto[0].tag, 2);
	pc_sdp_desc_wipe(&d);
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" \
	     "m=audio 5004 RTP/SAVP 0\r\n"

static void malformed_crypto_is_refused_by_name(void **state)
{
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFC*nVmcjkpPywjNWhcYD0mXXtxaVBR\r\n",
		   "bad base64");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB\r\n",
		   "bad base64");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY24 "\r\n",
		   "key length 24, AES_CM_128_HMAC_SHA1_80 needs 30");
	read_fails(HEAD "a=crypto:x1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "\r\n", "bad tag");
	read_fails(HEAD "a=crypto:1234567890 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "\r\n", "bad tag");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^49\r\n",
		   "bad lifetime");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^x\r\n",
		   "bad lifetime");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|1:5\r\n",
		   "MKI length 5");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|256:1\r\n",
		   "MKI does not fit");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 ";inline:" KEY30B "\r\n",
		   "several keys");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " KDR=1\r\n",
		   "unsupported session parameter KDR");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " UNENCRYPTED_SRTP\r\n",
		   "unsupported session parameter UNENCRYPTED_SRTP");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 " KEY30 "\r\n", "missing inline:");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 uri:sip:keys@example.com\r\n",
		   "key method uri not supported");
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "\r\n"
		   "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" KEY30B "\r\n", "tag 1 twice");
	/* Reasons name the problem, never the key. */
	read_fails(HEAD "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY24 "\r\n", "needs 30");
	assert_null(strstr(why, "GB8m"));
}

static void live_stream_without_c_is_refused(void **state)
{
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
		   "m=audio 5004 RTP/AVP 0\r\nm=video 5006 RTP/AVP 96\r\nc=IN IP4 192.0.2.1\r\n",
		   "m-line 1 (audio): no c=");
	/* A declined stream needs no address. */
	struct pc_sdp_desc d;
	read_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
		"m=audio 0 RTP/AVP 0\r\n", &d);
	assert_int_equal(d.streams[0].port, 0);
	assert_string_equal(d.streams[0].address, "");
}

static void nine_m_lines_are_refused(void **state)
{
	char body[1024];
	int n = snprintf(body, sizeof(body),
			 "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n");
	for (int i = 0; i < 9; i++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "m=audio %d RTP/AVP 0\r\n",
			      5000 + 2 * i);
	read_fails(body, "9 m= lines");
}

static void lexically_odd_bodies_are_refused(void **state)
{
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "\r\nm=audio 5004 RTP/AVP 0\r\n", "blank line");
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\rc=IN IP4 192.0.2.1\r\nt=0 0\r\n",
		   "control character");
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "m=audio  5004 RTP/AVP 0\r\n", "malformed m= line 1");
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "m=audio 5004/2 RTP/AVP 0\r\n", "malformed m= line 1");
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "m=audio 70000 RTP/AVP 0\r\n", "malformed m= line 1");
	/* Found by fuzz_sdp: Sofia loops for ever, allocating, on this. */
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "m=image 6000 udptl =t38\r\n", "malformed m= line 1");
	/* Found by fuzz_sdp: a protocol starting with '/' after a port count
	 * was accepted, and what we wrote ("6 /2") Sofia reads as a count. */
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "m=audio 6/1 /2\r\n", "malformed m= line 1");
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "m=audio 5004 RTP//AVP 0\r\n", "malformed m= line 1");
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "m=audio 5004 RTP/ 0\r\n", "malformed m= line 1");
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 pbx.example.com\r\n"
		   "t=0 0\r\nm=audio 5004 RTP/AVP 0\r\n", "not a unicast IP4 address");
	read_fails("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "m=audio 5004 RTP/AVP 0\r\na=rtcp:0\r\n", "bad a=rtcp");
	char body[2048];
	int n = snprintf(body, sizeof(body), "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
			 "c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP");
	for (int i = 0; i < 129; i++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, " %d", i % 128);
	snprintf(body + n, sizeof(body) - (size_t)n, "\r\n");
	read_fails(body, "malformed m= line 1");
	read_fails("v=1\r\n", "SDP");
	read_fails("", "empty");
}

/* ---- writing ---- */

static void plan_for(struct pc_sdp_plan *p, const char *addr, unsigned n)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->address, sizeof(p->address), "%s", addr);
	p->session_id = 4242;
	p->version = 7;
	p->n_streams = n;
}

static struct pc_sdp_crypto key(unsigned tag, enum pc_srtp_suite s, uint8_t fill)
{
	struct pc_sdp_crypto c;
	memset(&c, 0, sizeof(c));
	c.tag = tag;
	c.params.suite = s;
	c.params.key_salt_len = pc_srtp_suite_key_salt_len(s);
	for (size_t i = 0; i < c.params.key_salt_len; i++)
		c.params.key_salt[i] = (uint8_t)(fill + i);
	return c;
}

static char *write_ok(const char *body, const struct pc_sdp_plan *p)
{
	why[0] = '\0';
	char *out = pc_sdp_write(body, strlen(body), p, why, sizeof(why));
	if (!out)
		fail_msg("pc_sdp_write: %s", why);
	return out;
}

/* Lines of `text` that start with `prefix`, in order, joined by '|'. */
static void lines_with(const char *text, const char *prefix, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (const char *l = text; *l;) {
		const char *e = strstr(l, "\r\n");
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (strncmp(l, prefix, strlen(prefix)) == 0 && o + n + 2 < len) {
			if (o)
				buf[o++] = '|';
			memcpy(buf + o, l, n);
			o += n;
			buf[o] = '\0';
		}
		l += n + (e ? 2 : 0);
	}
}

static void plain_to_srtp(void **state)
{
	struct pc_sdp_plan p;
	plan_for(&p, "203.0.113.1", 1);
	p.streams[0].port = 20000;
	p.streams[0].proto = PC_SDP_PROTO_RTP_SAVP;
	p.streams[0].crypto[0] = key(1, PC_SRTP_AES_CM_128_HMAC_SHA1_80, 1);
	p.streams[0].crypto[1] = key(2, PC_SRTP_AEAD_AES_256_GCM, 100);
	p.streams[0].n_crypto = 2;
	char *out = write_ok(g711_offer, &p);

	assert_non_null(strstr(out, "\r\nm=audio 20000 RTP/SAVP 0 8 101\r\n"));
	char got[1024];
	lines_with(out, "a=crypto:", got, sizeof(got));
	assert_non_null(strstr(got, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
	assert_non_null(strstr(got, "|a=crypto:2 AEAD_AES_256_GCM inline:"));
	/* The plan's lines close the section, after the kept attributes. */
	assert_non_null(strstr(out, "a=sendrecv\r\na=crypto:1 "));

	struct pc_sdp_desc d;
	read_ok(out, &d);
	assert_int_equal(d.streams[0].port, 20000);
	assert_int_equal(d.streams[0].proto, PC_SDP_PROTO_RTP_SAVP);
	assert_string_equal(d.streams[0].address, "203.0.113.1");
	assert_int_equal(d.streams[0].n_crypto, 2);
	assert_true(pc_srtp_params_equal(&d.streams[0].crypto[0].params, &p.streams[0].crypto[0].params));
	assert_true(pc_srtp_params_equal(&d.streams[0].crypto[1].params, &p.streams[0].crypto[1].params));
	pc_sdp_desc_wipe(&d);
	free(out);
}

static void srtp_to_plain(void **state)
{
	struct pc_sdp_plan p;
	plan_for(&p, "198.51.100.99", 1);
	p.streams[0].port = 31000;
	p.streams[0].proto = PC_SDP_PROTO_RTP_AVP;
	char *out = write_ok(srtp_offer, &p);
	assert_null(strstr(out, "crypto"));
	assert_null(strstr(out, "inline:"));
	assert_null(strstr(out, KEY30));
	assert_non_null(strstr(out, "\r\nm=audio 31000 RTP/AVP 9 0 8 101\r\n"));
	assert_non_null(strstr(out, "\r\nb=AS:80\r\n"));
	struct pc_sdp_desc d;
	read_ok(out, &d);
	assert_int_equal(d.streams[0].proto, PC_SDP_PROTO_RTP_AVP);
	assert_int_equal(d.streams[0].n_crypto, 0);
	free(out);
}

static void keeps_codecs_and_attributes_in_order(void **state)
{
	struct pc_sdp_plan p;
	plan_for(&p, "203.0.113.1", 1);
	p.streams[0].port = 20000;
	p.streams[0].proto = PC_SDP_PROTO_RTP_AVP;
	char *out = write_ok(g711_offer, &p);
	char got[1024];
	lines_with(out, "a=", got, sizeof(got));
	assert_string_equal(got, "a=rtpmap:0 PCMU/8000|a=rtpmap:8 PCMA/8000|"
				 "a=rtpmap:101 telephone-event/8000|a=fmtp:101 0-15|"
				 "a=ptime:20|a=sendrecv");
	assert_string_equal(out, "v=0\r\n"
				 "o=portcullis 4242 7 IN IP4 203.0.113.1\r\n"
				 "s=-\r\n"
				 "c=IN IP4 203.0.113.1\r\n"
				 "t=0 0\r\n"
				 "m=audio 20000 RTP/AVP 0 8 101\r\n"
				 "a=rtpmap:0 PCMU/8000\r\n"
				 "a=rtpmap:8 PCMA/8000\r\n"
				 "a=rtpmap:101 telephone-event/8000\r\n"
				 "a=fmtp:101 0-15\r\n"
				 "a=ptime:20\r\n"
				 "a=sendrecv\r\n");
	free(out);
}

static void nothing_of_the_sender_survives(void **state)
{
	static const char body[] =
		"v=0\r\n"
		"o=alice.smith 2890844526 2890842807 IN IP4 10.47.16.5\r\n"
		"s=Call from Alice Smith\r\n"
		"i=A Seminar on the session description protocol\r\n"
		"u=http://www.example.com/seminars/sdp.pdf\r\n"
		"e=alice.smith@example.com (Alice Smith)\r\n"
		"p=+1 617 555-6011\r\n"
		"c=IN IP4 10.47.16.5\r\n"
		"t=0 0\r\n"
		"a=ice-ufrag:F7gI\r\n"
		"a=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n"
		"m=audio 49170 RTP/AVP 0\r\n"
		"i=Alice's microphone\r\n"
		"c=IN IP4 10.47.16.5\r\n"
		"a=rtcp:49999 IN IP4 10.47.16.5\r\n"
		"a=candidate:1 1 UDP 2130706431 10.47.16.5 49170 typ host\r\n"
		"a=candidate:2 1 UDP 1694498815 192.0.2.33 49170 typ srflx raddr 10.47.16.5 rport 49170\r\n"
		"a=end-of-candidates\r\n"
		"a=ssrc:1234 cname:sip:alice.smith@10.47.16.5\r\n"
		"a=ssrc-group:FID 1234 5678\r\n"
		"a=tool:AliceSoftphone 2.1\r\n"
		"a=recvonly\r\n";
	struct pc_sdp_plan p;
	plan_for(&p, "203.0.113.1", 1);
	p.streams[0].port = 20000;
	p.streams[0].proto = PC_SDP_PROTO_RTP_AVP;
	p.streams[0].rtcp_port = 20001;
	char *out = write_ok(body, &p);
	assert_null(strstr(out, "10.47.16.5"));
	assert_null(strstr(out, "192.0.2.33"));
	assert_null(strstr(out, "alice"));
	assert_null(strstr(out, "Alice"));
	assert_null(strstr(out, "617"));
	assert_null(strstr(out, "example.com"));
	assert_null(strstr(out, "ice-"));
	assert_null(strstr(out, "candidate"));
	assert_null(strstr(out, "49170"));
	assert_null(strstr(out, "49999"));
	assert_null(strstr(out, "ssrc"));
	assert_null(strstr(out, "cname"));
	assert_null(strstr(out, "tool"));
	assert_non_null(strstr(out, "o=portcullis 4242 7 IN IP4 203.0.113.1\r\n"));
	assert_non_null(strstr(out, "\r\ns=-\r\n"));
	assert_non_null(strstr(out, "a=recvonly\r\na=rtcp:20001\r\n"));
	free(out);
}

/* Issue 8: MIKEY key material (RFC 4567 a=key-mgmt, session or media
 * level) and k= lines are one leg's secrets: they never reach the other. */
static void key_material_does_not_cross(void **state)
{
	static const char body[] =
		"v=0\r\n"
		"o=- 1 1 IN IP4 192.0.2.7\r\n"
		"s=-\r\n"
		"c=IN IP4 192.0.2.7\r\n"
		"t=0 0\r\n"
		"k=clear:sessionsecret\r\n"
		"a=key-mgmt:mikey AQAFgM0XflABAAAAAAAAAAAAAAsAyO/\r\n"
		"m=audio 49170 RTP/AVP 0\r\n"
		"a=KEY-MGMT:mikey AQEFgM0XflABAAAAAAAAAAAAAAsAyO/\r\n"
		"a=rtpmap:0 PCMU/8000\r\n";
	struct pc_sdp_plan p;
	plan_for(&p, "203.0.113.1", 1);
	p.streams[0].port = 20000;
	p.streams[0].proto = PC_SDP_PROTO_RTP_AVP;
	char *out = write_ok(body, &p);
	assert_null(strcasestr(out, "key-mgmt"));
	assert_null(strstr(out, "mikey"));
	assert_null(strstr(out, "AQ"));
	assert_null(strstr(out, "k="));
	assert_null(strstr(out, "sessionsecret"));
	assert_non_null(strstr(out, "a=rtpmap:0 PCMU/8000\r\n"));
	free(out);
}

static void declined_stream_stays_declined(void **state)
{
	struct pc_sdp_plan p;
	plan_for(&p, "2001:db8::1", 2);
	p.streams[0].port = 20000;
	p.streams[0].proto = PC_SDP_PROTO_RTP_SAVP;
	p.streams[0].crypto[0] = key(1, PC_SRTP_AES_CM_128_HMAC_SHA1_80, 5);
	p.streams[0].n_crypto = 1;
	p.streams[1].port = 0;
	p.streams[1].proto = PC_SDP_PROTO_RTP_SAVP;
	p.streams[1].crypto[0] = key(1, PC_SRTP_AES_CM_128_HMAC_SHA1_80, 9);
	p.streams[1].n_crypto = 1;
	char *out = write_ok(av_video_declined, &p);
	assert_non_null(strstr(out, "\r\nm=video 0 RTP/SAVP 96\r\n"));
	assert_non_null(strstr(out, "c=IN IP6 2001:db8::1\r\n"));
	assert_non_null(strstr(out, "o=portcullis 4242 7 IN IP6 2001:db8::1\r\n"));
	/* One key, for the live stream only. */
	char got[1024];
	lines_with(out, "a=crypto", got, sizeof(got));
	assert_null(strchr(got, '|'));
	assert_true(strstr(out, "a=crypto") < strstr(out, "m=video"));
	struct pc_sdp_desc d;
	read_ok(out, &d);
	assert_int_equal(d.streams[1].port, 0);
	assert_int_equal(d.streams[1].n_crypto, 0);
	assert_true(d.streams[0].ipv6);
	pc_sdp_desc_wipe(&d);
	free(out);
}

static void rtcp_and_rtcp_mux_come_from_the_plan(void **state)
{
	static const char body[] =
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		"m=audio 5004 RTP/AVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-mux\r\n"
		"a=rtcp-fb:111 nack\r\n"
		"m=audio 5006 RTP/AVP 0\r\na=rtcp:5020\r\n";
	struct pc_sdp_plan p;
	plan_for(&p, "203.0.113.1", 2);
	p.streams[0] = (struct pc_sdp_stream_plan){ .port = 20000, .proto = PC_SDP_PROTO_RTP_AVPF,
						 .rtcp_mux = true };
	p.streams[1] = (struct pc_sdp_stream_plan){ .port = 20002, .proto = PC_SDP_PROTO_RTP_AVP,
						 .rtcp_port = 20011 };
	char *out = write_ok(body, &p);
	assert_non_null(strstr(out, "a=rtcp-fb:111 nack\r\na=rtcp-mux\r\nm=audio 20002"));
	assert_non_null(strstr(out, "m=audio 20002 RTP/AVP 0\r\na=rtcp:20011\r\n"));
	assert_null(strstr(out, "5020"));
	struct pc_sdp_desc d;
	read_ok(out, &d);
	assert_true(d.streams[0].rtcp_mux);
	assert_false(d.streams[1].rtcp_mux);
	assert_int_equal(d.streams[1].rtcp_port, 20011);
	free(out);

	/* rtcp_port 0 means port + 1: nothing to say. */
	p.streams[1].rtcp_port = 0;
	p.streams[0].rtcp_mux = false;
	out = write_ok(body, &p);
	assert_null(strstr(out, "a=rtcp:"));
	assert_null(strstr(out, "a=rtcp-mux"));
	free(out);
}

static void round_trip_gives_the_plan(void **state)
{
	struct pc_sdp_plan p;
	plan_for(&p, "192.0.2.200", 1);
	p.streams[0].port = 40002;
	p.streams[0].proto = PC_SDP_PROTO_RTP_SAVP;
	p.streams[0].crypto[0] = key(3, PC_SRTP_AEAD_AES_128_GCM, 77);
	p.streams[0].crypto[0].params.lifetime = UINT64_C(1) << 31;
	p.streams[0].crypto[0].params.mki = 258;
	p.streams[0].crypto[0].params.mki_len = 2;
	p.streams[0].n_crypto = 1;
	char *out = write_ok(srtp_offer, &p);
	struct pc_sdp_desc d;
	read_ok(out, &d);
	assert_int_equal(d.n_streams, 1);
	assert_int_equal(d.streams[0].port, 40002);
	assert_int_equal(d.streams[0].rtcp_port, 40003);
	assert_int_equal(d.streams[0].proto, PC_SDP_PROTO_RTP_SAVP);
	assert_int_equal(d.streams[0].n_crypto, 1);
	assert_int_equal(d.streams[0].crypto[0].tag, 3);
	assert_true(pc_srtp_params_equal(&d.streams[0].crypto[0].params, &p.streams[0].crypto[0].params));
	assert_int_equal(d.streams[0].crypto[0].params.lifetime, UINT64_C(1) << 31);
	pc_sdp_desc_wipe(&d);
	free(out);
}

static void bad_plans_are_refused(void **state)
{
	struct pc_sdp_plan p;
	plan_for(&p, "203.0.113.1", 2);
	assert_null(pc_sdp_write(g711_offer, strlen(g711_offer), &p, why, sizeof(why)));
	assert_non_null(strstr(why, "plan has 2 streams, SDP has 1"));

	plan_for(&p, "203.0.113.1\r\nm=x", 1);
	assert_null(pc_sdp_write(g711_offer, strlen(g711_offer), &p, why, sizeof(why)));

	plan_for(&p, "203.0.113.1", 1);
	p.streams[0].port = 20000;
	p.streams[0].proto = PC_SDP_PROTO_RTP_AVP;
	p.streams[0].crypto[0] = key(1, PC_SRTP_AES_CM_128_HMAC_SHA1_80, 1);
	p.streams[0].n_crypto = 1;
	assert_null(pc_sdp_write(g711_offer, strlen(g711_offer), &p, why, sizeof(why)));
	assert_non_null(strstr(why, "plain profile"));

	const char *broken = "v=0\r\nm=audio\r\n";
	assert_null(pc_sdp_write(broken, strlen(broken), &p, why, sizeof(why)));
}

/* ---- SDES ---- */

static void sdes_round_trip_every_suite(void **state)
{
	for (int s = 0; s < PC_SRTP_SUITE__COUNT; s++) {
		for (int variant = 0; variant < 4; variant++) {
			struct pc_sdp_crypto c = key(100 + (unsigned)s, (enum pc_srtp_suite)s, (uint8_t)(s * 31));
			if (variant & 1)
				c.params.lifetime = variant == 1 ? UINT64_C(1) << 48 : 1000000;
			if (variant & 2) {
				c.params.mki = variant == 2 ? 0xffffffffu : 7;
				c.params.mki_len = variant == 2 ? 4 : 1;
			}
			char buf[200];
			int n = sdes_print(&c, buf, sizeof(buf));
			assert_true(n > 0);
			assert_int_equal((size_t)n, strlen(buf));
			struct pc_sdp_crypto back;
			char w[100];
			if (sdes_parse(buf, (size_t)n, &back, w, sizeof(w)) != 0)
				fail_msg("%s: %s", pc_srtp_suite_name((enum pc_srtp_suite)s), w);
			assert_int_equal(back.tag, c.tag);
			assert_true(pc_srtp_params_equal(&back.params, &c.params));
			assert_int_equal(back.params.lifetime, c.params.lifetime);
			assert_int_equal(back.params.mki_len, c.params.mki_len);
		}
	}
	struct pc_sdp_crypto c = key(1, PC_SRTP_AES_CM_128_HMAC_SHA1_80, 0);
	c.params.lifetime = UINT64_C(1) << 20;
	c.params.mki = 1;
	c.params.mki_len = 4;
	char buf[200];
	assert_true(sdes_print(&c, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "|2^20|1:4"));
	assert_int_equal(sdes_print(&c, buf, 20), -1);
	c.params.key_salt_len = 16;
	assert_int_equal(sdes_print(&c, buf, sizeof(buf)), -1);
}

static void sdes_parse_edge_cases(void **state)
{
	struct pc_sdp_crypto c;
	char w[100];
	const char *v = "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|1:4";
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), 0);
	assert_int_equal(c.params.lifetime, 0);
	assert_int_equal(c.params.mki_len, 4);
	v = "42\tAES_CM_128_HMAC_SHA1_32\tinline:" KEY30 "|1048576";
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), 0);
	assert_int_equal(c.params.lifetime, 1048576);
	v = "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|0";
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), -1);
	v = "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|1:4|2^20";
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), -1);
	/* Non-zero bits under the padding: another text for the same key. */
	v = "1 AEAD_AES_128_GCM inline:HCMqMTg/Rk1UW2JpcHd+hYyTmqGor7a9xMvS2R==";
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), -1);
	assert_non_null(strstr(w, "bad base64"));
	v = "1 AEAD_AES_128_GCM inline:" KEY28;
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), 0);
	v = "0 AEAD_AES_128_GCM inline:" KEY28;
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), -1);
	v = "1 F8_128_HMAC_SHA1_80 inline:" KEY30 "|2^20";
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), 1);
	assert_int_equal(c.tag, 1);
	v = "1 F8_128_HMAC_SHA1_80 inline:" KEY30 " FEC_ORDER=FEC_SRTP";
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), -1);
	v = "1 AES-CM inline:" KEY30;
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), -1);
	assert_non_null(strstr(w, "bad crypto suite"));
	/* Session parameter names that are not plain tokens stay out of the reason. */
	v = "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " \"x\"";
	assert_int_equal(sdes_parse(v, strlen(v), &c, w, sizeof(w)), -1);
	assert_null(strchr(w, '"'));
}

/* ---- choosing ---- */

static void pick_follows_operator_preference(void **state)
{
	struct pc_sdp_desc d;
	read_ok(srtp_offer, &d);
	struct pc_sdp_crypto c;
	enum pc_srtp_suite pref[] = { PC_SRTP_AEAD_AES_256_GCM, PC_SRTP_AES_CM_128_HMAC_SHA1_80 };
	assert_int_equal(pc_sdp_pick_crypto(&d.streams[0], pref, 2, &c), 0);
	assert_int_equal(c.tag, 3);
	enum pc_srtp_suite pref2[] = { PC_SRTP_AES_CM_128_HMAC_SHA1_32, PC_SRTP_AEAD_AES_256_GCM };
	assert_int_equal(pc_sdp_pick_crypto(&d.streams[0], pref2, 2, &c), 0);
	assert_int_equal(c.tag, 2);
	enum pc_srtp_suite none[] = { PC_SRTP_AEAD_AES_128_GCM, PC_SRTP_AES_256_CM_HMAC_SHA1_80 };
	assert_int_equal(pc_sdp_pick_crypto(&d.streams[0], none, 2, &c), -1);
	assert_int_equal(pc_sdp_pick_crypto(&d.streams[0], pref, 0, &c), -1);
	pc_srtp_params_wipe(&c.params);
	pc_sdp_desc_wipe(&d);
}

static void pick_ties_go_to_offerer_order(void **state)
{
	struct pc_sdp_desc d;
	read_ok(HEAD "a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:" KEY30B "\r\n"
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "\r\n", &d);
	struct pc_sdp_crypto c;
	enum pc_srtp_suite pref[] = { PC_SRTP_AES_CM_128_HMAC_SHA1_80 };
	assert_int_equal(pc_sdp_pick_crypto(&d.streams[0], pref, 1, &c), 0);
	assert_int_equal(c.tag, 5);
	pc_sdp_desc_wipe(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_plain_g711_offer),
		cmocka_unit_test(reads_bare_lf_body),
		cmocka_unit_test(reads_first_format),
		cmocka_unit_test(reads_sdes_offer_with_three_keys),
		cmocka_unit_test(reads_declined_video),
		cmocka_unit_test(reads_rtcp_and_rtcp_mux),
		cmocka_unit_test(media_c_overrides_session_c),
		cmocka_unit_test(reads_hold),
		cmocka_unit_test(reads_ipv6),
		cmocka_unit_test(dtls_profile_is_other_not_sdes),
		cmocka_unit_test(unsupported_suite_is_counted),
		cmocka_unit_test(malformed_crypto_is_refused_by_name),
		cmocka_unit_test(live_stream_without_c_is_refused),
		cmocka_unit_test(nine_m_lines_are_refused),
		cmocka_unit_test(lexically_odd_bodies_are_refused),
		cmocka_unit_test(plain_to_srtp),
		cmocka_unit_test(srtp_to_plain),
		cmocka_unit_test(keeps_codecs_and_attributes_in_order),
		cmocka_unit_test(nothing_of_the_sender_survives),
		cmocka_unit_test(key_material_does_not_cross),
		cmocka_unit_test(declined_stream_stays_declined),
		cmocka_unit_test(rtcp_and_rtcp_mux_come_from_the_plan),
		cmocka_unit_test(round_trip_gives_the_plan),
		cmocka_unit_test(bad_plans_are_refused),
		cmocka_unit_test(sdes_round_trip_every_suite),
		cmocka_unit_test(sdes_parse_edge_cases),
		cmocka_unit_test(pick_follows_operator_preference),
		cmocka_unit_test(pick_ties_go_to_offerer_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
