/* The cross-thread pieces media workers stand on (issue 12): the bounded
 * command queue (core/cmdq.c) and per-thread counter rows (core/counters.c).
 * The queue: order kept, a full queue refuses instead of blocking or
 * growing, the eventfd readable exactly while messages wait, slots wiped
 * after use (commands carry keys), a drain bounded by the capacity, and a
 * producer thread racing a consumer on its own loop losing nothing. The
 * counters: rows bumped from several threads at once sum exactly, and
 * attaching more threads than there are rows is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>

#include "core/cmdq.h"
#include "core/counters.h"

struct msg {
	uint32_t seq;
	uint8_t key[60];
};

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

struct seen {
	uint32_t n, next, bad;
	const void *last_buf;
};

static void take(void *m, void *arg)
{
	struct seen *s = arg;
	const struct msg *x = m;
	if (x->seq != s->next)
		s->bad++;
	s->next = x->seq + 1;
	s->n++;
	s->last_buf = m;
}

static void test_order_full_and_wake(void **state)
{
	(void)state;
	struct pc_cmdq *q = pc_cmdq_new(4, sizeof(struct msg));
	assert_non_null(q);
	assert_false(readable(pc_cmdq_fd(q)));
	for (uint32_t i = 0; i < 4; i++) {
		struct msg m = { .seq = i };
		assert_int_equal(pc_cmdq_push(q, &m), 0);
	}
	assert_true(readable(pc_cmdq_fd(q)));
	struct msg extra = { .seq = 99 };
	assert_int_equal(pc_cmdq_push(q, &extra), -1); /* full: refused, not grown */
	assert_int_equal(pc_cmdq_len(q), 4);
	struct seen s = { 0 };
	assert_int_equal(pc_cmdq_drain(q, take, &s), 4);
	assert_int_equal(s.bad, 0);
	assert_false(readable(pc_cmdq_fd(q)));
	/* Wrap around the ring. */
	for (uint32_t i = 4; i < 7; i++) {
		struct msg m = { .seq = i };
		assert_int_equal(pc_cmdq_push(q, &m), 0);
	}
	assert_int_equal(pc_cmdq_drain(q, take, &s), 3);
	assert_int_equal(s.next, 7);
	assert_int_equal(s.bad, 0);
	pc_cmdq_free(q);
}

static void test_bad_sizes(void **state)
{
	(void)state;
	assert_null(pc_cmdq_new(0, 8));
	assert_null(pc_cmdq_new(8, 0));
	assert_null(pc_cmdq_new(8, PC_CMDQ_ELEM_MAX + 1));
}

/* A key that went through the queue leaves no copy in it. */
static void test_slots_wiped(void **state)
{
	(void)state;
	struct pc_cmdq *q = pc_cmdq_new(2, sizeof(struct msg));
	struct msg m = { .seq = 0 };
	memset(m.key, 0xA5, sizeof(m.key));
	assert_int_equal(pc_cmdq_push(q, &m), 0);
	struct seen s = { 0 };
	assert_int_equal(pc_cmdq_drain(q, take, &s), 1);
	static const uint8_t zero[sizeof(struct msg)];
	assert_memory_equal(s.last_buf, zero, sizeof(zero)); /* the hand-over buffer */
	pc_cmdq_free(q);
}

/* A message pushed from inside fn is not lost, and a drain takes at most
 * the capacity, leaving the fd readable for the rest. */
struct repush {
	struct pc_cmdq *q;
	unsigned n;
};

static void push_again(void *m, void *arg)
{
	struct repush *r = arg;
	struct msg *x = m;
	r->n++;
	if (x->seq < 10) {
		struct msg y = { .seq = x->seq + 1 };
		assert_int_equal(pc_cmdq_push(r->q, &y), 0);
	}
}

static void test_bounded_drain(void **state)
{
	(void)state;
	struct pc_cmdq *q = pc_cmdq_new(3, sizeof(struct msg));
	struct repush r = { .q = q };
	struct msg m = { .seq = 0 };
	assert_int_equal(pc_cmdq_push(q, &m), 0);
	assert_int_equal(pc_cmdq_drain(q, push_again, &r), 3);
	assert_true(readable(pc_cmdq_fd(q))); /* more to do: wakes again */
	while (readable(pc_cmdq_fd(q)))
		pc_cmdq_drain(q, push_again, &r);
	assert_int_equal(r.n, 11);
	assert_int_equal(pc_cmdq_len(q), 0);
	pc_cmdq_free(q);
}

#define RACE_N 200000u

static void *producer(void *arg)
{
	struct pc_cmdq *q = arg;
	for (uint32_t i = 0; i < RACE_N;) {
		struct msg m = { .seq = i };
		if (pc_cmdq_push(q, &m) == 0)
			i++;
		else
			sched_yield(); /* full: the consumer is behind */
	}
	return NULL;
}

/* The consumer sleeps in poll() on the fd as a worker's loop would: every
 * message arrives, in order, and no wake-up is missed (a missed one would
 * hang the test, which has a poll timeout to fail instead). */
static void test_threads_race(void **state)
{
	(void)state;
	struct pc_cmdq *q = pc_cmdq_new(64, sizeof(struct msg));
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, producer, q), 0);
	struct seen s = { 0 };
	while (s.n < RACE_N) {
		struct pollfd p = { .fd = pc_cmdq_fd(q), .events = POLLIN };
		assert_int_equal(poll(&p, 1, 5000), 1);
		pc_cmdq_drain(q, take, &s);
	}
	pthread_join(t, NULL);
	assert_int_equal(s.n, RACE_N);
	assert_int_equal(s.bad, 0);
	pc_cmdq_free(q);
}

#define BUMPS 100000u

static void *bumper(void *arg)
{
	int *ok = arg;
	*ok = counters_thread_attach();
	for (unsigned i = 0; i < BUMPS; i++)
		counter_inc(CNT_MEDIA_REPLAY);
	counter_add(CNT_MEDIA_MALFORMED, 5);
	return NULL;
}

static void test_counters_per_thread(void **state)
{
	(void)state;
	counters_reset();
	pthread_t t[4];
	int ok[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, bumper, &ok[i]), 0);
	for (unsigned i = 0; i < BUMPS; i++)
		counter_inc(CNT_MEDIA_REPLAY); /* the main thread's row, meanwhile */
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(ok[i], 0);
	}
	/* Rows outlive their threads: nothing counted is forgotten. */
	assert_int_equal(counter_get(CNT_MEDIA_REPLAY), 5ull * BUMPS);
	assert_int_equal(counter_get(CNT_MEDIA_MALFORMED), 20);
	counters_reset();
	assert_int_equal(counter_get(CNT_MEDIA_REPLAY), 0);
}

static void *attach_only(void *arg)
{
	int *ok = arg;
	*ok = counters_thread_attach();
	return NULL;
}

/* Run last: it takes every remaining row. */
static void test_counter_rows_bounded(void **state)
{
	(void)state;
	int refused = 0;
	for (int i = 0; i < PC_COUNTER_THREADS + 2; i++) {
		pthread_t t;
		int ok = 0;
		assert_int_equal(pthread_create(&t, NULL, attach_only, &ok), 0);
		pthread_join(t, NULL);
		if (ok < 0)
			refused++;
	}
	/* The main row and 4 taken above: the rest fit, 7 do not. */
	assert_int_equal(refused, 7);
	counter_inc(CNT_MEDIA_REPLAY);
	assert_int_equal(counter_get(CNT_MEDIA_REPLAY), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_full_and_wake),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_slots_wiped),
		cmocka_unit_test(test_bounded_drain),
		cmocka_unit_test(test_threads_race),
		cmocka_unit_test(test_counters_per_thread),
		cmocka_unit_test(test_counter_rows_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
