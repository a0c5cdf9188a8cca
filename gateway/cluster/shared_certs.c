/* Certificates shared between nodes (shared_certs.h). The value carries
 * its own expiry in wall-clock seconds beside Redis's EX, so a reader
 * caches it no longer than the writer would have: node clocks must agree
 * as STIR's iat check already requires. */
#include "shared_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/counters.h"
#include "codec.h"
#include "core/log.h"

#define NAME_LEN 64

struct cl_cert_read {
	cl_cert_found_fn *found;
	void *arg;
};

static int key_of(const char *name, char *key, size_t size)
{
	if (strlen(name) != NAME_LEN || strspn(name, "0123456789abcdef") != NAME_LEN)
		return -1;
	snprintf(key, size, "%s%s", CL_CERT_KEY_PREFIX, name);
	return 0;
}

static void on_get(void *ctx, const redisReply *reply)
{
	struct cl_cert_read *rd = ctx;
	const char *bytes = NULL;
	size_t blen = 0;
	long ttl = 0;
	if (reply && reply->type == REDIS_REPLY_STRING &&
	    cl_cert_value_decode(reply->str, reply->len, (long)time(NULL), &bytes, &blen, &ttl) < 0) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		log_warnx("cluster: a shared certificate in Redis refused (malformed or expired)");
		bytes = NULL;
	}
	rd->found(rd->arg, bytes, bytes ? blen : 0, ttl);
	free(rd);
}

int cl_certs_get(struct cl_redis *r, const char *name, cl_cert_found_fn *found, void *arg)
{
	char key[sizeof(CL_CERT_KEY_PREFIX) + NAME_LEN];
	struct cl_cert_read *rd;
	if (r == NULL || key_of(name, key, sizeof(key)) < 0 || (rd = malloc(sizeof(*rd))) == NULL)
		return -1;
	*rd = (struct cl_cert_read){ found, arg };
	const char *get[] = { "GET", key };
	size_t getl[] = { 3, strlen(key) };
	if (cl_redis_command(r, on_get, rd, 2, get, getl) < 0) {
		free(rd);
		return -1;
	}
	return 0;
}

static void on_sent(void *ctx, const redisReply *reply)
{
	(void)ctx;
	if (reply && reply->type != REDIS_REPLY_ERROR)
		counter_inc(CNT_CLUSTER_CERTS_WRITTEN);
}

void cl_certs_put(struct cl_redis *r, const char *name, const void *bytes, size_t len,
		  unsigned ttl_s)
{
	char key[sizeof(CL_CERT_KEY_PREFIX) + NAME_LEN], head[32], ttl[16];
	if (r == NULL || ttl_s == 0 || key_of(name, key, sizeof(key)) < 0)
		return;
	int hl = snprintf(head, sizeof(head), CL_CERT_VALUE_HEAD "%lld\n", (long long)time(NULL) + ttl_s);
	if (hl < 0 || len + (size_t)hl > CL_CERT_MAX)
		return;
	char *value = malloc(len + (size_t)hl);
	if (value == NULL)
		return;
	memcpy(value, head, (size_t)hl);
	memcpy(value + hl, bytes, len);
	snprintf(ttl, sizeof(ttl), "%u", ttl_s);
	const char *set[] = { "SET", key, value, "EX", ttl };
	size_t setl[] = { 3, strlen(key), len + (size_t)hl, 2, strlen(ttl) };
	cl_redis_command(r, on_sent, NULL, 5, set, setl); /* hiredis has copied it */
	free(value);
}
