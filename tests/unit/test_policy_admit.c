/* Admission policy: network lists, scanner User-Agents, the set-up cap
 * (policy/admit), token buckets, bans, lockouts, call limits and the bounded
 * table (policy/ratelimit), and SIPS / per-leg transport rules (policy/sips).
 * Time is always explicit milliseconds: no clock, no sleeps. Requests are real
 * message texts parsed by sipmsg_parse. Every verdict field that matters is
 * checked, including the exact `why` pointer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "policy/admit.h"
#include "policy/ratelimit.h"
#include "policy/sips.h"
#include "sip/msg.h"

/* ---- helpers ---- */

static void expect_accept(struct verdict v)
{
	assert_int_equal(v.kind, VERDICT_ACCEPT);
	assert_int_equal(v.status, 0);
	assert_int_equal(v.retry_after, 0);
	assert_false(v.counted);
}

static void expect_reject(struct verdict v, int status, const char *phrase, const char *why,
			  unsigned retry_after)
{
	assert_int_equal(v.kind, VERDICT_REJECT);
	assert_int_equal(v.status, status);
	assert_string_equal(v.phrase, phrase);
	assert_ptr_equal(v.why, why);
	assert_int_equal(v.retry_after, retry_after);
	assert_false(v.counted);
}

static struct sockaddr_storage sa_of(const char *ip, unsigned short port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static struct admit_net net(const char *text)
{
	struct admit_net n;
	const char *why = NULL;
	if (admit_net_parse(text, &n, &why) != 0)
		fail_msg("%s: %s", text, why);
	return n;
}

static bool in(const char *netw, const char *ip)
{
	struct admit_net n = net(netw);
	struct sockaddr_storage ss = sa_of(ip, 5060);
	return admit_net_match(&n, SA(ss));
}

static msg_t *parse(const char *text)
{
	msg_t *m = sipmsg_parse(text, strlen(text));
	assert_non_null(m);
	assert_non_null(sip_object(m));
	return m;
}

/* An INVITE as a phone on the inside leg sends it, with what varies. */
static msg_t *invite(const char *ruri, const char *to, const char *extra)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf),
			 "INVITE %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.10:5090;branch=z9hG4bK74bf9;rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: \"Alice\" <sip:alice@example.com>;tag=9fxced76sl\r\n"
			 "To: <%s>\r\n"
			 "Call-ID: 3848276298220188511@192.0.2.10\r\n"
			 "CSeq: 1 INVITE\r\n"
			 "Contact: <sip:alice@192.0.2.10:5090>\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 ruri, to, extra ? extra : "");
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return parse(buf);
}

/* ---- admit: networks ---- */

static void net_parse_ipv4_prefix_and_host(void **state)
{
	struct admit_net n = net("10.0.0.0/8");
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 8);
	static const uint8_t ten[4] = { 10, 0, 0, 0 };
	assert_memory_equal(n.addr, ten, 4);

	n = net("192.0.2.7");
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 32);
	static const uint8_t host[4] = { 192, 0, 2, 7 };
	assert_memory_equal(n.addr, host, 4);

	n = net("0.0.0.0/0");
	assert_int_equal(n.prefix, 0);
}

static void net_parse_ipv6_and_mapped(void **state)
{
	struct admit_net n = net("2001:db8::/32");
	assert_int_equal(n.family, AF_INET6);
	assert_int_equal(n.prefix, 32);
	static const uint8_t db8[4] = { 0x20, 0x01, 0x0d, 0xb8 };
	assert_memory_equal(n.addr, db8, 4);

	n = net("2001:db8::1");
	assert_int_equal(n.family, AF_INET6);
	assert_int_equal(n.prefix, 128);
	assert_int_equal(n.addr[15], 1);

	/* An IPv4-mapped network is the IPv4 network it names. */
	n = net("::ffff:192.0.2.0/120");
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 24);
	static const uint8_t v4[4] = { 192, 0, 2, 0 };
	assert_memory_equal(n.addr, v4, 4);
	n = net("::ffff:192.0.2.9");
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 32);
}

static void net_parse_refuses_bad_input_with_reason(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{ "", admit_net_err_empty },
		{ "10.0.0.0/", admit_net_err_prefix },
		{ "10.0.0.0/08", admit_net_err_prefix },
		{ "10.0.0.0/+8", admit_net_err_prefix },
		{ "10.0.0.0/8 ", admit_net_err_prefix },
		{ "10.0.0.0/1234", admit_net_err_prefix },
		{ "10.0.0.0/33", admit_net_err_range },
		{ "2001:db8::/129", admit_net_err_range },
		{ "10.0.0.1/8", admit_net_err_host_bits },
		{ "2001:db8::1/64", admit_net_err_host_bits },
		{ "10.0.0/8", admit_net_err_address },
		{ "300.0.0.0/8", admit_net_err_address },
		{ "010.0.0.0/8", admit_net_err_address },
		{ " 10.0.0.0/8", admit_net_err_address },
		{ "fe80::1%eth0", admit_net_err_address },
		{ "example.com", admit_net_err_address },
		{ "/8", admit_net_err_address },
		{ "1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:20/64", admit_net_err_address },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct admit_net n;
		const char *why = NULL;
		if (admit_net_parse(bad[i].text, &n, &why) != -1 || why != bad[i].why)
			fail_msg("\"%s\": got %s", bad[i].text, why ? why : "success");
	}
	struct admit_net n;
	assert_int_equal(admit_net_parse(NULL, &n, NULL), -1);
}

static void net_match_ipv4_boundaries(void **state)
{
	assert_true(in("10.0.0.0/8", "10.0.0.0"));
	assert_true(in("10.0.0.0/8", "10.255.255.255"));
	assert_false(in("10.0.0.0/8", "11.0.0.0"));
	assert_false(in("10.0.0.0/8", "9.255.255.255"));
	assert_true(in("192.0.2.128/25", "192.0.2.128"));
	assert_false(in("192.0.2.128/25", "192.0.2.127"));
	assert_true(in("192.0.2.7", "192.0.2.7"));
	assert_false(in("192.0.2.7", "192.0.2.6"));
	assert_true(in("0.0.0.0/0", "203.0.113.9"));
	/* Families never cross, except through IPv4-mapped sources. */
	assert_false(in("0.0.0.0/0", "2001:db8::1"));
	assert_false(in("::/0", "192.0.2.1"));
}

static void net_match_ipv6_and_mapped_sources(void **state)
{
	assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(in("2001:db8::/32", "2001:db9::1"));
	assert_true(in("2001:db8:0:2::/63", "2001:db8:0:3:ffff::"));
	assert_false(in("2001:db8:0:2::/63", "2001:db8:0:1::1"));
	assert_true(in("::/0", "2001:db8::1"));
	/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d. */
	assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_true(in("::ffff:10.0.0.0/104", "10.1.2.3"));
	assert_false(in("10.0.0.0/8", "::ffff:11.1.2.3"));
	assert_false(in("::/0", "::ffff:10.1.2.3"));

	struct sockaddr_storage un;
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	struct admit_net all = net("0.0.0.0/0");
	assert_false(admit_net_match(&all, SA(un)));
	assert_false(admit_net_match(&all, NULL));
}

static void acl_deny_list_wins_over_allow_list(void **state)
{
	struct admit_net allow[] = { net("10.0.0.0/8"), net("2001:db8::/32") };
	struct admit_net deny[] = { net("10.66.0.0/16") };
	struct admit_acl acl = { deny, 1, allow, 2 };

	struct sockaddr_storage a = sa_of("10.66.1.1", 5060);
	expect_reject(admit_acl_check(&acl, SA(a)), 403, "Forbidden", admit_why_denied, 0);
	struct sockaddr_storage b = sa_of("10.1.1.1", 5060);
	expect_accept(admit_acl_check(&acl, SA(b)));
	struct sockaddr_storage c = sa_of("2001:db8::5", 5060);
	expect_accept(admit_acl_check(&acl, SA(c)));
	struct sockaddr_storage d = sa_of("::ffff:10.66.9.9", 5060);
	expect_reject(admit_acl_check(&acl, SA(d)), 403, "Forbidden", admit_why_denied, 0);
}

static void acl_allow_list_refuses_everyone_else(void **state)
{
	struct admit_net allow[] = { net("192.0.2.0/24") };
	struct admit_acl acl = { NULL, 0, allow, 1 };
	struct sockaddr_storage a = sa_of("198.51.100.1", 5060);
	expect_reject(admit_acl_check(&acl, SA(a)), 403, "Forbidden", admit_why_not_allowed, 0);
	expect_reject(admit_acl_check(&acl, NULL), 403, "Forbidden", admit_why_not_allowed, 0);
	struct sockaddr_storage b = sa_of("192.0.2.200", 5060);
	expect_accept(admit_acl_check(&acl, SA(b)));

	/* No lists: everyone; only a deny list: everyone else. */
	struct admit_acl open_acl = { NULL, 0, NULL, 0 };
	expect_accept(admit_acl_check(&open_acl, SA(a)));
	struct admit_net deny[] = { net("198.51.100.0/24") };
	struct admit_acl deny_only = { deny, 1, NULL, 0 };
	expect_reject(admit_acl_check(&deny_only, SA(a)), 403, "Forbidden", admit_why_denied, 0);
	expect_accept(admit_acl_check(&deny_only, SA(b)));
}

/* ---- admit: scanner User-Agents ---- */

static void every_default_scanner_ua_is_refused(void **state)
{
	/* How each tool announces itself on the wire (mixed case on purpose). */
	static const char *const seen[] = {
		"friendly-scanner", "SIPVicious 0.3.4", "pplsip", "sipcli/v1.8",
		"sip-scan", "sundayddr", "iWar",
	};
	size_t n;
	const char *const *list = admit_default_scanner_uas(&n);
	assert_int_equal(n, sizeof(seen) / sizeof(seen[0]));
	for (size_t i = 0; i < n; i++) {
		assert_true(admit_ua_is_scanner(seen[i], list, n));
		/* each default token is matched by its own sample */
		assert_true(admit_ua_is_scanner(seen[i], &list[i], 1));
		char hdr[128];
		snprintf(hdr, sizeof(hdr), "User-Agent: %s\r\n", seen[i]);
		msg_t *m = invite("sip:bob@example.com", "sip:bob@example.com", hdr);
		expect_reject(admit_ua_check(sip_object(m), list, n), 403, "Forbidden",
			      admit_why_scanner, 0);
		msg_destroy(m);
	}
	assert_true(admit_ua_is_scanner("Mozilla FRIENDLY-SCANNER x", list, n));
}

static void ordinary_or_missing_user_agent_passes(void **state)
{
	size_t n;
	const char *const *list = admit_default_scanner_uas(&n);
	msg_t *m = invite("sip:bob@example.com", "sip:bob@example.com", NULL);
	expect_accept(admit_ua_check(sip_object(m), list, n));
	msg_destroy(m);
	m = invite("sip:bob@example.com", "sip:bob@example.com",
		   "User-Agent: Linphone/5.2.0 (belle-sip/5.2.0)\r\n");
	expect_accept(admit_ua_check(sip_object(m), list, n));
	/* An operator's own list replaces the default. */
	static const char *const mine[] = { "belle-sip" };
	expect_reject(admit_ua_check(sip_object(m), mine, 1), 403, "Forbidden", admit_why_scanner,
		      0);
	msg_destroy(m);
	/* Commercial SDKs are not on the default list (see admit.c). */
	assert_false(admit_ua_is_scanner("PortSIP VoIP SDK 11.2", list, n));
	assert_false(admit_ua_is_scanner("VaxSIPUserAgent/3.1", list, n));
	assert_false(admit_ua_is_scanner(NULL, list, n));
	static const char *const empty[] = { "" };
	assert_false(admit_ua_is_scanner("anything", empty, 1));
	/* a token longer than the value it is searched in */
	assert_false(admit_ua_is_scanner("sipv", list, n));
}

/* ---- admit: set-up cap ---- */

static void setup_cap_is_503_with_retry_after(void **state)
{
	expect_accept(admit_setup_cap(0, 100));
	expect_accept(admit_setup_cap(99, 100));
	expect_reject(admit_setup_cap(100, 100), 503, "Service Unavailable", admit_why_setup_cap,
		      ADMIT_SETUP_RETRY_AFTER);
	expect_reject(admit_setup_cap(250, 100), 503, "Service Unavailable", admit_why_setup_cap,
		      5);
	expect_accept(admit_setup_cap(1000000, 0)); /* 0 = no cap */
}

/* ---- ratelimit: token bucket ---- */

static void bucket_burst_then_exact_refill_boundary(void **state)
{
	struct rl_rate r = { RL_PER_SEC(2), 3 };
	struct rl_bucket b;
	rl_bucket_init(&b, &r, 1000);
	assert_true(rl_bucket_take(&b, &r, 1000));
	assert_true(rl_bucket_take(&b, &r, 1000));
	assert_true(rl_bucket_take(&b, &r, 1000));
	assert_false(rl_bucket_take(&b, &r, 1000));
	assert_int_equal(rl_bucket_wait_ms(&b, &r, 1000), 500);
	assert_false(rl_bucket_take(&b, &r, 1499));
	assert_int_equal(rl_bucket_wait_ms(&b, &r, 1499), 1);
	assert_true(rl_bucket_take(&b, &r, 1500));
	assert_false(rl_bucket_take(&b, &r, 1500));
	/* never more than the burst, however long the pause */
	assert_int_equal(rl_bucket_tokens(&b, &r, 1000000), 3);
}

static void bucket_fractional_rate_has_no_drift(void **state)
{
	/* 1.5 tokens per second, taken as soon as one is there, in 1 ms steps:
	 * exactly 30 tokens in 20 s, the 30th exactly at 20000 ms. */
	struct rl_rate r = { 1500, 2 };
	struct rl_bucket b;
	rl_bucket_init(&b, &r, 0);
	assert_true(rl_bucket_take(&b, &r, 0));
	assert_true(rl_bucket_take(&b, &r, 0));
	assert_false(rl_bucket_take(&b, &r, 666));
	unsigned got = 0;
	uint64_t last = 0;
	struct rl_bucket c = { 0, 0 };
	for (uint64_t t = 1; t <= 20000; t++) {
		if (rl_bucket_take(&c, &r, t)) {
			got++;
			last = t;
		}
		if (t == 666)
			assert_int_equal(got, 0);
		if (t == 667)
			assert_int_equal(got, 1);
	}
	assert_int_equal(got, 30);
	assert_int_equal(last, 20000);

	/* many small refills and one big one give the same level */
	struct rl_rate big = { 1500, 100 };
	struct rl_bucket steps = { 0, 0 }, once = { 0, 0 };
	for (uint64_t t = 1; t <= 20000; t++)
		rl_bucket_tokens(&steps, &big, t);
	assert_int_equal(rl_bucket_tokens(&once, &big, 20000), 30);
	assert_int_equal(steps.micro, once.micro);
	assert_int_equal(steps.micro, 30000000);
}

static void bucket_clock_steps_and_huge_gaps(void **state)
{
	struct rl_rate r = { RL_PER_SEC(1), 1 };
	struct rl_bucket b;
	rl_bucket_init(&b, &r, 5000);
	assert_true(rl_bucket_take(&b, &r, 5000));
	/* the clock stepping back adds nothing and does not move the origin */
	assert_false(rl_bucket_take(&b, &r, 4000));
	assert_false(rl_bucket_take(&b, &r, 5999));
	assert_true(rl_bucket_take(&b, &r, 6000));
	/* an enormous gap fills the bucket, without overflow */
	struct rl_rate fast = { UINT32_MAX, UINT32_MAX };
	struct rl_bucket f = { 0, 0 };
	assert_int_equal(rl_bucket_tokens(&f, &fast, UINT64_MAX), UINT32_MAX);
	/* a disabled rate never refuses */
	struct rl_rate off = { 0, 5 };
	struct rl_bucket o = { 0, 0 };
	for (int i = 0; i < 1000; i++)
		assert_true(rl_bucket_take(&o, &off, 0));
	assert_int_equal(rl_bucket_wait_ms(&o, &off, 0), 0);
}

/* ---- ratelimit: table helpers ---- */

static const uint8_t seed_a[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t seed_b[16] = { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42 };

static struct rl_key name_key(const char *name)
{
	struct rl_key k;
	assert_int_equal(rl_key_name(&k, name), 0);
	return k;
}

static struct rl_key addr_key(const char *ip)
{
	struct sockaddr_storage ss = sa_of(ip, 40000);
	struct rl_key k;
	assert_int_equal(rl_key_addr(&k, SA(ss)), 0);
	return k;
}

static void siphash_reference_vectors(void **state)
{
	uint8_t key[16], msg[15];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* Aumasson and Bernstein, "SipHash" (2012), Appendix A, and vectors.h */
	assert_int_equal(rl_siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
	assert_int_equal(rl_siphash24(key, msg, 0), 0x726fdb47dd0e0e31ull);
	assert_int_equal(rl_siphash24(key, msg, 8), 0x93f5f5799a932462ull);
}

static void keys_ignore_ports_and_group_ipv6_by_64(void **state)
{
	struct rl_config cfg = { .request = { RL_PER_SEC(1), 1 } };
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &cfg, 16, seed_a), 0);

	struct rl_key a = addr_key("2001:db8:1:2::1");
	struct rl_key b = addr_key("2001:db8:1:2:ffff:ffff:ffff:9");
	struct rl_key c = addr_key("2001:db8:1:3::1");
	expect_accept(rl_request(&t, &a, 0));
	/* the same /64 shares one bucket: the second request is over the rate */
	expect_reject(rl_request(&t, &b, 0), 503, "Service Unavailable", rl_why_rate, 1);
	expect_accept(rl_request(&t, &c, 0));

	struct rl_key v4 = addr_key("192.0.2.1");
	struct sockaddr_storage other_port = sa_of("192.0.2.1", 5060);
	struct rl_key v4p;
	assert_int_equal(rl_key_addr(&v4p, SA(other_port)), 0);
	struct rl_key mapped = addr_key("::ffff:192.0.2.1");
	expect_accept(rl_request(&t, &v4, 0));
	expect_reject(rl_request(&t, &v4p, 0), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &mapped, 0), 503, "Service Unavailable", rl_why_rate, 1);
	assert_int_equal(rl_table_count(&t), 3);

	struct sockaddr_storage un;
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	struct rl_key k;
	assert_int_equal(rl_key_addr(&k, SA(un)), -1);
	rl_table_fini(&t);
}

static void name_keys_have_a_length_limit(void **state)
{
	char name[RL_NAME_MAX + 1];
	struct rl_key k;
	memset(name, 'a', sizeof(name));
	name[RL_NAME_MAX - 1] = '\0';
	assert_int_equal(rl_key_name(&k, name), 0);
	assert_int_equal(k.len, RL_NAME_MAX - 1);
	name[RL_NAME_MAX - 1] = 'a';
	name[RL_NAME_MAX] = '\0';
	assert_int_equal(rl_key_name(&k, name), -1);
	assert_int_equal(rl_key_name(&k, ""), -1);
	assert_int_equal(rl_key_name(&k, NULL), -1);

	/* names are exact: case matters, prefixes are other keys */
	struct rl_config cfg = { .max_calls = 1 };
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &cfg, 8, seed_a), 0);
	struct rl_key alice = name_key("alice"), Alice = name_key("Alice"), al = name_key("al");
	expect_accept(rl_call_start(&t, &alice, 0));
	expect_accept(rl_call_start(&t, &Alice, 0));
	expect_accept(rl_call_start(&t, &al, 0));
	assert_int_equal(rl_table_count(&t), 3);
	rl_table_fini(&t);
	assert_int_equal(rl_table_init(&t, &cfg, 0, seed_a), -1);
	rl_table_fini(&t);
}

/* ---- ratelimit: per-source rate and bans ---- */

static const struct rl_config ban_cfg = {
	.request = { RL_PER_SEC(1), 2 },
	.ban_after = 3,
	.overrun_window_ms = 10000,
	.ban_ms = 60000,
};

static void over_rate_is_503_with_exact_retry_after(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &ban_cfg, 64, seed_a), 0);
	struct rl_key src = addr_key("198.51.100.7");
	expect_accept(rl_request(&t, &src, 0));
	expect_accept(rl_request(&t, &src, 0));
	expect_reject(rl_request(&t, &src, 0), 503, "Service Unavailable", rl_why_rate, 1);
	expect_accept(rl_request(&t, &src, 1000));
	/* with a slower rate the wait is several seconds, rounded up */
	struct rl_config slow = { .request = { 400, 1 } }; /* one per 2.5 s */
	struct rl_table s;
	assert_int_equal(rl_table_init(&s, &slow, 4, seed_a), 0);
	expect_accept(rl_request(&s, &src, 0));
	expect_reject(rl_request(&s, &src, 0), 503, "Service Unavailable", rl_why_rate, 3);
	expect_reject(rl_request(&s, &src, 1500), 503, "Service Unavailable", rl_why_rate, 1);
	expect_accept(rl_request(&s, &src, 2500));
	rl_table_fini(&s);
	rl_table_fini(&t);
}

static void ban_starts_after_repeated_overruns_and_expires(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &ban_cfg, 64, seed_a), 0);
	struct rl_key src = addr_key("203.0.113.66");
	struct rl_key other = addr_key("203.0.113.67");
	expect_accept(rl_request(&t, &src, 0));
	expect_accept(rl_request(&t, &src, 0));
	expect_reject(rl_request(&t, &src, 0), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &src, 100), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &src, 200), 403, "Forbidden", rl_why_ban_started, 0);
	/* banned: 403 without Retry-After, even with tokens back */
	expect_reject(rl_request(&t, &src, 30000), 403, "Forbidden", rl_why_banned, 0);
	expect_reject(rl_request(&t, &src, 60199), 403, "Forbidden", rl_why_banned, 0);
	/* the neighbour is not affected */
	expect_accept(rl_request(&t, &other, 30000));
	/* polite requests during the ban did not extend it */
	expect_accept(rl_request(&t, &src, 60200));
	rl_table_fini(&t);
}

static void ban_is_extended_while_the_source_keeps_flooding(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &ban_cfg, 64, seed_a), 0);
	struct rl_key src = addr_key("203.0.113.66");
	for (int i = 0; i < 2; i++)
		expect_accept(rl_request(&t, &src, 0));
	expect_reject(rl_request(&t, &src, 0), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &src, 0), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &src, 0), 403, "Forbidden", rl_why_ban_started, 0);
	/* at 1000 one token is back: taken, no extension; the next overruns */
	expect_reject(rl_request(&t, &src, 1000), 403, "Forbidden", rl_why_banned, 0);
	expect_reject(rl_request(&t, &src, 1000), 403, "Forbidden", rl_why_banned, 0);
	/* banned until 61000 now, not 60000 */
	expect_reject(rl_request(&t, &src, 60000), 403, "Forbidden", rl_why_banned, 0);
	expect_reject(rl_request(&t, &src, 60999), 403, "Forbidden", rl_why_banned, 0);
	expect_accept(rl_request(&t, &src, 61000));
	rl_table_fini(&t);
}

/* ACKs are held to a ban but take nothing from the rate, and looking at a
 * source that is not in the table leaves it out of the table. */
static void ban_check_reads_without_taking(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &ban_cfg, 64, seed_a), 0);
	struct rl_key src = addr_key("203.0.113.66");
	expect_accept(rl_ban_check(&t, &src, 0));
	assert_false(rl_table_has(&t, &src));
	expect_accept(rl_request(&t, &src, 0));
	for (int i = 0; i < 10; i++)
		expect_accept(rl_ban_check(&t, &src, 0));
	expect_accept(rl_request(&t, &src, 0)); /* the burst of two is untouched */
	expect_reject(rl_request(&t, &src, 0), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &src, 0), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &src, 0), 403, "Forbidden", rl_why_ban_started, 0);
	expect_reject(rl_ban_check(&t, &src, 59999), 403, "Forbidden", rl_why_banned, 0);
	expect_accept(rl_ban_check(&t, &src, 60000));
	rl_table_fini(&t);
}

/* Cluster mode: another node's ban holds for its length from arrival and
 * never shortens one here; other nodes' live calls count against
 * max_calls, and dropping to zero gives the slot back. */
static void remote_bans_and_calls(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &ban_cfg, 64, seed_a), 0);
	struct rl_key src = addr_key("203.0.113.67");
	rl_ban_apply(&t, &src, 5000, 1000);
	expect_reject(rl_request(&t, &src, 1000), 403, "Forbidden", rl_why_banned, 0);
	expect_reject(rl_ban_check(&t, &src, 5999), 403, "Forbidden", rl_why_banned, 0);
	rl_ban_apply(&t, &src, 10, 2000); /* shorter: no effect */
	expect_reject(rl_ban_check(&t, &src, 5999), 403, "Forbidden", rl_why_banned, 0);
	expect_accept(rl_ban_check(&t, &src, 6000));
	rl_table_fini(&t);

	struct rl_config cfg = { .max_calls = 2 };
	assert_int_equal(rl_table_init(&t, &cfg, 8, seed_a), 0);
	struct rl_key carol = name_key("carol");
	rl_remote_calls_set(&t, &carol, 2, 0);
	expect_reject(rl_call_start(&t, &carol, 0), 503, "Service Unavailable", rl_why_calls,
		      RL_CALLS_RETRY_AFTER);
	rl_remote_calls_set(&t, &carol, 1, 0);
	expect_accept(rl_call_start(&t, &carol, 0));
	expect_reject(rl_call_start(&t, &carol, 0), 503, "Service Unavailable", rl_why_calls,
		      RL_CALLS_RETRY_AFTER);
	rl_remote_calls_set(&t, &carol, 0, 0);
	expect_accept(rl_call_start(&t, &carol, 0));
	assert_int_equal(rl_calls(&t, &carol), 2);
	rl_table_fini(&t);
}

static void overruns_spread_beyond_the_window_do_not_ban(void **state)
{
	struct rl_config cfg = { .request = { RL_PER_SEC(1), 1 },
				 .ban_after = 3,
				 .overrun_window_ms = 1000,
				 .ban_ms = 60000 };
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &cfg, 8, seed_a), 0);
	struct rl_key src = addr_key("192.0.2.33");
	expect_accept(rl_request(&t, &src, 0));
	expect_reject(rl_request(&t, &src, 1), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &src, 2), 503, "Service Unavailable", rl_why_rate, 1);
	expect_accept(rl_request(&t, &src, 1001));
	/* window started at 1: at 1002 it is over, counting restarts */
	expect_reject(rl_request(&t, &src, 1002), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &src, 1003), 503, "Service Unavailable", rl_why_rate, 1);
	expect_reject(rl_request(&t, &src, 1004), 403, "Forbidden", rl_why_ban_started, 0);
	rl_table_fini(&t);
}

/* ---- ratelimit: authentication failures ---- */

static const struct rl_config auth_cfg = {
	.auth_fail_max = 3,
	.auth_window_ms = 10000,
	.lockout_ms = 30000,
};

static void lockout_after_n_failures_and_expiry(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &auth_cfg, 16, seed_a), 0);
	struct rl_key alice = name_key("alice"), bob = name_key("bob");
	expect_accept(rl_auth_check(&t, &alice, 0));
	expect_accept(rl_auth_failure(&t, &alice, 0));
	expect_accept(rl_auth_failure(&t, &alice, 1000));
	expect_reject(rl_auth_failure(&t, &alice, 2000), 403, "Forbidden", rl_why_lockout_started,
		      0);
	expect_reject(rl_auth_check(&t, &alice, 2000), 403, "Forbidden", rl_why_locked_out, 0);
	/* a failure reported during the lockout is not a new lockout */
	expect_reject(rl_auth_failure(&t, &alice, 5000), 403, "Forbidden", rl_why_locked_out, 0);
	expect_reject(rl_auth_check(&t, &alice, 31999), 403, "Forbidden", rl_why_locked_out, 0);
	expect_accept(rl_auth_check(&t, &bob, 2000));
	/* the lockout ends exactly; counting starts from zero again */
	expect_accept(rl_auth_check(&t, &alice, 32000));
	expect_accept(rl_auth_failure(&t, &alice, 32000));
	expect_accept(rl_auth_failure(&t, &alice, 32001));
	expect_reject(rl_auth_failure(&t, &alice, 32002), 403, "Forbidden",
		      rl_why_lockout_started, 0);
	rl_table_fini(&t);
}

/* A user's failures from one address are that pair's: another address, the
 * plain address and the plain name are other keys. */
static void user_source_pairs_are_their_own_keys(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &auth_cfg, 16, seed_a), 0);
	struct sockaddr_storage a = sa_of("192.0.2.1", 5060), b = sa_of("192.0.2.2", 5060);
	struct sockaddr_storage a2 = sa_of("192.0.2.1", 40000);
	struct rl_key alice_a, alice_b, alice_a2, bob_a;
	assert_int_equal(rl_key_name_addr(&alice_a, "alice", SA(a)), 0);
	assert_int_equal(rl_key_name_addr(&alice_b, "alice", SA(b)), 0);
	assert_int_equal(rl_key_name_addr(&alice_a2, "alice", SA(a2)), 0);
	assert_int_equal(rl_key_name_addr(&bob_a, "bob", SA(a)), 0);
	struct rl_key plain_a = addr_key("192.0.2.1"), alice = name_key("alice");
	expect_accept(rl_auth_failure(&t, &alice_a, 0));
	expect_accept(rl_auth_failure(&t, &alice_a, 1));
	expect_reject(rl_auth_failure(&t, &alice_a2, 2), 403, "Forbidden", rl_why_lockout_started, 0);
	expect_reject(rl_auth_check(&t, &alice_a, 3), 403, "Forbidden", rl_why_locked_out, 0);
	expect_accept(rl_auth_check(&t, &alice_b, 3));
	expect_accept(rl_auth_check(&t, &bob_a, 3));
	expect_accept(rl_auth_check(&t, &plain_a, 3));
	expect_accept(rl_auth_check(&t, &alice, 3));
	struct rl_key k;
	assert_int_equal(rl_key_name_addr(&k, "", SA(a)), -1);
	struct sockaddr_storage un;
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	assert_int_equal(rl_key_name_addr(&k, "alice", SA(un)), -1);
	rl_table_fini(&t);
}

static void failures_outside_the_window_do_not_lock(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &auth_cfg, 16, seed_a), 0);
	struct rl_key src = addr_key("198.51.100.20");
	expect_accept(rl_auth_failure(&t, &src, 0));
	expect_accept(rl_auth_failure(&t, &src, 5000));
	expect_accept(rl_auth_failure(&t, &src, 10000)); /* window [0, 10000) is over */
	expect_accept(rl_auth_failure(&t, &src, 11000));
	expect_accept(rl_auth_check(&t, &src, 11000));
	expect_reject(rl_auth_failure(&t, &src, 12000), 403, "Forbidden", rl_why_lockout_started,
		      0);
	/* lockout_ms 0 means the window's length */
	struct rl_config c = auth_cfg;
	c.lockout_ms = 0;
	struct rl_table u;
	assert_int_equal(rl_table_init(&u, &c, 4, seed_a), 0);
	for (int i = 0; i < 2; i++)
		expect_accept(rl_auth_failure(&u, &src, 100));
	expect_reject(rl_auth_failure(&u, &src, 100), 403, "Forbidden", rl_why_lockout_started, 0);
	expect_reject(rl_auth_check(&u, &src, 10099), 403, "Forbidden", rl_why_locked_out, 0);
	expect_accept(rl_auth_check(&u, &src, 10100));
	rl_table_fini(&u);
	rl_table_fini(&t);
}

static void success_resets_the_user_count(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &auth_cfg, 16, seed_a), 0);
	struct rl_key alice = name_key("alice");
	expect_accept(rl_auth_failure(&t, &alice, 0));
	expect_accept(rl_auth_failure(&t, &alice, 1000));
	rl_auth_success(&t, &alice, 1500);
	expect_accept(rl_auth_failure(&t, &alice, 2000));
	expect_accept(rl_auth_failure(&t, &alice, 2500));
	expect_reject(rl_auth_failure(&t, &alice, 3000), 403, "Forbidden", rl_why_lockout_started,
		      0);
	/* a success does not lift an active lockout */
	rl_auth_success(&t, &alice, 3100);
	expect_reject(rl_auth_check(&t, &alice, 3100), 403, "Forbidden", rl_why_locked_out, 0);
	/* success for a key never seen creates nothing */
	struct rl_key carol = name_key("carol");
	rl_auth_success(&t, &carol, 0);
	assert_false(rl_table_has(&t, &carol));
	rl_table_fini(&t);
}

/* ---- ratelimit: calls ---- */

static void concurrent_limit_and_decrement_never_below_zero(void **state)
{
	struct rl_config cfg = { .max_calls = 2, .calls = { RL_PER_SEC(10), 10 } };
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &cfg, 16, seed_a), 0);
	struct rl_key u = name_key("alice"), trunk = name_key("itsp-core");
	expect_accept(rl_call_start(&t, &u, 0));
	expect_accept(rl_call_start(&t, &u, 0));
	expect_reject(rl_call_start(&t, &u, 0), 503, "Service Unavailable", rl_why_calls,
		      RL_CALLS_RETRY_AFTER);
	assert_int_equal(rl_calls(&t, &u), 2);
	expect_accept(rl_call_start(&t, &trunk, 0)); /* keys are independent */
	rl_call_end(&t, &u, 100);
	assert_int_equal(rl_calls(&t, &u), 1);
	expect_accept(rl_call_start(&t, &u, 100));
	for (int i = 0; i < 5; i++)
		rl_call_end(&t, &u, 200);
	assert_int_equal(rl_calls(&t, &u), 0);
	/* a refused start is not counted, an unknown end is ignored */
	struct rl_key ghost = name_key("ghost");
	rl_call_end(&t, &ghost, 300);
	assert_false(rl_table_has(&t, &ghost));
	assert_int_equal(rl_calls(&t, &ghost), 0);
	expect_accept(rl_call_start(&t, &u, 300));
	expect_accept(rl_call_start(&t, &u, 300));
	assert_int_equal(rl_calls(&t, &u), 2);
	rl_table_fini(&t);
}

static void calls_per_second_is_503_with_retry_after(void **state)
{
	struct rl_config cfg = { .calls = { RL_PER_SEC(1), 2 } };
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &cfg, 16, seed_a), 0);
	struct rl_key trunk = name_key("itsp-core");
	expect_accept(rl_call_start(&t, &trunk, 0));
	expect_accept(rl_call_start(&t, &trunk, 0));
	expect_reject(rl_call_start(&t, &trunk, 0), 503, "Service Unavailable", rl_why_cps, 1);
	expect_reject(rl_call_start(&t, &trunk, 999), 503, "Service Unavailable", rl_why_cps, 1);
	expect_accept(rl_call_start(&t, &trunk, 1000));
	assert_int_equal(rl_calls(&t, &trunk), 3); /* unlimited concurrency here */
	rl_table_fini(&t);
}

/* ---- ratelimit: the bounded table ---- */

static const struct rl_config evict_cfg = {
	.request = { RL_PER_SEC(1), 1 },
	.ban_after = 1,
	.overrun_window_ms = 1000,
	.ban_ms = 10000,
};

static void eviction_takes_the_least_recently_seen_unprotected_entry(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &evict_cfg, 3, seed_a), 0);
	struct rl_key a = name_key("a"), b = name_key("b"), c = name_key("c"), d = name_key("d");
	expect_accept(rl_request(&t, &a, 0));
	expect_accept(rl_request(&t, &b, 1));
	expect_accept(rl_request(&t, &c, 2));
	rl_auth_success(&t, &a, 3); /* any decision counts as activity */
	expect_accept(rl_request(&t, &d, 4));
	assert_true(rl_table_has(&t, &a));
	assert_false(rl_table_has(&t, &b)); /* idle the longest */
	assert_true(rl_table_has(&t, &c));
	assert_true(rl_table_has(&t, &d));
	assert_int_equal(rl_table_count(&t), 3);
	/* the evicted key comes back as a new, fresh entry */
	expect_accept(rl_request(&t, &b, 5));
	assert_false(rl_table_has(&t, &c));
	rl_table_fini(&t);
}

static void eviction_spares_bans_and_live_calls_then_refuses(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &evict_cfg, 3, seed_a), 0);
	struct rl_key a = name_key("banned"), b = name_key("in-call"), c = name_key("idle");
	struct rl_key d = name_key("new-1"), e = name_key("new-2"), f = name_key("new-3");
	expect_accept(rl_request(&t, &a, 0));
	expect_reject(rl_request(&t, &a, 0), 403, "Forbidden", rl_why_ban_started, 0);
	expect_accept(rl_call_start(&t, &b, 1));
	expect_accept(rl_request(&t, &c, 2));
	/* a and b are older than c, but protected */
	expect_accept(rl_request(&t, &d, 3));
	assert_false(rl_table_has(&t, &c));
	expect_accept(rl_request(&t, &e, 4));
	assert_false(rl_table_has(&t, &d));
	expect_reject(rl_request(&t, &e, 4), 403, "Forbidden", rl_why_ban_started, 0);
	/* now everything is protected: not tracked, 503 until the first ban ends */
	expect_reject(rl_request(&t, &f, 5), 503, "Service Unavailable", rl_why_table_full, 10);
	expect_reject(rl_call_start(&t, &f, 6), 503, "Service Unavailable", rl_why_table_full, 10);
	expect_reject(rl_auth_failure(&t, &f, 6), 503, "Service Unavailable", rl_why_table_full,
		      10);
	assert_false(rl_table_has(&t, &f));
	assert_true(rl_table_has(&t, &a) && rl_table_has(&t, &b) && rl_table_has(&t, &e));
	assert_int_equal(rl_table_count(&t), 3);
	/* the call ends: that entry may go at once */
	rl_call_end(&t, &b, 7);
	expect_accept(rl_request(&t, &f, 7));
	assert_false(rl_table_has(&t, &b));
	assert_true(rl_table_has(&t, &a));
	rl_table_fini(&t);
}

static void full_table_admits_again_when_a_ban_ends(void **state)
{
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &evict_cfg, 2, seed_b), 0);
	struct rl_key a = addr_key("192.0.2.1"), b = addr_key("192.0.2.2"), c = addr_key("192.0.2.3");
	expect_accept(rl_request(&t, &a, 0));
	expect_reject(rl_request(&t, &a, 0), 403, "Forbidden", rl_why_ban_started, 0);
	expect_accept(rl_request(&t, &b, 1));
	expect_reject(rl_request(&t, &b, 1), 403, "Forbidden", rl_why_ban_started, 0);
	expect_reject(rl_request(&t, &c, 100), 503, "Service Unavailable", rl_why_table_full, 10);
	expect_reject(rl_request(&t, &c, 9999), 503, "Service Unavailable", rl_why_table_full, 1);
	expect_accept(rl_request(&t, &c, 10000)); /* a's ban is over: a goes */
	assert_false(rl_table_has(&t, &a));
	assert_true(rl_table_has(&t, &b));

	/* only live calls: Retry-After is the calls value */
	struct rl_config cc = { .max_calls = 1 };
	struct rl_table u;
	assert_int_equal(rl_table_init(&u, &cc, 1, seed_b), 0);
	expect_accept(rl_call_start(&u, &a, 0));
	expect_reject(rl_call_start(&u, &b, 0), 503, "Service Unavailable", rl_why_table_full,
		      RL_CALLS_RETRY_AFTER);
	expect_reject(rl_request(&u, &b, 50000), 503, "Service Unavailable", rl_why_table_full,
		      RL_CALLS_RETRY_AFTER);
	rl_call_end(&u, &a, 50001);
	expect_accept(rl_call_start(&u, &b, 50001));
	rl_table_fini(&u);
	rl_table_fini(&t);
}

/* Runs one scripted workload and records every verdict: 11 hot keys hit
 * about 27 times a second each with every kind of decision in turn (refusals
 * of every kind), and a stream of cold keys through the 16-entry table
 * (evictions). */
static void workload(struct rl_table *t, struct verdict *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t now = 3 * (uint64_t)i;
		char name[16];
		if (i % 10 == 9) {
			snprintf(name, sizeof(name), "cold%u", (unsigned)(i / 10 % 40));
			struct rl_key c = name_key(name);
			out[i] = rl_request(t, &c, now);
			continue;
		}
		snprintf(name, sizeof(name), "user%u", (unsigned)((i * 7) % 11));
		struct rl_key k = name_key(name);
		switch (i % 5) {
		case 0:
		case 1: out[i] = rl_request(t, &k, now); break;
		case 2: out[i] = rl_call_start(t, &k, now); break;
		case 3: out[i] = rl_auth_failure(t, &k, now); break;
		default:
			if (i % 60 == 4) /* calls end less often than they start */
				rl_call_end(t, &k, now);
			out[i] = rl_auth_check(t, &k, now);
			break;
		}
	}
}

static void hash_seed_moves_keys_but_not_results(void **state)
{
	struct rl_config cfg = { .request = { RL_PER_SEC(2), 2 },
				 .ban_after = 2,
				 .overrun_window_ms = 5000,
				 .ban_ms = 3000,
				 .auth_fail_max = 3,
				 .auth_window_ms = 4000,
				 .max_calls = 2,
				 .calls = { RL_PER_SEC(1), 1 } };
	struct rl_table x, y;
	assert_int_equal(rl_table_init(&x, &cfg, 16, seed_a), 0);
	assert_int_equal(rl_table_init(&y, &cfg, 16, seed_b), 0);
	unsigned moved = 0;
	for (unsigned i = 0; i < 64; i++) {
		char name[16];
		snprintf(name, sizeof(name), "user%u", i);
		struct rl_key k = name_key(name);
		if (rl_table_bucket(&x, &k) != rl_table_bucket(&y, &k))
			moved++;
		assert_true(rl_table_bucket(&x, &k) < 16);
	}
	assert_true(moved > 32);

	enum { N = 2000 };
	static struct verdict vx[N], vy[N];
	workload(&x, vx, N);
	workload(&y, vy, N);
	static const char *const whys[] = { rl_why_rate, rl_why_ban_started, rl_why_banned,
					    rl_why_lockout_started, rl_why_locked_out, rl_why_calls,
					    rl_why_cps };
	unsigned seen[sizeof(whys) / sizeof(whys[0])] = { 0 }, accepted = 0;
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(vx[i].kind, vy[i].kind);
		assert_int_equal(vx[i].status, vy[i].status);
		assert_ptr_equal(vx[i].why, vy[i].why);
		assert_int_equal(vx[i].retry_after, vy[i].retry_after);
		accepted += vx[i].kind == VERDICT_ACCEPT;
		for (size_t w = 0; w < sizeof(whys) / sizeof(whys[0]); w++)
			seen[w] += vx[i].why == whys[w];
	}
	/* the workload exercised acceptance and every kind of refusal */
	assert_true(accepted > 0);
	for (size_t w = 0; w < sizeof(whys) / sizeof(whys[0]); w++)
		if (seen[w] == 0)
			fail_msg("no \"%s\" in the workload", whys[w]);
	assert_int_equal(rl_table_count(&x), rl_table_count(&y));
	rl_table_fini(&x);
	rl_table_fini(&y);
}

/* ---- sips ---- */

/* A softphone calling a SIPS AOR: sips Request-URI and To, sips Contact. */
static const char sips_invite[] =
	"INVITE sips:bob@biloxi.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bKnashds8\r\n"
	"Max-Forwards: 70\r\n"
	"To: Bob <sips:bob@biloxi.example.com>\r\n"
	"From: Alice <sips:alice@atlanta.example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sips:alice@pc33.atlanta.example.com>\r\n"
	"User-Agent: Linphone/5.2.0\r\n"
	"Content-Length: 0\r\n\r\n";

/* Retargeted: sip Request-URI, but the caller asked for sips in To. */
static const char sips_to_invite[] =
	"INVITE sip:bob@192.0.2.20:5090 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bK776asdhds\r\n"
	"Max-Forwards: 69\r\n"
	"To: Bob <sips:bob@biloxi.example.com>\r\n"
	"From: Alice <sips:alice@atlanta.example.com>;tag=1928301774\r\n"
	"Call-ID: b84b4c76e66710@pc33.atlanta.example.com\r\n"
	"CSeq: 1 INVITE\r\n"
	"Contact: <sip:alice@192.0.2.30:5060>\r\n"
	"Content-Length: 0\r\n\r\n";

/* A sip Request-URI routed through a sips: loose Route. */
static const char sips_route_invite[] =
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bK776route\r\n"
	"Max-Forwards: 69\r\n"
	"Route: <sips:gw.example.com;lr>\r\n"
	"To: Bob <sip:bob@biloxi.example.com>\r\n"
	"From: Alice <sip:alice@atlanta.example.com>;tag=88sja8x\r\n"
	"Call-ID: c84b4c76e66710@pc33.atlanta.example.com\r\n"
	"CSeq: 1 INVITE\r\n"
	"Contact: <sip:alice@192.0.2.30:5060>\r\n"
	"Content-Length: 0\r\n\r\n";

static const char plain_invite[] =
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.10:5090;branch=z9hG4bKplain1;rport\r\n"
	"Max-Forwards: 70\r\n"
	"To: Bob <sip:bob@biloxi.example.com>\r\n"
	"From: Alice <sip:alice@atlanta.example.com>;tag=77ab\r\n"
	"Call-ID: d84b4c76e66710@192.0.2.10\r\n"
	"CSeq: 1 INVITE\r\n"
	"Contact: <sip:alice@192.0.2.10:5090>\r\n"
	"Content-Length: 0\r\n\r\n";

static const char *const tl_phrase = "Temporarily Unavailable";

static void sips_request_over_udp_or_tcp_is_480(void **state)
{
	msg_t *m = parse(sips_invite);
	sip_t const *sip = sip_object(m);
	assert_true(sips_required(sip));
	struct sips_ctx udp = { .next_hop_tls = true };
	expect_reject(sips_check_inbound(sip, &udp), 480, tl_phrase, sips_why_in_insecure, 0);
	expect_reject(sips_check(sip, &udp), 480, tl_phrase, sips_why_in_insecure, 0);
	/* TCP is not TLS either: no last-hop exception (RFC 5630) */
	struct sips_ctx tcp = { .in_tls = false, .next_hop_tls = true };
	expect_reject(sips_check(sip, &tcp), 480, tl_phrase, sips_why_in_insecure, 0);
	/* missing context fails closed */
	expect_reject(sips_check_inbound(sip, NULL), 480, tl_phrase, sips_why_in_insecure, 0);
	expect_reject(sips_check_outbound(sip, NULL), 480, tl_phrase, sips_why_out_insecure, 0);
	assert_int_equal(SIPS_WARN_CODE, 380);
	msg_destroy(m);
}

static void sips_to_with_sip_request_uri_requires_tls(void **state)
{
	msg_t *m = parse(sips_to_invite);
	sip_t const *sip = sip_object(m);
	assert_int_equal(sip->sip_request->rq_url->url_type, url_sip);
	assert_true(sips_required(sip));
	struct sips_ctx udp = { .next_hop_tls = true };
	expect_reject(sips_check(sip, &udp), 480, tl_phrase, sips_why_in_insecure, 0);
	struct sips_ctx tls_out_udp = { .in_tls = true, .next_hop_tls = false };
	expect_reject(sips_check(sip, &tls_out_udp), 480, tl_phrase, sips_why_out_insecure, 0);
	struct sips_ctx tls_both = { .in_tls = true, .next_hop_tls = true };
	expect_accept(sips_check(sip, &tls_both));
	msg_destroy(m);
}

static void sips_over_tls_to_non_tls_next_hop_is_480(void **state)
{
	msg_t *m = parse(sips_invite);
	sip_t const *sip = sip_object(m);
	struct sips_ctx ctx = { .in_tls = true, .in_cert_verified = true, .next_hop_tls = false };
	expect_accept(sips_check_inbound(sip, &ctx));
	expect_reject(sips_check_outbound(sip, &ctx), 480, tl_phrase, sips_why_out_insecure, 0);
	expect_reject(sips_check(sip, &ctx), 480, tl_phrase, sips_why_out_insecure, 0);
	ctx.next_hop_tls = true;
	expect_accept(sips_check(sip, &ctx));
	msg_destroy(m);
}

static void plain_sip_over_any_transport_is_allowed(void **state)
{
	msg_t *m = parse(plain_invite);
	sip_t const *sip = sip_object(m);
	assert_false(sips_required(sip));
	struct sips_ctx udp = { 0 };
	expect_accept(sips_check(sip, &udp));
	/* best-effort TLS in, plain out is not a SIPS downgrade */
	struct sips_ctx tls_in = { .in_tls = true };
	expect_accept(sips_check(sip, &tls_in));
	struct sips_ctx tls_out = { .next_hop_tls = true };
	expect_accept(sips_check(sip, &tls_out));
	msg_destroy(m);
}

static void leg_requiring_tls_refuses_udp_and_tcp_with_403(void **state)
{
	msg_t *m = parse(plain_invite);
	sip_t const *sip = sip_object(m);
	struct sips_ctx ctx = { .leg_requires_tls = true };
	expect_reject(sips_check(sip, &ctx), 403, "Forbidden", sips_why_leg_tls, 0);
	ctx.in_tls = true;
	expect_accept(sips_check(sip, &ctx));
	msg_destroy(m);
	/* the leg rule comes before the SIPS rule */
	m = parse(sips_invite);
	struct sips_ctx s = { .leg_requires_tls = true, .next_hop_tls = true };
	expect_reject(sips_check(sip_object(m), &s), 403, "Forbidden", sips_why_leg_tls, 0);
	msg_destroy(m);
}

static void leg_requiring_a_client_certificate(void **state)
{
	msg_t *m = parse(sips_invite);
	sip_t const *sip = sip_object(m);
	struct sips_ctx ctx = { .in_tls = true, .leg_requires_cert = true, .next_hop_tls = true };
	expect_reject(sips_check(sip, &ctx), 403, "Forbidden", sips_why_leg_cert, 0);
	ctx.in_cert_verified = true;
	expect_accept(sips_check(sip, &ctx));
	/* a "verified" flag without TLS means nothing */
	struct sips_ctx udp = { .in_cert_verified = true, .leg_requires_cert = true };
	expect_reject(sips_check_inbound(sip, &udp), 403, "Forbidden", sips_why_leg_cert, 0);
	msg_destroy(m);
}

static void sips_route_followed_without_tls_is_480(void **state)
{
	msg_t *m = parse(sips_route_invite);
	sip_t const *sip = sip_object(m);
	assert_false(sips_required(sip));
	struct sips_ctx udp = { 0 };
	expect_reject(sips_check_inbound(sip, &udp), 480, tl_phrase, sips_why_route_insecure, 0);
	struct sips_ctx tls = { .in_tls = true };
	expect_accept(sips_check(sip, &tls));
	msg_destroy(m);
}

static void sips_scheme_is_read_from_the_parsed_uri(void **state)
{
	/* upper-case scheme, as Sofia parses it */
	msg_t *m = invite("SIPS:bob@biloxi.example.com", "sip:bob@biloxi.example.com", NULL);
	sip_t const *sip = sip_object(m);
	assert_int_equal(sip->sip_request->rq_url->url_type, url_sips);
	assert_true(sips_required(sip));
	struct sips_ctx udp = { .next_hop_tls = true };
	expect_reject(sips_check(sip, &udp), 480, tl_phrase, sips_why_in_insecure, 0);
	msg_destroy(m);
	/* a tel: Request-URI with a sips To still counts */
	m = invite("tel:+15551234567", "sips:+15551234567@gw.example.com;user=phone", NULL);
	assert_true(sips_required(sip_object(m)));
	msg_destroy(m);
	/* responses never require anything */
	m = parse("SIP/2.0 200 OK\r\n"
		  "Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bKnashds8\r\n"
		  "To: Bob <sips:bob@biloxi.example.com>;tag=a6c85cf\r\n"
		  "From: Alice <sips:alice@atlanta.example.com>;tag=1928301774\r\n"
		  "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
		  "CSeq: 314159 INVITE\r\n"
		  "Content-Length: 0\r\n\r\n");
	assert_false(sips_required(sip_object(m)));
	assert_false(sips_required(NULL));
	msg_destroy(m);
}

static int setup(void **state) { return sipmsg_init(); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(net_parse_ipv4_prefix_and_host),
		cmocka_unit_test(net_parse_ipv6_and_mapped),
		cmocka_unit_test(net_parse_refuses_bad_input_with_reason),
		cmocka_unit_test(net_match_ipv4_boundaries),
		cmocka_unit_test(net_match_ipv6_and_mapped_sources),
		cmocka_unit_test(acl_deny_list_wins_over_allow_list),
		cmocka_unit_test(acl_allow_list_refuses_everyone_else),
		cmocka_unit_test(every_default_scanner_ua_is_refused),
		cmocka_unit_test(ordinary_or_missing_user_agent_passes),
		cmocka_unit_test(setup_cap_is_503_with_retry_after),
		cmocka_unit_test(bucket_burst_then_exact_refill_boundary),
		cmocka_unit_test(bucket_fractional_rate_has_no_drift),
		cmocka_unit_test(bucket_clock_steps_and_huge_gaps),
		cmocka_unit_test(siphash_reference_vectors),
		cmocka_unit_test(keys_ignore_ports_and_group_ipv6_by_64),
		cmocka_unit_test(name_keys_have_a_length_limit),
		cmocka_unit_test(remote_bans_and_calls),
		cmocka_unit_test(over_rate_is_503_with_exact_retry_after),
		cmocka_unit_test(ban_starts_after_repeated_overruns_and_expires),
		cmocka_unit_test(ban_is_extended_while_the_source_keeps_flooding),
		cmocka_unit_test(ban_check_reads_without_taking),
		cmocka_unit_test(overruns_spread_beyond_the_window_do_not_ban),
		cmocka_unit_test(lockout_after_n_failures_and_expiry),
		cmocka_unit_test(failures_outside_the_window_do_not_lock),
		cmocka_unit_test(user_source_pairs_are_their_own_keys),
		cmocka_unit_test(success_resets_the_user_count),
		cmocka_unit_test(concurrent_limit_and_decrement_never_below_zero),
		cmocka_unit_test(calls_per_second_is_503_with_retry_after),
		cmocka_unit_test(eviction_takes_the_least_recently_seen_unprotected_entry),
		cmocka_unit_test(eviction_spares_bans_and_live_calls_then_refuses),
		cmocka_unit_test(full_table_admits_again_when_a_ban_ends),
		cmocka_unit_test(hash_seed_moves_keys_but_not_results),
		cmocka_unit_test(sips_request_over_udp_or_tcp_is_480),
		cmocka_unit_test(sips_to_with_sip_request_uri_requires_tls),
		cmocka_unit_test(sips_over_tls_to_non_tls_next_hop_is_480),
		cmocka_unit_test(plain_sip_over_any_transport_is_allowed),
		cmocka_unit_test(leg_requiring_tls_refuses_udp_and_tcp_with_403),
		cmocka_unit_test(leg_requiring_a_client_certificate),
		cmocka_unit_test(sips_route_followed_without_tls_is_480),
		cmocka_unit_test(sips_scheme_is_read_from_the_parsed_uri),
	};
	return cmocka_run_group_tests_name("policy_admit", tests, setup, NULL);
}
