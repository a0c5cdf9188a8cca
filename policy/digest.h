/* SIP digest authentication (RFC 3261 §22 with RFC 8760's SHA-256, RFC 7616
 * computations), as a decision: the gateway hands over the parsed request,
 * which credentials header to read, its realm and secret, the time, the user
 * store and the nonce-count table, and gets back an outcome with a reason;
 * it also asks here for the challenge header values to send. Only qop=auth
 * with MD5 or SHA-256 is offered and accepted: no -sess algorithms, no
 * auth-int, no RFC 2069 answers without qop, no userhash.
 *
 * What the gateway does with each outcome (suggested):
 *   AUTH_OK             go on; res.user is the authenticated entry
 *   AUTH_NO_CREDENTIALS 401/407 with a fresh digest_challenge()
 *   AUTH_STALE          401/407 with a fresh challenge and stale=true
 *   AUTH_FAILED         count toward the per-source and per-user lockout
 *                       (res.username is the name the client claimed), then
 *                       challenge again or 403 once locked out
 *   AUTH_REPLAY         a captured request played again (or a broken client):
 *                       fresh challenge, worth counting as suspicious
 *   AUTH_MALFORMED      400 Bad Request, res.reason as the phrase or Warning
 * 401 with WWW-Authenticate answers REGISTER (Authorization); 407 with
 * Proxy-Authenticate answers other requests (Proxy-Authorization). */
#ifndef PC_POLICY_DIGEST_H
#define PC_POLICY_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sofia-sip/sip.h>

#include "policy/nonce.h"
#include "policy/users.h"

enum digest_alg {
	DIGEST_MD5 = 0,
	DIGEST_SHA256 = 1,
};

#define DIGEST_ALG_BIT(a) (1u << (a))
#define DIGEST_MAX_LEN 32 /* bytes of the longest digest (SHA-256) */
#define DIGEST_HEX_MAX (2 * DIGEST_MAX_LEN)

/* Bounds on what a credentials header may carry; longer is AUTH_MALFORMED. */
#define DIGEST_NONCE_MAX 128
#define DIGEST_URI_MAX 1024
#define DIGEST_CNONCE_MAX 128
#define DIGEST_OPAQUE_MAX 128
#define DIGEST_PARAMS_MAX 32

enum auth_outcome {
	AUTH_OK = 0,
	AUTH_NO_CREDENTIALS, /* no Digest credentials: challenge */
	AUTH_STALE,          /* right answer to an expired or forgotten nonce: stale=true */
	AUTH_FAILED,         /* wrong response, unknown user, foreign nonce or realm */
	AUTH_REPLAY,         /* nonce count not above one already accepted */
	AUTH_MALFORMED,      /* credentials we cannot or will not evaluate: 400 */
};

enum digest_header {
	DIGEST_AUTHORIZATION,       /* REGISTER, answered with 401 */
	DIGEST_PROXY_AUTHORIZATION, /* other requests, answered with 407 */
};

/* One verification's question to whoever holds the HA1s: everything the
 * expected response depends on except the HA1, with H(A2) computed by the
 * asker (so the method and URI need not travel). Fixed size, strings
 * NUL-terminated inside their fields: it crosses a process boundary as it
 * is (gateway/keyholder). */
struct digest_question {
	uint32_t alg; /* enum digest_alg */
	char username[USERS_NAME_MAX + 1];
	char realm[USERS_REALM_MAX + 1];
	char nonce[DIGEST_NONCE_MAX + 1];
	char nc[9];
	char cnonce[DIGEST_CNONCE_MAX + 1];
	char qop[16];
	uint8_t ha2[DIGEST_MAX_LEN];      /* H(method:uri), digest-length bytes */
	uint8_t response[DIGEST_MAX_LEN]; /* the client's, decoded */
};

/* The HA1 holder's answer; nothing more leaves it. */
enum digest_answer {
	DIGEST_MATCH = 0,
	DIGEST_MISMATCH,     /* wrong response */
	DIGEST_UNKNOWN_USER, /* no such user in that realm */
	DIGEST_NO_HA1,       /* the user has no HA1 for this algorithm */
	DIGEST_REFUSED,      /* a malformed question (digest_question_problem) */
	DIGEST_UNANSWERED,   /* the holder could not be asked */
};

/* Where the secrets are used when they live in another process: minting
 * and checking nonces under the nonce secret, and answering questions
 * under the HA1s. Each call may block (a local round trip). */
struct digest_oracle {
	void *ctx;
	/* 0 with the nonce (NONCE_TEXT_LEN characters and a NUL) in out, or -1 */
	int (*mint)(void *ctx, const char *realm, uint64_t now_s,
		    const uint8_t random[NONCE_RANDOM_LEN], char out[NONCE_BUF_LEN]);
	enum nonce_status (*check_nonce)(void *ctx, const char *realm, const char *nonce,
					 uint64_t now_s, uint64_t lifetime_s);
	enum digest_answer (*answer)(void *ctx, const struct digest_question *q);
};

/* What the gateway's configuration fixes; built once, read-only here except
 * for the nonce-count table. Without an oracle the secret and the HA1s in
 * users are used here; with one, users needs only names and ids (its HA1s
 * may be wiped: users_forget_ha1) and secret is unused. */
struct digest_server {
	const char *realm; /* see users_realm_problem() for what is allowed */
	const uint8_t *secret;
	size_t secret_len; /* at least NONCE_SECRET_MIN */
	uint64_t nonce_lifetime_s;
	unsigned algorithms; /* DIGEST_ALG_BIT()s offered and accepted; 0 = both */
	const struct users *users;
	struct nonce_counts *counts;
	const struct digest_oracle *oracle;
};

struct auth_result {
	enum auth_outcome outcome;
	const char *reason; /* static; for the log line, never contains secrets */
	/* AUTH_OK: the user's entry in srv->users (its ids are the identities
	 * the user may assert). NULL otherwise. */
	const struct user_entry *user;
	/* The user name from the credentials, once they parsed (empty before):
	 * on AUTH_OK the authenticated name, otherwise only a claim. Bounded and
	 * free of control characters, but chosen by the client. */
	char username[USERS_NAME_MAX + 1];
	enum digest_alg alg;
};

/* Parsed Digest credentials, values unquoted. */
struct digest_credentials {
	char username[USERS_NAME_MAX + 1];
	char realm[USERS_REALM_MAX + 1];
	char nonce[DIGEST_NONCE_MAX + 1];
	char uri[DIGEST_URI_MAX + 1];
	char response[DIGEST_HEX_MAX + 1];
	char algorithm[16];
	char qop[16];
	char nc_text[9]; /* as sent: it is part of the hashed text */
	char cnonce[DIGEST_CNONCE_MAX + 1];
	char opaque[DIGEST_OPAQUE_MAX + 1];
	char userhash[8];
	uint32_t nc;
	enum digest_alg alg;
};

/* Parse one Digest credentials header (the scheme must be Digest). 0, or -1
 * with *why set to a static reason; every failure means AUTH_MALFORMED. */
int digest_parse_credentials(const msg_auth_t *au, struct digest_credentials *c,
			     const char **why);

/* Decide on the request's credentials. Fills *res and returns res->outcome.
 * Records the nonce count on success (and only then). */
enum auth_outcome digest_verify(const struct digest_server *srv, const sip_t *sip,
				enum digest_header which, uint64_t now_s, struct auth_result *res);

/* Challenge values for WWW-Authenticate / Proxy-Authenticate, one header
 * each, in this order: SHA-256 first, then MD5 (RFC 8760 §2.3: in the order
 * the server prefers; §2.4: the client takes the topmost it supports). Both
 * carry the same nonce, minted here from now_s and the caller's random bytes. */
#define DIGEST_CHALLENGE_MAX 320
struct digest_challenge {
	size_t count;
	char value[2][DIGEST_CHALLENGE_MAX];
};

/* Returns count (1 or 2), or -1 for a bad realm or secret. */
int digest_challenge(const struct digest_server *srv, uint64_t now_s,
		     const uint8_t random[NONCE_RANDOM_LEN], bool stale,
		     struct digest_challenge *out);

/* The hash arithmetic, exposed for the user-store tool and the tests.
 * Both return the digest length (16 or 32) written to out. */
size_t digest_ha1(enum digest_alg alg, const char *user, const char *realm, const char *password,
		  size_t password_len, uint8_t out[DIGEST_MAX_LEN]);
/* H(method:uri), RFC 7616 §3.4.3 for qop=auth */
size_t digest_ha2(enum digest_alg alg, const char *method, const char *uri,
		  uint8_t out[DIGEST_MAX_LEN]);
/* H(HEX(ha1):nonce:nc:cnonce:qop:HEX(ha2)), RFC 7616 §3.4.1 */
size_t digest_response_ha2(enum digest_alg alg, const uint8_t *ha1, const uint8_t *ha2,
			   const char *nonce, const char *nc, const char *cnonce, const char *qop,
			   uint8_t out[DIGEST_MAX_LEN]);
/* The same with H(A2) computed from method and uri. */
size_t digest_response(enum digest_alg alg, const uint8_t *ha1, const char *method,
		       const char *uri, const char *nonce, const char *nc, const char *cnonce,
		       const char *qop, uint8_t out[DIGEST_MAX_LEN]);
/* Lowercase hex of len bytes and a NUL into out (2 * len + 1 bytes). */
void digest_hex(const uint8_t *d, size_t len, char *out);

/* The HA1 holder's side: NULL when q is well formed (every string
 * terminated inside its field, non-empty where required, a known algorithm,
 * qop "auth", nc 8 hex digits), else a static reason. */
const char *digest_question_problem(const struct digest_question *q);
/* Looks up q's user in users and compares the expected response with q's in
 * constant time; an unknown user, or one without an HA1 for the algorithm,
 * costs the same hashing (on zeros). DIGEST_REFUSED for a malformed q. */
enum digest_answer digest_answer(const struct users *users, const struct digest_question *q);

const char *auth_outcome_name(enum auth_outcome o);
const char *digest_alg_name(enum digest_alg a);

#endif
