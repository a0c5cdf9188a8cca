/* A bulk write to Redis paced (catch-up when Redis returns, the periodic
 * refresh of the call records): instead of every command at once, which
 * past cluster.max_pending would be refused and lost, a turn every
 * CL_DRIP_TICK_MS issues at most CL_DRIP_TURN commands, and never more
 * than three quarters of the room left under max_pending (the rest is kept
 * for the live writes and reads). The writer keeps its own place in its
 * own table between turns (nothing is copied here): the drip only says
 * when, and how many. */
#ifndef PC_CLUSTER_DRIP_H
#define PC_CLUSTER_DRIP_H

#include <stdbool.h>

#include "redis.h"

#define CL_DRIP_TURN 256
#define CL_DRIP_TICK_MS 10

struct event_base;
struct cl_drip;

/* One turn of the writer: it writes from where it stopped while *budget
 * is not spent, taking from it the commands each write sends (a write may
 * spend a command or two past it: the quarter kept aside covers that).
 * true: the round is finished (or cannot go on: Redis went); false: more
 * to write at the next turn. Not called while the breaker is open: the
 * round then stops where it was, and the writer starts the next one when
 * Redis returns. */
typedef bool cl_drip_fn(void *ctx, unsigned *budget);

struct cl_drip *cl_drip_new(struct event_base *base, cl_drip_fn *fn, void *ctx);
void cl_drip_free(struct cl_drip *d);
/* A round starts (the writer has reset its place); its first turn comes
 * from the loop, at once. A round going on just goes on. */
void cl_drip_start(struct cl_drip *d, struct cl_redis *r);

#endif
