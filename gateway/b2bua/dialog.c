/* Requests inside a call. BYE ends both legs; any other request (re-INVITE,
 * UPDATE, INFO, OPTIONS, MESSAGE, ...) becomes the same request on the
 * other leg, its SDP offer re-planned (new keys on both legs), and the
 * answer comes back the same way. One relayed request at a time: a request
 * crossing ours on the same leg is glare (491), a second one from the same
 * side must wait (500, Retry-After; RFC 3261 §14.2). The ACK for our 2xx
 * ends its retransmission and, after a late offer, carries A's answer. */
#include "call.h"
#include "refuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/url.h>

#include "core/log.h"
#include "sip/reply.h"

/* A leg whose peer proved a certificate identity speaks only with that
 * identity: knowing the dialog's Call-ID and tags is not enough to act for
 * it (re-INVITE its media, BYE it, answer in an ACK). False, logged and
 * refused (403 on `st`; an ACK, st NULL, only counted) for a request from
 * anyone else. */
static bool speaks_for_leg(struct call *c, const struct leg *l, const struct pc_peer *from,
			   const char *method, struct txn *st, msg_t *req)
{
	if (!l->peer.identity[0] || strcmp(from->identity, l->peer.identity) == 0)
		return true;
	char peer[128];
	log_info("call %u: %s for leg %s from %s refused: identity \"%s\", not the leg's \"%s\"",
		 c->id, method, l->cfg->name, pc_peer_str(from, peer, sizeof(peer)), from->identity,
		 l->peer.identity);
	c->auth_failures++;
	struct verdict v = verdict_refuse(REFUSAL_DIALOG_IDENTITY, "not the leg's identity");
	struct refuse_to to = { .req = st ? req : NULL, .st = st };
	refuse(&to, &v);
	return false;
}

static void answer_plain(struct txn *st, msg_t *req, int status, const char *phrase)
{
	msg_t *resp = sipmsg_reply(req, status, phrase, NULL);
	if (resp)
		txn_respond(st, resp);
}

/* A peer that came back on a new connection: the dialog follows it, if it
 * is the same peer as far as we can tell (same leg, same transport and,
 * checked before, the same certificate identity). */
static void follow_new_connection(struct b2bua *b, struct call *c, struct leg *l,
				  const struct pc_peer *from)
{
	const char *leg = listener_leg(b, from);
	if (!from->conn_id || from->conn_id == l->peer.conn_id || from->listener < 0 ||
	    from->transport != l->peer.transport || !l->cfg || !leg || strcmp(leg, l->cfg->name) != 0)
		return;
	if (l->conn_lost_ms)
		log_info("call %u: leg %s is back on a new connection", c->id, l->cfg->name);
	l->peer = *from;
	l->conn_lost_ms = 0;
}

static void bye(struct call *c, struct txn *st, msg_t *req, int side)
{
	answer_plain(st, req, 200, NULL);
	log_info("call %u: BYE from leg %s", c->id, c->legs[side].cfg->name);
	c->rec.cancelled = !c->rec.answer_ms && side == LEG_A;
	call_rec_ended(c, side == LEG_A ? RECORD_BY_CALLER : RECORD_BY_CALLEE, "bye");
	if (c->state == CALL_INVITING || c->state == CALL_EARLY) {
		/* Only A can hang up before the answer, and it does so with CANCEL;
		 * a BYE here ends what exists. */
		leg_respond_a(c, 487, "Request Terminated", NULL, NULL);
	}
	leg_send_bye(c, 1 - side);
	call_set_state(c, CALL_ENDING);
	if (!c->pending_bye)
		call_close(c, "BYE");
}

/* Whether `req` may be relayed now; answers it when not. */
static bool relay_allowed(struct call *c, struct txn *st, sip_t const *sip, int from)
{
	sip_method_t m = sip->sip_request->rq_method;
	if (m == sip_method_prack) {
		leg_respond(c, st, from, 481, "Call/Transaction Does Not Exist", NULL,
			    "reliable provisional responses are not used on this leg");
		return false;
	}
	if (c->state != CALL_CONFIRMED && m == sip_method_invite) {
		leg_respond(c, st, from, 491, "Request Pending", NULL, NULL);
		return false;
	}
	if (c->relay.st || c->relay.ct) {
		if (c->relay.from != from)
			leg_respond(c, st, from, 491, "Request Pending", NULL, NULL);
		else
			leg_respond(c, st, from, 500, "Server Internal Error", NULL,
				    "a previous request is still pending");
		return false;
	}
	return true;
}

/* "call N: METHOD from leg NAME": the start of a relay refusal's log line. */
static const char *relay_subject(const struct call *c, sip_t const *sip, int from, char *buf,
				 size_t len)
{
	snprintf(buf, len, "call %u: %s from leg %s", c->id, sip->sip_request->rq_method_name,
		 c->legs[from].cfg->name);
	return buf;
}

/* The body leg `to` gets: a re-planned offer in *sdp (malloc, holds keys),
 * or the original body unchanged. False when refused (answered). */
static bool relay_body(struct call *c, struct txn *st, sip_t const *sip, int from, char **sdp)
{
	sip_method_t m = sip->sip_request->rq_method;
	bool offer_method = m == sip_method_invite || m == sip_method_update;
	bool has_body = sip->sip_payload && sip->sip_payload->pl_len;
	char why[160] = "", subj[CFG_NAME_MAX + 48];
	*sdp = NULL;
	if (offer_method && has_body) {
		int status = plan_offer(c, from, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
					sdp, why, sizeof(why));
		if (status) {
			struct verdict v = verdict_refuse(plan_refusal(status), why);
			leg_refuse(c, st, from, &v, relay_subject(c, sip, from, subj, sizeof(subj)));
			return false;
		}
	} else if (m == sip_method_invite) {
		struct verdict v = verdict_refuse(REFUSAL_MEDIA,
						  "a re-INVITE without an offer is not supported");
		leg_refuse(c, st, from, &v, relay_subject(c, sip, from, subj, sizeof(subj)));
		return false;
	} else if (has_body && (!sip->sip_content_type || !sip->sip_content_type->c_type ||
				strcasecmp(sip->sip_content_type->c_type, "application/sdp") == 0)) {
		leg_respond(c, st, from, 415, "Unsupported Media Type", NULL, NULL);
		return false;
	}
	return true;
}

static void relay_request(struct call *c, struct txn *st, msg_t *req, int from)
{
	sip_t const *sip = sip_object(req);
	int to = 1 - from;
	char *sdp;

	if (!relay_allowed(c, st, sip, from))
		return;
	struct leg *xl = &c->legs[from];
	/* Target refresh (§12.2.2). */
	if (sip->sip_request->rq_method == sip_method_invite && sip->sip_contact &&
	    leg_set_url(&xl->remote_target, sip->sip_contact->m_url) < 0)
		log_warnx("call %u: target refresh lost: out of memory", c->id);
	if (!relay_body(c, st, sip, from, &sdp))
		return;
	bool rekeyed = sdp != NULL;
	c->relay.ct = leg_send_relayed(c, to, sip, sdp);
	if (sdp) {
		explicit_bzero(sdp, strlen(sdp));
		free(sdp);
	}
	if (!c->relay.ct) {
		leg_respond(c, st, from, 500, "Server Internal Error", NULL, "cannot relay the request");
		return;
	}
	c->relay.st = st;
	c->relay.from = from;
	txn_set_user_data(st, &xl->owner);
	c->live_txns++;
	log_info("call %u: %s from leg %s relayed%s", c->id, sip->sip_request->rq_method_name,
		 xl->cfg->name, rekeyed ? " with a new offer (re-keyed)" : "");
}

void dialog_request(struct b2bua *b, struct txn *st, msg_t *req, struct call *c, int side)
{
	sip_t const *sip = sip_object(req);
	sip_method_t m = sip->sip_request->rq_method;
	const struct pc_peer *from = txn_peer(st);
	struct leg *l = &c->legs[side];

	if (!speaks_for_leg(c, l, from, sip->sip_request->rq_method_name, st, req))
		return;
	follow_new_connection(b, c, l, from);
	if (c->state == CALL_CLOSED || c->state == CALL_ENDING) {
		if (m == sip_method_bye)
			answer_plain(st, req, 200, NULL);
		else
			answer_plain(st, req, 481, "Call/Transaction Does Not Exist");
		return;
	}
	if (m == sip_method_bye)
		bye(c, st, req, side);
	else
		relay_request(c, st, req, side);
}

/* Non-SDP bodies of INFO/MESSAGE answers cross unchanged. */
static void pass_foreign_body(struct call *c, sip_t const *sip, int from, int status)
{
	if (!c->relay.st)
		return;
	msg_t *r = leg_reply_foreign(c, c->relay.st, from, status, sip->sip_status->st_phrase, sip);
	if (r)
		txn_respond(c->relay.st, r);
	else /* logged: the answer we meant cannot cross */
		leg_respond(c, c->relay.st, from, 500, "Server Internal Error", NULL, NULL);
}

void dialog_relay_response(struct call *c, struct txn *ct, msg_t *resp)
{
	sip_t const *sip = sip_object(resp);
	msg_t *req = txn_request_msg(ct);
	int status = sip->sip_status->st_status;
	/* Without the request the transaction is Accepted and this a 2xx
	 * resent: the first was relayed and acknowledged. */
	if (!req)
		return;
	sip_t const *rq = sip_object(req);
	sip_method_t m = rq->sip_request->rq_method;
	int from = c->relay.from, to = 1 - from;
	bool has_body = sip->sip_payload && sip->sip_payload->pl_len;
	char why[160] = "";
	char *body = NULL;

	if (status == 100)
		return;
	if (m == sip_method_invite && status >= 200 && status < 300) {
		leg_send_ack(c, to, rq->sip_cseq->cs_seq, NULL);
		if (sip->sip_contact && /* target refresh */
		    leg_set_url(&c->legs[to].remote_target, sip->sip_contact->m_url) < 0)
			log_warnx("call %u: target refresh lost: out of memory", c->id);
	}
	if (status >= 200 && status < 300 && has_body &&
	    (m == sip_method_invite || m == sip_method_update)) {
		if (plan_answer(c, to, sip->sip_payload->pl_data, sip->sip_payload->pl_len, &body, why,
				sizeof(why))) {
			/* The other side accepted something we cannot honour: end the call
			 * rather than leave the two legs disagreeing about the media. */
			log_warnx("call %u: refusing the relayed answer: %s", c->id, why);
			struct verdict v = verdict_refuse(REFUSAL_MEDIA, why);
			leg_refuse(c, c->relay.st, from, &v, NULL);
			call_end(c, BOTH_LEGS, why);
			return;
		}
	}
	if (status >= 200 && status < 300 && !body && has_body && sip->sip_content_type &&
	    sip->sip_content_type->c_type &&
	    strcasecmp(sip->sip_content_type->c_type, "application/sdp") != 0)
		pass_foreign_body(c, sip, from, status);
	else
		leg_respond(c, c->relay.st, from, status, sip->sip_status->st_phrase, body, NULL);
	if (body) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
	if (status >= 200) {
		c->relay.st = NULL; /* the transactions finish on their own */
		c->relay.ct = NULL;
	}
}

void dialog_relay_failure(struct call *c, struct txn *ct, int status)
{
	sip_method_t m = txn_method(ct);
	leg_respond(c, c->relay.st, c->relay.from, status,
		    status == 408 ? "Request Timeout" : "Service Unavailable", NULL,
		    "the other leg did not answer");
	c->relay.st = NULL;
	c->relay.ct = NULL;
	if (m == sip_method_invite) /* RFC 3261 §14.1: a failed re-INVITE ends the dialog */
		call_end(c, BOTH_LEGS, "re-INVITE failed");
}

/* Late offer: A's answer rides in its ACK; B gets it in ours. */
static void late_answer(struct call *c, sip_t const *sip)
{
	char why[160] = "";
	char *b_body = NULL;
	c->b_ack_pending = false;
	int bad = sip->sip_payload && sip->sip_payload->pl_len
			  ? plan_answer(c, LEG_A, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
					&b_body, why, sizeof(why))
			  : (snprintf(why, sizeof(why), "the ACK carries no answer"), 488);
	leg_send_ack(c, LEG_B, 1, bad ? NULL : b_body);
	if (b_body) {
		explicit_bzero(b_body, strlen(b_body));
		free(b_body);
	}
	if (bad) {
		log_warnx("call %u: refusing the caller's answer: %s", c->id, why);
		call_end(c, BOTH_LEGS, why);
		return;
	}
	c->answered = true;
	log_info("call %u established (leg A %s, leg B %s, late offer)", c->id,
		 c->legs[LEG_A].secure ? "SRTP" : "RTP", c->legs[LEG_B].secure ? "SRTP" : "RTP");
}

void dialog_ack(struct call *c, int side, msg_t *ack, const struct pc_peer *from)
{
	sip_t const *sip = sip_object(ack);
	if (!speaks_for_leg(c, &c->legs[side], from, "ACK", NULL, NULL))
		return;
	if (c->ok.msg && side == c->ok.side &&
	    sip->sip_cseq->cs_seq == sip_object(c->ok.msg)->sip_cseq->cs_seq) {
		msg_destroy(c->ok.msg); /* our 2xx arrived: stop retransmitting */
		c->ok.msg = NULL;
		c->ok.st = NULL;
	}
	if (side == LEG_A && c->b_ack_pending)
		late_answer(c, sip);
}
