/* The four RFC 3261 §17 transaction state machines (with RFC 6026 Accepted),
 * their timers and the public API. Every transaction has at most two timers
 * armed: a retransmission timer (A, E, G) and the timeout of its current state
 * (B, C, D, F, H, I, J, K, L, M). A terminated transaction leaves the matching
 * table at once but is freed later from a 0-ms timer, because termination
 * often happens while the transaction user is inside a callback for it; that
 * same reaper delivers transport failures, so the TU is never re-entered from
 * within its own call to txn_request() or txn_respond(). */
#include "txn.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sofia-sip/msg_header.h>

#include "core/counters.h"
#include "core/err.h"
#include "core/log.h"
#include "sip/reply.h"
#include "table.h"

#define DEFAULT_T1_MS 500u
#define DEFAULT_T2_MS 4000u
#define DEFAULT_T4_MS 5000u
#define DEFAULT_MAX_TRANSACTIONS 4096u
/* Timer D is "at least 32 s" on unreliable transports (§17.1.1.2). */
#define TIMER_D_MIN_MS 32000u
/* A client INVITE in Proceeding has no RFC 3261 timeout; without one a peer
 * that never answers would pin the transaction forever. Like a proxy's Timer
 * C (§16.6 step 11), 3 minutes restarted by every non-100 provisional, which a
 * UAS must send each minute while it rings (§13.3.1.1). */
#define TIMER_C_MS 180000u
#define TAG_SIZE 24

struct txn {
	struct txn_entry entry; /* matching keys; the table hands it back */
	struct txn_layer *layer;
	enum txn_kind kind;
	enum txn_state state;
	bool reliable;
	bool announced;   /* the TU knows this transaction */
	msg_t *req;
	msg_t *resp;      /* server: the last response sent */
	msg_t *ack;       /* client INVITE: the ACK for a non-2xx */
	struct pc_peer peer;
	void *user_data;
	void *retx_timer; /* A, E or G */
	unsigned retx_ms;
	void *timer;      /* the current state's timeout */
	int fail_status;  /* failure the reaper reports: 408 or 503 */
	struct txn *prev, *next; /* every transaction of the layer */
	struct txn *next_dead;
	char tag[TAG_SIZE];
};

struct txn_layer {
	struct txn_config cfg;
	struct txn_env env;
	struct txn_user tu;
	struct txn_table table;
	struct txn *all;
	struct txn *dead, *dead_tail; /* terminated, awaiting the reaper */
	void *reap_timer;
	unsigned count;
	bool closing;
};

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

static struct txn *entry_txn(struct txn_entry *e)
{
	return e ? (struct txn *)((char *)e - offsetof(struct txn, entry)) : NULL;
}

static bool is_server(const struct txn *t)
{
	return t->kind == TXN_SERVER_INVITE || t->kind == TXN_SERVER_NON_INVITE;
}

/* A name for log lines: the branch, or the Call-ID of an RFC 2543 request. */
static const char *txn_id(const struct txn *t)
{
	sip_t const *sip = t->entry.req;
	if (sip->sip_via->v_branch)
		return sip->sip_via->v_branch;
	return sip->sip_call_id ? sip->sip_call_id->i_id : "-";
}

static unsigned t64(const struct txn_layer *layer)
{
	return 64 * layer->cfg.t1_ms;
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

static void set_state(struct txn *t, enum txn_state s)
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
static void timer_clear(struct txn_layer *layer, void **slot)
{
	if (*slot) {
		layer->env.timer_stop(layer->env.ctx, *slot);
		*slot = NULL;
	}
}

static bool timer_set(struct txn *t, void **slot, unsigned ms, void (*fire)(void *))
{
	struct txn_layer *layer = t->layer;
	timer_clear(layer, slot);
	*slot = layer->env.timer_start(layer->env.ctx, ms, fire, t);
	if (!*slot)
		log_warnx("txn %s: cannot start a timer", txn_id(t));
	return *slot != NULL;
}

static void reap_fire(void *arg);

static void arm_reaper(struct txn_layer *layer)
{
	if (!layer->dead || layer->reap_timer || layer->closing)
		return;
	/* On failure the next termination, receive or request tries again. */
	layer->reap_timer = layer->env.timer_start(layer->env.ctx, 0, reap_fire, layer);
	if (!layer->reap_timer)
		log_warnx("txn: cannot start the reaper timer");
}

static void txn_terminate(struct txn *t)
{
	struct txn_layer *layer = t->layer;
	if (t->state == TXN_TERMINATED)
		return;
	set_state(t, TXN_TERMINATED);
	timer_clear(layer, &t->retx_timer);
	timer_clear(layer, &t->timer);
	txn_table_remove(&layer->table, &t->entry);
	t->next_dead = NULL;
	if (layer->dead_tail)
		layer->dead_tail->next_dead = t;
	else
		layer->dead = t;
	layer->dead_tail = t;
	arm_reaper(layer);
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
	timer_clear(layer, &t->retx_timer);
	timer_clear(layer, &t->timer);
	msg_destroy(t->req);
	if (t->resp)
		msg_destroy(t->resp);
	if (t->ack)
		msg_destroy(t->ack);
	layer->count--;
	free(t);
}

static void reap_fire(void *arg)
{
	struct txn_layer *layer = arg;
	timer_clear(layer, &layer->reap_timer);
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
static void txn_fail(struct txn *t, int status)
{
	t->fail_status = status;
	txn_terminate(t);
}

/* Arm the state's timeout. A transaction whose timeout cannot run would
 * never end, so it ends now instead. */
static void arm_timeout(struct txn *t, unsigned ms, void (*fire)(void *))
{
	if (timer_set(t, &t->timer, ms, fire))
		return;
	bool pending = !is_server(t) && t->state != TXN_COMPLETED && t->state != TXN_ACCEPTED;
	txn_fail(t, pending ? 503 : 0);
}

/* --- sending -------------------------------------------------------------- */

static int send_msg(struct txn *t, msg_t *msg)
{
	struct txn_layer *layer = t->layer;
	int rc = layer->env.send(layer->env.ctx, &t->peer, msg);
	if (rc < 0) {
		char buf[128];
		counter_inc(CNT_SEND_FAILED);
		log_warnx("txn %s: send to %s failed: %s", txn_id(t),
			  pc_peer_str(&t->peer, buf, sizeof(buf)), pc_strerror(rc));
	}
	return rc;
}

/* Send, and fail the transaction if the transport could not (§17.1.4,
 * §17.2.4): 503 for a client, on_server_failure for a server. */
static int send_or_fail(struct txn *t, msg_t *msg)
{
	int rc = send_msg(t, msg);
	if (rc < 0)
		txn_fail(t, 503);
	return rc;
}

/* --- timer handlers ------------------------------------------------------- */

static unsigned min_u(unsigned a, unsigned b) { return a < b ? a : b; }

/* Timers A, E and G. */
static void retx_fire(void *arg)
{
	struct txn *t = arg;
	const struct txn_config *cfg = &t->layer->cfg;
	msg_t *msg;

	timer_clear(t->layer, &t->retx_timer);
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
		msg = t->resp;
		t->retx_ms = min_u(2 * t->retx_ms, cfg->t2_ms);
		break;
	default:
		return;
	}
	log_debug("txn %s: retransmitting, next in %u ms", txn_id(t), t->retx_ms);
	if (send_or_fail(t, msg) < 0)
		return;
	/* Without a retransmission timer the state's timeout still ends it. */
	timer_set(t, &t->retx_timer, t->retx_ms, retx_fire);
}

/* The timeout of the current state. */
static void timeout_fire(void *arg)
{
	struct txn *t = arg;
	timer_clear(t->layer, &t->timer);
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

static struct txn *txn_create(struct txn_layer *layer, enum txn_kind kind, msg_t *req,
			      const struct pc_peer *peer)
{
	struct txn *t = calloc(1, sizeof(*t));
	if (!t) {
		log_warnx("txn: out of memory");
		return NULL;
	}
	t->layer = layer;
	t->kind = kind;
	t->req = req;
	t->entry.req = sip_object(req);
	t->entry.server = kind == TXN_SERVER_INVITE || kind == TXN_SERVER_NON_INVITE;
	t->peer = *peer;
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

static bool has_core_headers(sip_t const *sip)
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
	timer_clear(layer, &layer->reap_timer);
	while (layer->all) {
		struct txn *t = layer->all;
		if (t->state != TXN_TERMINATED)
			set_state(t, TXN_TERMINATED);
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
		if (is_server(t) || !same_destination(&t->peer, to))
			continue;
		if (t->state == TXN_CALLING || t->state == TXN_TRYING || t->state == TXN_PROCEEDING)
			txn_fail(t, 503);
	}
}

unsigned txn_layer_count(const struct txn_layer *layer)
{
	return layer ? layer->count : 0;
}

/* --- client transactions -------------------------------------------------- */

struct txn *txn_request(struct txn_layer *layer, msg_t *req, const struct pc_peer *to,
			void *user_data)
{
	sip_t const *sip = req ? sip_object(req) : NULL;
	if (!layer || layer->closing || !to || !has_core_headers(sip) || !sip->sip_request ||
	    !txn_branch_is_3261(sip) || sip->sip_request->rq_method == sip_method_ack) {
		log_warnx("txn: refusing a request: an ACK, no z9hG4bK branch or no core headers");
		goto drop;
	}
	arm_reaper(layer);
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
	arm_timeout(t, t64(layer), timeout_fire);
	if (t->state == TXN_TERMINATED)
		return t;
	if (send_or_fail(t, req) < 0)
		return t;
	if (!t->reliable) {
		t->retx_ms = layer->cfg.t1_ms;
		timer_set(t, &t->retx_timer, t->retx_ms, retx_fire); /* A or E */
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
				set_state(t, TXN_PROCEEDING);
				timer_clear(layer, &t->retx_timer);
				arm_timeout(t, TIMER_C_MS, timeout_fire);
			} else if (status > 100) {
				arm_timeout(t, TIMER_C_MS, timeout_fire);
			}
			deliver_response(t, resp);
		} else if (status < 300) {
			set_state(t, TXN_ACCEPTED);
			timer_clear(layer, &t->retx_timer);
			arm_timeout(t, t64(layer), timeout_fire); /* M */
			deliver_response(t, resp);
		} else {
			/* §17.1.1.2: ACK first, so the server stops retransmitting
			 * whatever the TU does with the response. */
			t->ack = txn_ack_build(t->req, resp);
			if (t->ack)
				send_msg(t, t->ack); /* a lost ACK is repaired by retransmission */
			else
				log_warnx("txn %s: out of memory building the ACK", txn_id(t));
			set_state(t, TXN_COMPLETED);
			timer_clear(layer, &t->retx_timer);
			timer_clear(layer, &t->timer);
			if (!t->reliable) {
				unsigned d = t64(layer) > TIMER_D_MIN_MS ? t64(layer) : TIMER_D_MIN_MS;
				arm_timeout(t, d, timeout_fire);
			}
			deliver_response(t, resp);
			if (t->reliable)
				txn_terminate(t); /* Timer D = 0 */
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
				send_msg(t, t->ack);
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
				set_state(t, TXN_PROCEEDING);
			deliver_response(t, resp);
			break;
		}
		set_state(t, TXN_COMPLETED);
		timer_clear(layer, &t->retx_timer);
		timer_clear(layer, &t->timer);
		if (!t->reliable)
			arm_timeout(t, layer->cfg.t4_ms, timeout_fire); /* K */
		deliver_response(t, resp);
		if (t->reliable)
			txn_terminate(t);
		break;
	case TXN_COMPLETED:
		counter_inc(CNT_TXN_RETRANSMIT_ABSORBED);
		break;
	default:
		break;
	}
}

static void receive_response(struct txn_layer *layer, msg_t *msg, const struct pc_peer *from)
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

/* --- server transactions -------------------------------------------------- */

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
	if (st->entry.req->sip_to->a_tag || !rs->sip_to || rs->sip_to->a_tag)
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
	int rc = send_or_fail(st, resp);
	if (rc < 0)
		return rc;

	struct txn_layer *layer = st->layer;
	if (status >= 200)
		st->entry.resp_to_tag = sip_object(resp)->sip_to ? sip_object(resp)->sip_to->a_tag
								 : NULL;
	if (st->kind == TXN_SERVER_INVITE) {
		if (status < 200 || st->state == TXN_ACCEPTED)
			return PC_OK;
		if (status < 300) {
			set_state(st, TXN_ACCEPTED);
			arm_timeout(st, t64(layer), timeout_fire); /* L */
			return PC_OK;
		}
		set_state(st, TXN_COMPLETED);
		if (!st->reliable) {
			st->retx_ms = layer->cfg.t1_ms;
			timer_set(st, &st->retx_timer, st->retx_ms, retx_fire); /* G */
		}
		arm_timeout(st, t64(layer), timeout_fire); /* H */
		return PC_OK;
	}
	if (status < 200) {
		if (st->state == TXN_TRYING)
			set_state(st, TXN_PROCEEDING);
		return PC_OK;
	}
	set_state(st, TXN_COMPLETED);
	if (st->reliable)
		txn_terminate(st); /* Timer J = 0 */
	else
		arm_timeout(st, t64(layer), timeout_fire); /* J */
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
	bool resend = t->resp && (t->state == TXN_PROCEEDING || t->state == TXN_COMPLETED);
	log_debug("txn %s: request retransmission in %s%s", txn_id(t), txn_state_name(t->state),
		  resend ? ", response resent" : "");
	if (resend)
		send_or_fail(t, t->resp);
}

static void server_ack(struct txn *t, msg_t *ack, const struct pc_peer *from)
{
	struct txn_layer *layer = t->layer;
	switch (t->state) {
	case TXN_COMPLETED:
		set_state(t, TXN_CONFIRMED);
		timer_clear(layer, &t->retx_timer);
		timer_clear(layer, &t->timer);
		if (t->reliable)
			txn_terminate(t); /* Timer I = 0 */
		else
			arm_timeout(t, layer->cfg.t4_ms, timeout_fire); /* I */
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
	sipmsg_random_token(tag, sizeof(tag));
	msg_t *resp = sipmsg_reply(req, 503, "Service Unavailable", tag);
	if (!resp)
		return;
	if (sipmsg_add_line(resp, "Retry-After: 5") == 0 &&
	    layer->env.send(layer->env.ctx, from, resp) < 0)
		counter_inc(CNT_SEND_FAILED);
	msg_destroy(resp);
}

/* Returns true when msg now belongs to a new transaction. */
static bool receive_request(struct txn_layer *layer, msg_t *msg, const struct pc_peer *from)
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
		else if (send_or_fail(t, t->resp) < 0)
			return true; /* not announced: the TU never hears of it */
	}
	t->announced = true;
	if (layer->tu.on_request)
		layer->tu.on_request(layer->tu.ctx, t, t->req);
	return true;
}

void txn_layer_receive(struct txn_layer *layer, msg_t *msg, const struct pc_peer *from)
{
	if (!msg)
		return;
	sip_t const *sip = sip_object(msg);
	if (!layer || !from || !has_core_headers(sip) || (!sip->sip_status && !sip->sip_request)) {
		log_debug("txn: message without core headers dropped");
		msg_destroy(msg);
		return;
	}
	arm_reaper(layer);
	bool kept = false;
	if (sip->sip_status)
		receive_response(layer, msg, from);
	else
		kept = receive_request(layer, msg, from);
	if (!kept)
		msg_destroy(msg);
}

/* --- accessors ------------------------------------------------------------ */

struct txn *txn_cancel_target(const struct txn *cancel_st)
{
	if (!cancel_st || cancel_st->kind != TXN_SERVER_NON_INVITE ||
	    cancel_st->entry.req->sip_request->rq_method != sip_method_cancel)
		return NULL;
	return entry_txn(txn_table_find_server(&cancel_st->layer->table, cancel_st->entry.req,
					       TXN_MATCH_CANCEL));
}

enum txn_kind txn_kind(const struct txn *t) { return t->kind; }
enum txn_state txn_state(const struct txn *t) { return t->state; }
msg_t *txn_request_msg(const struct txn *t) { return t->req; }
const struct pc_peer *txn_peer(const struct txn *t) { return &t->peer; }
void *txn_user_data(const struct txn *t) { return t->user_data; }
void txn_set_user_data(struct txn *t, void *data) { t->user_data = data; }
