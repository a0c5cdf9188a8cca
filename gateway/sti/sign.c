/* sti/sign: PASSporT signing input, its hash, the holder's signature and the
 * header value, in that order (see sign.h). */
#include "sti/sign.h"

#include <nettle/sha2.h>
#include <string.h>

#include "stir/identity_hdr.h"

size_t sti_sign(const struct stir_claims *c, sti_es256_fn sign, void *arg, char *out,
		size_t outlen)
{
	char input[STIR_TOKEN_MAX];
	size_t n = stir_passport_signing_input(c, input, sizeof(input));
	if (n == 0)
		return 0;
	uint8_t hash[SHA256_DIGEST_SIZE], sig[STIR_ES256_SIG_LEN];
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	sha256_update(&ctx, n, (const uint8_t *)input);
	sha256_digest(&ctx, sizeof(hash), hash);
	if (sign(arg, hash, sig) != 0)
		return 0;
	return stir_identity_format(input, n, sig, c->x5u, c->shaken, out, outlen);
}
