/* libFuzzer target: the response headers of a fetched certificate as
 * gateway/http/cache.c reads them (Cache-Control, Expires, Date). The input
 * is split into header lines at LF, each fed as curl would hand it over.
 * Nothing may crash, and the lifetime must stay within -1 .. 2^31: a value
 * outside would be a wrapped or unchecked number. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_cache_info ci;
	http_cache_reset(&ci);
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl + 1 : end;
		http_cache_header(&ci, p, (size_t)(stop - p));
		p = stop;
	}
	long life = http_cache_lifetime(&ci, 1700000000);
	if (life < -1 || life > HTTP_CACHE_MAX_AGE_CAP)
		abort();
	return 0;
}
