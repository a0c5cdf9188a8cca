/* Registrar bindings shared between the nodes. After a REGISTER changes a
 * user's bindings here, the user's whole live set (this node's and those
 * it knows of others) is written as one value with SET ... EX (the TTL of
 * its longest binding, so Redis forgets what nobody refreshes), or deleted
 * when empty, and announced on the channel. A notice from another node
 * makes this one GET the value and take the other nodes' bindings from it;
 * its own it knows better. While Redis is down the changed users are
 * remembered (bounded: past the bound the loss is counted and the keys
 * concerned live out their TTL); when it returns, those users and every
 * user with a binding held here are written again (catch-up), a few at a
 * time (drip.c) so as never to ask for more than max_pending. The last
 * writer of a user wins: one phone registers at one node at a time. */
#include "bindings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "drip.h"
#include "core/counters.h"
#include "core/log.h"
#include "mac.h"
#include "scan.h"
#include "stamps.h"

#define DIRTY_MAX 1024
#define WRITE_COMMANDS 2 /* SET or DEL, and PUBLISH */
/* With a MAC, a user's last binding gone is written as a tagged empty
 * value (a tombstone) rather than deleted: its stamp tells every node,
 * even one loading later, that the values before it are stale. It lives
 * as long as the longest binding the registrar can give (max_expires'
 * ceiling), after which a replayed older value has only expired bindings. */
#define TOMBSTONE_TTL_S 604800

struct cl_bindings {
	struct registrar *reg;
	struct cl_redis *redis;
	char self[REG_NODE_MAX];
	char (*dirty)[REG_USER_MAX]; /* users changed while Redis was down */
	unsigned ndirty;
	bool dirty_lost;
	const struct cl_mac *mac; /* NULL or off: values travel unauthenticated */
	struct cl_stamps *stamps; /* per user, the stamp of the last value taken or written */
	struct cl_drip *drip;     /* paces the catch-up */
	size_t walk_pos;          /* the catch-up's place in the registrar's table */
	bool walking;             /* a catch-up round is walking it */
	unsigned round_written, round_lost;
};

/* A GET in flight: the user it reads. */
struct cl_read {
	struct cl_bindings *cb;
	char user[REG_USER_MAX];
};

static uint64_t wall_now(void) { return (uint64_t)time(NULL); }

static bool mac_on(const struct cl_bindings *cb) { return cb->mac && cb->mac->on; }

static void on_write(void *ctx, const redisReply *reply)
{
	(void)ctx;
	(void)reply; /* a failure is counted by redis.c; catch-up repairs it */
}

static void remember(struct cl_bindings *cb, const char *user)
{
	for (unsigned i = 0; i < cb->ndirty; i++)
		if (!strcmp(cb->dirty[i], user))
			return;
	if (cb->ndirty >= DIRTY_MAX) {
		if (!cb->dirty_lost)
			counter_inc(CNT_CLUSTER_CATCHUP_LOST);
		cb->dirty_lost = true;
		return;
	}
	snprintf(cb->dirty[cb->ndirty++], REG_USER_MAX, "%s", user);
}

/* Writes the user's live set (or deletes it) and announces it. 0 or -1. */
static int write_user(struct cl_bindings *cb, const char *user)
{
	uint64_t now = wall_now();
	const struct reg_binding *live[REG_MAX_PER_USER];
	unsigned n = registrar_lookup(cb->reg, user, now, live, REG_MAX_PER_USER);
	struct reg_binding *copy = calloc(REG_MAX_PER_USER, sizeof(*copy));
	char *value = malloc(CL_VALUE_MAX + 1), *tagged = malloc(CL_VALUE_MAX + CL_MAC_OVERHEAD + 1);
	char key[sizeof(CL_REG_KEY_PREFIX) + REG_USER_MAX], notice[REG_NODE_MAX + REG_USER_MAX + 2],
		ttl[24];
	int rc = -1;
	if (copy == NULL || value == NULL || tagged == NULL)
		goto out;
	uint64_t last = now + 1;
	for (unsigned i = 0; i < n; i++) {
		copy[i] = *live[i];
		if (copy[i].expires_at > last)
			last = copy[i].expires_at;
	}
	int vlen = cl_bindings_encode(copy, n, cb->self, value, CL_VALUE_MAX + 1);
	if (vlen < 0) {
		log_warnx("cluster: bindings of user \"%s\" cannot be shared (a field Redis cannot carry)", user);
		goto out;
	}
	snprintf(key, sizeof(key), "%s%s", CL_REG_KEY_PREFIX, user);
	if (mac_on(cb)) {
		/* Later than any value of the user seen here, whatever this
		 * node's clock says: another node's clock a little ahead must
		 * not make this newer value look like a replay. */
		uint64_t at = cl_mac_now_ms(), held = cl_stamps_get(cb->stamps, user);
		if (at <= held)
			at = held + 1;
		vlen = cl_mac_wrap(cb->mac, key, at, value, (size_t)vlen, tagged,
				   CL_VALUE_MAX + CL_MAC_OVERHEAD + 1);
		if (vlen < 0)
			goto out;
		cl_stamps_take(cb->stamps, user, at);
		if (n == 0) /* the tombstone, see TOMBSTONE_TTL_S */
			last = now + TOMBSTONE_TTL_S;
	}
	bool set_it = n > 0 || mac_on(cb);
	const char *stored = mac_on(cb) ? tagged : value;
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)(last - now));
	int nlen = snprintf(notice, sizeof(notice), "%s\t%s", cb->self, user);
	const char *set[] = { "SET", key, stored, "EX", ttl }, *del[] = { "DEL", key },
		   *pub[] = { "PUBLISH", CL_REG_CHANNEL, notice };
	size_t setl[] = { 3, strlen(key), (size_t)vlen, 2, strlen(ttl) }, dell[] = { 3, strlen(key) },
	       publ[] = { 7, strlen(CL_REG_CHANNEL), (size_t)nlen };
	if ((set_it ? cl_redis_command(cb->redis, on_write, NULL, 5, set, setl)
	       : cl_redis_command(cb->redis, on_write, NULL, 2, del, dell)) < 0 ||
	    cl_redis_command(cb->redis, on_write, NULL, 3, pub, publ) < 0)
		goto out;
	counter_inc(CNT_CLUSTER_BINDINGS_WRITTEN);
	rc = 0;
out:
	free(copy);
	free(value);
	free(tagged);
	return rc;
}

static bool catch_up_turn(void *ctx, unsigned *budget);

static void on_changed(void *ctx, const char *user)
{
	struct cl_bindings *cb = ctx;
	/* With the breaker open the write is refused at once (and counted),
	 * and the catch-up writes it when Redis returns. Refused with Redis
	 * up (a burst of REGISTERs past max_pending) it is written by a round
	 * of the drip over the remembered users alone, once there is room. */
	if (cb->redis == NULL || write_user(cb, user) < 0) {
		remember(cb, user);
		if (cb->redis && cl_redis_up(cb->redis))
			cl_drip_start(cb->drip, cb->redis);
	}
}

struct cl_bindings *cl_bindings_new(struct event_base *base, struct registrar *reg, const char *self)
{
	struct cl_bindings *cb = calloc(1, sizeof(*cb));
	if (cb == NULL || (cb->dirty = calloc(DIRTY_MAX, sizeof(*cb->dirty))) == NULL ||
	    (cb->stamps = cl_stamps_new(CL_STAMPS_MAX, NULL)) == NULL ||
	    (cb->drip = cl_drip_new(base, catch_up_turn, cb)) == NULL) {
		if (cb) {
			free(cb->dirty);
			cl_stamps_free(cb->stamps);
		}
		free(cb);
		return NULL;
	}
	cb->reg = reg;
	snprintf(cb->self, sizeof(cb->self), "%s", self);
	registrar_set_replica(reg, on_changed, cb);
	return cb;
}

void cl_bindings_free(struct cl_bindings *cb)
{
	if (cb == NULL)
		return;
	registrar_set_replica(cb->reg, NULL, NULL);
	cl_drip_free(cb->drip);
	free(cb->dirty);
	cl_stamps_free(cb->stamps);
	free(cb);
}

void cl_bindings_set_redis(struct cl_bindings *cb, struct cl_redis *redis) { cb->redis = redis; }

void cl_bindings_set_mac(struct cl_bindings *cb, const struct cl_mac *mac) { cb->mac = mac; }

/* The catch-up, a round paced by the drip (drip.c): first the users
 * remembered while Redis was down (those still held here are left to the
 * walk), then every user with a binding held here, walked in the
 * registrar's own table a few buckets per turn (no copy of it). A write
 * refused with Redis up (a max_pending too small for even one user's two
 * commands) is counted lost; one refused because Redis went is
 * remembered, and the round ends until Redis returns. */
static int catch_up_user(struct cl_bindings *cb, const char *user)
{
	if (write_user(cb, user) == 0) {
		cb->round_written++;
		counter_inc(CNT_CLUSTER_CATCHUP_WRITES);
		return 0;
	}
	if (!cl_redis_up(cb->redis)) {
		remember(cb, user);
		return -1;
	}
	cb->round_lost++;
	counter_inc(CNT_CLUSTER_CATCHUP_LOST);
	return 0;
}

/* Whether this node holds a live binding of the user: the walk writes
 * those, so the remembered users need not be written twice. */
static bool held_here(const struct cl_bindings *cb, const char *user)
{
	const struct reg_binding *live[REG_MAX_PER_USER];
	unsigned n = registrar_lookup(cb->reg, user, wall_now(), live, REG_MAX_PER_USER);
	for (unsigned i = 0; i < n; i++)
		if (!live[i]->node[0])
			return true;
	return false;
}

/* One turn's walk: its budget, and the user last written (a user's
 * bindings come one after the other, and are written once). */
struct catch_up_walk {
	struct cl_bindings *cb;
	unsigned *budget;
	bool stopped;
	char last[REG_USER_MAX];
};

static void spend(unsigned *budget)
{
	*budget = *budget > WRITE_COMMANDS ? *budget - WRITE_COMMANDS : 0;
}

static void catch_up_binding(void *ctx, const char *user, const struct reg_binding *b)
{
	struct catch_up_walk *w = ctx;
	if (b->node[0] || w->stopped || !strcmp(w->last, user)) /* another node's, or done */
		return;
	snprintf(w->last, sizeof(w->last), "%s", user);
	spend(w->budget);
	if (catch_up_user(w->cb, user) < 0)
		w->stopped = true;
}

static bool catch_up_turn(void *ctx, unsigned *budget)
{
	struct cl_bindings *cb = ctx;
	while (cb->ndirty && *budget) {
		char user[REG_USER_MAX];
		snprintf(user, sizeof(user), "%s", cb->dirty[--cb->ndirty]);
		if (cb->walking && held_here(cb, user))
			continue;
		spend(budget);
		if (catch_up_user(cb, user) < 0)
			return true;
	}
	if (cb->ndirty)
		return false;
	cb->dirty_lost = false;
	struct catch_up_walk w = { .cb = cb, .budget = budget };
	bool end = cb->walking && registrar_walk(cb->reg, wall_now(), &cb->walk_pos,
						 (*budget + 1) / WRITE_COMMANDS, catch_up_binding, &w);
	if (w.stopped)
		return true;
	if (cb->walking && !end)
		return false;
	if (cb->walking && (cb->round_written || cb->round_lost))
		log_info("cluster: caught up, %u of %u users written again", cb->round_written,
			 cb->round_written + cb->round_lost);
	cb->walking = false;
	return true;
}

void cl_bindings_catch_up(struct cl_bindings *cb)
{
	cb->walk_pos = 0;
	cb->walking = true;
	cb->round_written = cb->round_lost = 0;
	cl_drip_start(cb->drip, cb->redis);
}

/* A user's value as read (a string, or nil: no bindings) into the
 * registrar. With a MAC, a value older than the last one taken or written
 * here for the user is a replay (stamps.h): refused. */
static void apply_value(struct cl_bindings *cb, const char *user, const redisReply *reply)
{
	struct reg_binding *got = NULL;
	int n = 0;
	if (reply->type == REDIS_REPLY_STRING) {
		const char *body = reply->str;
		size_t blen = reply->len;
		char key[sizeof(CL_REG_KEY_PREFIX) + REG_USER_MAX];
		snprintf(key, sizeof(key), "%s%s", CL_REG_KEY_PREFIX, user);
		if (mac_on(cb) && cl_mac_unwrap(cb->mac, key, 0, 0, reply->str, reply->len, &body, &blen) < 0) {
			counter_inc(CNT_CLUSTER_VALUES_REFUSED);
			log_warnx("cluster: value of user \"%s\" in Redis refused (not authenticated by the cluster key)",
				  user);
			return;
		}
		got = calloc(REG_MAX_PER_USER, sizeof(*got));
		n = got ? cl_bindings_decode(body, blen, got, REG_MAX_PER_USER) : -1;
		if (n < 0) {
			counter_inc(CNT_CLUSTER_VALUES_REFUSED);
			log_warnx("cluster: value of user \"%s\" in Redis refused (malformed)", user);
			free(got);
			return;
		}
		uint64_t at;
		if (mac_on(cb) && (cl_mac_stamp(reply->str, reply->len, &at) < 0 ||
				   !cl_stamps_take(cb->stamps, user, at))) {
			counter_inc(CNT_CLUSTER_VALUES_REFUSED);
			log_warnx("cluster: value of user \"%s\" in Redis refused (older than the one taken before: a replay)",
				  user);
			free(got);
			return;
		}
	} else if (reply->type != REDIS_REPLY_NIL) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		return;
	}
	registrar_replace_remote(cb->reg, user, cb->self, got, (unsigned)n, wall_now());
	counter_inc(CNT_CLUSTER_BINDINGS_READ);
	free(got);
}

static void on_read(void *ctx, const redisReply *reply)
{
	struct cl_read *rd = ctx;
	if (reply)
		apply_value(rd->cb, rd->user, reply);
	free(rd);
}

/* The load of every user's value when Redis comes (back), through the
 * bounded SCAN-and-MGET load (scan.c). */
#define LOAD_MAX 1000000

static void on_load_key(void *ctx, const char *user, size_t len, const redisReply *value)
{
	(void)len;
	apply_value(ctx, user, value);
}

static void on_load_done(void *ctx, bool complete, size_t keys)
{
	(void)ctx;
	log_debug("cluster: bindings of %zu users read from Redis%s", keys, complete ? "" : " (load cut)");
}

void cl_bindings_load(struct cl_bindings *cb)
{
	if (cb->redis)
		(void)cl_scan_load(cb->redis, CL_REG_KEY_PREFIX, REG_USER_MAX, LOAD_MAX, on_load_key,
				   on_load_done, cb);
}

void cl_bindings_notice(struct cl_bindings *cb, const char *msg, size_t len)
{
	char node[REG_NODE_MAX];
	struct cl_read *rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return;
	if (cl_notice_decode(msg, len, node, sizeof(node), rd->user, sizeof(rd->user)) < 0) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		free(rd);
		return;
	}
	if (!strcmp(node, cb->self) || cb->redis == NULL) {
		free(rd); /* our own write */
		return;
	}
	rd->cb = cb;
	char key[sizeof(CL_REG_KEY_PREFIX) + REG_USER_MAX];
	snprintf(key, sizeof(key), "%s%s", CL_REG_KEY_PREFIX, rd->user);
	const char *get[] = { "GET", key };
	size_t getl[] = { 3, strlen(key) };
	if (cl_redis_command(cb->redis, on_read, rd, 2, get, getl) < 0)
		free(rd);
}
