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

#include <sofia-sip/url.h>

#include "core/log.h"
#include "sip/build.h"

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
 * contact as remote target (the Request-URI) and its Path (RFC 3327) as
 * the route set the INVITE carries. -1 when there is no such binding. */
static int use_binding(struct call *c, const char *user, unsigned index)
{
	const struct reg_binding *bd[REG_MAX_PER_USER];
	unsigned n = reg_service_lookup(c->b2bua->reg, user, bd, REG_MAX_PER_USER);
	if (index >= n)
		return -1;
	struct leg *b = &c->legs[LEG_B];
	b->peer = bd[index]->flow;
	free(c->b_path);
	c->b_path = NULL;
	if (bd[index]->path[0] && (c->b_path = strdup(bd[index]->path)) == NULL)
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
		if (use_binding(c, user, 0) < 0) {
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
	while (use_binding(c, f->callee, f->next) == 0) {
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
