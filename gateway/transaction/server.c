/* The server transactions of RFC 3261 §17.2: a new request creates one (or
 * a stateless 503 past the ceiling), a retransmission is answered from it,
 * an ACK moves the INVITE machine (Figure 7, with RFC 6026 Accepted); the
 * TU's responses go out through txn_respond(), which drives both machines
 * (Figures 7 and 8) and keeps the To tag the same on every response. */
#include "txn_int.h"

#include <sofia-sip/msg_header.h>

#include "core/counters.h"
#include "core/err.h"
#include "core/log.h"
#include "sip/build.h"
#include "sip/reply.h"

const char *txn_local_tag(struct txn *st)
{
	if (!st->tag[0])
		sipmsg_random_token(st->tag, sizeof(st->tag));
	return st->tag;
}

/* §8.2.6.2: a response that can create a dialog needs a To tag; it must be
 * the same one on every response of the transaction. */
static int ensure_to_tag(struct txn *st, msg_t *resp)
{
	sip_t *rs = sip_object(resp);
	/* Without the request (settled in Accepted) only a 2xx goes out, a
	 * resend of the one that already carried the tag. */
	if (!st->entry.req || st->entry.req->sip_to->a_tag || !rs->sip_to || rs->sip_to->a_tag)
		return 0;
	if (sip_to_tag(msg_home(resp), rs->sip_to, txn_local_tag(st)) < 0)
		return -1;
	/* A parsed To keeps its wire text: drop it so the tag gets printed. */
	msg_fragment_clear(rs->sip_to->a_common);
	return 0;
}

static void keep_response(struct txn *st, msg_t *resp)
{
	if (st->resp)
		msg_destroy(st->resp);
	st->resp = resp;
}

int txn_respond(struct txn *st, msg_t *resp)
{
	sip_t const *rs = resp ? sip_object(resp) : NULL;
	if (!st || !is_server(st) || !rs || !rs->sip_status || rs->sip_status->st_status < 100 ||
	    rs->sip_status->st_status > 699) {
		log_warnx("txn: txn_respond without a server transaction or a response");
		goto refuse;
	}
	int status = (int)rs->sip_status->st_status;
	bool allowed = st->state == TXN_TRYING || st->state == TXN_PROCEEDING ||
		       (st->state == TXN_ACCEPTED && status >= 200 && status < 300);
	if (!allowed) {
		log_debug("txn %s: no %d response in %s", txn_id(st), status,
			  txn_state_name(st->state));
		goto refuse;
	}
	if (status > 100 && ensure_to_tag(st, resp) < 0) {
		log_warnx("txn %s: out of memory adding the To tag", txn_id(st));
		msg_destroy(resp);
		return PC_ERR_NOMEM;
	}
	keep_response(st, resp);
	int rc = txn_send_or_fail(st, resp);
	if (rc < 0)
		return rc;

	struct txn_layer *layer = st->layer;
	if (status >= 200)
		st->entry.resp_to_tag = sip_object(resp)->sip_to ? sip_object(resp)->sip_to->a_tag
								 : NULL;
	if (st->kind == TXN_SERVER_INVITE) {
		if (status < 200)
			return PC_OK;
		if (st->state == TXN_ACCEPTED) {
			txn_settle_soon(st); /* the TU's resend is not kept either */
			return PC_OK;
		}
		if (status < 300) {
			txn_set_state(st, TXN_ACCEPTED);
			txn_arm_timeout(st, t64(layer), txn_timeout_fire); /* L */
			txn_settle_soon(st);
			return PC_OK;
		}
		txn_set_state(st, TXN_COMPLETED);
		if (!st->reliable) {
			st->retx_ms = layer->cfg.t1_ms;
			txn_timer_set(st, &st->retx_timer, st->retx_ms, txn_retx_fire); /* G */
		}
		txn_arm_timeout(st, t64(layer), txn_timeout_fire); /* H */
		txn_settle_soon(st);
		return PC_OK;
	}
	if (status < 200) {
		if (st->state == TXN_TRYING)
			txn_set_state(st, TXN_PROCEEDING);
		return PC_OK;
	}
	txn_set_state(st, TXN_COMPLETED);
	if (st->reliable)
		txn_terminate(st); /* Timer J = 0 */
	else
		txn_arm_timeout(st, t64(layer), txn_timeout_fire); /* J */
	txn_settle_soon(st);
	return PC_OK;
refuse:
	if (resp)
		msg_destroy(resp);
	return PC_ERR_STATE;
}

/* §17.2.1/§17.2.2: a retransmitted request is answered from the transaction
 * and never reaches the TU. */
static void server_retransmission(struct txn *t)
{
	counter_inc(CNT_TXN_RETRANSMIT_ABSORBED);
	bool resend = (t->resp || t->again) &&
		      (t->state == TXN_PROCEEDING || t->state == TXN_COMPLETED);
	log_debug("txn %s: request retransmission in %s%s", txn_id(t), txn_state_name(t->state),
		  resend ? ", response resent" : "");
	if (resend && (t->resp ? txn_send(t, t->resp) : txn_send_again(t)) < 0)
		txn_fail(t, 503);
}

static void server_ack(struct txn *t, msg_t *ack, const struct pc_peer *from)
{
	struct txn_layer *layer = t->layer;
	switch (t->state) {
	case TXN_COMPLETED:
		txn_set_state(t, TXN_CONFIRMED);
		txn_timer_clear(layer, &t->retx_timer);
		txn_timer_clear(layer, &t->timer);
		if (t->reliable)
			txn_terminate(t); /* Timer I = 0 */
		else
			txn_arm_timeout(t, layer->cfg.t4_ms, txn_timeout_fire); /* I */
		txn_settle_soon(t);
		break;
	case TXN_CONFIRMED:
		counter_inc(CNT_TXN_RETRANSMIT_ABSORBED);
		break;
	case TXN_ACCEPTED:
		/* RFC 6026 §8.2: the ACK for a 2xx belongs to the TU. */
		if (layer->tu.on_ack)
			layer->tu.on_ack(layer->tu.ctx, ack, from);
		break;
	default:
		log_debug("txn %s: ACK in %s ignored", txn_id(t), txn_state_name(t->state));
		break;
	}
}

/* The stateless answer past the ceiling: no state, so a flood of new
 * requests costs one response each and nothing more. */
static void reject_limit(struct txn_layer *layer, msg_t *req, const struct pc_peer *from)
{
	char tag[16];
	counter_inc(CNT_TXN_LIMIT);
	log_debug("txn: %u transactions, refusing a request with 503", layer->count);
	struct sipmsg_build m;
	sipmsg_random_token(tag, sizeof(tag));
	sipmsg_build_response(&m, req, 503, "Service Unavailable", tag);
	sipmsg_build_retry_after(&m, 5);
	msg_t *resp = sipmsg_build_done(&m);
	if (!resp) {
		log_warnx("txn: cannot refuse with 503: %s", m.why);
		return;
	}
	if (layer->env.send(layer->env.ctx, from, resp) < 0)
		counter_inc(CNT_SEND_FAILED);
	msg_destroy(resp);
}

/* Returns true when msg now belongs to a new transaction. */
bool txn_receive_request(struct txn_layer *layer, msg_t *msg, const struct pc_peer *from)
{
	sip_t const *sip = sip_object(msg);
	struct txn *t;

	if (sip->sip_request->rq_method == sip_method_ack) {
		t = entry_txn(txn_table_find_server(&layer->table, sip, TXN_MATCH_ACK));
		if (t)
			server_ack(t, msg, from);
		else if (layer->tu.on_ack)
			layer->tu.on_ack(layer->tu.ctx, msg, from);
		return false;
	}
	t = entry_txn(txn_table_find_server(&layer->table, sip, TXN_MATCH_SAME));
	if (t) {
		server_retransmission(t);
		return false;
	}
	if (layer->count >= layer->cfg.max_transactions) {
		reject_limit(layer, msg, from);
		return false;
	}
	bool invite = sip->sip_request->rq_method == sip_method_invite;
	t = txn_create(layer, invite ? TXN_SERVER_INVITE : TXN_SERVER_NON_INVITE, msg, from);
	if (!t)
		return false;
	if (invite) {
		/* §17.2.1: answer at once so the client stops retransmitting. */
		t->resp = sipmsg_reply(msg, 100, NULL, NULL);
		if (!t->resp)
			log_warnx("txn %s: out of memory building 100 Trying", txn_id(t));
		else if (txn_send_or_fail(t, t->resp) < 0)
			return true; /* not announced: the TU never hears of it */
	}
	t->announced = true;
	if (layer->tu.on_request)
		layer->tu.on_request(layer->tu.ctx, t, t->req);
	return true;
}
