/* The key holder's protocol, against a real forked holder: a signature made
 * through it verifies with the public key, and every malformed or
 * out-of-table request (unknown operation, unknown key, an operation the key
 * does not allow, a signature algorithm of another key type, flags the
 * operation does not take, a length that lies, input over the operation's
 * bound) is refused without killing the holder. Fails when a check in
 * holder.c check_request() is removed (the holder then signs or crashes).
 * The digest operations: a nonce minted by the holder checks as valid and a
 * forged one does not; a right response is a match, a wrong one, an unknown
 * user and a user without that algorithm's HA1 are told apart by status
 * only; malformed digest requests (wrong size, a key or algorithm given, an
 * unterminated field, a foreign realm, a question that is not qop=auth) are
 * refused, and no digest answer carries data.
 * The Identity keys: a PASSporT hash signed with the development STI key
 * (certs/dev/sti.key) verifies with sti.crt's public key, as JWS r || s;
 * an RFC 4474 rsa-sha256 signature verifies with the legacy key's; the STI
 * key refuses decryption, raw data, RSA and other hash algorithms, hashes
 * of the wrong length and TLS flags; the legacy key refuses decryption (a
 * TLS RSA key may decrypt), PSS and rsa-sha1 (legacy_sha1 is not set).
 * Fails when holder.c loads these keys with a TLS key's rights.
 * The user store's reload: a store renamed over the old one is read, the
 * network process's view of it has no HA1, and only a commit changes who
 * authenticates with what; a broken store is refused with file:line, and
 * out-of-order or malformed reload requests are refused. */
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
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "build_config.h"
#include "keyholder/keyholder.h"
#include "keyholder/proto.h"

static char key_path[] = "/tmp/test_keyholder_XXXXXX";
static char users_path[] = "/tmp/test_keyholder_users_XXXXXX";
static char legacy_path[] = "/tmp/test_keyholder_legacy_XXXXXX";
#define STI_KEY PORTCULLIS_CERT_DIR "/sti.key"
#define STI_CRT PORTCULLIS_CERT_DIR "/sti.crt"
/* Indices in kh_key_paths: the TLS key, then the STI key, then the legacy one. */
#define KEY_STI 1
#define KEY_LEGACY 2
#define REALM "example.com"
/* alice/wonderland (both HA1s), bob/builder (MD5 only) */
static const char users_text[] =
	"alice example.com md5=93dfce8dfebfae8af4a726982429d23a "
	"sha256=8a76b8adf2eb7492ff78f57bc361a5c93e2f53c6e93f7ee91f68b5382cfea14f\n"
	"bob example.com md5=37593d991414f52c30246c60c7798431\n";
static gnutls_pubkey_t pub, legacy_pub;
static gnutls_privkey_t ext;

/* A new key of `pk` and `bits` written as PEM to `path` (a mkstemp
 * template); its public key in *pubkey. */
static int new_key(char *path, gnutls_pk_algorithm_t pk, unsigned bits, gnutls_pubkey_t *pubkey)
{
	gnutls_x509_privkey_t x;
	gnutls_privkey_t k;
	unsigned char pem[8192];
	size_t len = sizeof(pem);
	int fd = mkstemp(path);
	if (fd < 0 || gnutls_x509_privkey_init(&x) < 0 || gnutls_x509_privkey_generate(x, pk, bits, 0) < 0 ||
	    gnutls_x509_privkey_export(x, GNUTLS_X509_FMT_PEM, pem, &len) < 0 ||
	    write(fd, pem, len) != (ssize_t)len)
		return -1;
	close(fd);
	if (gnutls_privkey_init(&k) < 0 || gnutls_privkey_import_x509(k, x, 0) < 0 ||
	    gnutls_pubkey_init(pubkey) < 0 || gnutls_pubkey_import_privkey(*pubkey, k, 0, 0) < 0)
		return -1;
	gnutls_privkey_deinit(k);
	gnutls_x509_privkey_deinit(x);
	return 0;
}

static int setup(void **state)
{
	if (new_key(key_path, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), &pub) < 0 ||
	    new_key(legacy_path, GNUTLS_PK_RSA, 2048, &legacy_pub) < 0)
		return -1;

	int ufd = mkstemp(users_path);
	if (ufd < 0 || write(ufd, users_text, strlen(users_text)) != (ssize_t)strlen(users_text))
		return -1;
	close(ufd);

	static struct gateway_config cfg;
	cfg.n_legs = 1;
	cfg.legs[0].digest_auth = true;
	snprintf(cfg.auth.users, sizeof(cfg.auth.users), "%s", users_path);
	snprintf(cfg.auth.realm, sizeof(cfg.auth.realm), REALM);
	cfg.auth.max_users = 16;
	cfg.n_listeners = 1;
	cfg.listeners[0].transport = PC_TP_TLS;
	snprintf(cfg.listeners[0].tls.certificate, sizeof(cfg.listeners[0].tls.certificate), "unused.crt");
	snprintf(cfg.listeners[0].tls.key, sizeof(cfg.listeners[0].tls.key), "%s", key_path);
	cfg.legs[0].identity_sign = true;
	snprintf(cfg.stir.key, sizeof(cfg.stir.key), STI_KEY);
	cfg.n_peers = 1;
	cfg.peers[0].identity_legacy = true;
	snprintf(cfg.stir.legacy_key, sizeof(cfg.stir.legacy_key), "%s", legacy_path);
	cfg.stir.legacy_sha1 = false;
	struct sandbox_user stay = { .drop = false };
	if (keyholder_start(&cfg, &stay) < 0 || keyholder_privkey(key_path, pub, &ext) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	gnutls_privkey_deinit(ext);
	gnutls_pubkey_deinit(pub);
	gnutls_pubkey_deinit(legacy_pub);
	keyholder_stop();
	unlink(key_path);
	unlink(legacy_path);
	unlink(users_path);
	return 0;
}

static void signature_verifies(void)
{
	unsigned char msg[130];
	memset(msg, 0x20, sizeof(msg));
	const gnutls_datum_t data = { msg, sizeof(msg) };
	gnutls_datum_t sig = { NULL, 0 };
	assert_int_equal(gnutls_privkey_sign_data2(ext, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &sig), 0);
	assert_int_equal(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &sig), 0);
	gnutls_free(sig.data);
}

static void sign_through_holder(void **state)
{
	signature_verifies();
}

/* Sends `len` bytes of `req` as one request; the holder's status. */
static int32_t raw(const struct kh_request *req, size_t len)
{
	static uint32_t seq = 1000;
	struct kh_request copy = *req;
	copy.seq = ++seq;
	struct kh_reply rep;
	assert_int_equal(send(keyholder_fd(), &copy, len, 0), (ssize_t)len);
	ssize_t got;
	do
		got = recv(keyholder_fd(), &rep, sizeof(rep), 0);
	while (got > 0 && rep.seq != copy.seq);
	assert_true(got >= (ssize_t)KH_REPLY_HEADER);
	assert_int_equal(rep.len, 0); /* a refusal carries nothing */
	return rep.status;
}

static void malformed_requests_refused(void **state)
{
	const struct kh_request good = { .op = KH_OP_SIGN_DATA, .key = 0,
					 .algo = GNUTLS_SIGN_ECDSA_SHA256, .len = 32 };
	struct kh_request r;
	size_t full = KH_REQUEST_HEADER + 32;

	r = good; r.op = KH_OP__COUNT;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = good; r.op = KH_OP_READY;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = good; r.key = 3;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = good; r.op = KH_OP_DECRYPT; r.algo = 0; /* an EC key decrypts nothing */
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = good; r.algo = GNUTLS_SIGN_RSA_SHA256;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = good; r.flags = 1u << 0;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = good; r.len = 40; /* says more than it sends */
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = good; r.op = KH_OP_SIGN_HASH; r.len = 100; /* no hash is that long */
	assert_int_equal(raw(&r, KH_REQUEST_HEADER + 100), GNUTLS_E_INVALID_REQUEST);
	assert_int_equal(raw(&good, 4), GNUTLS_E_INVALID_REQUEST); /* shorter than a header */

	signature_verifies(); /* and the holder still serves */
}

/* --- digest ------------------------------------------------------------- */

#define NOW 1700000000ull

static const char *mint(const struct digest_oracle *o, char nonce[NONCE_BUF_LEN])
{
	static const uint8_t rnd[NONCE_RANDOM_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_int_equal(o->mint(o->ctx, REALM, NOW, rnd, nonce), 0);
	return nonce;
}

/* A question as the network process asks it, with the client's response
 * for `password`. */
static struct digest_question question(enum digest_alg alg, const char *user, const char *password,
				       const char *nonce)
{
	struct digest_question q;
	uint8_t ha1[DIGEST_MAX_LEN];
	memset(&q, 0, sizeof(q));
	q.alg = alg;
	snprintf(q.username, sizeof(q.username), "%s", user);
	snprintf(q.realm, sizeof(q.realm), REALM);
	snprintf(q.nonce, sizeof(q.nonce), "%s", nonce);
	snprintf(q.nc, sizeof(q.nc), "00000001");
	snprintf(q.cnonce, sizeof(q.cnonce), "0a4f113b");
	snprintf(q.qop, sizeof(q.qop), "auth");
	digest_ha2(alg, "REGISTER", "sip:" REALM, q.ha2);
	digest_ha1(alg, user, REALM, password, strlen(password), ha1);
	digest_response_ha2(alg, ha1, q.ha2, q.nonce, q.nc, q.cnonce, q.qop, q.response);
	return q;
}

static void digest_through_holder(void **state)
{
	const struct digest_oracle *o = keyholder_digest_oracle();
	char nonce[NONCE_BUF_LEN];
	assert_non_null(o);
	mint(o, nonce);
	assert_int_equal(strlen(nonce), NONCE_TEXT_LEN);
	assert_int_equal(o->check_nonce(o->ctx, REALM, nonce, NOW + 1, 300), NONCE_VALID);
	assert_int_equal(o->check_nonce(o->ctx, REALM, nonce, NOW + 301, 300), NONCE_STALE);
	char forged[NONCE_BUF_LEN];
	memcpy(forged, nonce, sizeof(forged));
	forged[20] = forged[20] == 'A' ? 'B' : 'A';
	assert_int_equal(o->check_nonce(o->ctx, REALM, forged, NOW + 1, 300), NONCE_INVALID);
	/* The holder mints and checks only for its realm. */
	assert_int_equal(o->check_nonce(o->ctx, "other.org", nonce, NOW + 1, 300), NONCE_INVALID);

	struct digest_question q = question(DIGEST_MD5, "alice", "wonderland", nonce);
	assert_int_equal(o->answer(o->ctx, &q), DIGEST_MATCH);
	q = question(DIGEST_SHA256, "alice", "wonderland", nonce);
	assert_int_equal(o->answer(o->ctx, &q), DIGEST_MATCH);
	q = question(DIGEST_MD5, "alice", "wonderlant", nonce);
	assert_int_equal(o->answer(o->ctx, &q), DIGEST_MISMATCH);
	q = question(DIGEST_MD5, "mallory", "wonderland", nonce);
	assert_int_equal(o->answer(o->ctx, &q), DIGEST_UNKNOWN_USER);
	q = question(DIGEST_SHA256, "bob", "builder", nonce);
	assert_int_equal(o->answer(o->ctx, &q), DIGEST_NO_HA1);
	q = question(DIGEST_MD5, "bob", "builder", nonce);
	assert_int_equal(o->answer(o->ctx, &q), DIGEST_MATCH);
}

static void malformed_digest_requests_refused(void **state)
{
	char nonce[NONCE_BUF_LEN];
	mint(keyholder_digest_oracle(), nonce);
	struct digest_question q = question(DIGEST_MD5, "alice", "wonderland", nonce);
	struct kh_request r = { .op = KH_OP_DIGEST_ANSWER, .len = sizeof(q) };
	size_t full = KH_REQUEST_HEADER + sizeof(q);
	memcpy(r.data, &q, sizeof(q));
	assert_int_equal(raw(&r, full), DIGEST_MATCH); /* the request as it is, answered */

	struct kh_request bad = r;
	bad.len = sizeof(q) - 1; /* shorter than a question */
	assert_int_equal(raw(&bad, full - 1), GNUTLS_E_INVALID_REQUEST);
	bad = r; bad.key = 1;
	assert_int_equal(raw(&bad, full), GNUTLS_E_INVALID_REQUEST);
	bad = r; bad.algo = GNUTLS_SIGN_ECDSA_SHA256;
	assert_int_equal(raw(&bad, full), GNUTLS_E_INVALID_REQUEST);
	struct digest_question b = q;
	memset(b.username, 'a', sizeof(b.username)); /* unterminated */
	bad = r; memcpy(bad.data, &b, sizeof(b));
	assert_int_equal(raw(&bad, full), GNUTLS_E_INVALID_REQUEST);
	b = q; snprintf(b.qop, sizeof(b.qop), "auth-int");
	bad = r; memcpy(bad.data, &b, sizeof(b));
	assert_int_equal(raw(&bad, full), GNUTLS_E_INVALID_REQUEST);
	b = q; b.alg = 7;
	bad = r; memcpy(bad.data, &b, sizeof(b));
	assert_int_equal(raw(&bad, full), GNUTLS_E_INVALID_REQUEST);
	b = q; b.nc[3] = 'x';
	bad = r; memcpy(bad.data, &b, sizeof(b));
	assert_int_equal(raw(&bad, full), GNUTLS_E_INVALID_REQUEST);
	b = q; b.response[0] ^= 1; /* well formed, wrong: a status, no data */
	bad = r; memcpy(bad.data, &b, sizeof(b));
	assert_int_equal(raw(&bad, full), DIGEST_MISMATCH);

	struct kh_nonce_request nr;
	memset(&nr, 0, sizeof(nr));
	nr.now_s = NOW;
	snprintf(nr.realm, sizeof(nr.realm), "other.org");
	struct kh_request m = { .op = KH_OP_NONCE_MINT, .len = sizeof(nr) };
	memcpy(m.data, &nr, sizeof(nr));
	assert_int_equal(raw(&m, KH_REQUEST_HEADER + sizeof(nr)), GNUTLS_E_INVALID_REQUEST);
	memset(nr.realm, 'x', sizeof(nr.realm)); /* unterminated */
	memcpy(m.data, &nr, sizeof(nr));
	assert_int_equal(raw(&m, KH_REQUEST_HEADER + sizeof(nr)), GNUTLS_E_INVALID_REQUEST);
	snprintf(nr.realm, sizeof(nr.realm), REALM);
	memset(nr.nonce, 'n', sizeof(nr.nonce)); /* unterminated */
	m.op = KH_OP_NONCE_CHECK;
	memcpy(m.data, &nr, sizeof(nr));
	assert_int_equal(raw(&m, KH_REQUEST_HEADER + sizeof(nr)), GNUTLS_E_INVALID_REQUEST);

	/* and the holder still answers */
	q = question(DIGEST_SHA256, "alice", "wonderland", nonce);
	assert_int_equal(keyholder_digest_oracle()->answer(NULL, &q), DIGEST_MATCH);
	signature_verifies();
}

/* --- Identity keys -------------------------------------------------------- */

static void sti_signature_verifies_with_the_certificate(void **state)
{
	static const char input[] = "eyJhbGciOiJFUzI1NiJ9.eyJpYXQiOjE3MDAwMDAwMDB9";
	uint8_t hash[32], sig[KEYHOLDER_ES256_LEN];
	gnutls_datum_t crt_pem = { NULL, 0 }, der = { NULL, 0 };
	gnutls_x509_crt_t crt;
	gnutls_pubkey_t sti_pub;
	assert_true(keyholder_sti_active());
	assert_true(keyholder_legacy_active());
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, input, strlen(input), hash), 0);
	assert_int_equal(keyholder_sign_es256(hash, sig), 0);

	assert_int_equal(gnutls_load_file(STI_CRT, &crt_pem), 0);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &crt_pem, GNUTLS_X509_FMT_PEM), 0);
	assert_int_equal(gnutls_pubkey_init(&sti_pub), 0);
	assert_int_equal(gnutls_pubkey_import_x509(sti_pub, crt, 0), 0);
	/* JWS r || s back to DER, as any verifier does. */
	const gnutls_datum_t r = { sig, 32 }, s = { sig + 32, 32 };
	assert_int_equal(gnutls_encode_rs_value(&der, &r, &s), 0);
	const gnutls_datum_t data = { (unsigned char *)input, (unsigned)strlen(input) };
	assert_int_equal(gnutls_pubkey_verify_data2(sti_pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &der), 0);
	/* and not over anything else */
	const gnutls_datum_t other = { (unsigned char *)input, (unsigned)strlen(input) - 1 };
	assert_int_not_equal(gnutls_pubkey_verify_data2(sti_pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &other, &der), 0);
	/* Deterministic ECDSA: the same hash, the same signature. */
	uint8_t again[KEYHOLDER_ES256_LEN];
	assert_int_equal(keyholder_sign_es256(hash, again), 0);
	assert_memory_equal(sig, again, sizeof(sig));
	gnutls_free(der.data);
	gnutls_free(crt_pem.data);
	gnutls_pubkey_deinit(sti_pub);
	gnutls_x509_crt_deinit(crt);
}

static void legacy_signature_verifies(void **state)
{
	static const char digest_string[] = "sip:alice@example.com|sip:bob@example.org|a84b4c76e66710|"
					    "314159 INVITE|Thu, 21 Feb 2002 13:02:03 GMT|sip:alice@pc33.example.com|";
	uint8_t sig[512];
	size_t len = sizeof(sig);
	assert_int_equal(keyholder_sign_rsa(digest_string, strlen(digest_string), false, sig, &len), 0);
	assert_int_equal(len, 256);
	const gnutls_datum_t data = { (unsigned char *)digest_string, (unsigned)strlen(digest_string) };
	const gnutls_datum_t sd = { sig, (unsigned)len };
	assert_int_equal(gnutls_pubkey_verify_data2(legacy_pub, GNUTLS_SIGN_RSA_SHA256, 0, &data, &sd), 0);
	/* rsa-sha1 is refused: legacy_sha1 is not configured. */
	len = sizeof(sig);
	assert_true(keyholder_sign_rsa(digest_string, strlen(digest_string), true, sig, &len) < 0);
	/* a buffer too small for the signature */
	len = 100;
	assert_true(keyholder_sign_rsa(digest_string, strlen(digest_string), false, sig, &len) < 0);
}

static void identity_keys_refuse_other_uses(void **state)
{
	const struct kh_request sti = { .op = KH_OP_SIGN_HASH, .key = KEY_STI,
					.algo = GNUTLS_SIGN_ECDSA_SHA256, .len = 32 };
	const struct kh_request legacy = { .op = KH_OP_SIGN_HASH, .key = KEY_LEGACY,
					   .algo = GNUTLS_SIGN_RSA_SHA256, .len = 32 };
	size_t full = KH_REQUEST_HEADER + 32;
	struct kh_request r;

	r = sti; r.op = KH_OP_DECRYPT; r.algo = 0;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = sti; r.op = KH_OP_SIGN_DATA; /* data a TLS peer could choose */
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = sti; r.algo = GNUTLS_SIGN_RSA_SHA256; /* an RSA algorithm for an EC key */
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = sti; r.algo = GNUTLS_SIGN_ECDSA_SHA384; r.len = 48;
	assert_int_equal(raw(&r, KH_REQUEST_HEADER + 48), GNUTLS_E_INVALID_REQUEST);
	r = sti; r.algo = GNUTLS_SIGN_ECDSA_SHA1; r.len = 20;
	assert_int_equal(raw(&r, KH_REQUEST_HEADER + 20), GNUTLS_E_INVALID_REQUEST);
	r = sti; r.len = 31; /* a hash of the wrong length */
	assert_int_equal(raw(&r, KH_REQUEST_HEADER + 31), GNUTLS_E_INVALID_REQUEST);
	r = sti; r.len = 33;
	assert_int_equal(raw(&r, KH_REQUEST_HEADER + 33), GNUTLS_E_INVALID_REQUEST);
	r = sti; r.flags = GNUTLS_PRIVKEY_SIGN_FLAG_RSA_PSS; /* a TLS flag */
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);

	r = legacy; r.op = KH_OP_DECRYPT; r.algo = 0; /* RSA, but not a TLS key */
	r.len = 256;
	assert_int_equal(raw(&r, KH_REQUEST_HEADER + 256), GNUTLS_E_INVALID_REQUEST);
	r = legacy; r.op = KH_OP_SIGN_DATA;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = legacy; r.algo = GNUTLS_SIGN_RSA_SHA1; r.len = 20; /* legacy_sha1 not set */
	assert_int_equal(raw(&r, KH_REQUEST_HEADER + 20), GNUTLS_E_INVALID_REQUEST);
	r = legacy; r.len = 20; /* a SHA-1-sized hash called SHA-256 */
	assert_int_equal(raw(&r, KH_REQUEST_HEADER + 20), GNUTLS_E_INVALID_REQUEST);
	r = legacy; r.flags = GNUTLS_PRIVKEY_SIGN_FLAG_RSA_PSS;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = legacy; r.algo = GNUTLS_SIGN_ECDSA_SHA256;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);

	/* and both still sign what they are for */
	sti_signature_verifies_with_the_certificate(state);
	legacy_signature_verifies(state);
}

/* --- user store reload ---------------------------------------------------- */

/* The store's text replaced as an editor does: a new file renamed over it. */
static void replace_store(const char *text)
{
	char tmp[sizeof(users_path) + 8];
	snprintf(tmp, sizeof(tmp), "%s.new", users_path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, users_path), 0);
}

/* A store line for user with password (MD5 HA1), plus `extra`. */
static void store_line(char *out, size_t len, const char *user, const char *password,
		       const char *extra)
{
	uint8_t ha1[DIGEST_MAX_LEN];
	char hex[33];
	digest_ha1(DIGEST_MD5, user, REALM, password, strlen(password), ha1);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", ha1[i]);
	snprintf(out, len, "%s " REALM " md5=%s%s\n", user, hex, extra);
}

static enum digest_answer answer_for(const char *user, const char *password)
{
	const struct digest_oracle *o = keyholder_digest_oracle();
	char nonce[NONCE_BUF_LEN];
	struct digest_question q = question(DIGEST_MD5, user, password, mint(o, nonce));
	return o->answer(o->ctx, &q);
}

/* A reload: the holder re-reads the store by name (a renamed-over file is
 * the new one), the view it answers has the new users without any HA1, and
 * only the commit makes the new store answer: a changed password, a user
 * removed, a user added. A store that does not parse is refused with
 * file:line and the running one answers on; so after a drop. */
static void user_store_reloads_on_commit_only(void **state)
{
	char a[256], c[256], text[600];
	store_line(a, sizeof(a), "alice", "looking-glass", " id=tel:+15550001");
	store_line(c, sizeof(c), "carol", "queen-of-hearts", "");
	snprintf(text, sizeof(text), "%s%s", a, c);
	replace_store(text);

	struct users view;
	char err[512] = "";
	assert_int_equal(keyholder_users_prepare(&view, err, sizeof(err)), 0);
	assert_int_equal(view.n, 2);
	const struct user_entry *va = users_lookup(&view, "alice", REALM);
	assert_non_null(va);
	assert_true(va->has_md5);
	static const uint8_t zero[16];
	assert_memory_equal(va->ha1_md5, zero, 16);
	assert_ptr_equal(users_lookup_id(&view, "tel:+15550001", REALM), va);
	assert_null(users_lookup(&view, "bob", REALM));
	/* Pending: the running store still answers. */
	assert_int_equal(answer_for("alice", "wonderland"), DIGEST_MATCH);
	assert_int_equal(answer_for("carol", "queen-of-hearts"), DIGEST_UNKNOWN_USER);
	assert_int_equal(keyholder_users_commit(), 0);
	users_free(&view);
	assert_int_equal(answer_for("alice", "wonderland"), DIGEST_MISMATCH);
	assert_int_equal(answer_for("alice", "looking-glass"), DIGEST_MATCH);
	assert_int_equal(answer_for("bob", "builder"), DIGEST_UNKNOWN_USER);
	assert_int_equal(answer_for("carol", "queen-of-hearts"), DIGEST_MATCH);

	/* Broken on line 2: refused with file:line, nothing pending. */
	snprintf(text, sizeof(text), "%sdave " REALM " md5=not-a-hash\n", a);
	replace_store(text);
	assert_int_equal(keyholder_users_prepare(&view, err, sizeof(err)), -1);
	char where[sizeof(users_path) + 8];
	snprintf(where, sizeof(where), "%s:2: ", users_path);
	assert_non_null(strstr(err, where));
	assert_null(strstr(err, "not-a-hash"));
	assert_int_equal(view.n, 0);
	assert_int_equal(keyholder_users_commit(), -1); /* nothing to commit */
	assert_int_equal(answer_for("carol", "queen-of-hearts"), DIGEST_MATCH);

	/* Read, then dropped (the reload was refused for another reason). */
	replace_store(a);
	assert_int_equal(keyholder_users_prepare(&view, err, sizeof(err)), 0);
	users_free(&view);
	keyholder_users_drop();
	assert_int_equal(keyholder_users_commit(), -1);
	assert_int_equal(answer_for("carol", "queen-of-hearts"), DIGEST_MATCH);

	/* A symbolic link in the store's place is not followed. */
	char link_target[sizeof(users_path) + 8];
	snprintf(link_target, sizeof(link_target), "%s.real", users_path);
	assert_int_equal(rename(users_path, link_target), 0);
	assert_int_equal(symlink(link_target, users_path), 0);
	assert_int_equal(keyholder_users_prepare(&view, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	unlink(users_path);
	assert_int_equal(rename(link_target, users_path), 0);
	assert_int_equal(answer_for("carol", "queen-of-hearts"), DIGEST_MATCH);
}

/* Malformed user store requests are refused, with no data. */
static void malformed_user_store_requests_refused(void **state)
{
	struct kh_request r = { .op = KH_OP_USERS_VIEW, .len = sizeof(struct kh_users_request) };
	size_t full = KH_REQUEST_HEADER + sizeof(struct kh_users_request);
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST); /* nothing pending */
	r.op = KH_OP_USERS_COMMIT;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r.op = KH_OP_USERS_LOAD;
	r.data[0] = 1; /* an index for an operation that takes none */
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r.data[0] = 0;
	r.data[4] = 1; /* the field that must be 0 */
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r.data[4] = 0;
	r.len = 4;
	assert_int_equal(raw(&r, KH_REQUEST_HEADER + 4), GNUTLS_E_INVALID_REQUEST);
	r.len = sizeof(struct kh_users_request);
	r.key = 1;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	/* A page past the last user, once a store is pending. */
	struct users view;
	char err[512];
	assert_int_equal(keyholder_users_prepare(&view, err, sizeof(err)), 0);
	r = (struct kh_request){ .op = KH_OP_USERS_VIEW, .len = sizeof(struct kh_users_request) };
	uint32_t past = (uint32_t)view.n;
	memcpy(r.data, &past, sizeof(past));
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	users_free(&view);
	keyholder_users_drop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_through_holder),
		cmocka_unit_test(malformed_requests_refused),
		cmocka_unit_test(digest_through_holder),
		cmocka_unit_test(malformed_digest_requests_refused),
		cmocka_unit_test(sti_signature_verifies_with_the_certificate),
		cmocka_unit_test(legacy_signature_verifies),
		cmocka_unit_test(identity_keys_refuse_other_uses),
		cmocka_unit_test(malformed_user_store_requests_refused),
		cmocka_unit_test(user_store_reloads_on_commit_only),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
