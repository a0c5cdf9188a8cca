/* Fresh SDES master keys for the keys we protect with. They come from
 * GnuTLS's key-grade generator (GNUTLS_RND_KEY) rather than anything seeded
 * by us, because a predictable or repeated SRTP master key voids both
 * confidentiality and authentication of every call that uses it. */
#include "media.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "core/log.h"

int media_keys_fresh(enum srtp_suite suite, struct srtp_params *out)
{
	if (out == NULL)
		return -1;
	srtp_params_wipe(out);
	size_t len = srtp_suite_key_salt_len(suite);
	if (len == 0 || len > sizeof(out->key_salt)) {
		log_warnx("media: no key length for SRTP suite %d", (int)suite);
		return -1;
	}
	if (gnutls_rnd(GNUTLS_RND_KEY, out->key_salt, len) != 0) {
		srtp_params_wipe(out);
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
