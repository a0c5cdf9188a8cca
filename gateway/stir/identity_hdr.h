/* stir/identity_hdr: the Identity header field of RFC 8224 §4.1 as text:
 * format "token;info=<url>;alg=ES256;ppt=shaken", and parse a received value
 * in full form ("h.c.s;info=...") or compact form ("..s;info=...", §4.1.1:
 * header and claims are rebuilt by the verifier from the SIP request). */
#ifndef PC_STIR_IDENTITY_HDR_H
#define PC_STIR_IDENTITY_HDR_H

#include <stdbool.h>
#include <stddef.h>

#include "stir/passport.h"

/* Formats the header value: signing input, '.', base64url(sig), then
 * ";info=<x5u>;alg=ES256;ppt=shaken". Returns the length, 0 if it does not
 * fit. */
size_t stir_identity_format(const char *input, size_t input_len,
			    const uint8_t sig[STIR_ES256_SIG_LEN], const char *x5u,
			    bool shaken, char *out, size_t outlen);

/* Whether u[0..n) is an absolute http(s) URL usable as info/x5u (and as
 * RFC 4474's Identity-Info): a scheme, something after it, shorter than
 * max, no whitespace, control characters, '<' or '"'. */
bool stir_info_url_ok(const char *u, size_t n, size_t max);

struct stir_identity {
	bool compact;                  /* header and claims to be rebuilt */
	struct stir_token token;       /* full form: parsed; compact: sig only */
	char info[STIR_URL_MAX];       /* the info parameter, without <> */
	char alg[16];                  /* the alg parameter ("" absent: ES256) */
	char ppt[16];                  /* the ppt parameter ("" absent) */
};

/* Parses one Identity header value (`len` bytes, not NUL-terminated). The
 * info parameter is required and must be an absolute http(s) URL in <>;
 * alg, when present, must match the token's; ppt likewise. Linear in len.
 * Returns STIR_PASSED, STIR_MALFORMED or STIR_UNSUPPORTED. `out->token.input`
 * points into `value`. */
enum stir_result stir_identity_parse(const char *value, size_t len, struct stir_identity *out);

#endif
