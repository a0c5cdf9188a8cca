/* Established calls shared between the nodes (issue 12), so that one can
 * take over another's calls when it fails: each call's state is sealed
 * (call_codec.c) and written as "portcullis:call:<node>:<id>" with a TTL
 * when it is answered, re-keyed or moved, and deleted when it ends, each
 * change announced on "portcullis:call" as "<node>\t<id>". Every other
 * node keeps a replica of the sealed values it hears of (bounded), and on
 * takeover opens those of the failed node and hands each call to its
 * B2BUA. Written on signalling events only, never per packet. */
#ifndef PC_CLUSTER_CALLS_H
#define PC_CLUSTER_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "call_codec.h"
#include "redis.h"

#define CL_CALL_CHANNEL "portcullis:call"
#define CL_CALL_KEY_PREFIX "portcullis:call:"
/* Records a node holds, its own and the replica of others' together. */
#define CL_CALL_RECORDS_MAX 20000
/* TTL of a record; every record of this node is written again each
 * third of it, so one Redis forgets within the TTL what a dead node
 * wrote and nobody took over. */
#define CL_CALL_TTL_S 600

struct event_base;
struct cl_calls;

/* `key` is copied (wiped on free). NULL without memory. */
struct cl_calls *cl_calls_new(struct event_base *base, const char *self,
			      const uint8_t key[CL_CALL_KEY_LEN]);
void cl_calls_free(struct cl_calls *cc);
void cl_calls_set_redis(struct cl_calls *cc, struct cl_redis *redis);

/* One of this node's calls changed (s) or ended (s NULL, id): written,
 * or deleted, and announced. Without Redis the record is kept and written
 * at catch-up. */
void cl_calls_put(struct cl_calls *cc, const struct pc_call_state *s, const char *id);
/* Redis is back (or the TTL refresh is due): every record of this node
 * sealed and written again, a turn of the loop at a time (drip.c). */
void cl_calls_catch_up(struct cl_calls *cc);
/* Redis is (back) up: every other node's record read into the replica
 * (SCAN and MGET, bounded, one command at a time), so a node that starts
 * after a call's last change holds it too. */
void cl_calls_load(struct cl_calls *cc);
/* A notice from the channel (untrusted). */
void cl_calls_notice(struct cl_calls *cc, const char *msg, size_t len);

/* Takes over the calls node `node` wrote: each is opened and given to
 * adopt (0: the call runs here now), then its record under `node` is
 * deleted. Counts of those taken and refused in *taken, *failed. */
typedef int cl_adopt_fn(void *ctx, const struct pc_call_state *s);
void cl_calls_takeover(struct cl_calls *cc, const char *node, cl_adopt_fn *adopt, void *ctx,
		       unsigned *taken, unsigned *failed);

#endif
