/* Applying a verdict: the response with the status, phrase, Retry-After and
 * Warning its reason's row says (policy/refusal.c), its counter, and one
 * log line under a single rate for the whole process. Every refusal and
 * challenge the B2BUA sends passes here, so an operator reading a counter,
 * a log line or a packet capture sees the same reason. */
#include "refuse.h"

#include <stdio.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"
#include "policy/ratelimit.h"
#include "sip/reply.h"

/* Refusals are logged at most LOG_PER_SEC a second. One process logs to one
 * place, so one bucket for all of it. */
#define LOG_PER_SEC 10
static const struct rl_rate log_rate = { RL_PER_SEC(LOG_PER_SEC), LOG_PER_SEC };
static struct rl_bucket log_bucket; /* empty until the first refill: fills at once */
static uint64_t log_suppressed;
/* Per reason, every verdict applied (also those a module counted already
 * under a counter of its own): one process, one table, like the counters. */
static uint64_t applied[REFUSAL__COUNT];

void refuse_counts(uint64_t out[REFUSAL__COUNT])
{
	for (int r = 0; r < REFUSAL__COUNT; r++)
		out[r] = applied[r];
}

/* Whether a refusal may be logged now: 0 when not, else 1 + the number of
 * refusals left unlogged since the last line. */
static uint64_t log_allowed(uint64_t now_ms)
{
	if (!rl_bucket_take(&log_bucket, &log_rate, now_ms)) {
		log_suppressed++;
		return 0;
	}
	uint64_t n = log_suppressed;
	log_suppressed = 0;
	return n + 1;
}

static void add_line(msg_t *resp, int status, const char *line)
{
	if (sipmsg_add_line(resp, line) < 0)
		log_warnx("cannot add a header to the %d answer", status);
}

/* The answer: the row's status, the verdict's phrase (the row's with any
 * detail the verdict added), then Retry-After, Warning and the caller's
 * lines. */
static msg_t *answer(const struct refuse_to *to, const struct refusal *row,
		     const struct verdict *v, const char *to_tag)
{
	msg_t *resp = sipmsg_reply(to->req, row->status, v->phrase ? v->phrase : row->phrase, to_tag);
	if (resp == NULL)
		return NULL;
	char line[640];
	unsigned retry = v->retry_after ? v->retry_after : row->retry_after;
	if (retry) {
		snprintf(line, sizeof(line), "Retry-After: %u", retry);
		add_line(resp, row->status, line);
	}
	const char *text = row->warn_text ? row->warn_text : row->why_public ? v->why : NULL;
	if (row->warn_code && text && text[0]) {
		snprintf(line, sizeof(line), "Warning: %u %.255s \"%.200s\"", row->warn_code,
			 to->warn_host ? to->warn_host : "-", text);
		add_line(resp, row->status, line);
	}
	/* RFC 9410: the STIR cause travels with the refusal, also when a
	 * proxy downstream turns the status into another. */
	if (row->stir_reason) {
		snprintf(line, sizeof(line), "Reason: STIR;cause=%d;text=\"%s\"", row->status,
			 row->phrase);
		add_line(resp, row->status, line);
	}
	for (unsigned i = 0; i < to->n_lines; i++)
		if (to->lines[i] && to->lines[i][0])
			add_line(resp, row->status, to->lines[i]);
	return resp;
}

msg_t *refuse(const struct refuse_to *to, const struct verdict *v)
{
	const struct refusal *row = refusal_get(v->reason);
	if (row == NULL) {
		log_warnx("a verdict without a refusal reason (%d): answered 500", (int)v->reason);
		struct verdict internal = verdict_refuse(REFUSAL_INTERNAL, v->why);
		return refuse(to, &internal);
	}
	if (!v->counted && row->counter != REFUSAL_NO_COUNTER)
		counter_inc(row->counter);
	applied[v->reason]++;
	if (to->subject) {
		uint64_t logged = log_allowed(pc_clock_ms());
		if (logged)
			log_info("%s refused: %d %s (%s)%s", to->subject, row->status,
				 v->phrase ? v->phrase : row->phrase, v->why ? v->why : "",
				 logged > 1 ? "; earlier refusals not logged, see the counters" : "");
	}
	if (to->req == NULL)
		return NULL;
	if (to->st) {
		msg_t *resp = answer(to, row, v, to->to_tag ? to->to_tag : txn_local_tag(to->st));
		if (resp != NULL)
			txn_respond(to->st, resp);
		return NULL;
	}
	/* A silent reason (a banned source has had its answers: from now on it
	 * learns nothing, not even that something listens); ACK is never
	 * answered. */
	if (row->silent || sip_object(to->req)->sip_request->rq_method == sip_method_ack)
		return NULL;
	char tag[20];
	sipmsg_random_token(tag, sizeof(tag));
	return answer(to, row, v, tag);
}
