/* stir/verify: the claim checks of RFC 8224 §6.2 and RFC 8588 on a parsed
 * PASSporT, against what the SIP request says: orig is the calling number,
 * dest includes the called number (both canonical, stir/tn), iat is fresh
 * and not in the future, and the Date header, when present, is close to
 * iat. Pure: the time is an argument. The signature and the certificate are
 * stir/cert's. */
#ifndef PC_STIR_VERIFY_H
#define PC_STIR_VERIFY_H

#include <stdint.h>

#include "stir/passport.h"

/* How far in the future an iat may be: the signer's clock and ours are not
 * the same clock, and NTP keeps honest ones within far less than this. More
 * would let a signer mint tokens that stay fresh long after max_age_s. */
#define STIR_IAT_FUTURE_SKEW_S 5
#define STIR_MAX_AGE_DEFAULT_S 60

struct stir_expect {
	struct stir_party orig;   /* the calling party, canonical */
	struct stir_party dest;   /* the called party, canonical */
	int64_t now;
	int64_t date;             /* the Date header, or -1 when absent */
	unsigned max_age_s;       /* iat freshness (0: STIR_MAX_AGE_DEFAULT_S) */
};

/* STIR_PASSED, STIR_STALE, STIR_DATE_MISMATCH, STIR_ORIG_MISMATCH or
 * STIR_DEST_MISMATCH. */
enum stir_result stir_verify_claims(const struct stir_claims *c, const struct stir_expect *e);

/* Fills the claims a compact-form Identity header omits (RFC 8224 §4.1.1)
 * from the request's parties, Date and the info URL, so the verifier can
 * rebuild the signing input. */
void stir_claims_from_request(const struct stir_expect *e, int64_t date, const char *info,
			      struct stir_claims *out);

#endif
