/* Bans, digest-failure lockouts and call counts shared between nodes, so
 * that the limits of policy/ratelimit.c hold cluster-wide. The request path
 * never waits on Redis: a node decides from its own tables, and what it
 * decides or counts is sent (PUBLISH, HSET) without waiting for an answer;
 * what the others send is applied to its tables as it arrives.
 *  - a ban or lockout started here is published on "portcullis:guard" with
 *    its length; the others apply it for that length from arrival. It is
 *    also kept as state (guard_state.h) until it ends, which a node reads
 *    when its link to Redis comes up, so one that starts or returns later
 *    enforces it too. One started while Redis is unreachable is kept (at
 *    most CL_PENDING_MAX) and published with what is left of it when
 *    Redis returns;
 *  - a user's or trunk's live calls here are this node's field
 *    "<node>/<life>" in the hash "portcullis:calls:<u|t>:<name>",
 *    announced on the same channel; the others read the hash and count the
 *    fields of the other nodes that are alive against max_calls. A node is
 *    alive while its heartbeat key "portcullis:alive:<node>" (refreshed
 *    every `heartbeat` seconds, expiring after three) holds that life: a
 *    crashed node's counts stop counting within three heartbeats, and a
 *    node draws a new life each time its link to Redis comes up, so its own
 *    older fields (a restart, changes lost while Redis was away) are void
 *    at once and deleted by whoever reads them. Every heartbeat a node
 *    reads again the hashes of the names it counts other nodes' calls for. */
#ifndef PC_CLUSTER_SHARED_LIMITS_H
#define PC_CLUSTER_SHARED_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/ratelimit.h"
#include "redis.h"

#define CL_GUARD_CHANNEL "portcullis:guard"
#define CL_CALLS_KEY_PREFIX "portcullis:calls:"
#define CL_ALIVE_KEY_PREFIX "portcullis:alive:"
/* A hash nobody writes any more (every node gone) is dropped after this. */
#define CL_CALLS_TTL_S 3600
/* A hash with more fields than this (nodes) is refused. */
#define CL_CALLS_MAX_NODES 64
/* Bans and lockouts kept for Redis's return; beyond, counted as lost. */
#define CL_PENDING_MAX 256

struct event_base;

/* What the other nodes decided, and (each_count) a walk over the names
 * with live calls here or elsewhere, for the heartbeat and the catch-up. */
typedef void cl_count_fn(void *ctx, bool trunk, const struct rl_key *k, uint32_t local,
			 uint32_t remote);
struct cl_limits_ops {
	void (*ban)(void *ctx, const struct rl_key *k, uint64_t ms);
	void (*lock)(void *ctx, const struct rl_key *k, uint64_t ms);
	void (*calls)(void *ctx, bool trunk, const struct rl_key *k, uint32_t others);
	void (*each_count)(void *ctx, cl_count_fn *fn, void *fnctx);
	void *ctx;
};

struct cl_limits;

struct cl_limits *cl_limits_new(struct event_base *base, const char *self, unsigned heartbeat_s,
				struct cl_redis *redis, const struct cl_limits_ops *ops);
/* With a cluster key: notices are sent with its MAC and time, and one
 * received without a valid MAC, or older than 10 s, is refused. */
struct cl_mac;
void cl_limits_set_mac(struct cl_limits *l, const struct cl_mac *mac);
void cl_limits_free(struct cl_limits *l);
/* Redis is reachable again (or for the first time): a new life, the
 * heartbeat, this node's counts written again, the others' read again,
 * the bans and lockouts kept meanwhile published, and those still running
 * in Redis applied. */
void cl_limits_up(struct cl_limits *l);
/* This node started a ban of the source `k` for `ms`. */
void cl_limits_ban(struct cl_limits *l, const struct rl_key *k, uint64_t ms);
/* This node started a lockout of a source (address key) or user (name). */
void cl_limits_lock(struct cl_limits *l, const struct rl_key *k, uint64_t ms);
/* This node now has `n` live calls of the user or trunk `k`. */
void cl_limits_calls(struct cl_limits *l, bool trunk, const struct rl_key *k, uint32_t n);
/* A message on CL_GUARD_CHANNEL (untrusted). */
void cl_limits_notice(struct cl_limits *l, const char *msg, size_t len);

#endif
