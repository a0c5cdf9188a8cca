/* Established calls shared through Redis (calls.h). One table holds this
 * node's records (sealed, so they can be written again at catch-up and on
 * the TTL refresh without asking the B2BUA) and the replica of the other
 * nodes' records; both are sealed values, so no clear key stays here
 * beyond the call that seals or opens one. The replica is taken from the
 * notices, and loaded whole whenever Redis comes (back), start included
 * (cl_calls_load), so a node that starts after a call's last change holds
 * it all the same. A removal
 * that Redis did not take (breaker open) is remembered, bounded, and sent
 * at catch-up: a record left behind would let a takeover raise a call
 * that had ended. The catch-up and the TTL refresh write every record of
 * this node, paced (drip.c): however many calls it holds, no more
 * commands are asked for at once than max_pending allows. */
#include "calls.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "config/config.h"
#include "core/counters.h"
#include "core/log.h"
#include "drip.h"
#include "scan.h"

#define GONE_MAX 1024
#define WRITE_COMMANDS 2 /* SET or DEL, and PUBLISH */
#define KEY_MAX (sizeof(CL_CALL_KEY_PREFIX) + CFG_NODE_MAX + PC_CS_ID_MAX + 1)

struct cl_rec {
	char node[CFG_NODE_MAX];
	char id[PC_CS_ID_MAX];
	uint8_t *blob; /* sealed */
	size_t len;
	uint64_t sealed_at; /* wall-clock second of the seal, authenticated */
	bool due;           /* this node's, not yet written in the catch-up round */
};

struct cl_calls {
	struct cl_redis *redis;
	struct event *refresh;
	char self[CFG_NODE_MAX];
	uint8_t key[CL_CALL_KEY_LEN];
	struct cl_rec *recs;
	unsigned n, cap;
	char (*gone)[PC_CS_ID_MAX]; /* own removals Redis has not taken */
	unsigned ngone;
	bool lost_logged;
	struct cl_drip *drip; /* paces the catch-up and the refresh */
	unsigned ndue, next;  /* the round: records due, and where the walk is */
};

/* A GET in flight: the record it reads. */
struct cl_call_read {
	struct cl_calls *cc;
	char node[CFG_NODE_MAX];
	char id[PC_CS_ID_MAX];
};

static void on_write(void *ctx, const redisReply *reply)
{
	(void)ctx;
	(void)reply; /* a failure is counted by redis.c; catch-up repairs it */
}

static struct cl_rec *find(struct cl_calls *cc, const char *node, const char *id)
{
	for (unsigned i = 0; i < cc->n; i++)
		if (!strcmp(cc->recs[i].id, id) && !strcmp(cc->recs[i].node, node))
			return &cc->recs[i];
	return NULL;
}

static void drop(struct cl_calls *cc, struct cl_rec *r)
{
	if (r->due)
		cc->ndue--;
	explicit_bzero(r->blob, r->len);
	free(r->blob);
	*r = cc->recs[--cc->n];
}

/* Room for one more record: 0, or -1 at CL_CALL_RECORDS_MAX or out of memory. */
static int grow(struct cl_calls *cc)
{
	if (cc->n < cc->cap)
		return 0;
	unsigned cap = cc->cap ? cc->cap * 2 : 64;
	if (cap > CL_CALL_RECORDS_MAX)
		cap = CL_CALL_RECORDS_MAX;
	if (cap <= cc->cap)
		return -1;
	struct cl_rec *grown = realloc(cc->recs, cap * sizeof(*grown));
	if (grown == NULL)
		return -1;
	cc->recs = grown;
	cc->cap = cap;
	return 0;
}

/* The record (node, id) now holds blob (taken over); NULL when the table
 * is full or out of memory (blob freed, counted). */
static uint64_t wall_s(void) { return (uint64_t)time(NULL); }

/* A live call's record is sealed again every CL_CALL_TTL_S / 3: one sealed
 * more than the TTL ago is not a live call's (a copy put back in Redis, or
 * a call whose end this node missed), and is neither kept nor taken over. */
static bool too_old(uint64_t sealed_at) { return sealed_at + CL_CALL_TTL_S < wall_s(); }

static struct cl_rec *store(struct cl_calls *cc, const char *node, const char *id, uint8_t *blob,
			    size_t len, uint64_t sealed_at)
{
	struct cl_rec *r = find(cc, node, id);
	if (r == NULL && grow(cc) == 0 && cc->recs) { /* recs: said for the compiler */
		r = &cc->recs[cc->n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->node, sizeof(r->node), "%s", node);
		snprintf(r->id, sizeof(r->id), "%s", id);
	}
	if (r == NULL) {
		counter_inc(CNT_CLUSTER_CALL_STATES_LOST);
		if (!cc->lost_logged)
			log_warnx("cluster: call records beyond %u not kept", CL_CALL_RECORDS_MAX);
		cc->lost_logged = true;
		free(blob);
		return NULL;
	}
	if (r->blob) {
		explicit_bzero(r->blob, r->len);
		free(r->blob);
	}
	r->blob = blob;
	r->len = len;
	r->sealed_at = sealed_at;
	return r;
}

static void key_of(char *key, const char *node, const char *id)
{
	snprintf(key, KEY_MAX, "%s%s:%s", CL_CALL_KEY_PREFIX, node, id);
}

/* SET (blob) or DEL (NULL) of node's record id, and the notice. 0 or -1. */
static int send_rec(struct cl_calls *cc, const char *node, const char *id, const uint8_t *blob,
		    size_t len)
{
	if (cc->redis == NULL)
		return -1;
	char key[KEY_MAX], notice[CFG_NODE_MAX + PC_CS_ID_MAX + 2], ttl[16];
	key_of(key, node, id);
	snprintf(ttl, sizeof(ttl), "%u", CL_CALL_TTL_S);
	int nlen = snprintf(notice, sizeof(notice), "%s\t%s", node, id);
	const char *set[] = { "SET", key, (const char *)blob, "EX", ttl }, *del[] = { "DEL", key },
		   *pub[] = { "PUBLISH", CL_CALL_CHANNEL, notice };
	size_t setl[] = { 3, strlen(key), len, 2, strlen(ttl) }, dell[] = { 3, strlen(key) },
	       publ[] = { 7, strlen(CL_CALL_CHANNEL), (size_t)nlen };
	if ((blob ? cl_redis_command(cc->redis, on_write, NULL, 5, set, setl)
		  : cl_redis_command(cc->redis, on_write, NULL, 2, del, dell)) < 0 ||
	    cl_redis_command(cc->redis, on_write, NULL, 3, pub, publ) < 0)
		return -1;
	if (blob)
		counter_inc(CNT_CLUSTER_CALL_STATES_WRITTEN);
	return 0;
}

static void remember_gone(struct cl_calls *cc, const char *id)
{
	if (cc->ngone < GONE_MAX)
		snprintf(cc->gone[cc->ngone++], PC_CS_ID_MAX, "%s", id);
	else
		counter_inc(CNT_CLUSTER_CATCHUP_LOST); /* it lives out its TTL */
}

void cl_calls_put(struct cl_calls *cc, const struct pc_call_state *s, const char *id)
{
	if (s == NULL) {
		struct cl_rec *r = find(cc, cc->self, id);
		if (r)
			drop(cc, r);
		if (send_rec(cc, cc->self, id, NULL, 0) < 0)
			remember_gone(cc, id);
		return;
	}
	uint8_t *blob = malloc(CL_CALL_SEALED_MAX);
	uint64_t now = wall_s();
	int n = blob ? cl_call_seal(cc->key, cc->self, now, s, blob, CL_CALL_SEALED_MAX) : -1;
	if (n < 0) {
		free(blob);
		log_warnx("cluster: call record %s cannot be sealed (a field it cannot carry)", s->id);
		return;
	}
	uint8_t *fit = realloc(blob, (size_t)n); /* kept per call: its size, not the bound */
	if (fit)
		blob = fit;
	struct cl_rec *r = store(cc, cc->self, s->id, blob, (size_t)n, now);
	if (r)
		(void)send_rec(cc, cc->self, r->id, r->blob, r->len); /* else catch-up */
}

/* Sealed again with the current second, so that readers can tell a live
 * call's record (refreshed every TTL/3) from an old one put back in Redis;
 * kept as it was if that fails. */
static void reseal(struct cl_calls *cc, struct cl_rec *r)
{
	struct pc_call_state *s = malloc(sizeof(*s));
	uint8_t *blob = malloc(CL_CALL_SEALED_MAX);
	uint64_t at, now = wall_s();
	int n = -1;
	if (s && blob && cl_call_open(cc->key, cc->self, r->id, r->blob, r->len, s, &at) == 0)
		n = cl_call_seal(cc->key, cc->self, now, s, blob, CL_CALL_SEALED_MAX);
	if (s) {
		pc_call_state_wipe(s);
		free(s);
	}
	if (n < 0) {
		free(blob);
		return;
	}
	explicit_bzero(r->blob, r->len);
	free(r->blob);
	r->blob = blob;
	r->len = (size_t)n;
	r->sealed_at = now;
}

/* A write of the catch-up refused: with Redis gone the round ends (the
 * next one starts when it returns); with Redis up (a max_pending too
 * small for even one record's two commands) it is counted lost. */
static bool round_stops(struct cl_calls *cc)
{
	if (!cl_redis_up(cc->redis))
		return true;
	counter_inc(CNT_CLUSTER_CATCHUP_LOST);
	return false;
}

static void spend(unsigned *budget)
{
	*budget = *budget > WRITE_COMMANDS ? *budget - WRITE_COMMANDS : 0;
}

/* One turn of the round (drip.c): the removals Redis has not taken, then
 * each record of this node marked due at the round's start, re-sealed and
 * written. The table moves under the walk between turns (drop() fills a
 * hole with the last record), so the walk goes round again from the start
 * until no record is due: ndue counts them exactly. */
static bool catch_up_turn(void *ctx, unsigned *budget)
{
	struct cl_calls *cc = ctx;
	while (cc->ngone && *budget) {
		char id[PC_CS_ID_MAX];
		snprintf(id, sizeof(id), "%s", cc->gone[--cc->ngone]);
		spend(budget);
		if (send_rec(cc, cc->self, id, NULL, 0) < 0 && round_stops(cc)) {
			snprintf(cc->gone[cc->ngone++], PC_CS_ID_MAX, "%s", id);
			return true;
		}
	}
	if (cc->ngone)
		return false;
	unsigned seen = 0, found = 0;
	for (; cc->ndue && *budget && seen < cc->n; seen++) {
		if (cc->next >= cc->n)
			cc->next = 0;
		struct cl_rec *r = &cc->recs[cc->next++];
		if (!r->due)
			continue;
		found++;
		reseal(cc, r);
		spend(budget);
		if (send_rec(cc, cc->self, r->id, r->blob, r->len) < 0 && round_stops(cc))
			return true; /* still due: the next round writes it */
		r->due = false;
		cc->ndue--;
	}
	if (found == 0 && seen == cc->n)
		cc->ndue = 0; /* a whole pass found none: the count is stale, the round done */
	return cc->ndue == 0;
}

void cl_calls_catch_up(struct cl_calls *cc)
{
	cc->ndue = 0;
	cc->next = 0;
	for (unsigned i = 0; i < cc->n; i++) {
		cc->recs[i].due = !strcmp(cc->recs[i].node, cc->self);
		cc->ndue += cc->recs[i].due;
	}
	if (cc->redis)
		cl_drip_start(cc->drip, cc->redis);
}

static void on_refresh(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cl_calls_catch_up(arg); /* the TTL refreshed */
}

/* Another node's record as read: kept when it opens under our key and its
 * id; nil: that call ended. */
static void apply_value(struct cl_calls *cc, const struct cl_call_read *rd, const redisReply *reply)
{
	if (reply && reply->type == REDIS_REPLY_NIL) {
		struct cl_rec *r = find(cc, rd->node, rd->id);
		if (r)
			drop(cc, r);
	} else if (reply && reply->type == REDIS_REPLY_STRING) {
		bool fits = reply->len > 0 && reply->len <= CL_CALL_SEALED_MAX;
		struct pc_call_state *s = fits ? malloc(sizeof(*s)) : NULL;
		uint8_t *blob = fits ? malloc(reply->len) : NULL;
		uint64_t at = 0;
		const struct cl_rec *held = find(cc, rd->node, rd->id);
		if (s && blob &&
		    cl_call_open(cc->key, rd->node, rd->id, (const uint8_t *)reply->str, reply->len, s, &at) == 0 &&
		    ((held && at < held->sealed_at) || too_old(at))) {
			counter_inc(CNT_CLUSTER_VALUES_REFUSED);
			log_warnx("cluster: call record %s of node \"%s\" refused (sealed before the copy held, or "
				  "more than %u s ago: an old record put back)", rd->id, rd->node, CL_CALL_TTL_S);
		} else if (s && blob && at) {
			memcpy(blob, reply->str, reply->len);
			if (store(cc, rd->node, rd->id, blob, reply->len, at)) {
				counter_inc(CNT_CLUSTER_CALL_STATES_HELD);
				log_debug("cluster: call record %s of node \"%s\" replicated", rd->id,
					  rd->node);
			}
			blob = NULL;
		} else {
			counter_inc(CNT_CLUSTER_VALUES_REFUSED);
			log_warnx("cluster: call record %s of node \"%s\" refused (does not open)", rd->id,
				  rd->node);
		}
		free(blob);
		if (s)
			pc_call_state_wipe(s);
		free(s);
	}
}

static void on_read(void *ctx, const redisReply *reply)
{
	struct cl_call_read *rd = ctx;
	apply_value(rd->cc, rd, reply);
	free(rd);
}

void cl_calls_notice(struct cl_calls *cc, const char *msg, size_t len)
{
	struct cl_call_read *rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return;
	if (cl_notice_decode(msg, len, rd->node, sizeof(rd->node), rd->id, sizeof(rd->id)) < 0) {
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		free(rd);
		return;
	}
	if (!strcmp(rd->node, cc->self) || cc->redis == NULL) {
		free(rd);
		return;
	}
	rd->cc = cc;
	char key[KEY_MAX];
	key_of(key, rd->node, rd->id);
	const char *get[] = { "GET", key };
	size_t getl[] = { 3, strlen(key) };
	if (cl_redis_command(cc->redis, on_read, rd, 2, get, getl) < 0)
		free(rd);
}

void cl_calls_takeover(struct cl_calls *cc, const char *node, cl_adopt_fn *adopt, void *ctx,
		       unsigned *taken, unsigned *failed)
{
	*taken = *failed = 0;
	struct pc_call_state *s = malloc(sizeof(*s));
	if (s == NULL || !strcmp(node, cc->self)) {
		free(s);
		return;
	}
	for (unsigned i = 0; i < cc->n;) {
		if (strcmp(cc->recs[i].node, node)) {
			i++;
			continue;
		}
		/* adopt writes the call's new record here: recs may move */
		char id[PC_CS_ID_MAX];
		snprintf(id, sizeof(id), "%s", cc->recs[i].id);
		uint64_t at = 0;
		int opened = cl_call_open(cc->key, node, id, cc->recs[i].blob, cc->recs[i].len, s, &at);
		if (opened == 0 && too_old(at)) {
			log_warnx("cluster: call record %s of node \"%s\" not taken over: sealed %llu s ago",
				  id, node, (unsigned long long)(wall_s() - at));
			(*failed)++;
		} else if (opened == 0 && adopt(ctx, s) == 0) {
			(*taken)++;
			counter_inc(CNT_CLUSTER_CALLS_TAKEN_OVER);
		} else {
			(*failed)++;
		}
		pc_call_state_wipe(s);
		/* Not taken twice, by this node or another: the dead node's
		 * record goes (this node wrote its own as the call was adopted). */
		(void)send_rec(cc, node, id, NULL, 0);
		struct cl_rec *r = find(cc, node, id);
		if (r)
			drop(cc, r);
		i = 0; /* the table changed under us: walk it again */
	}
	free(s);
}

struct cl_calls *cl_calls_new(struct event_base *base, const char *self,
			      const uint8_t key[CL_CALL_KEY_LEN])
{
	struct cl_calls *cc = calloc(1, sizeof(*cc));
	if (cc == NULL || (cc->gone = calloc(GONE_MAX, sizeof(*cc->gone))) == NULL ||
	    (cc->refresh = event_new(base, -1, EV_PERSIST, on_refresh, cc)) == NULL ||
	    (cc->drip = cl_drip_new(base, catch_up_turn, cc)) == NULL) {
		cl_calls_free(cc);
		return NULL;
	}
	snprintf(cc->self, sizeof(cc->self), "%s", self);
	memcpy(cc->key, key, CL_CALL_KEY_LEN);
	struct timeval tv = { .tv_sec = CL_CALL_TTL_S / 3 };
	event_add(cc->refresh, &tv);
	return cc;
}

void cl_calls_free(struct cl_calls *cc)
{
	if (cc == NULL)
		return;
	if (cc->refresh)
		event_free(cc->refresh);
	cl_drip_free(cc->drip);
	while (cc->n)
		drop(cc, &cc->recs[cc->n - 1]);
	free(cc->recs);
	free(cc->gone);
	explicit_bzero(cc->key, sizeof(cc->key));
	free(cc);
}

void cl_calls_set_redis(struct cl_calls *cc, struct cl_redis *redis) { cc->redis = redis; }

/* The load of every other node's record when Redis comes (back), through
 * the bounded SCAN-and-MGET load (scan.c); it stops past
 * CL_CALL_RECORDS_MAX keys (the table holds no more). */

/* A key's suffix "<node>:<id>" into rd; -1 when it is not one or is this
 * node's own (never adopted from Redis: it is this node's to write). */
static int key_parse(const struct cl_calls *cc, const char *suffix, size_t len, struct cl_call_read *rd)
{
	const char *end = suffix + len;
	const char *colon = memrchr(suffix, ':', len);
	if (colon == NULL || colon == suffix || (size_t)(colon - suffix) >= sizeof(rd->node) ||
	    (size_t)(end - colon - 1) >= sizeof(rd->id) || colon + 1 == end)
		return -1;
	memcpy(rd->node, suffix, (size_t)(colon - suffix));
	rd->node[colon - suffix] = '\0';
	memcpy(rd->id, colon + 1, (size_t)(end - colon - 1));
	rd->id[end - colon - 1] = '\0';
	return strcmp(rd->node, cc->self) ? 0 : -1;
}

static void on_load_key(void *ctx, const char *suffix, size_t len, const redisReply *value)
{
	struct cl_calls *cc = ctx;
	struct cl_call_read rd = { .cc = cc };
	if (key_parse(cc, suffix, len, &rd) == 0)
		apply_value(cc, &rd, value);
}

static void on_load_done(void *ctx, bool complete, size_t keys)
{
	(void)ctx;
	log_debug("cluster: %zu call record keys read from Redis%s", keys, complete ? "" : " (load cut)");
}

void cl_calls_load(struct cl_calls *cc)
{
	if (cc->redis)
		(void)cl_scan_load(cc->redis, CL_CALL_KEY_PREFIX, KEY_MAX - strlen(CL_CALL_KEY_PREFIX),
				   CL_CALL_RECORDS_MAX, on_load_key, on_load_done, cc);
}
