/* The client transactions of RFC 3261 §17.1: starting one (txn_request),
 * and each response matched to it driving the INVITE machine (Figure 5, with
 * RFC 6026 Accepted) or the non-INVITE one (Figure 6), the ACK for a non-2xx
 * included; a response matching none is stray. */
#include "txn_int.h"

#include <string.h>

#include "core/counters.h"
#include "core/log.h"

/* Timer D is "at least 32 s" on unreliable transports (§17.1.1.2). */
#define TIMER_D_MIN_MS 32000u
/* A client INVITE in Proceeding has no RFC 3261 timeout; without one a peer
 * that never answers would pin the transaction forever. Like a proxy's Timer
 * C (§16.6 step 11), 3 minutes restarted by every non-100 provisional, which a
 * UAS must send each minute while it rings (§13.3.1.1). */
#define TIMER_C_MS 180000u

struct txn *txn_request(struct txn_layer *layer, msg_t *req, const struct pc_peer *to,
			void *user_data)
{
	sip_t const *sip = req ? sip_object(req) : NULL;
	if (!layer || layer->closing || !to || !txn_has_core_headers(sip) || !sip->sip_request ||
	    !txn_branch_is_3261(sip) || sip->sip_request->rq_method == sip_method_ack) {
		log_warnx("txn: refusing a request: an ACK, no z9hG4bK branch or no core headers");
		goto drop;
	}
	txn_arm_reaper(layer);
	if (txn_table_find_client(&layer->table, sip)) {
		log_warnx("txn %s: a %s transaction with this branch exists", sip->sip_via->v_branch,
			  sip->sip_request->rq_method_name);
		goto drop;
	}
	if (layer->count >= layer->cfg.max_transactions) {
		counter_inc(CNT_TXN_LIMIT);
		log_warnx("txn: %u transactions, refusing a new %s", layer->count,
			  sip->sip_request->rq_method_name);
		goto drop;
	}
	bool invite = sip->sip_request->rq_method == sip_method_invite;
	struct txn *t = txn_create(layer, invite ? TXN_CLIENT_INVITE : TXN_CLIENT_NON_INVITE, req, to);
	if (!t)
		goto drop;
	t->user_data = user_data;
	t->announced = true;
	/* B or F */
	txn_arm_timeout(t, t64(layer), txn_timeout_fire);
	if (t->state == TXN_TERMINATED)
		return t;
	if (txn_send_or_fail(t, req) < 0)
		return t;
	if (!t->reliable) {
		t->retx_ms = layer->cfg.t1_ms;
		txn_timer_set(t, &t->retx_timer, t->retx_ms, txn_retx_fire); /* A or E */
	}
	return t;
drop:
	if (req)
		msg_destroy(req);
	return NULL;
}

void txn_new_branch(char *out, size_t len)
{
	size_t cookie = sizeof(TXN_MAGIC_COOKIE) - 1;
	if (len <= cookie) {
		if (len)
			out[0] = '\0';
		return;
	}
	memcpy(out, TXN_MAGIC_COOKIE, cookie);
	sipmsg_random_token(out + cookie, len - cookie);
}

static void deliver_response(struct txn *t, msg_t *resp)
{
	struct txn_user *tu = &t->layer->tu;
	if (tu->on_response)
		tu->on_response(tu->ctx, t, resp);
}

static void client_invite_response(struct txn *t, msg_t *resp, int status)
{
	struct txn_layer *layer = t->layer;
	switch (t->state) {
	case TXN_CALLING:
	case TXN_PROCEEDING:
		if (status < 200) {
			if (t->state == TXN_CALLING) {
				txn_set_state(t, TXN_PROCEEDING);
				txn_timer_clear(layer, &t->retx_timer);
				txn_arm_timeout(t, TIMER_C_MS, txn_timeout_fire);
			} else if (status > 100) {
				txn_arm_timeout(t, TIMER_C_MS, txn_timeout_fire);
			}
			deliver_response(t, resp);
		} else if (status < 300) {
			txn_set_state(t, TXN_ACCEPTED);
			txn_timer_clear(layer, &t->retx_timer);
			txn_arm_timeout(t, t64(layer), txn_timeout_fire); /* M */
			deliver_response(t, resp);
			txn_settle_soon(t);
		} else {
			/* §17.1.1.2: ACK first, so the server stops retransmitting
			 * whatever the TU does with the response. */
			t->ack = txn_ack_build(t->req, resp);
			if (t->ack)
				txn_send(t, t->ack); /* a lost ACK is repaired by retransmission */
			else
				log_warnx("txn %s: out of memory building the ACK", txn_id(t));
			txn_set_state(t, TXN_COMPLETED);
			txn_timer_clear(layer, &t->retx_timer);
			txn_timer_clear(layer, &t->timer);
			if (!t->reliable) {
				unsigned d = t64(layer) > TIMER_D_MIN_MS ? t64(layer) : TIMER_D_MIN_MS;
				txn_arm_timeout(t, d, txn_timeout_fire);
			}
			deliver_response(t, resp);
			if (t->reliable)
				txn_terminate(t); /* Timer D = 0 */
			else
				txn_settle_soon(t);
		}
		break;
	case TXN_ACCEPTED:
		/* RFC 6026 §7.2: 2xx retransmissions go to the TU, which ACKs them. */
		if (status >= 200 && status < 300)
			deliver_response(t, resp);
		break;
	case TXN_COMPLETED:
		if (status >= 300) {
			counter_inc(CNT_TXN_RETRANSMIT_ABSORBED);
			if (t->ack)
				txn_send(t, t->ack);
			else
				txn_send_again(t);
		}
		break;
	default:
		break;
	}
}

static void client_non_invite_response(struct txn *t, msg_t *resp, int status)
{
	struct txn_layer *layer = t->layer;
	switch (t->state) {
	case TXN_TRYING:
	case TXN_PROCEEDING:
		if (status < 200) {
			if (t->state == TXN_TRYING)
				txn_set_state(t, TXN_PROCEEDING);
			deliver_response(t, resp);
			break;
		}
		txn_set_state(t, TXN_COMPLETED);
		txn_timer_clear(layer, &t->retx_timer);
		txn_timer_clear(layer, &t->timer);
		if (!t->reliable)
			txn_arm_timeout(t, layer->cfg.t4_ms, txn_timeout_fire); /* K */
		deliver_response(t, resp);
		if (t->reliable)
			txn_terminate(t);
		else
			txn_settle_soon(t);
		break;
	case TXN_COMPLETED:
		counter_inc(CNT_TXN_RETRANSMIT_ABSORBED);
		break;
	default:
		break;
	}
}

void txn_receive_response(struct txn_layer *layer, msg_t *msg, const struct pc_peer *from)
{
	sip_t const *sip = sip_object(msg);
	int status = (int)sip->sip_status->st_status;
	struct txn *t = entry_txn(txn_table_find_client(&layer->table, sip));

	if (!t) {
		/* Counted either way: a 2xx to INVITE matching no transaction is
		 * only offered to the dialog layer, which may not know it either. */
		counter_inc(CNT_TXN_STRAY_RESPONSE);
		if (status >= 200 && status < 300 && sip->sip_cseq->cs_method == sip_method_invite) {
			if (layer->tu.on_stray_response)
				layer->tu.on_stray_response(layer->tu.ctx, msg, from);
		} else {
			log_debug("txn: stray %d response to %s dropped", status,
				  sip->sip_cseq->cs_method_name);
		}
		return;
	}
	if (t->kind == TXN_CLIENT_INVITE)
		client_invite_response(t, msg, status);
	else
		client_non_invite_response(t, msg, status);
}
