/* Bans and lockouts as state in Redis (guard_state.h). A value is read
 * back as untrusted input: the field and the until are parsed strictly
 * (limits_codec.c), and with a key the tag must verify for this hash and
 * field, so an entry copied to another source or user, or made up, is
 * refused. A ban read here lasts what is left of it, at most a day. */
#include "guard_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"
#include "core/log.h"
#include "limits_codec.h"
#include "mac.h"

#define HSCAN_COUNT "100"
/* Pairs taken from one HSCAN answer (COUNT is a hint Redis may exceed). */
#define BATCH_MAX 512
#define CURSOR_MAX 24
#define VALUE_MAX (CL_MAC_OVERHEAD + 24)

static bool mac_on(const struct cl_mac *mac) { return mac && mac->on; }

/* The name the MAC covers: the hash and the field. */
static void mac_name(char *out, size_t size, bool lock, const char *field)
{
	snprintf(out, size, "%s/%s", lock ? CL_LOCKOUTS_KEY : CL_BANS_KEY, field);
}

static void on_sent(void *ctx, const redisReply *reply)
{
	(void)ctx;
	(void)reply; /* a failure is counted by redis.c; the ban stays local and announced */
}

void cl_guard_state_put(struct cl_redis *r, const struct cl_mac *mac, bool lock, const struct rl_key *k,
			uint64_t until_ms)
{
	char field[CL_GUARD_FIELD_MAX], name[sizeof(CL_LOCKOUTS_KEY) + CL_GUARD_FIELD_MAX], until[24],
		value[VALUE_MAX], ttl[16];
	if (cl_guard_field_encode(lock, k, field, sizeof(field)) < 0)
		return;
	int ul = snprintf(until, sizeof(until), "%" PRIu64, until_ms), vl = ul;
	if (mac_on(mac)) {
		mac_name(name, sizeof(name), lock, field);
		if ((vl = cl_mac_wrap(mac, name, cl_mac_now_ms(), until, (size_t)ul, value, sizeof(value))) < 0)
			return;
	}
	const char *hash = lock ? CL_LOCKOUTS_KEY : CL_BANS_KEY;
	snprintf(ttl, sizeof(ttl), "%u", CL_BAN_MAX_MS / 1000);
	const char *hset[] = { "HSET", hash, field, mac_on(mac) ? value : until },
		   *exp[] = { "EXPIRE", hash, ttl };
	size_t hsetl[] = { 4, strlen(hash), strlen(field), (size_t)vl }, expl[] = { 6, strlen(hash), strlen(ttl) };
	if (cl_redis_command(r, on_sent, NULL, 4, hset, hsetl) == 0)
		cl_redis_command(r, on_sent, NULL, 3, exp, expl);
}

/* One hash being read. */
struct cl_guard_load {
	struct cl_redis *r;
	const struct cl_mac *mac;
	cl_guard_apply_fn *apply;
	void *ctx;
	bool lock;
	unsigned seen;
	bool refused_logged;
};

static void hscan(struct cl_guard_load *ld, const char *cursor);

/* One field and value: 1 applied, 0 expired (to delete), -1 refused. */
static int read_entry(struct cl_guard_load *ld, const redisReply *f, const redisReply *v, uint64_t now)
{
	struct rl_key k;
	char field[CL_GUARD_FIELD_MAX], name[sizeof(CL_LOCKOUTS_KEY) + CL_GUARD_FIELD_MAX];
	const char *body;
	size_t blen;
	uint64_t until;
	if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || f->len >= sizeof(field) ||
	    cl_guard_field_decode(f->str, f->len, ld->lock, &k) < 0)
		return -1;
	memcpy(field, f->str, f->len);
	field[f->len] = '\0';
	body = v->str;
	blen = v->len;
	mac_name(name, sizeof(name), ld->lock, field);
	if ((mac_on(ld->mac) && cl_mac_unwrap(ld->mac, name, 0, 0, v->str, v->len, &body, &blen) < 0) ||
	    cl_until_decode(body, blen, &until) < 0)
		return -1;
	if (until <= now)
		return 0;
	uint64_t ms = until - now;
	ld->apply(ld->ctx, ld->lock, &k, ms > CL_BAN_MAX_MS ? CL_BAN_MAX_MS : ms);
	counter_inc(ld->lock ? CNT_CLUSTER_LOCKOUTS_APPLIED : CNT_CLUSTER_BANS_APPLIED);
	return 1;
}

static void on_hscan(void *ctx, const redisReply *reply)
{
	struct cl_guard_load *ld = ctx;
	const char *hash = ld->lock ? CL_LOCKOUTS_KEY : CL_BANS_KEY;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING || reply->element[0]->len >= CURSOR_MAX ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY || reply->element[1]->elements % 2) {
		if (reply)
			counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		free(ld);
		return;
	}
	const redisReply *pairs = reply->element[1];
	uint64_t now = cl_mac_now_ms();
	const char *hdel[2 + BATCH_MAX] = { "HDEL", hash };
	size_t hdell[2 + BATCH_MAX] = { 4, strlen(hash) };
	int n_del = 0;
	unsigned refused = 0;
	for (size_t i = 0; i + 1 < pairs->elements && i / 2 < BATCH_MAX && ld->seen < CL_GUARD_LOAD_MAX;
	     i += 2, ld->seen++) {
		int rc = read_entry(ld, pairs->element[i], pairs->element[i + 1], now);
		if (rc < 0) {
			refused++;
		} else if (rc == 0) {
			hdel[2 + n_del] = pairs->element[i]->str;
			hdell[2 + n_del] = pairs->element[i]->len;
			n_del++;
		}
	}
	if (refused) {
		counter_add(CNT_CLUSTER_VALUES_REFUSED, refused);
		if (!ld->refused_logged)
			log_warnx("cluster: %u entries of %s in Redis refused (malformed or not authenticated by the cluster key)",
				  refused, hash);
		ld->refused_logged = true;
	}
	if (n_del)
		cl_redis_command(ld->r, on_sent, NULL, 2 + n_del, hdel, hdell);
	char cursor[CURSOR_MAX];
	memcpy(cursor, reply->element[0]->str, reply->element[0]->len);
	cursor[reply->element[0]->len] = '\0';
	if (!strcmp(cursor, "0") || ld->seen >= CL_GUARD_LOAD_MAX) {
		free(ld);
		return;
	}
	hscan(ld, cursor);
}

static void hscan(struct cl_guard_load *ld, const char *cursor)
{
	const char *hash = ld->lock ? CL_LOCKOUTS_KEY : CL_BANS_KEY;
	const char *argv[] = { "HSCAN", hash, cursor, "COUNT", HSCAN_COUNT };
	size_t argl[] = { 5, strlen(hash), strlen(cursor), 5, strlen(HSCAN_COUNT) };
	if (cl_redis_command(ld->r, on_hscan, ld, 5, argv, argl) < 0)
		free(ld);
}

void cl_guard_state_load(struct cl_redis *r, const struct cl_mac *mac, cl_guard_apply_fn *apply, void *ctx)
{
	for (int lock = 0; lock < 2; lock++) {
		struct cl_guard_load *ld = calloc(1, sizeof(*ld));
		if (ld == NULL)
			return;
		*ld = (struct cl_guard_load){ .r = r, .mac = mac_on(mac) ? mac : NULL, .apply = apply,
					      .ctx = ctx, .lock = lock };
		hscan(ld, "0");
	}
}
