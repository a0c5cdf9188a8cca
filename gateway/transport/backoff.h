/* How long to leave a failing next hop alone: exponential back-off, capped.
 * Pure arithmetic, so the transport's peer state and the tests share it. */
#ifndef PC_TRANSPORT_BACKOFF_H
#define PC_TRANSPORT_BACKOFF_H

/* Seconds to wait after `failures` consecutive failed attempts (>= 1):
 * min_s, then doubling each time, never above max_s. */
unsigned backoff_delay_s(unsigned min_s, unsigned max_s, unsigned failures);

#endif
