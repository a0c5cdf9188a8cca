/* Internal to b2bua/: the gateway as STIR authentication and verification
 * service for its calls (stir_call.c). Signing: a call leaving on a leg that
 * signs gets a PASSporT whose attestation policy/attest.c decides, signed by
 * the key holder. Verifying: a call arriving on a leg that verifies is
 * checked (sti/verify, maybe waiting for a certificate fetch); the result
 * becomes a verstat on the identity handed on (ATIS-1000074), or a refusal
 * on a leg in "reject" mode. A verstat arriving from outside is always
 * removed. A peer configured with identity_legacy gets RFC 4474's
 * Identity/Identity-Info instead, signed as the INVITE is sent
 * (stir_legacy.c), and its requests in that form are verified as such. */
#ifndef PC_B2BUA_STIR_CALL_H
#define PC_B2BUA_STIR_CALL_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/peer.h"
#include "policy/refusal.h"
#include "sip/msg.h"
#include "sti/verify.h"
#include "stir/passport.h"
#include "stir/result.h"

struct b2bua;
struct call;
struct identity_out;

/* The verification service's repository, or NULL when no leg verifies.
 * 0, or -1 with why. */
int stir_call_init(struct b2bua *b, char *why, size_t whylen);

/* --check-config: the STI-CA trust list and CRLs load when a leg verifies.
 * 0, or -1 with why. */
int stir_call_check_config(const struct gateway_config *cfg, char *why, size_t whylen);
void stir_call_fini(struct b2bua *b);

/* What verification decided for a call (none when its leg does not verify). */
enum stir_mark { STIR_MARK_NONE = 0, STIR_MARK_PASSED, STIR_MARK_FAILED, STIR_MARK_NO_VALIDATION };
/* The verstat value of ATIS-1000074 for a mark, NULL for none. */
const char *stir_mark_verstat(enum stir_mark m);

/* The mark for one identity handed on (a From user part, or an asserted
 * identity's URI): Passed only for the identity the verification compared
 * orig with; any other outcome for every identity. */
enum stir_mark stir_call_mark_of(const struct call *c, const char *identity, bool user_part);

/* Called once when a pending verification ends (not after cancel). */
typedef void (*stir_call_resume_fn)(struct call *c, enum stir_result r);

/* Verifies the INVITE of call c (arriving on leg A). Returns the result when
 * known now (STIR_RESULT__COUNT when the leg does not verify: nothing to
 * do); or STIR_RESULT__COUNT with c->stir_check set, and `resume` is
 * called later. Counts the result. */
enum stir_result stir_call_verify(struct call *c, sip_t const *sip, bool prev_hop_trusted,
				  stir_call_resume_fn resume, bool *pending);
/* The mark and, in "reject" mode, the refusal (REFUSAL_NONE: go on) for a
 * result; counts the result. */
enum pc_refusal stir_call_outcome(struct call *c, enum stir_result r);

/* Signs the INVITE toward leg B when its leg signs: fills idn->identity and
 * idn->date; toward a legacy peer (`next` with identity_legacy) only
 * attestation A is signed, and only idn->legacy and idn->date are set: the
 * RFC 4474 signature covers the INVITE as sent, so leg_send_invite makes it
 * (stir_legacy_sign). False (with why) only when signing was due and failed. */
bool stir_call_sign(struct call *c, const char *caller_user, const struct peer_config *next,
		    struct identity_out *idn, const char **why);

/* ---- RFC 4474 (stir_legacy.c) ---- */

/* The configured peer with identity_legacy that `from` is (a TLS peer by
 * its verified certificate name, a plain one by its address), or NULL. */
const struct peer_config *stir_legacy_peer_from(const struct gateway_config *cfg,
						const struct pc_peer *from);
/* Whether an Identity value has RFC 4474's form (a quoted signature) rather
 * than a PASSporT's. */
bool stir_legacy_form(const char *identity);
/* Signs the INVITE `sip` as built (Date and body included) with the legacy
 * key: the Identity and Identity-Info values to add. 0, or -1 (counted and
 * logged: the INVITE must not leave unsigned). */
int stir_legacy_sign(struct call *c, sip_t const *sip, char *identity, size_t idlen, char *info,
		     size_t infolen);
/* Verifies call c's INVITE in RFC 4474 form (`identity` its first Identity
 * value); returns and calls back as sti_verify_4474. */
enum stir_result stir_legacy_verify(struct call *c, sip_t const *sip, const char *identity,
				    sti_check_fn done, struct sti_check **pending);

/* Removes ";verstat=..." from a user part or URI in place: a verstat from
 * outside is never passed on. True when one was removed. */
bool stir_strip_verstat(char *s);

#endif
