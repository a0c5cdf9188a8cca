/* RFC 3325 asserted identity: which P-Asserted-Identity values the outgoing
 * request carries, as data. Pure: the request and what the gateway knows about
 * the two hops and the caller in, a decision out; the B2BUA writes exactly the
 * values decided here on the leg it builds, and never a P-Preferred-Identity
 * (RFC 3325 §6: a proxy MUST remove it from what it forwards).
 *
 * The trust domain (Spec(T), RFC 3325 §2) comes from configuration: a peer is
 * inside it when its verified TLS certificate name or its source network says
 * so. The gateway works that out and passes two booleans here.
 *
 * In order:
 * 1. A P-Asserted-Identity from a previous hop outside the trust domain is
 *    ignored (§5). From one inside it, a well-formed one (§9.1: one or two
 *    values, at most one sip/sips and one tel) is passed on; a malformed one
 *    is ignored whole.
 * 2. Otherwise, for an authenticated caller, the gateway asserts one of the
 *    identities the caller owns: P-Preferred-Identity chooses among them (§6);
 *    a preference naming something the caller does not own is ignored and the
 *    default asserted (§6 allows this or a 403; a caller mistyping a hint
 *    should not lose the call, and nothing they do not own is ever asserted).
 *    The sip/sips identity is always asserted, a tel one when configured.
 * 3. Toward a next hop outside the trust domain: withheld when the request
 *    asks for privacy of its identity (`id`, also `header`/`user`, see
 *    privacy.c; §7 MUST), kept when it says `none` (§7), and otherwise as
 *    configured (§7 leaves this to Spec(T)). */
#ifndef PC_POLICY_PAI_H
#define PC_POLICY_PAI_H

#include <stdbool.h>
#include <stddef.h>

#include "sip/msg.h"

/* Longest identity URI copied, with its NUL; longer ones are refused. */
#define PAI_URI_MAX 256

/* Owned identities looked at per caller (the rest are ignored); bounds the
 * parsed copies pai_decide keeps on its stack. */
#define PAI_OWNED_MAX 16

/* Toward an untrusted next hop when the request says nothing about privacy. */
enum pai_untrusted_policy {
	PAI_UNTRUSTED_REMOVE = 0, /* the default: nothing asserted leaves the trust domain */
	PAI_UNTRUSTED_KEEP,
};

struct pai_ctx {
	bool prev_hop_trusted; /* the request came from inside the trust domain */
	bool next_hop_trusted; /* it goes to a hop inside it */
	/* The authenticated caller (digest or verified TLS client certificate);
	 * NULL when the caller was not authenticated. */
	const char *user;
	/* The URIs that user owns (sip:, sips:, tel:); the first valid sip/sips
	 * one is the default, likewise the first tel. Entries that do not parse,
	 * have another scheme or are PAI_URI_MAX bytes or longer are skipped;
	 * only the first PAI_OWNED_MAX entries are looked at. */
	const char *const *identities;
	size_t n_identities;
	bool assert_tel;                        /* assert the user's tel identity too */
	enum pai_untrusted_policy untrusted_default; /* RFC 3325 §7, a Spec(T) item */
};

/* Where the identity came from. */
enum pai_source {
	PAI_SOURCE_NONE = 0,     /* nothing to assert */
	PAI_SOURCE_TRUSTED_PEER, /* passed on from a trusted previous hop */
	PAI_SOURCE_USER,         /* asserted by the gateway for the authenticated caller */
};

/* What became of the incoming P-Asserted-Identity. */
enum pai_incoming {
	PAI_IN_ABSENT = 0,
	PAI_IN_PASSED,    /* from a trusted hop, well-formed: passed on */
	PAI_IN_UNTRUSTED, /* from an untrusted hop: ignored (RFC 3325 §5) */
	PAI_IN_MALFORMED, /* from a trusted hop but not §9.1-shaped: ignored */
};

/* What became of the incoming P-Preferred-Identity (never forwarded, §6). */
enum pai_preferred {
	PAI_PPI_ABSENT = 0,
	PAI_PPI_HONOURED,  /* chose the asserted identity of its scheme */
	PAI_PPI_FOREIGN,   /* named an identity the caller does not own: ignored */
	PAI_PPI_UNUSED,    /* no choice to make: no authenticated caller, a trusted
			    * assertion passed on, or a tel preference without assert_tel */
	PAI_PPI_MALFORMED, /* did not parse or not §9.2-shaped: ignored */
};

/* What the outgoing request carries. */
enum pai_outgoing {
	PAI_OUT_NOTHING = 0,      /* there was nothing to assert */
	PAI_OUT_ASSERTED,         /* `uri[0..count)` */
	PAI_OUT_WITHHELD_PRIVACY, /* untrusted next hop, the caller asked for privacy */
	PAI_OUT_WITHHELD_POLICY,  /* untrusted next hop, PAI_UNTRUSTED_REMOVE */
};

struct pai_decision {
	unsigned count;              /* values to send: 0, 1 or 2 */
	char uri[2][PAI_URI_MAX];    /* sip/sips first, then tel; "" beyond count */
	enum pai_source source;
	enum pai_incoming incoming;
	enum pai_preferred preferred;
	enum pai_outgoing outgoing;
	const char *why;             /* static; the log line */
};

/* The decision for one request; a NULL ctx is both hops untrusted, nobody
 * authenticated. */
struct pai_decision pai_decide(const sip_t *req, const struct pai_ctx *ctx);

/* The From user the next hop is told, for a caller who authenticated: the
 * request's own From user when the caller owns it (its user name, the user
 * part of one of its sip/sips identities, the number of its tel identity) or
 * it is "anonymous"; otherwise the user part of the caller's default sip
 * identity (else tel, else its user name), so an authenticated caller cannot
 * present someone else's number where no assertion reaches (an untrusted
 * trunk). Nobody authenticated (ctx or ctx->user NULL): the From user as it
 * came; nothing to check it against. */
struct pai_from {
	char user[PAI_URI_MAX]; /* "" when the request's From has no user */
	bool replaced;          /* the caller's own From user was not theirs */
};
struct pai_from pai_from_user(const sip_t *req, const struct pai_ctx *ctx);

#endif
