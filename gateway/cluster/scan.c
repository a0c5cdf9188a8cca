/* The bounded SCAN-and-MGET load (scan.h). One load is one allocation: the
 * state below and one batch of CL_SCAN_BATCH_MAX keys of fixed size, so
 * neither a huge SCAN answer nor a long key grows it; the keys are copied
 * out of the SCAN answer (hiredis frees it after the callback) and are the
 * MGET's arguments. A load ends, calling done once, on the first of: the
 * last cursor ("0"), a failed or malformed answer, max_keys keys,
 * CL_SCAN_ROUNDS_MAX rounds. Whatever cuts it is logged once here, so the
 * callers need not. */
#include "scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"
#include "core/log.h"

struct cl_scan {
	struct cl_redis *r;
	cl_scan_key_fn *fn;
	cl_scan_done_fn *done;
	void *ctx;
	size_t max_keys, keys;
	unsigned rounds;
	bool cut; /* some keys were not read (a batch over its room) */
	struct cl_scan_batch b;
};

int cl_scan_batch_init(struct cl_scan_batch *b, const char *prefix, size_t max_suffix)
{
	memset(b, 0, sizeof(*b));
	size_t plen = strlen(prefix);
	/* the prefix goes into a MATCH pattern: no glob character in it */
	if (plen == 0 || plen >= sizeof(b->prefix) || strpbrk(prefix, "*?[]\\") ||
	    max_suffix < 2 || max_suffix > CL_SCAN_SUFFIX_MAX)
		return -1;
	memcpy(b->prefix, prefix, plen + 1);
	b->plen = plen;
	b->max_suffix = max_suffix;
	b->slot = plen + max_suffix;
	b->keys = calloc(CL_SCAN_BATCH_MAX, b->slot);
	snprintf(b->cursor, sizeof(b->cursor), "0");
	return b->keys ? 0 : -1;
}

void cl_scan_batch_fini(struct cl_scan_batch *b)
{
	free(b->keys);
	b->keys = NULL;
}

/* A cursor is 1 to CL_SCAN_CURSOR_MAX decimal digits. */
static bool cursor_ok(const redisReply *c)
{
	if (c->type != REDIS_REPLY_STRING || c->len == 0 || c->len > CL_SCAN_CURSOR_MAX)
		return false;
	for (size_t i = 0; i < c->len; i++)
		if (c->str[i] < '0' || c->str[i] > '9')
			return false;
	return true;
}

/* A key of ours: a string "<prefix><suffix>", the suffix 1 to
 * max_suffix - 1 bytes, no NUL anywhere (it is a C string from here on). */
static bool key_ok(const struct cl_scan_batch *b, const redisReply *k)
{
	return k->type == REDIS_REPLY_STRING && k->len > b->plen && k->len - b->plen < b->max_suffix &&
	       memcmp(k->str, b->prefix, b->plen) == 0 && memchr(k->str, '\0', k->len) == NULL;
}

int cl_scan_batch_take(struct cl_scan_batch *b, const redisReply *reply)
{
	b->n = 0;
	b->refused = 0;
	b->overflow = false;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    !cursor_ok(reply->element[0]) || reply->element[1]->type != REDIS_REPLY_ARRAY)
		return -1;
	const redisReply *keys = reply->element[1];
	/* Only the room is walked further than counted: an answer of 100 000
	 * keys costs a look at each, nothing more. */
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];
		if (!key_ok(b, k)) {
			b->refused++;
			continue;
		}
		if (b->n == CL_SCAN_BATCH_MAX) {
			b->overflow = true;
			break;
		}
		char *slot = b->keys + (size_t)b->n * b->slot;
		memcpy(slot, k->str, k->len);
		slot[k->len] = '\0';
		b->len[b->n++] = k->len;
	}
	const redisReply *c = reply->element[0];
	memcpy(b->cursor, c->str, c->len);
	b->cursor[c->len] = '\0';
	return 0;
}

bool cl_scan_batch_mget_ok(const struct cl_scan_batch *b, const redisReply *reply)
{
	return reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == b->n;
}

static void finish(struct cl_scan *s, const char *why)
{
	if (why) {
		log_warnx("cluster: load of %s* from Redis cut after %zu keys (%s)", s->b.prefix, s->keys,
			  why);
	} else if (s->cut) {
		log_warnx("cluster: load of %s* from Redis incomplete: a SCAN answer held more than %d keys",
			  s->b.prefix, CL_SCAN_BATCH_MAX);
	}
	if (s->done)
		s->done(s->ctx, why == NULL && !s->cut, s->keys);
	cl_scan_batch_fini(&s->b);
	free(s);
}

static void on_scan(void *ctx, const redisReply *reply);

/* One SCAN round from the batch's cursor. 0 or -1 (refused at once). */
static int send_scan(struct cl_scan *s)
{
	s->rounds++;
	char match[CL_SCAN_PREFIX_MAX + 1], count[8];
	snprintf(match, sizeof(match), "%s*", s->b.prefix);
	snprintf(count, sizeof(count), "%d", CL_SCAN_COUNT);
	const char *argv[] = { "SCAN", s->b.cursor, "MATCH", match, "COUNT", count };
	size_t argl[] = { 4, strlen(s->b.cursor), 5, strlen(match), 5, strlen(count) };
	return cl_redis_command(s->r, on_scan, s, 6, argv, argl);
}

/* After a batch: the next SCAN round, or the end. */
static void next(struct cl_scan *s)
{
	if (!strcmp(s->b.cursor, "0"))
		finish(s, NULL);
	else if (s->keys >= s->max_keys)
		finish(s, "the most keys a load reads");
	else if (s->rounds >= CL_SCAN_ROUNDS_MAX)
		finish(s, "the most SCAN rounds a load makes");
	else if (send_scan(s) < 0)
		finish(s, "Redis refused the command");
}

static void on_mget(void *ctx, const redisReply *reply)
{
	struct cl_scan *s = ctx;
	if (reply == NULL) {
		finish(s, "Redis failed or went away");
		return;
	}
	if (!cl_scan_batch_mget_ok(&s->b, reply)) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		finish(s, "an MGET answer that does not match its keys");
		return;
	}
	unsigned i = 0;
	for (; i < s->b.n && s->keys < s->max_keys; i++, s->keys++)
		s->fn(s->ctx, cl_scan_batch_suffix(&s->b, i), s->b.len[i] - s->b.plen, reply->element[i]);
	if (i < s->b.n)
		finish(s, "the most keys a load reads");
	else
		next(s);
}

static void on_scan(void *ctx, const redisReply *reply)
{
	struct cl_scan *s = ctx;
	if (reply == NULL) {
		finish(s, "Redis failed or went away");
		return;
	}
	if (cl_scan_batch_take(&s->b, reply) < 0) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		finish(s, "a malformed SCAN answer");
		return;
	}
	if (s->b.refused)
		counter_add(CNT_CLUSTER_VALUES_REFUSED, s->b.refused);
	s->cut |= s->b.overflow;
	if (s->b.n == 0) {
		next(s);
		return;
	}
	const char *argv[CL_SCAN_BATCH_MAX + 1] = { "MGET" };
	size_t argl[CL_SCAN_BATCH_MAX + 1] = { 4 };
	for (unsigned i = 0; i < s->b.n; i++) {
		argv[i + 1] = s->b.keys + (size_t)i * s->b.slot;
		argl[i + 1] = s->b.len[i];
	}
	if (cl_redis_command(s->r, on_mget, s, (int)s->b.n + 1, argv, argl) < 0)
		finish(s, "Redis refused the command");
}

int cl_scan_load(struct cl_redis *r, const char *prefix, size_t max_suffix, size_t max_keys,
		 cl_scan_key_fn *fn, cl_scan_done_fn *done, void *ctx)
{
	if (r == NULL || fn == NULL || max_keys == 0)
		return -1;
	struct cl_scan *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	if (cl_scan_batch_init(&s->b, prefix, max_suffix) < 0) {
		free(s);
		return -1;
	}
	s->r = r;
	s->fn = fn;
	s->done = done;
	s->ctx = ctx;
	s->max_keys = max_keys;
	/* a refusal of the first SCAN (Redis down) is the caller's answer */
	if (send_scan(s) < 0) {
		cl_scan_batch_fini(&s->b);
		free(s);
		return -1;
	}
	return 0;
}
