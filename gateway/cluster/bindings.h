/* Registrar bindings shared through Redis: each user's whole set is one
 * value under "portcullis:reg:<user>" with the TTL of its longest binding,
 * and every change is announced on the channel "portcullis:reg" as
 * "<node>\t<user>", on which the other nodes read the value again into
 * their registrars (registrar_replace_remote). Lookups stay local and
 * synchronous; only writes and notices go to Redis. */
#ifndef PC_CLUSTER_BINDINGS_H
#define PC_CLUSTER_BINDINGS_H

#include <stddef.h>

#include "redis.h"
#include "registrar/registrar.h"

#define CL_REG_CHANNEL "portcullis:reg"
#define CL_REG_KEY_PREFIX "portcullis:reg:"

struct cl_bindings;

struct event_base;
struct cl_bindings *cl_bindings_new(struct event_base *base, struct registrar *reg, const char *self);
void cl_bindings_free(struct cl_bindings *cb);
/* The connection to write through; set once it exists. */
void cl_bindings_set_redis(struct cl_bindings *cb, struct cl_redis *redis);
/* With a cluster key: values are written with its MAC, and a value read
 * back without a valid one (for its own user's key) is refused. The MAC
 * state is the cluster's and outlives this. */
struct cl_mac;
void cl_bindings_set_mac(struct cl_bindings *cb, const struct cl_mac *mac);

/* Redis is back: write every user this node holds a binding of (and the
 * users changed meanwhile) again, paced over the following turns of the
 * loop (drip.c) so that no more than max_pending commands are ever asked
 * for at once, however many users there are. */
void cl_bindings_catch_up(struct cl_bindings *cb);
/* Reads every user's value in Redis (SCAN, then MGET a batch at a time),
 * so a node that starts, or returns, after others registered sees their
 * bindings without waiting for a refresh. */
void cl_bindings_load(struct cl_bindings *cb);
/* A notice from the channel (untrusted). */
void cl_bindings_notice(struct cl_bindings *cb, const char *msg, size_t len);

#endif
