/* The one place where the gateway applies a refusal or a challenge
 * (refuse.c): whatever decided it (the intake guard, authentication, the
 * registrar, a call's set-up), the answer is built, counted and logged
 * here, the way the reason's row in policy/refusal.h says. */
#ifndef PC_B2BUA_REFUSE_H
#define PC_B2BUA_REFUSE_H

#include <stdint.h>

#include "policy/refusal.h"
#include "policy/verdict.h"
#include "sip/msg.h"
#include "transaction/txn.h"

/* Where a verdict goes and what its log line says. */
struct refuse_to {
	msg_t *req;               /* the refused request; NULL: nothing to answer (a
				   * callee's contact skipped): counted and logged only */
	struct txn *st;           /* its server transaction; NULL: none exists (stateless) */
	const char *to_tag;       /* To-tag of the answer; NULL: the transaction's own */
	const char *warn_host;    /* warn-agent of a Warning header: the gateway's domain */
	const char *subject;      /* log "<subject> refused: ..."; NULL: not a refusal to log */
	const char *const *lines; /* headers to add as "Name: value" (a challenge, Min-Expires) */
	unsigned n_lines;
};

/* Applies v (a reject or a challenge): counts it under its reason's counter
 * unless v->counted, logs it (at most a few lines a second, all refusals
 * together: a flood must not become a flood of log lines; the counters
 * count every one), and answers it with the reason's status, v's phrase,
 * Retry-After (v's, else the reason's), the reason's Warning and `lines`.
 * With a transaction the answer goes through it and NULL is returned;
 * without, the answer is returned to be sent once and never retransmitted,
 * or NULL when the request gets none (a silent reason, an ACK). */
msg_t *refuse(const struct refuse_to *to, const struct verdict *v);

/* How many verdicts refuse() applied per reason since start (challenges
 * included), for portcullis_refusals_total{reason}: out[r] for each r. */
void refuse_counts(uint64_t out[REFUSAL__COUNT]);

#endif
