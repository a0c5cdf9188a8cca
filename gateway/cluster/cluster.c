/* The cluster's composition: the connection to Redis (redis.c) with its
 * notices and its return wired to the shared registrar bindings
 * (bindings.c). Later shared state (rate limits, calls) joins here. */
#include "cluster.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "core/log.h"
#include "key.h"
#include "redis.h"

struct cluster {
	struct cl_redis *redis;
	struct cl_bindings *bindings;
	uint8_t key[CL_KEY_LEN]; /* key_file's: for call state (a later step) */
	bool have_key;
};

static void on_up(void *ctx)
{
	struct cluster *c = ctx;
	if (c->bindings) {
		cl_bindings_catch_up(c->bindings);
		cl_bindings_load(c->bindings);
	}
}

static void on_message(void *ctx, const char *msg, size_t len)
{
	struct cluster *c = ctx;
	if (c->bindings)
		cl_bindings_notice(c->bindings, msg, len);
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
	}
	if (reg && (c->bindings = cl_bindings_new(reg, cfg->node)) == NULL)
		goto fail;
	struct cl_redis_ops ops = { .on_up = on_up, .on_message = on_message, .ctx = c };
	if ((c->redis = cl_redis_new(base, cfg, CL_REG_CHANNEL, &ops)) == NULL)
		goto fail;
	if (c->bindings)
		cl_bindings_set_redis(c->bindings, c->redis);
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
	explicit_bzero(c->key, sizeof(c->key));
	free(c);
}

bool cluster_redis_up(const struct cluster *c) { return c->redis && cl_redis_up(c->redis); }
