/* The paced bulk write of cluster mode (cluster/drip.c) as the call
 * records use it (cluster/calls.c: catch-up and TTL refresh), against a
 * stub Redis that enforces max_pending as redis.c does (a command past it
 * is refused at once) and answers everything in flight after each turn of
 * a real libevent loop. A node holding 300 calls with max_pending = 20
 * must write every record back (300 distinct SETs), never be refused,
 * never have more than max_pending in flight; records ended in the middle
 * of the round are not written, and the walk survives the table moving
 * under it. Without the pacing (the whole round at once) 280 of the 300
 * records were refused. With the breaker open the round stops, and the
 * next one (Redis back) writes everything. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/calls.h"
#include "cluster/scan.h"

#define CALLS 300

/* The stub Redis. */
static struct {
	bool up;
	unsigned max_pending, pending, most_pending;
	unsigned refused, sets, dels;
	bool seen[CALLS]; /* a SET for call i */
} stub;

int cl_redis_command(struct cl_redis *r, cl_reply_fn *cb, void *ctx, int argc, const char **argv,
		     const size_t *argvlen)
{
	(void)r;
	(void)cb;
	(void)ctx;
	(void)argc;
	if (!stub.up || stub.pending >= stub.max_pending) {
		stub.refused++;
		return -1;
	}
	stub.pending++;
	if (stub.pending > stub.most_pending)
		stub.most_pending = stub.pending;
	if (argvlen[0] == 3 && !memcmp(argv[0], "SET", 3)) {
		unsigned i;
		/* portcullis:call:A:<16 hex digits>, the last 8 the call's number */
		if (sscanf(argv[1] + argvlen[1] - 8, "%8x", &i) == 1 && i < CALLS) {
			stub.seen[i] = true;
			stub.sets++;
		}
	} else if (argvlen[0] == 3 && !memcmp(argv[0], "DEL", 3)) {
		stub.dels++;
	}
	return 0; /* the writes' callbacks do nothing with the answer */
}

bool cl_redis_up(const struct cl_redis *r)
{
	(void)r;
	return stub.up;
}

unsigned cl_redis_room(const struct cl_redis *r)
{
	(void)r;
	return stub.up && stub.pending < stub.max_pending ? stub.max_pending - stub.pending : 0;
}

static struct cl_redis *fake = (struct cl_redis *)&stub;
static const uint8_t key[CL_CALL_KEY_LEN] = { 7 };

static void set_v4(struct sockaddr_storage *ss, unsigned port)
{
	struct sockaddr_in *a = (void *)ss;
	memset(ss, 0, sizeof(*ss));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "10.0.0.1", &a->sin_addr);
}

static void put_call(struct cl_calls *cc, unsigned i)
{
	static struct pc_call_state s;
	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "00000000%08x", i);
	s.answered_wall_s = 1790000000;
	for (int k = 0; k < 2; k++) {
		struct pc_cs_leg *l = &s.legs[k];
		snprintf(l->cfg_leg, sizeof(l->cfg_leg), k ? "trunk" : "phones");
		l->transport = PC_TP_UDP;
		set_v4(&l->peer, 5060);
		snprintf(l->call_id, sizeof(l->call_id), "c%u-%d", i, k);
		snprintf(l->local_tag, sizeof(l->local_tag), "lt");
		snprintf(l->remote_tag, sizeof(l->remote_tag), "rt");
		snprintf(l->local_uri, sizeof(l->local_uri), "sip:gw@192.0.2.1");
		snprintf(l->remote_uri, sizeof(l->remote_uri), "sip:a@example.com");
		snprintf(l->remote_target, sizeof(l->remote_target), "sip:a@10.0.0.1");
	}
	cl_calls_put(cc, &s, s.id);
}

static void reset_stub(unsigned max_pending)
{
	memset(&stub, 0, sizeof(stub));
	stub.up = true;
	stub.max_pending = max_pending;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Loop turns until nothing is sent for a while; Redis answers all in
 * flight after each turn. A tick of our own ends each turn within
 * CL_DRIP_TICK_MS + 1 (the calls' refresh timer is minutes away). */
static void run(struct event_base *base)
{
	struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = { 0, 11000 };
	event_add(tick, &tv);
	for (unsigned idle = 0, turns = 0; idle < 5 && turns < 10000; turns++) {
		unsigned before = stub.sets + stub.dels;
		event_base_loop(base, EVLOOP_ONCE);
		stub.pending = 0;
		idle = stub.sets + stub.dels == before ? idle + 1 : 0;
	}
	event_free(tick);
}

static struct cl_calls *holding(struct event_base *base, unsigned n)
{
	struct cl_calls *cc = cl_calls_new(base, "A", key);
	assert_non_null(cc);
	cl_calls_set_redis(cc, fake);
	reset_stub(1000000);
	for (unsigned i = 0; i < n; i++)
		put_call(cc, i);
	assert_int_equal(stub.sets, n);
	return cc;
}

static unsigned written(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < CALLS; i++)
		n += stub.seen[i];
	return n;
}

static void catch_up_paced(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct cl_calls *cc = holding(base, CALLS);
	reset_stub(20);
	cl_calls_catch_up(cc);
	assert_int_equal(stub.sets, 0); /* nothing at once: from the loop */
	run(base);
	assert_int_equal(stub.refused, 0);
	assert_true(stub.most_pending <= 20);
	assert_int_equal(written(), CALLS);
	cl_calls_free(cc);
	event_base_free(base);
}

/* A node holding CALLS calls whose round (max_pending 20) had its first
 * turn, every answer in. */
static struct cl_calls *one_turn_in(struct event_base *base)
{
	struct cl_calls *cc = holding(base, CALLS);
	reset_stub(20);
	cl_calls_catch_up(cc);
	event_base_loop(base, EVLOOP_ONCE); /* the first turn comes at once */
	stub.pending = 0;
	assert_true(stub.sets > 0 && stub.sets < CALLS);
	return cc;
}

/* Calls ending in the middle of the round: the table moves under the walk
 * (drop fills the hole with the last record); every call still up is
 * written, none that ended. */
static void catch_up_table_moves(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct cl_calls *cc = one_turn_in(base);
	bool before[CALLS];
	memcpy(before, stub.seen, sizeof(before));
	memset(stub.seen, 0, sizeof(stub.seen));
	/* every third call ends, at the front (already written) and the back
	 * (not yet): their removals are live writes, not paced */
	stub.max_pending = 1000000;
	for (unsigned i = 0; i < CALLS; i += 3) {
		char id[PC_CS_ID_MAX];
		snprintf(id, sizeof(id), "00000000%08x", i);
		cl_calls_put(cc, NULL, id);
	}
	stub.pending = 0;
	stub.max_pending = 20;
	run(base);
	assert_int_equal(stub.refused, 0);
	for (unsigned i = 0; i < CALLS; i++) {
		if (i % 3 == 0)
			assert_false(stub.seen[i]); /* ended: not written again */
		else
			assert_true(before[i] || stub.seen[i]); /* up: written in the round */
	}
	cl_calls_free(cc);
	event_base_free(base);
}

/* Redis goes in the middle of the round: it stops; when it returns the
 * next round writes every record. */
static void catch_up_redis_goes(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct cl_calls *cc = one_turn_in(base);
	stub.up = false;
	run(base);
	assert_true(written() < CALLS);
	reset_stub(20);
	cl_calls_catch_up(cc);
	run(base);
	assert_int_equal(stub.refused, 0);
	assert_int_equal(written(), CALLS);
	cl_calls_free(cc);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(catch_up_paced),
		cmocka_unit_test(catch_up_table_moves),
		cmocka_unit_test(catch_up_redis_goes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
