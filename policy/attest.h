/* policy/attest: the SHAKEN attestation level (RFC 8588 §4, ATIS-1000074
 * §5.2.3) the gateway signs a call with, decided from who the caller is:
 * A - the caller authenticated (digest or a verified client certificate)
 *     and the calling number is one of its own identities;
 * B - authenticated, but the number is not one it owns;
 * C - not authenticated: only on a leg configured to sign such calls with
 *     C; otherwise the call is not signed.
 * Nothing unauthenticated is ever signed A or B. Pure: no I/O. */
#ifndef PC_POLICY_ATTEST_H
#define PC_POLICY_ATTEST_H

#include <stdbool.h>
#include <stddef.h>

/* Same values as stir/passport.h's enum stir_attest (policy sits below it). */
enum attest_level { ATTEST_NONE = 0, ATTEST_A, ATTEST_B, ATTEST_C };

struct attest_in {
	bool authenticated;              /* digest or verified certificate */
	const char *calling_tn;          /* canonical calling number, "" or NULL: none */
	const char *const *owned_tns;    /* the caller's own numbers, canonical */
	size_t n_owned;
	bool sign_unauthenticated;       /* the leg signs unauthenticated calls with C */
};

/* The level, and why in a short phrase for the log (static text). */
enum attest_level attest_decide(const struct attest_in *in, const char **why);

#endif
