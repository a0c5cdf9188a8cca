/* Shared bans and call counts (shared_limits.h says what goes where). Sending is
 * fire and forget: a failed PUBLISH or HSET is counted by redis.c and the
 * limit stays local (with Redis down every node enforces its own tables,
 * which is what it did before cluster mode). Reading a calls hash is the
 * only read, started by a notice, never by a request. */
#include "shared_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"
#include "core/log.h"
#include "limits_codec.h"

struct cl_limits {
	char self[64];
	struct cl_redis *redis;
	struct cl_limits_ops ops;
};

/* One HGETALL in flight: which name it reads. */
struct cl_calls_read {
	struct cl_limits *l;
	bool trunk;
	struct rl_key key;
};

static void on_sent(void *ctx, const redisReply *reply)
{
	(void)ctx;
	(void)reply; /* a failure is counted by redis.c; the limit stays local */
}

struct cl_limits *cl_limits_new(const char *self, struct cl_redis *redis,
				const struct cl_limits_ops *ops)
{
	struct cl_limits *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	snprintf(l->self, sizeof(l->self), "%s", self);
	l->redis = redis;
	l->ops = *ops;
	return l;
}

void cl_limits_free(struct cl_limits *l) { free(l); }

static void publish(struct cl_limits *l, const char *msg, size_t len)
{
	const char *pub[] = { "PUBLISH", CL_GUARD_CHANNEL, msg };
	size_t publ[] = { 7, strlen(CL_GUARD_CHANNEL), len };
	cl_redis_command(l->redis, on_sent, NULL, 3, pub, publ);
}

void cl_limits_ban(struct cl_limits *l, const struct rl_key *k, uint64_t ms)
{
	char msg[CL_NOTICE_MAX];
	if (ms > CL_BAN_MAX_MS)
		ms = CL_BAN_MAX_MS;
	int len = cl_ban_encode(l->self, k, ms, msg, sizeof(msg));
	if (len < 0)
		return;
	publish(l, msg, (size_t)len);
	counter_inc(CNT_CLUSTER_BANS_SENT);
}

static void calls_key(char *out, size_t size, bool trunk, const struct rl_key *k)
{
	snprintf(out, size, "%s%c:%s", CL_CALLS_KEY_PREFIX, trunk ? 't' : 'u', k->name);
}

void cl_limits_calls(struct cl_limits *l, bool trunk, const struct rl_key *k, uint32_t n)
{
	char msg[CL_NOTICE_MAX], key[sizeof(CL_CALLS_KEY_PREFIX) + 2 + RL_NAME_MAX], count[16],
		ttl[16];
	int len = cl_calls_encode(l->self, trunk, k, msg, sizeof(msg));
	if (len < 0)
		return; /* a name Redis cannot carry: that limit stays local */
	calls_key(key, sizeof(key), trunk, k);
	snprintf(count, sizeof(count), "%u", n);
	snprintf(ttl, sizeof(ttl), "%u", CL_CALLS_TTL_S);
	const char *hset[] = { "HSET", key, l->self, count }, *hdel[] = { "HDEL", key, l->self },
		   *exp[] = { "EXPIRE", key, ttl };
	size_t hsetl[] = { 4, strlen(key), strlen(l->self), strlen(count) },
	       hdell[] = { 4, strlen(key), strlen(l->self) }, expl[] = { 6, strlen(key), strlen(ttl) };
	if ((n ? cl_redis_command(l->redis, on_sent, NULL, 4, hset, hsetl)
	       : cl_redis_command(l->redis, on_sent, NULL, 3, hdel, hdell)) < 0)
		return;
	cl_redis_command(l->redis, on_sent, NULL, 3, exp, expl);
	publish(l, msg, (size_t)len);
}

/* HGETALL's answer: field, value pairs; the sum of the other nodes'
 * counts. Anything malformed refuses the whole hash (the local count
 * alone then holds). */
static void on_calls(void *ctx, const redisReply *reply)
{
	struct cl_calls_read *rd = ctx;
	struct cl_limits *l = rd->l;
	if (reply == NULL)
		goto out;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 ||
	    reply->elements > 2 * CL_CALLS_MAX_NODES)
		goto refuse;
	uint32_t others = 0;
	for (size_t i = 0; i < reply->elements; i += 2) {
		const redisReply *f = reply->element[i], *v = reply->element[i + 1];
		uint32_t n;
		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    cl_count_decode(v->str, v->len, &n) < 0)
			goto refuse;
		if (f->len != strlen(l->self) || memcmp(f->str, l->self, f->len) != 0)
			others += n; /* at most 64 * CL_CALLS_MAX: no overflow */
	}
	counter_inc(CNT_CLUSTER_CALLS_READ);
	l->ops.calls(l->ops.ctx, rd->trunk, &rd->key, others);
	goto out;
refuse:
	counter_inc(CNT_CLUSTER_VALUES_REFUSED);
	log_warnx("cluster: call counts of \"%s\" in Redis refused (malformed)", rd->key.name);
out:
	free(rd);
}

void cl_limits_notice(struct cl_limits *l, const char *msg, size_t len)
{
	struct cl_guard_notice n;
	if (cl_guard_notice_decode(msg, len, &n) < 0) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		log_warnx("cluster: notice on %s refused (malformed)", CL_GUARD_CHANNEL);
		return;
	}
	if (!strcmp(n.node, l->self))
		return; /* our own, already applied */
	if (n.kind == CL_GUARD_BAN) {
		counter_inc(CNT_CLUSTER_BANS_APPLIED);
		log_debug("cluster: source banned for %llu ms by node \"%s\"", (unsigned long long)n.ms,
			  n.node);
		l->ops.ban(l->ops.ctx, &n.key, n.ms);
		return;
	}
	struct cl_calls_read *rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return;
	*rd = (struct cl_calls_read){ .l = l, .trunk = n.trunk, .key = n.key };
	char key[sizeof(CL_CALLS_KEY_PREFIX) + 2 + RL_NAME_MAX];
	calls_key(key, sizeof(key), n.trunk, &n.key);
	const char *get[] = { "HGETALL", key };
	size_t getl[] = { 7, strlen(key) };
	if (cl_redis_command(l->redis, on_calls, rd, 2, get, getl) < 0)
		free(rd);
}
