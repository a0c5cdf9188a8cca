/* Implementation of the SIP core. Requests reach on_request() only after the
 * transaction layer created a server transaction, so retransmissions are
 * absorbed below; stateless refusals (malformed requests, overload) are sent
 * from intake without any state. */
#include "endpoint.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "core/counters.h"
#include "core/err.h"
#include "core/log.h"
#include "sip/build.h"
#include "sip/check.h"
#include "sip/msg.h"
#include "sip/reply.h"
#include "sip/salvage.h"
#include "transaction/txn.h"
#include "transport/transport.h"

#define ALLOW "INVITE, ACK, CANCEL, OPTIONS, BYE"

struct ping {
	struct txn_owner owner; /* first: the ping's transactions point here */
	struct endpoint *ep;
	const struct peer_config *cfg;
	struct pc_peer to;
	struct event *timer;
	struct txn *pending;
	unsigned cseq;
	int up; /* -1 unknown, 0 down, 1 up */
	char call_id[48];
	char from_tag[24];
};

struct endpoint {
	struct event_base *base;
	const struct gateway_config *cfg;
	struct transport *tp;
	struct txn_layer *txns;
	struct ping pings[CFG_MAX_PEERS];
	unsigned n_pings;
	struct call_handler calls;
};

/* ---- environment for the transaction layer ---- */

struct ev_timer {
	struct event *ev;
	void (*fire)(void *arg);
	void *arg;
};

static void ev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ev_timer *t = arg;
	t->fire(t->arg);
}

static void *env_timer_start(void *ctx, unsigned ms, void (*fire)(void *arg), void *arg)
{
	struct endpoint *ep = ctx;
	struct ev_timer *t = malloc(sizeof(*t));
	if (!t)
		return NULL;
	t->fire = fire;
	t->arg = arg;
	t->ev = evtimer_new(ep->base, ev_timer_cb, t);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (!t->ev || evtimer_add(t->ev, &tv) < 0) {
		if (t->ev)
			event_free(t->ev);
		free(t);
		return NULL;
	}
	return t;
}

static void env_timer_stop(void *ctx, void *timer)
{
	struct ev_timer *t = timer;
	if (!t)
		return;
	event_free(t->ev);
	free(t);
}

/* Where a response goes (RFC 3261 §18.2.2, RFC 3581): over a stream, the
 * connection the request came on; over UDP, the source IP ("received") and the
 * rport when the client asked for it, else the sent-by port. */
static void response_destination(msg_t *resp, const struct pc_peer *req_peer, struct pc_peer *dst)
{
	*dst = *req_peer;
	if (req_peer->transport != PC_TP_UDP)
		return;
	sip_via_t const *via = sip_object(resp)->sip_via;
	if (!via || via->v_rport)
		return;
	unsigned port = via->v_port ? (unsigned)strtoul(via->v_port, NULL, 10) : 5060;
	if (port == 0 || port > 65535)
		return;
	if (dst->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&dst->addr)->sin_port = htons((uint16_t)port);
	else if (dst->addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&dst->addr)->sin6_port = htons((uint16_t)port);
}

static int env_send(void *ctx, const struct pc_peer *peer, msg_t *msg)
{
	struct endpoint *ep = ctx;
	struct pc_peer dst;
	size_t len = 0;

	if (sip_object(msg)->sip_status)
		response_destination(msg, peer, &dst);
	else
		dst = *peer;
	char *text = sipmsg_print(msg, &len);
	if (!text)
		return PC_ERR_NOMEM;
	int rc = transport_send(ep->tp, &dst, text, len, NULL);
	/* The transport copied it; kept, every retransmission of a message
	 * (a 1xx, a 2xx until its ACK) would grow the message's home. */
	su_free(msg_home(msg), text);
	return rc;
}

/* ---- helpers ---- */

/* Our answer to st: start it, add headers, send it. One that cannot be
 * built is logged with the reason and becomes a bare 500. */
static void answer_start(struct sipmsg_build *m, struct txn *st, int status, const char *phrase)
{
	sipmsg_build_response(m, txn_request_msg(st), status, phrase, txn_local_tag(st));
}

static void answer_send(struct sipmsg_build *m, struct txn *st)
{
	msg_t *resp = sipmsg_build_done(m);
	if (!resp) {
		log_warnx("cannot build a response: %s", m->why);
		resp = sipmsg_reply(txn_request_msg(st), 500, "Server Internal Error",
				    txn_local_tag(st));
		if (!resp)
			return;
	}
	txn_respond(st, resp);
}

static void respond(struct txn *st, int status, const char *phrase)
{
	struct sipmsg_build m;
	answer_start(&m, st, status, phrase);
	answer_send(&m, st);
}

static void send_stateless(struct endpoint *ep, msg_t *req, const struct pc_peer *from,
			   int status, const char *phrase)
{
	char tag[20];
	struct sipmsg_build m;
	sipmsg_random_token(tag, sizeof(tag));
	sipmsg_build_response(&m, req, status, phrase, tag);
	msg_t *resp = sipmsg_build_done(&m);
	if (!resp) {
		log_warnx("cannot answer %d statelessly: %s", status, m.why);
		return;
	}
	env_send(ep, from, resp);
	msg_destroy(resp);
}

/* Is the Request-URI the gateway itself (no user part, our domain or one of
 * our listener addresses)? */
static bool addressed_to_us(struct endpoint *ep, sip_t const *sip)
{
	url_t const *u = sip->sip_request->rq_url;
	if (u->url_type != url_sip && u->url_type != url_sips)
		return false;
	if (u->url_user && u->url_user[0])
		return false;
	if (!u->url_host)
		return false;
	unsigned port = u->url_port ? (unsigned)strtoul(u->url_port, NULL, 10) : 0;
	if (!strcasecmp(u->url_host, ep->cfg->domain))
		return true;
	char host[INET6_ADDRSTRLEN + 2];
	snprintf(host, sizeof(host), "%s", u->url_host);
	if (host[0] == '[') { /* IPv6 reference */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	return transport_is_local(ep->tp, host, port) != 0;
}

/* ---- transaction user ---- */

/* RFC 3261 §9.2: a CANCEL that matches an INVITE transaction is answered 200
 * whatever that transaction's state; the INVITE gets 487 only while it is
 * still unanswered. */
static void handle_cancel(struct endpoint *ep, struct txn *st)
{
	struct txn *invite = txn_cancel_target(st);
	if (!invite) {
		respond(st, 481, "Call/Transaction Does Not Exist");
		return;
	}
	respond(st, 200, NULL);
	if (txn_state(invite) != TXN_PROCEEDING)
		return;
	struct txn_owner *owner = txn_user_data(invite);
	if (owner && owner->on_cancel)
		owner->on_cancel(owner, invite); /* the call layer ends both legs */
	else
		respond(invite, 487, "Request Terminated");
}

static void tu_request(void *ctx, struct txn *st, msg_t *req)
{
	struct endpoint *ep = ctx;
	sip_t const *sip = sip_object(req);
	sip_method_t method = sip->sip_request->rq_method;

	if (method == sip_method_cancel) {
		handle_cancel(ep, st);
		return;
	}
	/* RFC 3261 §8.2.2.3: no extension is supported yet. */
	struct sipmsg_build m;
	if (sip->sip_require) {
		answer_start(&m, st, 420, "Bad Extension");
		sipmsg_build_unsupported(&m, sip->sip_require);
		answer_send(&m, st);
		return;
	}
	/* SDP is the only body the gateway reads (RFC 3261 §21.4.13). */
	if ((method == sip_method_invite || method == sip_method_update) && sip->sip_payload &&
	    sip->sip_payload->pl_len &&
	    (!sip->sip_content_type || !sip->sip_content_type->c_type ||
	     strcasecmp(sip->sip_content_type->c_type, "application/sdp") != 0)) {
		answer_start(&m, st, 415, "Unsupported Media Type");
		sipmsg_build_value(&m, sip_accept_class, "application/sdp");
		answer_send(&m, st);
		return;
	}
	bool to_us = addressed_to_us(ep, sip);
	if (method == sip_method_options && to_us) {
		answer_start(&m, st, 200, NULL);
		sipmsg_build_value(&m, sip_allow_class, ALLOW);
		sipmsg_build_value(&m, sip_accept_class, "application/sdp");
		sipmsg_build_value(&m, sip_accept_encoding_class, "identity");
		sipmsg_build_value(&m, sip_accept_language_class, "en");
		answer_send(&m, st);
		return;
	}
	if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0) {
		respond(st, 483, "Too Many Hops");
		return;
	}
	if (ep->calls.on_request && !(method == sip_method_options && !sip->sip_to->a_tag) &&
	    ep->calls.on_request(ep->calls.ctx, st, req))
		return;
	switch (method) {
	case sip_method_invite:
	case sip_method_options:
	case sip_method_message:
		if (method == sip_method_invite && sip->sip_to && sip->sip_to->a_tag)
			respond(st, 481, "Call/Transaction Does Not Exist");
		else
			respond(st, 404, "No Route to Destination");
		break;
	case sip_method_bye:
	case sip_method_info:
	case sip_method_update:
	case sip_method_prack:
		respond(st, 481, "Call/Transaction Does Not Exist");
		break;
	default:
		answer_start(&m, st, 501, "Not Implemented");
		sipmsg_build_value(&m, sip_allow_class, ALLOW);
		answer_send(&m, st);
		break;
	}
}

static void tu_ack(void *ctx, msg_t *ack, const struct pc_peer *from)
{
	struct endpoint *ep = ctx;
	if (ep->calls.on_ack)
		ep->calls.on_ack(ep->calls.ctx, ack, from);
}

static void ping_schedule(struct ping *p);

static void ping_set_state(struct ping *p, int up, const char *why)
{
	if (p->up != up)
		log_info("peer %s is %s (%s)", p->cfg->name, up ? "up" : "down", why);
	p->up = up;
}

static void tu_response(void *ctx, struct txn *ct, msg_t *resp)
{
	struct txn_owner *o = txn_user_data(ct);
	if (o && o->on_response)
		o->on_response(o, ct, resp);
}

static void tu_stray_response(void *ctx, msg_t *resp, const struct pc_peer *from)
{
	/* A 2xx retransmission whose transaction is gone: the call layer
	 * already acknowledged the first one. */
}

static void tu_failure(void *ctx, struct txn *ct, int status)
{
	struct txn_owner *o = txn_user_data(ct);
	if (o && o->on_failure)
		o->on_failure(o, ct, status);
}

static void tu_terminated(void *ctx, struct txn *t)
{
	struct txn_owner *o = txn_user_data(t);
	if (o && o->on_terminated)
		o->on_terminated(o, t);
}

static void ping_response(struct txn_owner *o, struct txn *ct, msg_t *resp)
{
	struct ping *p = (struct ping *)o;
	int status = sip_object(resp)->sip_status->st_status;
	if (status >= 200) {
		char why[48];
		snprintf(why, sizeof(why), "OPTIONS answered %d", status);
		/* Any final answer proves the peer's SIP stack is alive. */
		ping_set_state(p, 1, why);
	}
}

static void ping_failure(struct txn_owner *o, struct txn *ct, int status)
{
	ping_set_state((struct ping *)o, 0, status == 408 ? "OPTIONS timed out" : "transport failure");
}

static void ping_terminated(struct txn_owner *o, struct txn *t)
{
	struct ping *p = (struct ping *)o;
	if (p->pending == t) {
		p->pending = NULL;
		ping_schedule(p);
	}
}

/* ---- keep-alive pings toward configured peers ---- */

static void ping_send(evutil_socket_t fd, short what, void *arg)
{
	struct ping *p = arg;
	struct endpoint *ep = p->ep;
	char name[CFG_HOST_MAX], host[CFG_HOST_MAX + 2];
	unsigned port = 0;
	char branch[40];
	struct sipmsg_build m;
	su_home_t home[1] = { SU_HOME_INIT(home) };

	if (p->pending)
		return;
	if (transport_sent_by(ep->tp, &p->to, 0, name, sizeof(name), &port) < 0) {
		snprintf(name, sizeof(name), "%s", ep->cfg->domain);
		port = 0;
	}
	bool v6 = strchr(name, ':') != NULL;
	snprintf(host, sizeof(host), "%s%s%s", v6 ? "[" : "", name, v6 ? "]" : "");
	txn_new_branch(branch, sizeof(branch));
	/* Each ping is a new request outside any dialog: a fresh Call-ID. */
	sipmsg_random_token(p->call_id, sizeof(p->call_id));
	bool tls = p->to.transport == PC_TP_TLS;
	sipmsg_build_request(&m, "OPTIONS", sipmsg_url(home, tls, NULL, p->cfg->sip_domain));
	sipmsg_build_via(&m, p->to.transport, host, port, branch, p->to.transport != PC_TP_UDP);
	sipmsg_build_max_forwards(&m, 70);
	sipmsg_build_from(&m, NULL, sipmsg_url(home, false, "portcullis", ep->cfg->domain), p->from_tag);
	sipmsg_build_to(&m, NULL, sipmsg_url(home, tls, NULL, p->cfg->sip_domain), NULL);
	sipmsg_build_call_id(&m, p->call_id);
	sipmsg_build_cseq(&m, ++p->cseq, "OPTIONS");
	msg_t *req = sipmsg_build_done(&m);
	su_home_deinit(home);
	if (!req) {
		log_err("peer %s: cannot build OPTIONS ping: %s", p->cfg->name, m.why);
		return;
	}
	p->pending = txn_request(ep->txns, req, &p->to, &p->owner);
	if (!p->pending) {
		ping_set_state(p, 0, "cannot send OPTIONS");
		ping_schedule(p);
	}
}

static void ping_schedule(struct ping *p)
{
	struct timeval tv = { p->cfg->keepalive_interval_s, 0 };
	if (p->timer)
		evtimer_add(p->timer, &tv);
}

/* ---- intake ---- */

/* Via handling on receipt (RFC 3261 §18.2.1, RFC 3581): the top Via is
 * replaced by a copy with received= when the sent-by is not the source
 * address and rport= when the client asked for it, so responses find their
 * way back. The copy is a structure: the peer's parameters are never
 * printed and read again. */
static void stamp_via(struct endpoint *ep, msg_t *msg, const struct pc_peer *from)
{
	sip_t *sip = sip_object(msg);
	sip_via_t *via = sip->sip_via;
	su_home_t *home = msg_home(msg);
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	pc_sockaddr_str((const struct sockaddr *)&from->addr, host, sizeof(host), &port);
	bool want_received = !via->v_host || strcmp(via->v_host, host) != 0;
	bool want_rport = via->v_rport != NULL;
	if (!want_received && !want_rport)
		return;
	msg_header_t *stamped = msg_header_dup_one(home, (msg_header_t const *)via);
	/* Sofia keeps the parameter strings it is given: they live in the home. */
	char *received = su_sprintf(home, "received=%s", host);
	char *rport = su_sprintf(home, "rport=%u", port);
	/* Both go last, where a client expects to find what the server added. */
	if (stamped && received && rport) {
		while (msg_header_remove_param(stamped->sh_common, "received") > 0)
			;
		while (msg_header_remove_param(stamped->sh_common, "rport") > 0)
			;
	}
	if (!stamped || !received || !rport ||
	    (want_received && msg_header_add_param(home, stamped->sh_common, received) < 0) ||
	    (want_rport && msg_header_add_param(home, stamped->sh_common, rport) < 0) ||
	    msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)via, stamped) < 0)
		log_warnx("cannot stamp received/rport on Via from %s", host);
}

/* RFC 5923: only a TLS peer whose certificate names its sent-by may have the
 * connection reused for requests toward it; the transport checks the
 * certificate. Done only for admitted requests: an alias is state. */
static void learn_alias(struct endpoint *ep, msg_t *msg, const struct pc_peer *from)
{
	sip_via_t const *via = sip_object(msg)->sip_via;
	if (from->transport == PC_TP_TLS && via->v_host &&
	    msg_header_find_param((msg_common_t const *)via, "alias")) {
		unsigned vport = via->v_port ? (unsigned)strtoul(via->v_port, NULL, 10) : 5061;
		if (vport > 0 && vport <= 65535)
			transport_add_alias(ep->tp, from->conn_id, via->v_host, vport);
	}
}

/* Whether a source may get a stateless answer to a malformed message: not
 * when the call layer denies or bans it (it would learn that something
 * listens, and a spoofed victim would get one packet per datagram). */
static bool source_may_hear(struct endpoint *ep, const struct pc_peer *from)
{
	return !ep->calls.source_ok || ep->calls.source_ok(ep->calls.ctx, from);
}

/* The call layer's screen (network lists, bans, rates, ...) runs before the
 * transaction layer sees the request: a refused source costs no transaction,
 * no 100 Trying and no Timer G retransmissions toward a spoofable address. */
static bool screened_in(struct endpoint *ep, msg_t *msg, const struct pc_peer *from)
{
	msg_t *answer = NULL;
	if (!ep->calls.screen || ep->calls.screen(ep->calls.ctx, msg, from, &answer))
		return true;
	if (answer) {
		env_send(ep, from, answer);
		msg_destroy(answer);
	}
	msg_destroy(msg);
	return false;
}

static void on_message(void *ctx, const char *data, size_t len, const struct pc_peer *from)
{
	struct endpoint *ep = ctx;
	char where[96];
	msg_t *msg = sipmsg_parse(data, len);

	if (!msg) {
		/* Not even a start line: nothing to answer with. */
		counter_inc(len > 4 && !strncmp(data, "SIP/", 4) ? CNT_MSG_MALFORMED_RESPONSE
								: CNT_MSG_MALFORMED_REQUEST);
		log_info("dropped unparsable message of %zu bytes from %s", len,
			 pc_peer_str(from, where, sizeof(where)));
		return;
	}
	sip_t *sip = sip_object(msg);
	if (sip->sip_status) {
		if (sipcheck_response(msg) < 0) {
			counter_inc(CNT_MSG_MALFORMED_RESPONSE);
			log_info("dropped malformed response from %s",
				 pc_peer_str(from, where, sizeof(where)));
			msg_destroy(msg);
			return;
		}
		txn_layer_receive(ep->txns, msg, from);
		return;
	}
	struct sipcheck_verdict v;
	sipcheck_request(msg, &v);
	if (v.status) {
		counter_inc(CNT_MSG_MALFORMED_REQUEST);
		log_info("refused request from %s: %d %s%s", pc_peer_str(from, where, sizeof(where)),
			 v.status, v.phrase, v.can_respond ? "" : " (cannot respond, dropped)");
		if (v.can_respond && sip->sip_request->rq_method != sip_method_ack &&
		    source_may_hear(ep, from))
			send_stateless(ep, msg, from, v.status, v.phrase);
		msg_destroy(msg);
		return;
	}
	log_debug("%.*s from %s%s%s%s", (int)strcspn(data, "\r\n"), data,
		  pc_peer_str(from, where, sizeof(where)), from->identity[0] ? " (identity \"" : "",
		  from->identity, from->identity[0] ? "\")" : "");
	stamp_via(ep, msg, from);
	if (!screened_in(ep, msg, from))
		return;
	/* A connection that carried a request the guard admitted is no longer
	 * a candidate for eviction or the first-message timeout (a response, or
	 * a refused request, proves nothing: anyone can send one). */
	if (from->conn_id)
		transport_conn_proven(ep->tp, from->conn_id);
	learn_alias(ep, msg, from);
	txn_layer_receive(ep->txns, msg, from);
}

/* A message framing refused before any parse: answered statelessly from the
 * few headers an answer needs, or dropped (already counted) when those cannot
 * be read, when it is a response, or when it is an ACK. */
static void on_refused(void *ctx, const char *data, size_t len, const struct pc_peer *from,
		       int status, const char *why)
{
	struct endpoint *ep = ctx;
	char where[96];
	msg_t *req = sipmsg_salvage_request(data, len);

	pc_peer_str(from, where, sizeof(where));
	if (!req || sip_object(req)->sip_request->rq_method == sip_method_ack) {
		log_info("dropped message from %s: %s (no answer possible)", where, why);
		if (req)
			msg_destroy(req);
		return;
	}
	if (!source_may_hear(ep, from)) {
		log_debug("dropped message from %s: %s (source denied or banned)", where, why);
		msg_destroy(req);
		return;
	}
	log_info("refused request from %s: %d %s", where, status, why);
	send_stateless(ep, req, from, status, why);
	msg_destroy(req);
}

static void on_unreachable(void *ctx, const struct pc_peer *to)
{
	struct endpoint *ep = ctx;
	txn_layer_unreachable(ep->txns, to);
}

static void on_inbound_closed(void *ctx, uint64_t conn_id)
{
	struct endpoint *ep = ctx;
	if (ep->calls.on_inbound_closed)
		ep->calls.on_inbound_closed(ep->calls.ctx, conn_id);
}

/* ---- lifetime ---- */

struct transport *endpoint_transport(struct endpoint *ep) { return ep->tp; }

struct endpoint *endpoint_new(struct event_base *base, const struct gateway_config *cfg)
{
	struct endpoint *ep = calloc(1, sizeof(*ep));
	if (!ep)
		return NULL;
	ep->base = base;
	ep->cfg = cfg;
	struct transport_events tev = { .ctx = ep, .on_message = on_message, .on_refused = on_refused,
		.on_unreachable = on_unreachable, .on_inbound_closed = on_inbound_closed };
	ep->tp = transport_new(base, cfg, &tev);
	struct txn_config tcfg = {
		.t1_ms = cfg->timers.t1_ms, .t2_ms = cfg->timers.t2_ms, .t4_ms = cfg->timers.t4_ms,
		.max_transactions = cfg->limits.max_transactions,
	};
	struct txn_env env = { .ctx = ep, .timer_start = env_timer_start,
		.timer_stop = env_timer_stop, .send = env_send };
	struct txn_user tu = { .ctx = ep, .on_request = tu_request, .on_ack = tu_ack,
		.on_response = tu_response, .on_stray_response = tu_stray_response,
		.on_failure = tu_failure, .on_terminated = tu_terminated };
	ep->txns = txn_layer_new(&tcfg, &env, &tu);
	if (!ep->tp || !ep->txns) {
		endpoint_free(ep);
		return NULL;
	}
	return ep;
}

int endpoint_start(struct endpoint *ep)
{
	if (transport_start(ep->tp) < 0)
		return -1;
	for (unsigned i = 0; i < ep->cfg->n_peers; i++) {
		const struct peer_config *pc = &ep->cfg->peers[i];
		if (pc->keepalive_interval_s == 0)
			continue;
		struct ping *p = &ep->pings[ep->n_pings++];
		p->ep = ep;
		p->cfg = pc;
		p->up = -1;
		p->owner.on_response = ping_response;
		p->owner.on_failure = ping_failure;
		p->owner.on_terminated = ping_terminated;
		sipmsg_random_token(p->from_tag, sizeof(p->from_tag));
		if (transport_peer_address(pc, &p->to) < 0)
			return -1;
		p->timer = evtimer_new(ep->base, ping_send, p);
		if (!p->timer)
			return -1;
		struct timeval now = { 0, 0 };
		evtimer_add(p->timer, &now);
	}
	return 0;
}

void endpoint_free(struct endpoint *ep)
{
	if (!ep)
		return;
	/* on_terminated during teardown must not re-arm pings: timers go first. */
	for (unsigned i = 0; i < ep->n_pings; i++) {
		if (ep->pings[i].timer)
			event_free(ep->pings[i].timer);
		ep->pings[i].timer = NULL;
	}
	if (ep->txns)
		txn_layer_free(ep->txns);
	if (ep->tp)
		transport_free(ep->tp);
	free(ep);
}

void endpoint_set_call_handler(struct endpoint *ep, const struct call_handler *h)
{
	ep->calls = *h;
}

static struct txn *net_request(void *ctx, msg_t *req, const struct pc_peer *to,
			       struct txn_owner *owner)
{
	struct endpoint *ep = ctx;
	return txn_request(ep->txns, req, to, owner);
}

/* The transport knows listeners, not legs: the leg's listeners are the ones
 * the configuration gives that leg, in the transport's numbering (its
 * listener i is the configuration's listeners[i]). */
static int net_sent_by(void *ctx, const struct pc_peer *to, const char *leg, char *host,
		       size_t hostlen, unsigned *port)
{
	struct endpoint *ep = ctx;
	uint32_t of_leg = 0;
	for (unsigned i = 0; leg && i < ep->cfg->n_listeners; i++)
		if (strcmp(ep->cfg->listeners[i].leg, leg) == 0)
			of_leg |= UINT32_C(1) << i;
	return transport_sent_by(ep->tp, to, of_leg, host, hostlen, port);
}

static unsigned net_retry_after(void *ctx, const struct pc_peer *to)
{
	struct endpoint *ep = ctx;
	return transport_peer_retry_after(ep->tp, to);
}

static int net_peer_address(void *ctx, const struct peer_config *p, struct pc_peer *out)
{
	return transport_peer_address(p, out);
}

static const char *net_tls_version(void *ctx, const struct pc_peer *to)
{
	struct endpoint *ep = ctx;
	return transport_tls_version(ep->tp, to);
}

void endpoint_call_net(struct endpoint *ep, struct call_net *out)
{
	*out = (struct call_net){ .ctx = ep, .request = net_request, .send = env_send,
		.sent_by = net_sent_by, .retry_after = net_retry_after,
		.peer_address = net_peer_address, .timer_start = env_timer_start,
		.timer_stop = env_timer_stop, .tls_version = net_tls_version };
}

void endpoint_gauges(const struct endpoint *ep, struct endpoint_gauges *out)
{
	*out = (struct endpoint_gauges){ .connections = transport_connection_count(ep->tp),
		.transactions = txn_layer_count(ep->txns), .listeners = ep->cfg->n_listeners,
		.peers_pinged = ep->n_pings };
	for (unsigned i = 0; i < ep->n_pings; i++)
		out->peers_up += ep->pings[i].up == 1;
	for (int t = 0; t < 3; t++)
		for (int d = 0; d < 2; d++)
			out->messages[t][d] = transport_messages(ep->tp, (enum pc_transport)t, d);
}

const char *endpoint_tls_version(const struct endpoint *ep, const struct pc_peer *p)
{
	return transport_tls_version(ep->tp, p);
}

void endpoint_peer_state(const struct endpoint *ep, unsigned index, struct endpoint_peer_state *out)
{
	const struct peer_config *pc = &ep->cfg->peers[index];
	*out = (struct endpoint_peer_state){ .up = -1 };
	for (unsigned i = 0; i < ep->n_pings; i++) {
		if (ep->pings[i].cfg == pc) {
			out->pinged = true;
			out->up = ep->pings[i].up;
		}
	}
	struct pc_peer to;
	if (transport_peer_address(pc, &to) == 0)
		out->retry_after_s = transport_peer_retry_after(ep->tp, &to);
}

void endpoint_log_counters(const struct endpoint *ep)
{
	for (int i = 0; i < CNT__COUNT; i++)
		if (counter_get((enum pc_counter)i))
			log_info("counter %s = %llu", counter_name((enum pc_counter)i),
				 (unsigned long long)counter_get((enum pc_counter)i));
	log_info("counter open_connections = %u, transactions = %u",
		 transport_connection_count(ep->tp), txn_layer_count(ep->txns));
}
