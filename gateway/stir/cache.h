/* stir/cache: checked certificate chains by x5u URL. A URL is attacker
 * chosen, so the table is keyed with a secret (core/hash); it holds at most
 * `max_entries` chains, each for at most the time the HTTP answer allowed
 * (Cache-Control max-age / Expires), the configured maximum age and the
 * leaf's expiry, whichever is first; when full, the entry expiring first
 * goes. A URL whose fetch failed is remembered briefly as failed, so a
 * flood naming a dead URL does not start a fetch per call. Time is an
 * argument: the cache does no I/O. */
#ifndef PC_STIR_CACHE_H
#define PC_STIR_CACHE_H

#include <stddef.h>
#include <time.h>

#include "stir/cert.h"
#include "stir/result.h"

struct stir_cache;

struct stir_cache *stir_cache_new(unsigned max_entries, unsigned max_age_s);
void stir_cache_free(struct stir_cache *c);

/* The entry for url at `now`: STIR_PASSED with *cert set (owned by the
 * cache, valid until the next put/expire), a remembered failure, or
 * STIR_RESULT__COUNT when nothing (or only an expired entry) is known. */
enum stir_result stir_cache_get(struct stir_cache *c, const char *url, time_t now,
				const struct stir_cert **cert);

/* Stores a checked chain (the cache owns it from now on) for at most
 * http_max_age_s (-1: the answer gave none) from `now`. Returns 0, or -1
 * (then the chain was freed). */
int stir_cache_put(struct stir_cache *c, const char *url, struct stir_cert *cert,
		   long http_max_age_s, time_t now);
/* Remembers a failure for `ttl_s` seconds. */
void stir_cache_put_failure(struct stir_cache *c, const char *url, enum stir_result r,
			    unsigned ttl_s, time_t now);
unsigned stir_cache_count(const struct stir_cache *c);

#endif
