/* The key-holder process itself: loads the private keys, gives up everything
 * else (other descriptors, root, core dumps, every system call but a
 * handful), then answers requests from the network process one at a time
 * until that process goes away. Every request is checked against the
 * operation table and the key's allowed operations (the Identity keys:
 * one signature algorithm and hash length each) before any key is
 * touched; input and output buffers are wiped after each request (a
 * decryption result is a premaster secret). With digest authentication
 * configured it also holds the user store with its HA1s (holder_users.c,
 * which re-reads it when the network process reloads) and a nonce secret
 * drawn at every start, and answers the digest operations: yes/no to a
 * response, a nonce's status, a fresh nonce for the configured realm. */
#include "proto.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/random.h"
#include "holder_users.h"
#include "keyholder.h"
#include "sandbox/sandbox.h"

/* Sign flags GnuTLS passes for TLS 1.2/1.3 signatures. Not TLS1_RSA: the raw
 * MD5+SHA-1 PKCS#1 signature of TLS 1.0/1.1 (below the gateway's floor)
 * would sign any 36 bytes it is given. */
#define KH_SIGN_FLAGS (GNUTLS_PRIVKEY_SIGN_FLAG_RSA_PSS | GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE)

/* A signature a key of a single purpose (the STI and legacy keys) may
 * make: the algorithm, and the length of the hash it signs. */
struct held_sig {
	gnutls_sign_algorithm_t algo;
	uint32_t hash_len;
};
#define HELD_SIGS_MAX 2

struct held_key {
	gnutls_privkey_t key;
	gnutls_pk_algorithm_t pk;
	unsigned ops; /* bit (1 << op) for each allowed operation */
	/* Only these signatures, when n_sigs > 0 (any of the key's type
	 * otherwise), with only these flags. */
	struct held_sig sigs[HELD_SIGS_MAX];
	unsigned n_sigs;
	uint32_t flags;
};

typedef int (*kh_run_fn)(const struct held_key *k, const struct kh_request *req,
			 gnutls_datum_t *out);
/* Checks the data of an operation that uses no key: NULL or why not. */
typedef const char *(*kh_check_fn)(const struct kh_request *req);

#define NONCE_SECRET_LEN 32

/* The digest secrets: the nonce secret (the HA1s are in holder_users.c). */
static struct {
	bool on;
	const char *realm;
	uint8_t secret[NONCE_SECRET_LEN];
} dg;

static int run_sign_data(const struct held_key *k, const struct kh_request *req, gnutls_datum_t *out)
{
	const gnutls_datum_t in = { (unsigned char *)req->data, req->len };
	int rc = gnutls_privkey_sign_data2(k->key, (gnutls_sign_algorithm_t)req->algo, req->flags, &in, out);
	return rc < 0 ? rc : 0;
}

static int run_sign_hash(const struct held_key *k, const struct kh_request *req, gnutls_datum_t *out)
{
	const gnutls_datum_t in = { (unsigned char *)req->data, req->len };
	int rc = gnutls_privkey_sign_hash2(k->key, (gnutls_sign_algorithm_t)req->algo, req->flags, &in, out);
	return rc < 0 ? rc : 0;
}

static int run_decrypt(const struct held_key *k, const struct kh_request *req, gnutls_datum_t *out)
{
	const gnutls_datum_t in = { (unsigned char *)req->data, req->len };
	int rc = gnutls_privkey_decrypt_data(k->key, 0, &in, out);
	return rc < 0 ? rc : 0;
}

/* The digest operations' data, copied out of the unaligned request. */
static struct digest_question question_of(const struct kh_request *req)
{
	struct digest_question q;
	memcpy(&q, req->data, sizeof(q));
	return q;
}

static struct kh_nonce_request nonce_request_of(const struct kh_request *req)
{
	struct kh_nonce_request nr;
	memcpy(&nr, req->data, sizeof(nr));
	return nr;
}

static const char *check_question(const struct kh_request *req)
{
	if (!dg.on)
		return "digest authentication is not configured";
	struct digest_question q = question_of(req);
	return digest_question_problem(&q);
}

static const char *check_nonce_request(const struct kh_request *req)
{
	if (!dg.on)
		return "digest authentication is not configured";
	struct kh_nonce_request nr = nonce_request_of(req);
	if (strnlen(nr.realm, sizeof(nr.realm)) == sizeof(nr.realm) ||
	    strnlen(nr.nonce, sizeof(nr.nonce)) == sizeof(nr.nonce))
		return "unterminated field";
	if (strcmp(nr.realm, dg.realm) != 0)
		return "not the configured realm";
	return NULL;
}

/* Verdicts are statuses (>= 0); only a nonce leaves as data. */
static int run_digest_answer(const struct held_key *k, const struct kh_request *req, gnutls_datum_t *out)
{
	struct digest_question q = question_of(req);
	int rc = (int)digest_answer(kh_store_users(), &q);
	explicit_bzero(&q, sizeof(q));
	return rc;
}

static int run_nonce_mint(const struct held_key *k, const struct kh_request *req, gnutls_datum_t *out)
{
	struct kh_nonce_request nr = nonce_request_of(req);
	char nonce[NONCE_BUF_LEN];
	if (nonce_mint(dg.secret, sizeof(dg.secret), nr.realm, nr.now_s, nr.random, nonce,
		       sizeof(nonce)) < 0)
		return GNUTLS_E_INTERNAL_ERROR;
	out->data = gnutls_malloc(NONCE_TEXT_LEN);
	if (!out->data)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(out->data, nonce, NONCE_TEXT_LEN);
	out->size = NONCE_TEXT_LEN;
	return 0;
}

static int run_nonce_check(const struct held_key *k, const struct kh_request *req, gnutls_datum_t *out)
{
	struct kh_nonce_request nr = nonce_request_of(req);
	return (int)nonce_check(dg.secret, sizeof(dg.secret), nr.realm, nr.nonce, nr.now_s,
				nr.lifetime_s);
}

/* The user store's reload operations (holder_users.c) take no key. */
#define STORE_RUN(fn)                                                                      \
	static int run_##fn(const struct held_key *k, const struct kh_request *req,        \
			    gnutls_datum_t *out)                                           \
	{                                                                                  \
		return kh_store_##fn(req, out);                                            \
	}
STORE_RUN(load)
STORE_RUN(view)
STORE_RUN(commit)
STORE_RUN(drop)
#undef STORE_RUN

/* The operations: what each may be given, and what runs it. An operation
 * with a `check` uses no key and takes exactly max_input bytes. */
static const struct kh_op_entry {
	const char *name;
	uint32_t max_input;
	uint32_t allowed_flags;
	bool signs; /* algo must be a signature algorithm of the key's type */
	kh_run_fn run;
	kh_check_fn check;
} op_table[KH_OP__COUNT] = {
	[KH_OP_SIGN_DATA] = { "sign-data", KH_MAX_INPUT, KH_SIGN_FLAGS, true, run_sign_data, NULL },
	[KH_OP_SIGN_HASH] = { "sign-hash", 64, KH_SIGN_FLAGS, true, run_sign_hash, NULL },
	[KH_OP_DECRYPT] = { "decrypt", 1024, 0, false, run_decrypt, NULL },
	[KH_OP_DIGEST_ANSWER] = { "digest-answer", sizeof(struct digest_question), 0, false,
				  run_digest_answer, check_question },
	[KH_OP_NONCE_MINT] = { "nonce-mint", sizeof(struct kh_nonce_request), 0, false,
			       run_nonce_mint, check_nonce_request },
	[KH_OP_NONCE_CHECK] = { "nonce-check", sizeof(struct kh_nonce_request), 0, false,
				run_nonce_check, check_nonce_request },
	[KH_OP_USERS_LOAD] = { "users-load", sizeof(struct kh_users_request), 0, false, run_load,
			       kh_store_check },
	[KH_OP_USERS_VIEW] = { "users-view", sizeof(struct kh_users_request), 0, false, run_view,
			       kh_store_check },
	[KH_OP_USERS_COMMIT] = { "users-commit", sizeof(struct kh_users_request), 0, false,
				 run_commit, kh_store_check },
	[KH_OP_USERS_DROP] = { "users-drop", sizeof(struct kh_users_request), 0, false, run_drop,
			       kh_store_check },
};

static struct held_key keys[KH_MAX_KEYS];
static unsigned n_keys;

/* The STI key signs a PASSporT's SHA-256 with ECDSA P-256 (ES256) and
 * nothing else: no raw data a TLS peer could choose, no decryption.
 * Deterministic ECDSA (RFC 6979) may be asked for. */
static int restrict_sti(const char *path, struct held_key *k)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	if (k->pk == GNUTLS_PK_ECDSA && gnutls_pubkey_init(&pub) >= 0 &&
	    gnutls_pubkey_import_privkey(pub, k->key, 0, 0) >= 0)
		gnutls_pubkey_export_ecc_raw(pub, &curve, NULL, NULL);
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (curve != GNUTLS_ECC_CURVE_SECP256R1) {
		log_err("keyholder: the STI key %s is not an EC P-256 key (ES256 needs one)", path);
		return -1;
	}
	k->ops = 1u << KH_OP_SIGN_HASH;
	k->sigs[0] = (struct held_sig){ GNUTLS_SIGN_ECDSA_SHA256, KH_STI_HASH_LEN };
	k->n_sigs = 1;
	k->flags = GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE;
	return 0;
}

/* The legacy RFC 4474 key signs a digest-string's hash with RSA PKCS#1
 * v1.5: rsa-sha256, and rsa-sha1 only when the operator allowed that weak
 * algorithm (stir.legacy_sha1). */
static int restrict_legacy(const char *path, struct held_key *k, bool sha1)
{
	if (k->pk != GNUTLS_PK_RSA) {
		log_err("keyholder: the RFC 4474 key %s is not an RSA key", path);
		return -1;
	}
	k->ops = 1u << KH_OP_SIGN_HASH;
	k->sigs[k->n_sigs++] = (struct held_sig){ GNUTLS_SIGN_RSA_SHA256, 32 };
	if (sha1)
		k->sigs[k->n_sigs++] = (struct held_sig){ GNUTLS_SIGN_RSA_SHA1, 20 };
	k->flags = 0;
	return 0;
}

static int load_key(const char *path, enum kh_key_use use, bool legacy_sha1, struct held_key *k)
{
	gnutls_datum_t pem = { NULL, 0 };
	int rc = gnutls_load_file(path, &pem);
	if (rc >= 0 && (rc = gnutls_privkey_init(&k->key)) >= 0)
		rc = gnutls_privkey_import_x509_raw(k->key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (pem.data) {
		gnutls_memset(pem.data, 0, pem.size);
		gnutls_free(pem.data);
	}
	if (rc < 0) {
		log_err("keyholder: cannot load private key %s: %s", path, gnutls_strerror(rc));
		return -1;
	}
	k->pk = (gnutls_pk_algorithm_t)gnutls_privkey_get_pk_algorithm(k->key, NULL);
	/* TLS keys sign; RSA keys may also decrypt a static-RSA premaster
	 * secret (the default priorities do not offer that key exchange). */
	k->ops = 1u << KH_OP_SIGN_DATA | 1u << KH_OP_SIGN_HASH;
	if (k->pk == GNUTLS_PK_RSA)
		k->ops |= 1u << KH_OP_DECRYPT;
	k->n_sigs = 0;
	k->flags = KH_SIGN_FLAGS;
	if (use == KH_USE_STI)
		return restrict_sti(path, k);
	if (use == KH_USE_LEGACY)
		return restrict_legacy(path, k, legacy_sha1);
	return 0;
}

/* 0 when the certificate file's first certificate carries k's public key:
 * a signature the far end checks against that certificate must verify. */
static int matches_certificate(const char *key_path, const struct held_key *k,
			       const char *cert_path)
{
	gnutls_datum_t pem = { NULL, 0 };
	gnutls_x509_crt_t *crts = NULL;
	unsigned n_crts = 0;
	gnutls_pubkey_t from_key = NULL, from_cert = NULL;
	uint8_t id_key[64], id_cert[64];
	size_t len_key = sizeof(id_key), len_cert = sizeof(id_cert);
	int ok = gnutls_load_file(cert_path, &pem) >= 0 &&
		 gnutls_x509_crt_list_import2(&crts, &n_crts, &pem, GNUTLS_X509_FMT_PEM, 0) >= 0 &&
		 n_crts > 0 && gnutls_pubkey_init(&from_key) >= 0 &&
		 gnutls_pubkey_init(&from_cert) >= 0 &&
		 gnutls_pubkey_import_privkey(from_key, k->key, 0, 0) >= 0 &&
		 gnutls_pubkey_import_x509(from_cert, crts[0], 0) >= 0 &&
		 gnutls_pubkey_get_key_id(from_key, GNUTLS_KEYID_USE_SHA256, id_key, &len_key) >= 0 &&
		 gnutls_pubkey_get_key_id(from_cert, GNUTLS_KEYID_USE_SHA256, id_cert, &len_cert) >= 0;
	int match = ok && len_key == len_cert && memcmp(id_key, id_cert, len_key) == 0;
	if (!ok)
		log_err("keyholder: cannot read the certificate %s", cert_path);
	else if (!match)
		log_err("keyholder: the key %s is not the key of the certificate %s", key_path,
			cert_path);
	gnutls_pubkey_deinit(from_key);
	gnutls_pubkey_deinit(from_cert);
	for (unsigned i = 0; i < n_crts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	gnutls_free(pem.data);
	return match ? 0 : -1;
}

/* Loads the i-th key of the configuration; a signing key for Identity must
 * be the key of the certificate it is published with. 0 or -1 (logged). */
static int load_configured_key(const struct gateway_config *cfg, const char *path,
			       enum kh_key_use use, struct held_key *k)
{
	if (load_key(path, use, cfg->stir.legacy_sha1, k) < 0)
		return -1;
	if (use == KH_USE_STI && cfg->stir.certificate[0])
		return matches_certificate(path, k, cfg->stir.certificate);
	if (use == KH_USE_LEGACY && cfg->stir.legacy_certificate[0])
		return matches_certificate(path, k, cfg->stir.legacy_certificate);
	return 0;
}

int keyholder_check_keys(const struct gateway_config *cfg)
{
	const char *paths[KH_MAX_KEYS];
	enum kh_key_use uses[KH_MAX_KEYS];
	unsigned n = kh_key_paths(cfg, paths, uses);
	int rc = 0;
	for (unsigned i = 0; i < n; i++) {
		struct held_key k = { 0 };
		if (load_configured_key(cfg, paths[i], uses[i], &k) < 0)
			rc = -1;
		if (k.key)
			gnutls_privkey_deinit(k.key);
	}
	return rc;
}

/* Why a key of a single purpose may not make this signature, or NULL. */
static const char *check_sig(const struct held_key *k, const struct kh_request *req)
{
	if (req->flags & ~k->flags)
		return "flags not allowed for this key";
	if (k->n_sigs == 0)
		return NULL;
	for (unsigned i = 0; i < k->n_sigs; i++)
		if (k->sigs[i].algo == (gnutls_sign_algorithm_t)req->algo)
			return req->len == k->sigs[i].hash_len ? NULL : "a hash of the wrong length";
	return "algorithm not allowed for this key";
}

/* Why a request is refused before any key is used, or NULL. */
static const char *check_request(const struct kh_request *req, size_t got)
{
	if (got < KH_REQUEST_HEADER || got > sizeof(*req))
		return "bad size";
	if (req->len != got - KH_REQUEST_HEADER)
		return "length mismatch";
	if (req->op == KH_OP_READY || req->op >= KH_OP__COUNT || !op_table[req->op].run)
		return "unknown operation";
	const struct kh_op_entry *e = &op_table[req->op];
	if (req->len > e->max_input)
		return "input too long";
	if (req->flags & ~e->allowed_flags)
		return "flags not allowed";
	if (e->check) {
		if (req->len != e->max_input)
			return "input of the wrong size";
		if (req->key != 0 || req->algo != 0)
			return "a key or algorithm for an operation that takes none";
		return e->check(req);
	}
	if (req->key >= n_keys)
		return "unknown key";
	const struct held_key *k = &keys[req->key];
	if (!(k->ops & (1u << req->op)))
		return "operation not allowed for this key";
	if (e->signs ? !gnutls_sign_supports_pk_algorithm((gnutls_sign_algorithm_t)req->algo, k->pk)
		     : req->algo != 0)
		return "algorithm not allowed for this key";
	return e->signs ? check_sig(k, req) : NULL;
}

static void serve(int fd)
{
	static struct kh_request req;
	static struct kh_reply rep;
	for (;;) {
		ssize_t got = recv(fd, &req, sizeof(req), MSG_TRUNC);
		if (got == 0)
			return; /* the network process is gone */
		if (got < 0) {
			if (errno == EINTR)
				continue;
			log_warn("keyholder: recv");
			return;
		}
		memset(&rep, 0, KH_REPLY_HEADER);
		rep.seq = got >= (ssize_t)sizeof(req.seq) ? req.seq : 0;
		const char *why = check_request(&req, (size_t)got);
		gnutls_datum_t out = { NULL, 0 };
		if (why) {
			log_warnx("keyholder: request refused: %s", why);
			rep.status = GNUTLS_E_INVALID_REQUEST;
		} else {
			const struct held_key *k = op_table[req.op].check ? NULL : &keys[req.key];
			rep.status = op_table[req.op].run(k, &req, &out);
			if (rep.status >= 0 && out.size > KH_MAX_OUTPUT)
				rep.status = GNUTLS_E_SHORT_MEMORY_BUFFER;
			if (rep.status >= 0) {
				rep.len = out.size;
				if (out.size) /* a digest verdict has none, and no buffer */
					memcpy(rep.data, out.data, out.size);
			} else {
				log_warnx("keyholder: %s with key %u failed: %s", op_table[req.op].name,
					  req.key, gnutls_strerror(rep.status));
			}
		}
		if (out.data) {
			gnutls_memset(out.data, 0, out.size);
			gnutls_free(out.data);
		}
		ssize_t sent = send(fd, &rep, KH_REPLY_HEADER + rep.len, 0);
		gnutls_memset(&req, 0, sizeof(req));
		gnutls_memset(&rep, 0, sizeof(rep));
		if (sent < 0) {
			log_warn("keyholder: send");
			return;
		}
	}
}

void keyholder_child_main(int fd, pid_t parent, const struct gateway_config *cfg,
			  const struct sandbox_user *user)
{
	/* Signals meant for the gateway (a terminal's ^C, a service manager's
	 * TERM to the group, SIGUSR1 for counters) are not for the holder: it
	 * ends when the network process closes the socket. */
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE };
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	prctl(PR_SET_NAME, "pc-keyholder", 0, 0, 0);
	/* No socket but the socketpair: close every other descriptor. */
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0u, 0);
	if (sandbox_no_dumps() < 0)
		_exit(1);

	const char *paths[KH_MAX_KEYS];
	enum kh_key_use uses[KH_MAX_KEYS];
	unsigned n = kh_key_paths(cfg, paths, uses);
	for (n_keys = 0; n_keys < n; n_keys++)
		if (load_configured_key(cfg, paths[n_keys], uses[n_keys], &keys[n_keys]) < 0)
			_exit(1);
	/* The store's directory stays open for reloads; the store's group, when
	 * root chose one for it, is the holder's alone. */
	struct sandbox_user as = *user;
	if (kh_users_wanted(cfg) && kh_store_open(cfg, &as) < 0)
		_exit(1);
	if (kh_digest_wanted(cfg)) {
		if (pc_random_bytes(dg.secret, sizeof(dg.secret)) < 0) {
			log_err("keyholder: no random bytes for the nonce secret");
			_exit(1);
		}
		dg.realm = cfg->auth.realm;
		dg.on = true;
	}

	/* A credential change clears the parent-death signal: set it after. */
	if (sandbox_drop_user(&as) < 0 || sandbox_no_dumps() < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent ||
	    sandbox_seccomp(SANDBOX_KEYHOLDER, 0, kh_store_dirfd()) < 0)
		_exit(1);

	struct kh_reply ready = { .seq = 0, .status = (int32_t)n_keys, .len = 0 };
	if (send(fd, &ready, KH_REPLY_HEADER, 0) < 0)
		_exit(1);
	serve(fd);
	for (unsigned i = 0; i < n_keys; i++)
		gnutls_privkey_deinit(keys[i].key);
	kh_store_free();
	explicit_bzero(dg.secret, sizeof(dg.secret));
	_exit(0);
}
