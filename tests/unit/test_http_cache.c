/* The freshness headers a fetched certificate's server sends
 * (gateway/http/cache.c), parsed as hostile input: huge, negative, garbage
 * and overflowing max-age values, conflicting directives, commas in quotes,
 * invalid and absurd dates. A value that cannot be read must make the
 * document stale (0), never cached for long, and never wrap around. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/cache.h"

#define NOW ((time_t)1700000000)

/* The lifetime after the given header lines (NULL-terminated). */
static long lifetime(bool *no_store, ...)
{
	struct http_cache_info ci;
	http_cache_reset(&ci);
	va_list ap;
	va_start(ap, no_store);
	const char *line;
	while ((line = va_arg(ap, const char *)))
		http_cache_header(&ci, line, strlen(line));
	va_end(ap);
	if (no_store)
		*no_store = ci.no_store;
	return http_cache_lifetime(&ci, NOW);
}

static void max_age_values(void **state)
{
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=3600\r\n", NULL), 3600);
	assert_int_equal(lifetime(NULL, "cache-control:public,MAX-AGE=60", NULL), 60);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=\"120\"", NULL), 120);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age = 7 ", NULL), 7);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=0", NULL), 0);
	assert_int_equal(lifetime(NULL, "Content-Type: text/plain", NULL), -1);
	assert_int_equal(lifetime(NULL, "Cache-Control: public", NULL), -1);
}

static void hostile_max_age(void **state)
{
	/* Too large to represent: 2^31 (RFC 9111 §1.2.2), not a wrapped value. */
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=99999999999999999999999999999999", NULL),
			 HTTP_CACHE_MAX_AGE_CAP);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=2147483648", NULL), HTTP_CACHE_MAX_AGE_CAP);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=2147483647", NULL), 2147483647L);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=18446744073709551617", NULL),
			 HTTP_CACHE_MAX_AGE_CAP);
	/* Unreadable: stale. */
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=-1", NULL), 0);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=12abc", NULL), 0);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=", NULL), 0);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age", NULL), 0);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=0x10", NULL), 0);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=\"", NULL), 0);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=1e9", NULL), 0);
	/* Conflicting claims: the smallest wins, in one header or several. */
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=100, max-age=5", NULL), 5);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=5", "Cache-Control: max-age=100", NULL), 5);
	assert_int_equal(lifetime(NULL, "Cache-Control: max-age=100", "Cache-Control: max-age=x", NULL), 0);
	/* A comma inside a quoted value does not start a directive. */
	assert_int_equal(lifetime(NULL, "Cache-Control: private=\"a, max-age=99\", max-age=10", NULL), 10);
}

static void no_store_and_no_cache(void **state)
{
	bool ns = false;
	assert_int_equal(lifetime(&ns, "Cache-Control: no-store, max-age=60", NULL), 60);
	assert_true(ns);
	lifetime(&ns, "Cache-Control: No-Cache", NULL);
	assert_true(ns);
	lifetime(&ns, "Cache-Control: no-cache=\"Set-Cookie\"", NULL);
	assert_true(ns);
	lifetime(&ns, "Cache-Control: no-storex, max-age=1", NULL);
	assert_false(ns);
	lifetime(&ns, "X-Cache-Control: no-store", NULL);
	assert_false(ns);
}

static void expires_minus_date(void **state)
{
	assert_int_equal(lifetime(NULL, "Date: Tue, 14 Nov 2023 22:13:20 GMT",
				  "Expires: Tue, 14 Nov 2023 23:13:20 GMT", NULL), 3600);
	/* max-age wins over Expires. */
	assert_int_equal(lifetime(NULL, "Expires: Tue, 14 Nov 2023 23:13:20 GMT",
				  "Date: Tue, 14 Nov 2023 22:13:20 GMT", "Cache-Control: max-age=5", NULL), 5);
	/* No Date: from now (NOW is 2023-11-14 22:13:20 UTC). */
	assert_int_equal(lifetime(NULL, "Expires: Tue, 14 Nov 2023 22:14:20 GMT", NULL), 60);
	/* In the past, garbage, "0", too long: stale. */
	assert_int_equal(lifetime(NULL, "Date: Tue, 14 Nov 2023 22:13:20 GMT",
				  "Expires: Mon, 13 Nov 2023 22:13:20 GMT", NULL), 0);
	assert_int_equal(lifetime(NULL, "Expires: 0", NULL), 0);
	assert_int_equal(lifetime(NULL, "Expires: yesterday-ish", NULL), 0);
	char longdate[200];
	memset(longdate, 'A', sizeof(longdate) - 1);
	memcpy(longdate, "Expires: ", 9);
	longdate[sizeof(longdate) - 1] = '\0';
	assert_int_equal(lifetime(NULL, longdate, NULL), 0);
	/* Two Expires that disagree: stale. */
	assert_int_equal(lifetime(NULL, "Expires: Tue, 14 Nov 2023 23:13:20 GMT",
				  "Expires: Wed, 15 Nov 2023 23:13:20 GMT", NULL), 0);
	/* Far future: capped, never wrapped. */
	long far = lifetime(NULL, "Date: Thu, 01 Jan 1970 00:00:00 GMT",
			    "Expires: Fri, 31 Dec 9999 23:59:59 GMT", NULL);
	assert_true(far >= 0 && far <= HTTP_CACHE_MAX_AGE_CAP);
	/* An unreadable Date falls back to now. */
	assert_int_equal(lifetime(NULL, "Date: garbage", "Expires: Tue, 14 Nov 2023 22:14:20 GMT", NULL), 60);
}

/* Lines without a colon, empty lines, embedded NULs: ignored, no crash. */
static void malformed_lines(void **state)
{
	struct http_cache_info ci;
	http_cache_reset(&ci);
	http_cache_header(&ci, "", 0);
	http_cache_header(&ci, "\r\n", 2);
	http_cache_header(&ci, "Cache-Control max-age=5", 23);
	http_cache_header(&ci, ":", 1);
	static const char nul[] = "Expires: Tue, 14 Nov 2023\0 23:13:20 GMT";
	http_cache_header(&ci, nul, sizeof(nul) - 1);
	assert_int_equal(http_cache_lifetime(&ci, NOW), 0); /* the Expires was invalid */
	/* A long run of commas and directives stays linear and bounded. */
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memcpy(big, "Cache-Control:", 14);
	for (size_t i = 14; i < n; i++)
		big[i] = i % 2 ? ',' : '"';
	big[n] = '\0';
	http_cache_reset(&ci);
	http_cache_header(&ci, big, n);
	assert_int_equal(http_cache_lifetime(&ci, NOW), -1);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(max_age_values),
		cmocka_unit_test(hostile_max_age),
		cmocka_unit_test(no_store_and_no_cache),
		cmocka_unit_test(expires_minus_date),
		cmocka_unit_test(malformed_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
