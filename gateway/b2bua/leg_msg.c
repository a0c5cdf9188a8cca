/* Every message a call sends on one of its legs, built from that leg's own
 * dialog (Call-ID, tags, CSeq, URLs, our Via and Contact) with sip/build.h:
 * requests (INVITE, ACK, BYE, CANCEL, relayed in-dialog requests) and our
 * responses to the leg's requests. Nothing that identifies one leg's
 * network is copied to the other: messages are built from scratch, not
 * edited copies, and a peer's values enter them as structures. A message
 * that cannot be built is not sent: the reason is logged here, and a
 * response falls back to a bare 500. */
#include "call.h"
#include "identity.h"
#include "refuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/url.h>

#include "core/log.h"
#include "sip/build.h"
#include "sip/reply.h"

#define ALLOW "INVITE, ACK, CANCEL, OPTIONS, BYE"

int leg_set_url(url_t **slot, const url_t *url)
{
	url_t *copy = NULL;
	if (url && (copy = url_hdup(NULL, url)) == NULL)
		return -1;
	su_free(NULL, *slot);
	*slot = copy;
	return 0;
}

int leg_set_url_text(url_t **slot, const char *text)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	url_t *u = url_make(home, text);
	int rc = u && u->url_type > url_unknown ? leg_set_url(slot, u) : -1;
	su_home_deinit(home);
	return rc;
}

void leg_forget(struct leg *l)
{
	leg_set_url(&l->local_url, NULL);
	leg_set_url(&l->remote_url, NULL);
	leg_set_url(&l->remote_target, NULL);
}

void leg_sent_by(struct call *c, struct leg *l, char *host, size_t hostlen, unsigned *port)
{
	struct b2bua *b = c->b2bua;
	char name[CFG_HOST_MAX];
	*port = 0;
	if (b->net.sent_by(b->net.ctx, &l->peer, l->cfg ? l->cfg->name : NULL, name, sizeof(name),
			   port) < 0) {
		snprintf(name, sizeof(name), "%s", b->cfg->domain);
		*port = 0;
	}
	bool v6 = strchr(name, ':') != NULL;
	snprintf(host, hostlen, "%s%s%s", v6 ? "[" : "", name, v6 ? "]" : "");
}

url_t *leg_contact_url(struct call *c, struct leg *l, su_home_t *home)
{
	char host[CFG_HOST_MAX + 2], hostport[CFG_HOST_MAX + 16];
	unsigned port;
	leg_sent_by(c, l, host, sizeof(host), &port);
	if (port)
		snprintf(hostport, sizeof(hostport), "%s:%u", host, port);
	else
		snprintf(hostport, sizeof(hostport), "%s", host);
	url_t *u = sipmsg_url(home, false, "gw", hostport);
	if (u)
		u->url_params = su_sprintf(home, "transport=%s", pc_transport_name(l->peer.transport));
	return u;
}

/* Start a request on leg l: request line, Via, Max-Forwards, From, To,
 * Call-ID, CSeq; Contact and Allow on an INVITE. The caller adds the rest. */
static void request_head(struct sipmsg_build *m, struct call *c, struct leg *l,
			 const char *method, const url_t *ruri, const char *branch,
			 unsigned max_forwards, uint32_t cseq)
{
	char host[CFG_HOST_MAX + 2];
	unsigned port;
	leg_sent_by(c, l, host, sizeof(host), &port);
	sipmsg_build_request(m, method, ruri);
	sipmsg_build_via(m, l->peer.transport, host, port, branch, false);
	sipmsg_build_max_forwards(m, max_forwards);
	sipmsg_build_from(m, l->local_display, l->local_url, l->local_tag);
	sipmsg_build_to(m, NULL, l->remote_url, l->remote_tag);
	sipmsg_build_call_id(m, l->call_id);
	sipmsg_build_cseq(m, cseq, method);
	if (!strcmp(method, "INVITE") && m->msg) {
		sipmsg_build_contact(m, leg_contact_url(c, l, msg_home(m->msg)));
		sipmsg_build_value(m, sip_allow_class, ALLOW);
	}
}

/* The message, or NULL with the reason logged once, naming the call. */
static msg_t *built(struct call *c, struct sipmsg_build *m, const char *what)
{
	msg_t *msg = sipmsg_build_done(m);
	if (!msg)
		log_warnx("call %u: %s not sent: %s", c->id, what, m->why);
	return msg;
}

/* A client transaction for `req` on leg l, counted as the call's. */
static struct txn *leg_request(struct call *c, struct leg *l, msg_t *req, bool owned)
{
	struct b2bua *b = c->b2bua;
	struct txn *t = b->net.request(b->net.ctx, req, &l->peer, owned ? &l->owner : NULL);
	if (t && owned)
		c->live_txns++;
	return t;
}

/* A response to st with the headers every answer of ours carries. */
static void reply_head(struct sipmsg_build *m, struct call *c, struct txn *st, int side,
		       int status, const char *phrase, const char *warning)
{
	struct leg *l = &c->legs[side];
	sipmsg_build_response(m, txn_request_msg(st), status, phrase, l->local_tag);
	if (status >= 180 && status < 300 && m->msg) {
		sipmsg_build_contact(m, leg_contact_url(c, l, msg_home(m->msg)));
		sipmsg_build_value(m, sip_allow_class, ALLOW);
	}
	if (warning)
		sipmsg_build_warning(m, 399, c->b2bua->cfg->domain, warning);
	if (status == 491 || status == 500)
		sipmsg_build_retry_after(m, 1);
	if (status == 503 && c->retry_after_s)
		sipmsg_build_retry_after(m, c->retry_after_s);
}

msg_t *leg_reply(struct call *c, struct txn *st, int side, int status, const char *phrase,
		 const char *body, const char *warning)
{
	struct sipmsg_build m;
	reply_head(&m, c, st, side, status, phrase, warning);
	if (body)
		sipmsg_build_body(&m, "application/sdp", body, strlen(body));
	return built(c, &m, "response");
}

msg_t *leg_reply_foreign(struct call *c, struct txn *st, int side, int status,
			 const char *phrase, sip_t const *src)
{
	struct sipmsg_build m;
	reply_head(&m, c, st, side, status, phrase, NULL);
	sipmsg_build_body(&m, src->sip_content_type->c_type, src->sip_payload->pl_data,
			  src->sip_payload->pl_len);
	return built(c, &m, "response");
}

void leg_respond(struct call *c, struct txn *st, int side, int status, const char *phrase,
		 const char *body, const char *warning)
{
	/* No request: st answered finally already and only absorbs
	 * retransmissions now (transaction/txn.h). */
	if (!st || !txn_request_msg(st))
		return;
	msg_t *resp = leg_reply(c, st, side, status, phrase, body, warning);
	if (!resp) {
		/* Not the answer we meant (logged): the request still gets one. */
		if (status >= 200 && (resp = sipmsg_reply(txn_request_msg(st), 500,
							  "Server Internal Error",
							  c->legs[side].local_tag)) != NULL)
			txn_respond(st, resp);
		return;
	}
	bool invite = sip_object(txn_request_msg(st))->sip_request->rq_method == sip_method_invite;
	if (st == c->a_invite)
		call_rec_final(c, status, NULL);
	if (invite && status >= 200 && status < 300 && c->state != CALL_CLOSED) {
		/* Kept for retransmission until the ACK (RFC 6026: the TU's job). */
		if (c->ok.msg)
			msg_destroy(c->ok.msg);
		c->ok.msg = msg_dup(resp);
		c->ok.st = st;
		c->ok.side = side;
		c->ok.interval_ms = c->b2bua->cfg->timers.t1_ms;
		c->ok.elapsed_ms = 0;
		if (!c->timer && !call_timer_start(c))
			log_warnx("call %u: no timer for 2xx retransmission", c->id);
	}
	txn_respond(st, resp);
}

void leg_respond_a(struct call *c, int status, const char *phrase, const char *body,
		   const char *warning)
{
	leg_respond(c, c->a_invite, LEG_A, status, phrase, body, warning);
}

void leg_refuse(struct call *c, struct txn *st, int side, const struct verdict *v,
		const char *subject)
{
	if (!st || !txn_request_msg(st))
		return;
	struct refuse_to to = { .req = txn_request_msg(st), .st = st,
				.to_tag = c->legs[side].local_tag,
				.warn_host = c->b2bua->cfg->domain, .subject = subject };
	if (st == c->a_invite)
		call_rec_final(c, v->status, v);
	refuse(&to, v);
}

/* RFC 4474 §9: the signature covers the INVITE as it leaves (From, To,
 * Call-ID, CSeq, Date, Contact, body), so it is made once all of those are
 * in the message; an INVITE that cannot be signed does not leave. */
static void add_legacy_identity(struct call *c, struct sipmsg_build *m)
{
	char identity[1024], info[CFG_URL_MAX + 32];
	if (!m->msg)
		return;
	if (stir_legacy_sign(c, sip_object(m->msg), identity, sizeof(identity), info,
			     sizeof(info)) < 0) {
		sipmsg_build_refuse(m, "Identity", "cannot be signed");
		return;
	}
	sipmsg_build_extension(m, "Identity", identity);
	sipmsg_build_extension(m, "Identity-Info", info);
}

int leg_send_invite(struct call *c, unsigned max_forwards, const struct identity_out *idn,
		    const char *body)
{
	struct leg *lb = &c->legs[LEG_B];
	char branch[40];
	struct sipmsg_build m;
	txn_new_branch(branch, sizeof(branch));
	request_head(&m, c, lb, "INVITE", lb->remote_target, branch, max_forwards, lb->local_cseq);
	sipmsg_build_route(&m, c->b_path);
	for (unsigned i = 0; idn && i < idn->n_asserted && m.msg; i++) {
		url_t *u = url_make(msg_home(m.msg), idn->asserted[i]);
		if (!u)
			sipmsg_build_refuse(&m, "P-Asserted-Identity", "is not a URI");
		sipmsg_build_asserted(&m, u);
	}
	if (idn)
		sipmsg_build_copy(&m, idn->privacy);
	/* RFC 8224 §4: the Date the PASSporT's iat was taken from. */
	if (idn && idn->identity[0]) {
		sipmsg_build_date(&m, idn->date);
		sipmsg_build_extension(&m, "Identity", idn->identity);
	}
	if (idn && idn->legacy)
		sipmsg_build_date(&m, idn->date);
	if (body)
		sipmsg_build_body(&m, "application/sdp", body, strlen(body));
	if (idn && idn->legacy)
		add_legacy_identity(c, &m);
	msg_t *invite = built(c, &m, "INVITE");
	if (!invite)
		return -1;
	c->b_invite = leg_request(c, lb, invite, true);
	return c->b_invite ? 0 : -1;
}

void leg_send_ack(struct call *c, int side, uint32_t cseq, const char *body)
{
	struct leg *l = &c->legs[side];
	char branch[40];
	struct sipmsg_build m;
	txn_new_branch(branch, sizeof(branch));
	request_head(&m, c, l, "ACK", l->remote_target, branch, 70, cseq);
	if (body)
		sipmsg_build_body(&m, "application/sdp", body, strlen(body));
	msg_t *ack = built(c, &m, "ACK");
	if (ack) {
		c->b2bua->net.send(c->b2bua->net.ctx, &l->peer, ack);
		msg_destroy(ack);
	}
}

void leg_send_bye(struct call *c, int side)
{
	struct leg *l = &c->legs[side];
	char branch[40];
	struct sipmsg_build m;
	if (!l->remote_tag[0])
		return;
	/* A peer that gave no Contact still gets a BYE on its flow. */
	url_t invalid[1];
	memset(invalid, 0, sizeof(invalid));
	invalid->url_type = url_sip;
	invalid->url_scheme = "sip";
	invalid->url_host = "invalid";
	txn_new_branch(branch, sizeof(branch));
	request_head(&m, c, l, "BYE", l->remote_target ? l->remote_target : invalid, branch, 70,
		     ++l->local_cseq);
	if (c->end_reason)
		sipmsg_build_value(&m, sip_reason_class, c->end_reason);
	msg_t *bye = built(c, &m, "BYE");
	if (bye && leg_request(c, l, bye, true))
		c->pending_bye++;
}

void leg_send_cancel(struct call *c)
{
	/* §9.1: same Request-URI, Call-ID, From, To, CSeq number and branch. */
	sip_t const *is = sip_object(txn_request_msg(c->b_invite));
	struct leg *b = &c->legs[LEG_B];
	char host[CFG_HOST_MAX + 2];
	unsigned port;
	struct sipmsg_build m;
	leg_sent_by(c, b, host, sizeof(host), &port);
	sipmsg_build_request(&m, "CANCEL", is->sip_request->rq_url);
	sipmsg_build_via(&m, b->peer.transport, host, port, is->sip_via->v_branch, false);
	sipmsg_build_max_forwards(&m, 70);
	sipmsg_build_from(&m, b->local_display, b->local_url, b->local_tag);
	sipmsg_build_to(&m, NULL, b->remote_url, NULL);
	sipmsg_build_call_id(&m, b->call_id);
	sipmsg_build_cseq(&m, is->sip_cseq->cs_seq, "CANCEL");
	if (c->end_reason)
		sipmsg_build_value(&m, sip_reason_class, c->end_reason);
	msg_t *cancel = built(c, &m, "CANCEL");
	if (cancel)
		leg_request(c, b, cancel, false);
}

struct txn *leg_send_relayed(struct call *c, int to, sip_t const *sip, const char *sdp)
{
	struct leg *yl = &c->legs[to];
	char branch[40];
	struct sipmsg_build m;
	txn_new_branch(branch, sizeof(branch));
	request_head(&m, c, yl, sip->sip_request->rq_method_name, yl->remote_target, branch, 70,
		     ++yl->local_cseq);
	if (sdp)
		sipmsg_build_body(&m, "application/sdp", sdp, strlen(sdp));
	else if (sip->sip_payload && sip->sip_payload->pl_len)
		/* INFO, MESSAGE and the like carry their body across unchanged. */
		sipmsg_build_body(&m, sip->sip_content_type ? sip->sip_content_type->c_type : NULL,
				  sip->sip_payload->pl_data, sip->sip_payload->pl_len);
	msg_t *fwd = built(c, &m, sip->sip_request->rq_method_name);
	return fwd ? leg_request(c, yl, fwd, true) : NULL;
}
