/* The sequence lock media workers publish quality snapshots under
 * (core/seqlock.c, issue 12): a writer thread stores snapshots whose
 * every word carries the same generation number (and a checksum word)
 * as fast as it can while the main thread reads; every read must be one
 * whole snapshot (all words of one generation, the checksum right),
 * generations never go back, the reader must see the writer progress,
 * and a read of a lock never written gives the zeroes. Run under TSan
 * (the build-tsan of docs/architecture.md's media workers) it also shows
 * there is no data race: every word is an atomic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "core/seqlock.h"

#define WORDS 24 /* about a quality_src */
#define READS 200000

struct shared {
	struct pc_seqlock lock;
	_Atomic uint64_t w[WORDS];
	atomic_bool stop;
	uint64_t written; /* the writer's own */
};

static void fill(uint64_t *v, uint64_t gen)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i + 1 < WORDS; i++) {
		v[i] = gen * 1000003u + i;
		sum ^= v[i] * 0x9e3779b97f4a7c15u;
	}
	v[WORDS - 1] = sum;
}

static bool whole(const uint64_t *v, uint64_t *gen)
{
	*gen = v[0] / 1000003u;
	uint64_t want[WORDS];
	fill(want, *gen);
	return memcmp(v, want, sizeof(want)) == 0;
}

static void *writer(void *arg)
{
	struct shared *sh = arg;
	uint64_t v[WORDS];
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		fill(v, ++sh->written);
		pc_seqlock_write(&sh->lock, sh->w, v, WORDS);
	}
	return NULL;
}

static void never_written_reads_zero(void **state)
{
	(void)state;
	static struct shared sh;
	uint64_t v[WORDS];
	memset(v, 0xff, sizeof(v));
	assert_int_equal(pc_seqlock_read(&sh.lock, sh.w, v, WORDS), 0);
	for (unsigned i = 0; i < WORDS; i++)
		assert_int_equal(v[i], 0);
}

static void reads_are_whole_under_a_writer(void **state)
{
	(void)state;
	static struct shared sh;
	uint64_t v[WORDS], first = 0;
	fill(v, 0);
	pc_seqlock_write(&sh.lock, sh.w, v, WORDS);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer, &sh), 0);
	uint64_t last = 0, torn = 0, retries = 0;
	for (unsigned i = 0; i < READS; i++) {
		uint64_t gen;
		retries += pc_seqlock_read(&sh.lock, sh.w, v, WORDS);
		if (!whole(v, &gen)) {
			torn++;
			continue;
		}
		assert_true(gen >= last); /* never an older snapshot */
		if (i == 0)
			first = gen;
		last = gen;
	}
	atomic_store(&sh.stop, true);
	pthread_join(t, NULL);
	assert_int_equal(torn, 0);
	assert_true(last > first); /* the reader saw the writer move on */
	print_message("%u reads, %llu retries, %llu writes\n", READS,
		      (unsigned long long)retries, (unsigned long long)sh.written);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(never_written_reads_zero),
		cmocka_unit_test(reads_are_whole_under_a_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
