/* Certificates shared between nodes (shared_certs.h). The value carries
 * its own expiry in wall-clock seconds beside Redis's EX, so a reader
 * caches it no longer than the writer would have: node clocks must agree
 * as STIR's iat check already requires. With a cluster key the value is
 * wrapped in mac.c's tag (its own expiry makes a replay harmless: the
 * same chain, for no longer than its writer would have kept it). */
#include "shared_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/counters.h"
#include "codec.h"
#include "core/log.h"
#include "mac.h"

#define NAME_LEN 64

struct cl_cert_read {
	cl_cert_found_fn *found;
	void *arg;
	const struct cl_mac *mac; /* NULL: untagged values */
	char key[sizeof(CL_CERT_KEY_PREFIX) + NAME_LEN];
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
	if (reply && reply->type == REDIS_REPLY_STRING && rd->mac &&
	    cl_mac_unwrap(rd->mac, rd->key, 0, 0, reply->str, reply->len, &bytes, &blen) < 0) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		log_warnx("cluster: a shared certificate in Redis refused (not authenticated by the cluster key)");
		rd->found(rd->arg, NULL, 0, 0);
		free(rd);
		return;
	}
	if (reply && reply->type == REDIS_REPLY_STRING &&
	    cl_cert_value_decode(rd->mac ? bytes : reply->str, rd->mac ? blen : reply->len, (long)time(NULL),
				 &bytes, &blen, &ttl) < 0) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		log_warnx("cluster: a shared certificate in Redis refused (malformed or expired)");
		bytes = NULL;
	}
	rd->found(rd->arg, bytes, bytes ? blen : 0, ttl);
	free(rd);
}

static bool mac_on(const struct cl_mac *mac) { return mac && mac->on; }

int cl_certs_get(struct cl_redis *r, const struct cl_mac *mac, const char *name, cl_cert_found_fn *found,
		 void *arg)
{
	struct cl_cert_read *rd;
	if (r == NULL || (rd = calloc(1, sizeof(*rd))) == NULL)
		return -1;
	if (key_of(name, rd->key, sizeof(rd->key)) < 0) {
		free(rd);
		return -1;
	}
	rd->found = found;
	rd->arg = arg;
	rd->mac = mac_on(mac) ? mac : NULL;
	const char *get[] = { "GET", rd->key };
	size_t getl[] = { 3, strlen(rd->key) };
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

void cl_certs_put(struct cl_redis *r, const struct cl_mac *mac, const char *name, const void *bytes,
		  size_t len, unsigned ttl_s)
{
	char key[sizeof(CL_CERT_KEY_PREFIX) + NAME_LEN], head[32], ttl[16];
	if (r == NULL || ttl_s == 0 || key_of(name, key, sizeof(key)) < 0)
		return;
	int hl = snprintf(head, sizeof(head), CL_CERT_VALUE_HEAD "%lld\n", (long long)time(NULL) + ttl_s);
	if (hl < 0 || len + (size_t)hl > CL_CERT_MAX)
		return;
	size_t vlen = len + (size_t)hl, size = vlen + CL_MAC_OVERHEAD + 1;
	char *value = malloc(vlen), *tagged = mac_on(mac) ? malloc(size) : NULL;
	if (value == NULL || (mac_on(mac) && tagged == NULL))
		goto out;
	memcpy(value, head, (size_t)hl);
	memcpy(value + hl, bytes, len);
	int tl = tagged ? cl_mac_wrap(mac, key, cl_mac_now_ms(), value, vlen, tagged, size) : 0;
	if (tl < 0)
		goto out;
	snprintf(ttl, sizeof(ttl), "%u", ttl_s);
	const char *set[] = { "SET", key, tagged ? tagged : value, "EX", ttl };
	size_t setl[] = { 3, strlen(key), tagged ? (size_t)tl : vlen, 2, strlen(ttl) };
	cl_redis_command(r, on_sent, NULL, 5, set, setl); /* hiredis has copied it */
out:
	free(value);
	free(tagged);
}
