/* Digest nonces the gateway can check without remembering them, and the
 * bounded table of nonce counts that catches replays. A nonce carries its
 * minting time and the caller's random bytes, sealed with an HMAC under the
 * gateway's secret and bound to the realm, so any gateway holding the secret
 * can tell its own fresh nonces from expired or forged ones. Pure code: the
 * time and the random bytes come in as arguments. */
#ifndef PC_POLICY_NONCE_H
#define PC_POLICY_NONCE_H

#include <stddef.h>
#include <stdint.h>

#define NONCE_RANDOM_LEN 8
#define NONCE_TAG_LEN 16 /* HMAC-SHA256 truncated */
#define NONCE_RAW_LEN (8 + NONCE_RANDOM_LEN + NONCE_TAG_LEN)
#define NONCE_TEXT_LEN 44 /* base64 of the 32 raw bytes, one '=' of padding */
#define NONCE_BUF_LEN (NONCE_TEXT_LEN + 1)
/* A shorter secret is a configuration mistake, not a choice: refused. */
#define NONCE_SECRET_MIN 16
/* How far in the future a nonce may claim to be minted: room for a clock
 * stepped back a little, or for peers sharing the secret whose clocks differ. */
#define NONCE_FUTURE_SKEW_S 5

enum nonce_status {
	NONCE_VALID = 0,
	NONCE_STALE,   /* ours and intact, older than the lifetime */
	NONCE_INVALID, /* not ours: encoding, MAC, realm, or minted in the future */
};

/* Writes the nonce (NONCE_TEXT_LEN characters and a NUL) into out. The text
 * uses the base64 alphabet (A-Z a-z 0-9 + / =), safe inside a quoted string.
 * 0, or -1 when the secret is shorter than NONCE_SECRET_MIN or out too small. */
int nonce_mint(const uint8_t *secret, size_t secret_len, const char *realm, uint64_t now_s,
	       const uint8_t random[NONCE_RANDOM_LEN], char *out, size_t outlen);

/* Only the canonical encoding nonce_mint produces is accepted, so one nonce
 * has exactly one spelling (the nonce-count table keys on it). The MAC is
 * compared in constant time. A nonce is stale once now_s - minted > lifetime_s. */
enum nonce_status nonce_check(const uint8_t *secret, size_t secret_len, const char *realm,
			      const char *nonce, uint64_t now_s, uint64_t lifetime_s);

/* Highest nonce count accepted per nonce, in a table whose memory is
 * allocated once at init. Only nonces that passed nonce_check and whose
 * response verified are recorded (a wrong response must not burn counts a
 * genuine client still needs).
 *
 * When the table is full the entry recorded first is evicted. A forgotten
 * nonce cannot be told from a new one, so the table keeps a watermark: the
 * newest minting second of any entry it evicted. A nonce that is not in the
 * table and was minted at or before the watermark may have been used before;
 * it is answered NC_FORGOTTEN, which the caller treats as stale (the client
 * re-authenticates with a fresh nonce, no user interaction). The watermark
 * starts just before the second of init, so nonces minted before this
 * table existed (an earlier run of the gateway with the same secret)
 * cannot be replayed either, while those minted in the second the gateway
 * started are usable. Size the table above the number of nonces that are used within
 * one nonce lifetime, or clients see extra stale challenges. */
struct nonce_count_slot {
	uint8_t id[8 + NONCE_RANDOM_LEN]; /* minting time and random bytes name the nonce */
	uint32_t nc;
	uint32_t chain; /* next slot in the same hash bucket, or NONCE_SLOT_NONE */
};

#define NONCE_SLOT_NONE UINT32_MAX
#define NONCE_COUNTS_MAX (1u << 24)

struct nonce_counts {
	struct nonce_count_slot *slots; /* a ring in insertion order */
	uint32_t *buckets;
	size_t capacity;
	size_t nbuckets; /* a power of two */
	size_t used;
	size_t next; /* the slot written next: the oldest once the ring is full */
	uint64_t watermark_s;
};

enum nc_status {
	NC_OK = 0,    /* greater than any count seen for this nonce; now recorded */
	NC_REPLAY,    /* not greater than the count recorded */
	NC_FORGOTTEN, /* not in the table and possibly evicted from it: treat as stale */
	NC_BAD_NONCE, /* not a canonical nonce (nonce_check should have said so) */
};

/* 0, or -1 when capacity is 0 or above NONCE_COUNTS_MAX, or memory is short. */
int nonce_counts_init(struct nonce_counts *t, size_t capacity, uint64_t now_s);
void nonce_counts_free(struct nonce_counts *t);
/* Check nc for the nonce and record it when it is accepted. */
enum nc_status nonce_counts_accept(struct nonce_counts *t, const char *nonce, uint32_t nc);

#endif
