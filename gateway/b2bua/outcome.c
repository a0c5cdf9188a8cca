/* What becomes of our INVITE on leg B, and the transaction callbacks of both
 * legs: B's provisional and final answers move the call through its states
 * (early, confirmed) and are relayed to A with their SDP re-planned; a
 * failure tries the callee's next contact or reaches A; a CANCEL from A
 * cancels B. Responses to relayed in-dialog requests go to dialog.c. */
#include "call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/url.h>

#include "core/log.h"

static void learn_b_dialog(struct call *c, sip_t const *sip)
{
	struct leg *b = &c->legs[LEG_B];
	if (sip->sip_to->a_tag && !b->remote_tag[0] && strlen(sip->sip_to->a_tag) < sizeof(b->remote_tag))
		snprintf(b->remote_tag, sizeof(b->remote_tag), "%s", sip->sip_to->a_tag);
	if (sip->sip_contact && leg_set_url(&b->remote_target, sip->sip_contact->m_url) < 0)
		log_warnx("call %u: B's Contact lost: out of memory", c->id);
}

/* Apply B's SDP answer once; later copies (18x then 2xx) reuse the result. */
static int apply_answer(struct call *c, sip_t const *sip, char *why, size_t whylen)
{
	if (c->answered || !sip->sip_payload || !sip->sip_payload->pl_len)
		return 0;
	char *a_body = NULL;
	int status = plan_answer(c, LEG_B, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
				 &a_body, why, whylen);
	if (status)
		return status;
	c->answered = true;
	c->a_answer = a_body;
	return 0;
}

/* B answered after the call ended (a CANCEL crossed its 2xx, or the caller
 * was refused): confirm and end B's dialog at once. */
static void answered_too_late(struct call *c, sip_t const *sip, int status)
{
	if (status >= 200 && status < 300) {
		learn_b_dialog(c, sip);
		leg_send_ack(c, LEG_B, 1, NULL);
		leg_send_bye(c, LEG_B);
	}
}

/* B's 2xx crossed a BYE that is ending the call (A hung up with BYE while B
 * rang, or B sent one itself): acknowledged, as before the split, but not
 * answered again; the call stays ending (ending -> confirmed is no legal
 * move) and the BYE already sent, ours or B's, ends B's dialog. */
static void accepted_while_ending(struct call *c, sip_t const *sip)
{
	learn_b_dialog(c, sip);
	leg_send_ack(c, LEG_B, 1, NULL);
}

static void provisional(struct call *c, sip_t const *sip, int status)
{
	char why[160] = "";
	learn_b_dialog(c, sip);
	/* With a late offer, SDP in an unreliable provisional is not an offer
	 * we can take (RFC 3261 §13.2.1): ringing only. */
	if (!c->late_offer && apply_answer(c, sip, why, sizeof(why)))
		return; /* early media refused; the final answer decides */
	if (c->state == CALL_INVITING)
		call_set_state(c, CALL_EARLY);
	leg_respond_a(c, status, sip->sip_status->st_phrase, c->answered ? c->a_answer : NULL, NULL);
}

/* Late offer: B's offer rides in its 2xx and goes to A in ours; A answers
 * in its ACK (dialog_ack), which B then gets in our ACK. */
static void accepted_with_offer(struct call *c, sip_t const *sip)
{
	char why[160] = "";
	char *a_body = NULL;
	learn_b_dialog(c, sip);
	int bad = sip->sip_payload && sip->sip_payload->pl_len
			  ? plan_offer(c, LEG_B, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
				       &a_body, why, sizeof(why))
			  : (snprintf(why, sizeof(why), "no offer in the 2xx to an INVITE without one"), 488);
	if (bad) {
		log_warnx("call %u: refusing B's offer: %s", c->id, why);
		leg_send_ack(c, LEG_B, 1, NULL);
		struct verdict v = verdict_refuse(REFUSAL_MEDIA, why);
		leg_refuse(c, c->a_invite, LEG_A, &v, NULL);
		call_end(c, 1 << LEG_B, why);
		return;
	}
	c->b_ack_pending = true;
	call_set_state(c, CALL_CONFIRMED);
	call_leave_setup(c);
	leg_respond_a(c, 200, "OK", a_body, NULL);
	explicit_bzero(a_body, strlen(a_body));
	free(a_body);
	log_info("call %u: offer from leg %s sent to the caller in the 2xx (late offer)", c->id,
		 c->legs[LEG_B].cfg->name);
}

static void accepted(struct call *c, sip_t const *sip)
{
	char why[160] = "";
	learn_b_dialog(c, sip);
	leg_send_ack(c, LEG_B, 1, NULL);
	bool early = c->answered;
	int bad = apply_answer(c, sip, why, sizeof(why));
	if (early)
		plan_answered(c);
	if (bad || !c->answered) {
		if (!bad)
			snprintf(why, sizeof(why), "the answer carries no SDP");
		log_warnx("call %u: refusing B's answer: %s", c->id, why);
		struct verdict v = verdict_refuse(REFUSAL_MEDIA, why);
		leg_refuse(c, c->a_invite, LEG_A, &v, NULL);
		call_end(c, 1 << LEG_B, why);
		return;
	}
	call_set_state(c, CALL_CONFIRMED);
	call_leave_setup(c);
	leg_respond_a(c, 200, "OK", c->a_answer, NULL);
	log_info("call %u established (leg A %s, leg B %s)", c->id,
		 c->legs[LEG_A].secure ? "SRTP" : "RTP", c->legs[LEG_B].secure ? "SRTP" : "RTP");
}

/* A failure: another contact of the callee, or the caller learns the code
 * (3xx is not followed across legs). */
static void refused(struct call *c, sip_t const *sip, int status)
{
	if (fork_next(c, status))
		return;
	call_rec_ended(c, RECORD_BY_CALLEE, "rejected");
	if (status < 400)
		leg_respond_a(c, 480, "Temporarily Unavailable", NULL, "redirect not followed");
	else
		leg_respond_a(c, status, sip->sip_status->st_phrase, NULL, NULL);
	call_close(c, "callee refused");
}

static void b_invite_response(struct call *c, msg_t *resp)
{
	sip_t const *sip = sip_object(resp);
	int status = sip->sip_status->st_status;

	if (status == 100)
		return;
	if (c->state == CALL_CLOSED)
		answered_too_late(c, sip, status);
	else if (status < 200)
		provisional(c, sip, status);
	else if (status < 300 && c->state == CALL_ENDING)
		accepted_while_ending(c, sip);
	else if (status < 300 && c->late_offer)
		accepted_with_offer(c, sip);
	else if (status < 300)
		accepted(c, sip);
	else
		refused(c, sip, status);
}

static void leg_response(struct txn_owner *o, struct txn *ct, msg_t *resp)
{
	struct leg *l = (struct leg *)o;
	struct call *c = l->call;
	sip_method_t m = txn_method(ct); /* the request is gone once it is Accepted */
	int status = sip_object(resp)->sip_status->st_status;

	if (ct == c->relay.ct) {
		dialog_relay_response(c, ct, resp);
	} else if (ct == c->b_invite) {
		b_invite_response(c, resp);
	} else if (m == sip_method_bye && status >= 200) {
		if (--c->pending_bye <= 0)
			call_close(c, "BYE answered");
	}
}

static void leg_failure(struct txn_owner *o, struct txn *ct, int status)
{
	struct leg *l = (struct leg *)o;
	struct call *c = l->call;
	sip_method_t m = txn_method(ct);
	if (ct == c->relay.ct) {
		dialog_relay_failure(c, ct, status);
	} else if (ct == c->b_invite) {
		log_info("call %u: INVITE to leg %s failed (%d)", c->id, l->cfg->name, status);
		if (fork_next(c, status))
			return;
		call_rec_ended(c, RECORD_BY_GATEWAY, status == 408 ? "timeout" : "unreachable");
		if (status == 503)
			c->retry_after_s = c->b2bua->net.retry_after(c->b2bua->net.ctx, &l->peer);
		leg_respond_a(c, status, status == 408 ? "Request Timeout" : "Service Unavailable", NULL,
			      status == 408 ? "no answer from the next hop" : "next hop unreachable");
		call_close(c, "INVITE failed");
	} else if (m == sip_method_bye) {
		if (--c->pending_bye <= 0)
			call_close(c, "BYE failed");
	}
}

static void leg_terminated(struct txn_owner *o, struct txn *t)
{
	struct leg *l = (struct leg *)o;
	call_txn_gone(l->call, t);
}

/* CANCEL from A while B's INVITE is pending: cancel B, answer A 487. */
static void leg_cancel(struct txn_owner *o, struct txn *st)
{
	struct leg *a = (struct leg *)o;
	struct call *c = a->call;
	c->rec.cancelled = true;
	call_rec_ended(c, RECORD_BY_CALLER, "cancel");
	leg_respond_a(c, 487, "Request Terminated", NULL, NULL);
	if (c->b_invite && txn_state(c->b_invite) == TXN_PROCEEDING)
		leg_send_cancel(c);
	call_close(c, "cancelled by the caller");
}

void outcome_leg_init(struct leg *l)
{
	l->owner.on_response = leg_response;
	l->owner.on_failure = leg_failure;
	l->owner.on_terminated = leg_terminated;
	l->owner.on_cancel = leg_cancel;
}
