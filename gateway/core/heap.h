/* Giving freed heap back to the system. A burst of call set-ups leaves the
 * allocator holding the memory of every message and transaction that lived
 * through it (tens of MiB at a few hundred calls per second, with Timer J/M
 * keeping transactions for 64 x T1); glibc keeps those pages resident long
 * after they are free, so the process's RSS says nothing about its live
 * state. The gateway calls heap_release() from a periodic timer. */
#ifndef PC_CORE_HEAP_H
#define PC_CORE_HEAP_H

#include <stddef.h>

/* Returns free heap pages to the kernel when more than `threshold` bytes
 * are free inside the allocator's arenas; the number of bytes it found
 * free (0 when below the threshold, or nothing to do). */
size_t heap_release(size_t threshold);

#endif
