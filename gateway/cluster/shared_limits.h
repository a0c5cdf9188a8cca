/* Bans and call counts shared between nodes, so that the limits of
 * policy/ratelimit.c hold cluster-wide. The request path never waits on
 * Redis: a node decides from its own tables, and what it decides or counts
 * is sent (PUBLISH, HSET) without waiting for an answer; what the others
 * send is applied to its tables as it arrives.
 *  - a ban started here is published on "portcullis:guard" with its length;
 *    the others ban the source for that length from arrival;
 *  - a user's or trunk's live calls here are this node's field in the hash
 *    "portcullis:calls:<u|t>:<name>" (TTL CL_CALLS_TTL_S, refreshed on every
 *    change), announced on the same channel; the others read the hash and
 *    count the other nodes' fields against max_calls. */
#ifndef PC_CLUSTER_SHARED_LIMITS_H
#define PC_CLUSTER_SHARED_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/ratelimit.h"
#include "redis.h"

#define CL_GUARD_CHANNEL "portcullis:guard"
#define CL_CALLS_KEY_PREFIX "portcullis:calls:"
/* A crashed node's counts are forgotten at the latest after this. */
#define CL_CALLS_TTL_S 3600
/* A hash with more fields than this (nodes) is refused. */
#define CL_CALLS_MAX_NODES 64

struct cl_limits_ops {
	void (*ban)(void *ctx, const struct rl_key *k, uint64_t ms);
	void (*calls)(void *ctx, bool trunk, const struct rl_key *k, uint32_t others);
	void *ctx;
};

struct cl_limits;

struct cl_limits *cl_limits_new(const char *self, struct cl_redis *redis,
				const struct cl_limits_ops *ops);
void cl_limits_free(struct cl_limits *l);
/* This node started a ban of `k` for `ms`. */
void cl_limits_ban(struct cl_limits *l, const struct rl_key *k, uint64_t ms);
/* This node now has `n` live calls of the user or trunk `k`. */
void cl_limits_calls(struct cl_limits *l, bool trunk, const struct rl_key *k, uint32_t n);
/* A message on CL_GUARD_CHANNEL (untrusted). */
void cl_limits_notice(struct cl_limits *l, const char *msg, size_t len);

#endif
