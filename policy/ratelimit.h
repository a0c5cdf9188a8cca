/* policy/ratelimit: token buckets and a bounded table of per-key abuse state
 * (per source address, per user, per trunk): request rate with a ban window,
 * authentication failures with a lockout window, concurrent calls and calls
 * per second. Pure: time comes in as milliseconds (any monotonic origin), the
 * hash seed comes from the caller; the only allocation is the table's, once,
 * at init. Not thread-safe: one table per event loop.
 *
 * Status codes (RFC 3261 unless said otherwise):
 *  - over a rate (requests per source, calls per second): 503 Service
 *    Unavailable with Retry-After = seconds until a token is back (§21.5.4,
 *    §20.33). Not 429: in SIP, 429 is "Provide Referrer Identity" (RFC 3892),
 *    HTTP's RFC 6585 "Too Many Requests" does not apply.
 *  - banned source, locked-out source or user: 403 Forbidden without
 *    Retry-After (§21.4.4: refused by policy, authorization will not help;
 *    §20.33 does not list 403 among the responses that carry Retry-After, and
 *    telling an attacker when the ban ends helps only the attacker). A 503
 *    would claim overload and make a proxy in front of the source fail over
 *    to another server (§21.5.4), which a ban does not mean.
 *  - over a concurrent-call limit: 503 with Retry-After RL_CALLS_RETRY_AFTER.
 *    Not 486 Busy Here: §21.4.24 describes the *callee's* end system, and a
 *    caller over its own quota would be told, wrongly, that the called party
 *    is busy (the B2BUA relays 486 from callees as just that).
 *  - the table is full of entries that may not be evicted: 503 with
 *    Retry-After (see rl_table_init).
 * Every refusal names its reason (policy/refusal.h), which says how the
 * gateway answers and counts it; the why is one of the rl_why_* strings
 * below, for the log. A table that is full refuses with
 * REFUSAL_RATE_TABLE_FULL, except for a failed login
 * (REFUSAL_AUTH_TABLE_FULL, counted as a lockout). */
#ifndef PC_POLICY_RATELIMIT_H
#define PC_POLICY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/hash.h"
#include "policy/verdict.h"

/* ---- Token bucket ----
 * Fixed point, no floating point anywhere: the rate is in thousandths of a
 * token per second (RL_PER_SEC(2) = 2000 = two per second, 1500 = 1.5 per
 * second) and the level in millionths of a token, so one millisecond adds
 * exactly milli_per_sec millionths: refill = elapsed_ms * milli_per_sec with
 * no division and no rounding, and a bucket driven a million times in 1 ms
 * steps holds exactly what one step of the same total would give. A token is
 * taken when the level is at least one whole token. Time going backwards
 * adds nothing; a huge gap fills the bucket without overflowing. */
#define RL_PER_SEC(n) ((uint32_t)(n) * 1000u)

struct rl_rate {
	uint32_t milli_per_sec; /* 0 = limit disabled */
	uint32_t burst;         /* bucket size in tokens; 0 = limit disabled */
};

struct rl_bucket {
	uint64_t micro;   /* level in millionths of a token */
	uint64_t last_ms; /* time of the last refill */
};

static inline bool rl_rate_enabled(const struct rl_rate *r)
{
	return r->milli_per_sec > 0 && r->burst > 0;
}

/* A full bucket at now_ms. */
void rl_bucket_init(struct rl_bucket *b, const struct rl_rate *r, uint64_t now_ms);
/* Take one token: true, or false (nothing taken) when less than one is left.
 * Always true for a disabled rate. */
bool rl_bucket_take(struct rl_bucket *b, const struct rl_rate *r, uint64_t now_ms);
/* Milliseconds from now_ms until a token can be taken (0 = now). */
uint64_t rl_bucket_wait_ms(struct rl_bucket *b, const struct rl_rate *r, uint64_t now_ms);
/* Whole tokens available at now_ms (refills first). */
uint64_t rl_bucket_tokens(struct rl_bucket *b, const struct rl_rate *r, uint64_t now_ms);

/* ---- Keys ----
 * A source address (the port is ignored; an IPv4-mapped IPv6 address is its
 * IPv4 address; an IPv6 address is keyed by its /64, because one host gets a
 * whole /64 and would otherwise rotate through 2^64 keys to dodge every limit
 * and flush the table) or a name (user or trunk), compared exactly. */
#define RL_NAME_MAX 64 /* names are at most 63 bytes */

struct rl_key {
	int family; /* AF_INET, AF_INET6, or 0 for a name */
	uint8_t len; /* bytes of addr or name that count */
	uint8_t addr[16];
	char name[RL_NAME_MAX]; /* with an address: "" or the name paired with it */
};

/* 0, or -1 for another family. */
int rl_key_addr(struct rl_key *k, const struct sockaddr *sa);
/* A name from one source address (as rl_key_addr keys it): a user's failed
 * logins from one place, apart from the same user's from elsewhere. 0, or -1
 * when either part cannot be keyed. */
int rl_key_name_addr(struct rl_key *k, const char *name, const struct sockaddr *sa);
/* 0, or -1 for NULL, "" or a name of RL_NAME_MAX bytes or more: such a name
 * cannot be tracked and the caller must refuse it (our configured users and
 * trunks are short; a long unknown name is not worth a slot). */
int rl_key_name(struct rl_key *k, const char *name);

/* ---- Table ---- */
struct rl_config {
	/* per source: request rate; overruns in one window start a ban */
	struct rl_rate request;
	uint32_t ban_after;          /* overruns within overrun_window_ms; 0 = never ban */
	uint64_t overrun_window_ms;
	uint64_t ban_ms;             /* ban length; extended while the source keeps overrunning */
	/* per source or user: authentication failures */
	uint32_t auth_fail_max;      /* failures within auth_window_ms; 0 = no lockout */
	uint64_t auth_window_ms;     /* counted from the first failure of the window */
	uint64_t lockout_ms;         /* lockout length; 0 = auth_window_ms */
	/* per user or trunk: calls */
	uint32_t max_calls;          /* concurrent calls; 0 = unlimited */
	struct rl_rate calls;        /* new calls per second */
};

struct rl_entry; /* private to ratelimit.c */

/* The table holds at most `capacity` keys in storage allocated once by
 * rl_table_init. Lookup is a hash (SipHash-2-4 keyed with the caller's
 * 16 random bytes, so nobody can aim keys at one chain) into chains drawn from
 * the fixed pool: O(1) expected.
 *
 * When a new key arrives and the table is full, the least recently seen
 * entry that is not protected is evicted (an idle one is by construction
 * older than any busy one). Protected: an active ban, an active lockout, or
 * live calls; such an entry is never evicted. If every entry is protected the
 * key is not tracked and the decision is 503 with why = rl_why_table_full and
 * Retry-After = time until the first ban or lockout ends (at most
 * RL_FULL_RETRY_AFTER_MAX, RL_CALLS_RETRY_AFTER if only calls hold the
 * entries): a flood of banned sources can then keep new sources out for the
 * length of a ban, which is why the capacity must exceed the expected number
 * of sources by a wide margin. That answer costs O(1): the first fruitless
 * search remembers when the next entry could become free. */
struct rl_table {
	struct rl_config cfg;
	struct pc_htab index;    /* keyed with the caller's seed */
	struct rl_entry *entries; /* capacity entries */
	uint32_t capacity, count;
	uint32_t free_head;      /* unused entries, linked through free_next */
	uint32_t lru_head, lru_tail; /* most / least recently seen */
	uint64_t no_room_until;  /* full of protected entries until then; 0 = unknown */
};

#define RL_FULL_RETRY_AFTER_MAX 60u
/* 5 s: a concurrent-call slot frees when some call ends, which we cannot
 * predict; short enough not to keep a trunk away after one call ends, long
 * enough not to invite an immediate retry storm. */
#define RL_CALLS_RETRY_AFTER 5u

/* 0, or -1 for capacity 0 or over 2^24, or allocation failure (the table is
 * then empty and rl_table_fini is still safe). */
int rl_table_init(struct rl_table *t, const struct rl_config *cfg, uint32_t capacity,
		  const uint8_t seed[16]);
void rl_table_fini(struct rl_table *t);
uint32_t rl_table_count(const struct rl_table *t);
/* The chain a key hashes to (for tests: the seed moves keys, never results). */
uint32_t rl_table_bucket(const struct rl_table *t, const struct rl_key *k);
/* The longest chain of the table's index (tests: crafted keys must not pile
 * up in one chain). */
size_t rl_table_max_chain(const struct rl_table *t);
/* Whether the key has an entry now (no side effect). */
bool rl_table_has(const struct rl_table *t, const struct rl_key *k);
/* SipHash-2-4 of data under a 16-byte key: the table's hash (core/hash.h's
 * pc_siphash24), under the name its reference test vector knows. */
uint64_t rl_siphash24(const uint8_t key[16], const void *data, size_t len);

/* ---- Decisions ---- */

/* One request from a source. Accept; 503 + Retry-After when over the request
 * rate (rl_why_rate); 403 when that overrun was the ban_after-th within the
 * window (rl_why_ban_started) or the source is banned (rl_why_banned). A
 * banned source still drains its bucket, and an overrun during the ban
 * extends it to now + ban_ms: a source that keeps flooding stays out, one
 * that slows down is let back in when the ban ends. */
struct verdict rl_request(struct rl_table *t, const struct rl_key *k, uint64_t now_ms);
/* Whether a source is banned (rl_why_banned), without taking from its rate:
 * for messages that answer the gateway's own (ACK) rather than ask for
 * work. Creates nothing. */
struct verdict rl_ban_check(const struct rl_table *t, const struct rl_key *k, uint64_t now_ms);

/* Before verifying credentials: 403 (rl_why_locked_out) while the key is
 * locked out, otherwise accept. Creates nothing. */
struct verdict rl_auth_check(struct rl_table *t, const struct rl_key *k, uint64_t now_ms);
/* After a failed verification: accept (no lockout yet: challenge again as
 * usual), 403 when this failure starts the lockout (rl_why_lockout_started),
 * or 503 when the key cannot be tracked (table full: without a count the
 * guessing would be unlimited, so refuse). */
struct verdict rl_auth_failure(struct rl_table *t, const struct rl_key *k, uint64_t now_ms);
/* After a successful verification: forget the key's failure count (an active
 * lockout stays). Call it on the user table only: resetting a *source* on
 * success would let an attacker with one valid account interleave good logins
 * with guesses at other users' passwords from the same address. */
void rl_auth_success(struct rl_table *t, const struct rl_key *k, uint64_t now_ms);

/* A new call for a user or trunk: 503 + RL_CALLS_RETRY_AFTER when it already
 * has max_calls (rl_why_calls), 503 + seconds until a token when over the
 * calls-per-second rate (rl_why_cps), 503 when it cannot be tracked;
 * otherwise accept and count the call as live. */
struct verdict rl_call_start(struct rl_table *t, const struct rl_key *k, uint64_t now_ms);
/* A call counted by rl_call_start ended (or failed): one fewer live call,
 * never below zero; unknown keys are ignored. */
void rl_call_end(struct rl_table *t, const struct rl_key *k, uint64_t now_ms);
/* Live calls of the key (0 when untracked). */
uint32_t rl_calls(const struct rl_table *t, const struct rl_key *k);

/* Cluster mode: a ban another node decided, `ms` from now (extends, never
 * shortens, a ban here). Untracked when the table is full of protected
 * entries (the local limits still hold). */
void rl_ban_apply(struct rl_table *t, const struct rl_key *k, uint64_t ms, uint64_t now_ms);
/* Cluster mode: the key's live calls on the other nodes, counted with the
 * local ones against max_calls (not against the calls-per-second rate,
 * which stays per node). */
void rl_remote_calls_set(struct rl_table *t, const struct rl_key *k, uint32_t n, uint64_t now_ms);

/* Cluster mode: a lockout another node started, `ms` from now (extends,
 * never shortens, one here). Untracked when the table is full of protected
 * entries. */
void rl_lockout_apply(struct rl_table *t, const struct rl_key *k, uint64_t ms, uint64_t now_ms);
/* Cluster mode: fn for every key with live calls here or on other nodes
 * (local, remote), most recently seen first. fn must not change the table. */
typedef void rl_count_fn(void *ctx, const struct rl_key *k, uint32_t local, uint32_t remote);
void rl_each_count(const struct rl_table *t, rl_count_fn *fn, void *ctx);

extern const char rl_why_rate[];           /* "request rate limit exceeded" */
extern const char rl_why_ban_started[];    /* "source banned after repeated rate overruns" */
extern const char rl_why_banned[];         /* "source is banned" */
extern const char rl_why_locked_out[];     /* "locked out after failed authentications" */
extern const char rl_why_lockout_started[];/* "too many failed authentications: locked out" */
extern const char rl_why_calls[];          /* "concurrent call limit reached" */
extern const char rl_why_cps[];            /* "call rate limit exceeded" */
extern const char rl_why_table_full[];     /* "rate-limit table full" */

#endif
