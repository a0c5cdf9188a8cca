/* Storage for the named counters: one row per thread that bumps them (the
 * main loop's row 0, and one per media worker), each written by its owner
 * alone, summed when read. A single writer per row needs no atomic
 * read-modify-write, only relaxed loads and stores so that a reader on
 * another thread sees whole values: on x86-64 and arm64 that is the plain
 * increment the single-threaded gateway had. */
#include "counters.h"

#include <stdatomic.h>
#include <string.h>

/* Rows are a multiple of 64 bytes apart (the count is padded), so two
 * threads never write one cache line. */
#define ROW ((CNT__COUNT + 7) & ~7)

static uint64_t values[PC_COUNTER_THREADS][ROW] __attribute__((aligned(64)));
static atomic_uint rows_used = 1;
static _Thread_local unsigned my_row;
static const char *const names[CNT__COUNT] = {
#define PC_COUNTER_NAME(id, name) name,
	PC_COUNTERS(PC_COUNTER_NAME)
#undef PC_COUNTER_NAME
};

void counter_add(enum pc_counter c, uint64_t n)
{
	uint64_t *v = &values[my_row][c];
	__atomic_store_n(v, __atomic_load_n(v, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

void counter_inc(enum pc_counter c) { counter_add(c, 1); }

uint64_t counter_get(enum pc_counter c)
{
	unsigned rows = atomic_load_explicit(&rows_used, memory_order_acquire);
	if (rows > PC_COUNTER_THREADS)
		rows = PC_COUNTER_THREADS;
	uint64_t sum = 0;
	for (unsigned r = 0; r < rows; r++)
		sum += __atomic_load_n(&values[r][c], __ATOMIC_RELAXED);
	return sum;
}

const char *counter_name(enum pc_counter c) { return names[c]; }

void counters_reset(void)
{
	for (unsigned r = 0; r < PC_COUNTER_THREADS; r++)
		for (unsigned c = 0; c < CNT__COUNT; c++)
			__atomic_store_n(&values[r][c], 0, __ATOMIC_RELAXED);
}

int counters_thread_attach(void)
{
	unsigned r = atomic_fetch_add_explicit(&rows_used, 1, memory_order_acq_rel);
	if (r >= PC_COUNTER_THREADS) {
		atomic_store_explicit(&rows_used, PC_COUNTER_THREADS, memory_order_release);
		return -1;
	}
	my_row = r;
	return 0;
}
