/* Every message a call sends on one of its legs, built from that leg's own
 * dialog (Call-ID, tags, CSeq, URIs, our Via and Contact): requests (INVITE,
 * ACK, BYE, CANCEL, relayed in-dialog requests) and our responses to the
 * leg's requests. Nothing that identifies one leg's network is copied to the
 * other: messages are built from scratch, not edited copies. */
#include "call.h"
#include "refuse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/url.h>

#include "core/buf.h"
#include "core/log.h"
#include "sip/reply.h"

#define ALLOW "INVITE, ACK, CANCEL, OPTIONS, BYE"

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

void leg_sent_by(struct call *c, struct leg *l, char *out, size_t len)
{
	struct b2bua *b = c->b2bua;
	char host[CFG_HOST_MAX];
	unsigned port = 0;
	if (b->net.sent_by(b->net.ctx, &l->peer, l->cfg ? l->cfg->name : NULL, host, sizeof(host),
			   &port) < 0)
		snprintf(host, sizeof(host), "%s", b->cfg->domain);
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

/* A client transaction for `req` on leg l, counted as the call's. */
static struct txn *leg_request(struct call *c, struct leg *l, msg_t *req, bool owned)
{
	struct b2bua *b = c->b2bua;
	struct txn *t = b->net.request(b->net.ctx, req, &l->peer, owned ? &l->owner : NULL);
	if (t && owned)
		c->live_txns++;
	return t;
}

msg_t *leg_reply(struct call *c, struct txn *st, int side, int status, const char *phrase,
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

void leg_respond(struct call *c, struct txn *st, int side, int status, const char *phrase,
		 const char *body, const char *warning)
{
	if (!st)
		return;
	msg_t *resp = leg_reply(c, st, side, status, phrase, body, warning);
	if (!resp)
		return;
	bool invite = sip_object(txn_request_msg(st))->sip_request->rq_method == sip_method_invite;
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
	if (!st)
		return;
	struct refuse_to to = { .req = txn_request_msg(st), .st = st,
				.to_tag = c->legs[side].local_tag,
				.warn_host = c->b2bua->cfg->domain, .subject = subject };
	refuse(&to, v);
}

int leg_send_invite(struct call *c, const char *ruri, unsigned max_forwards, const char *extra,
		    const char *body)
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
	c->b_invite = leg_request(c, lb, invite, true);
	return c->b_invite ? 0 : -1;
}

void leg_send_ack(struct call *c, int side, uint32_t cseq, const char *body)
{
	struct leg *l = &c->legs[side];
	char branch[40];
	struct pc_buf out;
	txn_new_branch(branch, sizeof(branch));
	buf_init(&out, 8192);
	request_head(c, l, "ACK", l->remote_target, branch, 70, cseq, &out);
	msg_t *ack = finish(&out, body);
	if (ack) {
		c->b2bua->net.send(c->b2bua->net.ctx, &l->peer, ack);
		msg_destroy(ack);
	}
}

void leg_send_bye(struct call *c, int side)
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
	if (bye && leg_request(c, l, bye, true))
		c->pending_bye++;
}

void leg_send_cancel(struct call *c)
{
	/* §9.1: same Request-URI, Call-ID, From, To, CSeq number and branch. */
	sip_t const *is = sip_object(txn_request_msg(c->b_invite));
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
		leg_request(c, b, cancel, false);
}

struct txn *leg_send_relayed(struct call *c, int to, sip_t const *sip, const char *sdp)
{
	struct leg *yl = &c->legs[to];
	char branch[40];
	struct pc_buf out;
	txn_new_branch(branch, sizeof(branch));
	buf_init(&out, 65536);
	request_head(c, yl, sip->sip_request->rq_method_name, yl->remote_target, branch, 70,
		     ++yl->local_cseq, &out);
	msg_t *fwd;
	if (sdp) {
		fwd = finish(&out, sdp);
	} else {
		/* INFO, MESSAGE and the like carry their body across unchanged. */
		bool has_body = sip->sip_payload && sip->sip_payload->pl_len;
		if (has_body)
			appendf(&out, "Content-Type: %s\r\n", sip->sip_content_type->c_type);
		appendf(&out, "Content-Length: %u\r\n\r\n",
			has_body ? (unsigned)sip->sip_payload->pl_len : 0);
		if (has_body)
			buf_append(&out, sip->sip_payload->pl_data, sip->sip_payload->pl_len);
		fwd = sipmsg_parse((const char *)out.data, out.len);
		buf_free(&out);
	}
	return fwd ? leg_request(c, yl, fwd, true) : NULL;
}
