/* A call's lifetime and state. Every call is two dialogs, one per leg, and
 * moves through a small state machine whose legal moves are one table
 * (legal[] below); call_set_state() is the only place a state changes, as
 * transaction/txn.c does for transactions. A call is created here, closed
 * here (every resource it holds released at once) and freed here once no
 * transaction points at it any more. */
#include "call.h"
#include "call_share.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "sti/verify.h"

#define S(x) (1u << (x))
/* legal[from] is the set of states `from` may move to. A call may be closed
 * from any state (refusals, failures, shutdown); ENDING may be entered
 * again (a second reason to end while BYEs are in flight), and so may
 * CONFIRMED (B resends its 2xx until our ACK arrives: it is ACKed and
 * relayed again). */
static const unsigned legal[CALL_CLOSED + 1] = {
	[CALL_INVITING] = S(CALL_EARLY) | S(CALL_CONFIRMED) | S(CALL_ENDING) | S(CALL_CLOSED),
	[CALL_EARLY] = S(CALL_CONFIRMED) | S(CALL_ENDING) | S(CALL_CLOSED),
	[CALL_CONFIRMED] = S(CALL_CONFIRMED) | S(CALL_ENDING) | S(CALL_CLOSED),
	[CALL_ENDING] = S(CALL_ENDING) | S(CALL_CLOSED),
	[CALL_CLOSED] = 0,
};

const char *call_state_name(enum call_state s)
{
	switch (s) {
	case CALL_INVITING: return "inviting";
	case CALL_EARLY: return "early";
	case CALL_CONFIRMED: return "confirmed";
	case CALL_ENDING: return "ending";
	case CALL_CLOSED: return "closed";
	}
	return "?";
}

void call_set_state(struct call *c, enum call_state s)
{
	if (!(legal[c->state] & S(s))) {
		/* A bug in the call layer; release builds log it and carry on. */
		log_err("call %u: illegal transition %s -> %s", c->id, call_state_name(c->state),
			call_state_name(s));
		assert(!"illegal call state transition");
	}
	log_debug("call %u %s -> %s", c->id, call_state_name(c->state), call_state_name(s));
	c->state = s;
	if (s == CALL_CONFIRMED)
		call_share_changed(c);
	else if (s == CALL_ENDING || s == CALL_CLOSED)
		call_share_gone(c);
}

void call_leave_setup(struct call *c)
{
	if (c->in_setup) {
		c->in_setup = false;
		c->b2bua->n_setup--;
	}
}

static void leg_init(struct call *c, int side, const struct leg_config *cfg)
{
	struct leg *l = &c->legs[side];
	outcome_leg_init(l);
	l->call = c;
	l->side = side;
	l->cfg = cfg;
	sipmsg_random_token(l->local_tag, 20);
	l->sdp_id = ((uint64_t)c->id << 20) | (uint64_t)(side + 1);
	l->local_cseq = 1;
}

/* By the leg's place in the configuration: legs are a fixed, configured set. */
static void count_started(struct b2bua *b, const struct leg_config *cfg, int dir)
{
	if (cfg && cfg >= b->cfg->legs && cfg < b->cfg->legs + b->cfg->n_legs)
		b->calls_started[cfg - b->cfg->legs][dir]++;
}

static void list_push(struct call **head, struct call *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void list_unlink(struct call **head, struct call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

struct call *call_new(struct b2bua *b, struct txn *st, const struct leg_config *a_cfg,
		      const struct leg_config *b_cfg, const struct guard_call *limits)
{
	struct call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->media_worker = -1;
	/* Kept only when counted: most deployments limit few calls, and every
	 * byte of struct call is paid per established call. */
	if (limits->user_counted || limits->trunk_counted) {
		if ((c->limits = malloc(sizeof(*c->limits))) == NULL) {
			free(c);
			return NULL;
		}
		*c->limits = *limits;
	}
	c->in_setup = true;
	b->n_setup++;
	c->b2bua = b;
	c->id = ++b->next_id;
	c->rec.start_ms = pc_clock_ms();
	c->state = CALL_INVITING;
	list_push(&b->calls, c);
	b->n_calls++;
	leg_init(c, LEG_A, a_cfg);
	leg_init(c, LEG_B, b_cfg);
	count_started(b, a_cfg, 0);
	count_started(b, b_cfg, 1);
	if (st) {
		c->a_invite = st;
		txn_set_user_data(st, &c->legs[LEG_A].owner);
		c->live_txns++;
	}
	return c;
}

/* Frees the calls bury() collected, from the loop, where no call code is on
 * the stack. Only those: walking every call here made each close cost as
 * much as all live and closing calls together (65% of the CPU at 1,200
 * calls/s, where tens of thousands wait out their transactions). */
static void reap(void *arg)
{
	struct b2bua *b = arg;
	if (b->reaper) {
		b->net.timer_stop(b->net.ctx, b->reaper);
		b->reaper = NULL;
	}
	while (b->dead) {
		struct call *c = b->dead;
		b->dead = c->next;
		leg_forget(&c->legs[LEG_A]);
		leg_forget(&c->legs[LEG_B]);
		free(c->shown_from);
		free(c);
	}
}

/* A closed call with no transaction left pointing at it leaves the list
 * of closed calls for the reaper's. */
static void bury(struct call *c)
{
	struct b2bua *b = c->b2bua;
	list_unlink(&b->closed, c);
	c->next = b->dead;
	b->dead = c;
	if (!b->reaper && !b->closing)
		b->reaper = b->net.timer_start(b->net.ctx, 0, reap, b);
}

void call_txn_gone(struct call *c, struct txn *t)
{
	if (c->a_invite == t)
		c->a_invite = NULL;
	if (c->b_invite == t)
		c->b_invite = NULL;
	if (c->ok.st == t)
		c->ok.st = NULL;
	if (c->relay.st == t)
		c->relay.st = NULL;
	if (c->relay.ct == t)
		c->relay.ct = NULL;
	if (c->live_txns && --c->live_txns == 0 && c->state == CALL_CLOSED)
		bury(c);
}

/* A closed call's INVITE transactions in Accepted only wait out Timer L or
 * M (64 x T1, 32 s after the 2xx), and pointing at the call they would keep
 * it that long: in a churn of short calls, most of the calls in memory.
 * Nothing they still do needs it. A's INVITE retransmissions are absorbed
 * by the transaction and A's ACK finds no dialog (the call left the index).
 * B's resent 2xx, once our ACK went over a reliable transport, can only be
 * one that crossed it, dropped as a stray would be after Timer M; over UDP
 * our ACK may be lost, so B's transaction stays the call's and a resent 2xx
 * is acknowledged again. */
static void let_go_accepted(struct call *c, struct txn **slot, bool ours_acked)
{
	struct txn *t = *slot;
	if (!t || txn_state(t) != TXN_ACCEPTED || !ours_acked)
		return;
	txn_set_user_data(t, NULL);
	*slot = NULL;
	if (c->live_txns)
		c->live_txns--;
}

void call_close(struct call *c, const char *reason)
{
	if (c->state == CALL_CLOSED)
		return;
	log_info("call %u closed: %s", c->id, reason);
	call_rec_emit(c, reason); /* before media and legs are released */
	call_set_state(c, CALL_CLOSED);
	call_share_free(c);
	/* Out of the live list at once: a closed call waits out its
	 * transactions (up to 32 s) on a list of its own, so what walks the
	 * live calls (/metrics, /calls, a lost connection) does not also
	 * walk the tens of thousands closing at a high call rate. */
	list_unlink(&c->b2bua->calls, c);
	list_push(&c->b2bua->closed, c);
	call_index_remove(c->b2bua, &c->legs[LEG_A]);
	call_index_remove(c->b2bua, &c->legs[LEG_B]);
	c->b2bua->n_calls--;
	call_leave_setup(c);
	if (c->limits) {
		guard_call_end(c->b2bua->guard, c->limits, pc_clock_ms());
		free(c->limits);
		c->limits = NULL;
	}
	fork_free(c);
	if (c->stir_check) {
		sti_check_cancel(c->stir_check);
		c->stir_check = NULL;
	}
	setup_wait_free(c);
	/* Media quality: the relay's figures, read before it is released. */
	plan_log_quality(c);
	plan_release(c);
	if (c->a_answer) {
		explicit_bzero(c->a_answer, strlen(c->a_answer));
		free(c->a_answer);
		c->a_answer = NULL;
	}
	if (c->ok.msg) {
		msg_destroy(c->ok.msg);
		c->ok.msg = NULL;
		c->ok.st = NULL;
	}
	call_timer_stop(c);
	let_go_accepted(c, &c->a_invite, true);
	let_go_accepted(c, &c->b_invite,
			!c->b_ack_pending && c->b_invite &&
				txn_reliable(c->b_invite));
	if (c->live_txns == 0)
		bury(c);
}

void call_end(struct call *c, unsigned legs, const char *why)
{
	if (c->state == CALL_CLOSED)
		return;
	call_rec_ended(c, RECORD_BY_GATEWAY, why);
	for (int side = LEG_A; side <= LEG_B; side++)
		if (legs & (1u << side))
			leg_send_bye(c, side);
	call_set_state(c, CALL_ENDING);
	if (!c->pending_bye)
		call_close(c, why);
}

void call_free_all(struct b2bua *b)
{
	b->closing = true;
	while (b->calls)
		call_close(b->calls, "shutdown");
	while (b->closed) /* still waiting for their transactions */
		bury(b->closed);
	reap(b);
}
