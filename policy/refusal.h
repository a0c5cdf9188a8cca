/* policy/refusal: every reason the gateway refuses (or challenges) a request
 * for, and one table row per reason that says how the refusal shows: SIP
 * status and reason phrase, the counter it is counted under, its Warning
 * header, whether the verdict's `why` may be shown to the peer, a default
 * Retry-After, and whether the request gets an answer at all. Policy code
 * names a reason (verdict.h); the gateway reads the row when it applies the
 * verdict (gateway/b2bua/refuse.c), so nothing is ever matched by the
 * address or the text of a string.
 *
 * A reason is what the gateway does, not why it did it: two causes answered,
 * counted and warned about alike (a source on the deny list, a source not on
 * the allow list) are one reason told apart by the verdict's `why`. Two
 * modules that answer the same status with different phrases or counters
 * are two reasons (REFUSAL_SETUP_CAP says "Service Unavailable",
 * REFUSAL_SIPS_INBOUND "Temporarily Unavailable"). */
#ifndef PC_POLICY_REFUSAL_H
#define PC_POLICY_REFUSAL_H

#include <stdbool.h>

#include "core/counters.h"

enum pc_refusal {
	REFUSAL_NONE = 0, /* an accept: no row */
	/* intake (policy/admit.c, policy/ratelimit.c per source) */
	REFUSAL_ACL,             /* 403: deny list, or not on the allow list */
	REFUSAL_SCANNER,         /* 403: User-Agent of a known scanner */
	REFUSAL_RATE,            /* 503: over the source's request rate */
	REFUSAL_BAN_STARTED,     /* 403: this overrun banned the source */
	REFUSAL_BANNED,          /* none: a banned source learns nothing */
	REFUSAL_RATE_TABLE_FULL, /* 503: a source, user or trunk cannot be tracked */
	/* per-leg transport and SIPS (policy/sips.c) */
	REFUSAL_LEG_TLS,       /* 403: the leg requires TLS */
	REFUSAL_LEG_CERT,      /* 403: the leg requires a verified client certificate */
	REFUSAL_SIPS_INBOUND,  /* 480 + Warning 380: SIPS (or a sips: Route) without TLS */
	REFUSAL_SIPS_OUTBOUND, /* 480 + Warning 380: a SIPS request cannot leave over TLS */
	/* call limits (policy/admit.c, policy/ratelimit.c per user and trunk) */
	REFUSAL_SETUP_CAP, /* 503: too many calls in set-up */
	REFUSAL_CALLS,     /* 503: concurrent-call limit */
	REFUSAL_CPS,       /* 503: calls-per-second limit */
	REFUSAL_FORBIDDEN, /* 403, not counted: refused by policy, nothing more to say
			    * (a user name too long to track, a REGISTER for
			    * someone else, too many contacts) */
	/* authentication (policy/digest.c, policy/ratelimit.c lockouts) */
	REFUSAL_CHALLENGE,        /* 401 + WWW-Authenticate (REGISTER) */
	REFUSAL_PROXY_CHALLENGE,  /* 407 + Proxy-Authenticate (other requests) */
	REFUSAL_AUTH_MALFORMED,   /* 400: credentials that do not parse */
	REFUSAL_CERT_NO_USER,     /* 403: no verified certificate naming the user */
	REFUSAL_LOCKED_OUT,       /* 403: locked out after failed logins */
	REFUSAL_AUTH_TABLE_FULL,  /* 503: a failed login that cannot be counted */
	/* registrations (gateway/registrar) */
	REFUSAL_REGISTER_MALFORMED, /* 400: a REGISTER the registrar cannot read */
	REFUSAL_REGISTER_BRIEF,     /* 423 + Min-Expires */
	REFUSAL_REGISTRAR_FULL,     /* 503 without Retry-After */
	REFUSAL_INTERNAL,           /* 500, not counted: our own failure */
	/* the privacy service (policy/privacy.c) */
	REFUSAL_PRIVACY_MALFORMED, /* 400 Malformed Privacy Header */
	REFUSAL_PRIVACY_CRITICAL,  /* 500 Privacy Unavailable[: values] (RFC 3323 §5) */
	/* a call's set-up and media (gateway/b2bua/setup.c, media_plan.c) */
	REFUSAL_DIALOG_TOO_LONG,  /* 400: Call-ID or From tag too long to find the dialog by */
	REFUSAL_MAX_CALLS,        /* 503 + Retry-After 10: limits.max_calls reached */
	REFUSAL_NOT_REGISTERED,   /* 480: the callee has no registered contact */
	REFUSAL_CALL_FAILED,      /* 500 + Warning 399: a route or a send failed */
	REFUSAL_NEXT_HOP_DOWN,    /* 503 + Retry-After: the next hop is backed off */
	REFUSAL_MEDIA,            /* 488 + Warning 399: an SDP we cannot or may not relay */
	REFUSAL_MEDIA_EXHAUSTED,  /* 503 + Warning 399: no relay ports, no memory */
	REFUSAL_MEDIA_FAILED,     /* 500 + Warning 399: the relay cannot be keyed */
	REFUSAL_DIALOG_IDENTITY,  /* 403: in a dialog, not the leg's certificate identity */
	REFUSAL_CLUSTER_ROUTE,    /* 403: the cluster's internal route from outside the cluster */
	/* the verification service on a leg in "reject" mode (RFC 8224 §6.2.2),
	 * each with Reason: STIR (RFC 9410) */
	REFUSAL_STIR_NO_IDENTITY, /* 428 Use Identity Header */
	REFUSAL_STIR_BAD_INFO,    /* 436 Bad Identity Info */
	REFUSAL_STIR_CREDENTIAL,  /* 437 Unsupported Credential */
	REFUSAL_STIR_INVALID,     /* 438 Invalid Identity Header */
	REFUSAL_STIR_STALE,       /* 403 Stale Date */
	REFUSAL__COUNT
};

/* The `counter` of a reason nothing counts. */
#define REFUSAL_NO_COUNTER CNT__COUNT

struct refusal {
	int status;              /* 300-699, or 401/407 for a challenge */
	const char *phrase;      /* its reason phrase (a verdict may add detail after it) */
	enum pc_counter counter; /* counted once per refusal; REFUSAL_NO_COUNTER: none */
	unsigned warn_code;      /* Warning header (RFC 3261 §20.43); 0: none */
	const char *warn_text;   /* its text; NULL: the verdict's why (why_public) */
	bool why_public;         /* the why tells the peer nothing it must not know */
	unsigned retry_after;    /* Retry-After when the verdict has none; 0: none */
	bool silent;             /* never answered before a transaction exists: the
				  * peer learns nothing */
	bool challenge;          /* a challenge for credentials, not a refusal */
	bool stir_reason;        /* Reason: STIR;cause=<status> (RFC 9410) */
};

/* The reason's fixed name for metrics labels ("acl", "max_calls"): [a-z_]+,
 * one per reason; NULL for REFUSAL_NONE and values out of range. */
const char *refusal_name(enum pc_refusal r);

/* The row of a reason; NULL for REFUSAL_NONE and values out of range. */
const struct refusal *refusal_get(enum pc_refusal r);

#endif
