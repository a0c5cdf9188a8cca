/* The gateway's one hash table: chained, intrusive, sized once, keyed with
 * SipHash-2-4 under a secret random key. Keyed, because the tables that
 * matter are indexed by strings a peer chooses (Call-ID, Via branch, user
 * name, source address): with an unkeyed hash (FNV-1a) anyone can compute
 * thousands of keys that land in one chain and turn every lookup into a walk
 * of all of them; without the key they cannot aim.
 *
 * The table never allocates per entry and never grows: the owner embeds a
 * struct pc_hlink in each object, bounds the number of objects itself, and
 * picks the bucket count once at init. It knows hashes, not keys: the owner
 * hashes its key (pc_htab_hash*), walks the entries with that hash
 * (pc_htab_first/next) and compares keys itself, so one table serves exact,
 * case-blind and multi-field keys alike.
 *
 *   uint64_t h = pc_htab_hash_str(&t, call_id);
 *   for (struct pc_hlink *l = pc_htab_first(&t, h); l; l = pc_htab_next(l)) {
 *           struct leg *leg = pc_container_of(l, struct leg, hnext);
 *           if (strcmp(leg->call_id, call_id) == 0) return leg;
 *   }
 */
#ifndef PC_CORE_HASH_H
#define PC_CORE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The object holding member `member` at address ptr. */
#define pc_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Embedded in each object the table links; zeroed = not in a table. */
struct pc_hlink {
	struct pc_hlink *next;
	struct pc_hlink **pprev; /* the pointer that points at us; NULL = unlinked */
	uint64_t hash;
};

struct pc_htab {
	struct pc_hlink **heads;
	size_t mask;    /* buckets - 1, a power of two */
	uint64_t k0, k1; /* the SipHash key */
};

#define PC_HTAB_MAX_BUCKETS ((size_t)1 << 26)

/* SipHash-2-4 (Aumasson and Bernstein) of data under a 16-byte key. */
uint64_t pc_siphash24(const uint8_t key[16], const void *data, size_t len);

/* An empty table of at least `buckets` chains (rounded up to a power of
 * two, at least 1), keyed with `key`, or with the process key when key is
 * NULL (16 random bytes drawn once, on first use). A caller passes its own
 * key when it must stay free of randomness (policy/) or to test that the
 * key moves entries. 0, or -1 when buckets exceeds PC_HTAB_MAX_BUCKETS, the
 * allocation fails or no random key can be drawn; pc_htab_fini is then
 * still safe. */
int pc_htab_init(struct pc_htab *t, size_t buckets, const uint8_t key[16]);
/* Frees the chain heads; the linked objects are the owner's. */
void pc_htab_fini(struct pc_htab *t);

/* The table's hash of a key: bytes, a C string, or a C string with ASCII
 * letters folded to lower case (for keys compared without regard to case,
 * such as a Via branch), without copying it. */
uint64_t pc_htab_hash(const struct pc_htab *t, const void *data, size_t len);
uint64_t pc_htab_hash_str(const struct pc_htab *t, const char *s);
uint64_t pc_htab_hash_str_nocase(const struct pc_htab *t, const char *s);

/* Links l (not in any table) under hash; O(1). */
void pc_htab_insert(struct pc_htab *t, struct pc_hlink *l, uint64_t hash);
/* Unlinks l from its table in O(1); nothing when it is not linked. */
void pc_htab_remove(struct pc_hlink *l);
static inline bool pc_hlink_linked(const struct pc_hlink *l) { return l->pprev != NULL; }

/* The first linked entry with exactly this hash, then the next one: the
 * candidates whose keys the owner compares. NULL at the end. */
struct pc_hlink *pc_htab_first(const struct pc_htab *t, uint64_t hash);
struct pc_hlink *pc_htab_next(const struct pc_hlink *l);

/* Every entry, chain by chain, for sweeps: the chain count and the head of
 * chain i (follow ->next; save it before removing the entry). */
size_t pc_htab_buckets(const struct pc_htab *t);
struct pc_hlink *pc_htab_chain(const struct pc_htab *t, size_t i);
/* The chain a hash falls in (tests: the key moves entries between chains). */
size_t pc_htab_slot(const struct pc_htab *t, uint64_t hash);
/* The length of the longest chain: O(entries + buckets), for tests and
 * diagnostics, never on a hot path. */
size_t pc_htab_max_chain(const struct pc_htab *t);

#endif
