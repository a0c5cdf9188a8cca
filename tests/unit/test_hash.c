/* Hash flooding: core/hash.h's keyed table and every table it indexes that
 * network input fills (transactions by branch, registrar users by name,
 * rate-limit entries by name) must keep short chains even for keys built to
 * collide. The test builds 100,000 keys that all share the low 16 bits of
 * their FNV-1a hash, the unkeyed hash those tables used before, proves that
 * they would all have fallen into one bucket of the old transaction table,
 * and asserts that no chain of the keyed tables grows past MAX_CHAIN. A
 * table is flooded through two callbacks (struct flood_target), so adding
 * another index (the call layer's Call-ID index) is one more target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2bua/call.h"
#include "core/hash.h"
#include "policy/ratelimit.h"
#include "registrar/registrar.h"
#include "transaction/table.h"

#define NKEYS 100000
#define STEPS 17 /* 2^17 = 131072 >= NKEYS colliding keys */
#define BLOCK 3  /* bytes per step: keys stay under RL_NAME_MAX */
#define LOW_BITS 16
#define LOW_MASK ((1u << LOW_BITS) - 1)
/* Random hashing puts 100,000 keys in 65,536 chains at most ~10 deep with
 * overwhelming probability; a crafted flood, unkeyed, makes one of 100,000. */
#define MAX_CHAIN 16

/* Lower case and digits only, so keys are valid branch tokens whose case
 * folding changes nothing, and valid user names. Every key starts with the
 * branch magic cookie, folded (the old table hashed branches folded). */
static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char prefix[] = "z9hg4bk";
#define KEY_LEN (sizeof(prefix) - 1 + STEPS * BLOCK)

static char (*keys)[KEY_LEN + 1];

/* ---- FNV-1a, the old unkeyed hash ---- */

#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv1a_step(uint32_t h, const char *s, size_t n, bool fold)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (fold && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * FNV_PRIME;
	}
	return h;
}

static uint32_t fnv1a(const char *s, bool fold)
{
	return fnv1a_step(FNV_BASIS, s, strlen(s), fold);
}

/* ---- the colliding keys ----
 * Multiplication and xor modulo 2^32 carry only upwards, so the low 16 bits
 * of the FNV-1a state after a byte depend only on the low 16 bits before it.
 * For each step a birthday search finds two different blocks that take the
 * same low-16-bit state to the same next state; picking one of the two at
 * each of 17 steps gives 2^17 different keys with one low-16-bit hash. */

static void block_text(unsigned index, char out[BLOCK])
{
	for (unsigned i = 0; i < BLOCK; i++) {
		out[i] = alphabet[index % (sizeof(alphabet) - 1)];
		index /= sizeof(alphabet) - 1;
	}
}

/* Two blocks taking low state `from` to one low state, which *to receives. */
static void find_pair(uint32_t from, char a[BLOCK], char b[BLOCK], uint32_t *to)
{
	static int32_t seen[1u << LOW_BITS];
	unsigned nblocks = 1;
	for (unsigned i = 0; i < BLOCK; i++)
		nblocks *= sizeof(alphabet) - 1;
	memset(seen, 0xff, sizeof(seen));
	for (unsigned i = 0; i < nblocks; i++) {
		char t[BLOCK];
		block_text(i, t);
		uint32_t out = fnv1a_step(from, t, BLOCK, false) & LOW_MASK;
		if (seen[out] >= 0) {
			block_text((unsigned)seen[out], a);
			memcpy(b, t, BLOCK);
			*to = out;
			return;
		}
		seen[out] = (int32_t)i;
	}
	fail_msg("no FNV-1a collision among %u blocks", nblocks);
}

static int make_keys(void **state)
{
	char choice[STEPS][2][BLOCK];
	uint32_t low = fnv1a(prefix, false) & LOW_MASK;
	for (unsigned s = 0; s < STEPS; s++)
		find_pair(low, choice[s][0], choice[s][1], &low);
	keys = calloc(NKEYS, sizeof(*keys));
	if (keys == NULL)
		return -1;
	for (unsigned k = 0; k < NKEYS; k++) {
		char *p = keys[k];
		memcpy(p, prefix, sizeof(prefix) - 1);
		p += sizeof(prefix) - 1;
		for (unsigned s = 0; s < STEPS; s++, p += BLOCK)
			memcpy(p, choice[s][(k >> s) & 1], BLOCK);
		*p = '\0';
	}
	return 0;
}

static int free_keys(void **state)
{
	free(keys);
	keys = NULL;
	return 0;
}

/* The keys are an attack: distinct, and one chain under the old hashing. */
static void test_keys_collide_under_fnv1a(void **state)
{
	uint32_t low = fnv1a(keys[0], false) & LOW_MASK;
	for (unsigned k = 0; k < NKEYS; k++) {
		assert_int_equal(strlen(keys[k]), KEY_LEN);
		assert_int_equal(fnv1a(keys[k], false) & LOW_MASK, low);
		if (k > 0)
			assert_true(strcmp(keys[k], keys[k - 1]) != 0); /* bit patterns differ */
	}
	/* The old transaction table at a ceiling of NKEYS: n buckets, n the power
	 * of two >= ceiling / 2, slot = FNV-1a of the folded branch & (n - 1). */
	unsigned n = 16;
	while (n < NKEYS / 2 && n < (1u << 20))
		n <<= 1;
	assert_true(n - 1 <= LOW_MASK);
	char branch[KEY_LEN + 1];
	unsigned first = 0;
	for (unsigned k = 0; k < NKEYS; k++) {
		snprintf(branch, sizeof(branch), "z9hG4bK%s", keys[k] + sizeof(prefix) - 1);
		unsigned slot = fnv1a(branch, true) & (n - 1);
		if (k == 0)
			first = slot;
		assert_int_equal(slot, first); /* one chain of NKEYS: every lookup a walk */
	}
	print_message("FNV-1a: all %d keys in bucket %u of %u; keyed tables below\n", NKEYS, first,
		      n);
}

/* ---- flooding a table through callbacks ---- */

struct flood_target {
	const char *name;
	void *ctx;
	/* Inserts keys[i]; false when the table refused it. */
	bool (*insert)(void *ctx, const char *key, unsigned i);
	size_t (*max_chain)(void *ctx);
};

static void flood(const struct flood_target *t)
{
	for (unsigned i = 0; i < NKEYS; i++)
		if (!t->insert(t->ctx, keys[i], i))
			fail_msg("%s refused key %u", t->name, i);
	size_t longest = t->max_chain(t->ctx);
	print_message("%s: longest chain %zu after %d crafted keys\n", t->name, longest, NKEYS);
	assert_true(longest <= MAX_CHAIN);
}

/* core/hash.h itself, with the process key and 65,536 chains. */
struct node {
	struct pc_hlink link;
	const char *key;
};

struct core_ctx {
	struct pc_htab t;
	struct node *nodes;
};

static bool core_insert(void *ctx, const char *key, unsigned i)
{
	struct core_ctx *c = ctx;
	c->nodes[i].key = key;
	pc_htab_insert(&c->t, &c->nodes[i].link, pc_htab_hash_str(&c->t, key));
	return true;
}

static size_t core_max_chain(void *ctx)
{
	return pc_htab_max_chain(&((struct core_ctx *)ctx)->t);
}

static struct node *core_find(struct core_ctx *c, const char *key)
{
	uint64_t h = pc_htab_hash_str(&c->t, key);
	for (struct pc_hlink *l = pc_htab_first(&c->t, h); l; l = pc_htab_next(l)) {
		struct node *n = pc_container_of(l, struct node, link);
		if (strcmp(n->key, key) == 0)
			return n;
	}
	return NULL;
}

static void test_flood_core(void **state)
{
	struct core_ctx c;
	assert_int_equal(pc_htab_init(&c.t, 1u << LOW_BITS, NULL), 0);
	assert_int_equal(pc_htab_buckets(&c.t), 1u << LOW_BITS);
	c.nodes = calloc(NKEYS, sizeof(*c.nodes));
	assert_non_null(c.nodes);
	flood(&(struct flood_target){ "core table", &c, core_insert, core_max_chain });
	for (unsigned i = 0; i < NKEYS; i++)
		assert_ptr_equal(core_find(&c, keys[i]), &c.nodes[i]);
	for (unsigned i = 0; i < NKEYS; i += 2)
		pc_htab_remove(&c.nodes[i].link);
	for (unsigned i = 0; i < NKEYS; i++)
		assert_ptr_equal(core_find(&c, keys[i]), i % 2 ? &c.nodes[i] : NULL);
	pc_htab_fini(&c.t);
	free(c.nodes);
}

/* Transactions by branch: what table.c sees of a request. */
struct txn_item {
	struct txn_entry e;
	sip_t sip;
	sip_via_t via;
	char branch[KEY_LEN + 1];
};

static sip_cseq_t invite_cseq = { .cs_method = sip_method_invite, .cs_method_name = "INVITE" };

struct txn_ctx {
	struct txn_table tb;
	struct txn_item *items;
};

static bool txn_insert(void *ctx, const char *key, unsigned i)
{
	struct txn_ctx *c = ctx;
	struct txn_item *it = &c->items[i];
	/* The branch as sent, with the cookie in its proper case. */
	snprintf(it->branch, sizeof(it->branch), "z9hG4bK%s", key + sizeof(prefix) - 1);
	it->via.v_branch = it->branch;
	it->sip.sip_via = &it->via;
	it->sip.sip_cseq = &invite_cseq;
	it->e.req = &it->sip;
	txn_table_insert(&c->tb, &it->e);
	return true;
}

static size_t txn_max_chain(void *ctx)
{
	return txn_table_max_chain(&((struct txn_ctx *)ctx)->tb);
}

static void test_flood_transactions(void **state)
{
	struct txn_ctx c;
	/* The ceiling of test_keys_collide_under_fnv1a: 65,536 chains. */
	assert_int_equal(txn_table_init(&c.tb, NKEYS), 0);
	c.items = calloc(NKEYS, sizeof(*c.items));
	assert_non_null(c.items);
	flood(&(struct flood_target){ "transaction table", &c, txn_insert, txn_max_chain });
	/* Responses still find their client transactions, the branch after the
	 * (case-sensitive) cookie compared without regard to case. */
	for (unsigned i = 0; i < NKEYS; i += 9973) {
		char upper[KEY_LEN + 1];
		snprintf(upper, sizeof(upper), "%s", c.items[i].branch);
		for (char *p = upper + sizeof(prefix) - 1; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		sip_via_t via = { .v_branch = upper };
		sip_t resp = { .sip_via = &via, .sip_cseq = &invite_cseq };
		assert_ptr_equal(txn_table_find_client(&c.tb, &resp), &c.items[i].e);
	}
	for (unsigned i = 0; i < NKEYS; i++)
		txn_table_remove(&c.tb, &c.items[i].e);
	assert_int_equal(txn_table_max_chain(&c.tb), 0);
	txn_table_fini(&c.tb);
	free(c.items);
}

/* Registrar users by name (the bindings as a store would restore them). */
static bool reg_insert(void *ctx, const char *key, unsigned i)
{
	struct reg_binding b;
	memset(&b, 0, sizeof(b));
	snprintf(b.contact, sizeof(b.contact), "sip:%u@192.0.2.1", i);
	snprintf(b.call_id, sizeof(b.call_id), "c%u", i);
	b.expires_at = 2000;
	return registrar_restore(ctx, key, &b, 1000) == 0;
}

static size_t reg_max_chain(void *ctx)
{
	return registrar_max_chain(ctx);
}

static void test_flood_registrar(void **state)
{
	struct reg_limits lim = { .max_users = NKEYS, .max_per_user = 1, .min_expires = 60,
				  .max_expires = 3600, .default_expires = 600 };
	struct registrar *r = registrar_new(&lim);
	assert_non_null(r);
	flood(&(struct flood_target){ "registrar", r, reg_insert, reg_max_chain });
	const struct reg_binding *out[1];
	assert_int_equal(registrar_lookup(r, keys[NKEYS - 1], 1000, out, 1), 1);
	assert_int_equal(registrar_binding_count(r), NKEYS);
	registrar_free(r);
}

/* Rate-limit entries by name (a user or trunk; sources hash the same way). */
static bool rl_insert(void *ctx, const char *key, unsigned i)
{
	struct rl_key k;
	if (rl_key_name(&k, key) < 0)
		return false;
	return rl_request(ctx, &k, 1000).kind == VERDICT_ACCEPT && rl_table_has(ctx, &k);
}

static size_t rl_max_chain(void *ctx)
{
	return rl_table_max_chain(ctx);
}

static void test_flood_ratelimit(void **state)
{
	static const uint8_t seed[16] = "portcullis-seed";
	struct rl_config cfg = { 0 }; /* no limits: every key gets an entry */
	struct rl_table t;
	assert_int_equal(rl_table_init(&t, &cfg, NKEYS, seed), 0);
	flood(&(struct flood_target){ "rate-limit table", &t, rl_insert, rl_max_chain });
	assert_int_equal(rl_table_count(&t), NKEYS);
	rl_table_fini(&t);
}

/* ---- the table's own contract (its SipHash reference vectors are checked
 * through rl_siphash24 in test_policy_admit.c) ---- */

static void test_table_contract(void **state)
{
	struct pc_htab t;
	struct node a = { .key = "Alpha" }, b = { .key = "alpha" };
	assert_int_equal(pc_htab_init(&t, 0, NULL), 0);
	assert_int_equal(pc_htab_buckets(&t), 1);
	assert_int_equal(pc_htab_hash_str_nocase(&t, "AlPhA"), pc_htab_hash_str(&t, "alpha"));
	assert_int_equal(pc_htab_hash_str(&t, "alpha"), pc_htab_hash(&t, "alpha", 5));
	assert_false(pc_hlink_linked(&a.link));
	uint64_t h = pc_htab_hash_str_nocase(&t, a.key);
	pc_htab_insert(&t, &a.link, h);
	pc_htab_insert(&t, &b.link, pc_htab_hash_str_nocase(&t, b.key));
	assert_true(pc_hlink_linked(&a.link));
	/* Both under one hash: first and next walk exactly those. */
	struct pc_hlink *l = pc_htab_first(&t, h);
	assert_ptr_equal(l, &b.link);
	assert_ptr_equal(pc_htab_next(l), &a.link);
	assert_null(pc_htab_next(&a.link));
	assert_null(pc_htab_first(&t, h + 1));
	assert_int_equal(pc_htab_max_chain(&t), 2);
	pc_htab_remove(&b.link);
	pc_htab_remove(&b.link); /* unlinked: nothing */
	assert_ptr_equal(pc_htab_first(&t, h), &a.link);
	pc_htab_remove(&a.link);
	assert_null(pc_htab_chain(&t, 0));
	pc_htab_fini(&t);
	assert_int_equal(pc_htab_init(&t, PC_HTAB_MAX_BUCKETS + 1, NULL), -1);
	pc_htab_fini(&t);
}

/* The B2BUA's dialog index by Call-ID: leg A's Call-ID is the caller's. */
struct call_ctx {
	struct b2bua b;
	struct leg *legs;
	struct call call;
};

static bool call_insert(void *ctx, const char *key, unsigned i)
{
	struct call_ctx *c = ctx;
	struct leg *l = &c->legs[i];
	snprintf(l->call_id, sizeof(l->call_id), "%s", key);
	snprintf(l->local_tag, sizeof(l->local_tag), "t%u", i);
	l->call = &c->call;
	call_index_add(&c->b, l);
	return true;
}

static size_t call_max_chain(void *ctx)
{
	return call_index_max_chain(&((struct call_ctx *)ctx)->b);
}

static void test_flood_call_index(void **state)
{
	struct call_ctx c;
	memset(&c, 0, sizeof(c));
	c.call.state = CALL_CONFIRMED;
	c.legs = calloc(NKEYS, sizeof(*c.legs));
	assert_non_null(c.legs);
	assert_int_equal(call_index_init(&c.b, 2 * NKEYS + 1), 0);
	flood(&(struct flood_target){ "call index", &c, call_insert, call_max_chain });
	char tag[16];
	snprintf(tag, sizeof(tag), "t%u", NKEYS - 1);
	int side = -1;
	assert_ptr_equal(call_index_find(&c.b, keys[NKEYS - 1], tag, &side), &c.call);
	call_index_remove(&c.b, &c.legs[NKEYS - 1]);
	assert_null(call_index_find(&c.b, keys[NKEYS - 1], tag, &side));
	call_index_free(&c.b);
	free(c.legs);
}

/* Two keys place entries differently: without the key, nobody can aim. */
static void test_key_moves_entries(void **state)
{
	static const uint8_t k1[16] = "0123456789abcdef", k2[16] = "fedcba9876543210";
	struct pc_htab x, y;
	assert_int_equal(pc_htab_init(&x, 1024, k1), 0);
	assert_int_equal(pc_htab_init(&y, 1024, k2), 0);
	unsigned moved = 0;
	for (unsigned i = 0; i < 64; i++) {
		uint64_t hx = pc_htab_hash_str(&x, keys[i]), hy = pc_htab_hash_str(&y, keys[i]);
		moved += pc_htab_slot(&x, hx) != pc_htab_slot(&y, hy);
	}
	assert_true(moved > 32);
	pc_htab_fini(&x);
	pc_htab_fini(&y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_contract),
		cmocka_unit_test(test_key_moves_entries),
		cmocka_unit_test(test_keys_collide_under_fnv1a),
		cmocka_unit_test(test_flood_core),
		cmocka_unit_test(test_flood_transactions),
		cmocka_unit_test(test_flood_registrar),
		cmocka_unit_test(test_flood_ratelimit),
		cmocka_unit_test(test_flood_call_index),
	};
	return cmocka_run_group_tests(tests, make_keys, free_keys);
}
