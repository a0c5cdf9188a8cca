/* The cluster's composition: the connection to Redis (redis.c) with its
 * notices and its return wired to the shared registrar bindings
 * (bindings.c), the bans, lockouts and call counts (shared_limits.c) and
 * the established calls (calls.c, with a key_file) on channels of their
 * own, and the STIR certificates (shared_certs.c); with a key_file the
 * MAC key derived from it authenticates bindings, notices and certificates. */
#include "cluster.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "calls.h"
#include "core/log.h"
#include "key.h"
#include "mac.h"
#include "shared_certs.h"
#include "shared_limits.h"
#include "redis.h"

struct cluster {
	struct event_base *base;
	const struct cluster_config *cfg;
	struct cl_redis *redis;
	struct cl_bindings *bindings;
	struct cl_limits *limits; /* once cluster_share_limits was called */
	struct cl_calls *calls;   /* with a key_file: established calls (calls.c) */
	char self[CFG_NODE_MAX];
	uint8_t key[CL_KEY_LEN]; /* key_file's: seals the call state */
	struct cl_mac mac;       /* derived from it: binding values, guard notices */
	bool have_key;
};

static void on_up(void *ctx)
{
	struct cluster *c = ctx;
	if (c->bindings) {
		cl_bindings_catch_up(c->bindings);
		cl_bindings_load(c->bindings);
	}
	if (c->limits)
		cl_limits_up(c->limits);
	if (c->calls) {
		cl_calls_catch_up(c->calls);
		cl_calls_load(c->calls);
	}
}

static void on_message(void *ctx, const char *channel, const char *msg, size_t len)
{
	struct cluster *c = ctx;
	if (!strcmp(channel, CL_GUARD_CHANNEL)) {
		if (c->limits)
			cl_limits_notice(c->limits, msg, len);
	} else if (!strcmp(channel, CL_CALL_CHANNEL)) {
		if (c->calls)
			cl_calls_notice(c->calls, msg, len);
	} else if (c->bindings) {
		cl_bindings_notice(c->bindings, msg, len);
	}
}

struct cluster *cluster_new(struct event_base *base, const struct cluster_config *cfg,
			    struct registrar *reg)
{
	struct cluster *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (cfg->key_file[0]) {
		char err[PATH_MAX + 128];
		if (cl_key_read(cfg->key_file, c->key, err, sizeof(err)) < 0) {
			log_err("cluster: key_file %s", err);
			goto fail;
		}
		c->have_key = true;
		cl_mac_init(&c->mac, c->key);
	}
	snprintf(c->self, sizeof(c->self), "%s", cfg->node);
	c->base = base;
	c->cfg = cfg;
	if (reg && (c->bindings = cl_bindings_new(base, reg, cfg->node)) == NULL)
		goto fail;
	struct cl_redis_ops ops = { .on_up = on_up, .on_message = on_message, .ctx = c };
	if ((c->redis = cl_redis_new(base, cfg, CL_REG_CHANNEL, CL_GUARD_CHANNEL, &ops)) == NULL)
		goto fail;
	if (c->bindings) {
		cl_bindings_set_redis(c->bindings, c->redis);
		cl_bindings_set_mac(c->bindings, &c->mac);
	}
	if (c->have_key) {
		if ((c->calls = cl_calls_new(base, cfg->node, c->key)) == NULL ||
		    cl_redis_subscribe_also(c->redis, CL_CALL_CHANNEL) < 0)
			goto fail;
		cl_calls_set_redis(c->calls, c->redis);
	}
	return c;
fail:
	cluster_free(c);
	return NULL;
}

void cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	cl_redis_free(c->redis);
	cl_bindings_free(c->bindings);
	cl_limits_free(c->limits);
	cl_calls_free(c->calls);
	explicit_bzero(c->key, sizeof(c->key));
	cl_mac_wipe(&c->mac);
	free(c);
}

bool cluster_redis_up(const struct cluster *c) { return c->redis && cl_redis_up(c->redis); }

int cluster_share_limits(struct cluster *c, const struct cluster_limits_ops *apply)
{
	struct cl_limits_ops ops = { .ban = apply->ban, .lock = apply->lock, .calls = apply->calls,
				     .each_count = apply->each_count, .ctx = apply->ctx };
	cl_limits_free(c->limits);
	c->limits = cl_limits_new(c->base, c->self, c->cfg->heartbeat_s, c->redis, &ops);
	if (c->limits)
		cl_limits_set_mac(c->limits, &c->mac);
	if (c->limits && cl_redis_up(c->redis))
		cl_limits_up(c->limits); /* came up before the limits were shared */
	return c->limits ? 0 : -1;
}

void cluster_share_lockout(void *ctx, const struct rl_key *k, uint64_t ms)
{
	struct cluster *c = ctx;
	if (c->limits)
		cl_limits_lock(c->limits, k, ms);
}

void cluster_share_ban(void *ctx, const struct rl_key *k, uint64_t ms)
{
	struct cluster *c = ctx;
	if (c->limits)
		cl_limits_ban(c->limits, k, ms);
}

void cluster_share_calls(void *ctx, bool trunk, const struct rl_key *k, uint32_t n)
{
	struct cluster *c = ctx;
	if (c->limits)
		cl_limits_calls(c->limits, trunk, k, n);
}

int cluster_certs_get(void *ctx, const char *name,
		      void (*found)(void *arg, const void *bytes, size_t len, long ttl_s), void *arg)
{
	struct cluster *c = ctx;
	return cl_certs_get(c->redis, &c->mac, name, found, arg);
}

void cluster_certs_put(void *ctx, const char *name, const void *bytes, size_t len, unsigned ttl_s)
{
	struct cluster *c = ctx;
	cl_certs_put(c->redis, &c->mac, name, bytes, len, ttl_s);
}

bool cluster_shares_calls(const struct cluster *c) { return c->calls != NULL; }

void cluster_share_call(void *ctx, const struct pc_call_state *s, const char *gone_id)
{
	struct cluster *c = ctx;
	if (c->calls)
		cl_calls_put(c->calls, s, gone_id);
}

int cluster_takeover(struct cluster *c, const char *node, cluster_adopt_fn *adopt, void *ctx,
		     unsigned *taken, unsigned *failed)
{
	*taken = *failed = 0;
	if (c->calls == NULL)
		return -1;
	cl_calls_takeover(c->calls, node, adopt, ctx, taken, failed);
	log_info("cluster: takeover of node \"%s\": %u calls taken over, %u refused", node, *taken,
		 *failed);
	return 0;
}
