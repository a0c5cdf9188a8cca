/* The key holder: a small process, forked before the gateway touches the
 * network, that alone reads and holds the private keys and performs the
 * private-key operations for the network process over a socketpair (as
 * relayd's "ca" process does). The network process gets GnuTLS keys whose
 * sign and decrypt operations are round trips to it; no key byte ever
 * crosses the socketpair. The RFC 8224 STI key and the RFC 4474 key sign
 * hashes there likewise (keyholder_sign_es256, keyholder_sign_rsa). With
 * digest authentication configured it also holds the user store's HA1s and
 * the nonce secret: the network process gets a digest oracle whose steps
 * needing them are round trips. */
#ifndef PC_KEYHOLDER_H
#define PC_KEYHOLDER_H

#include <gnutls/abstract.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config/config.h"
#include "policy/digest.h"
#include "policy/users.h"
#include "sandbox/sandbox.h"

/* Forks the key holder, which loads every private key the configuration
 * names, switches to `user`, installs its own seccomp filter and then only
 * answers requests. Returns 0 in the network process once the holder has
 * loaded all its keys, -1 (logged) when it could not; never returns in the
 * holder. The holder exits when the network process goes away. */
int keyholder_start(const struct gateway_config *cfg, const struct sandbox_user *user);

/* True once keyholder_start succeeded: TLS credentials then use
 * keyholder_privkey instead of reading key files. */
bool keyholder_active(void);

/* The socket to the holder, for an event that notices the holder's death
 * (it writes only answers, so a readable socket between requests is either
 * a late answer to a timed-out request or its end). -1 when not active. */
int keyholder_fd(void);

/* For that event: discards late answers; false when the holder is gone. */
bool keyholder_alive(void);

/* A GnuTLS private key for the key file `key_path` of the configuration,
 * whose private operations run in the holder; `pubkey` (the certificate's
 * public key) answers what GnuTLS asks about the key's type and size. The
 * key takes no reference to pubkey. 0 or a GnuTLS error (logged). */
int keyholder_privkey(const char *key_path, gnutls_pubkey_t pubkey, gnutls_privkey_t *out);

/* --check-config: loads every key the holder would hold, with the checks
 * start-up makes (an STI key is EC P-256, a legacy key RSA, each the key of
 * its published certificate), and forgets them. 0 or -1 (logged). */
int keyholder_check_keys(const struct gateway_config *cfg);

/* True when the holder holds the STI key (a leg signs: identity_sign) or
 * the legacy RFC 4474 key (a peer has identity_legacy). */
bool keyholder_sti_active(void);
bool keyholder_legacy_active(void);

/* Signs a PASSporT (RFC 8225) with the STI key: `hash` is the SHA-256 of
 * its signing input "header.claims", computed by the caller; `sig` gets
 * the JWS ES256 signature, r || s, 32 bytes each (RFC 7518 §3.4). A round
 * trip to the holder like a TLS signature (same timeout). 0, or a GnuTLS
 * error (the holder refused, did not answer, or is not signing). */
#define KEYHOLDER_ES256_LEN 64
int keyholder_sign_es256(const uint8_t hash[32], uint8_t sig[KEYHOLDER_ES256_LEN]);

/* Signs an RFC 4474 digest-string (`len` bytes of `data`) with the legacy
 * RSA key, rsa-sha256 (or rsa-sha1 when `sha1`, which the holder refuses
 * unless stir.legacy_sha1 is set): the hash is computed here, the PKCS#1
 * v1.5 signature made there. `sig` has room for *siglen bytes (512 holds
 * RSA-4096); *siglen gets the signature's length. 0 or a GnuTLS error. */
int keyholder_sign_rsa(const void *data, size_t len, bool sha1, uint8_t *sig, size_t *siglen);

/* True when the holder answers the digest operations (kh_digest_wanted). */
bool keyholder_digest_active(void);

/* The digest oracle whose nonce and HA1 steps run in the holder, or NULL
 * when keyholder_digest_active() is false. */
const struct digest_oracle *keyholder_digest_oracle(void);

/* Reads and parses the user store file (policy/users.h) without leaving a
 * copy of its text behind: unbuffered, into one buffer wiped after the
 * parse. Used by both processes and by --check-config. 0, or -1 with err. */
int keyholder_load_users(const char *path, size_t max_users, struct users *out, char *err,
			 size_t errlen);

/* The same, for the key holder: the file `name` in the directory `dirfd`
 * (opened with SANDBOX_OPENAT_FLAGS, the only open its filter admits: no
 * symbolic link followed), `label` (its configured path) in messages. */
int keyholder_load_users_at(int dirfd, const char *name, const char *label, size_t max_users,
			    struct users *out, char *err, size_t errlen);

/* Reload of the user store (gateway/reload.c), in two steps so that it is
 * all or nothing with the rest of the configuration. prepare: the holder
 * re-reads the store into a pending copy and `view` gets the same users
 * without any HA1 (names, realms, algorithms, ids), built from the
 * holder's HA1-free answers; -1 with err ("file:line: why" for a store
 * that does not parse, or why the holder did not answer) and nothing
 * pending. commit: the pending copy answers from now on (0, or -1 when the
 * holder did not answer: it then keeps the old store). drop: forgets the
 * pending copy (a reload refused for another reason). Only with
 * keyholder_users_active(). */
bool keyholder_users_active(void);
int keyholder_users_prepare(struct users *view, char *err, size_t errlen);
int keyholder_users_commit(void);
void keyholder_users_drop(void);

/* The holder's process id (-1 when not active): the one process the
 * network process's filter lets it signal. */
pid_t keyholder_pid(void);

/* Closes the socket, so the holder exits, and reaps it (killing it when it
 * has not gone within a second). */
void keyholder_stop(void);

#endif
