/* The bounded load of every value under one key prefix in Redis: SCAN
 * MATCH "<prefix>*" a batch at a time, one MGET of the batch's keys, then
 * the next batch, so one command of the load is in flight at a time and it
 * stops after a caller-given number of keys. Used when Redis comes (back)
 * by the bindings (bindings.c) and the call records (calls.c). What Redis
 * answers is untrusted (Redis may be shared, or taken over): the cursor,
 * each key and the MGET answer are checked here before a caller sees them,
 * and every store the load keeps has a fixed size. */
#ifndef PC_CLUSTER_SCAN_H
#define PC_CLUSTER_SCAN_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "redis.h"

/* SCAN's COUNT, and the keys of one batch read (COUNT is a hint to Redis:
 * room for twice as many; keys beyond it are not read, and the load is
 * then reported as cut). */
#define CL_SCAN_COUNT 100
#define CL_SCAN_BATCH_MAX (CL_SCAN_COUNT * 2)
/* A cursor is an unsigned 64-bit number in decimal. */
#define CL_SCAN_CURSOR_MAX 20
#define CL_SCAN_PREFIX_MAX 64
/* Longest key suffix a caller may ask for (its max_suffix). */
#define CL_SCAN_SUFFIX_MAX 512
/* SCAN rounds of one load: a Redis that answers a non-zero cursor
 * forever (or a keyspace of over 100 million keys) ends the load. */
#define CL_SCAN_ROUNDS_MAX 1000000

/* One key's value: the key without the prefix (suffix, NUL-terminated,
 * 1 to max_suffix - 1 bytes, no NUL inside) and its MGET element (a
 * string, nil when the key went meanwhile, or anything else Redis put
 * there: the caller checks). The reply belongs to hiredis. */
typedef void cl_scan_key_fn(void *ctx, const char *suffix, size_t len, const redisReply *value);
/* Called once at the end: complete, or cut (Redis down or slow, a
 * malformed answer, max_keys or the rounds reached, a batch too big);
 * keys is how many were given to the key function. */
typedef void cl_scan_done_fn(void *ctx, bool complete, size_t keys);

/* Starts the load. fn is called for each key read, done (NULL: none) once
 * at the end, both on the event loop, never from within this call; ctx
 * must outlive the load (a load ends, cut, when the connection is freed).
 * 0, or -1 when it cannot start (nothing called). */
int cl_scan_load(struct cl_redis *r, const char *prefix, size_t max_suffix, size_t max_keys,
		 cl_scan_key_fn *fn, cl_scan_done_fn *done, void *ctx);

/* One batch as checked (exposed for the unit tests; the load keeps one). */
struct cl_scan_batch {
	char prefix[CL_SCAN_PREFIX_MAX];
	size_t plen, max_suffix, slot; /* slot: bytes of one key, plen + max_suffix */
	char cursor[CL_SCAN_CURSOR_MAX + 1];
	unsigned n;          /* keys of the batch */
	unsigned refused;    /* keys of the answer not taken (wrong type, length, NUL, prefix) */
	bool overflow;       /* the answer held more good keys than CL_SCAN_BATCH_MAX */
	size_t len[CL_SCAN_BATCH_MAX]; /* whole key lengths */
	char *keys;          /* CL_SCAN_BATCH_MAX slots, each a NUL-terminated key */
};

/* 0, or -1 (prefix too long or with a glob character, max_suffix 0 or
 * over CL_SCAN_SUFFIX_MAX, no memory). */
int cl_scan_batch_init(struct cl_scan_batch *b, const char *prefix, size_t max_suffix);
void cl_scan_batch_fini(struct cl_scan_batch *b);
/* A SCAN answer ([cursor, [key...]]) into the batch: 0, or -1 when it is
 * not one (the load stops). Bad keys are skipped and counted, not fatal. */
int cl_scan_batch_take(struct cl_scan_batch *b, const redisReply *reply);
/* Whether an MGET answer fits the batch (an array of exactly n). */
bool cl_scan_batch_mget_ok(const struct cl_scan_batch *b, const redisReply *reply);
/* Key i's suffix. */
static inline const char *cl_scan_batch_suffix(const struct cl_scan_batch *b, unsigned i)
{
	return b->keys + (size_t)i * b->slot + b->plen;
}

#endif
