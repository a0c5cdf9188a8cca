/* libFuzzer target: what Redis answers to the bounded load (cluster/scan.c).
 * The input is read as RESP by hiredis's own reader (as the connection
 * would), and each reply is taken as a SCAN answer, then as the MGET answer
 * of the batch. A taken batch must hold at most CL_SCAN_BATCH_MAX keys,
 * each with the prefix, a suffix of 1 to max_suffix - 1 bytes and no NUL,
 * and a cursor of decimal digits; an MGET answer is accepted only with one
 * element per key. The reader is bounded as the connection's
 * (cl_redis_bound_reader): an array announcing more than
 * CL_REDIS_ELEMENTS_MAX elements is a read error. */
#include <hiredis/read.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "portcullis:reg:"
#define SUFFIX_MAX 65

static void check(struct cl_scan_batch *b, const redisReply *reply)
{
	if (cl_scan_batch_take(b, reply) == 0) {
		if (b->n > CL_SCAN_BATCH_MAX || !b->cursor[0] || strspn(b->cursor, "0123456789") != strlen(b->cursor))
			abort();
		for (unsigned i = 0; i < b->n; i++) {
			const char *key = b->keys + (size_t)i * b->slot, *suffix = cl_scan_batch_suffix(b, i);
			size_t slen = strlen(suffix);
			if (strncmp(key, PREFIX, strlen(PREFIX)) || slen == 0 || slen >= SUFFIX_MAX ||
			    strlen(key) != b->len[i])
				abort();
		}
	}
	if (cl_scan_batch_mget_ok(b, reply) && reply->elements != b->n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cl_scan_batch b;
	if (b.keys == NULL && cl_scan_batch_init(&b, PREFIX, SUFFIX_MAX) < 0)
		abort();
	redisReader *rd = redisReaderCreate();
	if (rd == NULL)
		return 0;
	cl_redis_bound_reader(rd); /* as every connection's */
	if (redisReaderFeed(rd, (const char *)data, size) == REDIS_OK) {
		void *reply = NULL;
		/* a few replies per input: each as it would come */
		for (int i = 0; i < 8 && redisReaderGetReply(rd, &reply) == REDIS_OK && reply; i++) {
			check(&b, reply);
			freeReplyObject(reply);
			reply = NULL;
		}
	}
	redisReaderFree(rd);
	return 0;
}
