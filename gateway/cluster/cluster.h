/* Cluster mode (configuration group `cluster`): this node's connection to
 * the shared Redis and the state it shares through it, for now the
 * registrar's bindings. main.c makes it when the group is present and
 * hands it the registrar; without the group nothing here runs. */
#ifndef PC_CLUSTER_CLUSTER_H
#define PC_CLUSTER_CLUSTER_H

#include <stdbool.h>

#include "config/config.h"
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

#endif
