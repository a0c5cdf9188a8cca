/* stir/passport: PASSporT (RFC 8225) with the SHAKEN extension (RFC 8588):
 * the claims a call is signed with, their canonical JSON (keys sorted, no
 * whitespace, built with jansson), base64url (nettle), the signing input
 * "header.claims", and the parse of a received token. The signature itself
 * is made by the key holder and checked by stir/cert. */
#ifndef PC_STIR_PASSPORT_H
#define PC_STIR_PASSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stir/result.h"
#include "stir/tn.h"

#define STIR_URI_MAX 256      /* an orig/dest "uri" form */
#define STIR_URL_MAX 512      /* x5u / info */
#define STIR_MAX_DEST 4
#define STIR_ORIGID_MAX 40    /* a UUID, 36 characters */
#define STIR_TOKEN_MAX 4096   /* a whole compact-serialised PASSporT */
#define STIR_ES256_SIG_LEN 64 /* JWS ES256: r || s, 32 bytes each */

enum stir_attest { STIR_ATTEST_NONE = 0, STIR_ATTEST_A, STIR_ATTEST_B, STIR_ATTEST_C };

/* One orig or dest identity: a canonical telephone number ("tn"), or
 * where the party is not a number, a URI ("uri", RFC 8225 §5.2.1). */
struct stir_party {
	bool is_uri;
	char value[STIR_URI_MAX];
};

struct stir_claims {
	/* header */
	char x5u[STIR_URL_MAX];
	/* claims */
	enum stir_attest attest;
	struct stir_party orig;
	struct stir_party dest[STIR_MAX_DEST];
	unsigned n_dest;
	int64_t iat;
	char origid[STIR_ORIGID_MAX]; /* "" when absent (a non-SHAKEN token) */
	bool shaken;                  /* ppt "shaken" (attest and origid present) */
};

/* Writes "base64url(header).base64url(claims)" of `c` (ES256, typ passport,
 * ppt shaken when c->shaken, x5u) into out. Returns its length, or 0 when it
 * does not fit or a field is invalid. */
size_t stir_passport_signing_input(const struct stir_claims *c, char *out, size_t outlen);

/* A token split and decoded: `input` points into the caller's text (the
 * signing input, header.claims), the signature is the raw r||s. */
struct stir_token {
	const char *input;
	size_t input_len;
	uint8_t sig[STIR_ES256_SIG_LEN];
	struct stir_claims claims;
	char alg[16], ppt[16];
};

/* Parses a compact-serialised PASSporT "h.c.s" (full form). The header must
 * say alg ES256 and typ passport (or no typ), the claims carry iat, orig and
 * dest; unknown claims are allowed (RFC 8225 §5.2), duplicated keys, JSON
 * nesting beyond what the claims need, and sizes above STIR_TOKEN_MAX are
 * not. Returns STIR_PASSED, STIR_MALFORMED or STIR_UNSUPPORTED. */
enum stir_result stir_passport_parse(const char *text, size_t len, struct stir_token *out);

/* base64url without padding (RFC 7515 §2); decode refuses padding, other
 * alphabets and trailing bits. Return the length written, or (size_t)-1. */
size_t stir_b64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
size_t stir_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen);

#endif
