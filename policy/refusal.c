/* policy/refusal: the one table of refusal reasons (see refusal.h), and the
 * constructor of refusal verdicts that fills a verdict from its row. The
 * statuses and sections behind each row are argued where the decision is
 * taken: admit.h, ratelimit.h, sips.h, privacy.h, digest.h. */
#include "policy/refusal.h"

#include "policy/sips.h"
#include "policy/verdict.h"

#define NONE REFUSAL_NO_COUNTER
/* Every field named: a row never depends on the order of struct refusal. */
#define ROW(st, ph, cnt) .status = (st), .phrase = (ph), .counter = (cnt)

static const struct refusal table[REFUSAL__COUNT] = {
	[REFUSAL_ACL] = { ROW(403, "Forbidden", CNT_DENIED_ACL) },
	[REFUSAL_SCANNER] = { ROW(403, "Forbidden", CNT_REFUSED_SCANNER) },
	[REFUSAL_RATE] = { ROW(503, "Service Unavailable", CNT_REFUSED_RATE) },
	[REFUSAL_BAN_STARTED] = { ROW(403, "Forbidden", CNT_SOURCES_BANNED) },
	[REFUSAL_BANNED] = { ROW(403, "Forbidden", CNT_REFUSED_BANNED), .silent = true },
	[REFUSAL_RATE_TABLE_FULL] = { ROW(503, "Service Unavailable", CNT_RATE_TABLE_FULL) },
	[REFUSAL_LEG_TLS] = { ROW(403, "Forbidden", CNT_REFUSED_TLS_REQUIRED) },
	[REFUSAL_LEG_CERT] = { ROW(403, "Forbidden", CNT_REFUSED_CERT_REQUIRED) },
	[REFUSAL_SIPS_INBOUND] = { ROW(480, "Temporarily Unavailable", CNT_SIPS_INSECURE_IN),
		  .warn_code = SIPS_WARN_CODE, .warn_text = SIPS_WARN_TEXT },
	[REFUSAL_SIPS_OUTBOUND] = { ROW(480, "Temporarily Unavailable", CNT_SIPS_INSECURE_OUT),
		  .warn_code = SIPS_WARN_CODE, .warn_text = SIPS_WARN_TEXT },
	[REFUSAL_SETUP_CAP] = { ROW(503, "Service Unavailable", CNT_REFUSED_SETUP_CAP) },
	[REFUSAL_CALLS] = { ROW(503, "Service Unavailable", CNT_REFUSED_CALL_LIMIT) },
	[REFUSAL_CPS] = { ROW(503, "Service Unavailable", CNT_REFUSED_CPS) },
	[REFUSAL_FORBIDDEN] = { ROW(403, "Forbidden", NONE) },
	[REFUSAL_CHALLENGE] = { ROW(401, "Unauthorized", CNT_AUTH_CHALLENGES),
		  .challenge = true },
	[REFUSAL_PROXY_CHALLENGE] = { ROW(407, "Proxy Authentication Required",
					      CNT_AUTH_CHALLENGES),
		  .challenge = true },
	[REFUSAL_AUTH_MALFORMED] = { ROW(400, "Bad Request", CNT_AUTH_FAILURES) },
	[REFUSAL_CERT_NO_USER] = { ROW(403, "Forbidden", CNT_AUTH_FAILURES) },
	[REFUSAL_LOCKED_OUT] = { ROW(403, "Forbidden", CNT_AUTH_LOCKED_OUT) },
	/* Counted as a lockout: the login is refused as if locked out. */
	[REFUSAL_AUTH_TABLE_FULL] = { ROW(503, "Service Unavailable", CNT_AUTH_LOCKED_OUT) },
	[REFUSAL_REGISTER_MALFORMED] = { ROW(400, "Bad Request", NONE) },
	[REFUSAL_REGISTER_BRIEF] = { ROW(423, "Interval Too Brief", NONE) },
	[REFUSAL_REGISTRAR_FULL] = { ROW(503, "Service Unavailable", NONE) },
	[REFUSAL_INTERNAL] = { ROW(500, "Server Internal Error", NONE) },
	[REFUSAL_PRIVACY_MALFORMED] = { ROW(400, "Malformed Privacy Header",
						CNT_PRIVACY_REFUSED) },
	/* Retry-After: 1, as every 500 a call answers (a retry may well succeed). */
	[REFUSAL_PRIVACY_CRITICAL] = { ROW(500, "Privacy Unavailable", CNT_PRIVACY_REFUSED),
		  .retry_after = 1 },
	[REFUSAL_DIALOG_TOO_LONG] = { ROW(400, "Call-ID or Tag Too Long", NONE) },
	[REFUSAL_MAX_CALLS] = { ROW(503, "Service Unavailable", NONE), .retry_after = 10 },
	[REFUSAL_NOT_REGISTERED] = { ROW(480, "Temporarily Unavailable", NONE) },
	[REFUSAL_CALL_FAILED] = { ROW(500, "Server Internal Error", NONE),
		  .warn_code = 399, .why_public = true, .retry_after = 1 },
	/* Its Retry-After is the backoff left: the verdict's. */
	[REFUSAL_NEXT_HOP_DOWN] = { ROW(503, "Service Unavailable", CNT_PEER_BACKOFF_REFUSED),
		  .warn_code = 399, .why_public = true },
	[REFUSAL_MEDIA] = { ROW(488, "Not Acceptable Here", NONE),
		  .warn_code = 399, .why_public = true },
	[REFUSAL_MEDIA_EXHAUSTED] = { ROW(503, "Service Unavailable", NONE),
		  .warn_code = 399, .why_public = true },
	/* Sofia's phrase for 500, which the media refusals have always carried. */
	[REFUSAL_MEDIA_FAILED] = { ROW(500, "Internal Server Error", NONE),
		  .warn_code = 399, .why_public = true, .retry_after = 1 },
	[REFUSAL_DIALOG_IDENTITY] = { ROW(403, "Forbidden", CNT_DIALOG_REFUSED_IDENTITY) },
	[REFUSAL_CLUSTER_ROUTE] = { ROW(403, "Forbidden", CNT_REFUSED_CLUSTER_ROUTE) },
	/* Counted per cause by the verification service; this counts the calls
	 * a leg in "reject" mode refused. */
	[REFUSAL_STIR_NO_IDENTITY] = { ROW(428, "Use Identity Header", CNT_IDENTITY_REJECTED),
		  .stir_reason = true },
	[REFUSAL_STIR_BAD_INFO] = { ROW(436, "Bad Identity Info", CNT_IDENTITY_REJECTED),
		  .stir_reason = true },
	[REFUSAL_STIR_CREDENTIAL] = { ROW(437, "Unsupported Credential", CNT_IDENTITY_REJECTED),
		  .stir_reason = true },
	[REFUSAL_STIR_INVALID] = { ROW(438, "Invalid Identity Header", CNT_IDENTITY_REJECTED),
		  .stir_reason = true },
	[REFUSAL_STIR_STALE] = { ROW(403, "Stale Date", CNT_IDENTITY_REJECTED),
		  .stir_reason = true },
};

/* Label values of portcullis_refusals_total: fixed here, so a peer can
 * never add a series. */
static const char *const names[REFUSAL__COUNT] = {
	[REFUSAL_ACL] = "acl",
	[REFUSAL_SCANNER] = "scanner",
	[REFUSAL_RATE] = "rate",
	[REFUSAL_BAN_STARTED] = "ban_started",
	[REFUSAL_BANNED] = "banned",
	[REFUSAL_RATE_TABLE_FULL] = "rate_table_full",
	[REFUSAL_LEG_TLS] = "leg_tls",
	[REFUSAL_LEG_CERT] = "leg_cert",
	[REFUSAL_SIPS_INBOUND] = "sips_inbound",
	[REFUSAL_SIPS_OUTBOUND] = "sips_outbound",
	[REFUSAL_SETUP_CAP] = "setup_cap",
	[REFUSAL_CALLS] = "call_limit",
	[REFUSAL_CPS] = "cps_limit",
	[REFUSAL_FORBIDDEN] = "forbidden",
	[REFUSAL_CHALLENGE] = "challenge",
	[REFUSAL_PROXY_CHALLENGE] = "proxy_challenge",
	[REFUSAL_AUTH_MALFORMED] = "auth_malformed",
	[REFUSAL_CERT_NO_USER] = "cert_no_user",
	[REFUSAL_LOCKED_OUT] = "locked_out",
	[REFUSAL_AUTH_TABLE_FULL] = "auth_table_full",
	[REFUSAL_REGISTER_MALFORMED] = "register_malformed",
	[REFUSAL_REGISTER_BRIEF] = "register_brief",
	[REFUSAL_REGISTRAR_FULL] = "registrar_full",
	[REFUSAL_INTERNAL] = "internal",
	[REFUSAL_PRIVACY_MALFORMED] = "privacy_malformed",
	[REFUSAL_PRIVACY_CRITICAL] = "privacy_critical",
	[REFUSAL_DIALOG_TOO_LONG] = "dialog_too_long",
	[REFUSAL_MAX_CALLS] = "max_calls",
	[REFUSAL_NOT_REGISTERED] = "not_registered",
	[REFUSAL_CALL_FAILED] = "call_failed",
	[REFUSAL_NEXT_HOP_DOWN] = "next_hop_down",
	[REFUSAL_MEDIA] = "media",
	[REFUSAL_MEDIA_EXHAUSTED] = "media_exhausted",
	[REFUSAL_MEDIA_FAILED] = "media_failed",
	[REFUSAL_DIALOG_IDENTITY] = "dialog_identity",
	[REFUSAL_CLUSTER_ROUTE] = "cluster_route",
	[REFUSAL_STIR_NO_IDENTITY] = "stir_no_identity",
	[REFUSAL_STIR_BAD_INFO] = "stir_bad_info",
	[REFUSAL_STIR_CREDENTIAL] = "stir_credential",
	[REFUSAL_STIR_INVALID] = "stir_invalid",
	[REFUSAL_STIR_STALE] = "stir_stale",
};

const char *refusal_name(enum pc_refusal r)
{
	if (r <= REFUSAL_NONE || r >= REFUSAL__COUNT)
		return NULL;
	return names[r];
}

const struct refusal *refusal_get(enum pc_refusal r)
{
	if (r <= REFUSAL_NONE || r >= REFUSAL__COUNT)
		return NULL;
	return &table[r];
}

struct verdict verdict_refuse(enum pc_refusal r, const char *why)
{
	const struct refusal *row = refusal_get(r);
	if (row == NULL) { /* a bug: refuse rather than let it through */
		r = REFUSAL_INTERNAL;
		row = &table[r];
	}
	return (struct verdict){ .kind = row->challenge ? VERDICT_CHALLENGE : VERDICT_REJECT,
				 .reason = r,
				 .status = row->status,
				 .phrase = row->phrase,
				 .why = why };
}
