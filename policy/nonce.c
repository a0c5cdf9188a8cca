/* Minting and checking stateless digest nonces, and the nonce-count table.
 * Layout of a nonce before base64: minting second (8 bytes, big-endian),
 * the caller's random bytes (8), HMAC-SHA256(secret, time || random || realm)
 * cut to 16 bytes. The MAC makes a nonce unforgeable and ties it to one
 * realm; the time lets it expire without any per-nonce state. */
#include "policy/nonce.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void nonce_tag(const uint8_t *secret, size_t secret_len, const char *realm,
		      const uint8_t *head, uint8_t tag[NONCE_TAG_LEN])
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, secret_len, secret);
	hmac_sha256_update(&ctx, 8 + NONCE_RANDOM_LEN, head);
	hmac_sha256_update(&ctx, strlen(realm), (const uint8_t *)realm);
	hmac_sha256_digest(&ctx, NONCE_TAG_LEN, tag);
	/* The context holds the keyed inner and outer states. */
	explicit_bzero(&ctx, sizeof(ctx));
}

/* Decode, accepting only the spelling nonce_mint writes, since two
 * spellings of one nonce would be two entries in the nonce-count table.
 * nettle skips whitespace and refuses stray padding bits; with the length
 * fixed that leaves one spelling, and encoding again makes it explicit
 * instead of resting on those details of the decoder. */
static bool nonce_decode(const char *nonce, uint8_t raw[NONCE_RAW_LEN])
{
	struct base64_decode_ctx ctx;
	uint8_t buf[BASE64_DECODE_LENGTH(NONCE_TEXT_LEN)];
	char again[NONCE_TEXT_LEN];
	size_t n = sizeof(buf);

	if (!nonce || strnlen(nonce, NONCE_TEXT_LEN + 1) != NONCE_TEXT_LEN)
		return false;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, buf, NONCE_TEXT_LEN, nonce) ||
	    !base64_decode_final(&ctx) || n != NONCE_RAW_LEN)
		return false;
	base64_encode_raw(again, NONCE_RAW_LEN, buf);
	if (memcmp(again, nonce, NONCE_TEXT_LEN) != 0)
		return false;
	memcpy(raw, buf, NONCE_RAW_LEN);
	return true;
}

int nonce_mint(const uint8_t *secret, size_t secret_len, const char *realm, uint64_t now_s,
	       const uint8_t random[NONCE_RANDOM_LEN], char *out, size_t outlen)
{
	uint8_t raw[NONCE_RAW_LEN];

	if (!secret || secret_len < NONCE_SECRET_MIN || !realm || !out || outlen < NONCE_BUF_LEN)
		return -1;
	put_be64(raw, now_s);
	memcpy(raw + 8, random, NONCE_RANDOM_LEN);
	nonce_tag(secret, secret_len, realm, raw, raw + 8 + NONCE_RANDOM_LEN);
	base64_encode_raw(out, NONCE_RAW_LEN, raw);
	out[NONCE_TEXT_LEN] = '\0';
	return 0;
}

enum nonce_status nonce_check(const uint8_t *secret, size_t secret_len, const char *realm,
			      const char *nonce, uint64_t now_s, uint64_t lifetime_s)
{
	uint8_t raw[NONCE_RAW_LEN];
	uint8_t tag[NONCE_TAG_LEN];

	if (!secret || secret_len < NONCE_SECRET_MIN || !realm || !nonce_decode(nonce, raw))
		return NONCE_INVALID;
	nonce_tag(secret, secret_len, realm, raw, tag);
	int same = memeql_sec(tag, raw + 8 + NONCE_RANDOM_LEN, NONCE_TAG_LEN);
	explicit_bzero(tag, sizeof(tag));
	if (!same)
		return NONCE_INVALID;
	uint64_t minted = get_be64(raw);
	if (minted > now_s && minted - now_s > NONCE_FUTURE_SKEW_S)
		return NONCE_INVALID;
	if (now_s > minted && now_s - minted > lifetime_s)
		return NONCE_STALE;
	return NONCE_VALID;
}

/* FNV-1a: the ids are authentic nonces, whose random half an attacker does
 * not choose, so a keyed hash buys nothing here. */
static size_t slot_hash(const struct nonce_counts *t, const uint8_t *id)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < sizeof(((struct nonce_count_slot *)0)->id); i++) {
		h ^= id[i];
		h *= 0x100000001b3ull;
	}
	return (size_t)(h ^ (h >> 32)) & (t->nbuckets - 1);
}

int nonce_counts_init(struct nonce_counts *t, size_t capacity, uint64_t now_s)
{
	memset(t, 0, sizeof(*t));
	if (capacity == 0 || capacity > NONCE_COUNTS_MAX)
		return -1;
	size_t nb = 1;
	while (nb < capacity)
		nb <<= 1;
	t->slots = calloc(capacity, sizeof(*t->slots));
	t->buckets = malloc(nb * sizeof(*t->buckets));
	if (!t->slots || !t->buckets) {
		nonce_counts_free(t);
		return -1;
	}
	for (size_t i = 0; i < nb; i++)
		t->buckets[i] = NONCE_SLOT_NONE;
	t->capacity = capacity;
	t->nbuckets = nb;
	t->watermark_s = now_s ? now_s - 1 : 0; /* minted before init: unknown */
	return 0;
}

void nonce_counts_free(struct nonce_counts *t)
{
	free(t->slots);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static void unlink_slot(struct nonce_counts *t, uint32_t idx)
{
	uint32_t *link = &t->buckets[slot_hash(t, t->slots[idx].id)];
	while (*link != NONCE_SLOT_NONE) {
		if (*link == idx) {
			*link = t->slots[idx].chain;
			return;
		}
		link = &t->slots[*link].chain;
	}
}

enum nc_status nonce_counts_accept(struct nonce_counts *t, const char *nonce, uint32_t nc)
{
	uint8_t raw[NONCE_RAW_LEN];

	if (!t->slots || !nonce_decode(nonce, raw))
		return NC_BAD_NONCE;
	const uint8_t *id = raw;
	size_t idlen = sizeof(t->slots[0].id);
	size_t h = slot_hash(t, id);
	for (uint32_t i = t->buckets[h]; i != NONCE_SLOT_NONE; i = t->slots[i].chain) {
		struct nonce_count_slot *s = &t->slots[i];
		if (memcmp(s->id, id, idlen) == 0) {
			if (nc <= s->nc)
				return NC_REPLAY;
			s->nc = nc;
			return NC_OK;
		}
	}
	if (get_be64(id) <= t->watermark_s)
		return NC_FORGOTTEN;

	uint32_t idx = (uint32_t)t->next;
	if (t->used == t->capacity) {
		uint64_t evicted = get_be64(t->slots[idx].id);
		unlink_slot(t, idx);
		if (evicted > t->watermark_s)
			t->watermark_s = evicted;
	} else {
		t->used++;
	}
	struct nonce_count_slot *s = &t->slots[idx];
	memcpy(s->id, id, idlen);
	s->nc = nc;
	s->chain = t->buckets[h];
	t->buckets[h] = idx;
	t->next = (t->next + 1) % t->capacity;
	return NC_OK;
}
