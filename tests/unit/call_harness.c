/* The fake world of the call-layer unit tests (test_call.c): see
 * call_harness.h. A real transaction layer runs on fake timers and a fake
 * send, the b2bua on a fake call_net over that layer, and the endpoint's
 * part (txn_owner dispatch, CANCEL, refusing what the call layer does not
 * take) is played here in a few lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "media/pool.h"
#include "call_harness.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "sip/reply.h"
#include "transport/transport.h"

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
uint64_t now_ms; /* pc_clock_ms() reads this (pc_clock_set_fake) */

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
void advance(uint64_t ms)
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

/* --- the peers and what they were sent ------------------------------------ */

struct sent {
	int to;
	char *text;
	bool seen;
};

static struct sent sent[MAX_SENT];
static unsigned nsent;

/* A peer at a numeric address, as transport resolves configured peers,
 * arriving on our listener `listener` (-1: one we send to). */
static struct pc_peer make_peer(const char *ip, unsigned port, int listener)
{
	struct peer_config pc = { .transport = PC_TP_UDP, .port = port };
	snprintf(pc.address, sizeof(pc.address), "%s", ip);
	struct pc_peer p;
	assert_int_equal(transport_peer_address(&pc, &p), 0);
	p.listener = listener;
	return p;
}

/* A is a phone at 127.0.0.1:5070 (it reaches our listener 0, inside); B is
 * the route's static contact 127.0.0.2:5090 (its answers reach listener 1,
 * outside); C and D, at 127.0.0.3 and .4, register on the outside leg. */
struct pc_peer peers[N_PEERS];

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
unsigned waiting(int who, const char *prefix)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nsent; i++)
		n += !sent[i].seen && sent[i].to == who && starts(sent[i].text, prefix);
	return n;
}

/* The first such message, parsed (the caller destroys it), marked taken. */
msg_t *take(int who, const char *prefix)
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
void take_all(void)
{
	for (unsigned i = 0; i < nsent; i++)
		sent[i].seen = true;
}

bool has_line(msg_t *m, const char *line)
{
	size_t len;
	char *text = sipmsg_print(m, &len);
	return strstr(text, line) != NULL;
}

/* --- the gateway under test ----------------------------------------------- */

/* Two legs with a UDP listener each; calls from inside go to B. */
#define CONFIG_BASE \
	"domain = \"gw.test\";\n" \
	"listeners = (\n" \
	"  { name = \"in\"; leg = \"inside\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5060; },\n" \
	"  { name = \"out\"; leg = \"outside\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5080; }\n" \
	");\n" \
	"legs = (\n" \
	"  { name = \"inside\"; media = \"rtp\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 42000, 42099 ]; },\n" \
	"  { name = \"outside\"; media = \"rtp\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 43000, 43099 ];\n"

static const char config_text[] = CONFIG_BASE " }\n);\n"
	"routes = ( { from_leg = \"inside\"; to_leg = \"outside\"; transport = \"udp\";\n"
	"             address = \"127.0.0.2\"; port = 5090; } );\n";

/* The same with a registrar on the outside leg, and calls to carol routed
 * to her registered contacts (serial forking). */
static const char config_registrar[] = CONFIG_BASE
	"    registrar = true; allow_unauthenticated_register = true; }\n);\n"
	"routes = ( { from_leg = \"inside\"; user = \"carol\"; to_leg = \"outside\"; registered = true; } );\n";

struct gateway_config cfg;
static struct event_base *base;
struct media_engine *media;
static struct media_pool *pool;
struct txn_layer *layer;
struct b2bua *gw;
struct call_handler handler;
unsigned retry_after_s;  /* what the fake call_net says of the next hop */
int last_taken = -1;     /* what on_request returned for the last request */

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
	return transport_peer_address(p, out);
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
	pool = media_pool_new(base, 1);
	media = media_pool_engine(pool);
	assert_non_null(media);
	gw = b2bua_new(base, &cfg, &net, pool);
	assert_non_null(gw);
	b2bua_call_handler(gw, &handler);
	return 0;
}

int setup(void **state) { return setup_with(config_text); }
int setup_registrar(void **state) { return setup_with(config_registrar); }

int teardown(void **state)
{
	/* As the daemon stops: the transaction layer first, then the calls. */
	txn_layer_free(layer);
	b2bua_free(gw);
	assert_int_equal(media_engine_stream_count(media), 0);
	media_pool_free(pool);
	media = NULL;
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

const char sdp_a[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
		     "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
const char sdp_b[] = "v=0\r\no=- 2 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\n"
		     "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

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
void a_send(struct a_dialog *d, const char *method, unsigned cseq, const char *body,
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

void a_request(struct a_dialog *d, const char *method, unsigned cseq, const char *body)
{
	a_send(d, method, cseq, body, !strcmp(method, "CANCEL"));
}

/* A's ACK for our 2xx (a new transaction, end to end). */
void a_ack(struct a_dialog *d, unsigned cseq, const char *body)
{
	a_send(d, "ACK", cseq, body, false);
}

/* A takes our response with status prefix `prefix` and learns our tag. */
msg_t *a_gets(struct a_dialog *d, const char *prefix)
{
	msg_t *m = take(TO_A, prefix);
	sip_t const *sip = sip_object(m);
	if (sip->sip_to->a_tag && !d->gw_tag[0])
		snprintf(d->gw_tag, sizeof(d->gw_tag), "%s", sip->sip_to->a_tag);
	return m;
}

/* A peer answers a request the gateway sent it: Via, From, To, Call-ID and
 * CSeq copied, our To-tag added, a Contact, an optional SDP body. */
void answer(msg_t *req, const struct pc_peer *from, const char *to_tag, int status,
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

void b_answers(msg_t *req, int status, const char *body)
{
	answer(req, &peer_b, "btag", status, "Contact: <sip:bob@127.0.0.2:5090>", body);
}

void a_answers(msg_t *req, int status)
{
	answer(req, &peer_a, NULL, status, NULL, NULL);
}

/* A request from B inside its dialog with the gateway, made from our
 * INVITE to B (B's To becomes its From, our From its To). */
void b_request(msg_t *b_invite, const char *method, unsigned cseq, const char *body)
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

/* The one call in progress, or the one closed and waiting for its
 * transactions (the b2bua keeps the two on separate lists). */
struct call *the_call(void)
{
	struct call *c = gw->calls ? gw->calls : gw->closed;
	assert_non_null(c);
	return c;
}

void new_dialog(struct a_dialog *d, const char *call_id)
{
	memset(d, 0, sizeof(*d));
	d->callee = "bob";
	snprintf(d->call_id, sizeof(d->call_id), "%s", call_id);
}

/* A calls (SDP offer) and B rings and answers: the call is confirmed and
 * A has acknowledged our 2xx. Returns our INVITE to B (to destroy). */
msg_t *establish(struct a_dialog *d)
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
void both_legs_get_bye(struct call *c)
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
void a_hangs_up(struct a_dialog *d, unsigned cseq, struct call *c)
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
void settle(void)
{
	advance(64 * cfg.timers.t1_ms + cfg.timers.t4_ms + 1000);
	assert_int_equal(txn_layer_count(layer), 0);
	assert_null(gw->calls);
	assert_null(gw->closed);
	assert_null(gw->dead);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(media_engine_stream_count(media), 0);
}

/* Phone `who` (C or D) registers as `user` from where it is. */
void registers(int who, const char *user)
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

int group_setup(void **state)
{
	log_set_level(getenv("CALL_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	return sipmsg_init();
}

