/* What every policy decision returns: accept, refuse for a reason, or
 * challenge for credentials. Policy code only decides; the gateway applies
 * the verdict (gateway/b2bua/refuse.c: sends the response, counts it, logs
 * `why` once), reading how from the reason's row in policy/refusal.h.
 * Phrases and whys are static strings (or the caller's buffer, for detail
 * built at run time), so a verdict is a plain value that needs no freeing
 * and can be compared in tests. */
#ifndef PC_POLICY_VERDICT_H
#define PC_POLICY_VERDICT_H

#include <stdbool.h>

#include "policy/refusal.h"

enum verdict_kind {
	VERDICT_ACCEPT = 0,
	VERDICT_REJECT,    /* answer `status` `phrase` */
	VERDICT_CHALLENGE, /* answer 401/407 with a fresh challenge */
};

struct verdict {
	enum verdict_kind kind;
	enum pc_refusal reason; /* REFUSAL_NONE for an accept */
	int status;           /* SIP status of a reject or challenge: the reason's */
	const char *phrase;   /* its reason phrase: the reason's, maybe with detail */
	const char *why;      /* for the log line and, where the reason allows, a Warning */
	unsigned retry_after; /* seconds for Retry-After; 0 = the reason's default */
	bool stale;           /* challenge: the nonce was good but expired (RFC 7616 stale=true) */
	bool counted;         /* already counted under the reason's counter */
};

static inline struct verdict verdict_accept(void)
{
	return (struct verdict){ .kind = VERDICT_ACCEPT };
}

/* A refusal (or, for a challenge reason, a challenge) for reason r, with
 * the status and phrase of its row. refusal.c. */
struct verdict verdict_refuse(enum pc_refusal r, const char *why);

#endif
