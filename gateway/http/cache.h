/* http/cache: the freshness a response declares for itself (RFC 9111 §4.2.1
 * and §5.2.2): Cache-Control max-age, no-store and no-cache, else Expires
 * minus Date. Internal to http/ (fetch.c feeds it header lines); pure and
 * bounded so that hostile values (huge, negative, garbage) are unit-tested. */
#ifndef PC_HTTP_CACHE_H
#define PC_HTTP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* RFC 9111 §1.2.2: a delta-seconds too large to represent is 2^31. */
#define HTTP_CACHE_MAX_AGE_CAP 2147483648L
/* A Date or Expires value longer than this is invalid (an HTTP-date is 29). */
#define HTTP_CACHE_DATE_MAX 64

struct http_cache_info {
	long max_age_s;     /* -1: no max-age directive seen */
	bool no_store;      /* no-store or no-cache */
	bool have_expires;
	bool have_date;
	time_t expires;     /* -1 when the Expires value was invalid */
	time_t date;
};

void http_cache_reset(struct http_cache_info *ci);
/* One header line as received ("Name: value", CRLF optional). Other headers
 * are ignored. Linear in len. */
void http_cache_header(struct http_cache_info *ci, const char *line, size_t len);
/* Seconds the response may be used for: max-age when given, else Expires
 * minus Date (Date missing: minus `now`), else -1. Invalid freshness
 * information counts as 0 (already stale), as RFC 9111 asks. */
long http_cache_lifetime(const struct http_cache_info *ci, time_t now);

#endif
