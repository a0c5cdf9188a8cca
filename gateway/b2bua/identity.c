/* Identity at the edge: the trust domain test for a hop, and the From,
 * P-Asserted-Identity and Privacy that the B2BUA writes on the leg it builds.
 * The B2BUA copies nothing of the caller's request headers except what this
 * file returns, so every header RFC 3323 asks a privacy service to remove
 * (Call-Info, User-Agent, Organization, Reply-To, In-Reply-To, Subject,
 * Warning) never crosses, and Via, Contact, Record-Route and Call-ID are the
 * gateway's own on every call. What is left to decide per request is the
 * From (anonymised, or for an authenticated caller an identity it owns),
 * the asserted identity and the Privacy header itself. */
#include "identity.h"

#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "core/sipname.h"
#include "policy/pai.h"
#include "policy/privacy.h"

/* A certificate identity is a DNS name or, preferred by transport/tls.c, a
 * subjectAltName URI; only a sip: URI without a user part names a domain
 * (RFC 5922 §7.1, core/sipname.c: the rule the TLS name check applies), so
 * sip:trunk.example.com is the trunk and sip:alice@trunk.example.com is not. */
static bool trusted_name(const struct gateway_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->identity.n_trusted_names; i++)
		if (sipname_identity_names_domain(name, cfg->identity.trusted_names[i]))
			return true;
	return false;
}

bool identity_prev_hop_trusted(const struct gateway_config *cfg, const struct guard *g,
			       const struct pc_peer *from)
{
	/* identity[] is set only for a certificate that verified (transport). */
	if (from->transport == PC_TP_TLS && trusted_name(cfg, from->identity))
		return true;
	return guard_trusted_network(g, (const struct sockaddr *)&from->addr);
}

bool identity_next_hop_trusted(const struct gateway_config *cfg, const struct guard *g,
			       const struct pc_peer *to, const struct peer_config *peer)
{
	if (peer && peer->transport == PC_TP_TLS && peer->tls.verify_peer == TLS_VERIFY_REQUIRED) {
		/* The handshake refuses a certificate without one of peer_names,
		 * so every one of them must be trusted for the hop to be. */
		bool all = peer->tls.n_peer_names > 0;
		for (unsigned i = 0; i < peer->tls.n_peer_names; i++)
			all = all && trusted_name(cfg, peer->tls.peer_names[i]);
		if (all)
			return true;
	}
	return guard_trusted_network(g, (const struct sockaddr *)&to->addr);
}

struct verdict identity_check(const struct gateway_config *cfg, const sip_t *req,
			      const struct identity_in *in, struct identity_out *out)
{
	memset(out, 0, sizeof(*out));
	struct privacy_ctx pctx = { .next_hop_trusted = in->next_hop_trusted,
				    .hide_subject = cfg->identity.hide_subject };
	struct privacy_decision pd = privacy_decide(req, &pctx);
	out->why = pd.why;
	if (pd.verdict.kind != VERDICT_ACCEPT) {
		/* RFC 3323 §5: the phrase of a critical refusal names the
		 * priv-values not supported; privacy.c writes it. */
		struct verdict v = pd.verdict;
		v.phrase = privacy_reject_phrase(&pd, out->phrase, sizeof(out->phrase));
		return v;
	}
	out->anonymous = pd.anonymise_from;

	const char *one[1] = { in->default_identity };
	struct pai_ctx actx = {
		.prev_hop_trusted = in->prev_hop_trusted,
		.next_hop_trusted = in->next_hop_trusted,
		.user = in->user && in->user[0] ? in->user : NULL,
		.identities = in->n_identities ? in->identities : one,
		.n_identities = in->n_identities ? in->n_identities : (in->default_identity ? 1 : 0),
		.assert_tel = cfg->identity.assert_tel,
		.untrusted_default = cfg->identity.keep_pai_untrusted ? PAI_UNTRUSTED_KEEP
								     : PAI_UNTRUSTED_REMOVE,
	};
	struct pai_decision ad = pai_decide(req, &actx);
	struct pai_from pf = pai_from_user(req, &actx);
	memcpy(out->from_user, pf.user, sizeof(out->from_user));
	out->from_replaced = pf.replaced;
	out->pai_why = ad.why;
	out->n_asserted = ad.count < 2 ? ad.count : 2;
	memcpy(out->asserted, ad.uri, sizeof(out->asserted));
	/* The caller's own assertion did not leave as it came. */
	out->pai_removed = ad.incoming != PAI_IN_ABSENT &&
			   !(ad.incoming == PAI_IN_PASSED && ad.outgoing == PAI_OUT_ASSERTED);

	if (pd.header == PRIVACY_HEADER_PASS)
		out->privacy = req->sip_privacy;
	return verdict_accept();
}
