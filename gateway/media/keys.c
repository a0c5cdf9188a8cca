/* Fresh SDES master keys for the keys we protect with, and fingerprints of
 * the keys peers gave us. Fresh keys come straight from the kernel's CSPRNG
 * (core/random.h) rather than anything seeded by us, because a predictable
 * or repeated SRTP master key voids both confidentiality and authentication
 * of every call that uses it. A peer's key, once retired, must not come
 * back (a new context under it would start a new replay window, so packets
 * recorded under it could be replayed): the relay remembers retired keys by
 * a keyed fingerprint, which holds nothing the key could be recovered from. */
#include "media.h"

#include <string.h>

#include <nettle/hmac.h>

#include "core/log.h"
#include "core/random.h"

int media_keys_fresh(enum pc_srtp_suite suite, struct pc_srtp_params *out)
{
	if (out == NULL)
		return -1;
	pc_srtp_params_wipe(out);
	size_t len = pc_srtp_suite_key_salt_len(suite);
	if (len == 0 || len > sizeof(out->key_salt)) {
		log_warnx("media: no key length for SRTP suite %d", (int)suite);
		return -1;
	}
	if (pc_random_bytes(out->key_salt, len) != 0) {
		pc_srtp_params_wipe(out);
		log_err("media: the key generator failed");
		return -1;
	}
	out->suite = suite;
	out->key_salt_len = len;
	out->mki = 0;
	out->mki_len = 0;
	out->lifetime = 0;
	return 0;
}

/* Made on first use, for the life of the process: fingerprints are compared
 * only with others of the same process. */
static uint8_t fingerprint_secret[32];
static bool fingerprint_ready;

int media_key_fingerprint(const struct pc_srtp_params *p, uint64_t *out)
{
	if (!fingerprint_ready) {
		if (pc_random_bytes(fingerprint_secret, sizeof(fingerprint_secret)) != 0) {
			log_err("media: the key generator failed");
			return -1;
		}
		fingerprint_ready = true;
	}
	struct hmac_sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	uint8_t suite = (uint8_t)p->suite;
	hmac_sha256_set_key(&ctx, sizeof(fingerprint_secret), fingerprint_secret);
	hmac_sha256_update(&ctx, 1, &suite);
	hmac_sha256_update(&ctx, p->key_salt_len, p->key_salt);
	hmac_sha256_digest(&ctx, sizeof(digest), digest);
	memcpy(out, digest, sizeof(*out));
	explicit_bzero(&ctx, sizeof(ctx));
	return 0;
}
