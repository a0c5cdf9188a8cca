/* Heap bytes in use, from glibc's allocator (Sofia's homes use malloc too),
 * for the unit tests that count what a structure keeps once it only waits
 * for a timer (lingering transactions, closed calls). Under
 * AddressSanitizer mallinfo2 does not see the heap: heap_visible() says
 * so and those tests skip. */
#ifndef PC_TEST_HEAP_COUNT_H
#define PC_TEST_HEAP_COUNT_H

#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>

static inline long heap_in_use(void)
{
	return (long)mallinfo2().uordblks;
}

static inline bool heap_visible(void)
{
	static void *volatile probe; /* volatile: the compiler must not elide it */
	probe = malloc(4096);
	long before = heap_in_use();
	free(probe);
	probe = NULL;
	return before - heap_in_use() >= 4096;
}

#endif
