/* Unit tests of the call layer (gateway/b2bua/) without sockets for SIP and
 * without sleeping: a real transaction layer runs on a fake environment (a
 * virtual clock that is also the gateway's clock, timers the test fires in
 * due order, and every message sent captured as text), and the call layer
 * reaches it through a fake struct call_net. The test plays both peers: "A"
 * (a phone on the inside leg) sends requests from text, "B" (the next hop
 * on the outside leg) answers the requests the gateway sent it. Each test
 * asserts on what A and B were sent, on the call's state and on the call
 * count, including the transitions only integration tests reached before:
 * CANCEL crossing B's 200, glare, a failed re-INVITE, no ACK for our 2xx,
 * media timeout. Relay ports for SDP calls are real UDP sockets on
 * 127.0.0.1 (the media engine's), but no packet is ever sent to them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "b2bua/call.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "media/media.h"
#include "sip/msg.h"
#include "sip/reply.h"
#include "transaction/txn.h"

/* --- virtual clock and timers (shared by the txn layer and the call layer) */

#define MAX_TIMERS 16384
#define MAX_SENT 1024

struct vtimer {
	uint64_t due;
	void (*fire)(void *);
	void *arg;
	bool armed, released;
};

static struct vtimer timers[MAX_TIMERS];
static unsigned ntimers;
static uint64_t now_ms; /* pc_clock_ms() reads this (pc_clock_set_fake) */

static void *fake_timer_start(void *ctx, unsigned ms, void (*fire)(void *arg), void *arg)
{
	assert_true(ntimers < MAX_TIMERS);
	struct vtimer *v = &timers[ntimers++];
	*v = (struct vtimer){ .due = now_ms + ms, .fire = fire, .arg = arg, .armed = true };
	return v;
}

static void fake_timer_stop(void *ctx, void *timer)
{
	struct vtimer *v = timer;
	assert_false(v->released); /* exactly once */
	v->armed = false;
	v->released = true;
}

/* Move the clock by ms, firing due timers in (due, creation) order, also
 * those armed by timers that fired. */
static void advance(uint64_t ms)
{
	uint64_t target = now_ms + ms;
	for (;;) {
		struct vtimer *best = NULL;
		for (unsigned i = 0; i < ntimers; i++) {
			struct vtimer *v = &timers[i];
			if (v->armed && v->due <= target && (!best || v->due < best->due))
				best = v;
		}
		if (!best)
			break;
		now_ms = best->due;
		best->armed = false;
		best->fire(best->arg);
	}
	now_ms = target;
}

/* --- the two peers and what they were sent -------------------------------- */

/* Who a message went to: A, B, or one of the two phones registered on the
 * outside leg for the forking test (C, D). */
enum { TO_A, TO_B, TO_C, TO_D, N_PEERS, TO_OTHER = N_PEERS };

struct sent {
	int to;
	char *text;
	bool seen;
};

static struct sent sent[MAX_SENT];
static unsigned nsent;

static struct pc_peer make_peer(const char *ip, unsigned port, int listener)
{
	struct pc_peer p;
	memset(&p, 0, sizeof(p));
	struct sockaddr_in *sin = (struct sockaddr_in *)&p.addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	p.addrlen = sizeof(*sin);
	p.transport = PC_TP_UDP;
	p.listener = listener;
	return p;
}

/* A is a phone at 127.0.0.1:5070 (it reaches our listener 0, inside); B is
 * the route's static contact 127.0.0.2:5090 (its answers reach listener 1,
 * outside); C and D, at 127.0.0.3 and .4, register on the outside leg. */
static struct pc_peer peers[N_PEERS];
#define peer_a peers[TO_A]
#define peer_b peers[TO_B]

static int capture(void *ctx, const struct pc_peer *to, msg_t *msg)
{
	size_t len = 0;
	char *text = sipmsg_print(msg, &len);
	assert_non_null(text);
	assert_true(nsent < MAX_SENT);
	int who = TO_OTHER;
	for (int i = 0; i < N_PEERS; i++)
		if (pc_sockaddr_equal(&to->addr, &peers[i].addr))
			who = i;
	sent[nsent++] = (struct sent){ .to = who, .text = strndup(text, len) };
	return 0;
}

static bool starts(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Messages to `who` not taken yet whose start line begins with `prefix`
 * ("INVITE ", "SIP/2.0 200", ...). */
static unsigned waiting(int who, const char *prefix)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nsent; i++)
		n += !sent[i].seen && sent[i].to == who && starts(sent[i].text, prefix);
	return n;
}

/* The first such message, parsed (the caller destroys it), marked taken. */
static msg_t *take(int who, const char *prefix)
{
	for (unsigned i = 0; i < nsent; i++) {
		if (sent[i].seen || sent[i].to != who || !starts(sent[i].text, prefix))
			continue;
		sent[i].seen = true;
		msg_t *m = sipmsg_parse(sent[i].text, strlen(sent[i].text));
		assert_non_null(m);
		return m;
	}
	fail_msg("nothing starting with \"%s\" was sent to %c", prefix, "ABCD?"[who]);
	return NULL;
}

/* Mark every message sent so far as taken (retransmissions we do not count). */
static void take_all(void)
{
	for (unsigned i = 0; i < nsent; i++)
		sent[i].seen = true;
}

static bool has_line(msg_t *m, const char *line)
{
	size_t len;
	char *text = sipmsg_print(m, &len);
	return strstr(text, line) != NULL;
}

/* --- the gateway under test ----------------------------------------------- */

static const char config_text[] =
	"domain = \"gw.test\";\n"
	"listeners = (\n"
	"  { name = \"in\"; leg = \"inside\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5060; },\n"
	"  { name = \"out\"; leg = \"outside\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5080; }\n"
	");\n"
	"legs = (\n"
	"  { name = \"inside\"; media = \"rtp\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 42000, 42099 ]; },\n"
	"  { name = \"outside\"; media = \"rtp\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 43000, 43099 ]; }\n"
	");\n"
	"routes = ( { from_leg = \"inside\"; to_leg = \"outside\"; transport = \"udp\";\n"
	"             address = \"127.0.0.2\"; port = 5090; } );\n";

/* The same with a registrar on the outside leg, and calls to carol routed
 * to her registered contacts (serial forking). */
static const char config_registrar[] =
	"domain = \"gw.test\";\n"
	"listeners = (\n"
	"  { name = \"in\"; leg = \"inside\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5060; },\n"
	"  { name = \"out\"; leg = \"outside\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5080; }\n"
	");\n"
	"legs = (\n"
	"  { name = \"inside\"; media = \"rtp\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 42000, 42099 ]; },\n"
	"  { name = \"outside\"; media = \"rtp\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 43000, 43099 ];\n"
	"    registrar = true; allow_unauthenticated_register = true; }\n"
	");\n"
	"routes = ( { from_leg = \"inside\"; user = \"carol\"; to_leg = \"outside\"; registered = true; } );\n";

static struct gateway_config cfg;
static struct event_base *base;
static struct media_engine *media;
static struct txn_layer *layer;
static struct b2bua *gw;
static struct call_handler handler;
static unsigned retry_after_s;  /* what the fake call_net says of the next hop */
static int last_taken = -1;     /* what on_request returned for the last request */

/* The endpoint's dispatch of transaction callbacks to a struct txn_owner. */
static void tu_response(void *ctx, struct txn *ct, msg_t *resp)
{
	struct txn_owner *o = txn_user_data(ct);
	if (o && o->on_response)
		o->on_response(o, ct, resp);
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

static void respond(struct txn *st, int status, const char *phrase)
{
	msg_t *resp = sipmsg_reply(txn_request_msg(st), status, phrase, txn_local_tag(st));
	assert_non_null(resp);
	txn_respond(st, resp);
}

/* The endpoint's CANCEL handling (RFC 3261 §9.2) and its refusal of what
 * the call layer does not take. */
static void tu_request(void *ctx, struct txn *st, msg_t *req)
{
	sip_t const *sip = sip_object(req);
	if (sip->sip_request->rq_method == sip_method_cancel) {
		struct txn *invite = txn_cancel_target(st);
		respond(st, invite ? 200 : 481, NULL);
		if (!invite || txn_state(invite) != TXN_PROCEEDING)
			return;
		struct txn_owner *o = txn_user_data(invite);
		if (o && o->on_cancel)
			o->on_cancel(o, invite);
		else
			respond(invite, 487, "Request Terminated");
		return;
	}
	last_taken = handler.on_request(handler.ctx, st, req);
	if (!last_taken)
		respond(st, sip->sip_to->a_tag ? 481 : 404, NULL);
}

static void tu_ack(void *ctx, msg_t *ack, const struct pc_peer *from)
{
	handler.on_ack(handler.ctx, ack, from);
}

static struct txn *net_request(void *ctx, msg_t *req, const struct pc_peer *to,
			       struct txn_owner *owner)
{
	return txn_request(layer, req, to, owner);
}

static int net_sent_by(void *ctx, const struct pc_peer *to, const char *leg, char *host,
		       size_t hostlen, unsigned *port)
{
	snprintf(host, hostlen, "127.0.0.1");
	*port = leg && strcmp(leg, "outside") == 0 ? 5080 : 5060;
	return 0;
}

static unsigned net_retry_after(void *ctx, const struct pc_peer *to) { return retry_after_s; }

static int net_peer_address(void *ctx, const struct peer_config *p, struct pc_peer *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, p->address, &a) != 1)
		return -1;
	*out = make_peer(p->address, p->port, -1);
	out->transport = p->transport;
	return 0;
}

static int setup_with(const char *config)
{
	char err[512];
	assert_int_equal(config_load_string(config, "test.conf", "/tmp", &cfg, err, sizeof(err)), 0);
	cfg.limits.media_timeout_s = 0; /* on only where a test wants it */
	memset(timers, 0, sizeof(timers));
	ntimers = 0;
	now_ms = 1000000;
	pc_clock_set_fake(&now_ms);
	retry_after_s = 0;
	last_taken = -1;
	peer_a = make_peer("127.0.0.1", 5070, 0);
	peer_b = make_peer("127.0.0.2", 5090, 1);
	peers[TO_C] = make_peer("127.0.0.3", 5090, 1);
	peers[TO_D] = make_peer("127.0.0.4", 5090, 1);

	struct txn_config tcfg = { .t1_ms = cfg.timers.t1_ms, .t2_ms = cfg.timers.t2_ms,
				   .t4_ms = cfg.timers.t4_ms, .max_transactions = 1000 };
	struct txn_env env = { .timer_start = fake_timer_start, .timer_stop = fake_timer_stop,
			       .send = capture };
	struct txn_user tu = { .on_request = tu_request, .on_ack = tu_ack,
			       .on_response = tu_response, .on_failure = tu_failure,
			       .on_terminated = tu_terminated };
	layer = txn_layer_new(&tcfg, &env, &tu);
	assert_non_null(layer);
	struct call_net net = { .request = net_request, .send = capture, .sent_by = net_sent_by,
				.retry_after = net_retry_after, .peer_address = net_peer_address,
				.timer_start = fake_timer_start, .timer_stop = fake_timer_stop };
	base = event_base_new();
	media = media_engine_new(base);
	assert_non_null(media);
	gw = b2bua_new(base, &cfg, &net, media);
	assert_non_null(gw);
	b2bua_call_handler(gw, &handler);
	return 0;
}

static int setup(void **state) { return setup_with(config_text); }
static int setup_registrar(void **state) { return setup_with(config_registrar); }

static int teardown(void **state)
{
	/* As the daemon stops: the transaction layer first, then the calls. */
	txn_layer_free(layer);
	b2bua_free(gw);
	assert_int_equal(media_engine_stream_count(media), 0);
	media_engine_free(media);
	event_base_free(base);
	for (unsigned i = 0; i < ntimers; i++)
		assert_true(timers[i].released); /* every handle released, fired or not */
	for (unsigned i = 0; i < nsent; i++)
		free(sent[i].text);
	nsent = 0;
	pc_clock_set_fake(NULL);
	return 0;
}

/* --- the peers' messages --------------------------------------------------- */

static const char sdp_a[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
			    "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
static const char sdp_b[] = "v=0\r\no=- 2 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\n"
			    "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/* A's side of its dialog with the gateway. */
struct a_dialog {
	const char *callee;    /* the Request-URI user */
	char call_id[400];
	char gw_tag[64];       /* our tag toward A, from our answers */
	unsigned cseq;
	char invite_branch[64]; /* for its CANCEL */
};

static unsigned branch_seq;

/* Parse a request from A and hand it to the transaction layer. */
static void from_a(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void from_a(const char *fmt, ...)
{
	char text[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	msg_t *m = sipmsg_parse(text, (size_t)n);
	assert_non_null(m);
	txn_layer_receive(layer, m, &peer_a);
}

/* A's request `method` in dialog d, with an SDP body or none: a new
 * transaction, except a CANCEL and the ACK for a non-2xx (`same_txn`),
 * which take the INVITE's branch (§9.1, §17.1.1.3). */
static void a_send(struct a_dialog *d, const char *method, unsigned cseq, const char *body,
		   bool same_txn)
{
	char branch[64];
	if (same_txn)
		snprintf(branch, sizeof(branch), "%s", d->invite_branch);
	else
		snprintf(branch, sizeof(branch), "z9hG4bKa%u", ++branch_seq);
	if (!strcmp(method, "INVITE") && !d->gw_tag[0])
		snprintf(d->invite_branch, sizeof(d->invite_branch), "%s", branch);
	char to_tag[80] = "";
	if (d->gw_tag[0] && strcmp(method, "CANCEL") != 0)
		snprintf(to_tag, sizeof(to_tag), ";tag=%s", d->gw_tag);
	size_t blen = body ? strlen(body) : 0;
	from_a("%s sip:%s@127.0.0.1:5060 SIP/2.0\r\n"
	       "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=%s;rport\r\n"
	       "Max-Forwards: 70\r\n"
	       "From: <sip:alice@127.0.0.1:5070>;tag=atag\r\n"
	       "To: <sip:bob@127.0.0.1:5060>%s\r\n"
	       "Call-ID: %s\r\n"
	       "CSeq: %u %s\r\n"
	       "Contact: <sip:alice@127.0.0.1:5070>\r\n"
	       "%s"
	       "Content-Length: %zu\r\n\r\n%s",
	       method, d->callee, branch, to_tag, d->call_id, cseq, method,
	       body ? "Content-Type: application/sdp\r\n" : "", blen, body ? body : "");
}

static void a_request(struct a_dialog *d, const char *method, unsigned cseq, const char *body)
{
	a_send(d, method, cseq, body, !strcmp(method, "CANCEL"));
}

/* A's ACK for our 2xx (a new transaction, end to end). */
static void a_ack(struct a_dialog *d, unsigned cseq, const char *body)
{
	a_send(d, "ACK", cseq, body, false);
}

/* A takes our response with status prefix `prefix` and learns our tag. */
static msg_t *a_gets(struct a_dialog *d, const char *prefix)
{
	msg_t *m = take(TO_A, prefix);
	sip_t const *sip = sip_object(m);
	if (sip->sip_to->a_tag && !d->gw_tag[0])
		snprintf(d->gw_tag, sizeof(d->gw_tag), "%s", sip->sip_to->a_tag);
	return m;
}

/* A peer answers a request the gateway sent it: Via, From, To, Call-ID and
 * CSeq copied, our To-tag added, a Contact, an optional SDP body. */
static void answer(msg_t *req, const struct pc_peer *from, const char *to_tag, int status,
		   const char *contact, const char *body)
{
	msg_t *resp = sipmsg_reply(req, status, NULL, to_tag);
	assert_non_null(resp);
	if (status > 100 && status < 300 && contact)
		assert_int_equal(sipmsg_add_line(resp, contact), 0);
	if (body)
		assert_int_equal(sipmsg_set_body(resp, "application/sdp", body, strlen(body)), 0);
	size_t len;
	char *text = sipmsg_print(resp, &len);
	msg_t *wire = sipmsg_parse(text, len);
	msg_destroy(resp);
	assert_non_null(wire);
	txn_layer_receive(layer, wire, from);
}

static void b_answers(msg_t *req, int status, const char *body)
{
	answer(req, &peer_b, "btag", status, "Contact: <sip:bob@127.0.0.2:5090>", body);
}

static void a_answers(msg_t *req, int status)
{
	answer(req, &peer_a, NULL, status, NULL, NULL);
}

/* A request from B inside its dialog with the gateway, made from our
 * INVITE to B (B's To becomes its From, our From its To). */
static void b_request(msg_t *b_invite, const char *method, unsigned cseq, const char *body)
{
	sip_t const *inv = sip_object(b_invite);
	char from_uri[300], to_uri[300];
	url_e(from_uri, sizeof(from_uri), inv->sip_to->a_url);
	url_e(to_uri, sizeof(to_uri), inv->sip_from->a_url);
	size_t blen = body ? strlen(body) : 0;
	char text[8192];
	int n = snprintf(text, sizeof(text),
			 "%s sip:gw@127.0.0.1:5080 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.2:5090;branch=z9hG4bKb%u;rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <%s>;tag=btag\r\n"
			 "To: <%s>;tag=%s\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u %s\r\n"
			 "Contact: <sip:bob@127.0.0.2:5090>\r\n"
			 "%s"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, ++branch_seq, from_uri, to_uri, inv->sip_from->a_tag,
			 inv->sip_call_id->i_id, cseq, method,
			 body ? "Content-Type: application/sdp\r\n" : "", blen, body ? body : "");
	assert_true(n > 0 && (size_t)n < sizeof(text));
	msg_t *m = sipmsg_parse(text, (size_t)n);
	assert_non_null(m);
	txn_layer_receive(layer, m, &peer_b);
}

/* The one call in progress (the b2bua lists live and closing calls). */
static struct call *the_call(void)
{
	assert_non_null(gw->calls);
	return gw->calls;
}

static void new_dialog(struct a_dialog *d, const char *call_id)
{
	memset(d, 0, sizeof(*d));
	d->callee = "bob";
	snprintf(d->call_id, sizeof(d->call_id), "%s", call_id);
	d->cseq = 1;
}

/* A calls (SDP offer) and B rings and answers: the call is confirmed and
 * A has acknowledged our 2xx. Returns our INVITE to B (to destroy). */
static msg_t *establish(struct a_dialog *d)
{
	a_request(d, "INVITE", 1, sdp_a);
	assert_true(last_taken);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 180, NULL);
	msg_destroy(a_gets(d, "SIP/2.0 180"));
	b_answers(inv, 200, sdp_b);
	msg_destroy(take(TO_B, "ACK "));
	msg_destroy(a_gets(d, "SIP/2.0 200"));
	a_ack(d, 1, NULL);
	assert_int_equal(the_call()->state, CALL_CONFIRMED);
	return inv;
}

/* The call is ending with a BYE on both legs: each peer answers 200 and
 * the call closes once both are answered. */
static void both_legs_get_bye(struct call *c)
{
	assert_int_equal(c->state, CALL_ENDING);
	msg_t *bye_a = take(TO_A, "BYE ");
	msg_t *bye_b = take(TO_B, "BYE ");
	a_answers(bye_a, 200);
	assert_int_equal(c->state, CALL_ENDING); /* one BYE still out */
	b_answers(bye_b, 200, NULL);
	assert_int_equal(c->state, CALL_CLOSED);
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(bye_a);
	msg_destroy(bye_b);
}

/* A hangs up an established call: its BYE is answered at once, B gets
 * ours, and B's answer closes the call. */
static void a_hangs_up(struct a_dialog *d, unsigned cseq, struct call *c)
{
	a_request(d, "BYE", cseq, NULL);
	assert_true(last_taken);
	msg_t *r = take(TO_A, "SIP/2.0 200");
	assert_int_equal(sip_object(r)->sip_cseq->cs_method, sip_method_bye);
	msg_destroy(r);
	assert_int_equal(c->state, CALL_ENDING);
	msg_t *bye = take(TO_B, "BYE ");
	assert_string_equal(sip_object(bye)->sip_to->a_tag, "btag");
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	assert_int_equal(b2bua_call_count(gw), 0);
}

/* Long enough for every transaction to end (Timer B/F/H/L/M, 64*T1, and
 * K/J), then the reaper. */
static void settle(void)
{
	advance(64 * cfg.timers.t1_ms + cfg.timers.t4_ms + 1000);
	assert_int_equal(txn_layer_count(layer), 0);
	assert_null(gw->calls);
	assert_null(gw->dead);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(media_engine_stream_count(media), 0);
}

/* --- tests ------------------------------------------------------------------ */

/* 1. INVITE -> 180 -> 200 -> ACK -> BYE: inviting, early, confirmed, ending,
 * closed; each leg gets its own dialog and B's BYE answer closes the call. */
static void basic_call(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "basic-1@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	assert_true(last_taken);
	assert_int_equal(b2bua_call_count(gw), 1);
	struct call *c = the_call();
	assert_int_equal(c->state, CALL_INVITING);
	msg_destroy(take(TO_A, "SIP/2.0 100"));
	msg_t *inv = take(TO_B, "INVITE sip:bob@127.0.0.2:5090 ");
	sip_t const *isip = sip_object(inv);
	/* Leg B is a dialog of its own: not A's Call-ID, with an offer of ours. */
	assert_string_not_equal(isip->sip_call_id->i_id, d.call_id);
	assert_non_null(isip->sip_payload);
	assert_non_null(strstr(isip->sip_payload->pl_data, "c=IN IP4 127.0.0.1"));
	assert_int_equal(isip->sip_max_forwards->mf_count, 69);

	b_answers(inv, 180, NULL);
	assert_int_equal(c->state, CALL_EARLY);
	msg_t *ring = a_gets(&d, "SIP/2.0 180");
	assert_true(has_line(ring, "Contact: <sip:gw@127.0.0.1:5060;transport=udp>"));
	msg_destroy(ring);

	b_answers(inv, 200, sdp_b);
	assert_int_equal(c->state, CALL_CONFIRMED);
	msg_t *ack = take(TO_B, "ACK sip:bob@127.0.0.2:5090 ");
	assert_int_equal(sip_object(ack)->sip_cseq->cs_seq, 1);
	msg_destroy(ack);
	msg_t *ok = a_gets(&d, "SIP/2.0 200");
	assert_non_null(sip_object(ok)->sip_payload);
	msg_destroy(ok);
	assert_int_equal(media_engine_stream_count(media), 1);
	a_ack(&d, 1, NULL);
	assert_null(c->ok.msg); /* our 2xx arrived: no more retransmissions */

	a_request(&d, "BYE", 2, NULL);
	assert_true(last_taken);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	assert_int_equal(c->state, CALL_ENDING);
	msg_t *bye = take(TO_B, "BYE sip:bob@127.0.0.2:5090 ");
	assert_int_equal(sip_object(bye)->sip_cseq->cs_seq, 2);
	assert_string_equal(sip_object(bye)->sip_to->a_tag, "btag");
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(waiting(TO_A, ""), 0);
	assert_int_equal(waiting(TO_B, ""), 0);
	msg_destroy(inv);
	settle();
}

/* 1b. Late offer: A's INVITE has no SDP, so B offers in its 2xx, A answers
 * in its ACK, and B gets that answer in our ACK (held until then). */
static void late_offer(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "late@127.0.0.1");
	a_request(&d, "INVITE", 1, NULL);
	msg_t *inv = take(TO_B, "INVITE ");
	assert_null(sip_object(inv)->sip_payload);
	struct call *c = the_call();
	assert_true(c->late_offer);
	b_answers(inv, 200, sdp_b);
	assert_int_equal(c->state, CALL_CONFIRMED);
	assert_int_equal(waiting(TO_B, "ACK "), 0); /* until A's answer */
	msg_t *ok = a_gets(&d, "SIP/2.0 200");
	assert_non_null(sip_object(ok)->sip_payload); /* B's offer, our relay */
	msg_destroy(ok);
	/* B resends its 200 before A's answer came: still ours to ACK later. */
	b_answers(inv, 200, sdp_b);
	assert_int_equal(c->state, CALL_CONFIRMED);
	assert_int_equal(waiting(TO_B, "ACK "), 0);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	a_ack(&d, 1, sdp_a);
	msg_t *ack = take(TO_B, "ACK ");
	assert_non_null(sip_object(ack)->sip_payload);
	assert_non_null(strstr(sip_object(ack)->sip_payload->pl_data, "m=audio"));
	msg_destroy(ack);
	assert_true(c->answered);

	b_request(inv, "BYE", 2, NULL); /* this time B hangs up */
	msg_destroy(take(TO_B, "SIP/2.0 200"));
	msg_t *bye = take(TO_A, "BYE ");
	a_answers(bye, 200);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	msg_destroy(inv);
	settle();
}

/* 1c. B resends its 200 (our ACK was lost): it gets our ACK again and the
 * call stays confirmed; A gets the 200 again, as before the split. */
static void b_200_retransmitted(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "b200@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();
	b_answers(inv, 200, sdp_b);
	msg_destroy(take(TO_B, "ACK "));
	assert_int_equal(c->state, CALL_CONFIRMED);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	a_ack(&d, 1, NULL);
	assert_null(c->ok.msg);
	a_hangs_up(&d, 2, c);
	msg_destroy(inv);
	settle();
}

/* 1d. B never answers our INVITE (Timer B): A gets 408, the call closes. */
static void invite_timeout(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "timeout@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_destroy(take(TO_B, "INVITE "));
	advance(64 * cfg.timers.t1_ms - 1);
	assert_int_equal(b2bua_call_count(gw), 1);
	advance(1);
	msg_t *r = take(TO_A, "SIP/2.0 408");
	assert_true(has_line(r, "no answer from the next hop"));
	msg_destroy(r);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(media_engine_stream_count(media), 0);
	settle();
}

/* 1f. B's final answers that do not make a call: a redirect is not
 * followed across legs (480 to A); a 200 without the SDP answer is
 * acknowledged and ended (488 to A, BYE to B). */
static void b_answers_that_fail(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "redirect@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 302, NULL);
	msg_destroy(take(TO_B, "ACK "));
	msg_t *r = take(TO_A, "SIP/2.0 480");
	assert_true(has_line(r, "redirect not followed"));
	msg_destroy(r);
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(inv);

	new_dialog(&d, "nosdp@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	inv = take(TO_B, "INVITE ");
	struct call *c = the_call();
	b_answers(inv, 200, NULL);
	msg_destroy(take(TO_B, "ACK "));
	r = take(TO_A, "SIP/2.0 488");
	assert_true(has_line(r, "the answer carries no SDP"));
	msg_destroy(r);
	assert_int_equal(c->state, CALL_ENDING);
	msg_t *bye = take(TO_B, "BYE ");
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(inv);
	settle();
}

/* Phone `who` (C or D) registers as `user` from where it is. */
static void registers(int who, const char *user)
{
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &((struct sockaddr_in *)&peers[who].addr)->sin_addr, ip, sizeof(ip));
	char text[2048];
	int n = snprintf(text, sizeof(text),
			 "REGISTER sip:gw.test SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:5090;branch=z9hG4bKr%u;rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:%s@gw.test>;tag=r%d\r\n"
			 "To: <sip:%s@gw.test>\r\n"
			 "Call-ID: reg-%d@%s\r\n"
			 "CSeq: 1 REGISTER\r\n"
			 "Contact: <sip:%s@%s:5090>\r\n"
			 "Expires: 3600\r\n"
			 "Content-Length: 0\r\n\r\n",
			 ip, ++branch_seq, user, who, user, who, ip, user, ip);
	msg_t *m = sipmsg_parse(text, (size_t)n);
	assert_non_null(m);
	txn_layer_receive(layer, m, &peers[who]);
	assert_true(last_taken);
	msg_destroy(take(who, "SIP/2.0 200"));
}

/* 1e. A call to a registered user tries her contacts one after another:
 * the first refuses (486), the next one is tried as a new INVITE in the
 * same leg-B dialog-to-be (same Call-ID, CSeq + 1), and A hears only the
 * outcome of the second. */
static void serial_forking(void **state)
{
	registers(TO_C, "carol");
	registers(TO_D, "carol");
	struct a_dialog d;
	new_dialog(&d, "fork@127.0.0.1");
	d.callee = "carol";
	a_request(&d, "INVITE", 1, sdp_a);
	assert_true(last_taken);
	int first = waiting(TO_C, "INVITE ") ? TO_C : TO_D;
	int second = first == TO_C ? TO_D : TO_C;
	msg_t *inv1 = take(first, "INVITE sip:carol@");
	assert_int_equal(waiting(second, "INVITE "), 0);
	answer(inv1, &peers[first], "xtag", 486, NULL, NULL);
	msg_destroy(take(first, "ACK "));
	msg_t *inv2 = take(second, "INVITE sip:carol@");
	assert_string_equal(sip_object(inv2)->sip_call_id->i_id, sip_object(inv1)->sip_call_id->i_id);
	assert_int_equal(sip_object(inv2)->sip_cseq->cs_seq, sip_object(inv1)->sip_cseq->cs_seq + 1);
	assert_int_equal(waiting(TO_A, "SIP/2.0 486"), 0);
	struct call *c = the_call();
	assert_int_equal(c->state, CALL_INVITING);

	answer(inv2, &peers[second], "ytag", 180, "Contact: <sip:carol@127.0.0.9:5090>", NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 180"));
	answer(inv2, &peers[second], "ytag", 200, "Contact: <sip:carol@127.0.0.9:5090>", sdp_b);
	msg_destroy(take(second, "ACK "));
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	assert_int_equal(c->state, CALL_CONFIRMED);
	a_ack(&d, 1, NULL);

	a_request(&d, "BYE", 2, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	msg_t *bye = take(second, "BYE ");
	assert_string_equal(sip_object(bye)->sip_to->a_tag, "ytag");
	answer(bye, &peers[second], NULL, 200, NULL, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	msg_destroy(inv1);
	msg_destroy(inv2);
	settle();
}

/* 2a. No route from the caller's leg: not the call layer's (the endpoint
 * answers 404). B's leg, outside, has no route. */
static void phase_no_route(void **state)
{
	peer_a.listener = 1;
	struct a_dialog d;
	new_dialog(&d, "noroute@127.0.0.1");
	a_request(&d, "INVITE", 1, NULL);
	assert_false(last_taken);
	msg_destroy(take(TO_A, "SIP/2.0 404"));
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(waiting(TO_B, ""), 0);
	settle();
}

/* 2b. A Call-ID the dialog index could not hold whole. */
static void phase_call_id_too_long(void **state)
{
	char id[300];
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	struct a_dialog d;
	new_dialog(&d, id);
	a_request(&d, "INVITE", 1, NULL);
	assert_true(last_taken);
	msg_t *r = take(TO_A, "SIP/2.0 400 Call-ID or Tag Too Long");
	msg_destroy(r);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(waiting(TO_B, ""), 0);
	settle();
}

/* 2c. max_calls reached: 503 with Retry-After 10, no INVITE onward. */
static void phase_capacity(void **state)
{
	cfg.limits.max_calls = 1;
	struct a_dialog d1, d2;
	new_dialog(&d1, "cap-1@127.0.0.1");
	new_dialog(&d2, "cap-2@127.0.0.1");
	a_request(&d1, "INVITE", 1, NULL);
	msg_t *inv = take(TO_B, "INVITE ");
	a_request(&d2, "INVITE", 1, NULL);
	assert_true(last_taken);
	msg_t *r = take(TO_A, "SIP/2.0 503");
	assert_true(has_line(r, "Retry-After: 10"));
	msg_destroy(r);
	assert_int_equal(waiting(TO_B, "INVITE "), 0);
	assert_int_equal(b2bua_call_count(gw), 1);
	/* The first call still works: B refuses it, A learns why. */
	b_answers(inv, 486, NULL);
	msg_destroy(take(TO_B, "ACK ")); /* the transaction's ACK for a non-2xx */
	msg_destroy(take(TO_A, "SIP/2.0 486"));
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(inv);
	settle();
}

/* 2d. The next hop is backed off after failed connections: 503 with its
 * Retry-After, before any INVITE, relay port or key is spent. */
static void phase_next_hop_backed_off(void **state)
{
	retry_after_s = 17;
	struct a_dialog d;
	new_dialog(&d, "backoff@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	assert_true(last_taken);
	msg_t *r = take(TO_A, "SIP/2.0 503");
	assert_true(has_line(r, "Retry-After: 17"));
	assert_true(has_line(r, "next hop down"));
	msg_destroy(r);
	assert_int_equal(waiting(TO_B, ""), 0);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(media_engine_stream_count(media), 0);
	settle();
}

/* 3. A cancels while B's 200 is on its way: A gets 200 for the CANCEL and
 * 487, B gets the CANCEL; then B's 200 arrives for a closed call: B gets
 * ACK and BYE, and nothing is left once the transactions end. */
static void cancel_crossing_200(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "cancel@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 180, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 180"));

	a_request(&d, "CANCEL", 1, NULL);
	msg_t *r = take(TO_A, "SIP/2.0 200");
	assert_int_equal(sip_object(r)->sip_cseq->cs_method, sip_method_cancel);
	msg_destroy(r);
	msg_destroy(take(TO_A, "SIP/2.0 487"));
	msg_t *cancel = take(TO_B, "CANCEL ");
	/* §9.1: the INVITE's branch and CSeq number. */
	assert_string_equal(sip_object(cancel)->sip_via->v_branch, sip_object(inv)->sip_via->v_branch);
	assert_int_equal(sip_object(cancel)->sip_cseq->cs_seq, sip_object(inv)->sip_cseq->cs_seq);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(the_call()->state, CALL_CLOSED);

	b_answers(inv, 200, sdp_b); /* crossed the CANCEL */
	b_answers(cancel, 200, NULL);
	msg_destroy(cancel);
	msg_destroy(take(TO_B, "ACK "));
	msg_t *bye = take(TO_B, "BYE ");
	assert_string_equal(sip_object(bye)->sip_to->a_tag, "btag");
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	a_send(&d, "ACK", 1, NULL, true); /* A's ACK for the 487: absorbed below */
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 0);
	assert_int_equal(waiting(TO_B, "INVITE "), 0);
	msg_destroy(inv);
	settle();
}

/* 3b. A hangs up with BYE while B rings, and B's 200 crosses our BYE to
 * it: A gets 200 and 487, B's 200 is acknowledged, and the call stays
 * ending (it is not answered again) until B answers the BYE. */
static void bye_crossing_200(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "byecross@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 180, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 180"));
	struct call *c = the_call();
	assert_int_equal(c->state, CALL_EARLY);

	a_request(&d, "BYE", 2, NULL);
	msg_t *r = take(TO_A, "SIP/2.0 200");
	assert_int_equal(sip_object(r)->sip_cseq->cs_method, sip_method_bye);
	msg_destroy(r);
	msg_destroy(take(TO_A, "SIP/2.0 487"));
	msg_t *bye = take(TO_B, "BYE ");
	assert_int_equal(c->state, CALL_ENDING);

	b_answers(inv, 200, sdp_b); /* crossed our BYE */
	msg_destroy(take(TO_B, "ACK "));
	assert_int_equal(c->state, CALL_ENDING);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 0);
	b_answers(bye, 200, NULL);
	assert_int_equal(c->state, CALL_CLOSED);
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(bye);
	a_send(&d, "ACK", 1, NULL, true); /* for the 487 */
	msg_destroy(inv);
	settle();
}

/* 4. Glare: B's re-INVITE crosses the one we relayed to it from A (491);
 * A's second request while its first is pending must wait (500 with
 * Retry-After). The first one completes normally afterwards. */
static void glare(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "glare@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();

	a_request(&d, "INVITE", 2, sdp_a);
	msg_t *reinv = take(TO_B, "INVITE ");
	assert_string_equal(sip_object(reinv)->sip_to->a_tag, "btag");
	assert_non_null(c->relay.ct);

	b_request(inv, "INVITE", 2, sdp_b); /* crossing on leg B */
	msg_t *r = take(TO_B, "SIP/2.0 491");
	assert_true(has_line(r, "Retry-After: 1"));
	msg_destroy(r);

	a_request(&d, "INFO", 3, NULL); /* A again, same side, before the answer */
	r = take(TO_A, "SIP/2.0 500");
	assert_true(has_line(r, "Retry-After: 1"));
	assert_true(has_line(r, "a previous request is still pending"));
	msg_destroy(r);
	assert_int_equal(waiting(TO_B, "INFO "), 0);

	b_answers(reinv, 200, sdp_b);
	msg_destroy(take(TO_B, "ACK "));
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	assert_null(c->relay.ct);
	assert_int_equal(c->state, CALL_CONFIRMED);
	a_ack(&d, 2, NULL);
	msg_destroy(reinv);

	a_hangs_up(&d, 4, c);
	msg_destroy(inv);
	settle();
}

/* 4b. What is answered without crossing: PRACK (no reliable provisionals
 * here, 481), a re-INVITE without an offer (488); what crosses: OPTIONS,
 * answered by the other leg. Once the call is ending, a request gets 481. */
static void in_dialog_requests(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "indialog@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();

	a_request(&d, "PRACK", 2, NULL);
	msg_destroy(take(TO_A, "SIP/2.0 481"));
	a_request(&d, "INVITE", 3, NULL);
	msg_t *r = take(TO_A, "SIP/2.0 488");
	assert_true(has_line(r, "a re-INVITE without an offer is not supported"));
	msg_destroy(r);
	assert_int_equal(waiting(TO_B, ""), 0);

	a_request(&d, "OPTIONS", 4, NULL);
	msg_t *opt = take(TO_B, "OPTIONS ");
	assert_int_equal(sip_object(opt)->sip_cseq->cs_seq, 2); /* leg B's own CSeq */
	b_answers(opt, 200, NULL);
	msg_destroy(opt);
	r = a_gets(&d, "SIP/2.0 200");
	assert_int_equal(sip_object(r)->sip_cseq->cs_method, sip_method_options);
	msg_destroy(r);
	assert_null(c->relay.st);

	a_request(&d, "BYE", 5, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	assert_int_equal(c->state, CALL_ENDING);
	b_request(inv, "INFO", 2, NULL);
	msg_destroy(take(TO_B, "SIP/2.0 481"));
	msg_t *bye = take(TO_B, "BYE ");
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	msg_destroy(inv);
	settle();
}

/* 5. A re-INVITE relayed to B gets no answer (Timer B): A gets 408 and,
 * since a failed re-INVITE ends the dialog (RFC 3261 §14.1), both legs get
 * a BYE. */
static void reinvite_timeout(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "reinvite@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();

	a_request(&d, "INVITE", 2, sdp_a);
	msg_destroy(take(TO_B, "INVITE "));
	advance(64 * cfg.timers.t1_ms - 1);
	assert_int_equal(waiting(TO_A, "SIP/2.0 408"), 0);
	assert_int_equal(c->state, CALL_CONFIRMED);
	advance(1);
	msg_t *r = take(TO_A, "SIP/2.0 408");
	assert_int_equal(sip_object(r)->sip_cseq->cs_seq, 2);
	msg_destroy(r);
	assert_int_equal(b2bua_call_count(gw), 1);
	both_legs_get_bye(c);
	msg_destroy(inv);
	settle();
}

/* 5b. A hangs up while its re-INVITE is still out to B, and that re-INVITE
 * then times out: A hears 408 for it, but the closed call is not ended a
 * second time (before the split it was: BYEs again and the call count
 * went below zero, refusing every later call as over capacity). */
static void reinvite_timeout_after_bye(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "late408@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();
	a_request(&d, "INVITE", 2, sdp_a);
	msg_destroy(take(TO_B, "INVITE "));
	a_hangs_up(&d, 3, c);
	take_all();
	advance(64 * cfg.timers.t1_ms);
	msg_destroy(take(TO_A, "SIP/2.0 408"));
	assert_int_equal(waiting(TO_A, "BYE "), 0);
	assert_int_equal(waiting(TO_B, "BYE "), 0);
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(inv);
	settle();
}

/* 6. No media on any stream for media_timeout: BYE on both legs. */
static void media_timeout(void **state)
{
	cfg.limits.media_timeout_s = 5;
	struct a_dialog d;
	new_dialog(&d, "media@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();
	/* Watched once a second from the first look on (T1 after the 2xx):
	 * the fifth second of silence after it ends the call. */
	advance(5000);
	assert_int_equal(c->state, CALL_CONFIRMED);
	assert_int_equal(waiting(TO_A, "BYE "), 0);
	advance(1000);
	both_legs_get_bye(c);
	assert_int_equal(media_engine_stream_count(media), 0);
	msg_destroy(inv);
	settle();
}

/* 6b. A leg's TCP connection closed and did not come back within
 * connection_grace: the call ends, with a BYE only on the other leg. */
static void connection_grace(void **state)
{
	peer_a.transport = PC_TP_TCP;
	peer_a.conn_id = 42;
	struct a_dialog d;
	new_dialog(&d, "grace@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();
	handler.on_inbound_closed(handler.ctx, 41); /* someone else's */
	assert_int_equal(c->legs[LEG_A].conn_lost_ms, 0);
	handler.on_inbound_closed(handler.ctx, 42);
	assert_int_equal(c->legs[LEG_A].conn_lost_ms, now_ms);
	/* The call timer looks once a second (T1 after the 2xx, then 1 s). */
	advance(cfg.limits.connection_grace_s * 1000 - 1000);
	assert_int_equal(c->state, CALL_CONFIRMED);
	advance(2000);
	assert_int_equal(c->state, CALL_ENDING);
	assert_int_equal(waiting(TO_A, "BYE "), 0);
	msg_t *bye = take(TO_B, "BYE ");
	b_answers(bye, 200, NULL);
	assert_int_equal(c->state, CALL_CLOSED);
	msg_destroy(bye);
	msg_destroy(inv);
	settle();
}

/* 7. Our 2xx to A is resent over UDP at T1, 2T1, ... capped at T2, until
 * 64*T1 without an ACK ends the call with a BYE on both legs. */
static void ok_retransmitted_until_no_ack(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "noack@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 200, sdp_b);
	struct call *c = the_call();
	assert_int_equal(c->state, CALL_CONFIRMED);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	take_all();
	/* Resent at 500, 1500, 3500, 7500 ms, then every T2 (4 s). */
	advance(499);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 0);
	advance(1);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 1);
	advance(1000);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 2);
	advance(2000);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 3);
	advance(4000);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 4);
	advance(4000);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 5);
	/* The last retransmission leaves at 31.5 s; the 2xx's transaction ends
	 * at 64*T1 (Timer L) and the next look, at 35.5 s, gives up. */
	advance(35500 - 11500 - 1);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 10);
	assert_int_equal(c->state, CALL_CONFIRMED);
	assert_int_equal(waiting(TO_A, "BYE "), 0);
	advance(1);
	both_legs_get_bye(c);
	msg_destroy(inv);
	settle();
}

/* 7b. The same over a reliable transport: no retransmission, and the ACK
 * is not awaited (the transaction layer's Timer L ends only the
 * transaction). */
static void ok_not_retransmitted_over_tcp(void **state)
{
	peer_a.transport = PC_TP_TCP;
	peer_a.conn_id = 9;
	struct a_dialog d;
	new_dialog(&d, "tcp@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 200, sdp_b);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	take_all();
	advance(40000);
	assert_int_equal(waiting(TO_A, ""), 0);
	assert_int_equal(the_call()->state, CALL_CONFIRMED);
	a_hangs_up(&d, 2, the_call());
	msg_destroy(inv);
	settle();
}

/* 8. The table of legal moves: legal ones change the state; an illegal one
 * is a bug, caught by the assertion in debug builds (run in a child, so
 * the suite goes on) and logged, the state unchanged in meaning, otherwise. */
static void illegal_state_move_is_caught(void **state)
{
	struct call c;
	memset(&c, 0, sizeof(c));
	c.id = 7;
	c.state = CALL_INVITING;
	call_set_state(&c, CALL_EARLY);
	call_set_state(&c, CALL_CONFIRMED);
	call_set_state(&c, CALL_ENDING);
	call_set_state(&c, CALL_ENDING);
	call_set_state(&c, CALL_CLOSED);
	assert_int_equal(c.state, CALL_CLOSED);
	assert_string_equal(call_state_name(CALL_EARLY), "early");

	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		c.state = CALL_ENDING;
		call_set_state(&c, CALL_CONFIRMED); /* ended calls are not answered again */
		_exit(c.state == CALL_CONFIRMED ? 3 : 4);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
#ifdef NDEBUG
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
#else
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#endif
}

static int group_setup(void **state)
{
	log_set_level(getenv("CALL_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	return sipmsg_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(basic_call, setup, teardown),
		cmocka_unit_test_setup_teardown(late_offer, setup, teardown),
		cmocka_unit_test_setup_teardown(b_200_retransmitted, setup, teardown),
		cmocka_unit_test_setup_teardown(invite_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(b_answers_that_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(serial_forking, setup_registrar, teardown),
		cmocka_unit_test_setup_teardown(phase_no_route, setup, teardown),
		cmocka_unit_test_setup_teardown(phase_call_id_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(phase_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(phase_next_hop_backed_off, setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_crossing_200, setup, teardown),
		cmocka_unit_test_setup_teardown(bye_crossing_200, setup, teardown),
		cmocka_unit_test_setup_teardown(glare, setup, teardown),
		cmocka_unit_test_setup_teardown(in_dialog_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(reinvite_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(reinvite_timeout_after_bye, setup, teardown),
		cmocka_unit_test_setup_teardown(media_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(connection_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(ok_retransmitted_until_no_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(ok_not_retransmitted_over_tcp, setup, teardown),
		cmocka_unit_test(illegal_state_move_is_caught),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
