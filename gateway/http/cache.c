/* Reads the freshness headers of a fetched document (cache.h): max-age,
 * no-store and no-cache from Cache-Control, Expires and Date. Every value
 * comes from the network, so parsing is linear, never allocates, caps
 * numbers instead of overflowing, and treats what it cannot read as stale. */
#include "http/cache.h"

#include <curl/curl.h>
#include <string.h>
#include <strings.h>

void http_cache_reset(struct http_cache_info *ci)
{
	ci->max_age_s = -1;
	ci->no_store = false;
	ci->have_expires = false;
	ci->have_date = false;
	ci->expires = -1;
	ci->date = -1;
}

static bool ows(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **p, const char **end)
{
	while (*p < *end && ows(**p))
		(*p)++;
	while (*end > *p && (ows((*end)[-1]) || (*end)[-1] == '\r' || (*end)[-1] == '\n'))
		(*end)--;
}

static bool token_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - p) == n && strncasecmp(p, word, n) == 0;
}

/* delta-seconds (1*DIGIT), optionally quoted; capped at 2^31. -1: invalid. */
static long delta_seconds(const char *p, const char *end)
{
	if (end - p >= 2 && *p == '"' && end[-1] == '"') {
		p++;
		end--;
	}
	if (p == end)
		return -1;
	long v = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v < HTTP_CACHE_MAX_AGE_CAP)
			v = v * 10 + (*p - '0');
	}
	return v > HTTP_CACHE_MAX_AGE_CAP ? HTTP_CACHE_MAX_AGE_CAP : v;
}

/* One directive of a Cache-Control list. A conflicting or invalid max-age
 * makes the response stale (0): the smallest claim wins. */
static void directive(struct http_cache_info *ci, const char *p, const char *end)
{
	trim(&p, &end);
	const char *eq = memchr(p, '=', (size_t)(end - p));
	const char *name_end = eq ? eq : end;
	const char *n = p;
	trim(&n, &name_end);
	if (token_is(n, name_end, "no-store") || token_is(n, name_end, "no-cache")) {
		ci->no_store = true;
	} else if (token_is(n, name_end, "max-age")) {
		long v = -1;
		if (eq) {
			const char *v0 = eq + 1, *v1 = end;
			trim(&v0, &v1);
			v = delta_seconds(v0, v1);
		}
		if (v < 0)
			v = 0;
		if (ci->max_age_s < 0 || v < ci->max_age_s)
			ci->max_age_s = v;
	}
}

/* Commas inside a quoted value (no-cache="a, b") do not split directives. */
static void cache_control(struct http_cache_info *ci, const char *p, const char *end)
{
	const char *start = p;
	bool quoted = false;
	for (; p < end; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted) {
			directive(ci, start, p);
			start = p + 1;
		}
	}
	directive(ci, start, end);
}

/* An HTTP-date through curl's parser (which knows the three RFC 9110
 * forms); -1 when invalid or too long to be a date. */
static time_t http_date(const char *p, const char *end)
{
	char buf[HTTP_CACHE_DATE_MAX + 1];
	size_t n = (size_t)(end - p);
	if (n == 0 || n > HTTP_CACHE_DATE_MAX || memchr(p, '\0', n))
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return curl_getdate(buf, NULL);
}

void http_cache_header(struct http_cache_info *ci, const char *line, size_t len)
{
	const char *end = line + len;
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return;
	const char *name = line, *name_end = colon;
	trim(&name, &name_end);
	const char *v = colon + 1;
	trim(&v, &end);
	if (token_is(name, name_end, "cache-control")) {
		cache_control(ci, v, end);
	} else if (token_is(name, name_end, "expires")) {
		/* A second Expires that disagrees cannot be trusted either. */
		time_t t = http_date(v, end);
		ci->expires = ci->have_expires && ci->expires != t ? -1 : t;
		ci->have_expires = true;
	} else if (token_is(name, name_end, "date")) {
		ci->date = http_date(v, end);
		ci->have_date = ci->date >= 0;
	}
}

long http_cache_lifetime(const struct http_cache_info *ci, time_t now)
{
	if (ci->max_age_s >= 0)
		return ci->max_age_s;
	if (!ci->have_expires)
		return -1;
	if (ci->expires < 0)
		return 0;
	time_t base = ci->have_date ? ci->date : now;
	if (ci->expires <= base)
		return 0;
	/* Both are non-negative time_t: the difference cannot overflow. */
	time_t d = ci->expires - base;
	return d > HTTP_CACHE_MAX_AGE_CAP ? HTTP_CACHE_MAX_AGE_CAP : (long)d;
}
