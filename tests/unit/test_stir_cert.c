/* STI certificates as the verification service meets them: the TNAuthList
 * of the development certificates and of hand-made DER (good SPC, range and
 * number entries; an empty list, a wrong tag, IMPLICIT tagging, trailing
 * bytes, too many entries, bad digits and counts refused); the chain check
 * passing sti.crt and sti-peer.crt and mapping every bad certificate that
 * mkstibad.sh makes at test time (expired, not yet valid, unknown CA, no or
 * malformed TNAuthList, RSA leaf, revoked, missing intermediate, garbage,
 * too long, too many, a CA or a non-signing key as leaf, a TNAuthList only
 * in the intermediate) to its stir_result; an intermediate's CRL (and a
 * forged one); which numbers a TNAuthList covers (an SPC all, numbers and
 * ranges only theirs); a chain through an intermediate kept whole; ES256
 * signatures made here with sti.key verifying, and tampered ones (a flipped
 * bit, zero, out-of-range, another key) failing; RFC 4474 RSA with SHA-1
 * only when asked; and the cache (hit, expiry by max-age, configured age
 * and notAfter, eviction of the entry expiring first, failure TTL, a flood
 * of URLs staying bounded). */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stir/cache.h"
#include "stir/cert.h"
#include "stir/tnauth.h"

static char dev[512], bad[512];
static struct stir_trust *trust, *trust_crl;
static time_t now;

static char *path(const char *dir, const char *name)
{
	static char p[4][1100];
	static unsigned i;
	char *out = p[i++ % 4];
	snprintf(out, sizeof p[0], "%s/%s", dir, name);
	return out;
}

static uint8_t *slurp(const char *file, size_t *len)
{
	FILE *f = fopen(file, "rb");
	assert_non_null(f);
	uint8_t *buf = malloc(256 * 1024);
	assert_non_null(buf);
	*len = fread(buf, 1, 256 * 1024, f);
	fclose(f);
	return buf;
}

static enum stir_result check_file(const char *file, const struct stir_trust *t, time_t at,
				   struct stir_cert **out)
{
	size_t len;
	uint8_t *data = slurp(file, &len);
	struct stir_cert *c = NULL;
	enum stir_result r = stir_cert_check(data, len, t, at, &c);
	free(data);
	if (out)
		*out = c;
	else
		stir_cert_free(c);
	return r;
}

static int setup(void **state)
{
	const char *d = getenv("STI_DEV"), *b = getenv("STI_BAD"), *mk = getenv("STI_MKBAD");
	if (!d || !b || !mk)
		return -1;
	snprintf(dev, sizeof dev, "%s", d);
	snprintf(bad, sizeof bad, "%s", b);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "sh '%s' '%s' '%s'", mk, dev, bad);
	if (system(cmd) != 0)
		return -1;
	char why[256];
	trust = stir_trust_load(path(dev, "sti-ca.crt"), NULL, why, sizeof why);
	trust_crl = stir_trust_load(path(dev, "sti-ca.crt"), path(bad, "crl.pem"), why, sizeof why);
	now = time(NULL);
	return trust && trust_crl ? 0 : -1;
}

static int teardown(void **state)
{
	stir_trust_free(trust);
	stir_trust_free(trust_crl);
	return 0;
}

/* ---- TNAuthList ---- */

static void tnauth_of_dev_certs(void **state)
{
	const char *names[] = { "sti.crt", "sti-peer.crt" }, *spc[] = { "1234", "5678" };
	for (int i = 0; i < 2; i++) {
		size_t len;
		uint8_t *pem = slurp(path(dev, names[i]), &len);
		gnutls_x509_crt_t crt;
		gnutls_datum_t d = { pem, (unsigned)len }, ext;
		assert_int_equal(gnutls_x509_crt_init(&crt), 0);
		assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
		assert_int_equal(gnutls_x509_crt_get_extension_by_oid2(crt, STIR_TNAUTH_OID, 0, &ext,
								       NULL), 0);
		struct stir_tnauth tn;
		assert_true(stir_tnauth_parse(ext.data, ext.size, &tn));
		assert_int_equal(tn.n, 1);
		assert_int_equal(tn.entry[0].kind, STIR_TNAUTH_SPC);
		assert_string_equal(tn.entry[0].value, spc[i]);
		gnutls_free(ext.data);
		gnutls_x509_crt_deinit(crt);
		free(pem);
	}
}

#define DER(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void tnauth_handmade(void **state)
{
	struct stir_tnauth tn;
	/* [0] SPC "1234" */
	assert_true(stir_tnauth_parse(DER(0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, '1', '2', '3', '4'), &tn));
	assert_int_equal(tn.n, 1);
	/* [2] one "12025550100", [1] range { "1202555", 100 } */
	assert_true(stir_tnauth_parse(DER(0x30, 0x1e, 0xa2, 0x0d, 0x16, 0x0b, '1', '2', '0', '2', '5',
					  '5', '5', '0', '1', '0', '0', 0xa1, 0x0d, 0x30, 0x0b,
					  0x16, 0x06, '1', '2', '0', '2', '5', '5', 0x02, 0x01, 100),
				      &tn));
	assert_int_equal(tn.n, 2);
	assert_int_equal(tn.entry[0].kind, STIR_TNAUTH_ONE);
	assert_string_equal(tn.entry[0].value, "12025550100");
	assert_int_equal(tn.entry[1].kind, STIR_TNAUTH_RANGE);
	assert_string_equal(tn.entry[1].value, "120255");
	assert_int_equal(tn.entry[1].count, 100);
	/* Refused: the empty list; an unknown tag [3]; IMPLICIT [0] instead of
	 * EXPLICIT; a trailing byte; a truncated list; BER long-form length. */
	assert_false(stir_tnauth_parse(DER(0x30, 0x00), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x08, 0xa3, 0x06, 0x16, 0x04, '1', '2', '3', '4'), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x06, 0x80, 0x04, '1', '2', '3', '4'), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, '1', '2', '3', '4', 0), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, '1', '2', '3'), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x81, 0x08, 0xa0, 0x06, 0x16, 0x04, '1', '2', '3', '4'), &tn));
	assert_int_equal(tn.n, 0);
	/* A number: 16 digits, a letter; an empty SPC, one with a space. */
	assert_false(stir_tnauth_parse(DER(0x30, 0x14, 0xa2, 0x12, 0x16, 0x10, '1', '2', '3', '4', '5', '6',
					   '7', '8', '9', '0', '1', '2', '3', '4', '5', '6'), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x07, 0xa2, 0x05, 0x16, 0x03, '1', 'a', '3'), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x04, 0xa0, 0x02, 0x16, 0x00), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x07, 0xa0, 0x05, 0x16, 0x03, '1', ' ', '3'), &tn));
	/* A NUL inside the SPC (the fuzzer's find: it hid the rest). */
	assert_false(stir_tnauth_parse(DER(0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, 0, 0, 0, 0), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, '1', 0, '3', '4'), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x08, 0xa2, 0x06, 0x16, 0x04, '1', '2', 0, '4'), &tn));
	/* A range's count of 1, of -1, of 2^40. */
	assert_false(stir_tnauth_parse(DER(0x30, 0x0a, 0xa1, 0x08, 0x30, 0x06, 0x16, 0x01, '1', 0x02, 0x01, 1), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x0a, 0xa1, 0x08, 0x30, 0x06, 0x16, 0x01, '1', 0x02, 0x01, 0xff), &tn));
	assert_false(stir_tnauth_parse(DER(0x30, 0x0f, 0xa1, 0x0d, 0x30, 0x0b, 0x16, 0x01, '1', 0x02, 0x06,
					   0x01, 0, 0, 0, 0, 0), &tn));
	/* 16 entries pass, 17 do not. */
	uint8_t big[3 + 17 * 8];
	for (int n = 16; n <= 17; n++) {
		big[0] = 0x30;
		big[1] = 0x81; /* 128 and more: DER's long form */
		big[2] = (uint8_t)(n * 8);
		for (int i = 0; i < n; i++)
			memcpy(big + 3 + 8 * i, (const uint8_t[]){ 0xa0, 0x06, 0x16, 0x04, 'A', 'B', 'C', (uint8_t)('a' + i) }, 8);
		assert_int_equal(stir_tnauth_parse(big, 3 + (size_t)n * 8, &tn), n == 16);
	}
	assert_false(stir_tnauth_parse(NULL, 0, &tn));
}

/* ---- the chain check ---- */

static void cert_passes_dev_certs(void **state)
{
	struct stir_cert *c;
	assert_int_equal(check_file(path(dev, "sti.crt"), trust, now, &c), STIR_PASSED);
	assert_string_equal(stir_cert_tnauth(c)->entry[0].value, "1234");
	assert_int_equal(stir_cert_valid_at(c, now), STIR_PASSED);
	/* Not valid before notBefore nor after notAfter, with time injected. */
	time_t end = stir_cert_expires(c);
	assert_true(end > now);
	stir_cert_free(c);
	assert_int_equal(check_file(path(dev, "sti.crt"), trust, end, NULL), STIR_PASSED);
	assert_int_equal(check_file(path(dev, "sti.crt"), trust, end + 1, NULL), STIR_CERT_EXPIRED);
	assert_int_equal(check_file(path(dev, "sti.crt"), trust, now - 86400 * 3, NULL), STIR_CERT_EXPIRED);
	assert_int_equal(check_file(path(dev, "sti-peer.crt"), trust, now, &c), STIR_PASSED);
	assert_string_equal(stir_cert_tnauth(c)->entry[0].value, "5678");
	stir_cert_free(c);
	/* The same certificate as one DER. */
	size_t len;
	uint8_t *pem = slurp(path(dev, "sti.crt"), &len);
	gnutls_datum_t in = { pem, (unsigned)len }, der;
	assert_int_equal(gnutls_pem_base64_decode2("CERTIFICATE", &in, &der), 0);
	struct stir_cert *c2;
	assert_int_equal(stir_cert_check(der.data, der.size, trust, now, &c2), STIR_PASSED);
	stir_cert_free(c2);
	/* A byte flipped in the signed part: no longer the CA's signature. */
	der.data[der.size / 2] ^= 0x01;
	assert_int_not_equal(stir_cert_check(der.data, der.size, trust, now, &c2), STIR_PASSED);
	assert_null(c2);
	gnutls_free(der.data);
	free(pem);
}

static void cert_failures(void **state)
{
	assert_int_equal(check_file(path(bad, "expired.crt"), trust, now, NULL), STIR_CERT_EXPIRED);
	assert_int_equal(check_file(path(bad, "future.crt"), trust, now, NULL), STIR_CERT_EXPIRED);
	assert_int_equal(check_file(path(bad, "unknown.crt"), trust, now, NULL), STIR_CERT_UNTRUSTED);
	assert_int_equal(check_file(path(bad, "other-ca.crt"), trust, now, NULL), STIR_CERT_UNTRUSTED);
	assert_int_equal(check_file(path(bad, "notn.crt"), trust, now, NULL), STIR_CERT_NO_TNAUTH);
	assert_int_equal(check_file(path(bad, "badtn.crt"), trust, now, NULL), STIR_CERT_NO_TNAUTH);
	assert_int_equal(check_file(path(bad, "rsa.crt"), trust, now, NULL), STIR_CERT_KEY);
	/* The intermediate's leaf without the intermediate does not chain. */
	assert_int_equal(check_file(path(bad, "via-inter.crt"), trust, now, NULL), STIR_CERT_UNTRUSTED);
	/* Revoked: refused with the CRL, accepted without it. */
	assert_int_equal(check_file(path(bad, "revoked.crt"), trust_crl, now, NULL), STIR_CERT_UNTRUSTED);
	assert_int_equal(check_file(path(bad, "revoked.crt"), trust, now, NULL), STIR_PASSED);
	assert_int_equal(check_file(path(dev, "sti.crt"), trust_crl, now, NULL), STIR_PASSED);
	/* The leaf signs: a CA certificate, or one whose key usage leaves out
	 * digitalSignature, is no PASSporT signer though the STI-CA issued it;
	 * an intermediate's TNAuthList does not stand in for the leaf's. */
	assert_int_equal(check_file(path(bad, "caleaf.crt"), trust, now, NULL), STIR_CERT_KEY);
	FILE *nodsig = fopen(path(bad, "nodsig.crt"), "r");
	if (nodsig) { /* made with OpenSSL, when installed */
		fclose(nodsig);
		assert_int_equal(check_file(path(bad, "nodsig.crt"), trust, now, NULL), STIR_CERT_KEY);
	}
	assert_int_equal(check_file(path(bad, "chaintn.pem"), trust, now, NULL), STIR_CERT_NO_TNAUTH);
	/* A TLS certificate of the other development CA is no STI credential. */
	assert_int_equal(check_file(path(dev, "gateway.crt"), trust, now, NULL), STIR_CERT_UNTRUSTED);

	struct stir_cert *c = (struct stir_cert *)1;
	assert_int_equal(stir_cert_check((const uint8_t *)"", 0, trust, now, &c), STIR_INFO_NOT_CERT);
	assert_null(c);
	static const char html[] = "<html>404 Not Found</html>";
	assert_int_equal(stir_cert_check((const uint8_t *)html, sizeof html - 1, trust, now, &c),
			 STIR_INFO_NOT_CERT);
	static const char broken[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	assert_int_equal(stir_cert_check((const uint8_t *)broken, sizeof broken - 1, trust, now, &c),
			 STIR_INFO_NOT_CERT);
	/* Too long: a valid chain padded past the cap; too many: nine copies. */
	size_t len;
	uint8_t *pem = slurp(path(dev, "sti.crt"), &len);
	uint8_t *big = calloc(1, STIR_CERT_MAX_BYTES + 1);
	memcpy(big, pem, len);
	memset(big + len, '\n', STIR_CERT_MAX_BYTES + 1 - len);
	assert_int_equal(stir_cert_check(big, STIR_CERT_MAX_BYTES + 1, trust, now, &c), STIR_INFO_NOT_CERT);
	for (int i = 0; i < STIR_CHAIN_MAX + 1; i++)
		memcpy(big + i * len, pem, len);
	assert_int_equal(stir_cert_check(big, (STIR_CHAIN_MAX + 1) * len, trust, now, &c), STIR_INFO_NOT_CERT);
	assert_null(c);
	free(big);
	free(pem);

	char why[256] = "";
	assert_null(stir_trust_load(path(bad, "missing.crt"), NULL, why, sizeof why));
	assert_true(why[0] != '\0');
	/* A CRL file without a CRL is a mistake, not an empty list. */
	assert_null(stir_trust_load(path(dev, "sti-ca.crt"), path(dev, "sti-ca.crt"), why, sizeof why));
}

/* The chain in file `name` (of dir) checked with the STI-CA and crl_file. */
static enum stir_result with_crl(const char *crl_file, const char *dir, const char *name)
{
	char why[256] = "";
	struct stir_trust *t = stir_trust_load(path(dev, "sti-ca.crt"), path(bad, crl_file), why,
					       sizeof why);
	assert_non_null(t);
	enum stir_result r = check_file(path(dir, name), t, now, NULL);
	stir_trust_free(t);
	return r;
}

/* An intermediate's CRL revokes the leaves it issued, once a chain brings
 * the intermediate that signed it (GnuTLS keeps only CRLs an anchor signed,
 * so before they were dropped and a revoked leaf passed); one claiming to
 * be the intermediate's but signed by another key revokes nothing. */
static void intermediate_crl(void **state)
{
	assert_int_equal(with_crl("both-crl.pem", bad, "chain.pem"), STIR_CERT_UNTRUSTED);
	assert_int_equal(with_crl("both-crl.pem", bad, "revoked.crt"), STIR_CERT_UNTRUSTED);
	assert_int_equal(with_crl("both-crl.pem", dev, "sti.crt"), STIR_PASSED);
	assert_int_equal(with_crl("inter-crl.pem", bad, "chain.pem"), STIR_CERT_UNTRUSTED);
	assert_int_equal(with_crl("inter-crl.pem", bad, "revoked.crt"), STIR_PASSED);
	assert_int_equal(with_crl("forged-crl.pem", bad, "chain.pem"), STIR_PASSED);
}

/* The chain as an x5u serves it, through an intermediate that expires
 * before its leaf: kept whole, so its end is the intermediate's and stays
 * so however often the chain is used. */
static void chain_with_intermediate_is_kept(void **state)
{
	struct stir_cert *c;
	assert_int_equal(check_file(path(bad, "chain.pem"), trust, now, &c), STIR_PASSED);
	assert_string_equal(stir_cert_tnauth(c)->entry[0].value, "1234");
	time_t end = stir_cert_expires(c);
	assert_true(end < now + 25 * 86400); /* the intermediate's 20 days, not the leaf's 30 */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(stir_cert_valid_at(c, now + i), STIR_PASSED);
		assert_int_equal(stir_cert_expires(c), end);
	}
	assert_int_equal(stir_cert_valid_at(c, end + 1), STIR_CERT_EXPIRED);
	stir_cert_free(c);
	assert_int_equal(check_file(path(bad, "chain.pem"), trust, end + 1, NULL), STIR_CERT_EXPIRED);
}

/* ---- signatures ---- */

static gnutls_privkey_t load_key(const char *file)
{
	size_t len;
	uint8_t *pem = slurp(file, &len);
	gnutls_privkey_t k;
	gnutls_datum_t d = { pem, (unsigned)len };
	assert_int_equal(gnutls_privkey_init(&k), 0);
	assert_int_equal(gnutls_privkey_import_x509_raw(k, &d, GNUTLS_X509_FMT_PEM, NULL, 0), 0);
	free(pem);
	return k;
}

/* A DER INTEGER's content (maybe with a leading 0, maybe shorter) into 32
 * bytes, right-aligned: the JWS form. */
static void to_raw32(const gnutls_datum_t *v, uint8_t out[32])
{
	const uint8_t *p = v->data;
	size_t n = v->size;
	while (n > 32 && *p == 0)
		p++, n--;
	assert_true(n <= 32);
	memset(out, 0, 32);
	memcpy(out + 32 - n, p, n);
}

static void es256_sign(gnutls_privkey_t k, const char *msg, uint8_t sig[64])
{
	gnutls_datum_t data = { (unsigned char *)msg, (unsigned)strlen(msg) }, der, r, s;
	assert_int_equal(gnutls_privkey_sign_data(k, GNUTLS_DIG_SHA256, 0, &data, &der), 0);
	assert_int_equal(gnutls_decode_rs_value(&der, &r, &s), 0);
	to_raw32(&r, sig);
	to_raw32(&s, sig + 32);
	gnutls_free(r.data);
	gnutls_free(s.data);
	gnutls_free(der.data);
}

static void es256_verify(void **state)
{
	struct stir_cert *c, *peer;
	assert_int_equal(check_file(path(dev, "sti.crt"), trust, now, &c), STIR_PASSED);
	assert_int_equal(check_file(path(dev, "sti-peer.crt"), trust, now, &peer), STIR_PASSED);
	gnutls_privkey_t k = load_key(path(dev, "sti.key"));
	uint8_t sig[64];
	char msg[64];
	/* Many messages, so that r or s with a high bit or a leading zero byte
	 * (one in 256) come up too. */
	for (int i = 0; i < 300; i++) {
		int n = snprintf(msg, sizeof msg, "eyJhbGciOiJFUzI1NiJ9.claims-%d", i);
		es256_sign(k, msg, sig);
		assert_int_equal(stir_cert_verify_es256(c, msg, (size_t)n, sig), STIR_PASSED);
		assert_int_equal(stir_cert_verify_es256(peer, msg, (size_t)n, sig), STIR_SIGNATURE);
	}
	const char *m = "header.claims";
	es256_sign(k, m, sig);
	assert_int_equal(stir_cert_verify_es256(c, m, strlen(m), sig), STIR_PASSED);
	assert_int_equal(stir_cert_verify_es256(c, "header.claimz", strlen(m), sig), STIR_SIGNATURE);
	for (int bit = 0; bit < 512; bit += 37) {
		uint8_t t[64];
		memcpy(t, sig, 64);
		t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(stir_cert_verify_es256(c, m, strlen(m), t), STIR_SIGNATURE);
	}
	uint8_t t[64];
	memset(t, 0, 64); /* r = s = 0 */
	assert_int_equal(stir_cert_verify_es256(c, m, strlen(m), t), STIR_SIGNATURE);
	memcpy(t, sig, 32); /* s = 0 */
	assert_int_equal(stir_cert_verify_es256(c, m, strlen(m), t), STIR_SIGNATURE);
	memset(t + 32, 0xff, 32); /* s above the group order */
	assert_int_equal(stir_cert_verify_es256(c, m, strlen(m), t), STIR_SIGNATURE);
	memset(t, 0xff, 64);
	assert_int_equal(stir_cert_verify_es256(c, m, strlen(m), t), STIR_SIGNATURE);
	memcpy(t, sig + 32, 32); /* r and s swapped */
	memcpy(t + 32, sig, 32);
	assert_int_equal(stir_cert_verify_es256(c, m, strlen(m), t), STIR_SIGNATURE);
	/* s + n: the same value modulo the order, but out of range. */
	static const uint8_t order[32] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
					   0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
					   0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
	memcpy(t, sig, 64);
	unsigned carry = 0;
	for (int i = 31; i >= 0; i--) {
		unsigned v = t[32 + i] + order[i] + carry;
		t[32 + i] = (uint8_t)v;
		carry = v >> 8;
	}
	if (!carry) /* s + n fits in 32 bytes only when s is small */
		assert_int_equal(stir_cert_verify_es256(c, m, strlen(m), t), STIR_SIGNATURE);
	/* An RSA-only call on an EC chain. */
	assert_int_equal(stir_cert_verify_rsa(c, m, strlen(m), sig, 64, false), STIR_SIGNATURE);
	gnutls_privkey_deinit(k);
	stir_cert_free(c);
	stir_cert_free(peer);
}

static void rsa_4474(void **state)
{
	size_t len;
	uint8_t *pem = slurp(path(bad, "rsa4474.crt"), &len);
	struct stir_cert *c;
	assert_int_equal(stir_cert_check(pem, len, trust, now, &c), STIR_CERT_KEY);
	assert_int_equal(stir_cert_check_rsa(pem, len, trust, now, &c), STIR_PASSED);
	assert_int_equal(stir_cert_tnauth(c)->n, 0);
	free(pem);
	struct stir_cert *ec;
	pem = slurp(path(dev, "sti.crt"), &len);
	assert_int_equal(stir_cert_check_rsa(pem, len, trust, now, &ec), STIR_CERT_KEY);
	free(pem);

	gnutls_privkey_t k = load_key(path(bad, "rsa4474.key"));
	const char *m = "sip:alice@example.com|sip:bob@example.net|a84b4c76e66710|314159 INVITE|";
	gnutls_datum_t data = { (unsigned char *)m, (unsigned)strlen(m) }, sig;
	assert_int_equal(gnutls_privkey_sign_data(k, GNUTLS_DIG_SHA256, 0, &data, &sig), 0);
	assert_int_equal(stir_cert_verify_rsa(c, m, strlen(m), sig.data, sig.size, false), STIR_PASSED);
	assert_int_equal(stir_cert_verify_rsa(c, m, strlen(m), sig.data, sig.size, true), STIR_SIGNATURE);
	sig.data[10] ^= 0x40;
	assert_int_equal(stir_cert_verify_rsa(c, m, strlen(m), sig.data, sig.size, false), STIR_SIGNATURE);
	assert_int_equal(stir_cert_verify_rsa(c, m, strlen(m), sig.data, sig.size - 1, false), STIR_SIGNATURE);
	uint8_t es[64] = { 1 };
	assert_int_equal(stir_cert_verify_es256(c, m, strlen(m), es), STIR_SIGNATURE);
	gnutls_free(sig.data);
	/* rsa-sha1 verifies only when the caller allows it. */
	if (gnutls_privkey_sign_data(k, GNUTLS_DIG_SHA1, 0, &data, &sig) == 0) {
		assert_int_equal(stir_cert_verify_rsa(c, m, strlen(m), sig.data, sig.size, true), STIR_PASSED);
		assert_int_equal(stir_cert_verify_rsa(c, m, strlen(m), sig.data, sig.size, false), STIR_SIGNATURE);
		gnutls_free(sig.data);
	}
	gnutls_privkey_deinit(k);
	stir_cert_free(c);
}

/* RFC 4474 §13.4: a certificate speaks for the domains its subjectAltName
 * dNSNames name, exactly (case aside); a URI SAN or the CN counts for
 * nothing, nor does a wildcard or a neighbouring name. */
static void dns_name_match(void **state)
{
	(void)state;
	assert_true(stir_dns_name_matches("example.com", "example.com"));
	assert_true(stir_dns_name_matches("Example.COM", "example.com"));
	assert_true(stir_dns_name_matches("example.com.", "example.com"));
	assert_true(stir_dns_name_matches("example.com", "EXAMPLE.com."));
	assert_false(stir_dns_name_matches("example.com", "sub.example.com"));
	assert_false(stir_dns_name_matches("sub.example.com", "example.com"));
	assert_false(stir_dns_name_matches("example.com", "example.co"));
	assert_false(stir_dns_name_matches("example.co", "example.com"));
	assert_false(stir_dns_name_matches("*.example.com", "a.example.com"));
	assert_false(stir_dns_name_matches("*", "*"));
	assert_false(stir_dns_name_matches("", ""));
	assert_false(stir_dns_name_matches(".", "."));
	assert_false(stir_dns_name_matches("example.com", NULL));
	assert_false(stir_dns_name_matches(NULL, "example.com"));

	size_t len;
	uint8_t *pem = slurp(path(bad, "rsa4474.crt"), &len);
	struct stir_cert *c;
	assert_int_equal(stir_cert_check_rsa(pem, len, trust, now, &c), STIR_PASSED);
	free(pem);
	assert_true(stir_cert_names_host(c, "example.com"));   /* the second dNSName */
	assert_true(stir_cert_names_host(c, "uri.example"));
	assert_false(stir_cert_names_host(c, "rsa4474"));      /* the CN */
	assert_false(stir_cert_names_host(c, "evil.example.com"));
	assert_false(stir_cert_names_host(c, "com"));
	assert_false(stir_cert_names_host(c, ""));
	assert_false(stir_cert_names_host(c, NULL));
	assert_false(stir_cert_names_host(NULL, "example.com"));
	stir_cert_free(c);
	/* The SHAKEN certificate names no domain at all. */
	pem = slurp(path(dev, "sti.crt"), &len);
	assert_int_equal(stir_cert_check(pem, len, trust, now, &c), STIR_PASSED);
	free(pem);
	assert_false(stir_cert_names_host(c, "localhost"));
	stir_cert_free(c);
}

/* ---- the cache ---- */

static struct stir_cert *sti(void)
{
	struct stir_cert *c;
	assert_int_equal(check_file(path(dev, "sti.crt"), trust, now, &c), STIR_PASSED);
	return c;
}

static void cache_expiry(void **state)
{
	struct stir_cache *k = stir_cache_new(16, 3600);
	const struct stir_cert *got;
	const char *u = "https://cert.example.net/sti.pem";
	assert_int_equal(stir_cache_get(k, u, now, &got), STIR_RESULT__COUNT);
	struct stir_cert *c = sti();
	assert_int_equal(stir_cache_put(k, u, c, 60, now), 0);
	assert_int_equal(stir_cache_get(k, u, now + 60, &got), STIR_PASSED);
	assert_ptr_equal(got, c);
	assert_int_equal(stir_cache_get(k, "https://cert.example.net/sti.pem2", now, &got), STIR_RESULT__COUNT);
	/* HTTP max-age 60 */
	assert_int_equal(stir_cache_get(k, u, now + 61, &got), STIR_RESULT__COUNT);
	assert_null(got);
	assert_int_equal(stir_cache_count(k), 0);
	/* The configured maximum, below the HTTP answer's or without one. */
	assert_int_equal(stir_cache_put(k, u, sti(), 100000, now), 0);
	assert_int_equal(stir_cache_get(k, u, now + 3600, &got), STIR_PASSED);
	assert_int_equal(stir_cache_get(k, u, now + 3601, &got), STIR_RESULT__COUNT);
	assert_int_equal(stir_cache_put(k, u, sti(), -1, now), 0);
	assert_int_equal(stir_cache_get(k, u, now + 3601, &got), STIR_RESULT__COUNT);
	/* Replacing an entry keeps one. */
	assert_int_equal(stir_cache_put(k, u, sti(), -1, now), 0);
	assert_int_equal(stir_cache_put(k, u, sti(), -1, now), 0);
	assert_int_equal(stir_cache_count(k), 1);
	stir_cache_free(k);

	/* The leaf's notAfter, below a ten-year maximum. */
	k = stir_cache_new(16, 10 * 365 * 86400u);
	c = sti();
	time_t end = stir_cert_expires(c);
	assert_int_equal(stir_cache_put(k, u, c, -1, now), 0);
	assert_int_equal(stir_cache_get(k, u, end, &got), STIR_PASSED);
	assert_int_equal(stir_cache_get(k, u, end + 1, &got), STIR_RESULT__COUNT);
	/* A URL too long to be an x5u; a cache of no entries. */
	char longurl[STIR_URL_MAX + 10];
	memset(longurl, 'a', sizeof longurl - 1);
	longurl[sizeof longurl - 1] = '\0';
	assert_int_equal(stir_cache_put(k, longurl, sti(), -1, now), -1);
	stir_cache_free(k);
	k = stir_cache_new(0, 60);
	assert_int_equal(stir_cache_put(k, u, sti(), -1, now), -1);
	stir_cache_put_failure(k, u, STIR_INFO_UNREACHABLE, 30, now);
	assert_int_equal(stir_cache_count(k), 0);
	stir_cache_free(k);
}

static void cache_eviction_and_failures(void **state)
{
	struct stir_cache *k = stir_cache_new(3, 3600);
	const struct stir_cert *got;
	assert_int_equal(stir_cache_put(k, "https://a/", sti(), 100, now), 0);
	assert_int_equal(stir_cache_put(k, "https://b/", sti(), 50, now), 0);
	assert_int_equal(stir_cache_put(k, "https://c/", sti(), 200, now), 0);
	assert_int_equal(stir_cache_put(k, "https://d/", sti(), 300, now), 0);
	assert_int_equal(stir_cache_count(k), 3);
	assert_int_equal(stir_cache_get(k, "https://b/", now, &got), STIR_RESULT__COUNT);
	assert_int_equal(stir_cache_get(k, "https://a/", now, &got), STIR_PASSED);
	assert_int_equal(stir_cache_get(k, "https://c/", now, &got), STIR_PASSED);
	assert_int_equal(stir_cache_get(k, "https://d/", now, &got), STIR_PASSED);
	/* A failure is remembered for its TTL, then forgotten. */
	stir_cache_put_failure(k, "https://dead/", STIR_INFO_UNREACHABLE, 30, now);
	assert_int_equal(stir_cache_get(k, "https://dead/", now + 30, &got), STIR_INFO_UNREACHABLE);
	assert_null(got);
	assert_int_equal(stir_cache_get(k, "https://dead/", now + 31, &got), STIR_RESULT__COUNT);
	stir_cache_free(k);

	/* A flood of distinct dead URLs stays within the bound and does not
	 * push out the chain in use: failures expire first. */
	k = stir_cache_new(64, 3600);
	assert_int_equal(stir_cache_put(k, "https://good/", sti(), -1, now), 0);
	char url[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(url, sizeof url, "https://x%d.invalid/", i);
		stir_cache_put_failure(k, url, STIR_INFO_NOT_CERT, 10, now + i / 100);
		assert_true(stir_cache_count(k) <= 64);
	}
	assert_int_equal(stir_cache_count(k), 64);
	assert_int_equal(stir_cache_get(k, "https://good/", now + 200, &got), STIR_PASSED);
	assert_int_equal(stir_cache_get(k, "https://x19999.invalid/", now + 200, &got), STIR_INFO_NOT_CERT);
	assert_int_equal(stir_cache_get(k, "https://x0.invalid/", now + 200, &got), STIR_RESULT__COUNT);
	stir_cache_free(k);
}

/* A TNAuthList of numbers vouches for those numbers alone (RFC 8226 §9):
 * its holder signing for another number is no verified caller. */
static void tnauth_covers(void **state)
{
	struct stir_cert *c;
	assert_int_equal(check_file(path(bad, "tnlist.crt"), trust, now, &c), STIR_PASSED);
	const struct stir_tnauth *t = stir_cert_tnauth(c);
	assert_int_equal(t->n, 2);
	assert_true(stir_tnauth_covers(t, "15550001"));
	assert_true(stir_tnauth_covers(t, "15550100"));
	assert_true(stir_tnauth_covers(t, "15550109"));
	assert_false(stir_tnauth_covers(t, "15550110"));
	assert_false(stir_tnauth_covers(t, "15550099"));
	assert_false(stir_tnauth_covers(t, "155501000")); /* a longer number */
	assert_false(stir_tnauth_covers(t, "12125551234"));
	assert_false(stir_tnauth_covers(t, NULL)); /* a URI orig */
	stir_cert_free(c);
	/* An SPC covers every number: SHAKEN does not list them. */
	assert_int_equal(check_file(path(dev, "sti-peer.crt"), trust, now, &c), STIR_PASSED);
	assert_true(stir_tnauth_covers(stir_cert_tnauth(c), "12125551234"));
	assert_true(stir_tnauth_covers(stir_cert_tnauth(c), NULL));
	stir_cert_free(c);
	struct stir_tnauth none = { .n = 0 };
	assert_true(stir_tnauth_covers(&none, "1"));
	/* A range at the top of 15 digits does not wrap. */
	struct stir_tnauth top = { .n = 1, .entry = { { .kind = STIR_TNAUTH_RANGE,
							.value = "999999999999990", .count = 4000000000u } } };
	assert_true(stir_tnauth_covers(&top, "999999999999999"));
	assert_false(stir_tnauth_covers(&top, "99999999999999"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tnauth_of_dev_certs),
		cmocka_unit_test(tnauth_handmade),
		cmocka_unit_test(cert_passes_dev_certs),
		cmocka_unit_test(cert_failures),
		cmocka_unit_test(tnauth_covers),
		cmocka_unit_test(intermediate_crl),
		cmocka_unit_test(chain_with_intermediate_is_kept),
		cmocka_unit_test(es256_verify),
		cmocka_unit_test(rsa_4474),
		cmocka_unit_test(dns_name_match),
		cmocka_unit_test(cache_expiry),
		cmocka_unit_test(cache_eviction_and_failures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
