/* Where leg B of a call goes: the configured route for the caller's leg and
 * the dialled user, resolved into a next hop, a Request-URI and a To; for a
 * registered user, each of its contacts in turn (serial forking, RFC 3261
 * §16.6 leaves serial or parallel to the forker), each reached where its
 * REGISTER came from and through its Path (RFC 3327). */
#include "call.h"
#include "refuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

const char *listener_leg(const struct b2bua *b, const struct pc_peer *from)
{
	if (from->listener < 0 || (unsigned)from->listener >= b->cfg->n_listeners)
		return NULL;
	return b->cfg->listeners[from->listener].leg;
}

const struct route_config *route_for(struct b2bua *b, const char *leg, const char *user)
{
	for (unsigned i = 0; i < b->cfg->n_routes; i++) {
		const struct route_config *r = &b->cfg->routes[i];
		if (strcmp(r->from_leg, leg) != 0)
			continue;
		if (r->user[0] && (!user || strcmp(r->user, user) != 0))
			continue;
		return r;
	}
	return NULL;
}

/* Point leg B at binding `index` of `user` (newest first): its flow, its
 * contact as Request-URI and target, and its Path (RFC 3327) as the route
 * set the INVITE carries. -1 when there is no such binding. */
static int use_binding(struct call *c, const char *user, unsigned index, char *ruri, size_t len)
{
	const struct reg_binding *bd[REG_MAX_PER_USER];
	unsigned n = reg_service_lookup(c->b2bua->reg, user, bd, REG_MAX_PER_USER);
	if (index >= n)
		return -1;
	struct leg *b = &c->legs[LEG_B];
	b->peer = bd[index]->flow;
	snprintf(ruri, len, "%s", bd[index]->contact);
	snprintf(b->remote_target, sizeof(b->remote_target), "%s", ruri);
	free(c->b_route);
	c->b_route = NULL;
	if (bd[index]->path[0]) {
		size_t need = strlen(bd[index]->path) + sizeof("Route: \r\n");
		if ((c->b_route = malloc(need)) != NULL)
			snprintf(c->b_route, need, "Route: %s\r\n", bd[index]->path);
	}
	return 0;
}

int route_leg_b(struct call *c, const struct route_config *r, const char *user, char *ruri,
		size_t len)
{
	struct b2bua *bb = c->b2bua;
	struct leg *b = &c->legs[LEG_B];
	const char *u = user && user[0] ? user : "anonymous";
	if (r->registered) {
		/* The user's newest registration first (fork_next tries the
		 * others), reached where its REGISTER came from (NAT); the
		 * Request-URI is the contact it registered, the To its address
		 * of record. */
		if (use_binding(c, user, 0, ruri, len) < 0)
			return -2;
		snprintf(b->remote_uri, sizeof(b->remote_uri), "<sip:%s@%s>", u, bb->cfg->domain);
		return 0;
	}
	if (r->peer[0]) {
		const struct peer_config *p = config_peer(bb->cfg, r->peer);
		if (!p || bb->net.peer_address(bb->net.ctx, p, &b->peer) < 0)
			return -1;
		snprintf(ruri, len, "%s:%s@%s", p->transport == PC_TP_TLS ? "sips" : "sip", u,
			 p->sip_domain);
	} else {
		struct peer_config tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.transport = r->transport;
		snprintf(tmp.address, sizeof(tmp.address), "%s", r->address);
		tmp.port = r->port;
		if (bb->net.peer_address(bb->net.ctx, &tmp, &b->peer) < 0)
			return -1;
		bool v6 = strchr(r->address, ':') != NULL;
		snprintf(ruri, len, "sip:%s@%s%s%s:%u%s", u, v6 ? "[" : "", r->address, v6 ? "]" : "",
			 r->port, r->transport == PC_TP_TCP ? ";transport=tcp" : "");
	}
	snprintf(b->remote_uri, sizeof(b->remote_uri), "<%s>", ruri);
	snprintf(b->remote_target, sizeof(b->remote_target), "%s", ruri);
	return 0;
}

/* Whether the route's next hop is reached over TLS (a registered user
 * without a binding counts as TLS: the 480 for "not registered" follows). */
bool route_is_tls(struct b2bua *b, const struct route_config *r, const char *user)
{
	if (r->registered) {
		const struct reg_binding *bd;
		if (reg_service_lookup(b->reg, user, &bd, 1) == 0)
			return true;
		return bd->flow.transport == PC_TP_TLS;
	}
	if (r->peer[0]) {
		const struct peer_config *p = config_peer(b->cfg, r->peer);
		return p && p->transport == PC_TP_TLS;
	}
	return r->transport == PC_TP_TLS;
}

void fork_start(struct call *c, const char *callee, unsigned max_forwards,
		const struct route_config *r, const char *caller)
{
	if ((c->fork = calloc(1, sizeof(*c->fork))) == NULL)
		return; /* the first contact alone is tried */
	snprintf(c->fork->callee, sizeof(c->fork->callee), "%s", callee ? callee : "");
	c->fork->next = 1;
	c->fork->max_forwards = max_forwards;
	c->fork->route = r;
	snprintf(c->fork->caller, sizeof(c->fork->caller), "%s", caller);
}

/* After B's INVITE failed: the callee's next registered contact, as a new
 * INVITE in the same B dialog-to-be (CSeq + 1, To-tag forgotten). Only
 * before any early answer was applied (its media would belong to the
 * contact that failed). Each contact is a device of its own, maybe on
 * another transport: it gets a decision of its own (SIPS, identity) and
 * keys of its own; a contact it may not have is skipped. */
bool fork_next(struct call *c, int status)
{
	struct fork_state *f = c->fork;
	if (f == NULL || c->answered || c->state == CALL_CLOSED || status >= 600 || !c->a_invite)
		return false;
	struct leg *lb = &c->legs[LEG_B];
	sip_t const *sip = sip_object(txn_request_msg(c->a_invite));
	char ruri[sizeof(((struct leg *)0)->remote_uri) - 2];
	char phrase[128], why[160];
	while (use_binding(c, f->callee, f->next, ruri, sizeof(ruri)) == 0) {
		f->next++;
		lb->remote_tag[0] = '\0';
		lb->local_cseq++;
		struct verdict v = setup_attempt(c, sip, f->route, f->caller, ruri, f->max_forwards,
						 phrase, sizeof(phrase), why, sizeof(why));
		if (v.kind == VERDICT_ACCEPT) {
			log_info("call %u: contact %u of the callee failed (%d); trying contact %u", c->id,
				 f->next - 1, status, f->next);
			return true;
		}
		/* Nothing to answer: the caller hears of the call, not of a contact. */
		char subject[64];
		snprintf(subject, sizeof(subject), "call %u: contact %u of the callee (skipped)", c->id,
			 f->next);
		struct refuse_to to = { .subject = subject };
		refuse(&to, &v);
	}
	return false;
}

void fork_free(struct call *c)
{
	free(c->fork);
	c->fork = NULL;
	free(c->b_route);
	c->b_route = NULL;
}
