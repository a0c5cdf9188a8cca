/* Bans and lockouts kept in Redis as state, beside the notices that
 * announce them (shared_limits.c): a node that starts, or comes back,
 * after a ban was decided elsewhere would otherwise never hear of it. One
 * hash per kind, "portcullis:bans" and "portcullis:lockouts"; a field
 * names the source or user (limits_codec.h) and its value is the
 * wall-clock ms the ban runs until, tagged with the cluster key's MAC over
 * hash, field and value when a key_file is set. The hashes are read when
 * Redis comes up and every CL_GUARD_SWEEP_S; expired fields are deleted by
 * the reader, and a hash nobody writes for a day (the longest ban) goes. */
#ifndef PC_CLUSTER_GUARD_STATE_H
#define PC_CLUSTER_GUARD_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/ratelimit.h"
#include "redis.h"

#define CL_BANS_KEY "portcullis:bans"
#define CL_LOCKOUTS_KEY "portcullis:lockouts"
/* Fields read per hash and load; the rest wait for the next load. */
#define CL_GUARD_LOAD_MAX 10000
#define CL_GUARD_SWEEP_S 600

struct cl_mac;

/* What a load found still running: a ban or lockout of k for ms from now. */
typedef void cl_guard_apply_fn(void *ctx, bool lock, const struct rl_key *k, uint64_t ms);

/* Keeps a ban (or lockout) of k until until_ms (wall clock). Fire and
 * forget: a failure is counted by redis.c. */
void cl_guard_state_put(struct cl_redis *r, const struct cl_mac *mac, bool lock, const struct rl_key *k,
			uint64_t until_ms);
/* Reads both hashes (HSCAN, one batch in flight per hash) and calls apply
 * for each authenticated entry still running; malformed or unauthenticated
 * ones are refused and counted, expired ones deleted. */
void cl_guard_state_load(struct cl_redis *r, const struct cl_mac *mac, cl_guard_apply_fn *apply, void *ctx);

#endif
