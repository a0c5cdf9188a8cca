/* The key holder's request protocol, shared by both ends. One request or
 * reply is one SOCK_SEQPACKET message: a fixed header and at most
 * KH_MAX_INPUT/KH_MAX_OUTPUT bytes of data. A request names an operation
 * from a fixed table and a key by its index in kh_key_paths(); the holder
 * checks every field against that table and the key's allowed operations,
 * and a reply carries only the operation's result (a signature or a
 * decrypted premaster secret), never key bytes. A signing key for another
 * purpose (the STI key of RFC 8224 Identity) is one more entry in
 * kh_key_paths, whose use says what it allows; a new operation is one more row of the table in
 * holder.c. The digest operations use no key (key, algo and flags are 0):
 * their data is a fixed-size structure, and the holder answers with a status
 * (and a nonce for KH_OP_NONCE_MINT), never an HA1 or the nonce secret. */
#ifndef PC_KEYHOLDER_PROTO_H
#define PC_KEYHOLDER_PROTO_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "policy/digest.h"

/* Data sizes: the largest TLS input is a TLS 1.2 ServerKeyExchange to be
 * signed (two randoms and an ECDHE/DHE share, well under 1 KiB) or an
 * RSA-8192 ciphertext (1 KiB); the largest output an RSA-8192 signature. */
#define KH_MAX_INPUT 2048
#define KH_MAX_OUTPUT 2048
#define KH_MAX_KEYS (CFG_MAX_LISTENERS + CFG_MAX_PEERS + 3) /* TLS keys (and the http listener's), the STI and legacy keys */
#define KH_STI_HASH_LEN 32 /* SHA-256 of a PASSporT's signing input */

enum kh_op {
	KH_OP_READY = 0,     /* holder -> network process, once, after loading keys */
	KH_OP_SIGN_DATA = 1, /* hash and sign `data` with `algo` */
	KH_OP_SIGN_HASH = 2, /* sign an already computed hash with `algo` */
	KH_OP_DECRYPT = 3,   /* RSA decryption (static RSA key exchange) */
	KH_OP_DIGEST_ANSWER = 4, /* struct digest_question -> enum digest_answer */
	KH_OP_NONCE_MINT = 5,    /* struct kh_nonce_request -> the nonce text */
	KH_OP_NONCE_CHECK = 6,   /* struct kh_nonce_request -> enum nonce_status */
	/* Reloading the user store (struct kh_users_request each, index 0 but
	 * for VIEW): LOAD re-reads the store into a pending copy (status 0, data
	 * the user count as uint32_t; or KH_USERS_REFUSED, data the parse error
	 * "file:line: why"); VIEW answers the pending users from `index` on as
	 * users_public_line() text (status the number of users in the page, at
	 * least one while any is left); COMMIT makes the pending copy the one
	 * digest-answer uses and frees the old; DROP frees the pending copy.
	 * Nothing a request names is secret and no reply carries an HA1. */
	KH_OP_USERS_LOAD = 7,
	KH_OP_USERS_VIEW = 8,
	KH_OP_USERS_COMMIT = 9,
	KH_OP_USERS_DROP = 10,
	KH_OP__COUNT
};

/* Data of the nonce operations. The holder mints and checks only for the
 * configured realm; the random bytes come from the network process (a
 * nonce's randomness is public, only the MAC needs the secret). */
struct kh_nonce_request {
	uint64_t now_s;
	uint64_t lifetime_s; /* KH_OP_NONCE_CHECK */
	uint8_t random[NONCE_RANDOM_LEN]; /* KH_OP_NONCE_MINT */
	char realm[USERS_REALM_MAX + 1];
	char nonce[DIGEST_NONCE_MAX + 1]; /* KH_OP_NONCE_CHECK */
};

/* Data of the user store operations: nothing but a position. */
struct kh_users_request {
	uint32_t index; /* KH_OP_USERS_VIEW: the first user of the page */
	uint32_t zero;  /* 0: room for a flag without changing the size */
};
#define KH_USERS_REFUSED 1 /* KH_OP_USERS_LOAD's status for a store that did not load */

struct kh_request {
	uint32_t seq;   /* echoed in the reply */
	uint16_t op;    /* enum kh_op */
	uint16_t key;   /* index into kh_key_paths() */
	uint32_t algo;  /* gnutls_sign_algorithm_t for the sign operations, else 0 */
	uint32_t flags; /* GnuTLS sign flags the table allows */
	uint32_t len;   /* bytes of data */
	uint8_t data[KH_MAX_INPUT];
};

struct kh_reply {
	uint32_t seq;
	int32_t status; /* 0 or a GnuTLS error code; a digest operation's answer (>= 0) */
	uint32_t len;
	uint8_t data[KH_MAX_OUTPUT];
};

#define KH_REQUEST_HEADER offsetof(struct kh_request, data)
#define KH_REPLY_HEADER offsetof(struct kh_reply, data)

/* What a held key is for, and so what the holder lets it do: a TLS key
 * signs what a handshake needs (and an RSA one decrypts); the STI key of
 * RFC 8224 signs only a SHA-256 hash with ECDSA P-256; the legacy RFC 4474
 * key only a SHA-256 (or, where configured, SHA-1) hash with RSA PKCS#1. */
enum kh_key_use { KH_USE_TLS, KH_USE_STI, KH_USE_LEGACY };

/* The private-key files the configuration names: the distinct TLS keys
 * (listeners, then peers), then the STI key when a leg signs, then the
 * legacy key when a peer speaks RFC 4474 (each its own entry even when
 * the file is also a TLS key's, so its restrictions hold). The order is
 * fixed, and both processes compute it from the same configuration: a
 * key's index is its position. Returns the count. */
unsigned kh_key_paths(const struct gateway_config *cfg, const char *paths[KH_MAX_KEYS],
		      enum kh_key_use uses[KH_MAX_KEYS]);

/* Whether the configuration uses digest authentication: then the holder
 * loads the user store, draws the nonce secret and answers the digest
 * operations. */
bool kh_digest_wanted(const struct gateway_config *cfg);

/* Whether a leg authenticates users (digest or certificates): then the
 * holder reads the user store, re-reads it on KH_OP_USERS_LOAD, and the
 * network process builds its view of it from the holder's answers. */
bool kh_users_wanted(const struct gateway_config *cfg);

/* The network process's end: sends req (len bytes of data) and waits for
 * the reply with its sequence number. 0 with rep filled, -1 (logged) when
 * the holder did not answer. Counted (keyholder_requests, _wait_us,
 * _failures). */
int kh_exchange(struct kh_request *req, struct kh_reply *rep);

/* One private-key request and its reply (client.c): the result goes to
 * `out` (gnutls_malloc'd, as GnuTLS frees it). 0 or a GnuTLS error. */
int kh_roundtrip(enum kh_op op, uint16_t key, uint32_t algo, uint32_t flags, const gnutls_datum_t *in,
		 gnutls_datum_t *out);
/* The index of the held key for `use` other than TLS, -1 when none. */
int kh_key_index(enum kh_key_use use);

/* The holder's life after fork (holder.c); never returns. `parent` is the
 * network process, `fd` the holder's end of the socketpair. */
struct sandbox_user;
void keyholder_child_main(int fd, pid_t parent, const struct gateway_config *cfg,
			  const struct sandbox_user *user) __attribute__((noreturn));

#endif
