/* The bound on what hiredis's reader builds from Redis's answers
 * (cluster/redis.c, cl_redis_bound_reader): an array that announces more
 * than CL_REDIS_ELEMENTS_MAX elements is a read error before hiredis
 * allocates its element table (without the bound "*300000000" asks for
 * 2.4 GB at once); arrays within it, nested ones included, read as ever.
 * Fails if cl_redis_bound_reader leaves the reader's builder as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/redis.h"

static int read_one(const char *text, redisReply **out)
{
	redisReader *rd = redisReaderCreate();
	assert_non_null(rd);
	cl_redis_bound_reader(rd);
	assert_int_equal(redisReaderFeed(rd, text, strlen(text)), REDIS_OK);
	void *reply = NULL;
	int rc = redisReaderGetReply(rd, &reply);
	redisReaderFree(rd);
	*out = reply;
	return rc;
}

static void huge_array_refused(void **state)
{
	(void)state;
	redisReply *r = NULL;
	assert_int_equal(read_one("*300000000\r\n", &r), REDIS_ERR);
	assert_null(r);
	char text[64];
	snprintf(text, sizeof(text), "*2\r\n$1\r\n0\r\n*%d\r\n", CL_REDIS_ELEMENTS_MAX + 1);
	assert_int_equal(read_one(text, &r), REDIS_ERR);
	assert_null(r);
}

static void arrays_within_bound_read(void **state)
{
	(void)state;
	redisReply *r = NULL;
	assert_int_equal(read_one("*2\r\n$2\r\n17\r\n*2\r\n$3\r\nk:a\r\n$-1\r\n", &r), REDIS_OK);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 2);
	assert_string_equal(r->element[0]->str, "17");
	assert_int_equal(r->element[1]->elements, 2);
	assert_int_equal(r->element[1]->element[1]->type, REDIS_REPLY_NIL);
	freeReplyObject(r);
	char text[64];
	snprintf(text, sizeof(text), "*%d\r\n", CL_REDIS_ELEMENTS_MAX);
	redisReader *rd = redisReaderCreate();
	cl_redis_bound_reader(rd);
	assert_int_equal(redisReaderFeed(rd, text, strlen(text)), REDIS_OK);
	for (int i = 0; i < CL_REDIS_ELEMENTS_MAX; i++)
		assert_int_equal(redisReaderFeed(rd, ":1\r\n", 4), REDIS_OK);
	void *reply = NULL;
	assert_int_equal(redisReaderGetReply(rd, &reply), REDIS_OK);
	assert_non_null(reply);
	assert_int_equal(((redisReply *)reply)->elements, CL_REDIS_ELEMENTS_MAX);
	freeReplyObject(reply);
	redisReaderFree(rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(huge_array_refused),
		cmocka_unit_test(arrays_within_bound_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
