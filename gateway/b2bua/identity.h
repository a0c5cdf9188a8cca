/* Identity at the gateway's edge (identity.c): whether a hop is inside the
 * trust domain of RFC 3325, and what the B-leg request says about the caller:
 * its From (anonymised for RFC 3323 header/user privacy), the
 * P-Asserted-Identity values and the Privacy header it carries. The
 * decisions are policy/pai.c's and policy/privacy.c's; this file gathers
 * their context and returns them as data (URIs, the Privacy to pass on)
 * that the B2BUA's request builder adds as header structures. */
#ifndef PC_B2BUA_IDENTITY_H
#define PC_B2BUA_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/peer.h"
#include "policy/pai.h"
#include "policy/verdict.h"
#include "sip/msg.h"
#include "stir/passport.h"

struct guard;

/* The From of a caller who asked for header or user privacy (RFC 3323
 * §4.1.1.3): "Anonymous" <sip:anonymous@anonymous.invalid>. */
#define IDENTITY_ANONYMOUS_DISPLAY "Anonymous"
#define IDENTITY_ANONYMOUS_USER "anonymous"
#define IDENTITY_ANONYMOUS_HOST "anonymous.invalid"

/* The previous hop of a request is trusted when its source address is in
 * identity.trusted_networks or the identity of its verified TLS certificate
 * is one of identity.trusted_names. */
bool identity_prev_hop_trusted(const struct gateway_config *cfg, const struct guard *g,
			       const struct pc_peer *from);

/* The next hop is trusted when its address is in the trusted networks, or
 * it is a configured peer reached over TLS whose verified certificate must
 * carry a name that is one of the trusted names. `peer` may be NULL. */
bool identity_next_hop_trusted(const struct gateway_config *cfg, const struct guard *g,
			       const struct pc_peer *to, const struct peer_config *peer);

struct identity_in {
	bool prev_hop_trusted, next_hop_trusted;
	const char *user;               /* authenticated caller, NULL or "" if none */
	const char *const *identities;  /* the identities that user owns */
	size_t n_identities;
	const char *default_identity;   /* sip:USER@DOMAIN when the user owns none */
};

struct identity_out {
	bool anonymous;      /* From is the anonymous one */
	unsigned n_asserted; /* P-Asserted-Identity values to send: 0, 1 or 2 */
	char asserted[2][PAI_URI_MAX]; /* their URIs: sip/sips first, then tel */
	const sip_privacy_t *privacy; /* the request's Privacy to pass on (lives as long
				       * as the request), or NULL */
	bool pai_removed;    /* an incoming P-Asserted-Identity was not passed on */
	char from_user[PAI_URI_MAX]; /* the From user toward the next hop ("" none) */
	bool from_replaced;  /* the authenticated caller's From user was not its own */
	const char *why;     /* for the log: the privacy and PAI decisions */
	const char *pai_why;
	char phrase[128];    /* a refusal's reason phrase, with the priv-values refused */
	/* stir_call.c: the call's RFC 8224 Identity and the Date it was signed
	 * at (both unset when not signed) */
	char identity[STIR_TOKEN_MAX + STIR_URL_MAX + 64];
	long date;
	bool legacy; /* RFC 4474 toward a legacy peer: signed as sent (leg_send_invite) */
};

/* Accept with `out` filled, or the refusal (REFUSAL_PRIVACY_CRITICAL for
 * privacy that cannot be honoured with `critical`, its phrase in
 * out->phrase naming what; REFUSAL_PRIVACY_MALFORMED for an unreadable
 * Privacy), to be applied with refuse(). */
struct verdict identity_check(const struct gateway_config *cfg, const sip_t *req,
			      const struct identity_in *in, struct identity_out *out);

#endif
