/* stir/rfc4474: the legacy Identity of RFC 4474 for peers that still speak
 * it: the digest-string over From addr-spec, To addr-spec, Call-ID, CSeq,
 * Date, Contact addr-spec and body (§9), the Identity value (quoted
 * base64 of an rsa-sha256 signature, or rsa-sha1 where configured: weak,
 * SHA-1) and Identity-Info ("<url>;alg=rsa-sha256"). The signature is made
 * by the key holder and checked by stir/cert. */
#ifndef PC_STIR_RFC4474_H
#define PC_STIR_RFC4474_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stir/result.h"

struct stir_4474_fields {
	const char *from_addr;   /* addr-spec of From */
	const char *to_addr;     /* addr-spec of To */
	const char *call_id;
	const char *cseq;        /* "<number> <method>" */
	const char *date;        /* the Date header value */
	const char *contact;     /* addr-spec of Contact, or "" */
	const char *body;        /* may be NULL with body_len 0 */
	size_t body_len;
};

/* Writes the digest-string; returns its length, 0 if it does not fit. */
size_t stir_4474_digest_string(const struct stir_4474_fields *f, char *out, size_t outlen);

/* Identity: "\"<base64 signature>\"". Returns the length, 0 if no fit. */
size_t stir_4474_identity_format(const uint8_t *sig, size_t len, char *out, size_t outlen);
/* Parses an Identity value (quoted base64) into sig; returns its length or
 * (size_t)-1. */
size_t stir_4474_identity_parse(const char *value, size_t len, uint8_t *sig, size_t siglen);
/* Parses Identity-Info "<url>;alg=rsa-sha256|rsa-sha1": url into out, *sha1
 * set for rsa-sha1. STIR_PASSED, STIR_MALFORMED or STIR_UNSUPPORTED. */
enum stir_result stir_4474_info_parse(const char *value, size_t len, char *url, size_t urllen,
				      bool *sha1);
/* RFC 4474 §6.2 step 4: the signed Date (Unix time, -1 when the request has
 * none) is at most max_age_s old (0: STIR_MAX_AGE_DEFAULT_S) and at most
 * STIR_IAT_FUTURE_SKEW_S ahead of `now`. STIR_PASSED or STIR_STALE. Pure. */
enum stir_result stir_4474_date_check(int64_t date, int64_t now, unsigned max_age_s);

#endif
