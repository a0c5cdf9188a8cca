/* Registrar bindings shared between the nodes. After a REGISTER changes a
 * user's bindings here, the user's whole live set (this node's and those
 * it knows of others) is written as one value with SET ... EX (the TTL of
 * its longest binding, so Redis forgets what nobody refreshes), or deleted
 * when empty, and announced on the channel. A notice from another node
 * makes this one GET the value and take the other nodes' bindings from it;
 * its own it knows better. While Redis is down the changed users are
 * remembered (bounded: past the bound the loss is counted and the keys
 * concerned live out their TTL); when it returns, those users and every
 * user with a binding held here are written again (catch-up). The last
 * writer of a user wins: one phone registers at one node at a time. */
#include "bindings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "core/counters.h"
#include "core/log.h"
#include "mac.h"
#include "stamps.h"

#define DIRTY_MAX 1024
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

static void on_changed(void *ctx, const char *user)
{
	struct cl_bindings *cb = ctx;
	/* With the breaker open the write is refused at once (and counted). */
	if (cb->redis == NULL || write_user(cb, user) < 0)
		remember(cb, user);
}

struct cl_bindings *cl_bindings_new(struct registrar *reg, const char *self)
{
	struct cl_bindings *cb = calloc(1, sizeof(*cb));
	if (cb == NULL || (cb->dirty = calloc(DIRTY_MAX, sizeof(*cb->dirty))) == NULL ||
	    (cb->stamps = cl_stamps_new(CL_STAMPS_MAX, NULL)) == NULL) {
		if (cb)
			free(cb->dirty);
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
	free(cb->dirty);
	cl_stamps_free(cb->stamps);
	free(cb);
}

void cl_bindings_set_redis(struct cl_bindings *cb, struct cl_redis *redis) { cb->redis = redis; }

void cl_bindings_set_mac(struct cl_bindings *cb, const struct cl_mac *mac) { cb->mac = mac; }

static void catch_up_binding(void *ctx, const char *user, const struct reg_binding *b)
{
	if (!b->node[0]) /* held here */
		remember(ctx, user);
}

void cl_bindings_catch_up(struct cl_bindings *cb)
{
	registrar_each(cb->reg, wall_now(), UINT32_MAX, catch_up_binding, cb);
	unsigned n = cb->ndirty, written = 0;
	cb->ndirty = 0;
	cb->dirty_lost = false;
	for (unsigned i = 0; i < n; i++) {
		if (write_user(cb, cb->dirty[i]) == 0)
			written++;
	}
	counter_add(CNT_CLUSTER_CATCHUP_WRITES, written);
	if (n)
		log_info("cluster: caught up, %u of %u users written again", written, n);
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

/* The load of every user's value when Redis comes (back): one SCAN batch,
 * then one MGET of its keys, then the next batch, so at most one command
 * of the load is in flight and the load stops at LOAD_MAX keys. */
#define SCAN_COUNT 100
#define LOAD_MAX 1000000
struct cl_load {
	struct cl_bindings *cb;
	unsigned seen;
	unsigned n;
	bool last; /* the SCAN answered cursor 0: this batch is the last */
	char users[SCAN_COUNT * 2][REG_USER_MAX]; /* COUNT is a hint: room for more */
};

static void scan_next(struct cl_load *ld, const char *cursor, size_t len);

static void on_mget(void *ctx, const redisReply *reply)
{
	struct cl_load *ld = ctx;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != ld->n) {
		free(ld);
		return;
	}
	for (size_t i = 0; i < reply->elements; i++)
		apply_value(ld->cb, ld->users[i], reply->element[i]);
	if (ld->last) {
		free(ld);
		return;
	}
	scan_next(ld, ld->users[SCAN_COUNT * 2 - 1], strlen(ld->users[SCAN_COUNT * 2 - 1]));
}

static void on_scan(void *ctx, const redisReply *reply)
{
	struct cl_load *ld = ctx;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_ARRAY ||
	    reply->element[0]->len >= REG_USER_MAX) {
		free(ld);
		return;
	}
	const redisReply *keys = reply->element[1];
	const char *argv[SCAN_COUNT * 2];
	size_t argl[SCAN_COUNT * 2];
	size_t plen = strlen(CL_REG_KEY_PREFIX);
	ld->n = 0;
	argv[0] = "MGET";
	argl[0] = 4;
	for (size_t i = 0; i < keys->elements && ld->n + 2 < SCAN_COUNT * 2; i++) {
		const redisReply *k = keys->element[i];
		if (k->type != REDIS_REPLY_STRING || k->len <= plen || k->len - plen >= REG_USER_MAX ||
		    memchr(k->str, '\0', k->len))
			continue;
		memcpy(ld->users[ld->n], k->str + plen, k->len - plen);
		ld->users[ld->n][k->len - plen] = '\0';
		argv[ld->n + 1] = k->str;
		argl[ld->n + 1] = k->len;
		ld->n++;
	}
	ld->seen += ld->n;
	/* the cursor is kept in the last slot for the next round */
	memcpy(ld->users[SCAN_COUNT * 2 - 1], reply->element[0]->str, reply->element[0]->len);
	ld->users[SCAN_COUNT * 2 - 1][reply->element[0]->len] = '\0';
	ld->last = !strcmp(ld->users[SCAN_COUNT * 2 - 1], "0");
	if (ld->n == 0 && ld->last) {
		free(ld);
		return;
	}
	if (ld->n == 0) {
		scan_next(ld, ld->users[SCAN_COUNT * 2 - 1], reply->element[0]->len);
		return;
	}
	if (cl_redis_command(ld->cb->redis, on_mget, ld, (int)ld->n + 1, argv, argl) < 0)
		free(ld);
}

static void scan_next(struct cl_load *ld, const char *cursor, size_t len)
{
	if (ld->seen >= LOAD_MAX) {
		free(ld);
		return;
	}
	char cur[REG_USER_MAX];
	snprintf(cur, sizeof(cur), "%.*s", (int)len, cursor);
	const char *argv[] = { "SCAN", cur, "MATCH", CL_REG_KEY_PREFIX "*", "COUNT", "100" };
	size_t argl[] = { 4, strlen(cur), 5, strlen(CL_REG_KEY_PREFIX) + 1, 5, 3 };
	if (cl_redis_command(ld->cb->redis, on_scan, ld, 6, argv, argl) < 0)
		free(ld);
}

void cl_bindings_load(struct cl_bindings *cb)
{
	struct cl_load *ld = calloc(1, sizeof(*ld));
	if (ld == NULL)
		return;
	ld->cb = cb;
	scan_next(ld, "0", 1);
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
