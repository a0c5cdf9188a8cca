/* stir/verify: the claim checks of a verification service (RFC 8224 §6.2,
 * RFC 8588) on a PASSporT whose signature stir/cert checks: iat fresh (at
 * most max_age_s old, at most STIR_IAT_FUTURE_SKEW_S ahead), the Date header
 * within max_age_s of iat (§6.2 step 3), orig the calling party and dest
 * naming the called party, each compared in canonical form. The order is the
 * RFC's: time first (403 Stale Date), then identities (438). Pure: the clock
 * is e->now. Also the rebuild of the claims a compact-form header leaves
 * out, from the request itself (§4.1.1). */
#include "stir/verify.h"

#include <string.h>

static bool same_party(const struct stir_party *a, const struct stir_party *b)
{
	return a->is_uri == b->is_uri && strncmp(a->value, b->value, sizeof(a->value)) == 0 &&
	       a->value[0] != '\0';
}

enum stir_result stir_verify_claims(const struct stir_claims *c, const struct stir_expect *e)
{
	int64_t max_age = e->max_age_s ? (int64_t)e->max_age_s : STIR_MAX_AGE_DEFAULT_S;
	/* Compared without subtracting iat, which the attacker chose and which
	 * could overflow a difference. */
	if (c->iat < e->now - max_age || c->iat > e->now + STIR_IAT_FUTURE_SKEW_S)
		return STIR_STALE;
	/* iat is within a minute of now here, so iat +- max_age cannot overflow. */
	if (e->date >= 0 && (e->date > c->iat + max_age || e->date < c->iat - max_age))
		return STIR_DATE_MISMATCH;
	if (!same_party(&c->orig, &e->orig))
		return STIR_ORIG_MISMATCH;
	unsigned n = c->n_dest < STIR_MAX_DEST ? c->n_dest : STIR_MAX_DEST;
	for (unsigned i = 0; i < n; i++)
		if (same_party(&c->dest[i], &e->dest))
			return STIR_PASSED;
	return STIR_DEST_MISMATCH;
}

/* A compact form has no attest or origid to rebuild, so it is never a
 * SHAKEN PASSporT: stir/identity_hdr refuses compact forms with a ppt. */
void stir_claims_from_request(const struct stir_expect *e, int64_t date, const char *info,
			      struct stir_claims *out)
{
	memset(out, 0, sizeof(*out));
	size_t n = strnlen(info, sizeof(out->x5u) - 1);
	memcpy(out->x5u, info, n);
	out->orig = e->orig;
	out->dest[0] = e->dest;
	out->n_dest = 1;
	out->iat = date;
	out->shaken = false;
	out->attest = STIR_ATTEST_NONE;
}
