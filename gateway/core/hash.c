/* The keyed chained hash table of hash.h and its hash, SipHash-2-4 as the
 * reference describes it (one implementation for the whole gateway; the
 * reference vectors are checked through rl_siphash24 in
 * tests/unit/test_policy_admit.c). Chains are doubly linked through pprev so an owner removes an
 * entry in O(1) without knowing its table. */
#include "hash.h"

#include <stdlib.h>
#include <string.h>

#include "random.h"

static uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* Byte i of the message, folded to lower case when asked. */
static uint8_t byte_at(const uint8_t *in, size_t i, bool fold)
{
	uint8_t c = in[i];
	return fold && c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

static uint64_t le64(const uint8_t *p, bool fold)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)byte_at(p, i, fold) << (8 * i);
	return v;
}

#define SIPROUND                                                                   \
	do {                                                                       \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);         \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                            \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                            \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);         \
	} while (0)

static uint64_t siphash(uint64_t k0, uint64_t k1, const uint8_t *in, size_t len, bool fold)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	size_t whole = len - len % 8;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = le64(in + i, fold);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t)byte_at(in, whole + i, fold) << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t pc_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	return siphash(le64(key, false), le64(key + 8, false), data, len, false);
}

/* Drawn once for the life of the process: entries of one table must keep
 * their chains, and a key per process is what an attacker cannot learn
 * from outside. */
static uint8_t process_key[16];
static bool process_key_ready;

int pc_htab_init(struct pc_htab *t, size_t buckets, const uint8_t key[16])
{
	memset(t, 0, sizeof(*t));
	if (buckets > PC_HTAB_MAX_BUCKETS)
		return -1;
	if (key == NULL) {
		if (!process_key_ready) {
			if (pc_random_bytes(process_key, sizeof(process_key)) < 0)
				return -1;
			process_key_ready = true;
		}
		key = process_key;
	}
	size_t n = 1;
	while (n < buckets)
		n <<= 1;
	t->heads = calloc(n, sizeof(*t->heads));
	if (t->heads == NULL)
		return -1;
	t->mask = n - 1;
	t->k0 = le64(key, false);
	t->k1 = le64(key + 8, false);
	return 0;
}

void pc_htab_fini(struct pc_htab *t)
{
	free(t->heads);
	memset(t, 0, sizeof(*t));
}

uint64_t pc_htab_hash(const struct pc_htab *t, const void *data, size_t len)
{
	return siphash(t->k0, t->k1, data, len, false);
}

uint64_t pc_htab_hash_str(const struct pc_htab *t, const char *s)
{
	return siphash(t->k0, t->k1, (const uint8_t *)s, strlen(s), false);
}

uint64_t pc_htab_hash_str_nocase(const struct pc_htab *t, const char *s)
{
	return siphash(t->k0, t->k1, (const uint8_t *)s, strlen(s), true);
}

size_t pc_htab_slot(const struct pc_htab *t, uint64_t hash)
{
	return (size_t)(hash & t->mask);
}

void pc_htab_insert(struct pc_htab *t, struct pc_hlink *l, uint64_t hash)
{
	struct pc_hlink **head = &t->heads[pc_htab_slot(t, hash)];
	l->hash = hash;
	l->next = *head;
	if (*head)
		(*head)->pprev = &l->next;
	l->pprev = head;
	*head = l;
}

void pc_htab_remove(struct pc_hlink *l)
{
	if (l->pprev == NULL)
		return;
	*l->pprev = l->next;
	if (l->next)
		l->next->pprev = l->pprev;
	l->next = NULL;
	l->pprev = NULL;
}

static struct pc_hlink *same_hash(struct pc_hlink *l, uint64_t hash)
{
	while (l && l->hash != hash)
		l = l->next;
	return l;
}

struct pc_hlink *pc_htab_first(const struct pc_htab *t, uint64_t hash)
{
	return t->heads ? same_hash(t->heads[pc_htab_slot(t, hash)], hash) : NULL;
}

struct pc_hlink *pc_htab_next(const struct pc_hlink *l)
{
	return same_hash(l->next, l->hash);
}

size_t pc_htab_buckets(const struct pc_htab *t)
{
	return t->heads ? t->mask + 1 : 0;
}

struct pc_hlink *pc_htab_chain(const struct pc_htab *t, size_t i)
{
	return t->heads[i];
}

size_t pc_htab_max_chain(const struct pc_htab *t)
{
	size_t longest = 0;
	for (size_t i = 0; i < pc_htab_buckets(t); i++) {
		size_t n = 0;
		for (const struct pc_hlink *l = t->heads[i]; l; l = l->next)
			n++;
		if (n > longest)
			longest = n;
	}
	return longest;
}
