/* policy/attest: which SHAKEN attestation level a call is signed with
 * (RFC 8588 §4, ATIS-1000074 §5.2.3), from who the caller proved to be:
 * A when it authenticated and the calling number is one of its own, B when
 * it authenticated but the number is not its own, C for an unauthenticated
 * caller on a leg configured to sign those, otherwise no signature. A call
 * with no calling number is not signed at all: there is nothing to attest.
 * Nothing unauthenticated ever gets A or B. Pure: no I/O. */
#include "policy/attest.h"

#include <string.h>

static bool owns(const struct attest_in *in)
{
	for (size_t i = 0; i < in->n_owned; i++)
		if (in->owned_tns != NULL && in->owned_tns[i] != NULL &&
		    strcmp(in->owned_tns[i], in->calling_tn) == 0)
			return true;
	return false;
}

enum attest_level attest_decide(const struct attest_in *in, const char **why)
{
	const char *ignored;
	if (why == NULL)
		why = &ignored;
	if (in->calling_tn == NULL || in->calling_tn[0] == '\0') {
		*why = "no calling number: not signed";
		return ATTEST_NONE;
	}
	if (!in->authenticated) {
		if (in->sign_unauthenticated) {
			*why = "caller not authenticated: gateway attests C";
			return ATTEST_C;
		}
		*why = "caller not authenticated: not signed";
		return ATTEST_NONE;
	}
	if (owns(in)) {
		*why = "authenticated caller owns the number: A";
		return ATTEST_A;
	}
	*why = "authenticated caller, number not its own: B";
	return ATTEST_B;
}
