/* See heap.h. glibc only: mallinfo2 to see how much is free (cheap: it
 * walks the bins, not the chunks in use), malloc_trim to madvise the free
 * pages away, which also releases pages in the middle of the heap. */
#include "heap.h"

#include <malloc.h>

#include "log.h"

size_t heap_release(size_t threshold)
{
	struct mallinfo2 mi = mallinfo2();
	if (mi.fordblks < threshold)
		return 0;
	malloc_trim(0);
	log_debug("heap: %zu KiB free in the allocator, released to the system", mi.fordblks / 1024);
	return mi.fordblks;
}
