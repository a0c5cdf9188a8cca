/* The node's connection to Redis, behind a circuit breaker: commands are
 * sent with hiredis's asynchronous interface on the libevent loop (never a
 * blocking call), each with its own deadline, at most max_pending at once.
 * While Redis is unreachable or slow, commands fail at once and the caller
 * goes on with its local state; reconnection is retried with a doubling
 * backoff, and when both connections (commands, and the subscription that
 * carries other nodes' change notices) are up again the owner is told
 * (on_up) so it can write back what changed meanwhile. */
#ifndef PC_CLUSTER_REDIS_H
#define PC_CLUSTER_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct event_base;
struct cl_redis;

/* A command's answer; reply NULL: it failed (down, timeout, connection
 * lost). The reply belongs to hiredis: read it, do not keep it. */
typedef void cl_reply_fn(void *ctx, const redisReply *reply);

struct cl_redis_ops {
	void (*on_up)(void *ctx);                                   /* breaker closed again */
	/* a message on one of the subscribed channels (untrusted) */
	void (*on_message)(void *ctx, const char *channel, const char *msg, size_t len);
	void *ctx;
};

/* Starts connecting to cfg->redis (a host name is resolved here, once,
 * before the loop runs). `channel` and `channel2` (NULL: none) are
 * subscribed to. NULL on error. */
struct cl_redis *cl_redis_new(struct event_base *base, const struct cluster_config *cfg,
			      const char *channel, const char *channel2, const struct cl_redis_ops *ops);
void cl_redis_free(struct cl_redis *r);

/* Sends one command (binary-safe arguments). 0: cb will be called exactly
 * once; -1: refused at once (breaker open or queue full; counted), cb is
 * not called. */
int cl_redis_command(struct cl_redis *r, cl_reply_fn *cb, void *ctx, int argc, const char **argv,
		     const size_t *argvlen);

bool cl_redis_up(const struct cl_redis *r);

/* The most elements an array in a reply may announce (the largest the
 * gateway asks for is a batch of the load, scan.h, of a few hundred). */
#define CL_REDIS_ELEMENTS_MAX 10000
/* Makes the reader refuse a reply with a bigger array, as a read error
 * (the connection drops): hiredis would otherwise allocate the element
 * table from the count Redis announces, before any element arrived
 * ("*300000000" alone asks for 2.4 GB). Done to every connection here;
 * exposed for the tests. */
void cl_redis_bound_reader(redisReader *rd);
/* How many commands cl_redis_command would take now (0 while not up):
 * max_pending less those in flight. For pacing bulk writes (drip.c). */
unsigned cl_redis_room(const struct cl_redis *r);
/* One more channel to subscribe to, now and after every reconnection
 * (call state, calls.c). 0 or -1. */
int cl_redis_subscribe_also(struct cl_redis *r, const char *channel);

#endif
