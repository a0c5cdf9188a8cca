/* Unit tests of the transaction layer against a virtual clock: the fake
 * environment records timers and fires them in due order when a test advances
 * time, and records every message sent with the virtual time it left, so the
 * RFC 3261 §17 retransmission schedules can be asserted to the millisecond.
 * Teardown also checks that every timer handle the layer took was released. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/counters.h"
#include "core/err.h"
#include "core/log.h"
#include "sip/msg.h"
#include "sip/reply.h"
#include "transaction/txn.h"

#include "heap_count.h"

/* --- virtual clock and fake transport ------------------------------------- */

#define MAX_TIMERS 8192
#define MAX_SENT 512
#define MAX_EVENTS 256

struct vtimer {
	unsigned long due;
	unsigned long seq;
	void (*fire)(void *);
	void *arg;
	int armed;
	int released;
};

struct sent {
	unsigned long at;
	char *text;
	enum pc_transport tp;
	uint64_t conn_id;
	struct sockaddr_storage addr;
};

enum ev_kind { EV_REQUEST, EV_ACK, EV_RESPONSE, EV_STRAY, EV_FAILURE, EV_SERVER_FAILURE,
	       EV_TERMINATED };

struct event {
	enum ev_kind kind;
	unsigned long at;
	struct txn *t;
	int status;
};

static struct vtimer timers[MAX_TIMERS];
static unsigned ntimers;
static unsigned long now;
static struct sent sent[MAX_SENT];
static unsigned nsent;
static int send_error; /* returned by send when nonzero */
static int sends_uncopied; /* record sends without their text (heap counts) */
static struct event events[MAX_EVENTS];
static unsigned nevents;
static struct txn_layer *layer;
static struct txn *last_st; /* the server transaction of the last on_request */

static void *fake_timer_start(void *ctx, unsigned ms, void (*fire)(void *arg), void *arg)
{
	assert_true(ntimers < MAX_TIMERS);
	struct vtimer *v = &timers[ntimers];
	*v = (struct vtimer){ .due = now + ms, .seq = ntimers, .fire = fire, .arg = arg, .armed = 1 };
	ntimers++;
	return v;
}

static void fake_timer_stop(void *ctx, void *timer)
{
	struct vtimer *v = timer;
	assert_false(v->released);
	v->armed = 0;
	v->released = 1;
}

static int fake_send(void *ctx, const struct pc_peer *peer, msg_t *msg)
{
	if (send_error)
		return send_error;
	size_t len = 0;
	char *text = sipmsg_print(msg, &len);
	assert_non_null(text);
	assert_true(nsent < MAX_SENT);
	sent[nsent].at = now;
	sent[nsent].text = sends_uncopied ? NULL : strndup(text, len);
	sent[nsent].tp = peer->transport;
	sent[nsent].conn_id = peer->conn_id;
	sent[nsent].addr = peer->addr;
	nsent++;
	return 0;
}

/* Fire due timers in (due, creation) order, including ones they arm. */
static void advance(unsigned long ms)
{
	unsigned long target = now + ms;
	for (;;) {
		struct vtimer *best = NULL;
		for (unsigned i = 0; i < ntimers; i++) {
			struct vtimer *v = &timers[i];
			if (v->armed && v->due <= target && (!best || v->due < best->due))
				best = v;
		}
		if (!best)
			break;
		now = best->due;
		best->armed = 0;
		best->fire(best->arg);
	}
	now = target;
}

/* --- transaction user ----------------------------------------------------- */

static void record(enum ev_kind kind, struct txn *t, int status)
{
	assert_true(nevents < MAX_EVENTS);
	events[nevents++] = (struct event){ .kind = kind, .at = now, .t = t, .status = status };
}

static void tu_request(void *ctx, struct txn *st, msg_t *req)
{
	assert_ptr_equal(req, txn_request_msg(st));
	last_st = st;
	record(EV_REQUEST, st, 0);
}

static void tu_ack(void *ctx, msg_t *ack, const struct pc_peer *from)
{
	record(EV_ACK, NULL, 0);
}

static void tu_response(void *ctx, struct txn *ct, msg_t *resp)
{
	record(EV_RESPONSE, ct, (int)sip_object(resp)->sip_status->st_status);
}

static void tu_stray(void *ctx, msg_t *resp, const struct pc_peer *from)
{
	record(EV_STRAY, NULL, (int)sip_object(resp)->sip_status->st_status);
}

static void tu_failure(void *ctx, struct txn *ct, int status)
{
	record(EV_FAILURE, ct, status);
}

static void tu_server_failure(void *ctx, struct txn *st)
{
	record(EV_SERVER_FAILURE, st, 0);
}

static void tu_terminated(void *ctx, struct txn *t)
{
	assert_int_equal(txn_state(t), TXN_TERMINATED);
	if (t == last_st)
		last_st = NULL;
	record(EV_TERMINATED, t, 0);
}

static unsigned count_events(enum ev_kind kind)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nevents; i++)
		n += events[i].kind == kind;
	return n;
}

static const struct event *find_event(enum ev_kind kind, unsigned nth)
{
	for (unsigned i = 0; i < nevents; i++)
		if (events[i].kind == kind && nth-- == 0)
			return &events[i];
	return NULL;
}

/* --- fixtures ------------------------------------------------------------- */

static const struct txn_env env = {
	.timer_start = fake_timer_start,
	.timer_stop = fake_timer_stop,
	.send = fake_send,
};

static const struct txn_user user = {
	.on_request = tu_request,
	.on_ack = tu_ack,
	.on_response = tu_response,
	.on_stray_response = tu_stray,
	.on_failure = tu_failure,
	.on_server_failure = tu_server_failure,
	.on_terminated = tu_terminated,
};

static struct pc_peer udp_peer = { .transport = PC_TP_UDP, .listener = 0 };
static struct pc_peer tcp_peer = { .transport = PC_TP_TCP, .conn_id = 7, .listener = 0 };

static void reset_world(void)
{
	memset(timers, 0, sizeof(timers));
	ntimers = 0;
	now = 0;
	for (unsigned i = 0; i < nsent; i++)
		free(sent[i].text);
	nsent = 0;
	send_error = 0;
	sends_uncopied = 0;
	nevents = 0;
	last_st = NULL;
	counters_reset();
}

static int make_layer(unsigned max)
{
	struct txn_config cfg = { .t1_ms = 500, .t2_ms = 4000, .t4_ms = 5000,
				  .max_transactions = max };
	reset_world();
	layer = txn_layer_new(&cfg, &env, &user);
	return layer ? 0 : -1;
}

static int setup(void **state) { return make_layer(100); }
static int setup_limit2(void **state) { return make_layer(2); }

static int teardown(void **state)
{
	txn_layer_free(layer);
	layer = NULL;
	/* The env contract: every handle is released, fired or not. */
	for (unsigned i = 0; i < ntimers; i++)
		assert_true(timers[i].released);
	reset_world();
	return 0;
}

static int group_setup(void **state)
{
	log_set_level(getenv("TXN_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	return sipmsg_init();
}

/* --- messages ------------------------------------------------------------- */

/* Parse text written with bare \n line ends. */
static msg_t *parse(const char *text)
{
	char buf[4096];
	size_t n = 0;
	for (const char *p = text; *p && n + 2 < sizeof(buf); p++) {
		if (*p == '\n')
			buf[n++] = '\r';
		buf[n++] = *p;
	}
	buf[n] = '\0';
	msg_t *msg = sipmsg_parse(buf, n);
	assert_non_null(msg);
	return msg;
}

struct req_opts {
	const char *method;
	const char *branch;  /* NULL: an RFC 2543 Via without branch */
	const char *sent_by;
	const char *to_tag;
	const char *cseq_method;
	unsigned cseq;
	const char *route;
};

static msg_t *mk_req(struct req_opts o)
{
	char text[2048], branch[128] = "", totag[64] = "", route[128] = "";
	if (o.branch)
		snprintf(branch, sizeof(branch), ";branch=%s", o.branch);
	if (o.to_tag)
		snprintf(totag, sizeof(totag), ";tag=%s", o.to_tag);
	if (o.route)
		snprintf(route, sizeof(route), "Route: %s\n", o.route);
	snprintf(text, sizeof(text),
		 "%s sip:bob@b.example SIP/2.0\n"
		 "Via: SIP/2.0/UDP %s%s\n"
		 "Max-Forwards: 70\n"
		 "%s"
		 "From: <sip:alice@a.example>;tag=ft1\n"
		 "To: <sip:bob@b.example>%s\n"
		 "Call-ID: cid1@a.example\n"
		 "CSeq: %u %s\n"
		 "Content-Length: 0\n\n",
		 o.method, o.sent_by ? o.sent_by : "a.example:5060", branch, route, totag,
		 o.cseq ? o.cseq : 1, o.cseq_method ? o.cseq_method : o.method);
	return parse(text);
}

static msg_t *mk_resp(int status, const char *method, const char *branch, const char *to_tag)
{
	char text[2048], totag[64] = "";
	if (to_tag)
		snprintf(totag, sizeof(totag), ";tag=%s", to_tag);
	snprintf(text, sizeof(text),
		 "SIP/2.0 %d Whatever\n"
		 "Via: SIP/2.0/UDP gw.example:5060;branch=%s\n"
		 "From: <sip:alice@a.example>;tag=ft1\n"
		 "To: <sip:bob@b.example>%s\n"
		 "Call-ID: cid1@a.example\n"
		 "CSeq: 1 %s\n"
		 "Content-Length: 0\n\n",
		 status, branch, totag, method);
	return parse(text);
}

static char client_branch[40];

/* A request of ours, sent through a new client transaction. */
static struct txn *client_send(const char *method, const struct pc_peer *to)
{
	txn_new_branch(client_branch, sizeof(client_branch));
	msg_t *req = mk_req((struct req_opts){ .method = method, .branch = client_branch,
					       .sent_by = "gw.example:5060",
					       .route = "<sip:proxy.example;lr>" });
	struct txn *t = txn_request(layer, req, to, (void *)0x1234);
	assert_non_null(t);
	return t;
}

static void receive(msg_t *msg, const struct pc_peer *from)
{
	txn_layer_receive(layer, msg, from);
}

static int starts(unsigned i, const char *prefix)
{
	return i < nsent && strncmp(sent[i].text, prefix, strlen(prefix)) == 0;
}

static int has(unsigned i, const char *needle)
{
	return i < nsent && strstr(sent[i].text, needle) != NULL;
}

static unsigned occurrences(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void assert_sent_at(const unsigned long *times, unsigned n, const char *prefix)
{
	assert_int_equal(nsent, n);
	for (unsigned i = 0; i < n; i++) {
		assert_true(starts(i, prefix));
		assert_int_equal(sent[i].at, times[i]);
	}
}

/* --- client transactions -------------------------------------------------- */

static void test_client_invite_udp_timeout(void **state)
{
	static const unsigned long when[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	struct txn *t = client_send("INVITE", &udp_peer);
	assert_int_equal(txn_kind(t), TXN_CLIENT_INVITE);
	assert_int_equal(txn_state(t), TXN_CALLING);
	assert_ptr_equal(txn_user_data(t), (void *)0x1234);
	advance(31999);
	assert_int_equal(count_events(EV_FAILURE), 0);
	advance(1);
	const struct event *f = find_event(EV_FAILURE, 0);
	assert_non_null(f);
	assert_int_equal(f->status, 408);
	assert_int_equal(f->at, 32000);
	assert_ptr_equal(f->t, t);
	assert_int_equal(count_events(EV_TERMINATED), 1);
	assert_int_equal(counter_get(CNT_TXN_TIMEOUT), 1);
	advance(200000);
	assert_sent_at(when, 7, "INVITE ");
	assert_int_equal(txn_layer_count(layer), 0);
}

static void test_client_non_invite_udp_timeout(void **state)
{
	static const unsigned long when[] = { 0, 500, 1500, 3500, 7500, 11500,
					      15500, 19500, 23500, 27500, 31500 };
	client_send("OPTIONS", &udp_peer);
	advance(32000);
	const struct event *f = find_event(EV_FAILURE, 0);
	assert_non_null(f);
	assert_int_equal(f->status, 408);
	assert_int_equal(f->at, 32000);
	advance(100000);
	assert_sent_at(when, 11, "OPTIONS ");
	assert_int_equal(txn_layer_count(layer), 0);
}

static void test_client_non_invite_proceeding(void **state)
{
	static const unsigned long when[] = { 0, 500, 1500, 5500, 9500 };
	struct txn *t = client_send("OPTIONS", &udp_peer);
	advance(600);
	receive(mk_resp(100, "OPTIONS", client_branch, NULL), &udp_peer);
	assert_int_equal(txn_state(t), TXN_PROCEEDING);
	assert_int_equal(find_event(EV_RESPONSE, 0)->status, 100);
	advance(10000 - 600);
	assert_sent_at(when, 5, "OPTIONS ");
	receive(mk_resp(200, "OPTIONS", client_branch, "rt1"), &udp_peer);
	assert_int_equal(txn_state(t), TXN_COMPLETED);
	assert_int_equal(find_event(EV_RESPONSE, 1)->status, 200);
	receive(mk_resp(200, "OPTIONS", client_branch, "rt1"), &udp_peer);
	assert_int_equal(count_events(EV_RESPONSE), 2);
	assert_int_equal(counter_get(CNT_TXN_RETRANSMIT_ABSORBED), 1);
	advance(4999);
	assert_int_equal(count_events(EV_TERMINATED), 0);
	advance(1); /* Timer K = T4 */
	assert_int_equal(find_event(EV_TERMINATED, 0)->at, 15000);
	assert_int_equal(nsent, 5);
	assert_int_equal(count_events(EV_FAILURE), 0);
}

static void test_client_tcp_no_retransmit(void **state)
{
	static const unsigned long when[] = { 0 };
	client_send("INVITE", &tcp_peer);
	advance(32000);
	assert_sent_at(when, 1, "INVITE ");
	assert_int_equal(sent[0].tp, PC_TP_TCP);
	assert_int_equal(find_event(EV_FAILURE, 0)->status, 408);
	assert_int_equal(find_event(EV_FAILURE, 0)->at, 32000);

	client_send("BYE", &tcp_peer);
	advance(31999);
	assert_int_equal(nsent, 2);
	assert_int_equal(count_events(EV_FAILURE), 1);
	advance(1);
	assert_int_equal(find_event(EV_FAILURE, 1)->at, 64000);
	assert_int_equal(nsent, 2);
}

static void test_client_invite_486(void **state)
{
	struct txn *t = client_send("INVITE", &udp_peer);
	advance(100);
	receive(mk_resp(486, "INVITE", client_branch, "rt1"), &udp_peer);
	assert_int_equal(txn_state(t), TXN_COMPLETED);
	assert_int_equal(count_events(EV_RESPONSE), 1);
	assert_int_equal(find_event(EV_RESPONSE, 0)->status, 486);
	assert_int_equal(nsent, 2);
	assert_true(starts(1, "ACK sip:bob@b.example SIP/2.0\r\n"));
	assert_int_equal(sent[1].at, 100);
	char via[128];
	snprintf(via, sizeof(via), "Via: SIP/2.0/UDP gw.example:5060;branch=%s\r\n",
		 client_branch);
	assert_true(has(1, via));
	assert_int_equal(occurrences(sent[1].text, "Via:"), 1);
	assert_true(has(1, "To: <sip:bob@b.example>;tag=rt1\r\n"));
	assert_true(has(1, "From: <sip:alice@a.example>;tag=ft1\r\n"));
	assert_true(has(1, "Call-ID: cid1@a.example\r\n"));
	assert_true(has(1, "CSeq: 1 ACK\r\n"));
	assert_true(has(1, "Route: <sip:proxy.example;lr>\r\n"));
	assert_true(has(1, "Max-Forwards: 70\r\n"));
	assert_true(has(1, "Content-Length: 0\r\n"));

	advance(900);
	receive(mk_resp(486, "INVITE", client_branch, "rt1"), &udp_peer);
	assert_int_equal(count_events(EV_RESPONSE), 1);
	assert_int_equal(nsent, 3);
	assert_true(starts(2, "ACK "));
	assert_int_equal(sent[2].at, 1000);
	assert_string_equal(sent[1].text, sent[2].text);
	assert_int_equal(counter_get(CNT_TXN_RETRANSMIT_ABSORBED), 1);

	advance(100 + 32000 - 1000 - 1);
	assert_int_equal(count_events(EV_TERMINATED), 0);
	advance(1);
	assert_int_equal(find_event(EV_TERMINATED, 0)->at, 32100);
	assert_int_equal(nsent, 3); /* no INVITE retransmission after the 486 */
	assert_int_equal(count_events(EV_FAILURE), 0);
}

static void test_client_invite_486_tcp(void **state)
{
	struct txn *t = client_send("INVITE", &tcp_peer);
	advance(100);
	receive(mk_resp(486, "INVITE", client_branch, "rt1"), &tcp_peer);
	assert_int_equal(txn_state(t), TXN_TERMINATED);
	assert_int_equal(nsent, 2);
	assert_true(starts(1, "ACK "));
	advance(0);
	assert_int_equal(find_event(EV_TERMINATED, 0)->at, 100);
	assert_int_equal(txn_layer_count(layer), 0);
	/* Now a retransmission is a stray: dropped and counted. */
	receive(mk_resp(486, "INVITE", client_branch, "rt1"), &tcp_peer);
	assert_int_equal(counter_get(CNT_TXN_STRAY_RESPONSE), 1);
	assert_int_equal(count_events(EV_RESPONSE), 1);
}

static void test_client_invite_2xx(void **state)
{
	struct txn *t = client_send("INVITE", &udp_peer);
	advance(200);
	receive(mk_resp(180, "INVITE", client_branch, "rt1"), &udp_peer);
	assert_int_equal(txn_state(t), TXN_PROCEEDING);
	advance(1800);
	assert_int_equal(nsent, 1); /* Timer A stopped in Proceeding */
	receive(mk_resp(200, "INVITE", client_branch, "rt1"), &udp_peer);
	assert_int_equal(txn_state(t), TXN_ACCEPTED);
	advance(500);
	receive(mk_resp(200, "INVITE", client_branch, "rt1"), &udp_peer);
	assert_int_equal(count_events(EV_RESPONSE), 3);
	assert_int_equal(find_event(EV_RESPONSE, 1)->status, 200);
	assert_int_equal(find_event(EV_RESPONSE, 2)->status, 200);
	assert_int_equal(nsent, 1); /* the TU, not the transaction, ACKs a 2xx */
	advance(32000 - 500 - 1);
	assert_int_equal(count_events(EV_TERMINATED), 0);
	advance(1); /* Timer M */
	assert_int_equal(find_event(EV_TERMINATED, 0)->at, 2000 + 32000);
	/* After M, 2xx retransmissions are stray and go to the TU as such. */
	receive(mk_resp(200, "INVITE", client_branch, "rt1"), &udp_peer);
	assert_int_equal(find_event(EV_STRAY, 0)->status, 200);
	assert_int_equal(count_events(EV_FAILURE), 0);
}

static void test_client_invite_proceeding_guard(void **state)
{
	client_send("INVITE", &udp_peer);
	receive(mk_resp(100, "INVITE", client_branch, NULL), &udp_peer);
	advance(60000);
	receive(mk_resp(180, "INVITE", client_branch, "rt1"), &udp_peer);
	advance(179999);
	assert_int_equal(count_events(EV_FAILURE), 0);
	advance(1);
	assert_int_equal(find_event(EV_FAILURE, 0)->status, 408);
	assert_int_equal(find_event(EV_FAILURE, 0)->at, 240000);
	assert_int_equal(nsent, 1);
}

static void test_client_cancel_shares_branch(void **state)
{
	struct txn *inv = client_send("INVITE", &udp_peer);
	msg_t *cancel = mk_req((struct req_opts){ .method = "CANCEL", .branch = client_branch,
						  .sent_by = "gw.example:5060" });
	struct txn *can = txn_request(layer, cancel, &udp_peer, NULL);
	assert_non_null(can);
	assert_int_equal(txn_kind(can), TXN_CLIENT_NON_INVITE);
	receive(mk_resp(200, "CANCEL", client_branch, "rt1"), &udp_peer);
	assert_int_equal(txn_state(can), TXN_COMPLETED);
	assert_int_equal(txn_state(inv), TXN_CALLING);
	receive(mk_resp(487, "INVITE", client_branch, "rt1"), &udp_peer);
	assert_int_equal(txn_state(inv), TXN_COMPLETED);
	assert_ptr_equal(find_event(EV_RESPONSE, 0)->t, can);
	assert_ptr_equal(find_event(EV_RESPONSE, 1)->t, inv);
	/* A second transaction with the same branch and method is refused. */
	msg_t *dup = mk_req((struct req_opts){ .method = "CANCEL", .branch = client_branch,
					       .sent_by = "gw.example:5060" });
	assert_null(txn_request(layer, dup, &udp_peer, NULL));
	/* So is a request without a magic cookie, and an ACK. */
	assert_null(txn_request(layer, mk_req((struct req_opts){ .method = "OPTIONS",
								  .branch = "abc" }),
				&udp_peer, NULL));
	assert_null(txn_request(layer, mk_req((struct req_opts){ .method = "ACK",
								  .branch = "z9hG4bKack" }),
				&udp_peer, NULL));
}

static void test_client_transport_error(void **state)
{
	send_error = PC_ERR_IO;
	struct txn *t = client_send("INVITE", &udp_peer);
	assert_int_equal(txn_state(t), TXN_TERMINATED);
	assert_int_equal(count_events(EV_FAILURE), 0); /* never from inside txn_request */
	advance(0);
	assert_int_equal(find_event(EV_FAILURE, 0)->status, 503);
	assert_ptr_equal(find_event(EV_FAILURE, 0)->t, t);
	assert_int_equal(count_events(EV_TERMINATED), 1);
	assert_int_equal(counter_get(CNT_SEND_FAILED), 1);

	/* A failing retransmission fails the transaction too. */
	send_error = 0;
	client_send("OPTIONS", &udp_peer);
	send_error = PC_ERR_IO;
	advance(500);
	assert_int_equal(find_event(EV_FAILURE, 1)->status, 503);
	assert_int_equal(find_event(EV_FAILURE, 1)->at, 500);
	advance(100000);
	assert_int_equal(count_events(EV_FAILURE), 2);
	assert_int_equal(txn_layer_count(layer), 0);
}

/* A connection that never came up fails its transactions at once (503), not
 * after Timer F; transactions toward other destinations are untouched. */
static void test_client_unreachable(void **state)
{
	struct pc_peer tcp_dst = tcp_peer, udp_dst = udp_peer;
	struct sockaddr_in *a = (struct sockaddr_in *)&tcp_dst.addr;
	a->sin_family = AF_INET;
	a->sin_port = htons(5071);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	udp_dst.addr = tcp_dst.addr; /* same address, other transport */
	struct txn *to_tcp = client_send("OPTIONS", &tcp_dst);
	struct txn *to_udp = client_send("OPTIONS", &udp_dst);
	advance(100);
	txn_layer_unreachable(layer, &tcp_dst);
	assert_int_equal(txn_state(to_tcp), TXN_TERMINATED);
	assert_int_not_equal(txn_state(to_udp), TXN_TERMINATED);
	advance(0);
	assert_int_equal(count_events(EV_FAILURE), 1);
	assert_int_equal(find_event(EV_FAILURE, 0)->status, 503);
	assert_ptr_equal(find_event(EV_FAILURE, 0)->t, to_tcp);
	assert_int_equal(find_event(EV_FAILURE, 0)->at, 100);
}

static void test_stray(void **state)
{
	receive(mk_resp(200, "INVITE", "z9hG4bKnone", "rt1"), &udp_peer);
	assert_int_equal(find_event(EV_STRAY, 0)->status, 200);
	receive(mk_resp(486, "INVITE", "z9hG4bKnone", "rt1"), &udp_peer);
	receive(mk_resp(200, "OPTIONS", "z9hG4bKnone", "rt1"), &udp_peer);
	assert_int_equal(count_events(EV_STRAY), 1);
	/* Every stray is counted, the 2xx to INVITE offered to the TU too. */
	assert_int_equal(counter_get(CNT_TXN_STRAY_RESPONSE), 3);
	receive(mk_req((struct req_opts){ .method = "ACK", .branch = "z9hG4bKx", .to_tag = "t" }),
		&udp_peer);
	assert_int_equal(count_events(EV_ACK), 1);
	assert_int_equal(txn_layer_count(layer), 0);
}

/* --- server transactions -------------------------------------------------- */

static msg_t *reply(struct txn *st, int status, const char *tag)
{
	msg_t *r = sipmsg_reply(txn_request_msg(st), status, NULL, tag);
	assert_non_null(r);
	return r;
}

static void test_server_invite(void **state)
{
	struct req_opts inv = { .method = "INVITE", .branch = "z9hG4bKsrv1" };
	receive(mk_req(inv), &udp_peer);
	struct txn *st = last_st;
	assert_non_null(st);
	assert_int_equal(txn_kind(st), TXN_SERVER_INVITE);
	assert_int_equal(txn_state(st), TXN_PROCEEDING);
	assert_int_equal(nsent, 1);
	assert_true(starts(0, "SIP/2.0 100 Trying\r\n"));
	assert_true(has(0, "To: <sip:bob@b.example>\r\n")); /* no tag on 100 */
	assert_int_equal(sent[0].at, 0);

	advance(500);
	receive(mk_req(inv), &udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 1);
	assert_int_equal(nsent, 2);
	assert_true(starts(1, "SIP/2.0 100 "));

	/* The TU's 180 goes out with the transaction's tag, and is what a
	 * retransmission gets from now on. */
	assert_int_equal(txn_respond(st, reply(st, 180, NULL)), PC_OK);
	char to[128];
	snprintf(to, sizeof(to), "To: <sip:bob@b.example>;tag=%s\r\n", txn_local_tag(st));
	assert_true(starts(2, "SIP/2.0 180 "));
	assert_true(has(2, to));
	receive(mk_req(inv), &udp_peer);
	assert_true(starts(3, "SIP/2.0 180 "));
	assert_int_equal(counter_get(CNT_TXN_RETRANSMIT_ABSORBED), 2);

	advance(500); /* t = 1000 */
	assert_int_equal(txn_respond(st, reply(st, 404, NULL)), PC_OK);
	assert_int_equal(txn_state(st), TXN_COMPLETED);
	assert_true(starts(4, "SIP/2.0 404 "));
	assert_true(has(4, to));
	assert_int_equal(txn_respond(st, reply(st, 500, NULL)), PC_ERR_STATE);

	advance(8000); /* G at 1500, 2500, 4500, 8500 */
	static const unsigned long g[] = { 1000, 1500, 2500, 4500, 8500 };
	assert_int_equal(nsent, 9);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(starts(4 + i, "SIP/2.0 404 "));
		assert_int_equal(sent[4 + i].at, g[i]);
	}
	receive(mk_req(inv), &udp_peer); /* t = 9000, retransmission in Completed */
	assert_int_equal(nsent, 10);
	assert_true(starts(9, "SIP/2.0 404 "));

	struct req_opts ack = { .method = "ACK", .branch = "z9hG4bKsrv1", .to_tag = txn_local_tag(st) };
	receive(mk_req(ack), &udp_peer);
	assert_int_equal(txn_state(st), TXN_CONFIRMED);
	assert_int_equal(count_events(EV_ACK), 0);
	receive(mk_req(ack), &udp_peer); /* absorbed in Confirmed */
	assert_int_equal(count_events(EV_ACK), 0);
	advance(4999);
	assert_int_equal(nsent, 10);
	assert_int_equal(count_events(EV_TERMINATED), 0);
	advance(1); /* Timer I = T4 */
	assert_int_equal(find_event(EV_TERMINATED, 0)->at, 14000);
	assert_int_equal(count_events(EV_REQUEST), 1);
	assert_int_equal(counter_get(CNT_TXN_TIMEOUT), 0);
}

static void test_server_invite_timer_h(void **state)
{
	static const unsigned long when[] = { 0, 500, 1500, 3500, 7500, 11500, 15500,
					      19500, 23500, 27500, 31500 };
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKsrv2" }),
		&udp_peer);
	struct txn *st = last_st;
	free(sent[0].text);
	nsent = 0;
	assert_int_equal(txn_respond(st, reply(st, 404, NULL)), PC_OK);
	advance(31999);
	assert_int_equal(count_events(EV_TERMINATED), 0);
	advance(1);
	assert_int_equal(find_event(EV_TERMINATED, 0)->at, 32000);
	assert_int_equal(counter_get(CNT_TXN_TIMEOUT), 1);
	assert_int_equal(count_events(EV_SERVER_FAILURE), 0);
	advance(100000);
	assert_sent_at(when, 11, "SIP/2.0 404 ");
}

static void test_server_invite_tcp(void **state)
{
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKsrv3" }),
		&tcp_peer);
	struct txn *st = last_st;
	assert_int_equal(txn_respond(st, reply(st, 486, NULL)), PC_OK);
	advance(10000);
	assert_int_equal(nsent, 2); /* 100 and 486, no Timer G */
	receive(mk_req((struct req_opts){ .method = "ACK", .branch = "z9hG4bKsrv3",
					  .to_tag = txn_local_tag(st) }),
		&tcp_peer);
	assert_int_equal(txn_state(st), TXN_TERMINATED); /* Timer I = 0 */
	advance(0);
	assert_int_equal(find_event(EV_TERMINATED, 0)->at, 10000);
}

static void test_server_invite_2xx(void **state)
{
	struct req_opts inv = { .method = "INVITE", .branch = "z9hG4bKsrv4" };
	receive(mk_req(inv), &udp_peer);
	struct txn *st = last_st;
	advance(1000);
	assert_int_equal(txn_respond(st, reply(st, 200, NULL)), PC_OK);
	assert_int_equal(txn_state(st), TXN_ACCEPTED);
	assert_int_equal(nsent, 2);
	receive(mk_req(inv), &udp_peer); /* absorbed: the TU retransmits the 2xx */
	assert_int_equal(nsent, 2);
	assert_int_equal(count_events(EV_REQUEST), 1);
	/* The TU's own 2xx retransmission passes in Accepted (RFC 6026). */
	assert_int_equal(txn_respond(st, reply(st, 200, NULL)), PC_OK);
	assert_int_equal(nsent, 3);
	assert_int_equal(txn_respond(st, reply(st, 486, NULL)), PC_ERR_STATE);
	/* The ACK for a 2xx has its own branch; it goes to the TU either way. */
	receive(mk_req((struct req_opts){ .method = "ACK", .branch = "z9hG4bKother",
					  .to_tag = txn_local_tag(st) }),
		&udp_peer);
	receive(mk_req((struct req_opts){ .method = "ACK", .branch = "z9hG4bKsrv4",
					  .to_tag = txn_local_tag(st) }),
		&udp_peer);
	assert_int_equal(count_events(EV_ACK), 2);
	assert_int_equal(txn_state(st), TXN_ACCEPTED);
	advance(31999);
	assert_int_equal(count_events(EV_TERMINATED), 0);
	advance(1); /* Timer L */
	assert_int_equal(find_event(EV_TERMINATED, 0)->at, 33000);
	assert_int_equal(nsent, 3);
}

static void test_server_non_invite(void **state)
{
	struct req_opts opt = { .method = "OPTIONS", .branch = "z9hG4bKsrv5" };
	receive(mk_req(opt), &udp_peer);
	struct txn *st = last_st;
	assert_int_equal(txn_kind(st), TXN_SERVER_NON_INVITE);
	assert_int_equal(txn_state(st), TXN_TRYING);
	assert_int_equal(nsent, 0); /* no 100 for non-INVITE */
	receive(mk_req(opt), &udp_peer); /* Trying: ignored */
	assert_int_equal(nsent, 0);
	assert_int_equal(count_events(EV_REQUEST), 1);
	advance(100);
	assert_int_equal(txn_respond(st, reply(st, 200, NULL)), PC_OK);
	assert_int_equal(txn_state(st), TXN_COMPLETED);
	assert_true(has(0, txn_local_tag(st)));
	receive(mk_req(opt), &udp_peer);
	assert_int_equal(nsent, 2);
	assert_string_equal(sent[0].text, sent[1].text);
	assert_int_equal(counter_get(CNT_TXN_RETRANSMIT_ABSORBED), 2);
	advance(31999);
	assert_int_equal(count_events(EV_TERMINATED), 0);
	advance(1); /* Timer J */
	assert_int_equal(find_event(EV_TERMINATED, 0)->at, 32100);
	/* A late retransmission is a new request again. */
	receive(mk_req(opt), &udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 2);
}

static void test_server_non_invite_proceeding_tcp(void **state)
{
	struct req_opts opt = { .method = "REGISTER", .branch = "z9hG4bKsrv6" };
	receive(mk_req(opt), &tcp_peer);
	struct txn *st = last_st;
	assert_int_equal(txn_respond(st, reply(st, 183, NULL)), PC_OK);
	assert_int_equal(txn_state(st), TXN_PROCEEDING);
	receive(mk_req(opt), &tcp_peer);
	assert_int_equal(nsent, 2);
	assert_true(starts(1, "SIP/2.0 183 "));
	assert_int_equal(txn_respond(st, reply(st, 200, NULL)), PC_OK);
	assert_int_equal(txn_state(st), TXN_TERMINATED); /* Timer J = 0 */
	assert_int_equal(txn_respond(st, reply(st, 200, NULL)), PC_ERR_STATE);
	advance(0);
	assert_int_equal(count_events(EV_TERMINATED), 1);
	assert_int_equal(txn_layer_count(layer), 0);
}

static void test_server_transport_error(void **state)
{
	receive(mk_req((struct req_opts){ .method = "BYE", .branch = "z9hG4bKsrv7" }), &udp_peer);
	struct txn *st = last_st;
	send_error = PC_ERR_IO;
	assert_true(txn_respond(st, reply(st, 200, NULL)) < 0);
	assert_int_equal(count_events(EV_SERVER_FAILURE), 0);
	advance(0);
	assert_ptr_equal(find_event(EV_SERVER_FAILURE, 0)->t, st);
	assert_int_equal(count_events(EV_TERMINATED), 1);

	/* An INVITE whose 100 cannot be sent never reaches the TU. */
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKsrv8" }),
		&udp_peer);
	advance(0);
	assert_int_equal(count_events(EV_REQUEST), 1);
	assert_int_equal(count_events(EV_TERMINATED), 1);
	assert_int_equal(txn_layer_count(layer), 0);
}

/* --- matching ------------------------------------------------------------- */

static void test_match_branch_and_sent_by(void **state)
{
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKm1" }), &udp_peer);
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKm2" }), &udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 2);
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKm1",
					  .sent_by = "c.example:5060" }),
		&udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 3);
	/* An absent port is 5060: the same sent-by. Branches ignore case. */
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKM1",
					  .sent_by = "A.example" }),
		&udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 3);
	/* Same branch, other method: its own transaction. */
	receive(mk_req((struct req_opts){ .method = "OPTIONS", .branch = "z9hG4bKm1" }), &udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 4);
	assert_int_equal(txn_layer_count(layer), 4);
}

static void test_match_rfc2543(void **state)
{
	struct req_opts inv = { .method = "INVITE", .branch = NULL };
	receive(mk_req(inv), &udp_peer);
	struct txn *st = last_st;
	receive(mk_req(inv), &udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 1);
	assert_int_equal(nsent, 2); /* 100 resent */
	/* A new CSeq is a new transaction; so is another sent-by. */
	receive(mk_req((struct req_opts){ .method = "INVITE", .cseq = 2 }), &udp_peer);
	receive(mk_req((struct req_opts){ .method = "INVITE", .sent_by = "c.example" }), &udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 3);

	assert_int_equal(txn_respond(st, reply(st, 603, "srvtag")), PC_OK);
	/* The ACK carries the response's To tag, which the INVITE did not. */
	receive(mk_req((struct req_opts){ .method = "ACK", .to_tag = "wrong" }), &udp_peer);
	assert_int_equal(count_events(EV_ACK), 1);
	assert_int_equal(txn_state(st), TXN_COMPLETED);
	receive(mk_req((struct req_opts){ .method = "ACK", .to_tag = "srvtag" }), &udp_peer);
	assert_int_equal(txn_state(st), TXN_CONFIRMED);
	assert_int_equal(count_events(EV_ACK), 1);
	/* An RFC 2543 retransmission with a (non-cookie) branch matches on it too. */
	receive(mk_req((struct req_opts){ .method = "OPTIONS", .branch = "old1" }), &udp_peer);
	receive(mk_req((struct req_opts){ .method = "OPTIONS", .branch = "old1" }), &udp_peer);
	receive(mk_req((struct req_opts){ .method = "OPTIONS", .branch = "old2" }), &udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 5);
}

static void test_cancel_target(void **state)
{
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKc1" }), &udp_peer);
	struct txn *inv = last_st;
	receive(mk_req((struct req_opts){ .method = "CANCEL", .branch = "z9hG4bKc1" }), &udp_peer);
	struct txn *can = last_st;
	assert_ptr_not_equal(can, inv);
	assert_int_equal(txn_kind(can), TXN_SERVER_NON_INVITE);
	assert_ptr_equal(txn_cancel_target(can), inv);
	assert_null(txn_cancel_target(inv));

	receive(mk_req((struct req_opts){ .method = "CANCEL", .branch = "z9hG4bKc2" }), &udp_peer);
	assert_null(txn_cancel_target(last_st));
	receive(mk_req((struct req_opts){ .method = "CANCEL", .branch = "z9hG4bKc1",
					  .sent_by = "c.example" }),
		&udp_peer);
	assert_null(txn_cancel_target(last_st));

	/* RFC 2543: matched on URI, tags, Call-ID, CSeq number and Via. */
	receive(mk_req((struct req_opts){ .method = "INVITE", .cseq = 5 }), &udp_peer);
	struct txn *old = last_st;
	receive(mk_req((struct req_opts){ .method = "CANCEL", .cseq = 5 }), &udp_peer);
	assert_ptr_equal(txn_cancel_target(last_st), old);
	receive(mk_req((struct req_opts){ .method = "CANCEL", .cseq = 6 }), &udp_peer);
	assert_null(txn_cancel_target(last_st));
	assert_int_equal(count_events(EV_REQUEST), 7);
}

static void test_limit(void **state)
{
	receive(mk_req((struct req_opts){ .method = "OPTIONS", .branch = "z9hG4bKl1" }), &udp_peer);
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKl2" }), &udp_peer);
	assert_int_equal(txn_layer_count(layer), 2);
	assert_int_equal(nsent, 1); /* the INVITE's 100 */
	receive(mk_req((struct req_opts){ .method = "MESSAGE", .branch = "z9hG4bKl3" }), &udp_peer);
	assert_int_equal(count_events(EV_REQUEST), 2);
	assert_int_equal(txn_layer_count(layer), 2);
	assert_int_equal(nsent, 2);
	assert_true(starts(1, "SIP/2.0 503 Service Unavailable\r\n"));
	assert_true(has(1, "Retry-After: 5\r\n"));
	assert_true(has(1, "CSeq: 1 MESSAGE\r\n"));
	assert_true(has(1, "To: <sip:bob@b.example>;tag="));
	assert_int_equal(counter_get(CNT_TXN_LIMIT), 1);
	/* Retransmissions of existing transactions and ACKs still work. */
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKl2" }), &udp_peer);
	assert_true(starts(2, "SIP/2.0 100 "));
	receive(mk_req((struct req_opts){ .method = "ACK", .branch = "z9hG4bKl9" }), &udp_peer);
	assert_int_equal(count_events(EV_ACK), 1);
	/* The ceiling holds for client transactions too. */
	txn_new_branch(client_branch, sizeof(client_branch));
	assert_null(txn_request(layer, mk_req((struct req_opts){ .method = "OPTIONS",
								  .branch = client_branch }),
				&udp_peer, NULL));
	assert_int_equal(counter_get(CNT_TXN_LIMIT), 2);
}

static void test_layer_free_live(void **state)
{
	client_send("INVITE", &udp_peer);
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKf1" }), &udp_peer);
	client_send("OPTIONS", &tcp_peer);
	advance(700);
	assert_int_equal(txn_layer_count(layer), 3);
	txn_layer_free(layer);
	layer = NULL;
	assert_int_equal(count_events(EV_TERMINATED), 3);
	assert_int_equal(count_events(EV_FAILURE), 0);
}

static void test_branch_and_tag(void **state)
{
	char a[32], b[32];
	txn_new_branch(a, sizeof(a));
	txn_new_branch(b, sizeof(b));
	assert_int_equal(strlen(a), 31);
	assert_memory_equal(a, "z9hG4bK", 7);
	assert_string_not_equal(a, b);
	receive(mk_req((struct req_opts){ .method = "OPTIONS", .branch = "z9hG4bKt1" }), &udp_peer);
	const char *tag = txn_local_tag(last_st);
	assert_true(strlen(tag) >= 8);
	assert_ptr_equal(txn_local_tag(last_st), tag);
	/* A tag the TU chose is kept. */
	assert_int_equal(txn_respond(last_st, reply(last_st, 200, "mine")), PC_OK);
	assert_true(has(0, "To: <sip:bob@b.example>;tag=mine\r\n"));
	assert_int_equal(occurrences(sent[0].text, "tag="), 2);
	assert_string_equal(txn_state_name(TXN_ACCEPTED), "Accepted");

	/* A response parsed from text gets the tag printed too. */
	receive(mk_req((struct req_opts){ .method = "OPTIONS", .branch = "z9hG4bKt2" }), &udp_peer);
	char to[128];
	snprintf(to, sizeof(to), "To: <sip:bob@b.example>;tag=%s\r\n", txn_local_tag(last_st));
	assert_int_equal(txn_respond(last_st, mk_resp(200, "OPTIONS", "z9hG4bKt2", NULL)), PC_OK);
	assert_true(has(1, to));
}

/* --- what a lingering transaction holds ------------------------------------ */

/* An INVITE the size real ones are (an SDP offer and the usual headers),
 * so that keeping it shows: a lingering transaction must not. */
static msg_t *mk_big_invite(const char *method, const char *branch, const char *sent_by)
{
	char sdp[1400], text[4096];
	size_t n = 0;
	for (int i = 0; n + 40 < sizeof(sdp); i++)
		n += (size_t)snprintf(sdp + n, sizeof(sdp) - n, "a=candidate:%d 1 UDP 2130 10.0.0.%d 5000\n",
				      i, i % 250);
	snprintf(text, sizeof(text),
		 "%s sip:bob@b.example SIP/2.0\n"
		 "Via: SIP/2.0/UDP %s;branch=%s\n"
		 "Max-Forwards: 70\n"
		 "From: \"Alice\" <sip:alice@a.example>;tag=ft1\n"
		 "To: <sip:bob@b.example>\n"
		 "Call-ID: cid-lingering@a.example\n"
		 "CSeq: 1 %s\n"
		 "Contact: <sip:alice@10.0.0.1:5060>\n"
		 "User-Agent: softphone/1.0\n"
		 "Content-Type: application/sdp\n"
		 "Content-Length: %zu\n\n%s",
		 method, sent_by, branch, method, n + (size_t)occurrences(sdp, "\n"), sdp);
	return parse(text);
}

/* The bytes a transaction holds once it only absorbs retransmissions:
 * what the heap gives back when the timer that ends it fires. */
static long lingering_bytes(unsigned long until_end)
{
	advance(0); /* the layer lets go from its 0-ms timer */
	long held = heap_in_use();
	unsigned before = count_events(EV_TERMINATED);
	sends_uncopied = 1; /* Timer G's resends must not count as held */
	advance(until_end);
	sends_uncopied = 0;
	assert_int_equal(count_events(EV_TERMINATED), before + 1);
	held -= heap_in_use();
	print_message("lingering transaction: %ld bytes\n", held);
	return held;
}

/* The transaction, its key, the response or ACK as printed: under 1 KiB
 * here. Keeping the 1.7 KB request as Sofia holds it (buffer and parsed
 * headers) made it 6.8-8.3 KiB. */
#define LINGER_MAX_BYTES 1536

static void test_linger_server(void **state)
{
	if (!heap_visible())
		skip();
	/* Non-INVITE, Completed: Timer J. */
	receive(mk_big_invite("MESSAGE", "z9hG4bKlinger1", "a.example:5060"), &udp_peer);
	struct txn *st = last_st;
	assert_int_equal(txn_respond(st, reply(st, 200, NULL)), PC_OK);
	assert_non_null(txn_request_msg(st)); /* until the TU is back in the loop */
	advance(0);
	assert_null(txn_request_msg(st));
	/* A retransmission still gets the same response, byte for byte. */
	receive(mk_big_invite("MESSAGE", "z9hG4bKlinger1", "a.example:5060"), &udp_peer);
	assert_int_equal(nsent, 2);
	assert_string_equal(sent[0].text, sent[1].text);
	assert_int_equal(count_events(EV_REQUEST), 1);
	long held = lingering_bytes(32000);
	assert_in_range(held, 1, LINGER_MAX_BYTES);

	/* INVITE, Completed after a 486: Timer H (the ACK never comes). */
	receive(mk_big_invite("INVITE", "z9hG4bKlinger2", "a.example:5060"), &udp_peer);
	st = last_st;
	assert_int_equal(txn_respond(st, reply(st, 486, NULL)), PC_OK);
	advance(0);
	unsigned n = nsent;
	receive(mk_big_invite("INVITE", "z9hG4bKlinger2", "a.example:5060"), &udp_peer);
	assert_int_equal(nsent, n + 1);
	assert_string_equal(sent[n - 1].text, sent[n].text);
	advance(500); /* Timer G resends the same bytes */
	assert_int_equal(nsent, n + 2);
	assert_string_equal(sent[n - 1].text, sent[n + 1].text);
	assert_int_equal(count_events(EV_REQUEST), 2);
	held = lingering_bytes(32000);
	assert_in_range(held, 1, LINGER_MAX_BYTES);
}

static void test_linger_client(void **state)
{
	if (!heap_visible())
		skip();
	/* INVITE, Completed after a 486: Timer D, the ACK kept as bytes. */
	txn_new_branch(client_branch, sizeof(client_branch));
	struct txn *t = txn_request(layer, mk_big_invite("INVITE", client_branch,
							 "gw.example:5060"), &udp_peer, NULL);
	assert_non_null(t);
	receive(mk_resp(486, "INVITE", client_branch, "rt1"), &udp_peer);
	assert_int_equal(txn_state(t), TXN_COMPLETED);
	advance(0);
	assert_null(txn_request_msg(t));
	receive(mk_resp(486, "INVITE", client_branch, "rt1"), &udp_peer);
	assert_int_equal(nsent, 3);
	assert_true(starts(1, "ACK "));
	assert_string_equal(sent[1].text, sent[2].text);
	assert_int_equal(count_events(EV_RESPONSE), 1);
	long held = lingering_bytes(32000);
	assert_in_range(held, 1, LINGER_MAX_BYTES);

	/* Non-INVITE, Completed: Timer K, nothing but the key. */
	txn_new_branch(client_branch, sizeof(client_branch));
	t = txn_request(layer, mk_big_invite("MESSAGE", client_branch, "gw.example:5060"),
			&udp_peer, NULL);
	assert_non_null(t);
	receive(mk_resp(200, "MESSAGE", client_branch, "rt2"), &udp_peer);
	receive(mk_resp(200, "MESSAGE", client_branch, "rt2"), &udp_peer);
	assert_int_equal(count_events(EV_RESPONSE), 2); /* 486 above, this 200 once */
	held = lingering_bytes(5000);
	assert_in_range(held, 1, LINGER_MAX_BYTES);
}

/* Accepted (RFC 6026): every answered call's INVITE transactions wait out
 * Timer L (server) and M (client), 32 s, matching on the key alone. Keeping
 * the INVITE (and our 2xx) there made a churn of calls cost ~9 KiB of heap
 * per call a side for those 32 s. */
static void test_linger_accepted(void **state)
{
	if (!heap_visible())
		skip();
	/* Server INVITE: answered 2xx, the TU resends it until the ACK. */
	receive(mk_big_invite("INVITE", "z9hG4bKlinger3", "a.example:5060"), &udp_peer);
	struct txn *st = last_st;
	msg_t *ok = reply(st, 200, txn_local_tag(st));
	msg_t *again = msg_dup(ok);
	assert_non_null(again);
	assert_int_equal(txn_respond(st, ok), PC_OK);
	assert_int_equal(txn_state(st), TXN_ACCEPTED);
	assert_non_null(txn_request_msg(st)); /* until the TU is back in the loop */
	advance(0);
	assert_null(txn_request_msg(st));
	assert_int_equal(txn_method(st), sip_method_invite);
	unsigned n = nsent;
	receive(mk_big_invite("INVITE", "z9hG4bKlinger3", "a.example:5060"), &udp_peer);
	assert_int_equal(nsent, n); /* absorbed, not answered: the TU resends */
	assert_int_equal(count_events(EV_REQUEST), 1);
	assert_int_equal(txn_respond(st, again), PC_OK);
	assert_int_equal(nsent, n + 1);
	assert_string_equal(sent[n - 1].text, sent[n].text);
	assert_int_equal(txn_respond(st, mk_resp(486, "INVITE", "z9hG4bKlinger3", NULL)), PC_ERR_STATE);
	receive(mk_req((struct req_opts){ .method = "ACK", .branch = "z9hG4bKlinger3",
					  .sent_by = "a.example:5060", .to_tag = txn_local_tag(st) }),
		&udp_peer);
	assert_int_equal(count_events(EV_ACK), 1);
	advance(0);
	long held = lingering_bytes(32000);
	assert_in_range(held, 1, LINGER_MAX_BYTES);

	/* Client INVITE: 2xx retransmissions still reach the TU. */
	txn_new_branch(client_branch, sizeof(client_branch));
	struct txn *t = txn_request(layer, mk_big_invite("INVITE", client_branch,
							 "gw.example:5060"), &udp_peer, NULL);
	assert_non_null(t);
	receive(mk_resp(200, "INVITE", client_branch, "rt3"), &udp_peer);
	assert_int_equal(txn_state(t), TXN_ACCEPTED);
	advance(0);
	assert_null(txn_request_msg(t));
	assert_int_equal(txn_method(t), sip_method_invite);
	unsigned responses = count_events(EV_RESPONSE);
	receive(mk_resp(200, "INVITE", client_branch, "rt3"), &udp_peer);
	assert_int_equal(count_events(EV_RESPONSE), responses + 1);
	assert_int_equal(count_events(EV_STRAY), 0);
	held = lingering_bytes(32000);
	assert_in_range(held, 1, LINGER_MAX_BYTES);
}

/* A lingering transaction over TLS: the peer's verified identity (256
 * bytes in struct pc_peer) is for the TU, which reads it while the request
 * is there; once the transaction only absorbs retransmissions it keeps the
 * connection and address the answers go to. Kept, every one of the ~14,000
 * lingering transactions of the churn soak carried the whole pc_peer. */
#define LINGER_TLS_COMPLETED_MAX 720 /* 976 with the whole peer, 624 without */
#define LINGER_TLS_ACCEPTED_MAX 560  /* 768 with the whole peer, 416 without */

static void test_linger_tls_peer(void **state)
{
	if (!heap_visible())
		skip();
	struct pc_peer tls_peer = { .transport = PC_TP_TLS, .conn_id = 9, .listener = 1 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&tls_peer.addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5061);
	sin->sin_addr.s_addr = htonl(0xc0000207); /* 192.0.2.7 */
	tls_peer.addrlen = sizeof(*sin);
	snprintf(tls_peer.identity, sizeof(tls_peer.identity), "sip.carrier.example");

	/* Server INVITE answered 486: Completed, the response kept as bytes. */
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKtls1",
					  .sent_by = "192.0.2.7:5061" }), &tls_peer);
	struct txn *st = last_st;
	assert_string_equal(txn_peer(st)->identity, "sip.carrier.example"); /* for the TU */
	assert_int_equal(txn_respond(st, reply(st, 486, NULL)), PC_OK);
	advance(0);
	assert_null(txn_request_msg(st));
	/* A retransmission is answered on the same connection, to the same
	 * address, with the same bytes. */
	unsigned n = nsent;
	receive(mk_req((struct req_opts){ .method = "INVITE", .branch = "z9hG4bKtls1",
					  .sent_by = "192.0.2.7:5061" }), &tls_peer);
	assert_int_equal(nsent, n + 1);
	assert_int_equal(sent[n].tp, PC_TP_TLS);
	assert_int_equal(sent[n].conn_id, 9);
	assert_int_equal(sent[n].addr.ss_family, AF_INET);
	assert_memory_equal(&sent[n].addr, sin, sizeof(*sin));
	assert_string_equal(sent[n - 1].text, sent[n].text);
	assert_int_equal(count_events(EV_REQUEST), 1);
	/* No ACK: Timer H ends it. */
	long held = lingering_bytes(32000);
	assert_in_range(held, 1, LINGER_TLS_COMPLETED_MAX);

	/* Client INVITE answered 200 over TLS: Accepted, the key alone. */
	txn_new_branch(client_branch, sizeof(client_branch));
	struct txn *t = txn_request(layer, mk_req((struct req_opts){ .method = "INVITE",
						     .branch = client_branch,
						     .sent_by = "gw.example:5061" }),
				    &tls_peer, NULL);
	assert_non_null(t);
	assert_string_equal(txn_peer(t)->identity, "sip.carrier.example");
	receive(mk_resp(200, "INVITE", client_branch, "rt9"), &tls_peer);
	assert_int_equal(txn_state(t), TXN_ACCEPTED);
	advance(0);
	assert_true(txn_reliable(t));
	held = lingering_bytes(32000);
	assert_in_range(held, 1, LINGER_TLS_ACCEPTED_MAX);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_client_invite_udp_timeout),
		T(test_linger_tls_peer),
		T(test_client_non_invite_udp_timeout),
		T(test_client_non_invite_proceeding),
		T(test_client_tcp_no_retransmit),
		T(test_client_invite_486),
		T(test_client_invite_486_tcp),
		T(test_client_invite_2xx),
		T(test_client_invite_proceeding_guard),
		T(test_client_cancel_shares_branch),
		T(test_client_transport_error),
		T(test_client_unreachable),
		T(test_stray),
		T(test_server_invite),
		T(test_server_invite_timer_h),
		T(test_server_invite_tcp),
		T(test_server_invite_2xx),
		T(test_server_non_invite),
		T(test_server_non_invite_proceeding_tcp),
		T(test_server_transport_error),
		T(test_match_branch_and_sent_by),
		T(test_match_rfc2543),
		T(test_cancel_target),
		cmocka_unit_test_setup_teardown(test_limit, setup_limit2, teardown),
		T(test_layer_free_live),
		T(test_branch_and_tag),
		T(test_linger_server),
		T(test_linger_client),
		T(test_linger_accepted),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
