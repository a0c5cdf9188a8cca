/* The pacing of a bulk write (drip.h). One timer per writer: each turn asks
 * Redis's connection how much room is left under max_pending, hands the
 * writer a budget of at most CL_DRIP_TURN commands and three quarters of
 * that room, and comes back after CL_DRIP_TICK_MS while the writer says
 * there is more. With the breaker open the round ends: the writer
 * remembers what it could not write, and Redis's return starts the next
 * round. A turn with no room (replies slow to come) waits for the next
 * tick; the command deadline bounds how long that can last, since a
 * command unanswered in time opens the breaker. */
#include "drip.h"

#include <event2/event.h>
#include <stdlib.h>

struct cl_drip {
	struct event *timer;
	struct cl_redis *r;
	cl_drip_fn *fn;
	void *ctx;
};

static void arm(struct cl_drip *d, unsigned ms)
{
	struct timeval tv = { 0, (long)ms * 1000 };
	event_add(d->timer, &tv);
}

static void on_turn(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct cl_drip *d = arg;
	if (d->r == NULL || !cl_redis_up(d->r))
		return; /* what is left stays the writer's, for the next round */
	unsigned room = cl_redis_room(d->r);
	unsigned budget = room - room / 4;
	if (budget > CL_DRIP_TURN)
		budget = CL_DRIP_TURN;
	if (budget == 0 || !d->fn(d->ctx, &budget))
		arm(d, CL_DRIP_TICK_MS);
}

struct cl_drip *cl_drip_new(struct event_base *base, cl_drip_fn *fn, void *ctx)
{
	struct cl_drip *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->fn = fn;
	d->ctx = ctx;
	d->timer = event_new(base, -1, 0, on_turn, d);
	if (d->timer == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void cl_drip_free(struct cl_drip *d)
{
	if (d == NULL)
		return;
	event_free(d->timer);
	free(d);
}

void cl_drip_start(struct cl_drip *d, struct cl_redis *r)
{
	d->r = r;
	if (!event_pending(d->timer, EV_TIMEOUT, NULL))
		arm(d, 0);
}
