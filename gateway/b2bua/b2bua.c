/* The B2BUA's face toward the endpoint: it owns every call, the guard and
 * the REGISTER service, and is the call handler the endpoint hands requests
 * to. Each request takes one path: the screen (guard) for everything before
 * any state exists, then REGISTER to register.c, a new INVITE to setup.c,
 * anything inside a dialog to dialog.c; ACKs for our 2xx and lost
 * connections arrive here too. Everything below goes through the
 * endpoint's call_net table, which unit tests replace. */
#include "call.h"
#include "identity.h"
#include "refuse.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/log.h"

/* A peer's connection carrying one of our legs closed. We cannot reconnect
 * to a peer's connection (it came from a port of its own), so the leg waits
 * connection_grace for the peer to come back; the call timer ends it then. */
static void on_inbound_closed(void *ctx, uint64_t conn_id)
{
	struct b2bua *b = ctx;
	for (struct call *c = b->calls; c; c = c->next) {
		if (c->state == CALL_CLOSED)
			continue;
		for (int side = LEG_A; side <= LEG_B; side++) {
			struct leg *l = &c->legs[side];
			if (l->peer.conn_id == conn_id && l->peer.listener >= 0 && !l->conn_lost_ms) {
				l->conn_lost_ms = pc_clock_ms();
				log_info("call %u: connection of leg %s lost; waiting %us for it", c->id,
					 l->cfg->name, b->cfg->limits.connection_grace_s);
			}
		}
	}
}

/* Whether the per-source rate and bans pass over `from`: a hop inside the
 * trust domain (a trunk), or another node of the cluster, which relays the
 * calls of many phones and would otherwise be banned as one source. */
static bool rate_exempt(const struct b2bua *b, const struct pc_peer *from)
{
	return identity_prev_hop_trusted(b->cfg, b->guard, from) || route_node_peer(b->cfg, from) != NULL;
}

/* Network lists, bans, rates, scanners, transport and SIPS, for every
 * request (OPTIONS to the gateway, ACK and CANCEL included) before any
 * transaction, state or answer exists for it. */
static bool on_screen(void *ctx, msg_t *req, const struct pc_peer *from, msg_t **answer)
{
	struct b2bua *b = ctx;
	sip_t const *sip = sip_object(req);
	const char *leg = listener_leg(b, from);
	struct verdict v = guard_request(b->guard, sip, from, leg ? config_leg(b->cfg, leg) : NULL,
					 rate_exempt(b, from), pc_clock_ms());
	if (v.kind == VERDICT_ACCEPT)
		return true;
	char peer[128], subject[160];
	snprintf(subject, sizeof(subject), "%s from %s", sip->sip_request->rq_method_name,
		 pc_peer_str(from, peer, sizeof(peer)));
	struct refuse_to to = { .req = req, .warn_host = b->cfg->domain, .subject = subject };
	*answer = refuse(&to, &v);
	return false;
}

static bool on_source_ok(void *ctx, const struct pc_peer *from)
{
	struct b2bua *b = ctx;
	return guard_source_ok(b->guard, from, rate_exempt(b, from), pc_clock_ms());
}

static bool on_request(void *ctx, struct txn *st, msg_t *req)
{
	struct b2bua *b = ctx;
	sip_t const *sip = sip_object(req);
	const char *to_tag = sip->sip_to->a_tag;
	int side;

	if (!to_tag) {
		if (sip->sip_request->rq_method == sip_method_register) {
			const char *leg = listener_leg(b, txn_peer(st));
			return reg_service_handle(b->reg, st, req, leg ? config_leg(b->cfg, leg) : NULL);
		}
		if (sip->sip_request->rq_method != sip_method_invite)
			return false;
		return setup_new_call(b, st, req);
	}
	struct call *c = call_index_find(b, sip->sip_call_id->i_id, to_tag, &side);
	if (!c)
		return false; /* 481 from the endpoint */
	dialog_request(b, st, req, c, side);
	return true;
}

static void on_ack(void *ctx, msg_t *ack, const struct pc_peer *from)
{
	struct b2bua *b = ctx;
	sip_t const *sip = sip_object(ack);
	int side;
	if (!sip->sip_to->a_tag)
		return;
	struct call *c = call_index_find(b, sip->sip_call_id->i_id, sip->sip_to->a_tag, &side);
	if (c)
		dialog_ack(c, side, ack, from);
}

struct b2bua *b2bua_new(struct event_base *base, const struct gateway_config *cfg,
			const struct call_net *net, struct media_pool *pool)
{
	struct media_engine *media = media_pool_engine(pool);
	struct b2bua *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->cfg = cfg;
	b->base = base;
	b->net = *net;
	b->pool = pool;
	b->media = media;
	for (unsigned i = 0; i < cfg->n_legs; i++) {
		const struct leg_config *l = &cfg->legs[i];
		b->range[i] = media_engine_add_range(media, l->rtp_address, l->rtp_port_min,
						     l->rtp_port_max, MEDIA_PORT_QUARANTINE_MS);
		if (b->range[i] < 0) {
			free(b);
			return NULL;
		}
	}
	char err[512] = "";
	b->guard = guard_new(cfg, err, sizeof(err));
	if (b->guard == NULL) {
		log_err("%s", err);
		free(b);
		return NULL;
	}
	b->reg = reg_service_new(base, cfg);
	/* Two legs per call, about one per slot at the ceiling. */
	if (!b->reg || call_index_init(b, 2 * cfg->limits.max_calls + 1) < 0 ||
	    stir_call_init(b, err, sizeof(err)) < 0) {
		if (b->reg && err[0])
			log_err("identity: %s", err);
		call_index_free(b);
		reg_service_free(b->reg);
		guard_free(b->guard);
		free(b);
		return NULL;
	}
	return b;
}

void b2bua_call_handler(struct b2bua *b, struct call_handler *out)
{
	*out = (struct call_handler){ .ctx = b, .screen = on_screen, .source_ok = on_source_ok,
		.on_request = on_request, .on_ack = on_ack, .on_inbound_closed = on_inbound_closed };
}

void b2bua_free(struct b2bua *b)
{
	if (!b)
		return;
	call_free_all(b); /* cancels every verification waiting on the repository */
	stir_call_fini(b);
	reg_service_free(b->reg);
	guard_free(b->guard);
	call_index_free(b);
	free(b);
}

int b2bua_reload_check(const struct gateway_config *cand, char *err, size_t errlen)
{
	struct guard *g = guard_new(cand, err, errlen);
	guard_free(g);
	return g ? 0 : -1;
}

int b2bua_reload_apply(struct b2bua *b, char *err, size_t errlen)
{
	return guard_reload(b->guard, b->cfg, err, errlen);
}

int b2bua_users_prepare(struct b2bua *b, char *err, size_t errlen)
{
	return reg_service_users_prepare(b->reg, err, errlen);
}

int b2bua_users_finish(struct b2bua *b, bool commit) { return reg_service_users_finish(b->reg, commit); }

unsigned b2bua_call_count(const struct b2bua *b) { return b->n_calls; }
unsigned b2bua_registration_count(const struct b2bua *b) { return reg_service_binding_count(b->reg); }
