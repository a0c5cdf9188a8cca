/* sti/sign: the authentication service's signature (RFC 8224 §5): the
 * claims of a call made into a PASSporT, its SHA-256 signed by whoever holds
 * the STI key (the key holder, through a callback: this process never sees
 * the key), and the Identity header value in full form. */
#ifndef PC_STI_SIGN_H
#define PC_STI_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "stir/passport.h"

/* Signs a SHA-256 hash with ES256, writing the JWS r||s form. 0 or -1. */
typedef int (*sti_es256_fn)(void *arg, const uint8_t hash[32], uint8_t sig[STIR_ES256_SIG_LEN]);

/* The Identity header value of claims `c` (c->x5u set) into out: its
 * length, or 0 when the claims do not make a PASSporT or signing failed. */
size_t sti_sign(const struct stir_claims *c, sti_es256_fn sign, void *arg, char *out,
		size_t outlen);

#endif
