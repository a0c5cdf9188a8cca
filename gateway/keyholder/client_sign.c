/* The network process's side of the Identity signing keys in the key
 * holder: an RFC 8224 PASSporT signature with the STI key (ES256) and an
 * RFC 4474 signature with the legacy RSA key. Each is one round trip over
 * the socketpair, as a TLS signature is (client.c): the hash is computed
 * here, only the hash crosses, and the holder signs it if that key may make
 * that signature. GnuTLS answers an ECDSA signature in DER; JWS wants the
 * fixed-size r || s, so it is converted here. */
#include "keyholder.h"

#include <gnutls/crypto.h>
#include <string.h>

#include "core/log.h"
#include "proto.h"

#define ES256_HALF (KEYHOLDER_ES256_LEN / 2)

bool keyholder_sti_active(void) { return kh_key_index(KH_USE_STI) >= 0; }
bool keyholder_legacy_active(void) { return kh_key_index(KH_USE_LEGACY) >= 0; }

/* An INTEGER of the DER signature into `len` bytes, left-padded: its
 * leading zero bytes (DER's sign byte) dropped, a longer one refused. */
static int fixed_width(const gnutls_datum_t *v, uint8_t *out, size_t len)
{
	size_t skip = 0;
	while (skip < v->size && v->data[skip] == 0)
		skip++;
	size_t n = v->size - skip;
	if (n > len)
		return -1;
	memset(out, 0, len - n);
	memcpy(out + len - n, v->data + skip, n);
	return 0;
}

int keyholder_sign_es256(const uint8_t hash[32], uint8_t sig[KEYHOLDER_ES256_LEN])
{
	int key = kh_key_index(KH_USE_STI);
	if (key < 0)
		return GNUTLS_E_INVALID_REQUEST;
	const gnutls_datum_t in = { (unsigned char *)hash, KH_STI_HASH_LEN };
	gnutls_datum_t der = { NULL, 0 }, r = { NULL, 0 }, s = { NULL, 0 };
	/* Deterministic ECDSA (RFC 6979): no per-signature randomness to get wrong. */
	int rc = kh_roundtrip(KH_OP_SIGN_HASH, (uint16_t)key, GNUTLS_SIGN_ECDSA_SHA256,
			      GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE, &in, &der);
	if (rc == 0)
		rc = gnutls_decode_rs_value(&der, &r, &s);
	if (rc == 0 && (fixed_width(&r, sig, ES256_HALF) < 0 || fixed_width(&s, sig + ES256_HALF, ES256_HALF) < 0))
		rc = GNUTLS_E_PK_SIGN_FAILED;
	gnutls_free(der.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
	if (rc < 0)
		log_warnx("keyholder: ES256 signature failed: %s", gnutls_strerror(rc));
	return rc;
}

int keyholder_sign_rsa(const void *data, size_t len, bool sha1, uint8_t *sig, size_t *siglen)
{
	int key = kh_key_index(KH_USE_LEGACY);
	if (key < 0)
		return GNUTLS_E_INVALID_REQUEST;
	gnutls_digest_algorithm_t dig = sha1 ? GNUTLS_DIG_SHA1 : GNUTLS_DIG_SHA256;
	uint8_t hash[32];
	gnutls_datum_t in = { hash, gnutls_hash_get_len(dig) }, out = { NULL, 0 };
	int rc = gnutls_hash_fast(dig, data, len, hash);
	if (rc == 0)
		rc = kh_roundtrip(KH_OP_SIGN_HASH, (uint16_t)key, sha1 ? GNUTLS_SIGN_RSA_SHA1 : GNUTLS_SIGN_RSA_SHA256,
				  0, &in, &out);
	if (rc == 0 && out.size > *siglen)
		rc = GNUTLS_E_SHORT_MEMORY_BUFFER;
	if (rc == 0) {
		memcpy(sig, out.data, out.size);
		*siglen = out.size;
	}
	gnutls_free(out.data);
	if (rc < 0)
		log_warnx("keyholder: RFC 4474 %s signature failed: %s", sha1 ? "rsa-sha1" : "rsa-sha256",
			  gnutls_strerror(rc));
	return rc;
}
