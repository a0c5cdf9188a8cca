/* sti/verify: the verification service for one call (RFC 8224 §6.2,
 * RFC 8588): the first Identity header it can use is parsed, its
 * certificate found through the repository (maybe after a fetch: then the
 * answer comes later), the signature checked with the certificate's key and
 * the claims against the request. One result per call, which the leg's
 * policy turns into a verstat mark or a refusal. */
#ifndef PC_STI_VERIFY_H
#define PC_STI_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sti/repo.h"
#include "stir/verify.h"

struct sti_check;

/* The Identity header values of the request (not NUL-terminated). */
struct sti_identity_values {
	const char *const *value;
	const size_t *len;
	unsigned n;
};

typedef void (*sti_check_fn)(void *arg, enum stir_result r);

/* Verifies a request. Returns the result when it is known at once;
 * otherwise STIR_RESULT__COUNT with *pending set, and `done` is called once
 * from the event loop (unless sti_check_cancel is called first). */
enum stir_result sti_verify(struct sti_repo *repo, const struct sti_identity_values *ids,
			    const struct stir_expect *expect, sti_check_fn done, void *arg,
			    struct sti_check **pending);

/* An RFC 4474 request, as received: its Identity and Identity-Info values
 * (not NUL-terminated), the digest-string rebuilt from it (stir/rfc4474),
 * the From URI's host and its Date (Unix time, -1 when absent). */
struct sti_4474_request {
	const char *identity;
	size_t identity_len;
	const char *info;
	size_t info_len;
	const char *digest;
	size_t digest_len;
	const char *from_host;   /* NULL or "" when the From has none (tel:) */
	int64_t date;
	int64_t now;
	unsigned max_age_s;
	bool allow_sha1;         /* stir.legacy_sha1: rsa-sha1 accepted (weak) */
};

/* Verifies an RFC 4474 request (§6.2): Identity-Info's alg (rsa-sha1 only
 * when allowed: else STIR_WEAK_ALG), the Date fresh, the certificate at the
 * info URL (an RSA chain to the trust list, maybe fetched), the signature
 * over the digest-string, and the certificate naming the From host
 * (STIR_ORIG_MISMATCH when not). Returns and calls back as sti_verify. */
enum stir_result sti_verify_4474(struct sti_repo *repo, const struct sti_4474_request *req,
				 sti_check_fn done, void *arg, struct sti_check **pending);
void sti_check_cancel(struct sti_check *c);

#endif
