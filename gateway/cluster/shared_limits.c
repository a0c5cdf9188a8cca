/* Shared bans, lockouts and call counts (shared_limits.h says what goes
 * where). Sending is fire and forget: a failed PUBLISH or HSET is counted
 * by redis.c and the limit stays local (with Redis down every node enforces
 * its own tables, which is what it did before cluster mode); a ban or
 * lockout refused at once is kept for Redis's return. Reading a calls hash
 * (HGETALL, then one MGET of the heartbeats of the nodes in it) is the only
 * read, started by a notice or the heartbeat, never by a request. */
#include "shared_limits.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"
#include "guard_state.h"
#include "mac.h"
#include "core/random.h"
#include "limits_codec.h"

#define KEY_MAX (sizeof(CL_CALLS_KEY_PREFIX) + 2 + RL_NAME_MAX)
#define ALIVE_KEY_MAX (sizeof(CL_ALIVE_KEY_PREFIX) + 64)
#define FIELD_MAX (64 + 1 + 16 + 1)

/* A ban or lockout that could not be sent, until Redis returns. */
struct cl_pending {
	bool lock;
	struct rl_key key;
	uint64_t until_ms;
};

struct cl_limits {
	char self[64];
	struct cl_redis *redis;
	struct cl_limits_ops ops;
	unsigned heartbeat_s;
	struct event *tick;
	uint64_t life;          /* drawn each time Redis comes up */
	char field[FIELD_MAX];  /* "<self>/<life>": our field in the calls hashes */
	struct cl_pending pending[CL_PENDING_MAX];
	unsigned n_pending;
	const struct cl_mac *mac; /* NULL or off: notices travel unauthenticated */
	unsigned ticks;           /* since the last read of the bans kept (guard_state.c) */
};

/* One read of a calls hash in flight: which name, and (second step) the
 * other nodes' fields waiting for their heartbeats. */
struct cl_calls_read {
	struct cl_limits *l;
	bool trunk;
	struct rl_key key;
	unsigned n;
	struct {
		char node[64];
		uint64_t life;
		uint32_t count;
	} f[CL_CALLS_MAX_NODES];
};

static void on_sent(void *ctx, const redisReply *reply)
{
	(void)ctx;
	(void)reply; /* a failure is counted by redis.c; the limit stays local */
}

static void calls_key(char *out, size_t size, bool trunk, const struct rl_key *k)
{
	snprintf(out, size, "%s%c:%s", CL_CALLS_KEY_PREFIX, trunk ? 't' : 'u', k->name);
}

static int command(struct cl_limits *l, cl_reply_fn *cb, void *ctx, int argc, const char **argv)
{
	size_t len[4 + CL_CALLS_MAX_NODES];
	for (int i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	return cl_redis_command(l->redis, cb, ctx, argc, argv, len);
}

static bool mac_on(const struct cl_limits *l) { return l->mac && l->mac->on; }

/* A notice older (or further ahead) than this is refused with a MAC on: a
 * replayed ban would otherwise ban its source again. Node clocks must agree
 * within it (NTP). */
#define NOTICE_MAX_AGE_MS 10000

static int publish(struct cl_limits *l, const char *msg)
{
	char tagged[CL_NOTICE_MAX + CL_MAC_OVERHEAD + 1];
	if (mac_on(l) && cl_mac_wrap(l->mac, CL_GUARD_CHANNEL, cl_mac_now_ms(), msg, strlen(msg), tagged,
				     sizeof(tagged)) < 0)
		return -1;
	const char *pub[] = { "PUBLISH", CL_GUARD_CHANNEL, mac_on(l) ? tagged : msg };
	return command(l, on_sent, NULL, 3, pub);
}

void cl_limits_set_mac(struct cl_limits *l, const struct cl_mac *mac) { l->mac = mac; }

static void new_life(struct cl_limits *l)
{
	uint64_t life;
	if (pc_random_bytes(&life, sizeof(life)) < 0)
		life = l->life + 1 + pc_clock_ms(); /* still differs from the last */
	l->life = life;
	snprintf(l->field, sizeof(l->field), "%s/%016" PRIx64, l->self, life);
}

/* The heartbeat: this node's life, expiring after three beats. */
static void beat(struct cl_limits *l)
{
	char key[ALIVE_KEY_MAX], life[17], ttl[16];
	snprintf(key, sizeof(key), "%s%s", CL_ALIVE_KEY_PREFIX, l->self);
	snprintf(life, sizeof(life), "%016" PRIx64, l->life);
	snprintf(ttl, sizeof(ttl), "%u", 3 * l->heartbeat_s);
	const char *set[] = { "SET", key, life, "EX", ttl };
	command(l, on_sent, NULL, 5, set);
}

static void start_read(struct cl_limits *l, bool trunk, const struct rl_key *k);

/* A ban or lockout still running in the hashes (guard_state.c). */
static void apply_kept(void *ctx, bool lock, const struct rl_key *k, uint64_t ms)
{
	struct cl_limits *l = ctx;
	(lock ? l->ops.lock : l->ops.ban)(l->ops.ctx, k, ms);
}

/* Reads the bans and lockouts kept: what ran before this node came up,
 * and (every CL_GUARD_SWEEP_S) the sweep of expired entries. */
static void load_kept(struct cl_limits *l)
{
	l->ticks = 0;
	cl_guard_state_load(l->redis, l->mac, apply_kept, l);
}

static void reread(void *ctx, bool trunk, const struct rl_key *k, uint32_t local, uint32_t remote)
{
	(void)local;
	if (remote)
		start_read(ctx, trunk, k);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cl_limits *l = arg;
	(void)fd;
	(void)what;
	if (!cl_redis_up(l->redis))
		return;
	beat(l);
	l->ops.each_count(l->ops.ctx, reread, l);
	if (++l->ticks * l->heartbeat_s >= CL_GUARD_SWEEP_S)
		load_kept(l);
}

struct cl_limits *cl_limits_new(struct event_base *base, const char *self, unsigned heartbeat_s,
				struct cl_redis *redis, const struct cl_limits_ops *ops)
{
	struct cl_limits *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	snprintf(l->self, sizeof(l->self), "%s", self);
	l->redis = redis;
	l->ops = *ops;
	l->heartbeat_s = heartbeat_s ? heartbeat_s : 30;
	new_life(l);
	struct timeval every = { l->heartbeat_s, 0 };
	if ((l->tick = event_new(base, -1, EV_PERSIST, on_tick, l)) == NULL ||
	    event_add(l->tick, &every) < 0) {
		cl_limits_free(l);
		return NULL;
	}
	return l;
}

void cl_limits_free(struct cl_limits *l)
{
	if (l == NULL)
		return;
	if (l->tick)
		event_free(l->tick);
	free(l);
}

/* Sends a ban or lockout; refused at once (Redis away), it is kept. */
static void share(struct cl_limits *l, bool lock, const struct rl_key *k, uint64_t ms, bool replay)
{
	char msg[CL_NOTICE_MAX];
	if (ms > CL_BAN_MAX_MS)
		ms = CL_BAN_MAX_MS;
	if (cl_ban_encode(l->self, lock, k, ms, msg, sizeof(msg)) < 0)
		return;
	if (publish(l, msg) == 0) {
		/* also as state, for the nodes that come up while it runs */
		cl_guard_state_put(l->redis, l->mac, lock, k, cl_mac_now_ms() + ms);
		counter_inc(lock ? CNT_CLUSTER_LOCKOUTS_SENT : CNT_CLUSTER_BANS_SENT);
		if (replay)
			counter_inc(CNT_CLUSTER_BANS_REPLAYED);
		return;
	}
	if (l->n_pending == CL_PENDING_MAX) {
		counter_inc(CNT_CLUSTER_CATCHUP_LOST);
		return;
	}
	l->pending[l->n_pending++] =
		(struct cl_pending){ .lock = lock, .key = *k, .until_ms = pc_clock_ms() + ms };
}

void cl_limits_ban(struct cl_limits *l, const struct rl_key *k, uint64_t ms)
{
	share(l, false, k, ms, false);
}

void cl_limits_lock(struct cl_limits *l, const struct rl_key *k, uint64_t ms)
{
	share(l, true, k, ms, false);
}

void cl_limits_calls(struct cl_limits *l, bool trunk, const struct rl_key *k, uint32_t n)
{
	char msg[CL_NOTICE_MAX], key[KEY_MAX], count[16], ttl[16];
	if (cl_calls_encode(l->self, trunk, k, msg, sizeof(msg)) < 0)
		return; /* a name Redis cannot carry: that limit stays local */
	calls_key(key, sizeof(key), trunk, k);
	snprintf(count, sizeof(count), "%u", n);
	snprintf(ttl, sizeof(ttl), "%u", CL_CALLS_TTL_S);
	const char *hset[] = { "HSET", key, l->field, count }, *hdel[] = { "HDEL", key, l->field },
		   *exp[] = { "EXPIRE", key, ttl };
	if ((n ? command(l, on_sent, NULL, 4, hset) : command(l, on_sent, NULL, 3, hdel)) < 0)
		return;
	command(l, on_sent, NULL, 3, exp);
	publish(l, msg);
}

static void rewrite(void *ctx, bool trunk, const struct rl_key *k, uint32_t local, uint32_t remote)
{
	if (local)
		cl_limits_calls(ctx, trunk, k, local);
	if (remote)
		start_read(ctx, trunk, k);
}

void cl_limits_up(struct cl_limits *l)
{
	new_life(l);
	beat(l); /* before any field of this life: readers must find it alive */
	l->ops.each_count(l->ops.ctx, rewrite, l);
	uint64_t now = pc_clock_ms();
	unsigned n = l->n_pending;
	l->n_pending = 0;
	for (unsigned i = 0; i < n; i++) {
		struct cl_pending p = l->pending[i];
		if (p.until_ms > now)
			share(l, p.lock, &p.key, p.until_ms - now, true);
	}
	load_kept(l);
}

static void refuse(const struct cl_calls_read *rd)
{
	counter_inc(CNT_CLUSTER_VALUES_REFUSED);
	log_warnx("cluster: call counts of \"%s\" in Redis refused (malformed)", rd->key.name);
}

/* Second step: the heartbeats of the nodes whose fields were read, in
 * order. A field counts only while its node's heartbeat holds its life;
 * the others are deleted (a crashed node, or an older life of a node). */
static void on_alive(void *ctx, const redisReply *reply)
{
	struct cl_calls_read *rd = ctx;
	struct cl_limits *l = rd->l;
	if (reply == NULL)
		goto out;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != rd->n) {
		refuse(rd);
		goto out;
	}
	char key[KEY_MAX], dead[CL_CALLS_MAX_NODES][FIELD_MAX];
	const char *hdel[2 + CL_CALLS_MAX_NODES] = { "HDEL", key };
	int n_dead = 0;
	uint32_t others = 0;
	for (unsigned i = 0; i < rd->n; i++) {
		const redisReply *v = reply->element[i];
		uint64_t life;
		bool alive = v->type == REDIS_REPLY_STRING &&
			     cl_life_decode(v->str, v->len, &life) == 0 && life == rd->f[i].life;
		if (alive) {
			others += rd->f[i].count; /* at most 64 * CL_CALLS_MAX: no overflow */
			continue;
		}
		snprintf(dead[n_dead], FIELD_MAX, "%s/%016" PRIx64, rd->f[i].node, rd->f[i].life);
		hdel[2 + n_dead] = dead[n_dead];
		n_dead++;
	}
	if (n_dead) {
		counter_add(CNT_CLUSTER_CALLS_DEAD, (uint64_t)n_dead);
		calls_key(key, sizeof(key), rd->trunk, &rd->key);
		command(l, on_sent, NULL, 2 + n_dead, hdel);
	}
	counter_inc(CNT_CLUSTER_CALLS_READ);
	l->ops.calls(l->ops.ctx, rd->trunk, &rd->key, others);
out:
	free(rd);
}

/* Reads one field of a calls hash into rd: -1 when malformed. Our own
 * field of this life is skipped (the local count holds it). */
static int read_field(struct cl_calls_read *rd, const redisReply *f, const redisReply *v)
{
	uint32_t count;
	uint64_t life;
	char node[64];
	if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
	    cl_count_decode(v->str, v->len, &count) < 0 ||
	    cl_calls_field_decode(f->str, f->len, node, &life) < 0)
		return -1;
	if (!strcmp(node, rd->l->self) && life == rd->l->life)
		return 0;
	snprintf(rd->f[rd->n].node, sizeof(rd->f[rd->n].node), "%s", node);
	rd->f[rd->n].life = life;
	rd->f[rd->n].count = count;
	rd->n++;
	return 0;
}

/* First step: HGETALL's field, value pairs. Anything malformed refuses the
 * whole hash (the local count alone then holds). */
static void on_calls(void *ctx, const redisReply *reply)
{
	struct cl_calls_read *rd = ctx;
	struct cl_limits *l = rd->l;
	if (reply == NULL)
		goto out;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 ||
	    reply->elements > 2 * CL_CALLS_MAX_NODES) {
		refuse(rd);
		goto out;
	}
	for (size_t i = 0; i < reply->elements; i += 2) {
		if (read_field(rd, reply->element[i], reply->element[i + 1]) < 0) {
			refuse(rd);
			goto out;
		}
	}
	if (rd->n == 0) {
		counter_inc(CNT_CLUSTER_CALLS_READ);
		l->ops.calls(l->ops.ctx, rd->trunk, &rd->key, 0);
		goto out;
	}
	char keys[CL_CALLS_MAX_NODES][ALIVE_KEY_MAX];
	const char *mget[1 + CL_CALLS_MAX_NODES] = { "MGET" };
	for (unsigned i = 0; i < rd->n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "%s%s", CL_ALIVE_KEY_PREFIX, rd->f[i].node);
		mget[1 + i] = keys[i];
	}
	if (command(l, on_alive, rd, 1 + (int)rd->n, mget) == 0)
		return;
out:
	free(rd);
}

static void start_read(struct cl_limits *l, bool trunk, const struct rl_key *k)
{
	struct cl_calls_read *rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return;
	rd->l = l;
	rd->trunk = trunk;
	rd->key = *k;
	char key[KEY_MAX];
	calls_key(key, sizeof(key), trunk, k);
	const char *get[] = { "HGETALL", key };
	if (command(l, on_calls, rd, 2, get) < 0)
		free(rd);
}

void cl_limits_notice(struct cl_limits *l, const char *msg, size_t len)
{
	struct cl_guard_notice n;
	if (mac_on(l) &&
	    cl_mac_unwrap(l->mac, CL_GUARD_CHANNEL, cl_mac_now_ms(), NOTICE_MAX_AGE_MS, msg, len, &msg, &len) < 0) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		log_warnx("cluster: notice on %s refused (not authenticated by the cluster key, or stale)",
			  CL_GUARD_CHANNEL);
		return;
	}
	if (cl_guard_notice_decode(msg, len, &n) < 0) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		log_warnx("cluster: notice on %s refused (malformed)", CL_GUARD_CHANNEL);
		return;
	}
	if (!strcmp(n.node, l->self))
		return; /* our own, already applied */
	switch (n.kind) {
	case CL_GUARD_BAN:
		counter_inc(CNT_CLUSTER_BANS_APPLIED);
		log_debug("cluster: source banned for %llu ms by node \"%s\"", (unsigned long long)n.ms,
			  n.node);
		l->ops.ban(l->ops.ctx, &n.key, n.ms);
		return;
	case CL_GUARD_LOCK:
		counter_inc(CNT_CLUSTER_LOCKOUTS_APPLIED);
		log_info("cluster: %s locked out for %llu ms by node \"%s\"",
			 n.key.family ? "a source" : "a user", (unsigned long long)n.ms, n.node);
		l->ops.lock(l->ops.ctx, &n.key, n.ms);
		return;
	case CL_GUARD_CALLS:
		start_read(l, n.trunk, &n.key);
		return;
	}
}
