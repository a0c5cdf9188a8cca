/* sti/verify: the verification service for one call (RFC 8224 §6.2,
 * RFC 8588): the first Identity header it can use is parsed, its
 * certificate found through the repository (maybe after a fetch: then the
 * answer comes later), the signature checked with the certificate's key and
 * the claims against the request. One result per call, which the leg's
 * policy turns into a verstat mark or a refusal. */
#ifndef PC_STI_VERIFY_H
#define PC_STI_VERIFY_H

#include <stddef.h>

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
void sti_check_cancel(struct sti_check *c);

#endif
