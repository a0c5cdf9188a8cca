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
 * refused, and no digest answer carries data. */
#include <gnutls/abstract.h>
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

#include "keyholder/keyholder.h"
#include "keyholder/proto.h"

static char key_path[] = "/tmp/test_keyholder_XXXXXX";
static char users_path[] = "/tmp/test_keyholder_users_XXXXXX";
#define REALM "example.com"
/* alice/wonderland (both HA1s), bob/builder (MD5 only) */
static const char users_text[] =
	"alice example.com md5=93dfce8dfebfae8af4a726982429d23a "
	"sha256=8a76b8adf2eb7492ff78f57bc361a5c93e2f53c6e93f7ee91f68b5382cfea14f\n"
	"bob example.com md5=37593d991414f52c30246c60c7798431\n";
static gnutls_pubkey_t pub;
static gnutls_privkey_t ext;

static int setup(void **state)
{
	gnutls_x509_privkey_t x;
	gnutls_privkey_t k;
	unsigned char pem[4096];
	size_t len = sizeof(pem);
	int fd = mkstemp(key_path);
	if (fd < 0 || gnutls_x509_privkey_init(&x) < 0 ||
	    gnutls_x509_privkey_generate(x, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_privkey_export(x, GNUTLS_X509_FMT_PEM, pem, &len) < 0 ||
	    write(fd, pem, len) != (ssize_t)len)
		return -1;
	close(fd);
	if (gnutls_privkey_init(&k) < 0 || gnutls_privkey_import_x509(k, x, 0) < 0 ||
	    gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_privkey(pub, k, 0, 0) < 0)
		return -1;
	gnutls_privkey_deinit(k);
	gnutls_x509_privkey_deinit(x);

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
	struct sandbox_user stay = { .drop = false };
	if (keyholder_start(&cfg, &stay) < 0 || keyholder_privkey(key_path, pub, &ext) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	gnutls_privkey_deinit(ext);
	gnutls_pubkey_deinit(pub);
	keyholder_stop();
	unlink(key_path);
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

	r = good; r.op = 9;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = good; r.op = KH_OP_READY;
	assert_int_equal(raw(&r, full), GNUTLS_E_INVALID_REQUEST);
	r = good; r.key = 1;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_through_holder),
		cmocka_unit_test(malformed_requests_refused),
		cmocka_unit_test(digest_through_holder),
		cmocka_unit_test(malformed_digest_requests_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
