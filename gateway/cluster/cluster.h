/* Cluster mode (configuration group `cluster`): this node's connection to
 * the shared Redis and the state it shares through it: the registrar's
 * bindings, and the guard's bans, lockouts and call counts. main.c makes it when the group is present and
 * hands it the registrar; without the group nothing here runs. */
#ifndef PC_CLUSTER_CLUSTER_H
#define PC_CLUSTER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "policy/ratelimit.h"
#include "registrar/registrar.h"

struct event_base;
struct cluster;

/* reg may be NULL (no leg has a registrar). Starts connecting; Redis
 * being unreachable is not an error (the breaker retries). NULL when the
 * configuration cannot be used (a host name that does not resolve). */
struct cluster *cluster_new(struct event_base *base, const struct cluster_config *cfg,
			    struct registrar *reg);
void cluster_free(struct cluster *c);
/* For /metrics and /health: whether Redis is reachable now. */
bool cluster_redis_up(const struct cluster *c);

/* Bans and call counts: `apply` receives what the other nodes decided
 * (a ban `ms` long; the other nodes' live calls of a user or trunk, in
 * all); cluster_share_ban and cluster_share_calls (ctx: the cluster) send
 * what this node decided, without waiting. 0, or -1 out of memory. */
struct cluster_limits_ops {
	void (*ban)(void *ctx, const struct rl_key *k, uint64_t ms);
	void (*lock)(void *ctx, const struct rl_key *k, uint64_t ms); /* a digest-failure lockout */
	void (*calls)(void *ctx, bool trunk, const struct rl_key *k, uint32_t others);
	/* fn for every user and trunk with live calls here or elsewhere */
	void (*each_count)(void *ctx,
			   void (*fn)(void *fnctx, bool trunk, const struct rl_key *k, uint32_t local,
				      uint32_t remote),
			   void *fnctx);
	void *ctx;
};
int cluster_share_limits(struct cluster *c, const struct cluster_limits_ops *apply);
void cluster_share_ban(void *ctx, const struct rl_key *k, uint64_t ms);
void cluster_share_lockout(void *ctx, const struct rl_key *k, uint64_t ms);
void cluster_share_calls(void *ctx, bool trunk, const struct rl_key *k, uint32_t n);

/* The STIR certificate cache shared (sti/repo.h's struct sti_shared, ctx:
 * the cluster; shared_certs.h). */
int cluster_certs_get(void *ctx, const char *name,
		      void (*found)(void *arg, const void *bytes, size_t len, long ttl_s), void *arg);
void cluster_certs_put(void *ctx, const char *name, const void *bytes, size_t len, unsigned ttl_s);
/* Established calls (with a key_file only): cluster_share_call is the
 * B2BUA's share callback (b2bua_set_share; ctx: the cluster): a call's
 * sealed state is written, or removed (s NULL). cluster_takeover gives
 * each call node `node` wrote to adopt (0: it runs here now) and removes
 * node's records: -1 without a key_file. */
struct pc_call_state;
bool cluster_shares_calls(const struct cluster *c);
void cluster_share_call(void *ctx, const struct pc_call_state *s, const char *gone_id);
typedef int cluster_adopt_fn(void *ctx, const struct pc_call_state *s);
int cluster_takeover(struct cluster *c, const char *node, cluster_adopt_fn *adopt, void *ctx,
		     unsigned *taken, unsigned *failed);

#endif
