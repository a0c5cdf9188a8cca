/* Media worker threads (gateway/media/worker.c, issue 12): commands run on
 * the worker's own thread, in the order sent, each worker apart; a worker
 * whose queue is full refuses a command instead of blocking the signalling
 * thread or growing; a stop carries out every command sent before it and
 * joins the thread; counters bumped on the workers are all counted. Run
 * under ASan (tests/run) it also shows a stop leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/counters.h"
#include "media/worker.h"

struct cmd {
	uint32_t seq;
	bool hold; /* wait until released: fills the queue behind it */
};

struct tally {
	pthread_t main_thread;
	atomic_bool release;
	uint32_t n, next, bad, on_main;
};

static void run_cmd(struct media_worker *w, void *msg, void *arg)
{
	(void)w;
	struct tally *t = arg;
	const struct cmd *c = msg;
	if (pthread_equal(pthread_self(), t->main_thread))
		t->on_main++;
	if (c->seq != t->next)
		t->bad++;
	t->next = c->seq + 1;
	t->n++;
	counter_inc(CNT_MEDIA_MALFORMED);
	while (c->hold && !atomic_load(&t->release))
		sched_yield();
}

static void test_order_and_threads(void **state)
{
	(void)state;
	counters_reset();
	struct tally t[2] = { { .main_thread = pthread_self() }, { .main_thread = pthread_self() } };
	struct media_worker *w[2];
	for (unsigned i = 0; i < 2; i++) {
		w[i] = media_worker_start(i, sizeof(struct cmd), 16, run_cmd, &t[i]);
		assert_non_null(w[i]);
		assert_int_equal(media_worker_index(w[i]), i);
	}
	for (uint32_t k = 0; k < 5000;) {
		struct cmd c = { .seq = k };
		int a = media_worker_send(w[0], &c);
		int b = media_worker_send(w[1], &c);
		if (a == 0 && b == 0) {
			k++;
			continue;
		}
		/* A full queue: take back what went through and retry the rest. */
		if (a == 0 || b == 0) {
			struct media_worker *lag = a == 0 ? w[1] : w[0];
			while (media_worker_send(lag, &c) < 0)
				sched_yield();
			k++;
		}
		sched_yield();
	}
	for (unsigned i = 0; i < 2; i++) {
		media_worker_stop(w[i]); /* everything sent before is carried out */
		assert_int_equal(t[i].n, 5000);
		assert_int_equal(t[i].bad, 0);
		assert_int_equal(t[i].on_main, 0);
	}
	assert_int_equal(counter_get(CNT_MEDIA_MALFORMED), 10000);
}

static void test_full_queue_refuses(void **state)
{
	(void)state;
	struct tally t = { .main_thread = pthread_self() };
	struct media_worker *w = media_worker_start(0, sizeof(struct cmd), 4, run_cmd, &t);
	assert_non_null(w);
	struct cmd hold = { .seq = 0, .hold = true };
	assert_int_equal(media_worker_send(w, &hold), 0);
	/* The worker may or may not have taken the first one yet: at most
	 * depth + 1 go in, then a refusal, never a block. */
	unsigned sent = 1;
	int refused = 0;
	for (uint32_t k = 1; k < 10; k++) {
		struct cmd c = { .seq = k };
		if (media_worker_send(w, &c) == 0)
			sent++;
		else {
			refused = 1;
			break;
		}
	}
	assert_true(refused);
	assert_in_range(sent, 4, 5);
	atomic_store(&t.release, true);
	media_worker_stop(w);
	assert_int_equal(t.n, sent);
	assert_int_equal(t.bad, 0);
}

static void test_bad_args(void **state)
{
	(void)state;
	assert_null(media_worker_start(0, 0, 4, run_cmd, NULL));
	assert_null(media_worker_start(0, 8, 4, NULL, NULL));
	assert_int_equal(media_worker_send(NULL, &(struct cmd){ 0 }), -1);
	media_worker_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_threads),
		cmocka_unit_test(test_full_queue_refuses),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
