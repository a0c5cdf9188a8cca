/* Unit tests of the relay port allocator (media/ports.c) on a fake clock:
 * a full range refuses cleanly, a released pair is never handed out before
 * its quarantine is over (even to a call that would otherwise be refused),
 * is handed out as soon as it is over when nothing else is free, oldest
 * first, and otherwise rests until it rejoins the random draw. Real sockets
 * are bound on 127.0.0.1, so a leaked descriptor or pair shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <unistd.h>

#include "core/clock.h"
#include "media/media.h"
#include "media/ports.h"

#define Q 1000u /* the quarantine of these ranges, ms */

static uint64_t now_ms = 1000000;

static int setup(void **state)
{
	pc_clock_set_fake(&now_ms);
	return 0;
}

static int teardown(void **state)
{
	pc_clock_set_fake(NULL);
	return 0;
}

static void take_ok(struct port_range *r, unsigned *pair)
{
	int fds[2];
	assert_int_equal(range_take(r, fds, pair), 0);
	close(fds[0]);
	close(fds[1]);
}

static int take(struct port_range *r, unsigned *pair)
{
	int fds[2];
	int rc = range_take(r, fds, pair);
	if (rc == 0) {
		close(fds[0]);
		close(fds[1]);
	}
	return rc;
}

/* Four pairs, all taken: the fifth take is refused (-1, the caller's 503),
 * again and again, without touching a socket of the taken pairs. */
static void test_exhaustion(void **state)
{
	struct port_range r;
	assert_int_equal(range_init(&r, "127.0.0.1", 47000, 47007, Q), 0);
	unsigned p[4], x;
	for (int i = 0; i < 4; i++)
		take_ok(&r, &p[i]);
	assert_int_equal(range_free_pairs(&r), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(take(&r, &x), -1);
	range_fini(&r);
}

/* The attack case: a call ends and at once another asks for a pair. Not one
 * millisecond before the quarantine is over does it get the released pair,
 * even with nothing else free; then it gets it at once. */
static void test_quarantine_honoured(void **state)
{
	struct port_range r;
	assert_int_equal(range_init(&r, "127.0.0.1", 47100, 47107, Q), 0);
	unsigned p[4], x;
	for (int i = 0; i < 4; i++)
		take_ok(&r, &p[i]);
	range_release(&r, p[2], true);
	now_ms += Q - 1;
	assert_int_equal(range_free_pairs(&r), 0);
	assert_int_equal(take(&r, &x), -1);
	now_ms += 1;
	assert_int_equal(range_free_pairs(&r), 1);
	take_ok(&r, &x);
	assert_int_equal(x, p[2]);
	/* A pair that carried no packet (the call failed before media) goes
	 * straight back. */
	range_release(&r, p[0], false);
	take_ok(&r, &x);
	assert_int_equal(x, p[0]);
	range_fini(&r);
}

/* Under load the pair released longest ago comes back first; while other
 * pairs are free, a pair past its quarantine keeps resting (it is not drawn)
 * until RANGE_REST_FACTOR quarantines have passed. */
static void test_reuse_order(void **state)
{
	struct port_range r;
	assert_int_equal(range_init(&r, "127.0.0.1", 47200, 47207, Q), 0);
	unsigned p[4], x, y;
	for (int i = 0; i < 4; i++)
		take_ok(&r, &p[i]);
	range_release(&r, p[1], true);
	now_ms += 10;
	range_release(&r, p[3], true);
	now_ms += Q - 10;
	take_ok(&r, &x);
	assert_int_equal(x, p[1]);
	assert_int_equal(take(&r, &y), -1); /* p[3]: 10 ms still to go */
	now_ms += 10;
	take_ok(&r, &y);
	assert_int_equal(y, p[3]);

	/* Release two, one of them again released earlier: with one free
	 * pair (p[0], unused) the resting one is not drawn. */
	range_release(&r, p[1], true);
	range_release(&r, p[0], false);
	now_ms += Q;
	for (int i = 0; i < 20; i++) {
		take_ok(&r, &x);
		assert_int_equal(x, p[0]);
		range_release(&r, x, false);
	}
	now_ms += (RANGE_REST_FACTOR - 1) * Q;
	assert_int_equal(range_free_pairs(&r), 2);
	bool seen1 = false;
	for (int i = 0; i < 64 && !seen1; i++) {
		take_ok(&r, &x);
		seen1 = x == p[1];
		range_release(&r, x, false);
	}
	assert_true(seen1); /* back in the draw: 2^-64 to miss it by chance */
	range_fini(&r);
}

/* The free pairs are all bound by some other process: a pair past its
 * quarantine is taken (not a refusal), one still inside it is not. */
static void test_free_pairs_held_elsewhere(void **state)
{
	struct port_range r;
	assert_int_equal(range_init(&r, "127.0.0.1", 47400, 47403, Q), 0);
	unsigned a, b, x;
	take_ok(&r, &a);
	int fds[2];
	assert_int_equal(range_take(&r, fds, &b), 0);
	range_release(&r, a, true);
	range_release(&r, b, false); /* free again, but its sockets stay open */
	assert_int_equal(take(&r, &x), -1);
	now_ms += Q;
	take_ok(&r, &x);
	assert_int_equal(x, a);
	close(fds[0]);
	close(fds[1]);
	range_fini(&r);
}

/* The quarantine the gateway uses (media.h says why 1 s): a range sized
 * by the configuration rule (max_calls + 10 %) sustains calls/s of
 * max_calls / 10 with every call held 10 s at the ceiling. */
static void test_sustained_rate(void **state)
{
	enum { PAIRS = 110, CALLS = 100, HOLD_MS = 10000, STEP_MS = 100 };
	struct port_range r;
	assert_int_equal(range_init(&r, "127.0.0.1", 47300, 47300 + 2 * PAIRS - 1,
				   MEDIA_PORT_QUARANTINE_MS), 0);
	unsigned held[CALLS];
	uint64_t ends[CALLS];
	for (int i = 0; i < CALLS; i++) {
		take_ok(&r, &held[i]);
		ends[i] = now_ms + (uint64_t)(i + 1) * STEP_MS;
	}
	/* One call ends and one starts every 100 ms (10/s) for 60 s. */
	for (int t = 0; t < 600; t++) {
		now_ms += STEP_MS;
		for (int i = 0; i < CALLS; i++) {
			if (ends[i] > now_ms)
				continue;
			range_release(&r, held[i], true);
			take_ok(&r, &held[i]);
			ends[i] = now_ms + HOLD_MS;
		}
	}
	range_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_honoured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_pairs_held_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sustained_rate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
