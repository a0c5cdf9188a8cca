/* What the operator asks of the calls and the registrar through the
 * control socket (portcullisctl call kill, registrations): ending one call
 * by its number, as a BYE or CANCEL from either party would, and listing
 * the registrar's bindings. Here rather than in call.c so the call's own
 * life (its table of moves) stays apart from who ends it. */
#include "call.h"

#include <stdio.h>

#include "core/log.h"

/* RFC 3326: the BYE and CANCEL say why, so both parties (and their
 * records) can tell an operator's action from a hang-up. */
#define OPERATOR_REASON "SIP;cause=200;text=\"Call ended by the operator\""

static struct call *find_call(struct b2bua *b, uint32_t id)
{
	for (struct call *c = b->calls; c; c = c->next)
		if (c->id == id && c->state != CALL_CLOSED)
			return c;
	return NULL;
}

int b2bua_call_kill(struct b2bua *b, uint32_t id, char *why, size_t whylen)
{
	struct call *c = find_call(b, id);
	if (!c) {
		snprintf(why, whylen, "no call %u", (unsigned)id);
		return -1;
	}
	if (c->state == CALL_ENDING) {
		snprintf(why, whylen, "call %u is already ending", (unsigned)id);
		return -1;
	}
	log_info("call %u: ended by the operator (state %s)", c->id, call_state_name(c->state));
	c->end_reason = OPERATOR_REASON;
	if (c->state == CALL_CONFIRMED) {
		call_end(c, BOTH_LEGS, "ended by the operator");
		return 0;
	}
	/* In set-up, as a CANCEL from the caller would (outcome.c): the caller
	 * gets 487, the callee a CANCEL once it has answered provisionally
	 * (RFC 3261 §9.1); a 2xx crossing it is ACKed and ended with BYE. */
	leg_respond_a(c, 487, "Request Terminated", NULL, "Call ended by the operator");
	if (c->b_invite && txn_state(c->b_invite) == TXN_PROCEEDING)
		leg_send_cancel(c);
	call_close(c, "ended by the operator");
	return 0;
}

unsigned b2bua_each_binding(const struct b2bua *b, unsigned max,
			    void (*fn)(void *ctx, const char *user, const struct reg_binding *rb),
			    void *ctx)
{
	return reg_service_each(b->reg, max, fn, ctx);
}

struct registrar *b2bua_registrar(struct b2bua *b) { return reg_service_registrar(b->reg); }

struct guard *b2bua_guard(struct b2bua *b) { return b->guard; }

void b2bua_share_lockouts(struct b2bua *b,
			  void (*fn)(void *ctx, const struct rl_key *k, uint64_t ms), void *ctx)
{
	if (b->reg)
		reg_service_share_lockouts(b->reg, fn, ctx);
}

void b2bua_apply_lockout(struct b2bua *b, const struct rl_key *k, uint64_t ms, uint64_t now_ms)
{
	if (b->reg)
		reg_service_apply_lockout(b->reg, k, ms, now_ms);
}
