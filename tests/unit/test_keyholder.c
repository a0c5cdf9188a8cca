/* The key holder's protocol, against a real forked holder: a signature made
 * through it verifies with the public key, and every malformed or
 * out-of-table request (unknown operation, unknown key, an operation the key
 * does not allow, a signature algorithm of another key type, flags the
 * operation does not take, a length that lies, input over the operation's
 * bound) is refused without killing the holder. Fails when a check in
 * holder.c check_request() is removed (the holder then signs or crashes). */
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

	static struct gateway_config cfg;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_through_holder),
		cmocka_unit_test(malformed_requests_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
