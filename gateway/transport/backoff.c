/* Exponential back-off for connection attempts to a configured peer: while a
 * trunk is down, every request would otherwise start a fresh attempt. */
#include "backoff.h"

unsigned backoff_delay_s(unsigned min_s, unsigned max_s, unsigned failures)
{
	unsigned delay = min_s;
	for (unsigned i = 1; i < failures && delay < max_s; i++)
		delay = delay > max_s / 2 ? max_s : delay * 2;
	return delay < max_s ? delay : max_s;
}
