/* A sequence lock for publishing a small snapshot from one writer thread to
 * readers on other threads (issue 12: a media worker publishes each
 * stream's quality figures, the signalling thread reads them), without a
 * mutex on the writer's path: the writer makes the sequence odd, stores the
 * words, makes it even again; a reader copies the words between two loads
 * of the sequence and tries again when they differ or were odd (the copy
 * may be torn). Every word is a C11 atomic accessed with relaxed loads and
 * stores ordered by fences (the C11 form of the seqlock, H.-J. Boehm,
 * "Can seqlocks get along with programming language memory models?"), so
 * there is no data race to speak of, and ThreadSanitizer has none to
 * report. One writer per lock: two writers must not share one. */
#ifndef PC_CORE_SEQLOCK_H
#define PC_CORE_SEQLOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct pc_seqlock {
	_Atomic uint32_t seq; /* odd while the writer is storing */
};

/* The writer: n_words 8-byte words from src (n_words * 8 bytes) into
 * words. Never blocks and never fails. */
void pc_seqlock_write(struct pc_seqlock *l, _Atomic uint64_t *words, const void *src,
		      size_t n_words);
/* A reader on any thread: a copy of what one write stored (or the initial
 * zeroes) into dst. Retries while a write is under way; yields the CPU
 * after a few tries, since the writer may have been preempted mid-write.
 * Returns the number of retries (for tests). */
unsigned pc_seqlock_read(const struct pc_seqlock *l, const _Atomic uint64_t *words, void *dst,
			 size_t n_words);

#endif
