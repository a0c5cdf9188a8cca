/* policy/ratelimit: fixed-point token buckets and the bounded per-key table
 * (core/hash.h's keyed table over a fixed entry pool, an LRU list for
 * eviction). All state
 * is the caller's; the only allocation happens in rl_table_init. See
 * ratelimit.h for the status codes chosen and why. */
#include "policy/ratelimit.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define MICRO_PER_TOKEN 1000000ull

const char rl_why_rate[] = "request rate limit exceeded";
const char rl_why_ban_started[] = "source banned after repeated rate overruns";
const char rl_why_banned[] = "source is banned";
const char rl_why_locked_out[] = "locked out after failed authentications";
const char rl_why_lockout_started[] = "too many failed authentications: locked out";
const char rl_why_calls[] = "concurrent call limit reached";
const char rl_why_cps[] = "call rate limit exceeded";
const char rl_why_table_full[] = "rate-limit table full";


/* ---- Token bucket ---- */

static void refill(struct rl_bucket *b, const struct rl_rate *r, uint64_t now_ms)
{
	if (now_ms <= b->last_ms)
		return; /* no time passed, or the clock stepped back: add nothing */
	uint64_t cap = (uint64_t)r->burst * MICRO_PER_TOKEN;
	uint64_t elapsed = now_ms - b->last_ms;
	b->last_ms = now_ms;
	if (b->micro >= cap) {
		b->micro = cap;
		return;
	}
	/* milli_per_sec thousandths per second = milli_per_sec millionths per ms */
	uint64_t deficit = cap - b->micro;
	uint64_t need_ms = (deficit + r->milli_per_sec - 1) / r->milli_per_sec;
	if (elapsed >= need_ms)
		b->micro = cap;
	else
		b->micro += elapsed * r->milli_per_sec; /* < deficit + rate: no overflow */
	if (b->micro > cap)
		b->micro = cap;
}

void rl_bucket_init(struct rl_bucket *b, const struct rl_rate *r, uint64_t now_ms)
{
	b->micro = (uint64_t)r->burst * MICRO_PER_TOKEN;
	b->last_ms = now_ms;
}

bool rl_bucket_take(struct rl_bucket *b, const struct rl_rate *r, uint64_t now_ms)
{
	if (!rl_rate_enabled(r))
		return true;
	refill(b, r, now_ms);
	if (b->micro < MICRO_PER_TOKEN)
		return false;
	b->micro -= MICRO_PER_TOKEN;
	return true;
}

uint64_t rl_bucket_wait_ms(struct rl_bucket *b, const struct rl_rate *r, uint64_t now_ms)
{
	if (!rl_rate_enabled(r))
		return 0;
	refill(b, r, now_ms);
	if (b->micro >= MICRO_PER_TOKEN)
		return 0;
	return (MICRO_PER_TOKEN - b->micro + r->milli_per_sec - 1) / r->milli_per_sec;
}

uint64_t rl_bucket_tokens(struct rl_bucket *b, const struct rl_rate *r, uint64_t now_ms)
{
	if (!rl_rate_enabled(r))
		return UINT64_MAX;
	refill(b, r, now_ms);
	return b->micro / MICRO_PER_TOKEN;
}

/* Retry-After for a wait in ms: whole seconds rounded up, at least 1 (a 503
 * without Retry-After counts as a 500, RFC 3261 §21.5.4). */
static unsigned retry_seconds(uint64_t wait_ms)
{
	uint64_t s = (wait_ms + 999) / 1000;
	if (s < 1)
		s = 1;
	if (s > UINT32_MAX)
		s = UINT32_MAX;
	return (unsigned)s;
}

static struct verdict unavailable(enum pc_refusal r, const char *why, unsigned retry_after)
{
	struct verdict v = verdict_refuse(r, why);
	v.retry_after = retry_after;
	return v;
}

static uint64_t since(uint64_t now_ms, uint64_t then_ms)
{
	return now_ms > then_ms ? now_ms - then_ms : 0;
}

/* ---- Hash ---- */

uint64_t rl_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	return pc_siphash24(key, data, len);
}

/* ---- Keys ---- */

int rl_key_addr(struct rl_key *k, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (!k || !sa)
		return -1;
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		k->family = AF_INET;
		k->len = 4;
		memcpy(k->addr, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		const uint8_t *a = s6->sin6_addr.s6_addr;
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			k->family = AF_INET;
			k->len = 4;
			memcpy(k->addr, a + 12, 4);
		} else {
			k->family = AF_INET6;
			k->len = 8; /* the /64 */
			memcpy(k->addr, a, 8);
		}
		return 0;
	}
	return -1;
}

int rl_key_name(struct rl_key *k, const char *name)
{
	if (!k || !name)
		return -1;
	size_t n = strnlen(name, RL_NAME_MAX);
	if (n == 0 || n >= RL_NAME_MAX)
		return -1;
	memset(k, 0, sizeof(*k));
	k->family = 0;
	k->len = (uint8_t)n;
	memcpy(k->name, name, n);
	return 0;
}

int rl_key_name_addr(struct rl_key *k, const char *name, const struct sockaddr *sa)
{
	struct rl_key n;
	if (rl_key_name(&n, name) < 0 || rl_key_addr(k, sa) < 0)
		return -1;
	memcpy(k->name, n.name, sizeof(k->name));
	return 0;
}

/* The name paired with an address key ("" for a plain address). */
static size_t pair_len(const struct rl_key *k)
{
	return k->family ? strnlen(k->name, sizeof(k->name) - 1) : 0;
}

static const uint8_t *key_bytes(const struct rl_key *k)
{
	return k->family ? k->addr : (const uint8_t *)k->name;
}

/* The length that counts, never past its array whatever a caller put in len. */
static size_t key_len(const struct rl_key *k)
{
	size_t max = k->family ? sizeof(k->addr) : sizeof(k->name) - 1;
	return k->len < max ? k->len : max;
}

static bool key_equal(const struct rl_key *a, const struct rl_key *b)
{
	return a->family == b->family && key_len(a) == key_len(b) &&
	       memcmp(key_bytes(a), key_bytes(b), key_len(a)) == 0 &&
	       pair_len(a) == pair_len(b) && memcmp(a->name, b->name, pair_len(a)) == 0;
}

/* ---- Table ---- */

struct rl_entry {
	struct rl_key key;
	struct pc_hlink link;        /* in the table's index while used */
	uint32_t free_next;          /* the free list while unused */
	uint32_t lru_prev, lru_next; /* towards lru_head / lru_tail */
	bool used;
	uint64_t last_ms;
	struct rl_bucket req;
	uint32_t overruns;
	uint64_t overrun_start_ms;
	uint64_t ban_until_ms; /* banned while now < ban_until_ms */
	uint32_t auth_failures;
	uint64_t auth_start_ms;
	uint64_t lockout_until_ms;
	uint32_t calls;
	uint32_t remote_calls;       /* live calls on other cluster nodes */
	struct rl_bucket cps;
};

int rl_table_init(struct rl_table *t, const struct rl_config *cfg, uint32_t capacity,
		  const uint8_t seed[16])
{
	memset(t, 0, sizeof(*t));
	t->free_head = t->lru_head = t->lru_tail = NIL;
	if (!cfg || !seed || capacity == 0 || capacity > (1u << 24))
		return -1;
	t->entries = calloc(capacity, sizeof(*t->entries));
	if (!t->entries || pc_htab_init(&t->index, capacity, seed) < 0) {
		rl_table_fini(t);
		return -1;
	}
	t->cfg = *cfg;
	t->capacity = capacity;
	for (uint32_t i = 0; i < capacity; i++)
		t->entries[i].free_next = i + 1 < capacity ? i + 1 : NIL;
	t->free_head = 0;
	return 0;
}

void rl_table_fini(struct rl_table *t)
{
	free(t->entries);
	pc_htab_fini(&t->index);
	memset(t, 0, sizeof(*t));
	t->free_head = t->lru_head = t->lru_tail = NIL;
}

uint32_t rl_table_count(const struct rl_table *t)
{
	return t->count;
}

static uint64_t key_hash(const struct rl_table *t, const struct rl_key *k)
{
	uint8_t buf[2 + RL_NAME_MAX + RL_NAME_MAX];
	size_t n = key_len(k), p = pair_len(k);
	buf[0] = (uint8_t)k->family;
	buf[1] = (uint8_t)n;
	memcpy(buf + 2, key_bytes(k), n);
	memcpy(buf + 2 + n, k->name, p); /* a paired name after the address */
	return pc_htab_hash(&t->index, buf, 2 + n + p);
}

uint32_t rl_table_bucket(const struct rl_table *t, const struct rl_key *k)
{
	return (uint32_t)pc_htab_slot(&t->index, key_hash(t, k));
}

size_t rl_table_max_chain(const struct rl_table *t)
{
	return pc_htab_max_chain(&t->index);
}

static uint32_t find(const struct rl_table *t, const struct rl_key *k)
{
	if (!t->entries || !k)
		return NIL;
	for (struct pc_hlink *l = pc_htab_first(&t->index, key_hash(t, k)); l; l = pc_htab_next(l)) {
		const struct rl_entry *e = pc_container_of(l, struct rl_entry, link);
		if (key_equal(&e->key, k))
			return (uint32_t)(e - t->entries);
	}
	return NIL;
}

bool rl_table_has(const struct rl_table *t, const struct rl_key *k)
{
	return find(t, k) != NIL;
}

static void lru_unlink(struct rl_table *t, uint32_t i)
{
	struct rl_entry *e = &t->entries[i];
	if (e->lru_prev != NIL)
		t->entries[e->lru_prev].lru_next = e->lru_next;
	else
		t->lru_head = e->lru_next;
	if (e->lru_next != NIL)
		t->entries[e->lru_next].lru_prev = e->lru_prev;
	else
		t->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NIL;
}

static void lru_push_front(struct rl_table *t, uint32_t i)
{
	struct rl_entry *e = &t->entries[i];
	e->lru_prev = NIL;
	e->lru_next = t->lru_head;
	if (t->lru_head != NIL)
		t->entries[t->lru_head].lru_prev = i;
	t->lru_head = i;
	if (t->lru_tail == NIL)
		t->lru_tail = i;
}

static void touch(struct rl_table *t, uint32_t i, uint64_t now_ms)
{
	t->entries[i].last_ms = now_ms;
	if (t->lru_head != i) {
		lru_unlink(t, i);
		lru_push_front(t, i);
	}
}

static bool is_protected(const struct rl_entry *e, uint64_t now_ms)
{
	return e->calls > 0 || e->ban_until_ms > now_ms || e->lockout_until_ms > now_ms;
}

/* Free one slot by evicting the least recently seen unprotected entry.
 * Protected entries met on the way are moved to the recent end, so the next
 * search does not walk them again; a search that finds nothing has looked at
 * every entry once and remembers when the first time-bound protection ends. */
static uint32_t evict(struct rl_table *t, uint64_t now_ms)
{
	uint64_t earliest = UINT64_MAX;
	for (uint32_t seen = 0; seen < t->count; seen++) {
		uint32_t i = t->lru_tail;
		struct rl_entry *e = &t->entries[i];
		if (!is_protected(e, now_ms)) {
			pc_htab_remove(&e->link);
			lru_unlink(t, i);
			e->used = false;
			t->count--;
			return i;
		}
		if (e->calls == 0) {
			uint64_t until = e->ban_until_ms > e->lockout_until_ms ? e->ban_until_ms
									       : e->lockout_until_ms;
			if (until < earliest)
				earliest = until;
		}
		touch(t, i, e->last_ms); /* keeps its last-seen time, moves it to the front */
	}
	t->no_room_until = earliest;
	return NIL;
}

/* The entry for k, created if needed. NULL when the table cannot take it; then
 * *full is the 503 to answer, for reason `full_reason`. */
static struct rl_entry *get(struct rl_table *t, const struct rl_key *k, uint64_t now_ms,
			    enum pc_refusal full_reason, struct verdict *full)
{
	uint32_t i = find(t, k);
	if (i != NIL) {
		touch(t, i, now_ms);
		return &t->entries[i];
	}
	if (!t->entries)
		goto no_room;
	if (t->free_head != NIL) {
		i = t->free_head;
		t->free_head = t->entries[i].free_next;
	} else {
		if (t->no_room_until && now_ms < t->no_room_until)
			goto no_room;
		i = evict(t, now_ms);
		if (i == NIL)
			goto no_room;
	}
	struct rl_entry *e = &t->entries[i];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->used = true;
	pc_htab_insert(&t->index, &e->link, key_hash(t, k));
	e->lru_prev = e->lru_next = NIL;
	lru_push_front(t, i);
	e->last_ms = now_ms;
	rl_bucket_init(&e->req, &t->cfg.request, now_ms);
	rl_bucket_init(&e->cps, &t->cfg.calls, now_ms);
	t->count++;
	return e;

no_room:;
	unsigned ra = RL_CALLS_RETRY_AFTER;
	if (t->no_room_until && t->no_room_until != UINT64_MAX) {
		ra = retry_seconds(since(t->no_room_until, now_ms));
		if (ra > RL_FULL_RETRY_AFTER_MAX)
			ra = RL_FULL_RETRY_AFTER_MAX;
	}
	*full = unavailable(full_reason, rl_why_table_full, ra);
	return NULL;
}

/* ---- Decisions ---- */

struct verdict rl_request(struct rl_table *t, const struct rl_key *k, uint64_t now_ms)
{
	struct verdict full;
	struct rl_entry *e = get(t, k, now_ms, REFUSAL_RATE_TABLE_FULL, &full);
	if (!e)
		return full;
	const struct rl_config *c = &t->cfg;
	if (e->ban_until_ms > now_ms) {
		if (!rl_bucket_take(&e->req, &c->request, now_ms) && now_ms + c->ban_ms > e->ban_until_ms)
			e->ban_until_ms = now_ms + c->ban_ms;
		return verdict_refuse(REFUSAL_BANNED, rl_why_banned);
	}
	if (rl_bucket_take(&e->req, &c->request, now_ms))
		return verdict_accept();

	if (e->overruns == 0 || since(now_ms, e->overrun_start_ms) >= c->overrun_window_ms) {
		e->overrun_start_ms = now_ms;
		e->overruns = 0;
	}
	e->overruns++;
	if (c->ban_after > 0 && c->ban_ms > 0 && e->overruns >= c->ban_after) {
		e->overruns = 0;
		e->ban_until_ms = now_ms + c->ban_ms;
		return verdict_refuse(REFUSAL_BAN_STARTED, rl_why_ban_started);
	}
	return unavailable(REFUSAL_RATE, rl_why_rate,
			   retry_seconds(rl_bucket_wait_ms(&e->req, &c->request, now_ms)));
}

struct verdict rl_ban_check(const struct rl_table *t, const struct rl_key *k, uint64_t now_ms)
{
	uint32_t i = find(t, k);
	if (i != NIL && t->entries[i].ban_until_ms > now_ms)
		return verdict_refuse(REFUSAL_BANNED, rl_why_banned);
	return verdict_accept();
}

struct verdict rl_auth_check(struct rl_table *t, const struct rl_key *k, uint64_t now_ms)
{
	uint32_t i = find(t, k);
	if (i != NIL && t->entries[i].lockout_until_ms > now_ms)
		return verdict_refuse(REFUSAL_LOCKED_OUT, rl_why_locked_out);
	return verdict_accept();
}

struct verdict rl_auth_failure(struct rl_table *t, const struct rl_key *k, uint64_t now_ms)
{
	struct verdict full;
	struct rl_entry *e = get(t, k, now_ms, REFUSAL_AUTH_TABLE_FULL, &full);
	if (!e)
		return full;
	const struct rl_config *c = &t->cfg;
	if (e->lockout_until_ms > now_ms)
		return verdict_refuse(REFUSAL_LOCKED_OUT, rl_why_locked_out);
	if (c->auth_fail_max == 0)
		return verdict_accept();
	if (e->auth_failures == 0 || since(now_ms, e->auth_start_ms) >= c->auth_window_ms) {
		e->auth_start_ms = now_ms;
		e->auth_failures = 0;
	}
	e->auth_failures++;
	if (e->auth_failures >= c->auth_fail_max) {
		e->auth_failures = 0;
		e->lockout_until_ms = now_ms + (c->lockout_ms ? c->lockout_ms : c->auth_window_ms);
		if (e->lockout_until_ms > now_ms)
			return verdict_refuse(REFUSAL_LOCKED_OUT, rl_why_lockout_started);
	}
	return verdict_accept();
}

void rl_auth_success(struct rl_table *t, const struct rl_key *k, uint64_t now_ms)
{
	uint32_t i = find(t, k);
	if (i == NIL)
		return;
	t->entries[i].auth_failures = 0;
	t->entries[i].auth_start_ms = 0;
	touch(t, i, now_ms);
}

struct verdict rl_call_start(struct rl_table *t, const struct rl_key *k, uint64_t now_ms)
{
	struct verdict full;
	struct rl_entry *e = get(t, k, now_ms, REFUSAL_RATE_TABLE_FULL, &full);
	if (!e)
		return full;
	const struct rl_config *c = &t->cfg;
	if (c->max_calls > 0 && (uint64_t)e->calls + e->remote_calls >= c->max_calls)
		return unavailable(REFUSAL_CALLS, rl_why_calls, RL_CALLS_RETRY_AFTER);
	if (!rl_bucket_take(&e->cps, &c->calls, now_ms))
		return unavailable(REFUSAL_CPS, rl_why_cps,
				   retry_seconds(rl_bucket_wait_ms(&e->cps, &c->calls, now_ms)));
	if (e->calls < UINT32_MAX)
		e->calls++;
	return verdict_accept();
}

void rl_call_end(struct rl_table *t, const struct rl_key *k, uint64_t now_ms)
{
	uint32_t i = find(t, k);
	if (i == NIL)
		return;
	struct rl_entry *e = &t->entries[i];
	if (e->calls > 0 && --e->calls == 0)
		t->no_room_until = 0; /* this entry may be evicted now */
	touch(t, i, now_ms);
}

uint32_t rl_calls(const struct rl_table *t, const struct rl_key *k)
{
	uint32_t i = find(t, k);
	return i == NIL ? 0 : t->entries[i].calls;
}

void rl_ban_apply(struct rl_table *t, const struct rl_key *k, uint64_t ms, uint64_t now_ms)
{
	struct verdict full;
	struct rl_entry *e = get(t, k, now_ms, REFUSAL_RATE_TABLE_FULL, &full);
	if (e && ms > 0 && now_ms + ms > e->ban_until_ms)
		e->ban_until_ms = now_ms + ms;
}

void rl_lockout_apply(struct rl_table *t, const struct rl_key *k, uint64_t ms, uint64_t now_ms)
{
	struct verdict full;
	struct rl_entry *e = get(t, k, now_ms, REFUSAL_AUTH_TABLE_FULL, &full);
	if (e && ms > 0 && now_ms + ms > e->lockout_until_ms)
		e->lockout_until_ms = now_ms + ms;
}

void rl_each_count(const struct rl_table *t, rl_count_fn *fn, void *ctx)
{
	/* Along the LRU list: only the used entries, not the whole capacity. */
	for (uint32_t i = t->lru_head; i != NIL; i = t->entries[i].lru_next) {
		const struct rl_entry *e = &t->entries[i];
		if (e->calls || e->remote_calls)
			fn(ctx, &e->key, e->calls, e->remote_calls);
	}
}

void rl_remote_calls_set(struct rl_table *t, const struct rl_key *k, uint32_t n, uint64_t now_ms)
{
	if (n == 0) {
		uint32_t i = find(t, k);
		if (i != NIL)
			t->entries[i].remote_calls = 0;
		return;
	}
	struct verdict full;
	struct rl_entry *e = get(t, k, now_ms, REFUSAL_RATE_TABLE_FULL, &full);
	if (e)
		e->remote_calls = n;
}
