/* The sequence lock of seqlock.h: the writer's odd/even bracket with a
 * release fence after the odd store, the reader's acquire fence before
 * its second load, so that a reader seeing the same even sequence twice
 * saw every word of one write and none of another. */
#include "seqlock.h"

#include <sched.h>
#include <string.h>

/* Tries before a reader gives the CPU away: a write is a few dozen
 * stores, so a reader that saw several in a row is looking at a writer
 * that was descheduled mid-write. */
#define SEQLOCK_SPINS 64

void pc_seqlock_write(struct pc_seqlock *l, _Atomic uint64_t *words, const void *src,
		      size_t n_words)
{
	uint32_t s = atomic_load_explicit(&l->seq, memory_order_relaxed);
	atomic_store_explicit(&l->seq, s + 1, memory_order_relaxed);
	/* The odd sequence is visible before any word changes. */
	atomic_thread_fence(memory_order_release);
	const unsigned char *p = src;
	for (size_t i = 0; i < n_words; i++) {
		uint64_t w;
		memcpy(&w, p + i * sizeof(w), sizeof(w));
		atomic_store_explicit(&words[i], w, memory_order_relaxed);
	}
	/* Every word is visible before the even sequence. */
	atomic_store_explicit(&l->seq, s + 2, memory_order_release);
}

unsigned pc_seqlock_read(const struct pc_seqlock *l, const _Atomic uint64_t *words, void *dst,
			 size_t n_words)
{
	unsigned char *p = dst;
	for (unsigned tries = 0;; tries++) {
		if (tries && tries % SEQLOCK_SPINS == 0)
			sched_yield();
		uint32_t s1 = atomic_load_explicit(&l->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		for (size_t i = 0; i < n_words; i++) {
			uint64_t w = atomic_load_explicit(&words[i], memory_order_relaxed);
			memcpy(p + i * sizeof(w), &w, sizeof(w));
		}
		/* The words are read before the second look at the sequence. */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&l->seq, memory_order_relaxed) == s1)
			return tries;
	}
}
