/* RFC 3323 privacy, the gateway acting as the privacy service: which priv-values
 * a request asks for, and what the gateway does about them, as data. Pure: the
 * request and a context in, a decision out; the B2BUA applies it while it builds
 * the other leg's request (it copies only what this lets through) and logs `why`.
 *
 * What the gateway does per priv-value (docs in privacy.c, next to the code):
 *   header, user  From becomes "Anonymous" <sip:anonymous@anonymous.invalid>,
 *                 the caller-revealing headers in `drop` are not copied, and the
 *                 asserted identity is withheld from an untrusted next hop.
 *                 Via, Contact, Record-Route and Call-ID are the gateway's own
 *                 on every request anyway (the B2BUA builds them from scratch).
 *   session       honoured by media anchoring, which is unconditional; recorded.
 *   id            the asserted identity is withheld from an untrusted next hop
 *                 (RFC 3325 §7; policy/pai.c applies it).
 *   history       honoured by construction: History-Info is never copied.
 *   none          no privacy function; the header passes unaltered.
 *   critical      refuse with 500 when a requested value cannot be provided.
 *   other tokens  cannot be provided: ignored, or the 500 above with critical. */
#ifndef PC_POLICY_PRIVACY_H
#define PC_POLICY_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/verdict.h"
#include "sip/msg.h"

/* The priv-values of RFC 3323 §4.2, RFC 3325 §9.3 (id) and RFC 7044 (history),
 * as bits; compared case-insensitively. */
enum privacy_value {
	PRIVACY_HEADER = 1u << 0,
	PRIVACY_SESSION = 1u << 1,
	PRIVACY_USER = 1u << 2,
	PRIVACY_ID = 1u << 3,
	PRIVACY_HISTORY = 1u << 4,
	PRIVACY_NONE = 1u << 5,
	PRIVACY_CRITICAL = 1u << 6,
	PRIVACY_UNKNOWN = 1u << 7, /* at least one token this service does not know */
};

/* Room for the unknown priv-values, for the 500's reason phrase (RFC 3323 §5). */
#define PRIVACY_UNSUPPORTED_MAX 64

/* The Privacy header fields of a request, read. */
struct privacy_request {
	unsigned values;  /* enum privacy_value bits, the union over every field */
	unsigned fields;  /* Privacy header fields seen (RFC 3323 allows one; extra
			   * ones Sofia sets aside are read too, and their values added) */
	bool malformed;   /* a Privacy field did not parse, or had no value */
	/* The unknown values, space-separated, in characters a Reason-Phrase may
	 * carry (others become '?'); those that do not fit are left out. */
	char unsupported[PRIVACY_UNSUPPORTED_MAX];
};

/* Read every Privacy field of `req` (NULL reads as no header). */
void privacy_parse(const sip_t *req, struct privacy_request *out);

/* What the request says about its asserted identity toward an untrusted next
 * hop (RFC 3325 §7). policy/pai.c reads this; the privacy decision reports it. */
enum privacy_identity {
	PRIVACY_IDENTITY_UNSPECIFIED = 0, /* nothing said: the trust domain's policy decides */
	PRIVACY_IDENTITY_WITHHOLD,        /* id, header or user (or an unreadable Privacy) */
	PRIVACY_IDENTITY_PRESERVE,        /* none, and nothing asking for privacy */
};

enum privacy_identity privacy_identity_of(const struct privacy_request *rq);

/* Headers the outgoing request must not carry; the B2BUA copies none of them. */
enum privacy_drop {
	PRIVACY_DROP_CALL_INFO = 1u << 0,
	PRIVACY_DROP_USER_AGENT = 1u << 1,
	PRIVACY_DROP_ORGANIZATION = 1u << 2,
	PRIVACY_DROP_REPLY_TO = 1u << 3,
	PRIVACY_DROP_IN_REPLY_TO = 1u << 4,
	PRIVACY_DROP_SUBJECT = 1u << 5, /* only when privacy_ctx.hide_subject */
	PRIVACY_DROP_WARNING = 1u << 6, /* dropped whole, not host-rewritten: see privacy.c */
};

/* Every drop that header/user privacy always implies (Subject is policy). */
#define PRIVACY_DROP_CALLER                                                               \
	(PRIVACY_DROP_CALL_INFO | PRIVACY_DROP_USER_AGENT | PRIVACY_DROP_ORGANIZATION |   \
	 PRIVACY_DROP_REPLY_TO | PRIVACY_DROP_IN_REPLY_TO | PRIVACY_DROP_WARNING)

/* The anonymous From of RFC 3323 §4.1.1.3 (the From tag is the gateway's own). */
#define PRIVACY_ANON_DISPLAY "Anonymous"
#define PRIVACY_ANON_URI "sip:anonymous@anonymous.invalid"

/* What happens to the Privacy header on the outgoing request. */
enum privacy_header_action {
	PRIVACY_HEADER_ABSENT = 0, /* the request had none: the outgoing one has none */
	PRIVACY_HEADER_PASS,       /* copy it unaltered: the next hop is inside the trust
				    * domain, or it says `none` (RFC 3323 §4.2) */
	PRIVACY_HEADER_CONSUME,    /* leave it out: the service was performed here and the
				    * next hop is outside the trust domain */
};

struct privacy_ctx {
	bool next_hop_trusted; /* the next hop is inside the trust domain (Spec(T)) */
	bool hide_subject;     /* header/user privacy also removes Subject */
};

struct privacy_decision {
	struct verdict verdict;         /* accept; 500 (critical, RFC 3323 §5); 400 (malformed) */
	struct privacy_request request; /* what was asked */
	bool anonymise_from;            /* From := PRIVACY_ANON_DISPLAY <PRIVACY_ANON_URI> */
	unsigned drop;                  /* enum privacy_drop bits */
	enum privacy_identity identity; /* for the log; pai_decide reads the same */
	bool session;                   /* session privacy asked: honoured by anchoring */
	enum privacy_header_action header;
	const char *why;                /* static; the log line */
};

/* The decision for one request; a NULL ctx is an untrusted next hop, Subject kept. */
struct privacy_decision privacy_decide(const sip_t *req, const struct privacy_ctx *ctx);

/* The reason phrase to send with a critical refusal: RFC 3323 §5 says it SHOULD
 * enumerate the priv-values not supported, which a static phrase cannot, so the
 * gateway formats it here: "Privacy Unavailable: foo bar". Always NUL-terminates
 * (len > 0); returns `buf`. */
const char *privacy_reject_phrase(const struct privacy_decision *d, char *buf, size_t len);

#endif
