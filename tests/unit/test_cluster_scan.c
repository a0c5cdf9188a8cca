/* The bounded SCAN-and-MGET load (cluster/scan.c) against hand-made
 * answers, without Redis: cl_redis_command is replaced here by a stub
 * that keeps the last command and its callback, so each test plays Redis
 * and answers it. What a Redis under an attacker's control could answer
 * (a cursor that is no number or is huge, keys that are not strings, hold
 * a NUL, lack the prefix or are too long, 100 000 keys in one answer, an
 * MGET answer of the wrong size, a cursor that never returns to 0) must
 * neither reach the caller nor grow the load. Mutations that fail it:
 * dropping a check of key_ok or cursor_ok, the room check of
 * cl_scan_batch_take, the size check of the MGET answer, or the bound on
 * rounds or keys in next(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/scan.h"

#define PREFIX "portcullis:reg:"

/* The stub Redis: the last command sent, and whether it accepts. */
static struct {
	bool refuse;
	unsigned sent;
	cl_reply_fn *cb;
	void *ctx;
	char argv0[8];
	char cursor[64];
	int argc;
	char args[CL_SCAN_BATCH_MAX + 1][CL_SCAN_PREFIX_MAX + CL_SCAN_SUFFIX_MAX];
} stub;

int cl_redis_command(struct cl_redis *r, cl_reply_fn *cb, void *ctx, int argc, const char **argv,
		     const size_t *argvlen)
{
	(void)r;
	if (stub.refuse)
		return -1;
	stub.sent++;
	stub.cb = cb;
	stub.ctx = ctx;
	stub.argc = argc;
	snprintf(stub.argv0, sizeof(stub.argv0), "%.*s", (int)argvlen[0], argv[0]);
	if (!strcmp(stub.argv0, "SCAN"))
		snprintf(stub.cursor, sizeof(stub.cursor), "%.*s", (int)argvlen[1], argv[1]);
	for (int i = 0; i < argc && i <= CL_SCAN_BATCH_MAX; i++)
		snprintf(stub.args[i], sizeof(stub.args[i]), "%.*s", (int)argvlen[i], argv[i]);
	return 0;
}

static struct cl_redis *fake_redis = (struct cl_redis *)&stub;

/* Replies made by hand (freed by free_reply). */
static redisReply *str_reply(const char *s, size_t len)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_STRING;
	r->str = malloc(len + 1);
	memcpy(r->str, s, len);
	r->str[len] = '\0';
	r->len = len;
	return r;
}

static redisReply *typed_reply(int type)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = type;
	return r;
}

static redisReply *array_reply(size_t n)
{
	redisReply *r = typed_reply(REDIS_REPLY_ARRAY);
	r->elements = n;
	r->element = calloc(n ? n : 1, sizeof(*r->element));
	return r;
}

static void free_reply(redisReply *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->elements; i++)
		free_reply(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

static redisReply *scan_reply(const char *cursor, redisReply *keys)
{
	redisReply *r = array_reply(2);
	r->element[0] = str_reply(cursor, strlen(cursor));
	r->element[1] = keys;
	return r;
}

/* SCAN answer with the given keys (C strings). */
static redisReply *scan_of(const char *cursor, unsigned n, const char *const *keys)
{
	redisReply *k = array_reply(n);
	for (unsigned i = 0; i < n; i++)
		k->element[i] = str_reply(keys[i], strlen(keys[i]));
	return scan_reply(cursor, k);
}

static void batch_keeps_good_keys_only(void **state)
{
	(void)state;
	struct cl_scan_batch b;
	assert_int_equal(cl_scan_batch_init(&b, PREFIX, 8), 0);
	redisReply *keys = array_reply(8);
	keys->element[0] = str_reply(PREFIX "alice", strlen(PREFIX "alice"));
	keys->element[1] = typed_reply(REDIS_REPLY_INTEGER);              /* not a string */
	keys->element[2] = str_reply(PREFIX "ev\0l", strlen(PREFIX) + 4);  /* a NUL inside */
	keys->element[3] = str_reply("other:bob", 9);                      /* not the prefix */
	keys->element[4] = str_reply(PREFIX "toolong1", strlen(PREFIX "toolong1")); /* 8 >= max */
	keys->element[5] = str_reply(PREFIX, strlen(PREFIX));              /* empty suffix */
	keys->element[6] = array_reply(0);                                 /* nested array */
	keys->element[7] = str_reply(PREFIX "bob1234", strlen(PREFIX "bob1234")); /* 7 fits */
	redisReply *r = scan_reply("42", keys);
	assert_int_equal(cl_scan_batch_take(&b, r), 0);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.refused, 6);
	assert_false(b.overflow);
	assert_string_equal(b.cursor, "42");
	assert_string_equal(cl_scan_batch_suffix(&b, 0), "alice");
	assert_string_equal(cl_scan_batch_suffix(&b, 1), "bob1234");
	free_reply(r);
	cl_scan_batch_fini(&b);
}

static void batch_refuses_bad_answers(void **state)
{
	(void)state;
	struct cl_scan_batch b;
	assert_int_equal(cl_scan_batch_init(&b, PREFIX, 65), 0);
	const char *one[] = { PREFIX "alice" };
	/* cursors: not a number, empty, past 20 digits, with a sign */
	const char *bad_cursors[] = { "x1", "", "123456789012345678901", "-1", "1 " };
	for (size_t i = 0; i < sizeof(bad_cursors) / sizeof(*bad_cursors); i++) {
		redisReply *r = scan_of(bad_cursors[i], 1, one);
		assert_int_equal(cl_scan_batch_take(&b, r), -1);
		free_reply(r);
	}
	/* 20 digits is a cursor */
	redisReply *r = scan_of("18446744073709551615", 1, one);
	assert_int_equal(cl_scan_batch_take(&b, r), 0);
	free_reply(r);
	/* not [cursor, [keys]] */
	assert_int_equal(cl_scan_batch_take(&b, NULL), -1);
	r = typed_reply(REDIS_REPLY_NIL);
	assert_int_equal(cl_scan_batch_take(&b, r), -1);
	free_reply(r);
	r = array_reply(3);
	r->element[0] = str_reply("0", 1);
	r->element[1] = array_reply(0);
	r->element[2] = array_reply(0);
	assert_int_equal(cl_scan_batch_take(&b, r), -1);
	free_reply(r);
	r = scan_reply("0", str_reply("keys", 4)); /* keys not an array */
	assert_int_equal(cl_scan_batch_take(&b, r), -1);
	free_reply(r);
	r = array_reply(2);
	r->element[0] = typed_reply(REDIS_REPLY_INTEGER); /* cursor not a string */
	r->element[1] = array_reply(0);
	assert_int_equal(cl_scan_batch_take(&b, r), -1);
	free_reply(r);
	/* bad setups */
	struct cl_scan_batch x;
	assert_int_equal(cl_scan_batch_init(&x, "a*", 65), -1);
	assert_int_equal(cl_scan_batch_init(&x, PREFIX, CL_SCAN_SUFFIX_MAX + 1), -1);
	assert_int_equal(cl_scan_batch_init(&x, "", 65), -1);
	cl_scan_batch_fini(&b);
}

/* 100 000 good keys in one answer: only the room is kept. */
static void batch_huge_answer(void **state)
{
	(void)state;
	struct cl_scan_batch b;
	assert_int_equal(cl_scan_batch_init(&b, PREFIX, 65), 0);
	redisReply *keys = array_reply(100000);
	for (size_t i = 0; i < keys->elements; i++) {
		char k[64];
		int n = snprintf(k, sizeof(k), PREFIX "u%zu", i);
		keys->element[i] = str_reply(k, (size_t)n);
	}
	redisReply *r = scan_reply("7", keys);
	assert_int_equal(cl_scan_batch_take(&b, r), 0);
	assert_int_equal(b.n, CL_SCAN_BATCH_MAX);
	assert_true(b.overflow);
	assert_string_equal(cl_scan_batch_suffix(&b, CL_SCAN_BATCH_MAX - 1), "u199");
	free_reply(r);
	cl_scan_batch_fini(&b);
}

/* What the caller of a load saw. */
static struct {
	unsigned keys, done_calls;
	bool complete;
	size_t done_keys;
	char last[CL_SCAN_SUFFIX_MAX];
	int last_type;
} seen;

static void on_key(void *ctx, const char *suffix, size_t len, const redisReply *value)
{
	assert_ptr_equal(ctx, &seen);
	assert_int_equal(strlen(suffix), len);
	seen.keys++;
	snprintf(seen.last, sizeof(seen.last), "%s", suffix);
	seen.last_type = value->type;
}

static void on_done(void *ctx, bool complete, size_t keys)
{
	assert_ptr_equal(ctx, &seen);
	seen.done_calls++;
	seen.complete = complete;
	seen.done_keys = keys;
}

static void start(size_t max_keys)
{
	memset(&stub, 0, sizeof(stub));
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cl_scan_load(fake_redis, PREFIX, 65, max_keys, on_key, on_done, &seen), 0);
	assert_string_equal(stub.argv0, "SCAN");
	assert_string_equal(stub.cursor, "0");
	assert_string_equal(stub.args[3], PREFIX "*");
}

static void answer(redisReply *r)
{
	cl_reply_fn *cb = stub.cb;
	void *ctx = stub.ctx;
	stub.cb = NULL;
	cb(ctx, r);
	free_reply(r);
}

static redisReply *mget_of(unsigned n)
{
	redisReply *r = array_reply(n);
	for (unsigned i = 0; i < n; i++)
		r->element[i] = i % 2 ? typed_reply(REDIS_REPLY_NIL) : str_reply("v", 1);
	return r;
}

static void load_walks_every_batch(void **state)
{
	(void)state;
	start(1000);
	const char *b1[] = { PREFIX "alice", PREFIX "bob" }, *b2[] = { PREFIX "carol" };
	answer(scan_of("17", 2, b1));
	assert_string_equal(stub.argv0, "MGET");
	assert_int_equal(stub.argc, 3);
	assert_string_equal(stub.args[1], PREFIX "alice");
	answer(mget_of(2));
	assert_int_equal(seen.keys, 2);
	assert_string_equal(seen.last, "bob");
	assert_int_equal(seen.last_type, REDIS_REPLY_NIL);
	/* the next round from Redis's cursor; an empty batch sends no MGET */
	assert_string_equal(stub.argv0, "SCAN");
	assert_string_equal(stub.cursor, "17");
	answer(scan_of("23", 0, NULL));
	assert_string_equal(stub.argv0, "SCAN");
	assert_string_equal(stub.cursor, "23");
	answer(scan_of("0", 1, b2));
	answer(mget_of(1));
	assert_int_equal(seen.keys, 3);
	assert_string_equal(seen.last, "carol");
	assert_int_equal(seen.done_calls, 1);
	assert_true(seen.complete);
	assert_int_equal(seen.done_keys, 3);
	assert_null(stub.cb); /* nothing more sent */
}

static void load_cut_on_bad_mget(void **state)
{
	(void)state;
	const char *b1[] = { PREFIX "alice", PREFIX "bob" };
	start(1000);
	answer(scan_of("0", 2, b1));
	answer(mget_of(3)); /* one value too many */
	assert_int_equal(seen.keys, 0);
	assert_int_equal(seen.done_calls, 1);
	assert_false(seen.complete);
	start(1000);
	answer(scan_of("0", 2, b1));
	answer(mget_of(1)); /* one too few */
	assert_int_equal(seen.keys, 0);
	assert_false(seen.complete);
	start(1000);
	answer(scan_of("0", 2, b1));
	answer(str_reply("OK", 2)); /* not an array */
	assert_int_equal(seen.keys, 0);
	assert_false(seen.complete);
	assert_null(stub.cb);
}

static void load_cut_when_redis_fails(void **state)
{
	(void)state;
	const char *b1[] = { PREFIX "alice" };
	start(1000);
	answer(NULL); /* the SCAN failed */
	assert_int_equal(seen.done_calls, 1);
	assert_false(seen.complete);
	start(1000);
	answer(scan_of("5", 1, b1));
	stub.refuse = true; /* the MGET refused at once */
	answer(mget_of(1));
	assert_int_equal(seen.keys, 1);
	assert_int_equal(seen.done_calls, 1);
	assert_false(seen.complete);
	/* refused at the start: -1, nothing called */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cl_scan_load(fake_redis, PREFIX, 65, 10, on_key, on_done, &seen), -1);
	assert_int_equal(seen.done_calls, 0);
}

static void load_stops_at_max_keys(void **state)
{
	(void)state;
	const char *b1[] = { PREFIX "a", PREFIX "b", PREFIX "c" };
	/* with more to scan, and in the last batch (a key left out there is
	 * no complete load either) */
	const char *cursors[] = { "9", "0" };
	for (int c = 0; c < 2; c++) {
		start(2);
		answer(scan_of(cursors[c], 3, b1));
		answer(mget_of(3));
		assert_int_equal(seen.keys, 2);
		assert_int_equal(seen.done_calls, 1);
		assert_false(seen.complete);
		assert_null(stub.cb);
	}
}

/* A Redis whose cursor never comes back to 0 ends the load. */
static void load_stops_at_max_rounds(void **state)
{
	(void)state;
	start(1000);
	unsigned rounds = 0;
	while (stub.cb && rounds <= CL_SCAN_ROUNDS_MAX) {
		answer(scan_of("1", 0, NULL));
		rounds++;
	}
	assert_int_equal(rounds, CL_SCAN_ROUNDS_MAX);
	assert_int_equal(seen.done_calls, 1);
	assert_false(seen.complete);
}

/* A batch over its room is read as far as it goes, and said to be cut. */
static void load_overflow_is_cut(void **state)
{
	(void)state;
	start(100000);
	redisReply *keys = array_reply(CL_SCAN_BATCH_MAX + 5);
	for (size_t i = 0; i < keys->elements; i++) {
		char k[64];
		int n = snprintf(k, sizeof(k), PREFIX "u%zu", i);
		keys->element[i] = str_reply(k, (size_t)n);
	}
	answer(scan_reply("0", keys));
	assert_int_equal(stub.argc, CL_SCAN_BATCH_MAX + 1);
	answer(mget_of(CL_SCAN_BATCH_MAX));
	assert_int_equal(seen.keys, CL_SCAN_BATCH_MAX);
	assert_int_equal(seen.done_calls, 1);
	assert_false(seen.complete);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batch_keeps_good_keys_only),
		cmocka_unit_test(batch_refuses_bad_answers),
		cmocka_unit_test(batch_huge_answer),
		cmocka_unit_test(load_walks_every_batch),
		cmocka_unit_test(load_cut_on_bad_mget),
		cmocka_unit_test(load_cut_when_redis_fails),
		cmocka_unit_test(load_stops_at_max_keys),
		cmocka_unit_test(load_stops_at_max_rounds),
		cmocka_unit_test(load_overflow_is_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
