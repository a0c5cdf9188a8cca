/* The gateway's one source of randomness: the kernel's CSPRNG through
 * getrandom(2), for tags, branches, Call-IDs, nonces, port picks, hash keys
 * and SRTP master keys alike. One source, because getrandom is already
 * cryptographically strong: nothing here needs a weaker, faster generator,
 * and a second generator would be a second thing to seed and audit. */
#ifndef PC_CORE_RANDOM_H
#define PC_CORE_RANDOM_H

#include <stddef.h>

/* Fills out[0..len) with random bytes. 0, or -1 (out then holds nothing
 * usable) when the kernel refuses: callers must fail, never fall back to
 * something predictable for secrets. */
int pc_random_bytes(void *out, size_t len);

#endif
