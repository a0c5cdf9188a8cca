/* What every policy decision returns: accept, reject with a SIP status, or
 * challenge for credentials. Policy code only decides; the gateway applies
 * the verdict (sends the response, counts it, logs `why` once). Phrases and
 * reasons are static strings, so a verdict is a plain value that needs no
 * freeing and can be compared in tests. */
#ifndef PC_POLICY_VERDICT_H
#define PC_POLICY_VERDICT_H

#include <stdbool.h>

#include "core/counters.h"

enum verdict_kind {
	VERDICT_ACCEPT = 0,
	VERDICT_REJECT,    /* answer `status` `phrase` */
	VERDICT_CHALLENGE, /* answer 401/407 with a fresh challenge */
};

struct verdict {
	enum verdict_kind kind;
	int status;           /* SIP status of a reject or challenge */
	const char *phrase;   /* its reason phrase */
	const char *why;      /* for the log line and, where safe, a Warning */
	unsigned retry_after; /* seconds for Retry-After; 0 = none */
	bool stale;           /* challenge: the nonce was good but expired (RFC 7616 stale=true) */
	bool counted;         /* `counter` names what to count */
	enum pc_counter counter;
};

static inline struct verdict verdict_accept(void)
{
	return (struct verdict){ .kind = VERDICT_ACCEPT };
}

static inline struct verdict verdict_reject(int status, const char *phrase, const char *why)
{
	return (struct verdict){ .kind = VERDICT_REJECT, .status = status, .phrase = phrase,
				 .why = why };
}

#endif
