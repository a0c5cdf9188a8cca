/* The STIR token library (gateway/stir: tn, passport, identity_hdr, verify,
 * rfc4474) on known vectors and on what an attacker sends. Expected bytes
 * are written out here, not computed with the code under test: the
 * canonical JSON test fails if a key is out of order, whitespace creeps in
 * or iat becomes a string; the base64url tests fail if padding, the '+' '/'
 * alphabet or nonzero trailing bits are accepted; the malformed cases fail
 * if a duplicated key, a deep nesting, a truncated token or a missing info
 * parameter gets through; the verify cases fail if the freshness bounds or
 * the orig/dest comparisons are loosened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stir/identity_hdr.h"
#include "stir/passport.h"
#include "stir/result.h"
#include "stir/rfc4474.h"
#include "stir/tn.h"
#include "stir/verify.h"

#define NOW 1700000000
#define X5U "https://cert.example.org/passport.pem"
#define ORIGID "123e4567-e89b-12d3-a456-426655440000"

static const char header_json[] =
	"{\"alg\":\"ES256\",\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"" X5U "\"}";
static const char claims_json[] = "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12155550131\"]},"
				  "\"iat\":1443208345,\"orig\":{\"tn\":\"12155550112\"},"
				  "\"origid\":\"" ORIGID "\"}";

static struct stir_party tn(const char *digits)
{
	struct stir_party p = { .is_uri = false };
	snprintf(p.value, sizeof(p.value), "%s", digits);
	return p;
}

static struct stir_party uri(const char *u)
{
	struct stir_party p = { .is_uri = true };
	snprintf(p.value, sizeof(p.value), "%s", u);
	return p;
}

static struct stir_claims shaken_claims(void)
{
	struct stir_claims c = { .attest = STIR_ATTEST_A, .n_dest = 1, .iat = 1443208345,
				 .shaken = true };
	snprintf(c.x5u, sizeof(c.x5u), "%s", X5U);
	snprintf(c.origid, sizeof(c.origid), "%s", ORIGID);
	c.orig = tn("12155550112");
	c.dest[0] = tn("12155550131");
	return c;
}

static void fake_sig(uint8_t sig[STIR_ES256_SIG_LEN])
{
	for (unsigned i = 0; i < STIR_ES256_SIG_LEN; i++)
		sig[i] = (uint8_t)(i * 7 + 1);
}

/* "b64url(h).b64url(c).b64url(sig)" from JSON texts given here verbatim. */
static size_t token_of(const char *h, const char *c, char *out, size_t outlen)
{
	uint8_t sig[STIR_ES256_SIG_LEN];
	fake_sig(sig);
	size_t a = stir_b64url_encode((const uint8_t *)h, strlen(h), out, outlen);
	assert_true(a != (size_t)-1);
	out[a++] = '.';
	size_t b = stir_b64url_encode((const uint8_t *)c, strlen(c), out + a, outlen - a);
	assert_true(b != (size_t)-1);
	a += b;
	out[a++] = '.';
	b = stir_b64url_encode(sig, sizeof(sig), out + a, outlen - a);
	assert_true(b != (size_t)-1);
	return a + b;
}

static enum stir_result parse_token_json(const char *h, const char *c)
{
	char tok[3 * STIR_TOKEN_MAX];
	size_t n = token_of(h, c, tok, sizeof(tok));
	struct stir_token t;
	return stir_passport_parse(tok, n, &t);
}

static enum stir_result parse_hdr(const char *v, struct stir_identity *id)
{
	return stir_identity_parse(v, strlen(v), id);
}

/* ---- telephone numbers ---- */

static void expect_tn(const char *in, const char *cc, const char *want)
{
	char out[STIR_TN_MAX];
	bool ok = stir_tn_canon(in, strlen(in), cc, out);
	if (want == NULL) {
		if (ok)
			fail_msg("\"%s\" accepted as \"%s\"", in, out);
		return;
	}
	if (!ok)
		fail_msg("\"%s\" refused", in);
	assert_string_equal(out, want);
}

static void test_tn_canon(void **state)
{
	(void)state;
	expect_tn("+1-212-555-0100", "", "12125550100");
	expect_tn("+1 (212) 555.0100", "44", "12125550100"); /* global: no country code added */
	expect_tn("(212) 555-0100", "1", "12125550100");     /* national: country code added */
	expect_tn("2125550100", "", "2125550100");
	expect_tn("%2B1%20212%2D555%2e0100", "", "12125550100");
	expect_tn("%2b44%28020%29%207946%200000", "", "4402079460000");
	expect_tn("+12125550100;npdi;rn=+12125550000", "", "12125550100");
	expect_tn("2125550100;phone-context=+1", "", "2125550100");
	expect_tn("+123456789012345", "", "123456789012345"); /* 15 digits: E.164's limit */
	expect_tn("+1234567890123456", "", NULL);             /* 16 */
	expect_tn("12345678901234", "44", NULL);              /* 16 with the country code */
	expect_tn("alice", "", NULL);
	expect_tn("+1212555CALL", "", NULL);
	expect_tn("*67", "", NULL);
	expect_tn("%2A67", "", NULL);
	expect_tn("#31#", "", NULL);
	expect_tn("%2367", "", NULL);
	expect_tn("", "", NULL);
	expect_tn("+", "", NULL);
	expect_tn("-().", "", NULL);
	expect_tn(";phone-context=+1", "", NULL);
	expect_tn("1+2125550100", "", NULL);
	expect_tn("++12125550100", "", NULL);
	expect_tn("%2", "", NULL);
	expect_tn("12%zz", "", NULL);
	expect_tn("12%00", "", NULL);
	expect_tn("2125550100", "1a", NULL); /* a broken country code is refused, not used */
	char out[STIR_TN_MAX];
	assert_false(stir_tn_canon("12\0" "34", 5, "", out)); /* embedded NUL */
}

/* ---- base64url ---- */

static void test_b64url_vectors(void **state)
{
	(void)state;
	/* RFC 4648 §10, without the padding RFC 7515 §2 drops. */
	static const char *const vec[][2] = { { "", "" },	  { "f", "Zg" },
					      { "fo", "Zm8" },	  { "foo", "Zm9v" },
					      { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
					      { "foobar", "Zm9vYmFy" } };
	char enc[32];
	uint8_t dec[32];
	for (unsigned i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t n = strlen(vec[i][0]);
		assert_int_equal(stir_b64url_encode((const uint8_t *)vec[i][0], n, enc, sizeof(enc)),
				 strlen(vec[i][1]));
		assert_string_equal(enc, vec[i][1]);
		assert_int_equal(stir_b64url_decode(vec[i][1], strlen(vec[i][1]), dec, sizeof(dec)), n);
		assert_memory_equal(dec, vec[i][0], n);
	}
	/* The URL alphabet: 0xfb 0xff is "+/8=" in standard base64. */
	static const uint8_t hi[] = { 0xfb, 0xff };
	assert_int_equal(stir_b64url_encode(hi, 2, enc, sizeof(enc)), 3);
	assert_string_equal(enc, "-_8");
	assert_int_equal(stir_b64url_decode("-_8", 3, dec, sizeof(dec)), 2);
	assert_memory_equal(dec, hi, 2);
	/* Output space is respected, NUL included. */
	assert_int_equal(stir_b64url_encode((const uint8_t *)"foo", 3, enc, 4), (size_t)-1);
	assert_int_equal(stir_b64url_decode("Zm9vYmFy", 8, dec, 5), (size_t)-1);
}

static void test_b64url_refusals(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Zg==", "Zm8=", "Zg=", /* padding */
		"+_8",	"-/8",	       /* standard alphabet */
		"Zh",	"Zm9",	       /* nonzero trailing bits */
		"Z",	"Zm9vY", "A", "Zm9vA", /* a lone sixth of a byte */
		" Zg",	"Zg\n", "Z g", "Zg.", "Zm9v\x80", /* whitespace, junk */
	};
	uint8_t dec[32];
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (stir_b64url_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)) != (size_t)-1)
			fail_msg("\"%s\" decoded", bad[i]);
	assert_int_equal(stir_b64url_decode("Zg\0", 3, dec, sizeof(dec)), (size_t)-1);
}

/* ---- canonical JSON ---- */

static void test_canonical_json(void **state)
{
	(void)state;
	struct stir_claims c = shaken_claims();
	char input[STIR_TOKEN_MAX];
	size_t n = stir_passport_signing_input(&c, input, sizeof(input));
	assert_true(n > 0);
	assert_int_equal(strlen(input), n);
	/* RFC 8588's example header, base64url'd by hand. */
	const char *want_h = "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1"
			     "IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LnBlbSJ9";
	assert_memory_equal(input, want_h, strlen(want_h));
	assert_int_equal(input[strlen(want_h)], '.');

	char json[STIR_TOKEN_MAX];
	const char *dot = strchr(input, '.');
	size_t hl = stir_b64url_decode(input, (size_t)(dot - input), (uint8_t *)json, sizeof(json));
	assert_int_equal(hl, strlen(header_json));
	assert_memory_equal(json, header_json, hl);
	size_t cl = stir_b64url_decode(dot + 1, n - (size_t)(dot + 1 - input), (uint8_t *)json,
				       sizeof(json));
	assert_int_equal(cl, strlen(claims_json));
	assert_memory_equal(json, claims_json, cl);

	/* Non-SHAKEN, uri forms, two dests of both kinds: no ppt, attest or origid. */
	struct stir_claims u = { .n_dest = 3, .iat = 0 };
	snprintf(u.x5u, sizeof(u.x5u), "%s", X5U);
	u.orig = uri("sip:alice@example.com");
	u.dest[0] = uri("sip:bob@example.org");
	u.dest[1] = tn("12155550131");
	u.dest[2] = tn("12155550132");
	n = stir_passport_signing_input(&u, input, sizeof(input));
	assert_true(n > 0);
	dot = strchr(input, '.');
	hl = stir_b64url_decode(input, (size_t)(dot - input), (uint8_t *)json, sizeof(json));
	json[hl] = '\0';
	assert_string_equal(json, "{\"alg\":\"ES256\",\"typ\":\"passport\",\"x5u\":\"" X5U "\"}");
	cl = stir_b64url_decode(dot + 1, n - (size_t)(dot + 1 - input), (uint8_t *)json,
				sizeof(json));
	json[cl] = '\0';
	assert_string_equal(json, "{\"dest\":{\"tn\":[\"12155550131\",\"12155550132\"],"
				  "\"uri\":[\"sip:bob@example.org\"]},\"iat\":0,"
				  "\"orig\":{\"uri\":\"sip:alice@example.com\"}}");
}

static void test_signing_input_refusals(void **state)
{
	(void)state;
	char input[STIR_TOKEN_MAX];
	struct stir_claims c = shaken_claims();
	assert_int_equal(stir_passport_signing_input(&c, input, 40), 0); /* does not fit */
	c.orig = tn("1215555011a");
	assert_int_equal(stir_passport_signing_input(&c, input, sizeof(input)), 0);
	c = shaken_claims();
	c.n_dest = 0;
	assert_int_equal(stir_passport_signing_input(&c, input, sizeof(input)), 0);
	c.n_dest = STIR_MAX_DEST + 1;
	assert_int_equal(stir_passport_signing_input(&c, input, sizeof(input)), 0);
	c = shaken_claims();
	c.attest = STIR_ATTEST_NONE;
	assert_int_equal(stir_passport_signing_input(&c, input, sizeof(input)), 0);
	c = shaken_claims();
	c.origid[0] = '\0';
	assert_int_equal(stir_passport_signing_input(&c, input, sizeof(input)), 0);
	c = shaken_claims();
	c.x5u[0] = '\0';
	assert_int_equal(stir_passport_signing_input(&c, input, sizeof(input)), 0);
	c = shaken_claims();
	c.orig = uri("sip:\xff\xfe@example.com"); /* not UTF-8: jansson refuses it */
	assert_int_equal(stir_passport_signing_input(&c, input, sizeof(input)), 0);
}

/* ---- the Identity header ---- */

static size_t make_identity(const struct stir_claims *c, char *out, size_t outlen)
{
	char input[STIR_TOKEN_MAX];
	uint8_t sig[STIR_ES256_SIG_LEN];
	fake_sig(sig);
	size_t n = stir_passport_signing_input(c, input, sizeof(input));
	assert_true(n > 0);
	size_t m = stir_identity_format(input, n, sig, c->x5u, c->shaken, out, outlen);
	assert_true(m > 0);
	return m;
}

static void test_identity_round_trip(void **state)
{
	(void)state;
	struct stir_claims c = shaken_claims();
	char hdr[2 * STIR_TOKEN_MAX];
	size_t n = make_identity(&c, hdr, sizeof(hdr));
	assert_int_equal(strlen(hdr), n);
	const char *tail = ";info=<" X5U ">;alg=ES256;ppt=shaken";
	assert_string_equal(hdr + n - strlen(tail), tail);

	struct stir_identity id;
	assert_int_equal(stir_identity_parse(hdr, n, &id), STIR_PASSED);
	assert_false(id.compact);
	assert_string_equal(id.info, X5U);
	assert_string_equal(id.alg, "ES256");
	assert_string_equal(id.ppt, "shaken");
	assert_string_equal(id.token.alg, "ES256");
	assert_string_equal(id.token.ppt, "shaken");
	uint8_t sig[STIR_ES256_SIG_LEN];
	fake_sig(sig);
	assert_memory_equal(id.token.sig, sig, sizeof(sig));
	assert_ptr_equal(id.token.input, hdr);
	char input[STIR_TOKEN_MAX];
	size_t in_len = stir_passport_signing_input(&c, input, sizeof(input));
	assert_int_equal(id.token.input_len, in_len);
	assert_memory_equal(id.token.input, input, in_len);
	const struct stir_claims *p = &id.token.claims;
	assert_string_equal(p->x5u, X5U);
	assert_int_equal(p->attest, STIR_ATTEST_A);
	assert_false(p->orig.is_uri);
	assert_string_equal(p->orig.value, "12155550112");
	assert_int_equal(p->n_dest, 1);
	assert_string_equal(p->dest[0].value, "12155550131");
	assert_int_equal(p->iat, 1443208345);
	assert_string_equal(p->origid, ORIGID);
	assert_true(p->shaken);

	/* Whitespace and case the SIP grammar allows, extension parameters. */
	char loose[2 * STIR_TOKEN_MAX];
	size_t tl = id.token.input_len + 1 + 86;
	snprintf(loose, sizeof(loose), "  %.*s ; INFO = <" X5U "> ;ext;Alg=ES256;x=\"y\";z=<a;b>  ",
		 (int)tl, hdr);
	assert_int_equal(parse_hdr(loose, &id), STIR_PASSED);
	assert_string_equal(id.info, X5U);
	/* info may hold ';' inside its brackets. */
	snprintf(loose, sizeof(loose), "%.*s;info=<https://c.example/a;b=c>", (int)tl, hdr);
	assert_int_equal(parse_hdr(loose, &id), STIR_PASSED);
	assert_string_equal(id.info, "https://c.example/a;b=c");
}

static void test_identity_compact(void **state)
{
	(void)state;
	struct stir_claims c = { .n_dest = 1, .iat = NOW };
	snprintf(c.x5u, sizeof(c.x5u), "%s", X5U);
	c.orig = tn("12155550112");
	c.dest[0] = tn("12155550131");
	char full[2 * STIR_TOKEN_MAX];
	size_t n = make_identity(&c, full, sizeof(full));
	struct stir_identity fid;
	assert_int_equal(stir_identity_parse(full, n, &fid), STIR_PASSED);

	/* The compact form: the signature only, "..sig;info=<...>;alg=ES256". */
	char compact[512];
	const char *sig = full + fid.token.input_len + 1;
	snprintf(compact, sizeof(compact), "..%.86s;info=<" X5U ">;alg=ES256", sig);
	struct stir_identity id;
	assert_int_equal(parse_hdr(compact, &id), STIR_PASSED);
	assert_true(id.compact);
	assert_null(id.token.input);
	assert_memory_equal(id.token.sig, fid.token.sig, STIR_ES256_SIG_LEN);

	struct stir_expect e = { .orig = tn("12155550112"), .dest = tn("12155550131"),
				 .now = NOW, .date = NOW };
	struct stir_claims rebuilt;
	stir_claims_from_request(&e, e.date, id.info, &rebuilt);
	char input[STIR_TOKEN_MAX];
	size_t in_len = stir_passport_signing_input(&rebuilt, input, sizeof(input));
	assert_int_equal(in_len, fid.token.input_len);
	assert_memory_equal(input, fid.token.input, in_len);
	assert_int_equal(stir_verify_claims(&rebuilt, &e), STIR_PASSED);

	/* SHAKEN claims (attest, origid) cannot be rebuilt: not in compact form. */
	snprintf(compact, sizeof(compact), "..%.86s;info=<" X5U ">;alg=ES256;ppt=shaken", sig);
	assert_int_equal(parse_hdr(compact, &id), STIR_UNSUPPORTED);
	snprintf(compact, sizeof(compact), "..%.85s;info=<" X5U ">", sig);
	assert_int_equal(parse_hdr(compact, &id), STIR_MALFORMED);
	assert_int_equal(parse_hdr("..;info=<" X5U ">", &id), STIR_MALFORMED);
}

/* Every prefix of the token is refused: a truncated token never parses. */
static void test_identity_truncated(void **state)
{
	(void)state;
	struct stir_claims c = shaken_claims();
	char hdr[2 * STIR_TOKEN_MAX], cut[2 * STIR_TOKEN_MAX];
	make_identity(&c, hdr, sizeof(hdr));
	size_t tok = (size_t)(strchr(hdr, ';') - hdr);
	for (size_t k = 0; k < tok; k++) {
		snprintf(cut, sizeof(cut), "%.*s%s", (int)k, hdr, hdr + tok);
		struct stir_identity id;
		enum stir_result r = parse_hdr(cut, &id);
		if (r != STIR_MALFORMED)
			fail_msg("token cut at %zu: %d", k, r);
		assert_int_equal(id.info[0], '\0'); /* nothing left behind */
	}
	/* and the parameters cut inside <...> */
	for (size_t k = tok; k < tok + 7 + strlen(X5U) + 1; k++) {
		snprintf(cut, sizeof(cut), "%.*s", (int)k, hdr);
		struct stir_identity id;
		if (parse_hdr(cut, &id) != STIR_MALFORMED)
			fail_msg("header cut at %zu passed", k);
	}
}

static void test_identity_malformed(void **state)
{
	(void)state;
	struct stir_claims c = shaken_claims();
	char hdr[2 * STIR_TOKEN_MAX], v[3 * STIR_TOKEN_MAX];
	make_identity(&c, hdr, sizeof(hdr));
	int tok = (int)(strchr(hdr, ';') - hdr);
	struct stir_identity id;
	static const struct {
		const char *params;
		enum stir_result r;
	} cases[] = {
		{ "", STIR_MALFORMED },				/* no info */
		{ ";alg=ES256;ppt=shaken", STIR_MALFORMED },	/* no info */
		{ ";info=" X5U, STIR_MALFORMED },		/* no <> */
		{ ";info=<" X5U, STIR_MALFORMED },		/* unclosed */
		{ ";info=<ftp://cert.example.org/x.pem>", STIR_MALFORMED },
		{ ";info=<cid:1234@example.com>", STIR_MALFORMED },
		{ ";info=<https://>", STIR_MALFORMED },
		{ ";info=<https://a b/>", STIR_MALFORMED },
		{ ";info=<" X5U ">;info=<https://evil.example/>", STIR_MALFORMED },
		{ ";info", STIR_MALFORMED },
		{ ";info=<" X5U ">;alg=RS256", STIR_UNSUPPORTED },
		{ ";info=<" X5U ">;alg=none", STIR_UNSUPPORTED },
		{ ";info=<" X5U ">;alg=", STIR_MALFORMED },
		{ ";info=<" X5U ">;alg=ES256;alg=ES256", STIR_MALFORMED },
		{ ";info=<" X5U ">;ppt=div", STIR_UNSUPPORTED },
		{ ";info=<" X5U ">;ppt=\"shaken", STIR_MALFORMED },
		{ ";info=<" X5U "> junk", STIR_MALFORMED },
		{ ";info=<" X5U ">;;", STIR_MALFORMED },
		{ ";info=<" X5U ">;x=<unclosed", STIR_MALFORMED },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(v, sizeof(v), "%.*s%s", tok, hdr, cases[i].params);
		enum stir_result r = parse_hdr(v, &id);
		if (r != cases[i].r)
			fail_msg("case %u (%s): %d, want %d", i, cases[i].params, r, cases[i].r);
	}
	/* bad base64 in each part */
	snprintf(v, sizeof(v), "%.*s!;info=<" X5U ">", tok, hdr);
	assert_int_equal(parse_hdr(v, &id), STIR_MALFORMED);
	snprintf(v, sizeof(v), "+%.*s;info=<" X5U ">", tok - 1, hdr + 1);
	assert_int_equal(parse_hdr(v, &id), STIR_MALFORMED);
	snprintf(v, sizeof(v), "%.*s.AAAA;info=<" X5U ">", tok, hdr); /* a fourth part */
	assert_int_equal(parse_hdr(v, &id), STIR_MALFORMED);
	/* a 63-byte and a 65-byte signature */
	uint8_t sig[STIR_ES256_SIG_LEN + 1] = { 0 };
	char s[128];
	const char *dot2 = strrchr(hdr, '.');
	stir_b64url_encode(sig, 63, s, sizeof(s));
	snprintf(v, sizeof(v), "%.*s%s;info=<" X5U ">", (int)(dot2 + 1 - hdr), hdr, s);
	assert_int_equal(parse_hdr(v, &id), STIR_MALFORMED);
	stir_b64url_encode(sig, 65, s, sizeof(s));
	snprintf(v, sizeof(v), "%.*s%s;info=<" X5U ">", (int)(dot2 + 1 - hdr), hdr, s);
	assert_int_equal(parse_hdr(v, &id), STIR_MALFORMED);
	/* the parameter says shaken, the token does not */
	struct stir_claims plain = shaken_claims();
	plain.shaken = false;
	make_identity(&plain, hdr, sizeof(hdr));
	tok = (int)(strchr(hdr, ';') - hdr);
	snprintf(v, sizeof(v), "%.*s;info=<" X5U ">;ppt=shaken", tok, hdr);
	assert_int_equal(parse_hdr(v, &id), STIR_MALFORMED);
}

static void test_passport_malformed(void **state)
{
	(void)state;
	const char *h = header_json, *c = claims_json;
	assert_int_equal(parse_token_json(h, c), STIR_PASSED);
	/* header */
	assert_int_equal(parse_token_json("{\"alg\":\"RS256\",\"typ\":\"passport\",\"x5u\":\"" X5U
					  "\"}", c), STIR_UNSUPPORTED);
	assert_int_equal(parse_token_json("{\"alg\":\"none\",\"x5u\":\"" X5U "\"}", c),
			 STIR_UNSUPPORTED);
	assert_int_equal(parse_token_json("{\"typ\":\"passport\",\"x5u\":\"" X5U "\"}", c),
			 STIR_MALFORMED);
	assert_int_equal(parse_token_json("{\"alg\":1,\"x5u\":\"" X5U "\"}", c), STIR_MALFORMED);
	assert_int_equal(parse_token_json("{\"alg\":\"ES256\",\"ppt\":\"shaken\",\"typ\":\"JWT\","
					  "\"x5u\":\"" X5U "\"}", c), STIR_UNSUPPORTED);
	assert_int_equal(parse_token_json("{\"alg\":\"ES256\",\"crit\":[\"x\"],\"ppt\":\"shaken\","
					  "\"x5u\":\"" X5U "\"}", c), STIR_UNSUPPORTED);
	assert_int_equal(parse_token_json("{\"alg\":\"ES256\",\"ppt\":\"div\",\"x5u\":\"" X5U "\"}",
					  c), STIR_UNSUPPORTED);
	assert_int_equal(parse_token_json("{\"alg\":\"ES256\",\"ppt\":\"shaken\"}", c),
			 STIR_MALFORMED); /* no x5u */
	assert_int_equal(parse_token_json("{\"alg\":\"ES256\",\"ppt\":\"shaken\",\"x5u\":\"a\\u0001"
					  "b\"}", c), STIR_MALFORMED);
	/* duplicated keys: two readers could see two different claims */
	assert_int_equal(parse_token_json("{\"alg\":\"none\",\"alg\":\"ES256\",\"ppt\":\"shaken\","
					  "\"x5u\":\"" X5U "\"}", c), STIR_MALFORMED);
	assert_int_equal(parse_token_json(h, "{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,"
					     "\"orig\":{\"tn\":\"666\"},\"orig\":{\"tn\":\"2\"},"
					     "\"origid\":\"x\"}"), STIR_MALFORMED);
	/* wrong types and values */
	static const char *const bad_claims[] = {
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":\"1443208345\","
		"\"orig\":{\"tn\":\"2\"},\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1443208345.5,"
		"\"orig\":{\"tn\":\"2\"},\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1e9,\"orig\":{\"tn\":\"2\"},"
		"\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":-1,\"orig\":{\"tn\":\"2\"},"
		"\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":99999999999999999999,"
		"\"orig\":{\"tn\":\"2\"},\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"orig\":{\"tn\":\"2\"},\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":2},"
		"\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":\"2\",\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":\"2\","
		"\"uri\":\"sip:a@b\"},\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":\"evil\"},"
		"\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":\"1\"},\"iat\":1,\"orig\":{\"tn\":\"2\"},"
		"\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[]},\"iat\":1,\"orig\":{\"tn\":\"2\"},"
		"\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"],\"x\":[\"1\"]},\"iat\":1,"
		"\"orig\":{\"tn\":\"2\"},\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\",\"2\",\"3\",\"4\",\"5\"]},\"iat\":1,"
		"\"orig\":{\"tn\":\"2\"},\"origid\":\"x\"}",
		"{\"attest\":\"D\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":\"2\"},"
		"\"origid\":\"x\"}",
		"{\"attest\":\"AB\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":\"2\"},"
		"\"origid\":\"x\"}",
		"{\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":\"2\"},\"origid\":\"x\"}",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":\"2\"}}",
		"[\"attest\",\"A\"]",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":\"2\"},"
		"\"origid\":\"x\"",
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":\"2\"},"
		"\"origid\":\"x\"}x",
		/* nested junk among unknown claims */
		"{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,\"orig\":{\"tn\":\"2\"},"
		"\"origid\":\"x\",\"junk\":[[[[[[[[1]]]]]]]]}",
	};
	for (unsigned i = 0; i < sizeof(bad_claims) / sizeof(bad_claims[0]); i++) {
		enum stir_result r = parse_token_json(h, bad_claims[i]);
		if (r != STIR_MALFORMED)
			fail_msg("claims %u: %d (%s)", i, r, bad_claims[i]);
	}
	/* Unknown claims of reasonable depth are allowed (RFC 8225 §5.2). */
	assert_int_equal(parse_token_json(h, "{\"attest\":\"C\",\"dest\":{\"tn\":[\"1\"],\"uri\":"
					     "[\"sip:b@c\"]},\"iat\":1,\"orig\":{\"tn\":\"+1-2\"},"
					     "\"origid\":\"x\",\"rcd\":{\"nam\":\"A\"}}"),
			 STIR_PASSED);
}

static void test_passport_bounds(void **state)
{
	(void)state;
	/* A token above STIR_TOKEN_MAX, however well-formed its parts. */
	char pad[STIR_TOKEN_MAX];
	memset(pad, 'a', sizeof(pad));
	pad[sizeof(pad) - 1] = '\0';
	char claims[STIR_TOKEN_MAX + 200];
	snprintf(claims, sizeof(claims), "{\"attest\":\"A\",\"dest\":{\"tn\":[\"1\"]},\"iat\":1,"
		 "\"orig\":{\"tn\":\"2\"},\"origid\":\"x\",\"pad\":\"%.3000s\"}", pad);
	assert_int_equal(parse_token_json(header_json, claims), STIR_MALFORMED);
	char tok[STIR_TOKEN_MAX + 1];
	memset(tok, 'A', sizeof(tok));
	struct stir_token t;
	assert_int_equal(stir_passport_parse(tok, sizeof(tok), &t), STIR_MALFORMED);
	/* Nesting refused before the parser's recursion: ten thousand '['. */
	static char deep[12000];
	memset(deep, '[', sizeof(deep) - 1);
	char *b64 = malloc(3 * sizeof(deep));
	assert_non_null(b64);
	size_t n = stir_b64url_encode((const uint8_t *)deep, 3000, b64, 3 * sizeof(deep));
	b64[n++] = '.';
	memcpy(b64 + n, "e30.", 4); /* "{}" */
	assert_int_equal(stir_passport_parse(b64, n + 4, &t), STIR_MALFORMED);
	free(b64);
	assert_int_equal(stir_passport_parse("", 0, &t), STIR_MALFORMED);
	assert_int_equal(stir_passport_parse("..", 2, &t), STIR_MALFORMED);
	struct stir_identity id;
	assert_int_equal(parse_hdr("", &id), STIR_MALFORMED);
	assert_int_equal(parse_hdr(";info=<" X5U ">", &id), STIR_MALFORMED);
}

/* ---- claim checks ---- */

static struct stir_expect expect_of(void)
{
	return (struct stir_expect){ .orig = tn("12155550112"), .dest = tn("12155550131"),
				     .now = NOW, .date = -1, .max_age_s = 60 };
}

static void test_verify_claims(void **state)
{
	(void)state;
	struct stir_claims c = shaken_claims();
	struct stir_expect e = expect_of();
	c.iat = NOW - 10;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_PASSED);
	c.iat = NOW - 60;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_PASSED);
	c.iat = NOW - 61;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_STALE);
	c.iat = NOW + STIR_IAT_FUTURE_SKEW_S;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_PASSED);
	c.iat = NOW + STIR_IAT_FUTURE_SKEW_S + 1;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_STALE);
	c.iat = INT64_MAX;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_STALE);
	c.iat = INT64_MIN;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_STALE);
	e.max_age_s = 0; /* the default, 60 */
	c.iat = NOW - 61;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_STALE);
	c.iat = NOW - 59;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_PASSED);
	e.max_age_s = 300;
	c.iat = NOW - 200;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_PASSED);

	/* Date */
	e = expect_of();
	c.iat = NOW - 5;
	e.date = NOW - 5 + 60;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_PASSED);
	e.date = NOW - 5 + 61;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_DATE_MISMATCH);
	e.date = NOW - 5 - 61;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_DATE_MISMATCH);
	e.date = 0;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_DATE_MISMATCH);
	e.date = INT64_MAX;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_DATE_MISMATCH);

	/* orig */
	e = expect_of();
	e.orig = tn("12155550113");
	assert_int_equal(stir_verify_claims(&c, &e), STIR_ORIG_MISMATCH);
	e.orig = uri("12155550112"); /* same text, but a URI is not a number */
	assert_int_equal(stir_verify_claims(&c, &e), STIR_ORIG_MISMATCH);
	e.orig = tn("");
	c.orig = tn("");
	assert_int_equal(stir_verify_claims(&c, &e), STIR_ORIG_MISMATCH);

	/* dest */
	c = shaken_claims();
	c.iat = NOW;
	e = expect_of();
	e.dest = tn("12155550132");
	assert_int_equal(stir_verify_claims(&c, &e), STIR_DEST_MISMATCH);
	c.dest[1] = tn("12155550132");
	c.n_dest = 2;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_PASSED);
	c.n_dest = 1;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_DEST_MISMATCH);
	c.n_dest = 0;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_DEST_MISMATCH);
	e.dest = uri("sip:bob@example.org");
	c.dest[0] = uri("sip:bob@example.org");
	c.n_dest = 1;
	assert_int_equal(stir_verify_claims(&c, &e), STIR_PASSED);
}

/* ---- RFC 4474 ---- */

static void test_4474_digest_string(void **state)
{
	(void)state;
	static const char body[] = "v=0\r\no=UserA 2890844526 2890844526 IN IP4 pc33.atlanta."
				   "example.com\r\ns=Session SDP\r\nc=IN IP4 pc33.atlanta.example.com"
				   "\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
	struct stir_4474_fields f = {
		.from_addr = "sip:alice@atlanta.example.com",
		.to_addr = "sip:bob@biloxi.example.org",
		.call_id = "a84b4c76e66710",
		.cseq = "314159 INVITE",
		.date = "Thu, 21 Feb 2002 13:02:03 GMT",
		.contact = "sip:alice@pc33.atlanta.example.com",
		.body = body,
		.body_len = sizeof(body) - 1,
	};
	char out[1024];
	size_t n = stir_4474_digest_string(&f, out, sizeof(out));
	static const char want[] =
		"sip:alice@atlanta.example.com|sip:bob@biloxi.example.org|a84b4c76e66710|"
		"314159 INVITE|Thu, 21 Feb 2002 13:02:03 GMT|sip:alice@pc33.atlanta.example.com|"
		"v=0\r\no=UserA 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
		"s=Session SDP\r\nc=IN IP4 pc33.atlanta.example.com\r\nt=0 0\r\n"
		"m=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	/* No Contact, no body: the empty fields stay in place. */
	f.contact = "";
	f.body = NULL;
	f.body_len = 0;
	n = stir_4474_digest_string(&f, out, sizeof(out));
	assert_string_equal(out, "sip:alice@atlanta.example.com|sip:bob@biloxi.example.org|"
				 "a84b4c76e66710|314159 INVITE|Thu, 21 Feb 2002 13:02:03 GMT||");
	assert_int_equal(n, strlen(out));
	assert_int_equal(stir_4474_digest_string(&f, out, 20), 0); /* does not fit */
	/* A '|' in a field would shift every field after it. */
	f.call_id = "a84b|sip:evil@example.com";
	assert_int_equal(stir_4474_digest_string(&f, out, sizeof(out)), 0);
	f.call_id = "a84b\r\nX: y";
	assert_int_equal(stir_4474_digest_string(&f, out, sizeof(out)), 0);
	f.call_id = "";
	assert_int_equal(stir_4474_digest_string(&f, out, sizeof(out)), 0);
	f.call_id = NULL;
	assert_int_equal(stir_4474_digest_string(&f, out, sizeof(out)), 0);
}

static void test_4474_identity(void **state)
{
	(void)state;
	uint8_t sig[256], back[256];
	for (unsigned i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)(255 - i);
	char v[512];
	size_t n = stir_4474_identity_format(sig, sizeof(sig), v, sizeof(v));
	assert_int_equal(n, 2 + 344);
	assert_int_equal(v[0], '"');
	assert_int_equal(v[n - 1], '"');
	assert_int_equal(stir_4474_identity_parse(v, n, back, sizeof(back)), sizeof(sig));
	assert_memory_equal(back, sig, sizeof(sig));
	assert_int_equal(stir_4474_identity_format((const uint8_t *)"foob", 4, v, sizeof(v)), 10);
	assert_string_equal(v, "\"Zm9vYg==\"");
	assert_int_equal(stir_4474_identity_parse(" \"Zm9vYg==\" ", 12, back, sizeof(back)), 4);
	static const char *const bad[] = { "Zm9vYg==", "\"Zm9vYg\"", "\"Zm9v Yg==\"",
					   "\"Zm9vYh==\"", "\"Zm9v_-==\"", "\"Zm=vYg==\"", "\"\"",
					   "\"", "\"Zm9vYg==" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (stir_4474_identity_parse(bad[i], strlen(bad[i]), back, sizeof(back)) !=
		    (size_t)-1)
			fail_msg("\"%s\" parsed", bad[i]);
	assert_int_equal(stir_4474_identity_parse("\"Zm9vYmFy\"", 10, back, 5), (size_t)-1);
	assert_int_equal(stir_4474_identity_format(sig, sizeof(sig), v, 100), 0);
}

/* The Date is the only clock a legacy signature carries: at most max_age
 * old, at most a few seconds ahead, and present. */
static void test_4474_date(void **state)
{
	(void)state;
	const int64_t now = 1700000000;
	assert_int_equal(stir_4474_date_check(now, now, 60), STIR_PASSED);
	assert_int_equal(stir_4474_date_check(now - 60, now, 60), STIR_PASSED);
	assert_int_equal(stir_4474_date_check(now - 61, now, 60), STIR_STALE);
	assert_int_equal(stir_4474_date_check(now + STIR_IAT_FUTURE_SKEW_S, now, 60), STIR_PASSED);
	assert_int_equal(stir_4474_date_check(now + STIR_IAT_FUTURE_SKEW_S + 1, now, 60), STIR_STALE);
	assert_int_equal(stir_4474_date_check(now - 300, now, 600), STIR_PASSED);
	assert_int_equal(stir_4474_date_check(now - STIR_MAX_AGE_DEFAULT_S - 1, now, 0), STIR_STALE);
	assert_int_equal(stir_4474_date_check(-1, now, 60), STIR_STALE); /* no Date */
	assert_int_equal(stir_4474_date_check(INT64_MAX, now, 60), STIR_STALE);
	assert_int_equal(stir_4474_date_check(INT64_MIN, now, 60), STIR_STALE);
}

/* The answers of RFC 8224 §6.2.2 (RFC 4474 §14): rsa-sha1 where it is not
 * allowed is an unsupported credential, 437; every reason has its own name. */
static void test_result_table(void **state)
{
	(void)state;
	assert_int_equal(stir_result_status(STIR_PASSED), 0);
	assert_int_equal(stir_result_status(STIR_NO_IDENTITY), 428);
	assert_int_equal(stir_result_status(STIR_INFO_UNREACHABLE), 436);
	assert_int_equal(stir_result_status(STIR_CERT_UNTRUSTED), 437);
	assert_int_equal(stir_result_status(STIR_WEAK_ALG), 437);
	assert_string_equal(stir_result_phrase(STIR_WEAK_ALG), "Unsupported Credential");
	assert_int_equal(stir_result_status(STIR_SIGNATURE), 438);
	assert_int_equal(stir_result_status(STIR_ORIG_MISMATCH), 438);
	assert_int_equal(stir_result_status(STIR_STALE), 403);
	for (int i = 0; i < STIR_RESULT__COUNT; i++) {
		assert_non_null(stir_result_name((enum stir_result)i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(stir_result_name((enum stir_result)i),
						stir_result_name((enum stir_result)j));
	}
	assert_int_equal(stir_result_status(STIR_RESULT__COUNT), 438); /* out of range: malformed */
}

static void test_4474_info(void **state)
{
	(void)state;
	char url[STIR_URL_MAX];
	bool sha1 = true;
	const char *v = "<https://www.atlanta.example.com/atlanta.cer>;alg=rsa-sha256";
	assert_int_equal(stir_4474_info_parse(v, strlen(v), url, sizeof(url), &sha1), STIR_PASSED);
	assert_string_equal(url, "https://www.atlanta.example.com/atlanta.cer");
	assert_false(sha1);
	v = " <http://c.example/x.cer> ; ALG = RSA-SHA1 ";
	assert_int_equal(stir_4474_info_parse(v, strlen(v), url, sizeof(url), &sha1), STIR_PASSED);
	assert_true(sha1);
	v = "<https://c.example/x.cer>;ext=1";
	assert_int_equal(stir_4474_info_parse(v, strlen(v), url, sizeof(url), &sha1), STIR_PASSED);
	assert_true(sha1); /* absent alg: RFC 4474's default, rsa-sha1 */
	static const struct {
		const char *v;
		enum stir_result r;
	} bad[] = {
		{ "<https://c.example/x.cer>;alg=rsa-md5", STIR_UNSUPPORTED },
		{ "<https://c.example/x.cer>;alg=rsa-sha256;alg=rsa-sha1", STIR_MALFORMED },
		{ "<https://c.example/x.cer>;alg=", STIR_MALFORMED },
		{ "https://c.example/x.cer;alg=rsa-sha256", STIR_MALFORMED },
		{ "<https://c.example/x.cer;alg=rsa-sha256", STIR_MALFORMED },
		{ "<ftp://c.example/x.cer>;alg=rsa-sha256", STIR_MALFORMED },
		{ "<cid:x@c.example>;alg=rsa-sha256", STIR_MALFORMED },
		{ "<https://>;alg=rsa-sha256", STIR_MALFORMED },
		{ "<https://c.example/a b>;alg=rsa-sha256", STIR_MALFORMED },
		{ "<https://c.example/x.cer> x;alg=rsa-sha256", STIR_MALFORMED },
		{ "<https://c.example/x.cer>;=1", STIR_MALFORMED },
		{ "", STIR_MALFORMED },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum stir_result r = stir_4474_info_parse(bad[i].v, strlen(bad[i].v), url,
							  sizeof(url), &sha1);
		if (r != bad[i].r)
			fail_msg("\"%s\": %d, want %d", bad[i].v, r, bad[i].r);
	}
	v = "<https://c.example/a-long-path>;alg=rsa-sha256";
	assert_int_equal(stir_4474_info_parse(v, strlen(v), url, 10, &sha1), STIR_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tn_canon),
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_refusals),
		cmocka_unit_test(test_canonical_json),
		cmocka_unit_test(test_signing_input_refusals),
		cmocka_unit_test(test_identity_round_trip),
		cmocka_unit_test(test_identity_compact),
		cmocka_unit_test(test_identity_truncated),
		cmocka_unit_test(test_identity_malformed),
		cmocka_unit_test(test_passport_malformed),
		cmocka_unit_test(test_passport_bounds),
		cmocka_unit_test(test_verify_claims),
		cmocka_unit_test(test_4474_digest_string),
		cmocka_unit_test(test_4474_identity),
		cmocka_unit_test(test_4474_info),
		cmocka_unit_test(test_4474_date),
		cmocka_unit_test(test_result_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
