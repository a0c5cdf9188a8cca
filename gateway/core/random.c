/* Random bytes from getrandom(2) (random.h). It blocks only until the kernel
 * pool is first initialised at boot, and may return fewer bytes than asked
 * for above 256 bytes or when a signal arrives: hence the loop. */
#include "random.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

int pc_random_bytes(void *out, size_t len)
{
	unsigned char *p = out;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
