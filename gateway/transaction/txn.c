/* The core of the RFC 3261 §17 transaction layer (with RFC 6026 Accepted):
 * the table of legal state transitions and the one place a state changes,
 * the table of what each state holds (a finished transaction keeps only its
 * key and the bytes that answer a retransmission, not the request), the
 * timers, a transaction's life from creation to the reaper, sending, and
 * the layer itself, which hands each message it receives to the client
 * machines (client.c) or the server machines (server.c). Every transaction
 * has at most two timers armed: a retransmission timer (A, E, G) and the
 * timeout of its current state (B, C, D, F, H, I, J, K, L, M). A terminated
 * transaction leaves the matching table at once but is freed later from a
 * 0-ms timer, because termination often happens while the transaction user
 * is inside a callback for it; that same reaper delivers transport failures,
 * so the TU is never re-entered from within its own call to txn_request() or
 * txn_respond(). */
#include "txn_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"
#include "core/err.h"
#include "core/log.h"

#define DEFAULT_T1_MS 500u
#define DEFAULT_T2_MS 4000u
#define DEFAULT_T4_MS 5000u
#define DEFAULT_MAX_TRANSACTIONS 4096u

#define S(x) (1u << (x))
/* legal[kind][from] is the set of states `from` may move to (Figures 5-8 of
 * RFC 3261 as amended by RFC 6026); any live state may fail to Terminated. */
static const unsigned legal[4][TXN_TERMINATED + 1] = {
	[TXN_CLIENT_INVITE] = {
		[TXN_CALLING] = S(TXN_PROCEEDING) | S(TXN_COMPLETED) | S(TXN_ACCEPTED) |
				S(TXN_TERMINATED),
		[TXN_PROCEEDING] = S(TXN_COMPLETED) | S(TXN_ACCEPTED) | S(TXN_TERMINATED),
		[TXN_COMPLETED] = S(TXN_TERMINATED),
		[TXN_ACCEPTED] = S(TXN_TERMINATED),
	},
	[TXN_CLIENT_NON_INVITE] = {
		[TXN_TRYING] = S(TXN_PROCEEDING) | S(TXN_COMPLETED) | S(TXN_TERMINATED),
		[TXN_PROCEEDING] = S(TXN_COMPLETED) | S(TXN_TERMINATED),
		[TXN_COMPLETED] = S(TXN_TERMINATED),
	},
	[TXN_SERVER_INVITE] = {
		[TXN_PROCEEDING] = S(TXN_COMPLETED) | S(TXN_ACCEPTED) | S(TXN_TERMINATED),
		[TXN_COMPLETED] = S(TXN_CONFIRMED) | S(TXN_TERMINATED),
		[TXN_CONFIRMED] = S(TXN_TERMINATED),
		[TXN_ACCEPTED] = S(TXN_TERMINATED),
	},
	[TXN_SERVER_NON_INVITE] = {
		[TXN_TRYING] = S(TXN_PROCEEDING) | S(TXN_COMPLETED) | S(TXN_TERMINATED),
		[TXN_PROCEEDING] = S(TXN_COMPLETED) | S(TXN_TERMINATED),
		[TXN_COMPLETED] = S(TXN_TERMINATED),
	},
};

/* What each state holds (beyond the matching key): a transaction that only
 * absorbs retransmissions (Completed, Confirmed) needs no request, only the
 * bytes that answer one, so a churn of finished transactions waiting out
 * Timers D, I, J and K costs a few hundred bytes each, not a message. The
 * same goes for Accepted (RFC 6026), where every call's INVITE transactions
 * wait out Timers L and M (64 x T1, 32 s): the server one absorbs INVITE
 * retransmissions without answering (the 2xx is resent by the TU, which
 * keeps it) and hands ACKs to the TU, the client one hands 2xx
 * retransmissions to the TU; both match on the key alone. Holding the
 * INVITE and our 2xx there made them most of the gateway's memory in a
 * churn of calls. */
enum {
	HOLD_REQ = 1,   /* the request and its buffer (the TU reads it) */
	HOLD_RESP = 2,  /* server: the last response, as a message */
	HOLD_ACK = 4,   /* client INVITE: the ACK, as a message */
	HOLD_AGAIN = 8, /* the printed response (server) or ACK (client) */
};
static const unsigned char holds[4][TXN_TERMINATED + 1] = {
	[TXN_CLIENT_INVITE] = {
		[TXN_CALLING] = HOLD_REQ, [TXN_PROCEEDING] = HOLD_REQ,
		[TXN_COMPLETED] = HOLD_AGAIN, [TXN_ACCEPTED] = 0,
	},
	[TXN_CLIENT_NON_INVITE] = {
		[TXN_TRYING] = HOLD_REQ, [TXN_PROCEEDING] = HOLD_REQ, [TXN_COMPLETED] = 0,
	},
	[TXN_SERVER_INVITE] = {
		[TXN_PROCEEDING] = HOLD_REQ | HOLD_RESP, [TXN_COMPLETED] = HOLD_AGAIN,
		[TXN_CONFIRMED] = 0, [TXN_ACCEPTED] = 0,
	},
	[TXN_SERVER_NON_INVITE] = {
		[TXN_TRYING] = HOLD_REQ, [TXN_PROCEEDING] = HOLD_REQ | HOLD_RESP,
		[TXN_COMPLETED] = HOLD_AGAIN,
	},
};

/* A name for log lines: the branch, or the Call-ID of an RFC 2543 request. */
const char *txn_id(const struct txn *t)
{
	if (t->entry.key.branch)
		return t->entry.key.branch;
	sip_t const *sip = t->entry.req;
	return sip && sip->sip_call_id ? sip->sip_call_id->i_id : "-";
}

const char *txn_state_name(enum txn_state s)
{
	switch (s) {
	case TXN_CALLING: return "Calling";
	case TXN_TRYING: return "Trying";
	case TXN_PROCEEDING: return "Proceeding";
	case TXN_COMPLETED: return "Completed";
	case TXN_CONFIRMED: return "Confirmed";
	case TXN_ACCEPTED: return "Accepted";
	case TXN_TERMINATED: return "Terminated";
	}
	return "?";
}

void txn_set_state(struct txn *t, enum txn_state s)
{
	if (!(legal[t->kind][t->state] & S(s))) {
		/* A bug in this file; release builds log it and carry on. */
		log_err("txn %s: illegal transition %s -> %s", txn_id(t),
			txn_state_name(t->state), txn_state_name(s));
		assert(!"illegal transaction state transition");
	}
	log_debug("txn %s %s -> %s", txn_id(t), txn_state_name(t->state), txn_state_name(s));
	t->state = s;
}

/* --- timers --------------------------------------------------------------- */

/* Every handle is released through timer_stop exactly once, also after it
 * fired, as the env contract asks. */
void txn_timer_clear(struct txn_layer *layer, void **slot)
{
	if (*slot) {
		layer->env.timer_stop(layer->env.ctx, *slot);
		*slot = NULL;
	}
}

bool txn_timer_set(struct txn *t, void **slot, unsigned ms, void (*fire)(void *))
{
	struct txn_layer *layer = t->layer;
	txn_timer_clear(layer, slot);
	*slot = layer->env.timer_start(layer->env.ctx, ms, fire, t);
	if (!*slot)
		log_warnx("txn %s: cannot start a timer", txn_id(t));
	return *slot != NULL;
}

static void reap_fire(void *arg);
static void txn_settle(struct txn *t);

void txn_arm_reaper(struct txn_layer *layer)
{
	if ((!layer->dead && !layer->settle) || layer->reap_timer || layer->closing)
		return;
	/* On failure the next termination, receive or request tries again. */
	layer->reap_timer = layer->env.timer_start(layer->env.ctx, 0, reap_fire, layer);
	if (!layer->reap_timer)
		log_warnx("txn: cannot start the reaper timer");
}

void txn_terminate(struct txn *t)
{
	struct txn_layer *layer = t->layer;
	if (t->state == TXN_TERMINATED)
		return;
	txn_set_state(t, TXN_TERMINATED);
	txn_timer_clear(layer, &t->retx_timer);
	txn_timer_clear(layer, &t->timer);
	txn_table_remove(&layer->table, &t->entry);
	t->next_dead = NULL;
	if (layer->dead_tail)
		layer->dead_tail->next_dead = t;
	else
		layer->dead = t;
	layer->dead_tail = t;
	txn_arm_reaper(layer);
}

static void txn_free(struct txn *t)
{
	struct txn_layer *layer = t->layer;
	if (t->prev)
		t->prev->next = t->next;
	else
		layer->all = t->next;
	if (t->next)
		t->next->prev = t->prev;
	txn_timer_clear(layer, &t->retx_timer);
	txn_timer_clear(layer, &t->timer);
	if (t->req)
		msg_destroy(t->req);
	if (t->resp)
		msg_destroy(t->resp);
	if (t->ack)
		msg_destroy(t->ack);
	free(t->again);
	free(t->peer);
	txn_entry_fini(&t->entry);
	layer->count--;
	free(t);
}

static void reap_fire(void *arg)
{
	struct txn_layer *layer = arg;
	txn_timer_clear(layer, &layer->reap_timer);
	/* Before any is freed: a transaction on both lists is still here. */
	while (layer->settle) {
		struct txn *t = layer->settle;
		layer->settle = t->next_settle;
		t->settling = false;
		txn_settle(t);
	}
	/* Callbacks may terminate more transactions; they go on a fresh list. */
	struct txn *list = layer->dead;
	layer->dead = layer->dead_tail = NULL;
	while (list) {
		struct txn *t = list;
		list = t->next_dead;
		if (t->announced && t->fail_status) {
			if (!is_server(t) && layer->tu.on_failure)
				layer->tu.on_failure(layer->tu.ctx, t, t->fail_status);
			else if (is_server(t) && layer->tu.on_server_failure)
				layer->tu.on_server_failure(layer->tu.ctx, t);
		}
		if (t->announced && layer->tu.on_terminated)
			layer->tu.on_terminated(layer->tu.ctx, t);
		txn_free(t);
	}
}

/* Fail a transaction: the TU hears of it from the reaper. */
void txn_fail(struct txn *t, int status)
{
	t->fail_status = status;
	txn_terminate(t);
}

/* Arm the state's timeout. A transaction whose timeout cannot run would
 * never end, so it ends now instead. */
void txn_arm_timeout(struct txn *t, unsigned ms, void (*fire)(void *))
{
	if (txn_timer_set(t, &t->timer, ms, fire))
		return;
	bool pending = !is_server(t) && t->state != TXN_COMPLETED && t->state != TXN_ACCEPTED;
	txn_fail(t, pending ? 503 : 0);
}

/* --- what a state holds --------------------------------------------------- */

static int keep_again(struct txn *t, msg_t *msg)
{
	size_t len = 0;
	char *text = msg ? sipmsg_print(msg, &len) : NULL;
	if (!text)
		return msg ? -1 : 0;
	t->again = malloc(len);
	if (!t->again)
		return -1;
	memcpy(t->again, text, len);
	t->again_len = len;
	return 0;
}

static void drop_msg(msg_t **slot)
{
	if (*slot)
		msg_destroy(*slot);
	*slot = NULL;
}

/* Let go of what the current state does not hold (the table above). Without
 * memory for the key or the bytes it keeps everything, as before: correct,
 * only larger. */
static void txn_settle(struct txn *t)
{
	if (t->state == TXN_TERMINATED)
		return;
	unsigned h = holds[t->kind][t->state];
	if (!(h & HOLD_REQ) && t->req) {
		if (!t->entry.key.rfc3261 || txn_entry_own_key(&t->entry) < 0)
			return;
		if ((h & HOLD_AGAIN) && !t->again &&
		    keep_again(t, is_server(t) ? t->resp : t->ack) < 0) {
			log_warnx("txn %s: out of memory, keeping the whole transaction", txn_id(t));
			return;
		}
		t->entry.req = NULL;
		drop_msg(&t->req);
		/* The TU read the peer with the request; answers need only dest,
		 * unless an address did not fit in it. */
		if (t->peer && t->peer->addrlen <= sizeof(t->dest.addr)) {
			free(t->peer);
			t->peer = NULL;
		}
	}
	if (!(h & HOLD_RESP) && t->resp) {
		t->entry.resp_to_tag = NULL; /* it pointed into resp (RFC 2543 matching only) */
		drop_msg(&t->resp);
	}
	if (!(h & HOLD_ACK))
		drop_msg(&t->ack);
	if (!(h & HOLD_AGAIN) && t->again) {
		free(t->again);
		t->again = NULL;
		t->again_len = 0;
	}
}

/* From the reaper's 0-ms timer, never at once: the TU that just answered or
 * was handed the final response may still be reading the request, and
 * txn_request_msg() stays valid until it returns to the event loop. */
void txn_settle_soon(struct txn *t)
{
	struct txn_layer *layer = t->layer;
	if (t->settling || t->state == TXN_TERMINATED)
		return;
	t->settling = true;
	t->next_settle = layer->settle;
	layer->settle = t;
	txn_arm_reaper(layer);
}

/* --- sending -------------------------------------------------------------- */

/* The kept answer to a retransmission: parsed from its own bytes for the
 * send, so it leaves exactly as it left the first time. */
int txn_send_again(struct txn *t)
{
	msg_t *msg = t->again ? sipmsg_parse(t->again, t->again_len) : NULL;
	if (!msg) {
		if (t->again)
			log_warnx("txn %s: cannot resend: out of memory", txn_id(t));
		return t->again ? PC_ERR_NOMEM : 0;
	}
	int rc = txn_send(t, msg);
	msg_destroy(msg);
	return rc;
}

/* The peer messages go to: the whole one while held, else one made from
 * dest in *buf (no identity: nothing on the way out reads it). */
static const struct pc_peer *dest_peer(const struct txn *t, struct pc_peer *buf)
{
	if (t->peer)
		return t->peer;
	const struct txn_dest *d = &t->dest;
	*buf = (struct pc_peer){ .transport = d->transport, .addrlen = d->addrlen,
				 .conn_id = d->conn_id, .listener = d->listener };
	memcpy(&buf->addr, &d->addr, sizeof(d->addr));
	return buf;
}

int txn_send(struct txn *t, msg_t *msg)
{
	struct txn_layer *layer = t->layer;
	struct pc_peer buf;
	const struct pc_peer *to = dest_peer(t, &buf);
	int rc = layer->env.send(layer->env.ctx, to, msg);
	if (rc < 0) {
		char text[128];
		counter_inc(CNT_SEND_FAILED);
		log_warnx("txn %s: send to %s failed: %s", txn_id(t),
			  pc_peer_str(to, text, sizeof(text)), pc_strerror(rc));
	}
	return rc;
}

/* Send, and fail the transaction if the transport could not (§17.1.4,
 * §17.2.4): 503 for a client, on_server_failure for a server. */
int txn_send_or_fail(struct txn *t, msg_t *msg)
{
	int rc = txn_send(t, msg);
	if (rc < 0)
		txn_fail(t, 503);
	return rc;
}

/* --- timer handlers ------------------------------------------------------- */

static unsigned min_u(unsigned a, unsigned b) { return a < b ? a : b; }

/* Timers A, E and G. */
void txn_retx_fire(void *arg)
{
	struct txn *t = arg;
	const struct txn_config *cfg = &t->layer->cfg;
	msg_t *msg;

	txn_timer_clear(t->layer, &t->retx_timer);
	switch (t->kind) {
	case TXN_CLIENT_INVITE: /* A: doubles without a cap, B ends it */
		if (t->state != TXN_CALLING)
			return;
		msg = t->req;
		t->retx_ms *= 2;
		break;
	case TXN_CLIENT_NON_INVITE: /* E: doubles up to T2, T2 once a 1xx came */
		if (t->state != TXN_TRYING && t->state != TXN_PROCEEDING)
			return;
		msg = t->req;
		t->retx_ms = t->state == TXN_PROCEEDING ? cfg->t2_ms
							 : min_u(2 * t->retx_ms, cfg->t2_ms);
		break;
	case TXN_SERVER_INVITE: /* G: doubles up to T2 */
		if (t->state != TXN_COMPLETED)
			return;
		msg = t->resp; /* NULL once settled: the kept bytes go */
		t->retx_ms = min_u(2 * t->retx_ms, cfg->t2_ms);
		break;
	default:
		return;
	}
	log_debug("txn %s: retransmitting, next in %u ms", txn_id(t), t->retx_ms);
	int rc = msg ? txn_send(t, msg) : txn_send_again(t);
	if (rc < 0) {
		txn_fail(t, 503);
		return;
	}
	/* Without a retransmission timer the state's timeout still ends it. */
	txn_timer_set(t, &t->retx_timer, t->retx_ms, txn_retx_fire);
}

/* The timeout of the current state. */
void txn_timeout_fire(void *arg)
{
	struct txn *t = arg;
	txn_timer_clear(t->layer, &t->timer);
	switch (t->state) {
	case TXN_CALLING:
	case TXN_TRYING:
	case TXN_PROCEEDING:
		if (is_server(t))
			return; /* no timeout is armed there */
		/* B, C or F: the request went unanswered. */
		counter_inc(CNT_TXN_TIMEOUT);
		log_info("txn %s: %s timed out in %s", txn_id(t),
			 t->entry.req->sip_request->rq_method_name, txn_state_name(t->state));
		txn_fail(t, 408);
		break;
	case TXN_COMPLETED:
		if (t->kind == TXN_SERVER_INVITE) {
			/* H: the ACK never came. Peers control this, so no
			 * log above debug: the counter is what operators see. */
			counter_inc(CNT_TXN_TIMEOUT);
			log_debug("txn %s: no ACK for the final response", txn_id(t));
		}
		txn_terminate(t); /* or D, K, J */
		break;
	case TXN_CONFIRMED: /* I */
	case TXN_ACCEPTED:  /* L, M */
		txn_terminate(t);
		break;
	case TXN_TERMINATED:
		break;
	}
}

/* --- transaction life ----------------------------------------------------- */

struct txn *txn_create(struct txn_layer *layer, enum txn_kind kind, msg_t *req,
		       const struct pc_peer *peer)
{
	struct txn *t = calloc(1, sizeof(*t));
	struct pc_peer *whole = malloc(sizeof(*whole));
	if (!t || !whole) {
		log_warnx("txn: out of memory");
		free(t);
		free(whole);
		return NULL;
	}
	*whole = *peer;
	t->peer = whole;
	t->dest = (struct txn_dest){ .transport = peer->transport, .addrlen = peer->addrlen,
				     .conn_id = peer->conn_id, .listener = peer->listener };
	memcpy(&t->dest.addr, &peer->addr, sizeof(t->dest.addr));
	t->layer = layer;
	t->kind = kind;
	t->req = req;
	t->entry.req = sip_object(req);
	t->entry.server = kind == TXN_SERVER_INVITE || kind == TXN_SERVER_NON_INVITE;
	t->reliable = pc_transport_reliable(peer->transport);
	switch (kind) {
	case TXN_CLIENT_INVITE: t->state = TXN_CALLING; break;
	case TXN_SERVER_INVITE: t->state = TXN_PROCEEDING; break;
	default: t->state = TXN_TRYING; break;
	}
	t->next = layer->all;
	if (layer->all)
		layer->all->prev = t;
	layer->all = t;
	layer->count++;
	txn_table_insert(&layer->table, &t->entry);
	counter_inc(CNT_TXN_CREATED);
	log_debug("txn %s created for %s, %s", txn_id(t), t->entry.req->sip_request->rq_method_name,
		  txn_state_name(t->state));
	return t;
}

bool txn_has_core_headers(sip_t const *sip)
{
	return sip && sip->sip_via && sip->sip_cseq && sip->sip_call_id && sip->sip_from &&
	       sip->sip_to;
}

struct txn_layer *txn_layer_new(const struct txn_config *cfg, const struct txn_env *env,
				const struct txn_user *tu)
{
	if (!env || !env->timer_start || !env->timer_stop || !env->send) {
		log_err("txn: incomplete environment");
		return NULL;
	}
	struct txn_layer *layer = calloc(1, sizeof(*layer));
	if (!layer) {
		log_err("txn: out of memory");
		return NULL;
	}
	if (cfg)
		layer->cfg = *cfg;
	if (!layer->cfg.t1_ms)
		layer->cfg.t1_ms = DEFAULT_T1_MS;
	if (!layer->cfg.t2_ms)
		layer->cfg.t2_ms = DEFAULT_T2_MS;
	if (!layer->cfg.t4_ms)
		layer->cfg.t4_ms = DEFAULT_T4_MS;
	if (!layer->cfg.max_transactions)
		layer->cfg.max_transactions = DEFAULT_MAX_TRANSACTIONS;
	layer->env = *env;
	if (tu)
		layer->tu = *tu;
	if (txn_table_init(&layer->table, layer->cfg.max_transactions) < 0) {
		log_err("txn: cannot set up the transaction table (memory or random key)");
		free(layer);
		return NULL;
	}
	return layer;
}

void txn_layer_free(struct txn_layer *layer)
{
	if (!layer)
		return;
	layer->closing = true;
	txn_timer_clear(layer, &layer->reap_timer);
	while (layer->all) {
		struct txn *t = layer->all;
		if (t->state != TXN_TERMINATED)
			txn_set_state(t, TXN_TERMINATED);
		if (t->announced && layer->tu.on_terminated)
			layer->tu.on_terminated(layer->tu.ctx, t);
		txn_free(t);
	}
	txn_table_fini(&layer->table);
	free(layer);
}

static bool same_destination(const struct pc_peer *a, const struct pc_peer *b)
{
	return a->transport == b->transport && pc_sockaddr_equal(&a->addr, &b->addr);
}

void txn_layer_unreachable(struct txn_layer *layer, const struct pc_peer *to)
{
	for (struct txn *t = layer->all; t; t = t->next) {
		if (is_server(t) || (t->state != TXN_CALLING && t->state != TXN_TRYING &&
				     t->state != TXN_PROCEEDING))
			continue;
		struct pc_peer buf;
		if (same_destination(dest_peer(t, &buf), to))
			txn_fail(t, 503);
	}
}

unsigned txn_layer_count(const struct txn_layer *layer)
{
	return layer ? layer->count : 0;
}

void txn_layer_receive(struct txn_layer *layer, msg_t *msg, const struct pc_peer *from)
{
	if (!msg)
		return;
	sip_t const *sip = sip_object(msg);
	if (!layer || !from || !txn_has_core_headers(sip) || (!sip->sip_status && !sip->sip_request)) {
		log_debug("txn: message without core headers dropped");
		msg_destroy(msg);
		return;
	}
	txn_arm_reaper(layer);
	bool kept = false;
	if (sip->sip_status)
		txn_receive_response(layer, msg, from);
	else
		kept = txn_receive_request(layer, msg, from);
	if (!kept)
		msg_destroy(msg);
}

/* --- accessors ------------------------------------------------------------ */

struct txn *txn_cancel_target(const struct txn *cancel_st)
{
	if (!cancel_st || cancel_st->kind != TXN_SERVER_NON_INVITE || !cancel_st->entry.req ||
	    cancel_st->entry.req->sip_request->rq_method != sip_method_cancel)
		return NULL;
	return entry_txn(txn_table_find_server(&cancel_st->layer->table, cancel_st->entry.req,
					       TXN_MATCH_CANCEL));
}

enum txn_kind txn_kind(const struct txn *t) { return t->kind; }
enum txn_state txn_state(const struct txn *t) { return t->state; }
sip_method_t txn_method(const struct txn *t) { return t->entry.key.method; }
msg_t *txn_request_msg(const struct txn *t) { return t->req; }
const struct pc_peer *txn_peer(const struct txn *t) { return t->peer; }
bool txn_reliable(const struct txn *t) { return t->reliable; }
void *txn_user_data(const struct txn *t) { return t->user_data; }
void txn_set_user_data(struct txn *t, void *data) { t->user_data = data; }
