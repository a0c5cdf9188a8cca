/* Where leg B of a call goes: the configured route for the caller's leg and
 * the dialled user, resolved into a next hop, a Request-URI and a To; for a
 * registered user, each of its contacts in turn (serial forking, RFC 3261
 * §16.6 leaves serial or parallel to the forker), each reached where its
 * REGISTER came from and through its Path (RFC 3327). In cluster mode a
 * contact whose TCP/TLS flow another node holds is reached through that
 * node: the INVITE goes to the node's configured peer with the internal
 * route first in its Route set, and the node, seeing the route from a
 * configured node peer only, calls the contact on the flow. */
#include "call.h"
#include "refuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/url.h>

#include "core/counters.h"
#include "core/log.h"
#include "sip/build.h"

/* The internal route's URI parameter: names no binding by itself (the
 * Request-URI, the contact, does); marks the route as the cluster's. */
#define FLOW_PARAM "pc-flow"
#define FLOW_ROUTE_MAX (CFG_HOST_MAX + 64)

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

/* A TCP/TLS flow another node holds: through that node's configured peer
 * (none configured: the flow's address, which works only without NAT),
 * with the internal route before the binding's Path. -1 without memory. */
static int via_node(struct call *c, const struct reg_binding *rb)
{
	struct b2bua *bb = c->b2bua;
	const struct peer_config *p = NULL;
	for (unsigned i = 0; i < bb->cfg->n_peers && !p; i++)
		if (!strcmp(bb->cfg->peers[i].cluster_node, rb->node))
			p = &bb->cfg->peers[i];
	if (p == NULL || bb->net.peer_address(bb->net.ctx, p, &c->legs[LEG_B].peer) < 0)
		return 0;
	bool v6 = strchr(p->address, ':') != NULL;
	char route[FLOW_ROUTE_MAX];
	snprintf(route, sizeof(route), "<sip:%s%s%s:%u;transport=%s;lr;" FLOW_PARAM ">", v6 ? "[" : "",
		 p->address, v6 ? "]" : "", p->port, pc_transport_name(p->transport));
	size_t len = strlen(route) + (rb->path[0] ? strlen(rb->path) + 2 : 0) + 1;
	char *set = malloc(len);
	if (set == NULL)
		return -1;
	snprintf(set, len, "%s%s%s", route, rb->path[0] ? ", " : "", rb->path);
	free(c->b_path);
	c->b_path = set;
	counter_inc(CNT_CLUSTER_FLOWS_FORWARDED);
	return 0;
}

/* Point leg B at binding `index` of `user` (newest first): its flow, its
 * contact as remote target (the Request-URI) and its Path (RFC 3327) as
 * the route set the INVITE carries. -1 when there is no such binding, or
 * (`here`) when it is not held by this node. */
static int use_binding(struct call *c, const char *user, unsigned index, bool here)
{
	const struct reg_binding *bd[REG_MAX_PER_USER];
	unsigned n = reg_service_lookup(c->b2bua->reg, user, bd, REG_MAX_PER_USER);
	if (index >= n || (here && bd[index]->node[0]))
		return -1;
	struct leg *b = &c->legs[LEG_B];
	b->peer = bd[index]->flow;
	free(c->b_path);
	c->b_path = NULL;
	if (bd[index]->path[0] && (c->b_path = strdup(bd[index]->path)) == NULL)
		return -1;
	if (bd[index]->node[0] && pc_transport_reliable(bd[index]->flow.transport) &&
	    via_node(c, bd[index]) < 0)
		return -1;
	/* A contact that does not read leaves no target: the INVITE is then
	 * refused where it is built, with the reason. */
	if (leg_set_url_text(&b->remote_target, bd[index]->contact) < 0)
		leg_set_url(&b->remote_target, NULL);
	return 0;
}

int route_leg_b(struct call *c, const struct route_config *r, const char *user)
{
	struct b2bua *bb = c->b2bua;
	struct leg *b = &c->legs[LEG_B];
	const char *u = user && user[0] ? user : "anonymous";
	su_home_t home[1] = { SU_HOME_INIT(home) };
	int rc = -1;
	url_t *to = NULL;
	if (r->registered) {
		/* The user's newest registration first (fork_next tries the
		 * others), reached where its REGISTER came from (NAT); the
		 * Request-URI is the contact it registered, the To its address
		 * of record. */
		if (use_binding(c, user, r->flow ? r->flow - 1 : 0, r->flow != 0) < 0) {
			su_home_deinit(home);
			return -2;
		}
		to = sipmsg_url(home, false, u, bb->cfg->domain);
	} else if (r->peer[0]) {
		const struct peer_config *p = config_peer(bb->cfg, r->peer);
		if (p && bb->net.peer_address(bb->net.ctx, p, &b->peer) == 0)
			to = sipmsg_url(home, p->transport == PC_TP_TLS, u, p->sip_domain);
	} else {
		struct peer_config tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.transport = r->transport;
		snprintf(tmp.address, sizeof(tmp.address), "%s", r->address);
		tmp.port = r->port;
		if (bb->net.peer_address(bb->net.ctx, &tmp, &b->peer) == 0) {
			bool v6 = strchr(r->address, ':') != NULL;
			char host[CFG_HOST_MAX + 8];
			snprintf(host, sizeof(host), "%s%s%s:%u", v6 ? "[" : "", r->address,
				 v6 ? "]" : "", r->port);
			if ((to = sipmsg_url(home, false, u, host)) != NULL && r->transport == PC_TP_TCP)
				to->url_params = "transport=tcp";
		}
	}
	if (to && leg_set_url(&b->remote_url, to) == 0 &&
	    (r->registered || leg_set_url(&b->remote_target, to) == 0))
		rc = 0;
	su_home_deinit(home);
	return rc;
}

bool route_is_internal(sip_t const *sip)
{
	for (sip_route_t const *r = sip->sip_route; r; r = r->r_next)
		if (url_has_param(r->r_url, FLOW_PARAM))
			return true;
	return false;
}

/* The binding held here whose contact is the Request-URI: 1 + its index,
 * or 0. */
static unsigned local_flow(struct b2bua *b, const char *user, const url_t *ruri)
{
	const struct reg_binding *bd[REG_MAX_PER_USER];
	unsigned n = user ? reg_service_lookup(b->reg, user, bd, REG_MAX_PER_USER) : 0, found = 0;
	su_home_t home[1] = { SU_HOME_INIT(home) };
	for (unsigned i = 0; i < n && !found; i++) {
		url_t *u = bd[i]->node[0] ? NULL : url_make(home, bd[i]->contact);
		if (u && url_cmp_all(u, ruri) == 0)
			found = i + 1;
	}
	su_home_deinit(home);
	return found;
}

const struct peer_config *route_node_peer(const struct gateway_config *cfg, const struct pc_peer *from)
{
	if (from->transport == PC_TP_UDP) /* never a node peer (refused at load) */
		return NULL;
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].cluster_node[0] && peer_is_source(&cfg->peers[i], from))
			return &cfg->peers[i];
	return NULL;
}

struct verdict route_internal(struct b2bua *b, const struct pc_peer *from, sip_t const *sip,
			      const char *leg, struct route_config *out)
{
	const struct peer_config *node = route_node_peer(b->cfg, from);
	if (node == NULL)
		return verdict_refuse(REFUSAL_CLUSTER_ROUTE,
				      "the cluster's internal route from outside the cluster");
	const url_t *ruri = sip->sip_request->rq_url;
	unsigned flow = local_flow(b, ruri->url_user, ruri);
	const struct reg_binding *bd[REG_MAX_PER_USER];
	if (!flow || reg_service_lookup(b->reg, ruri->url_user, bd, REG_MAX_PER_USER) < flow ||
	    !listener_leg(b, &bd[flow - 1]->flow))
		return verdict_refuse(REFUSAL_NOT_REGISTERED, "no flow held here for the internal route");
	memset(out, 0, sizeof(*out));
	snprintf(out->from_leg, sizeof(out->from_leg), "%s", leg ? leg : "");
	snprintf(out->to_leg, sizeof(out->to_leg), "%s", listener_leg(b, &bd[flow - 1]->flow));
	out->registered = true;
	out->flow = flow;
	log_info("INVITE from node \"%s\" (peer %s) for the flow of %s", node->cluster_node, node->name,
		 ruri->url_user);
	return verdict_accept();
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
	c->fork->route = *r;
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
	if (f == NULL || c->answered || c->state == CALL_CLOSED || status >= 600 || !c->a_invite ||
	    !txn_request_msg(c->a_invite))
		return false;
	struct leg *lb = &c->legs[LEG_B];
	sip_t const *sip = sip_object(txn_request_msg(c->a_invite));
	char phrase[128], why[160];
	while (use_binding(c, f->callee, f->next, false) == 0) {
		f->next++;
		lb->remote_tag[0] = '\0';
		lb->local_cseq++;
		struct verdict v = setup_attempt(c, sip, &f->route, f->caller, f->max_forwards,
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
	free(c->b_path);
	c->b_path = NULL;
}
