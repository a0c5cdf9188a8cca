/* Call signalling of the B2BUA: an INVITE on one leg becomes a new INVITE on
 * the other (own Call-ID, tags, CSeq, Via, Contact; only the caller's user
 * part and the dialled user cross), provisional and final responses and the
 * SDP in them are relayed back with our own headers, BYE and CANCEL end both
 * legs. Nothing that identifies one leg's network is copied to the other:
 * messages for a leg are built from scratch, not edited copies. */
#include "call.h"
#include "identity.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/url.h>

#include "core/buf.h"
#include "core/counters.h"
#include "core/err.h"
#include "core/log.h"
#include "sip/reply.h"
#include "transaction/txn.h"
#include "transport/transport.h"

#define ALLOW "INVITE, ACK, CANCEL, OPTIONS, BYE"
#define MEDIA_CHECK_MS 1000

static void call_close(struct call *c, const char *reason);
static uint64_t mono_ms(void);

/* The call left set-up (answered or closed): a slot of the set-up cap frees. */
static void leave_setup(struct call *c)
{
	if (c->in_setup) {
		c->in_setup = false;
		c->b2bua->n_setup--;
	}
}
static void bury(struct call *c);
static bool start_timer(struct call *c);
static void leg_response(struct txn_owner *o, struct txn *ct, msg_t *resp);
static void leg_failure(struct txn_owner *o, struct txn *ct, int status);
static void leg_terminated(struct txn_owner *o, struct txn *t);
static void leg_cancel(struct txn_owner *o, struct txn *st);
static void relay_response(struct call *c, struct txn *ct, msg_t *resp);

/* ---- building messages ---- */

static void appendf(struct pc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(struct pc_buf *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static const char *tp_upper(enum pc_transport tp)
{
	return tp == PC_TP_UDP ? "UDP" : tp == PC_TP_TCP ? "TCP" : "TLS";
}

/* "host:port" of our listener toward a leg's peer (brackets for IPv6). */
static void leg_sent_by(struct call *c, struct leg *l, char *out, size_t len)
{
	char host[CFG_HOST_MAX];
	unsigned port = 0;
	if (endpoint_sent_by(c->b2bua->ep, &l->peer, l->cfg ? l->cfg->name : NULL, host, sizeof(host),
			     &port) < 0)
		snprintf(host, sizeof(host), "%s", c->b2bua->cfg->domain);
	bool v6 = strchr(host, ':') != NULL;
	if (port)
		snprintf(out, len, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
	else
		snprintf(out, len, "%s", host);
}

/* Start a request on leg l: request line, Via, Max-Forwards, From, To,
 * Call-ID, CSeq, Contact. The caller adds the rest and the body. */
static void request_head(struct call *c, struct leg *l, const char *method, const char *ruri,
			 const char *branch, unsigned max_forwards, uint32_t cseq, struct pc_buf *b)
{
	char sent_by[CFG_HOST_MAX + 16];
	leg_sent_by(c, l, sent_by, sizeof(sent_by));
	appendf(b, "%s %s SIP/2.0\r\n", method, ruri);
	appendf(b, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", tp_upper(l->peer.transport), sent_by, branch);
	appendf(b, "Max-Forwards: %u\r\n", max_forwards);
	appendf(b, "From: %s;tag=%s\r\n", l->local_uri, l->local_tag);
	if (l->remote_tag[0])
		appendf(b, "To: %s;tag=%s\r\n", l->remote_uri, l->remote_tag);
	else
		appendf(b, "To: %s\r\n", l->remote_uri);
	appendf(b, "Call-ID: %s\r\n", l->call_id);
	appendf(b, "CSeq: %u %s\r\n", cseq, method);
	if (!strcmp(method, "INVITE"))
		appendf(b, "Contact: <sip:gw@%s;transport=%s>\r\nAllow: %s\r\n", sent_by,
			pc_transport_name(l->peer.transport), ALLOW);
}

static msg_t *finish(struct pc_buf *b, const char *body)
{
	size_t blen = body ? strlen(body) : 0;
	if (body)
		appendf(b, "Content-Type: application/sdp\r\n");
	appendf(b, "Content-Length: %zu\r\n\r\n", blen);
	if (body)
		buf_append(b, body, blen);
	msg_t *m = sipmsg_parse((const char *)b->data, b->len);
	buf_free(b);
	return m;
}

/* A response to a request from leg `side`, with our headers. */
static msg_t *reply_to(struct call *c, struct txn *st, int side, int status, const char *phrase,
		       const char *body, const char *warning)
{
	struct leg *l = &c->legs[side];
	msg_t *resp = sipmsg_reply(txn_request_msg(st), status, phrase, l->local_tag);
	if (!resp)
		return NULL;
	if (status >= 180 && status < 300) {
		char sent_by[CFG_HOST_MAX + 16], contact[CFG_HOST_MAX + 64];
		leg_sent_by(c, l, sent_by, sizeof(sent_by));
		snprintf(contact, sizeof(contact), "Contact: <sip:gw@%s;transport=%s>", sent_by,
			 pc_transport_name(l->peer.transport));
		sipmsg_add_line(resp, contact);
		sipmsg_add_line(resp, "Allow: " ALLOW);
	}
	if (warning) {
		char w[640];
		snprintf(w, sizeof(w), "Warning: 399 %.255s \"%.200s\"", c->b2bua->cfg->domain, warning);
		sipmsg_add_line(resp, w);
	}
	if (status == 491 || status == 500)
		sipmsg_add_line(resp, "Retry-After: 1");
	if (status == 503 && c->retry_after_s) {
		char line[40];
		snprintf(line, sizeof(line), "Retry-After: %u", c->retry_after_s);
		sipmsg_add_line(resp, line);
	}
	if (body && sipmsg_set_body(resp, "application/sdp", body, strlen(body)) < 0) {
		msg_destroy(resp);
		return NULL;
	}
	return resp;
}

static void respond_on(struct call *c, struct txn *st, int side, int status, const char *phrase,
		       const char *body, const char *warning)
{
	if (!st)
		return;
	msg_t *resp = reply_to(c, st, side, status, phrase, body, warning);
	if (!resp)
		return;
	bool invite = sip_object(txn_request_msg(st))->sip_request->rq_method == sip_method_invite;
	if (invite && status >= 200 && status < 300) {
		/* Kept for retransmission until the ACK (RFC 6026: the TU's job). */
		if (c->ok_msg)
			msg_destroy(c->ok_msg);
		c->ok_msg = msg_dup(resp);
		c->ok_st = st;
		c->ok_side = side;
		c->ok_interval_ms = c->b2bua->cfg->timers.t1_ms;
		c->ok_elapsed_ms = 0;
		if (!c->timer && !start_timer(c))
			log_warnx("call %u: no timer for 2xx retransmission", c->id);
	}
	txn_respond(st, resp);
}

static void respond_a(struct call *c, int status, const char *phrase, const char *body,
		      const char *warning)
{
	respond_on(c, c->a_invite, LEG_A, status, phrase, body, warning);
}

/* ---- call table ---- */

/* The dialog index: both legs of every live call, by Call-ID, so finding the
 * call of an in-dialog message does not grow with the number of calls. */
static unsigned index_slot(const struct b2bua *b, const char *call_id)
{
	unsigned h = 2166136261u; /* FNV-1a: Call-IDs are compared byte by byte */
	for (const char *p = call_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % b->index_size;
}

static void index_add(struct b2bua *b, struct leg *l)
{
	unsigned slot = index_slot(b, l->call_id);
	l->hnext = b->index[slot];
	b->index[slot] = l;
	l->indexed = true;
}

static void index_remove(struct b2bua *b, struct leg *l)
{
	if (!l->indexed)
		return;
	for (struct leg **pp = &b->index[index_slot(b, l->call_id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == l) {
			*pp = l->hnext;
			break;
		}
	}
	l->indexed = false;
}

static struct call *call_find(struct b2bua *b, const char *call_id, const char *local_tag,
			      int *side)
{
	for (struct leg *l = b->index[index_slot(b, call_id)]; l; l = l->hnext) {
		if (!strcmp(l->call_id, call_id) && !strcmp(l->local_tag, local_tag) &&
		    l->call->state != CALL_CLOSED) {
			*side = l->side;
			return l->call;
		}
	}
	return NULL;
}

static void leg_init(struct call *c, int side, const struct leg_config *cfg)
{
	struct leg *l = &c->legs[side];
	l->owner.on_response = leg_response;
	l->owner.on_failure = leg_failure;
	l->owner.on_terminated = leg_terminated;
	l->owner.on_cancel = leg_cancel;
	l->call = c;
	l->side = side;
	l->cfg = cfg;
	sipmsg_random_token(l->local_tag, 20);
	l->sdp_id = ((uint64_t)c->id << 20) | (uint64_t)(side + 1);
	l->local_cseq = 1;
}

/* ---- routing ---- */

static const struct route_config *route_for(struct b2bua *b, const char *leg, const char *user)
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

/* Fill leg B's destination, Request-URI and To from the route. */
static int route_leg_b(struct call *c, const struct route_config *r, const char *user, char *ruri,
		       size_t len)
{
	struct leg *b = &c->legs[LEG_B];
	const char *u = user && user[0] ? user : "anonymous";
	if (r->registered) {
		/* The user's newest registration first (fork_next tries the
		 * others), reached where its REGISTER came from (NAT); the
		 * Request-URI is the contact it registered, the To its address
		 * of record. */
		if (use_binding(c, user, 0, ruri, len) < 0)
			return -2;
		snprintf(b->remote_uri, sizeof(b->remote_uri), "<sip:%s@%s>", u, c->b2bua->cfg->domain);
		return 0;
	}
	if (r->peer[0]) {
		const struct peer_config *p = config_peer(c->b2bua->cfg, r->peer);
		if (!p || transport_peer_address(p, &b->peer) < 0)
			return -1;
		snprintf(ruri, len, "%s:%s@%s", p->transport == PC_TP_TLS ? "sips" : "sip", u,
			 p->sip_domain);
	} else {
		struct peer_config tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.transport = r->transport;
		snprintf(tmp.address, sizeof(tmp.address), "%s", r->address);
		tmp.port = r->port;
		if (transport_peer_address(&tmp, &b->peer) < 0)
			return -1;
		bool v6 = strchr(r->address, ':') != NULL;
		snprintf(ruri, len, "sip:%s@%s%s%s:%u%s", u, v6 ? "[" : "", r->address, v6 ? "]" : "",
			 r->port, r->transport == PC_TP_TCP ? ";transport=tcp" : "");
	}
	snprintf(b->remote_uri, sizeof(b->remote_uri), "<%s>", ruri);
	snprintf(b->remote_target, sizeof(b->remote_target), "%s", ruri);
	return 0;
}

/* ---- new calls ---- */

static const char *listener_leg(struct b2bua *b, const struct pc_peer *from)
{
	if (from->listener < 0 || (unsigned)from->listener >= b->cfg->n_listeners)
		return NULL;
	return b->cfg->listeners[from->listener].leg;
}

/* Send leg B's INVITE to ruri with the identity lines `extra` and the offer
 * `body` (NULL: late offer); 0, or -1 when it cannot be built or sent. */
static int send_b_invite(struct call *c, const char *ruri, unsigned max_forwards,
			 const char *extra, const char *body)
{
	struct leg *lb = &c->legs[LEG_B];
	char branch[40];
	struct pc_buf out;
	txn_new_branch(branch, sizeof(branch));
	buf_init(&out, 65536);
	request_head(c, lb, "INVITE", ruri, branch, max_forwards, lb->local_cseq, &out);
	if (c->b_route)
		buf_append(&out, c->b_route, strlen(c->b_route));
	if (extra)
		buf_append(&out, extra, strlen(extra));
	msg_t *invite = finish(&out, body);
	if (!invite)
		return -1;
	c->b_invite = txn_request(endpoint_txns(c->b2bua->ep), invite, &lb->peer, &lb->owner);
	if (!c->b_invite)
		return -1;
	c->live_txns++;
	return 0;
}

static int b_attempt(struct call *c, sip_t const *sip, const struct route_config *r,
		     const char *caller_user, const char *ruri, unsigned mf, char *phrase,
		     size_t phrase_len, char *why, size_t whylen, bool *why_public);

/* After B's INVITE failed: the callee's next registered contact, as a new
 * INVITE in the same B dialog-to-be (CSeq + 1, To-tag forgotten). Only
 * before any early answer was applied (its media would belong to the
 * contact that failed). Each contact is a device of its own, maybe on
 * another transport: it gets a decision of its own (SIPS, identity) and
 * keys of its own; a contact it may not have is skipped. True when an
 * attempt was sent. */
static bool fork_next(struct call *c, int status)
{
	struct fork_state *f = c->fork;
	if (f == NULL || c->answered || c->state == CALL_CLOSED || status >= 600 || !c->a_invite)
		return false;
	struct leg *lb = &c->legs[LEG_B];
	sip_t const *sip = sip_object(txn_request_msg(c->a_invite));
	char ruri[sizeof(((struct leg *)0)->remote_uri) - 2];
	char phrase[128], why[160];
	bool why_public;
	while (use_binding(c, f->callee, f->next, ruri, sizeof(ruri)) == 0) {
		f->next++;
		lb->remote_tag[0] = '\0';
		lb->local_cseq++;
		int refused = b_attempt(c, sip, f->route, f->caller, ruri, f->max_forwards, phrase,
					sizeof(phrase), why, sizeof(why), &why_public);
		if (!refused) {
			log_info("call %u: contact %u of the callee failed (%d); trying contact %u", c->id,
				 f->next - 1, status, f->next);
			return true;
		}
		log_info("call %u: contact %u of the callee skipped: %d %s (%s)", c->id, f->next,
			 refused, phrase, why);
	}
	return false;
}

static void fork_free(struct call *c)
{
	free(c->fork);
	c->fork = NULL;
	free(c->b_route);
	c->b_route = NULL;
}

/* Whether the route's next hop is reached over TLS (a registered user
 * without a binding counts as TLS: the 480 for "not registered" follows). */
static bool route_is_tls(struct b2bua *b, const struct route_config *r, const char *user)
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

/* The identity decision for a new call's B leg (identity.c), counted and
 * logged; 0 or the status to refuse the call with. */
static int decide_identity(struct call *c, sip_t const *sip, const struct pc_peer *from,
			   const struct route_config *r, const char *user, struct identity_out *out,
			   char *phrase, size_t phrase_len)
{
	struct b2bua *b = c->b2bua;
	const struct peer_config *next = r->peer[0] ? config_peer(b->cfg, r->peer) : NULL;
	const char *const *ids = NULL;
	size_t n_ids = reg_service_identities(b->reg, user, &ids);
	char own[CFG_NAME_MAX + CFG_HOST_MAX + 8];
	snprintf(own, sizeof(own), "sip:%s@%s", user, b->cfg->auth.realm);
	struct identity_in in = {
		.prev_hop_trusted = identity_prev_hop_trusted(b->cfg, b->guard, from),
		.next_hop_trusted = identity_next_hop_trusted(b->cfg, b->guard, &c->legs[LEG_B].peer, next),
		.user = user,
		.identities = ids,
		.n_identities = n_ids,
		.default_identity = user[0] ? own : NULL,
	};
	int status = identity_decide(b->cfg, sip, &in, out, phrase, phrase_len);
	if (status)
		return status;
	if (out->anonymous)
		counter_inc(CNT_FROM_ANONYMISED);
	if (out->from_replaced && !out->anonymous) {
		counter_inc(CNT_FROM_REPLACED);
		log_info("call %u: From user of %s is not an identity it owns: sent as \"%s\"", c->id,
			 user, out->from_user);
	}
	if (out->pai_removed)
		counter_inc(CNT_PAI_REMOVED);
	if (out->n_asserted)
		counter_inc(CNT_PAI_ASSERTED);
	/* At info level only when the edge changed something. */
	if (out->anonymous || out->pai_removed || out->n_asserted || sip->sip_privacy)
		log_info("call %u: privacy: %s; asserted identity: %s (%u sent)", c->id, out->why,
			 out->pai_why, out->n_asserted);
	else
		log_debug("call %u: no privacy asked, no identity asserted", c->id);
	return 0;
}

static bool new_call(struct b2bua *b, struct txn *st, msg_t *req)
{
	sip_t const *sip = sip_object(req);
	const struct pc_peer *from = txn_peer(st);
	const char *leg_name = listener_leg(b, from);
	const char *user = sip->sip_request->rq_url->url_user;
	char why[160] = "";
	char ruri[sizeof(((struct leg *)0)->remote_uri) - 2]; /* fits "<ruri>" */

	/* Who is calling, before anything is allocated for the call. */
	char caller_user[REG_USER_MAX];
	if (!reg_service_authorize(b->reg, st, req, leg_name ? config_leg(b->cfg, leg_name) : NULL,
				   caller_user, sizeof(caller_user)))
		return true;
	const struct route_config *r = leg_name ? route_for(b, leg_name, user) : NULL;
	if (!r)
		return false; /* the endpoint answers 404 */
	/* The dialog is found again by these: they must fit whole. */
	if (strlen(sip->sip_call_id->i_id) >= sizeof(((struct leg *)0)->call_id) ||
	    (sip->sip_from->a_tag &&
	     strlen(sip->sip_from->a_tag) >= sizeof(((struct leg *)0)->remote_tag))) {
		msg_t *resp = sipmsg_reply(req, 400, "Call-ID or Tag Too Long", txn_local_tag(st));
		if (resp)
			txn_respond(st, resp);
		return true;
	}
	if (b->n_calls >= b->cfg->limits.max_calls) {
		msg_t *resp = sipmsg_reply(req, 503, "Service Unavailable", txn_local_tag(st));
		if (resp) {
			sipmsg_add_line(resp, "Retry-After: 10");
			txn_respond(st, resp);
		}
		return true;
	}
	/* SIPS on the next hop and the call limits, before the call exists. */
	struct verdict v = guard_next_hop(sip, route_is_tls(b, r, user));
	struct guard_call limits = { 0 };
	if (v.kind == VERDICT_ACCEPT)
		v = guard_call_start(b->guard, b->n_setup, caller_user, leg_name, r->peer, mono_ms(),
				     &limits);
	if (v.kind != VERDICT_ACCEPT) {
		log_info("INVITE from leg %s%s%s refused: %d %s (%s)", leg_name,
			 caller_user[0] ? " user " : "", caller_user, v.status, v.phrase, v.why);
		guard_answer(st, req, &v, b->cfg->domain);
		return true;
	}
	struct call *c = calloc(1, sizeof(*c));
	if (!c) {
		guard_call_end(b->guard, &limits, mono_ms());
		return false;
	}
	/* Kept only when counted: most deployments limit few calls, and every
	 * byte of struct call is paid per established call. */
	if ((limits.user_counted || limits.trunk_counted) &&
	    (c->limits = malloc(sizeof(*c->limits))) == NULL) {
		guard_call_end(b->guard, &limits, mono_ms());
		free(c);
		return false;
	}
	if (c->limits)
		*c->limits = limits;
	c->in_setup = true;
	b->n_setup++;
	c->b2bua = b;
	c->id = ++b->next_id;
	c->state = CALL_INVITING;
	c->next = b->calls;
	if (b->calls)
		b->calls->prev = c;
	b->calls = c;
	b->n_calls++;
	leg_init(c, LEG_A, config_leg(b->cfg, leg_name));
	leg_init(c, LEG_B, config_leg(b->cfg, r->to_leg));
	c->a_invite = st;
	txn_set_user_data(st, &c->legs[LEG_A].owner);
	c->live_txns++;

	/* Leg A: the caller's dialog as the caller sees it. */
	struct leg *a = &c->legs[LEG_A];
	a->peer = *from;
	snprintf(a->call_id, sizeof(a->call_id), "%s", sip->sip_call_id->i_id);
	index_add(b, a);
	snprintf(a->remote_tag, sizeof(a->remote_tag), "%s", sip->sip_from->a_tag ? sip->sip_from->a_tag : "");
	if (sip->sip_contact)
		url_e(a->remote_target, (int)sizeof(a->remote_target), sip->sip_contact->m_url);
	url_e(a->remote_uri + 1, (int)sizeof(a->remote_uri) - 2, sip->sip_from->a_url);
	a->remote_uri[0] = '<';
	strncat(a->remote_uri, ">", sizeof(a->remote_uri) - strlen(a->remote_uri) - 1);
	url_e(a->local_uri + 1, (int)sizeof(a->local_uri) - 2, sip->sip_to->a_url);
	a->local_uri[0] = '<';
	strncat(a->local_uri, ">", sizeof(a->local_uri) - strlen(a->local_uri) - 1);

	/* Leg B: a new dialog; only the caller's user part crosses. */
	struct leg *lb = &c->legs[LEG_B];
	int routed = route_leg_b(c, r, user, ruri, sizeof(ruri));
	if (routed == -2) {
		respond_a(c, 480, "Temporarily Unavailable", NULL, NULL);
		call_close(c, "callee not registered");
		return true;
	}
	if (routed < 0) {
		respond_a(c, 500, "Server Internal Error", NULL, "route has no usable target");
		call_close(c, "bad route");
		return true;
	}
	/* A next hop backed off after failed connections: refused before any
	 * relay port or key is spent, with when to try again (RFC 3261 §21.5.4). */
	c->retry_after_s = endpoint_peer_retry_after(b->ep, &lb->peer);
	if (c->retry_after_s) {
		counter_inc(CNT_PEER_BACKOFF_REFUSED);
		respond_a(c, 503, "Service Unavailable", NULL, "next hop down");
		call_close(c, "next hop down");
		return true;
	}
	sipmsg_random_token(lb->call_id, 33);
	index_add(b, lb);

	unsigned mf = sip->sip_max_forwards ? sip->sip_max_forwards->mf_count : 70;
	mf = mf > 0 ? mf - 1 : 0;
	if (r->registered && (c->fork = calloc(1, sizeof(*c->fork))) != NULL) {
		snprintf(c->fork->callee, sizeof(c->fork->callee), "%s", user ? user : "");
		c->fork->next = 1;
		c->fork->max_forwards = mf;
		c->fork->route = r;
		snprintf(c->fork->caller, sizeof(c->fork->caller), "%s", caller_user);
	}
	char phrase[128];
	bool why_public;
	int refused = b_attempt(c, sip, r, caller_user, ruri, mf, phrase, sizeof(phrase), why,
				sizeof(why), &why_public);
	if (refused) {
		log_info("call %u refused: %d %s (%s)", c->id, refused, phrase, why);
		respond_a(c, refused, phrase, NULL, why_public ? why : NULL);
		call_close(c, why);
		return true;
	}
	log_info("call %u: %s -> %s via leg %s%s", c->id, leg_name, ruri, r->to_leg,
		 lb->secure ? " (SRTP offered)" : "");
	return true;
}

/* One INVITE toward leg B's current target (lb->peer, `ruri`): SIPS on this
 * hop, who this next hop is told is calling (privacy and asserted identity),
 * and an offer with keys made for it alone. 0 when sent, else the status to
 * refuse with, `phrase` its reason phrase and `why` the cause, which may go
 * in a Warning when `why_public`. */
static int b_attempt(struct call *c, sip_t const *sip, const struct route_config *r,
		     const char *caller_user, const char *ruri, unsigned mf, char *phrase,
		     size_t phrase_len, char *why, size_t whylen, bool *why_public)
{
	struct leg *lb = &c->legs[LEG_B];
	const struct pc_peer *from = &c->legs[LEG_A].peer;

	*why_public = false;
	struct verdict v = guard_next_hop(sip, lb->peer.transport == PC_TP_TLS);
	if (v.kind != VERDICT_ACCEPT) {
		snprintf(phrase, phrase_len, "%s", v.phrase);
		snprintf(why, whylen, "%s", v.why);
		return v.status;
	}
	struct identity_out idn;
	int refused = decide_identity(c, sip, from, r, caller_user, &idn, phrase, phrase_len);
	if (refused) {
		counter_inc(CNT_PRIVACY_REFUSED);
		snprintf(why, whylen, "%s", idn.why);
		return refused;
	}
	char sent_by[CFG_HOST_MAX + 16];
	leg_sent_by(c, lb, sent_by, sizeof(sent_by));
	/* A From user too long to write whole is not cut into someone else's. */
	if (idn.anonymous ||
	    snprintf(lb->local_uri, sizeof(lb->local_uri), "<sip:%s@%s>",
		     idn.from_user[0] ? idn.from_user : "anonymous", sent_by) >= (int)sizeof(lb->local_uri))
		snprintf(lb->local_uri, sizeof(lb->local_uri), "%s", IDENTITY_ANONYMOUS_FROM);

	char *b_body = NULL;
	*why_public = true;
	if (sip->sip_payload && sip->sip_payload->pl_len) {
		int status = plan_offer(c, LEG_A, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
					&b_body, why, whylen);
		if (status) {
			snprintf(phrase, phrase_len, "%s",
				 status == 488 ? "Not Acceptable Here" :
				 sip_status_phrase(status) ? sip_status_phrase(status) : "Refused");
			return status;
		}
	} else {
		c->late_offer = true; /* B will offer in its 2xx, A answer in its ACK */
	}
	int sent = send_b_invite(c, ruri, mf, idn.headers, b_body);
	if (b_body) {
		explicit_bzero(b_body, strlen(b_body));
		free(b_body);
	}
	if (sent < 0) {
		snprintf(phrase, phrase_len, "Server Internal Error");
		snprintf(why, whylen, "cannot send the INVITE onward");
		return 500;
	}
	return 0;
}

/* ---- responses from B ---- */

/* The ACK for a 2xx to our INVITE with CSeq number cseq on leg side, with an
 * SDP answer when the offer came in the 2xx. */
static void send_ack_body(struct call *c, int side, uint32_t cseq, const char *body);
static void send_ack(struct call *c, int side, uint32_t cseq)
{
	send_ack_body(c, side, cseq, NULL);
}

static void send_ack_body(struct call *c, int side, uint32_t cseq, const char *body)
{
	struct leg *b = &c->legs[side];
	char branch[40];
	struct pc_buf out;
	txn_new_branch(branch, sizeof(branch));
	buf_init(&out, 8192);
	request_head(c, b, "ACK", b->remote_target, branch, 70, cseq, &out);
	msg_t *ack = finish(&out, body);
	if (ack) {
		endpoint_send(c->b2bua->ep, &b->peer, ack);
		msg_destroy(ack);
	}
}

static void send_bye(struct call *c, int side)
{
	struct leg *l = &c->legs[side];
	char branch[40];
	struct pc_buf out;
	if (!l->remote_tag[0])
		return;
	txn_new_branch(branch, sizeof(branch));
	buf_init(&out, 8192);
	request_head(c, l, "BYE", l->remote_target[0] ? l->remote_target : "sip:invalid", branch, 70,
		     ++l->local_cseq, &out);
	msg_t *bye = finish(&out, NULL);
	if (bye && txn_request(endpoint_txns(c->b2bua->ep), bye, &l->peer, &l->owner)) {
		c->pending_bye++;
		c->live_txns++;
	}
}

/* End the call by BYE on the legs in `legs` (a bit per leg); it closes once
 * those BYEs are answered, or now if there was nothing to send. */
static void end_call(struct call *c, unsigned legs, const char *why)
{
	for (int side = LEG_A; side <= LEG_B; side++)
		if (legs & (1u << side))
			send_bye(c, side);
	c->state = CALL_ENDING;
	if (!c->pending_bye)
		call_close(c, why);
}

static void learn_b_dialog(struct call *c, sip_t const *sip)
{
	struct leg *b = &c->legs[LEG_B];
	if (sip->sip_to->a_tag && !b->remote_tag[0] && strlen(sip->sip_to->a_tag) < sizeof(b->remote_tag))
		snprintf(b->remote_tag, sizeof(b->remote_tag), "%s", sip->sip_to->a_tag);
	if (sip->sip_contact)
		url_e(b->remote_target, (int)sizeof(b->remote_target), sip->sip_contact->m_url);
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

static void b_invite_response(struct call *c, msg_t *resp)
{
	sip_t const *sip = sip_object(resp);
	int status = sip->sip_status->st_status;
	char why[160] = "";

	if (status == 100)
		return;
	if (c->state == CALL_CLOSED) {
		/* B answered after the call ended (a CANCEL crossed its 2xx, or
		 * the caller was refused): confirm and end B's dialog at once. */
		if (status >= 200 && status < 300) {
			learn_b_dialog(c, sip);
			send_ack(c, LEG_B, 1);
			send_bye(c, LEG_B);
		}
		return;
	}
	if (status < 200) {
		learn_b_dialog(c, sip);
		/* With a late offer, SDP in an unreliable provisional is not an
		 * offer we can take (RFC 3261 §13.2.1): ringing only. */
		int bad = c->late_offer ? 0 : apply_answer(c, sip, why, sizeof(why));
		if (bad)
			return; /* early media refused; the final answer decides */
		if (c->state == CALL_INVITING)
			c->state = CALL_EARLY;
		respond_a(c, status, sip->sip_status->st_phrase, c->answered ? c->a_answer : NULL, NULL);
		return;
	}
	if (status < 300 && c->late_offer) {
		learn_b_dialog(c, sip);
		char *a_body = NULL;
		int bad = sip->sip_payload && sip->sip_payload->pl_len
				  ? plan_offer(c, LEG_B, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
					       &a_body, why, sizeof(why))
				  : (snprintf(why, sizeof(why), "no offer in the 2xx to an INVITE without one"), 488);
		if (bad) {
			log_warnx("call %u: refusing B's offer: %s", c->id, why);
			send_ack(c, LEG_B, 1);
			respond_a(c, 488, "Not Acceptable Here", NULL, why);
			end_call(c, 1 << LEG_B, why);
			return;
		}
		c->b_ack_pending = true;
		c->state = CALL_CONFIRMED;
		leave_setup(c);
		respond_a(c, 200, "OK", a_body, NULL);
		explicit_bzero(a_body, strlen(a_body));
		free(a_body);
		log_info("call %u: offer from leg %s sent to the caller in the 2xx (late offer)", c->id,
			 c->legs[LEG_B].cfg->name);
		return;
	}
	if (status < 300) {
		learn_b_dialog(c, sip);
		send_ack(c, LEG_B, 1);
		bool early = c->answered;
		int bad = apply_answer(c, sip, why, sizeof(why));
		if (early)
			plan_answered(c);
		if (bad || !c->answered) {
			if (!bad)
				snprintf(why, sizeof(why), "the answer carries no SDP");
			log_warnx("call %u: refusing B's answer: %s", c->id, why);
			respond_a(c, 488, "Not Acceptable Here", NULL, why);
			end_call(c, 1 << LEG_B, why);
			return;
		}
		c->state = CALL_CONFIRMED;
		leave_setup(c);
		respond_a(c, 200, "OK", c->a_answer, NULL);
		log_info("call %u established (leg A %s, leg B %s)", c->id,
			 c->legs[LEG_A].secure ? "SRTP" : "RTP", c->legs[LEG_B].secure ? "SRTP" : "RTP");
		return;
	}
	/* A failure: another contact of the callee, or the caller learns the
	 * code (3xx is not followed across legs). */
	if (fork_next(c, status))
		return;
	if (status < 400)
		respond_a(c, 480, "Temporarily Unavailable", NULL, "redirect not followed");
	else
		respond_a(c, status, sip->sip_status->st_phrase, NULL, NULL);
	call_close(c, "callee refused");
}

static void leg_response(struct txn_owner *o, struct txn *ct, msg_t *resp)
{
	struct leg *l = (struct leg *)o;
	struct call *c = l->call;
	sip_method_t m = sip_object(txn_request_msg(ct))->sip_request->rq_method;
	int status = sip_object(resp)->sip_status->st_status;

	if (ct == c->relay_ct) {
		relay_response(c, ct, resp);
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
	sip_method_t m = sip_object(txn_request_msg(ct))->sip_request->rq_method;
	if (ct == c->relay_ct) {
		respond_on(c, c->relay_st, c->relay_from, status,
			   status == 408 ? "Request Timeout" : "Service Unavailable", NULL,
			   "the other leg did not answer");
		c->relay_st = NULL;
		c->relay_ct = NULL;
		if (m == sip_method_invite) { /* RFC 3261 §14.1: a failed re-INVITE ends the dialog */
			end_call(c, (1 << LEG_A) | (1 << LEG_B), "re-INVITE failed");
		}
	} else if (ct == c->b_invite) {
		log_info("call %u: INVITE to leg %s failed (%d)", c->id, l->cfg->name, status);
		if (fork_next(c, status))
			return;
		if (status == 503)
			c->retry_after_s = endpoint_peer_retry_after(c->b2bua->ep, &l->peer);
		respond_a(c, status, status == 408 ? "Request Timeout" : "Service Unavailable", NULL,
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
	struct call *c = l->call;
	if (c->a_invite == t)
		c->a_invite = NULL;
	if (c->b_invite == t)
		c->b_invite = NULL;
	if (c->ok_st == t)
		c->ok_st = NULL;
	if (c->relay_st == t)
		c->relay_st = NULL;
	if (c->relay_ct == t)
		c->relay_ct = NULL;
	if (c->live_txns && --c->live_txns == 0 && c->state == CALL_CLOSED)
		bury(c);
}

/* CANCEL from A while B's INVITE is pending: cancel B, answer A 487. */
static void leg_cancel(struct txn_owner *o, struct txn *st)
{
	struct leg *a = (struct leg *)o;
	struct call *c = a->call;
	respond_a(c, 487, "Request Terminated", NULL, NULL);
	if (c->b_invite && txn_state(c->b_invite) == TXN_PROCEEDING) {
		/* §9.1: same Request-URI, Call-ID, From, To, CSeq number and branch. */
		msg_t *inv = txn_request_msg(c->b_invite);
		sip_t const *is = sip_object(inv);
		struct leg *b = &c->legs[LEG_B];
		struct pc_buf out;
		char ruri[sizeof(((struct leg *)0)->remote_uri) - 2]; /* fits "<ruri>" */
		url_e(ruri, (int)sizeof(ruri), is->sip_request->rq_url);
		buf_init(&out, 8192);
		appendf(&out, "CANCEL %s SIP/2.0\r\n", ruri);
		char sent_by[CFG_HOST_MAX + 16];
		leg_sent_by(c, b, sent_by, sizeof(sent_by));
		appendf(&out, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", tp_upper(b->peer.transport),
			sent_by, is->sip_via->v_branch);
		appendf(&out, "Max-Forwards: 70\r\nFrom: %s;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\n",
			b->local_uri, b->local_tag, b->remote_uri, b->call_id);
		appendf(&out, "CSeq: %u CANCEL\r\n", is->sip_cseq->cs_seq);
		msg_t *cancel = finish(&out, NULL);
		if (cancel)
			txn_request(endpoint_txns(c->b2bua->ep), cancel, &b->peer, NULL);
	}
	call_close(c, "cancelled by the caller");
}

/* ---- requests inside a call ---- */

static void relay_request(struct call *c, struct txn *st, msg_t *req, int from);

/* A leg whose peer proved a certificate identity speaks only with that
 * identity: knowing the dialog's Call-ID and tags is not enough to act for
 * it (re-INVITE its media, BYE it, answer in an ACK). False, logged and
 * counted, for a request from anyone else. */
static bool speaks_for_leg(const struct call *c, const struct leg *l, const struct pc_peer *from,
			   const char *method)
{
	if (!l->peer.identity[0] || strcmp(from->identity, l->peer.identity) == 0)
		return true;
	char peer[128];
	log_info("call %u: %s for leg %s from %s refused: identity \"%s\", not the leg's \"%s\"",
		 c->id, method, l->cfg->name, pc_peer_str(from, peer, sizeof(peer)), from->identity,
		 l->peer.identity);
	counter_inc(CNT_DIALOG_REFUSED_IDENTITY);
	return false;
}

static void in_dialog(struct b2bua *b, struct txn *st, msg_t *req, struct call *c, int side)
{
	sip_t const *sip = sip_object(req);
	sip_method_t m = sip->sip_request->rq_method;
	msg_t *resp;

	const struct pc_peer *from = txn_peer(st);
	struct leg *l = &c->legs[side];
	if (!speaks_for_leg(c, l, from, sip->sip_request->rq_method_name)) {
		if ((resp = sipmsg_reply(req, 403, NULL, NULL)))
			txn_respond(st, resp);
		return;
	}
	/* A peer that came back on a new connection: the dialog follows it, if
	 * it is the same peer as far as we can tell (same leg, same transport
	 * and, checked above, the same certificate identity). */
	if (from->conn_id && from->conn_id != l->peer.conn_id && from->listener >= 0 &&
	    from->transport == l->peer.transport && l->cfg &&
	    listener_leg(b, from) && strcmp(listener_leg(b, from), l->cfg->name) == 0) {
		if (l->conn_lost_ms)
			log_info("call %u: leg %s is back on a new connection", c->id, l->cfg->name);
		l->peer = *from;
		l->conn_lost_ms = 0;
	}

	if (c->state == CALL_CLOSED || c->state == CALL_ENDING) {
		if ((resp = sipmsg_reply(req, m == sip_method_bye ? 200 : 481,
					   m == sip_method_bye ? NULL : "Call/Transaction Does Not Exist", NULL)))
			txn_respond(st, resp);
		return;
	}
	if (m == sip_method_bye) {
		if ((resp = sipmsg_reply(req, 200, NULL, NULL)))
			txn_respond(st, resp);
		log_info("call %u: BYE from leg %s", c->id, c->legs[side].cfg->name);
		int other = side == LEG_A ? LEG_B : LEG_A;
		if (c->state == CALL_INVITING || c->state == CALL_EARLY) {
			/* Only A can hang up before the answer, and it does so with CANCEL;
			 * a BYE here ends what exists. */
			respond_a(c, 487, "Request Terminated", NULL, NULL);
		}
		send_bye(c, other);
		c->state = CALL_ENDING;
		if (!c->pending_bye)
			call_close(c, "BYE");
		return;
	}
	relay_request(c, st, req, side);
}

/* A request inside the call (re-INVITE, UPDATE, INFO, OPTIONS, MESSAGE, ...)
 * becomes the same request on the other leg, its SDP offer re-planned (new
 * keys on both legs); the answer comes back through relay_response(). One
 * relayed request at a time: a request crossing ours on the same leg is
 * glare (491), a second one from the same side must wait (500, Retry-After;
 * RFC 3261 §14.2). */
static void relay_request(struct call *c, struct txn *st, msg_t *req, int from)
{
	sip_t const *sip = sip_object(req);
	sip_method_t m = sip->sip_request->rq_method;
	bool offer_method = m == sip_method_invite || m == sip_method_update;
	int to = 1 - from;
	char why[160] = "";

	if (m == sip_method_prack) {
		respond_on(c, st, from, 481, "Call/Transaction Does Not Exist", NULL,
			   "reliable provisional responses are not used on this leg");
		return;
	}
	if (c->state != CALL_CONFIRMED && m == sip_method_invite) {
		respond_on(c, st, from, 491, "Request Pending", NULL, NULL);
		return;
	}
	if (c->relay_st || c->relay_ct) {
		if (c->relay_from != from)
			respond_on(c, st, from, 491, "Request Pending", NULL, NULL);
		else
			respond_on(c, st, from, 500, "Server Internal Error", NULL,
				   "a previous request is still pending");
		return;
	}
	struct leg *xl = &c->legs[from], *yl = &c->legs[to];
	if (m == sip_method_invite && sip->sip_contact) /* target refresh (§12.2.2) */
		url_e(xl->remote_target, (int)sizeof(xl->remote_target), sip->sip_contact->m_url);

	char *body = NULL;
	bool has_body = sip->sip_payload && sip->sip_payload->pl_len;
	if (offer_method && has_body) {
		int status = plan_offer(c, from, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
					&body, why, sizeof(why));
		if (status) {
			log_info("call %u: %s from leg %s refused: %d (%s)", c->id,
				 sip->sip_request->rq_method_name, c->legs[from].cfg->name, status, why);
			respond_on(c, st, from, status, status == 488 ? "Not Acceptable Here" : NULL,
				   NULL, why);
			return;
		}
	} else if (m == sip_method_invite) {
		respond_on(c, st, from, 488, "Not Acceptable Here", NULL,
			   "a re-INVITE without an offer is not supported");
		return;
	} else if (has_body && (!sip->sip_content_type || !sip->sip_content_type->c_type ||
				strcasecmp(sip->sip_content_type->c_type, "application/sdp") == 0)) {
		respond_on(c, st, from, 415, "Unsupported Media Type", NULL, NULL);
		return;
	}

	char branch[40];
	struct pc_buf out;
	txn_new_branch(branch, sizeof(branch));
	buf_init(&out, 65536);
	request_head(c, yl, sip->sip_request->rq_method_name, yl->remote_target, branch, 70,
		     ++yl->local_cseq, &out);
	if (body) {
		msg_t *fwd = finish(&out, body);
		explicit_bzero(body, strlen(body));
		free(body);
		c->relay_ct = fwd ? txn_request(endpoint_txns(c->b2bua->ep), fwd, &yl->peer, &yl->owner) : NULL;
	} else {
		/* INFO, MESSAGE and the like carry their body across unchanged. */
		if (has_body)
			appendf(&out, "Content-Type: %s\r\n", sip->sip_content_type->c_type);
		appendf(&out, "Content-Length: %u\r\n\r\n",
			has_body ? (unsigned)sip->sip_payload->pl_len : 0);
		if (has_body)
			buf_append(&out, sip->sip_payload->pl_data, sip->sip_payload->pl_len);
		msg_t *fwd = sipmsg_parse((const char *)out.data, out.len);
		buf_free(&out);
		c->relay_ct = fwd ? txn_request(endpoint_txns(c->b2bua->ep), fwd, &yl->peer, &yl->owner) : NULL;
	}
	if (!c->relay_ct) {
		respond_on(c, st, from, 500, "Server Internal Error", NULL, "cannot relay the request");
		return;
	}
	c->live_txns++;
	c->relay_st = st;
	c->relay_from = from;
	txn_set_user_data(st, &xl->owner);
	c->live_txns++;
	log_info("call %u: %s from leg %s relayed%s", c->id, sip->sip_request->rq_method_name,
		 xl->cfg->name, offer_method && has_body ? " with a new offer (re-keyed)" : "");
}

/* The other leg answered a relayed request: pass the answer back. */
static void relay_response(struct call *c, struct txn *ct, msg_t *resp)
{
	sip_t const *sip = sip_object(resp);
	sip_t const *rq = sip_object(txn_request_msg(ct));
	int status = sip->sip_status->st_status;
	int from = c->relay_from, to = 1 - from;
	char why[160] = "";
	char *body = NULL;

	if (status == 100)
		return;
	if (rq->sip_request->rq_method == sip_method_invite && status >= 200 && status < 300) {
		send_ack(c, to, rq->sip_cseq->cs_seq);
		if (sip->sip_contact) /* target refresh */
			url_e(c->legs[to].remote_target, (int)sizeof(c->legs[to].remote_target),
			      sip->sip_contact->m_url);
	}
	if (status >= 200 && status < 300 && sip->sip_payload && sip->sip_payload->pl_len &&
	    (rq->sip_request->rq_method == sip_method_invite ||
	     rq->sip_request->rq_method == sip_method_update)) {
		int bad = plan_answer(c, to, sip->sip_payload->pl_data, sip->sip_payload->pl_len, &body,
				      why, sizeof(why));
		if (bad) {
			/* The other side accepted something we cannot honour: end the call
			 * rather than leave the two legs disagreeing about the media. */
			log_warnx("call %u: refusing the relayed answer: %s", c->id, why);
			respond_on(c, c->relay_st, from, 488, "Not Acceptable Here", NULL, why);
			end_call(c, (1 << LEG_A) | (1 << LEG_B), why);
			return;
		}
	}
	if (status >= 200 && status < 300 && !body && sip->sip_payload && sip->sip_payload->pl_len &&
	    sip->sip_content_type && sip->sip_content_type->c_type &&
	    strcasecmp(sip->sip_content_type->c_type, "application/sdp") != 0) {
		/* Non-SDP bodies of INFO/MESSAGE answers cross unchanged. */
		msg_t *r = reply_to(c, c->relay_st, from, status, sip->sip_status->st_phrase, NULL, NULL);
		if (r && sipmsg_set_body(r, sip->sip_content_type->c_type, sip->sip_payload->pl_data,
				      sip->sip_payload->pl_len) == 0 && c->relay_st)
			txn_respond(c->relay_st, r);
		else if (r)
			msg_destroy(r);
	} else {
		respond_on(c, c->relay_st, from, status, sip->sip_status->st_phrase, body, NULL);
	}
	if (body) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
	if (status >= 200) {
		c->relay_st = NULL; /* the transactions finish on their own */
		c->relay_ct = NULL;
	}
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
				l->conn_lost_ms = mono_ms();
				log_info("call %u: connection of leg %s lost; waiting %us for it", c->id,
					 l->cfg->name, b->cfg->limits.connection_grace_s);
			}
		}
	}
}

/* Network lists, bans, rates, scanners, transport and SIPS, for every
 * request (OPTIONS to the gateway, ACK and CANCEL included) before any
 * transaction, state or answer exists for it. */
static bool on_screen(void *ctx, msg_t *req, const struct pc_peer *from, msg_t **answer)
{
	struct b2bua *b = ctx;
	sip_t const *sip = sip_object(req);
	const char *leg = listener_leg(b, from);
	bool trusted = identity_prev_hop_trusted(b->cfg, b->guard, from);
	struct verdict v = guard_request(b->guard, sip, from, leg ? config_leg(b->cfg, leg) : NULL,
					 trusted, mono_ms());
	if (v.kind == VERDICT_ACCEPT)
		return true;
	uint64_t logged = guard_log_allowed(b->guard, mono_ms());
	if (logged) {
		char peer[128];
		log_info("%s from %s refused: %d %s (%s)%s", sip->sip_request->rq_method_name,
			 pc_peer_str(from, peer, sizeof(peer)), v.status, v.phrase, v.why,
			 logged > 1 ? "; earlier refusals not logged, see the counters" : "");
	}
	*answer = guard_stateless_answer(req, &v, b->cfg->domain);
	return false;
}

static bool on_source_ok(void *ctx, const struct pc_peer *from)
{
	struct b2bua *b = ctx;
	return guard_source_ok(b->guard, from, identity_prev_hop_trusted(b->cfg, b->guard, from),
			       mono_ms());
}

static bool on_request(void *ctx, struct txn *st, msg_t *req)
{
	struct b2bua *b = ctx;
	sip_t const *sip = sip_object(req);
	const char *to_tag = sip->sip_to->a_tag;
	const char *leg = listener_leg(b, txn_peer(st));
	const struct leg_config *leg_cfg = leg ? config_leg(b->cfg, leg) : NULL;
	int side;

	if (!to_tag) {
		if (sip->sip_request->rq_method == sip_method_register)
			return reg_service_handle(b->reg, st, req, leg_cfg);
		if (sip->sip_request->rq_method != sip_method_invite)
			return false;
		return new_call(b, st, req);
	}
	struct call *c = call_find(b, sip->sip_call_id->i_id, to_tag, &side);
	if (!c)
		return false; /* 481 from the endpoint */
	in_dialog(b, st, req, c, side);
	return true;
}

static void on_ack(void *ctx, msg_t *ack, const struct pc_peer *from)
{
	struct b2bua *b = ctx;
	sip_t const *sip = sip_object(ack);
	int side;
	if (!sip->sip_to->a_tag)
		return;
	struct call *c = call_find(b, sip->sip_call_id->i_id, sip->sip_to->a_tag, &side);
	if (!c || !speaks_for_leg(c, &c->legs[side], from, "ACK"))
		return;
	if (c->ok_msg && side == c->ok_side &&
	    sip->sip_cseq->cs_seq == sip_object(c->ok_msg)->sip_cseq->cs_seq) {
		msg_destroy(c->ok_msg); /* our 2xx arrived: stop retransmitting */
		c->ok_msg = NULL;
		c->ok_st = NULL;
	}
	if (side == LEG_A && c->b_ack_pending) {
		/* Late offer: A's answer rides in its ACK; B gets it in ours. */
		char why[160] = "";
		char *b_body = NULL;
		c->b_ack_pending = false;
		int bad = sip->sip_payload && sip->sip_payload->pl_len
				  ? plan_answer(c, LEG_A, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
						&b_body, why, sizeof(why))
				  : (snprintf(why, sizeof(why), "the ACK carries no answer"), 488);
		send_ack_body(c, LEG_B, 1, bad ? NULL : b_body);
		if (b_body) {
			explicit_bzero(b_body, strlen(b_body));
			free(b_body);
		}
		if (bad) {
			log_warnx("call %u: refusing the caller's answer: %s", c->id, why);
			end_call(c, (1 << LEG_A) | (1 << LEG_B), why);
			return;
		}
		c->answered = true;
		log_info("call %u established (leg A %s, leg B %s, late offer)", c->id,
			 c->legs[LEG_A].secure ? "SRTP" : "RTP", c->legs[LEG_B].secure ? "SRTP" : "RTP");
	}
}

/* ---- timers: 2xx retransmission to A, media watchdog ---- */

static void call_timer(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	const struct gateway_config *cfg = c->b2bua->cfg;
	unsigned next = MEDIA_CHECK_MS;

	for (int side = LEG_A; side <= LEG_B; side++) {
		struct leg *l = &c->legs[side];
		if (l->conn_lost_ms && mono_ms() - l->conn_lost_ms >= cfg->limits.connection_grace_s * 1000ull) {
			log_info("call %u: connection of leg %s did not return, ending the call", c->id,
				 l->cfg->name);
			/* No BYE can reach the lost leg: end the other one. */
			end_call(c, 1u << (1 - side), "connection lost");
			return;
		}
	}

	if (c->ok_msg && c->legs[c->ok_side].peer.transport == PC_TP_UDP) {
		c->ok_elapsed_ms += c->ok_interval_ms;
		if (c->ok_elapsed_ms >= 64 * cfg->timers.t1_ms) {
			log_info("call %u: no ACK for our 2xx", c->id);
			msg_destroy(c->ok_msg);
			c->ok_msg = NULL;
			c->ok_st = NULL;
			end_call(c, (1 << LEG_A) | (1 << LEG_B), "no ACK");
			return;
		}
		if (c->ok_st)
			txn_respond(c->ok_st, msg_dup(c->ok_msg));
		c->ok_interval_ms = c->ok_interval_ms * 2 < cfg->timers.t2_ms ? c->ok_interval_ms * 2
									     : cfg->timers.t2_ms;
		next = c->ok_interval_ms;
	} else if (c->state == CALL_CONFIRMED && cfg->limits.media_timeout_s) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		uint64_t last = 0;
		bool any = false;
		for (unsigned i = 0; i < PC_SDP_MAX_STREAMS; i++) {
			if (!c->streams[i])
				continue;
			any = true;
			for (int s = 0; s < 2; s++) {
				struct media_side_stats st;
				media_stream_stats(c->streams[i], (enum media_side)s, &st);
				if (st.last_packet_ms > last)
					last = st.last_packet_ms;
			}
		}
		if (!c->media_since)
			c->media_since = now;
		if (any && now - (last > c->media_since ? last : c->media_since) >=
				   (uint64_t)cfg->limits.media_timeout_s * 1000) {
			log_info("call %u: no media for %us, ending the call", c->id,
				 cfg->limits.media_timeout_s);
			end_call(c, (1 << LEG_A) | (1 << LEG_B), "media timeout");
			return;
		}
	}
	struct timeval tv = { next / 1000, (next % 1000) * 1000 };
	evtimer_add(c->timer, &tv);
}

/* ---- lifetime ---- */

/* Frees the calls bury() collected, from the loop, where no call code is on
 * the stack. Only those: walking every call here made each close cost as
 * much as all live and closing calls together (65% of the CPU at 1,200
 * calls/s, where tens of thousands wait out their transactions). */
static void reap(evutil_socket_t fd, short what, void *arg)
{
	struct b2bua *b = arg;
	while (b->dead) {
		struct call *c = b->dead;
		b->dead = c->next;
		free(c);
	}
}

/* A closed call with no transaction left pointing at it leaves the call
 * list for the reaper's. */
static void bury(struct call *c)
{
	struct b2bua *b = c->b2bua;
	if (c->prev)
		c->prev->next = c->next;
	else
		b->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = b->dead;
	b->dead = c;
	event_active(b->reaper, EV_TIMEOUT, 0);
}

static void call_close(struct call *c, const char *reason)
{
	if (c->state == CALL_CLOSED)
		return;
	log_info("call %u closed: %s", c->id, reason);
	c->state = CALL_CLOSED;
	index_remove(c->b2bua, &c->legs[LEG_A]);
	index_remove(c->b2bua, &c->legs[LEG_B]);
	c->b2bua->n_calls--;
	leave_setup(c);
	if (c->limits) {
		guard_call_end(c->b2bua->guard, c->limits, mono_ms());
		free(c->limits);
		c->limits = NULL;
	}
	fork_free(c);
	plan_release(c);
	if (c->a_answer) {
		explicit_bzero(c->a_answer, strlen(c->a_answer));
		free(c->a_answer);
		c->a_answer = NULL;
	}
	if (c->ok_msg) {
		msg_destroy(c->ok_msg);
		c->ok_msg = NULL;
		c->ok_st = NULL;
	}
	if (c->timer) {
		event_free(c->timer);
		c->timer = NULL;
	}
	if (c->live_txns == 0)
		bury(c);
}

static bool start_timer(struct call *c)
{
	c->timer = evtimer_new(c->b2bua->base, call_timer, c);
	if (!c->timer)
		return false;
	c->ok_interval_ms = c->b2bua->cfg->timers.t1_ms;
	struct timeval tv = { c->ok_interval_ms / 1000, (c->ok_interval_ms % 1000) * 1000 };
	return evtimer_add(c->timer, &tv) == 0;
}

struct b2bua *b2bua_new(struct event_base *base, const struct gateway_config *cfg,
			struct endpoint *ep, struct media_engine *media)
{
	struct b2bua *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->base = base;
	b->cfg = cfg;
	b->ep = ep;
	b->media = media;
	for (unsigned i = 0; i < cfg->n_legs; i++) {
		const struct leg_config *l = &cfg->legs[i];
		b->range[i] = media_engine_add_range(media, l->rtp_address, l->rtp_port_min,
						     l->rtp_port_max, 2000);
		if (b->range[i] < 0) {
			free(b);
			return NULL;
		}
	}
	char err[512];
	b->guard = guard_new(cfg, err, sizeof(err));
	if (b->guard == NULL) {
		log_err("%s", err);
		free(b);
		return NULL;
	}
	b->reaper = event_new(base, -1, 0, reap, b);
	b->reg = reg_service_new(base, cfg);
	/* Two legs per call, about one per slot at the ceiling. */
	b->index_size = 2 * cfg->limits.max_calls + 1;
	b->index = calloc(b->index_size, sizeof(*b->index));
	if (!b->reaper || !b->index || !b->reg) {
		reg_service_free(b->reg);
		guard_free(b->guard);
		if (b->reaper)
			event_free(b->reaper);
		free(b->index);
		free(b);
		return NULL;
	}
	struct call_handler h = { .ctx = b, .screen = on_screen, .source_ok = on_source_ok, .on_request = on_request, .on_ack = on_ack,
		.on_inbound_closed = on_inbound_closed };
	endpoint_set_call_handler(ep, &h);
	return b;
}

void b2bua_free(struct b2bua *b)
{
	if (!b)
		return;
	/* The transaction layer is gone already (endpoint_free first): nothing
	 * points at a call any more, and closing buries each one. */
	while (b->calls) {
		struct call *c = b->calls;
		if (c->state != CALL_CLOSED)
			call_close(c, "shutdown");
		if (b->calls == c) /* closed earlier, still waiting for transactions */
			bury(c);
	}
	reap(-1, 0, b);
	reg_service_free(b->reg);
	guard_free(b->guard);
	event_free(b->reaper);
	free(b->index);
	free(b);
}

unsigned b2bua_call_count(const struct b2bua *b) { return b->n_calls; }
