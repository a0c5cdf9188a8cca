/* Digest authentication: the RFC 7616 worked examples, every outcome of
 * digest_verify() from real REGISTER and INVITE texts parsed by Sofia, the
 * nonce lifetime and nonce-count replay table, the challenges, and the user
 * store parser's results and error messages; the split of verification at
 * the HA1 (digest_answer, and digest_verify asking an oracle that holds the
 * secrets while the server's own store has its HA1s wiped). Client responses are computed
 * here with nettle directly, not with the code under test, so a wrong
 * hashing order in policy/digest.c fails these tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>

#include "policy/digest.h"
#include "policy/nonce.h"
#include "policy/users.h"
#include "sip/msg.h"

#define REALM "example.com"
#define T0 1700000000ull
#define LIFETIME 300
#define CNONCE "0a4f113b"

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";

/* alice/wonderland (both HA1s), bob/builder (MD5 only), carol/sha-only
 * (SHA-256 only), and a second alice in another realm. */
static const char users_text[] =
	"# test store\n"
	"alice example.com md5=93dfce8dfebfae8af4a726982429d23a "
	"sha256=8a76b8adf2eb7492ff78f57bc361a5c93e2f53c6e93f7ee91f68b5382cfea14f "
	"id=sip:alice@example.com id=tel:+15550001\n"
	"bob example.com md5=37593d991414f52c30246c60c7798431\n"
	"carol example.com "
	"sha256=b0ca8b717812a39d21311010eb233bbf24b080fe87cf0c2ef8b0529989f5d5c8\n"
	"alice other.org md5=00000000000000000000000000000000\n";

static struct users users;
static struct nonce_counts counts;
static struct digest_server srv;

static int setup(void **state)
{
	char err[256];
	assert_int_equal(sipmsg_init(), 0);
	assert_int_equal(users_parse(users_text, strlen(users_text), "users", 16, &users, err,
				     sizeof(err)), 0);
	assert_int_equal(nonce_counts_init(&counts, 64, T0 - 100), 0);
	srv = (struct digest_server){ .realm = REALM,
				      .secret = secret,
				      .secret_len = sizeof(secret),
				      .nonce_lifetime_s = LIFETIME,
				      .users = &users,
				      .counts = &counts };
	return 0;
}

static int teardown(void **state)
{
	users_free(&users);
	nonce_counts_free(&counts);
	return 0;
}

/* --- an independent client ------------------------------------------------ */

static void hash_hex(bool sha256, const char *s, char out[65])
{
	uint8_t d[32];
	size_t n;
	if (sha256) {
		struct sha256_ctx c;
		sha256_init(&c);
		sha256_update(&c, strlen(s), (const uint8_t *)s);
		sha256_digest(&c, 32, d);
		n = 32;
	} else {
		struct md5_ctx c;
		md5_init(&c);
		md5_update(&c, strlen(s), (const uint8_t *)s);
		md5_digest(&c, 16, d);
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void client_response(bool sha256, const char *user, const char *realm, const char *pw,
			    const char *method, const char *uri, const char *nonce, const char *nc,
			    const char *cnonce, const char *qop, char out[65])
{
	char buf[2048], ha1[65], ha2[65];
	snprintf(buf, sizeof(buf), "%s:%s:%s", user, realm, pw);
	hash_hex(sha256, buf, ha1);
	snprintf(buf, sizeof(buf), "%s:%s", method, uri);
	hash_hex(sha256, buf, ha2);
	snprintf(buf, sizeof(buf), "%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2);
	hash_hex(sha256, buf, out);
}

/* A field left NULL takes its default; OMIT leaves the parameter out. */
static const char OMIT[] = "<omit>";

struct creds {
	const char *method, *ruri, *header, *scheme;
	const char *user, *user_param, *realm, *pw, *alg, *uri, *nonce, *nc, *cnonce, *qop;
	const char *response; /* override the computed one */
	bool hash_sha256;     /* compute with SHA-256 even if alg says otherwise */
	const char *extra;    /* appended to the parameter list */
	const char *extra_header;
};

static char msgbuf[8192];
static char nonce_buf[NONCE_BUF_LEN];

static const char *mint(uint64_t when, uint8_t seed)
{
	uint8_t rnd[NONCE_RANDOM_LEN];
	memset(rnd, seed, sizeof(rnd));
	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, when, rnd, nonce_buf,
				    sizeof(nonce_buf)), 0);
	return nonce_buf;
}

#define DEF(f, v) ((f) ? (f) : (v))

static void param(char **p, char *end, bool *first, const char *name, const char *v,
		  bool quoted)
{
	if (v == OMIT)
		return;
	int n = snprintf(*p, (size_t)(end - *p), "%s%s=%s%s%s", *first ? " " : ", ", name,
			 quoted ? "\"" : "", v, quoted ? "\"" : "");
	assert_true(n > 0 && n < end - *p);
	*p += n;
	*first = false;
}

static const char *build(const struct creds *c)
{
	const char *method = DEF(c->method, "REGISTER");
	const char *ruri = DEF(c->ruri, "sip:example.com");
	const char *user = DEF(c->user, "alice");
	const char *realm = DEF(c->realm, REALM);
	const char *pw = DEF(c->pw, "wonderland");
	const char *alg = DEF(c->alg, "MD5");
	const char *uri = DEF(c->uri, ruri);
	const char *nonce = c->nonce ? c->nonce : mint(T0, 1);
	const char *nc = DEF(c->nc, "00000001");
	const char *cnonce = DEF(c->cnonce, CNONCE);
	const char *qop = DEF(c->qop, "auth");
	char resp[65];
	bool sha = c->hash_sha256 || !strcmp(alg, "SHA-256");

	client_response(sha, user, realm, pw, method, uri, nonce, nc, cnonce, qop, resp);
	char hdr[4096], *p = hdr, *end = hdr + sizeof(hdr);
	bool first = true;
	p += snprintf(p, sizeof(hdr), "%s: %s", DEF(c->header, "Authorization"),
		      DEF(c->scheme, "Digest"));
	param(&p, end, &first, "username", DEF(c->user_param, user), true);
	param(&p, end, &first, "realm", realm, true);
	param(&p, end, &first, "nonce", nonce, true);
	param(&p, end, &first, "uri", uri, true);
	param(&p, end, &first, "response", DEF(c->response, resp), true);
	param(&p, end, &first, "algorithm", alg, false);
	param(&p, end, &first, "qop", qop, false);
	param(&p, end, &first, "nc", nc, false);
	param(&p, end, &first, "cnonce", cnonce, true);
	if (c->extra)
		snprintf(p, (size_t)(end - p), "%s", c->extra);

	int n = snprintf(msgbuf, sizeof(msgbuf),
			 "%s %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK776asdhds\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:alice@example.com>;tag=1928301774\r\n"
			 "To: <sip:alice@example.com>\r\n"
			 "Call-ID: a84b4c76e66710@10.0.0.5\r\n"
			 "CSeq: 2 %s\r\n"
			 "Contact: <sip:alice@10.0.0.5:5062>\r\n"
			 "%s\r\n%s"
			 "Content-Length: 0\r\n\r\n",
			 method, ruri, method, hdr, DEF(c->extra_header, ""));
	assert_true(n > 0 && (size_t)n < sizeof(msgbuf));
	return msgbuf;
}

static enum auth_outcome verify_text(const char *text, enum digest_header which, uint64_t now,
				     struct auth_result *res)
{
	msg_t *m = sipmsg_parse(text, strlen(text));
	assert_non_null(m);
	enum auth_outcome o = digest_verify(&srv, sip_object(m), which, now, res);
	msg_destroy(m);
	assert_non_null(res->reason);
	assert_int_equal(o, res->outcome);
	return o;
}

static enum auth_outcome verify(const struct creds *c, uint64_t now, struct auth_result *res)
{
	enum digest_header which = c->header && !strcmp(c->header, "Proxy-Authorization")
					   ? DIGEST_PROXY_AUTHORIZATION
					   : DIGEST_AUTHORIZATION;
	return verify_text(build(c), which, now, res);
}

static void expect(const struct creds *c, uint64_t now, enum auth_outcome want,
		   const char *reason_part)
{
	struct auth_result res;
	enum auth_outcome o = verify(c, now, &res);
	if (o != want || (reason_part && !strstr(res.reason, reason_part)))
		fail_msg("outcome %s (%s), expected %s (%s)", auth_outcome_name(o), res.reason,
			 auth_outcome_name(want), reason_part ? reason_part : "any reason");
	if (want != AUTH_OK)
		assert_null(res.user);
}

/* --- RFC 7616 §3.9.1 ------------------------------------------------------ */

static void rfc7616_example(enum digest_alg alg, const char *want)
{
	uint8_t ha1[DIGEST_MAX_LEN], out[DIGEST_MAX_LEN];
	char hex[DIGEST_HEX_MAX + 1];
	static const char pw[] = "Circle of Life";

	size_t n = digest_ha1(alg, "Mufasa", "http-auth@example.org", pw, strlen(pw), ha1);
	assert_int_equal(n, alg == DIGEST_MD5 ? 16 : 32);
	n = digest_response(alg, ha1, "GET", "/dir/index.html",
			    "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
			    "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", out);
	digest_hex(out, n, hex);
	assert_string_equal(hex, want);
}

/* The MD5 value is the one the RFC's text prints, checked against its
 * inputs; the SHA-256 value is the RFC's as published. */
static void rfc7616_md5_vector(void **state)
{
	rfc7616_example(DIGEST_MD5, "8ca523f5e9506fed4657c9700eebdbec");
}

static void rfc7616_sha256_vector(void **state)
{
	rfc7616_example(DIGEST_SHA256,
			"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

static void ha1_matches_the_store(void **state)
{
	uint8_t ha1[DIGEST_MAX_LEN];
	const struct user_entry *e = users_lookup(&users, "alice", REALM);
	assert_non_null(e);
	digest_ha1(DIGEST_MD5, "alice", REALM, "wonderland", 10, ha1);
	assert_memory_equal(ha1, e->ha1_md5, 16);
	digest_ha1(DIGEST_SHA256, "alice", REALM, "wonderland", 10, ha1);
	assert_memory_equal(ha1, e->ha1_sha256, 32);
}

/* --- digest_verify outcomes ----------------------------------------------- */

static void register_md5_ok(void **state)
{
	struct auth_result res;
	assert_int_equal(verify(&(struct creds){ .alg = "MD5" }, T0, &res), AUTH_OK);
	assert_ptr_equal(res.user, users_lookup(&users, "alice", REALM));
	assert_string_equal(res.username, "alice");
	assert_int_equal(res.alg, DIGEST_MD5);
	assert_int_equal(res.user->n_ids, 2);
	assert_string_equal(res.user->ids[0], "sip:alice@example.com");
}

static void register_sha256_ok(void **state)
{
	struct auth_result res;
	assert_int_equal(verify(&(struct creds){ .alg = "SHA-256" }, T0, &res), AUTH_OK);
	assert_int_equal(res.alg, DIGEST_SHA256);
	assert_string_equal(res.username, "alice");
}

static void no_algorithm_means_md5(void **state)
{
	expect(&(struct creds){ .alg = OMIT }, T0, AUTH_OK, NULL);
	/* a SHA-256 answer without algorithm= is read as an MD5 one */
	expect(&(struct creds){ .alg = OMIT, .hash_sha256 = true, .nc = "00000002" }, T0,
	       AUTH_MALFORMED, "not a hex MD5 digest");
}

static void sha256_only_user(void **state)
{
	expect(&(struct creds){ .user = "carol", .pw = "sha-only", .alg = "SHA-256" }, T0,
	       AUTH_OK, NULL);
	expect(&(struct creds){ .user = "carol", .pw = "sha-only", .alg = "MD5" }, T0,
	       AUTH_FAILED, "no HA1 stored");
	expect(&(struct creds){ .user = "bob", .pw = "builder", .alg = "SHA-256" }, T0,
	       AUTH_FAILED, "no HA1 stored");
}

static void wrong_password_fails(void **state)
{
	struct auth_result res;
	assert_int_equal(verify(&(struct creds){ .pw = "wonderlant" }, T0, &res), AUTH_FAILED);
	assert_string_equal(res.reason, "wrong response");
	assert_string_equal(res.username, "alice"); /* for the per-user lockout */
	expect(&(struct creds){ .pw = "wonderlant", .alg = "SHA-256" }, T0, AUTH_FAILED,
	       "wrong response");
}

static void unknown_user_fails(void **state)
{
	expect(&(struct creds){ .user = "mallory" }, T0, AUTH_FAILED, "unknown user");
	/* user names compare exactly */
	expect(&(struct creds){ .user = "Alice" }, T0, AUTH_FAILED, "unknown user");
}

static void other_realm_fails(void **state)
{
	expect(&(struct creds){ .realm = "other.org" }, T0, AUTH_FAILED, "another realm");
	expect(&(struct creds){ .realm = "EXAMPLE.COM" }, T0, AUTH_FAILED, "another realm");
}

static void digest_uri_must_match_request_uri(void **state)
{
	expect(&(struct creds){ .uri = "sip:other.example.com" }, T0, AUTH_MALFORMED,
	       "Request-URI");
	expect(&(struct creds){ .ruri = "sip:example.com;transport=tcp", .uri = "sip:example.com" },
	       T0, AUTH_MALFORMED, "Request-URI");
	expect(&(struct creds){ .uri = "sip:example.com:5060" }, T0, AUTH_MALFORMED,
	       "Request-URI");
	/* The same URI with an escape Sofia normalises is the same resource;
	 * the hash still covers the uri exactly as the client wrote it. */
	expect(&(struct creds){ .method = "INVITE", .ruri = "sip:%62ob@example.com",
				 .uri = "sip:bob@example.com",
				 .header = "Proxy-Authorization" },
	       T0, AUTH_OK, NULL);
}

static void refused_algorithms_and_qops(void **state)
{
	expect(&(struct creds){ .qop = "auth-int" }, T0, AUTH_MALFORMED, "auth-int");
	expect(&(struct creds){ .alg = "MD5-sess" }, T0, AUTH_MALFORMED, "-sess");
	expect(&(struct creds){ .alg = "SHA-256-sess" }, T0, AUTH_MALFORMED, "-sess");
	expect(&(struct creds){ .alg = "SHA-512-256" }, T0, AUTH_MALFORMED, "unknown algorithm");
	expect(&(struct creds){ .alg = "AKAv1-MD5" }, T0, AUTH_MALFORMED, "unknown algorithm");
	expect(&(struct creds){ .qop = "token" }, T0, AUTH_MALFORMED, "unknown qop");
	/* RFC 2069: no qop, hence no nc and cnonce */
	expect(&(struct creds){ .qop = OMIT, .nc = OMIT, .cnonce = OMIT }, T0, AUTH_MALFORMED,
	       "RFC 2069");
	expect(&(struct creds){ .extra = ", userhash=true" }, T0, AUTH_MALFORMED, "userhash");
}

static void missing_parameters(void **state)
{
	expect(&(struct creds){ .nonce = OMIT }, T0, AUTH_MALFORMED, "missing nonce");
	expect(&(struct creds){ .response = OMIT }, T0, AUTH_MALFORMED, "missing response");
	expect(&(struct creds){ .user_param = OMIT }, T0, AUTH_MALFORMED, "missing username");
	expect(&(struct creds){ .uri = OMIT }, T0, AUTH_MALFORMED, "missing uri");
	expect(&(struct creds){ .realm = OMIT }, T0, AUTH_MALFORMED, "missing realm");
	expect(&(struct creds){ .nc = OMIT }, T0, AUTH_MALFORMED, "missing nc");
	expect(&(struct creds){ .cnonce = OMIT }, T0, AUTH_MALFORMED, "missing cnonce");
	expect(&(struct creds){ .user_param = "" }, T0, AUTH_MALFORMED, "username is empty");
}

static void duplicated_parameters(void **state)
{
	expect(&(struct creds){ .extra = ", nc=00000002" }, T0, AUTH_MALFORMED, "duplicate nc");
	/* parameter names are case-insensitive */
	expect(&(struct creds){ .extra = ", USERNAME=\"bob\"" }, T0, AUTH_MALFORMED,
	       "duplicate username");
	expect(&(struct creds){ .extra = ", realm=\"example.com\"" }, T0, AUTH_MALFORMED,
	       "duplicate realm");
}

static void bounded_and_checked_values(void **state)
{
	char user65[66];
	memset(user65, 'a', 65);
	user65[65] = '\0';
	expect(&(struct creds){ .user = user65 }, T0, AUTH_MALFORMED, "username is too long");
	char user64[65];
	memset(user64, 'a', 64);
	user64[64] = '\0';
	expect(&(struct creds){ .user = user64 }, T0, AUTH_FAILED, "unknown user");
	expect(&(struct creds){ .nc = "1" }, T0, AUTH_MALFORMED, "nc is not 8 hex");
	expect(&(struct creds){ .nc = "0000000g" }, T0, AUTH_MALFORMED, "nc is not 8 hex");
	expect(&(struct creds){ .nc = "000000001" }, T0, AUTH_MALFORMED, "nc is too long");
	expect(&(struct creds){ .nc = "00000000" }, T0, AUTH_MALFORMED, "nc is zero");
	expect(&(struct creds){ .response = "0123456789abcdef" }, T0, AUTH_MALFORMED,
	       "not a hex MD5");
	expect(&(struct creds){ .alg = "SHA-256", .response = "93dfce8dfebfae8af4a726982429d23a" },
	       T0, AUTH_MALFORMED, "not a hex SHA-256");
	expect(&(struct creds){ .extra = ", bare" }, T0, AUTH_MALFORMED, "name=value");
	char longnonce[200];
	memset(longnonce, 'n', 199);
	longnonce[199] = '\0';
	expect(&(struct creds){ .nonce = longnonce }, T0, AUTH_MALFORMED, "nonce is too long");
}

static void quoting_is_undone(void **state)
{
	/* "al\ice" is alice once unquoted (RFC 3261 quoted-pair) */
	expect(&(struct creds){ .user_param = "al\\ice" }, T0, AUTH_OK, NULL);
	/* a quoted token parameter is taken the same */
	expect(&(struct creds){ .alg = "\"SHA-256\"", .hash_sha256 = true, .nc = "00000002" }, T0,
	       AUTH_OK, NULL);
	/* scheme names are case-insensitive; unknown parameters are ignored */
	expect(&(struct creds){ .scheme = "digest", .extra = ", foo=\"bar\", baz=1",
				 .nc = "00000003" },
	       T0, AUTH_OK, NULL);
	/* an escaped control character is still a control character */
	expect(&(struct creds){ .user_param = "al\\\x01ice" }, T0, AUTH_MALFORMED,
	       "control characters");
}

static void no_credentials(void **state)
{
	struct auth_result res;
	const char *text = "REGISTER sip:example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK776asdhds\r\n"
			   "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\n"
			   "Call-ID: x@10.0.0.5\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
	assert_int_equal(verify_text(text, DIGEST_AUTHORIZATION, T0, &res), AUTH_NO_CREDENTIALS);
	assert_string_equal(res.username, "");
	/* another scheme is not ours to answer */
	expect(&(struct creds){ .scheme = "Basic" }, T0, AUTH_NO_CREDENTIALS, NULL);
	/* the header the caller did not ask for is not looked at */
	assert_int_equal(verify_text(build(&(struct creds){ 0 }), DIGEST_PROXY_AUTHORIZATION, T0,
				     &res), AUTH_NO_CREDENTIALS);
}

static void proxy_authorization_for_invite(void **state)
{
	struct auth_result res;
	const struct creds c = { .method = "INVITE", .ruri = "sip:bob@example.com",
				 .header = "Proxy-Authorization", .alg = "SHA-256" };
	assert_int_equal(verify_text(build(&c), DIGEST_PROXY_AUTHORIZATION, T0, &res), AUTH_OK);
	assert_int_equal(verify_text(build(&c), DIGEST_AUTHORIZATION, T0, &res),
			 AUTH_NO_CREDENTIALS);
	/* the method is part of the hash: a REGISTER's answer does not fit an INVITE */
	char resp[65];
	client_response(false, "alice", REALM, "wonderland", "REGISTER", "sip:bob@example.com",
			mint(T0, 1), "00000002", CNONCE, "auth", resp);
	expect(&(struct creds){ .method = "INVITE", .ruri = "sip:bob@example.com",
				 .header = "Proxy-Authorization", .nc = "00000002",
				 .response = resp },
	       T0, AUTH_FAILED, "wrong response");
}

static void credentials_for_several_realms(void **state)
{
	const char *other = "Authorization: Digest username=\"alice\", realm=\"other.org\", "
			    "nonce=\"abc\", uri=\"sip:example.com\", "
			    "response=\"00000000000000000000000000000000\", qop=auth, nc=00000001, "
			    "cnonce=\"x\"\r\n";
	expect(&(struct creds){ .extra_header = other }, T0, AUTH_OK, NULL);
	/* two answers for our realm are ambiguous */
	char twice[1024];
	snprintf(twice, sizeof(twice),
		 "Authorization: Digest username=\"bob\", realm=\"example.com\", nonce=\"%s\", "
		 "uri=\"sip:example.com\", response=\"00000000000000000000000000000000\", "
		 "qop=auth, nc=00000001, cnonce=\"x\"\r\n", mint(T0, 1));
	expect(&(struct creds){ .extra_header = twice }, T0, AUTH_MALFORMED, "two sets");
}

static void expired_nonce_is_stale(void **state)
{
	const char *n = mint(T0, 2);
	char nonce[NONCE_BUF_LEN];
	memcpy(nonce, n, sizeof(nonce));
	expect(&(struct creds){ .nonce = nonce }, T0 + LIFETIME + 1, AUTH_STALE, "expired");
	/* stale=true only for someone who knows the password (RFC 7616 §3.3) */
	expect(&(struct creds){ .nonce = nonce, .pw = "guess" }, T0 + LIFETIME + 1, AUTH_FAILED,
	       "wrong response");
	/* at exactly the lifetime it is still good */
	expect(&(struct creds){ .nonce = nonce }, T0 + LIFETIME, AUTH_OK, NULL);
}

static void foreign_nonces_fail(void **state)
{
	char nonce[NONCE_BUF_LEN];
	memcpy(nonce, mint(T0, 3), sizeof(nonce));
	/* one flipped character, the response computed over the flipped nonce */
	nonce[20] = nonce[20] == 'A' ? 'B' : 'A';
	expect(&(struct creds){ .nonce = nonce }, T0, AUTH_FAILED, "nonce not issued by us");
	/* a nonce from the future beyond the skew */
	memcpy(nonce, mint(T0 + NONCE_FUTURE_SKEW_S + 1, 3), sizeof(nonce));
	expect(&(struct creds){ .nonce = nonce }, T0, AUTH_FAILED, "nonce not issued by us");
	memcpy(nonce, mint(T0 + NONCE_FUTURE_SKEW_S, 3), sizeof(nonce));
	expect(&(struct creds){ .nonce = nonce }, T0, AUTH_OK, NULL);
	/* a nonce of someone else's making */
	expect(&(struct creds){ .nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093" }, T0, AUTH_FAILED,
	       "nonce not issued by us");
}

static void nonce_count_replay(void **state)
{
	struct auth_result res;
	expect(&(struct creds){ .nc = "00000001" }, T0, AUTH_OK, NULL);
	assert_int_equal(verify(&(struct creds){ .nc = "00000001" }, T0, &res), AUTH_REPLAY);
	assert_null(res.user);
	expect(&(struct creds){ .nc = "00000002" }, T0, AUTH_OK, NULL);
	expect(&(struct creds){ .nc = "00000002" }, T0, AUTH_REPLAY, NULL);
	expect(&(struct creds){ .nc = "00000001" }, T0, AUTH_REPLAY, NULL);
	/* counts may skip (lost requests), never go back */
	expect(&(struct creds){ .nc = "0000000A" }, T0, AUTH_OK, NULL);
	expect(&(struct creds){ .nc = "00000009" }, T0, AUTH_REPLAY, NULL);
	/* another nonce has its own count */
	char nonce[NONCE_BUF_LEN];
	memcpy(nonce, mint(T0, 9), sizeof(nonce));
	expect(&(struct creds){ .nonce = nonce, .nc = "00000001" }, T0, AUTH_OK, NULL);
}

static void nonce_count_increasing_ok_twice(void **state)
{
	expect(&(struct creds){ .nc = "00000001", .alg = "SHA-256" }, T0, AUTH_OK, NULL);
	expect(&(struct creds){ .nc = "00000002", .alg = "SHA-256" }, T0 + 1, AUTH_OK, NULL);
}

/* A wrong response must not burn counts the real client still needs. */
static void failed_attempt_records_no_count(void **state)
{
	expect(&(struct creds){ .nc = "ffffffff", .pw = "guess" }, T0, AUTH_FAILED, NULL);
	expect(&(struct creds){ .nc = "00000001" }, T0, AUTH_OK, NULL);
}

static void evicted_nonce_is_stale(void **state)
{
	char n1[NONCE_BUF_LEN], n2[NONCE_BUF_LEN], n3[NONCE_BUF_LEN], n0[NONCE_BUF_LEN];
	nonce_counts_free(&counts);
	assert_int_equal(nonce_counts_init(&counts, 2, T0 - 100), 0);
	memcpy(n0, mint(T0 + 1, 10), sizeof(n0));
	memcpy(n1, mint(T0 + 1, 11), sizeof(n1));
	memcpy(n2, mint(T0 + 2, 12), sizeof(n2));
	memcpy(n3, mint(T0 + 3, 13), sizeof(n3));
	expect(&(struct creds){ .nonce = n1 }, T0 + 10, AUTH_OK, NULL);
	expect(&(struct creds){ .nonce = n2 }, T0 + 10, AUTH_OK, NULL);
	expect(&(struct creds){ .nonce = n3 }, T0 + 10, AUTH_OK, NULL); /* evicts n1 */
	expect(&(struct creds){ .nonce = n1, .nc = "00000002" }, T0 + 10, AUTH_STALE,
	       "nonce-count table");
	/* n1's replay at nc=1 would otherwise look like a first use */
	expect(&(struct creds){ .nonce = n1, .nc = "00000001" }, T0 + 10, AUTH_STALE, NULL);
	/* unused, but minted no later than the evicted one: cannot be told apart */
	expect(&(struct creds){ .nonce = n0 }, T0 + 10, AUTH_STALE, NULL);
	expect(&(struct creds){ .nonce = n2, .nc = "00000002" }, T0 + 10, AUTH_OK, NULL);
	expect(&(struct creds){ .nonce = n3, .nc = "00000002" }, T0 + 10, AUTH_OK, NULL);
	/* a fresh nonce is fine */
	expect(&(struct creds){ .nonce = mint(T0 + 4, 14) }, T0 + 10, AUTH_OK, NULL);
}

/* Nonces minted before the table existed (an earlier run) are not trusted. */
static void nonce_older_than_table_is_stale(void **state)
{
	char n[NONCE_BUF_LEN];
	memcpy(n, mint(T0 - 150, 4), sizeof(n));
	expect(&(struct creds){ .nonce = n }, T0, AUTH_STALE, "nonce-count table");
}

static void algorithms_can_be_restricted(void **state)
{
	struct digest_challenge ch;
	uint8_t rnd[NONCE_RANDOM_LEN] = { 0 };
	srv.algorithms = DIGEST_ALG_BIT(DIGEST_SHA256);
	expect(&(struct creds){ .alg = "MD5" }, T0, AUTH_MALFORMED, "algorithm not offered");
	expect(&(struct creds){ .alg = "SHA-256" }, T0, AUTH_OK, NULL);
	assert_int_equal(digest_challenge(&srv, T0, rnd, false, &ch), 1);
	assert_non_null(strstr(ch.value[0], "algorithm=SHA-256"));
}

static void missing_table_fails_closed(void **state)
{
	srv.counts = NULL;
	expect(&(struct creds){ 0 }, T0, AUTH_FAILED, "nonce-count table");
}

/* --- challenges ------------------------------------------------------------ */

static void challenge_sha256_first_then_md5(void **state)
{
	struct digest_challenge ch;
	const uint8_t rnd[NONCE_RANDOM_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char nonce[NONCE_BUF_LEN], want[DIGEST_CHALLENGE_MAX];

	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0, rnd, nonce, sizeof(nonce)),
			 0);
	assert_int_equal(digest_challenge(&srv, T0, rnd, false, &ch), 2);
	assert_int_equal(ch.count, 2);
	snprintf(want, sizeof(want),
		 "Digest realm=\"example.com\", nonce=\"%s\", algorithm=SHA-256, qop=\"auth\"",
		 nonce);
	assert_string_equal(ch.value[0], want);
	snprintf(want, sizeof(want),
		 "Digest realm=\"example.com\", nonce=\"%s\", algorithm=MD5, qop=\"auth\"", nonce);
	assert_string_equal(ch.value[1], want);
	assert_null(strstr(ch.value[0], "stale"));
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, nonce, T0, LIFETIME),
			 NONCE_VALID);
}

static void challenge_stale_true(void **state)
{
	struct digest_challenge ch;
	const uint8_t rnd[NONCE_RANDOM_LEN] = { 9 };
	assert_int_equal(digest_challenge(&srv, T0, rnd, true, &ch), 2);
	for (size_t i = 0; i < 2; i++) {
		size_t l = strlen(ch.value[i]);
		assert_true(l > 12);
		assert_string_equal(ch.value[i] + l - 12, ", stale=true");
	}
}

static void challenge_refuses_bad_realm_or_secret(void **state)
{
	struct digest_challenge ch;
	const uint8_t rnd[NONCE_RANDOM_LEN] = { 0 };
	srv.realm = "ex\"ample";
	assert_int_equal(digest_challenge(&srv, T0, rnd, false, &ch), -1);
	srv.realm = REALM;
	srv.secret_len = NONCE_SECRET_MIN - 1;
	assert_int_equal(digest_challenge(&srv, T0, rnd, false, &ch), -1);
}

/* What a phone does: read the challenge, answer it. */
static void challenge_answered_round_trip(void **state)
{
	struct digest_challenge ch;
	const uint8_t rnd[NONCE_RANDOM_LEN] = { 0x42 };
	char nonce[NONCE_BUF_LEN];
	assert_int_equal(digest_challenge(&srv, T0, rnd, false, &ch), 2);
	const char *p = strstr(ch.value[0], "nonce=\"");
	assert_non_null(p);
	p += 7;
	const char *q = strchr(p, '"');
	assert_non_null(q);
	assert_int_equal(q - p, NONCE_TEXT_LEN);
	memcpy(nonce, p, NONCE_TEXT_LEN);
	nonce[NONCE_TEXT_LEN] = '\0';
	expect(&(struct creds){ .nonce = nonce, .alg = "SHA-256" }, T0 + 30, AUTH_OK, NULL);
}

/* --- nonces ------------------------------------------------------------------ */

static void nonce_mint_and_check(void **state)
{
	char n[NONCE_BUF_LEN], bad[NONCE_BUF_LEN + 4];
	const uint8_t rnd[NONCE_RANDOM_LEN] = { 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3 };
	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0, rnd, n, sizeof(n)), 0);
	assert_int_equal(strlen(n), NONCE_TEXT_LEN);
	assert_int_equal(n[NONCE_TEXT_LEN - 1], '=');
	assert_null(strpbrk(n, "\"\\ ,"));
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, n, T0, 10), NONCE_VALID);
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, n, T0 + 10, 10), NONCE_VALID);
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, n, T0 + 11, 10), NONCE_STALE);
	/* bound to realm and secret */
	assert_int_equal(nonce_check(secret, sizeof(secret), "example.org", n, T0, 10),
			 NONCE_INVALID);
	uint8_t other[32];
	memcpy(other, secret, 32);
	other[31] ^= 1;
	assert_int_equal(nonce_check(other, sizeof(other), REALM, n, T0, 10), NONCE_INVALID);
	/* the random bytes are covered by the MAC */
	uint8_t rnd2[NONCE_RANDOM_LEN];
	memcpy(rnd2, rnd, sizeof(rnd2));
	rnd2[0] ^= 1;
	char n2[NONCE_BUF_LEN];
	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0, rnd2, n2, sizeof(n2)), 0);
	assert_string_not_equal(n, n2);
	/* encodings other than the one minted */
	snprintf(bad, sizeof(bad), "%.*s", NONCE_TEXT_LEN - 1, n);
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, bad, T0, 10), NONCE_INVALID);
	snprintf(bad, sizeof(bad), "%s=", n);
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, bad, T0, 10), NONCE_INVALID);
	snprintf(bad, sizeof(bad), " %.*s", NONCE_TEXT_LEN - 1, n);
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, bad, T0, 10), NONCE_INVALID);
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, "", T0, 10), NONCE_INVALID);
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, NULL, T0, 10), NONCE_INVALID);
}

/* The last character before '=' carries two bits that must be zero; with
 * them set the bytes would be the same, the spelling not. */
static void nonce_non_canonical_spelling_refused(void **state)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char n[NONCE_BUF_LEN];
	const uint8_t rnd[NONCE_RANDOM_LEN] = { 7 };
	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0, rnd, n, sizeof(n)), 0);
	const char *pos = strchr(b64, n[NONCE_TEXT_LEN - 2]);
	assert_non_null(pos);
	n[NONCE_TEXT_LEN - 2] = b64[(pos - b64) | 1];
	assert_int_equal(nonce_check(secret, sizeof(secret), REALM, n, T0, 10), NONCE_INVALID);
}

static void nonce_refuses_short_secret_and_buffer(void **state)
{
	char n[NONCE_BUF_LEN];
	const uint8_t rnd[NONCE_RANDOM_LEN] = { 0 };
	assert_int_equal(nonce_mint(secret, NONCE_SECRET_MIN - 1, REALM, T0, rnd, n, sizeof(n)),
			 -1);
	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0, rnd, n, NONCE_TEXT_LEN),
			 -1);
	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0, rnd, n, sizeof(n)), 0);
	assert_int_equal(nonce_check(secret, NONCE_SECRET_MIN - 1, REALM, n, T0, 10),
			 NONCE_INVALID);
}

static void nonce_counts_table(void **state)
{
	struct nonce_counts t;
	char a[NONCE_BUF_LEN];
	const uint8_t rnd[NONCE_RANDOM_LEN] = { 5 };
	assert_int_equal(nonce_counts_init(&t, 0, T0), -1);
	assert_int_equal(nonce_counts_init(&t, NONCE_COUNTS_MAX + 1, T0), -1);
	assert_int_equal(nonce_counts_init(&t, 3, T0), 0);
	/* Minted before the table existed: unknown, so stale. Minted in the
	 * very second of init (a gateway challenging as it starts): fine. */
	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0 - 1, rnd, a, sizeof(a)), 0);
	assert_int_equal(nonce_counts_accept(&t, a, 1), NC_FORGOTTEN);
	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0, rnd, a, sizeof(a)), 0);
	assert_int_equal(nonce_counts_accept(&t, a, 1), NC_OK);
	assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0 + 1, rnd, a, sizeof(a)), 0);
	assert_int_equal(nonce_counts_accept(&t, a, 1), NC_OK);
	assert_int_equal(nonce_counts_accept(&t, a, 1), NC_REPLAY);
	assert_int_equal(nonce_counts_accept(&t, a, 0xffffffffu), NC_OK);
	assert_int_equal(nonce_counts_accept(&t, a, 0xffffffffu), NC_REPLAY);
	assert_int_equal(nonce_counts_accept(&t, "not a nonce", 1), NC_BAD_NONCE);
	/* fill and wrap the ring many times: only the last three stay */
	char n[40][NONCE_BUF_LEN];
	for (uint8_t i = 0; i < 40; i++) {
		uint8_t r[NONCE_RANDOM_LEN] = { i, 0x77 };
		assert_int_equal(nonce_mint(secret, sizeof(secret), REALM, T0 + 10 + i, r, n[i],
					    sizeof(n[i])), 0);
		assert_int_equal(nonce_counts_accept(&t, n[i], 1), NC_OK);
	}
	assert_int_equal(t.used, 3);
	assert_int_equal(t.watermark_s, T0 + 10 + 36);
	for (int i = 0; i < 37; i++)
		assert_int_equal(nonce_counts_accept(&t, n[i], 2), NC_FORGOTTEN);
	for (int i = 37; i < 40; i++) {
		assert_int_equal(nonce_counts_accept(&t, n[i], 1), NC_REPLAY);
		assert_int_equal(nonce_counts_accept(&t, n[i], 2), NC_OK);
	}
	nonce_counts_free(&t);
	assert_null(t.slots);
}

/* --- the user store ----------------------------------------------------------- */

static void users_good_file(void **state)
{
	static const char text[] =
		"# Portcullis users\r\n"
		"\r\n"
		"   # indented comment\n"
		"alice\texample.com md5=93DFCE8DFEBFAE8AF4A726982429D23A  "
		"id=sips:alice@example.com "
		"# trailing comment\n"
		"\t\n"
		"bob example.com "
		"sha256=3fba7dacda70953b18d4d31c976f0f5fc38653cf6867d048f2b12609eea574c4"
		" id=sip:bob@example.com id=sip:+15550002@example.com;user=phone id=tel:+15550002 "
		"id=sip:b@example.com\n"
		"alice other.org md5=37593d991414f52c30246c60c7798431\n"
		"user%40x example.com md5=37593d991414f52c30246c60c7798431"; /* no final newline */
	struct users u;
	char err[256] = "untouched";
	assert_int_equal(users_parse(text, strlen(text), "users.conf", 10, &u, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_int_equal(u.n, 4);
	const struct user_entry *a = users_lookup(&u, "alice", "example.com");
	assert_non_null(a);
	assert_true(a->has_md5);
	assert_false(a->has_sha256);
	static const uint8_t md5[16] = { 0x93, 0xdf, 0xce, 0x8d, 0xfe, 0xbf, 0xae, 0x8a,
					 0xf4, 0xa7, 0x26, 0x98, 0x24, 0x29, 0xd2, 0x3a };
	assert_memory_equal(a->ha1_md5, md5, 16);
	assert_int_equal(a->n_ids, 1);
	assert_string_equal(a->ids[0], "sips:alice@example.com");
	assert_int_equal(a->line, 4);
	const struct user_entry *b = users_lookup(&u, "bob", "example.com");
	assert_non_null(b);
	assert_true(b->has_sha256);
	assert_false(b->has_md5);
	assert_int_equal(b->n_ids, 4);
	assert_string_equal(b->ids[3], "sip:b@example.com");
	const struct user_entry *a2 = users_lookup(&u, "alice", "other.org");
	assert_non_null(a2);
	assert_ptr_not_equal(a, a2);
	assert_non_null(users_lookup(&u, "user%40x", "example.com"));
	assert_null(users_lookup(&u, "bob", "other.org"));
	assert_null(users_lookup(&u, "carol", "example.com"));
	assert_null(users_lookup(&u, "ALICE", "example.com"));
	/* By identity, within a realm. */
	assert_ptr_equal(users_lookup_id(&u, "tel:+15550002", "example.com"), b);
	assert_ptr_equal(users_lookup_id(&u, "sips:alice@example.com", "example.com"), a);
	assert_null(users_lookup_id(&u, "sips:alice@example.com", "other.org"));
	assert_null(users_lookup_id(&u, "sip:alice@example.com", "example.com"));
	users_free(&u);
	assert_int_equal(u.n, 0);
	assert_null(u.v);
	assert_null(u.by_id);
}

/* An identity two users of a realm claim names neither of them. */
static void users_shared_id_names_nobody(void **state)
{
	static const char text[] =
		"alice example.com md5=37593d991414f52c30246c60c7798431 id=tel:+15550100\n"
		"bob example.com md5=37593d991414f52c30246c60c7798431 id=tel:+15550100 id=tel:+15550200\n"
		"carol other.org md5=37593d991414f52c30246c60c7798431 id=tel:+15550200\n";
	struct users u;
	char err[256];
	assert_int_equal(users_parse(text, strlen(text), "u", 10, &u, err, sizeof(err)), 0);
	assert_null(users_lookup_id(&u, "tel:+15550100", "example.com"));
	assert_ptr_equal(users_lookup_id(&u, "tel:+15550200", "example.com"),
			 users_lookup(&u, "bob", "example.com"));
	assert_ptr_equal(users_lookup_id(&u, "tel:+15550200", "other.org"),
			 users_lookup(&u, "carol", "other.org"));
	users_free(&u);
}

/* What the key holder tells the network process on a reload: the store's
 * users, algorithms and ids, read back by the same parser, and no HA1 —
 * not in the text, not in what parses from it. A line that does not fit is
 * refused, never cut. */
static void users_public_lines_carry_no_ha1(void **state)
{
	static const char text[] =
		"alice\texample.com md5=93DFCE8DFEBFAE8AF4A726982429D23A id=sips:alice@example.com\n"
		"bob example.com md5=37593d991414f52c30246c60c7798431 "
		"sha256=3fba7dacda70953b18d4d31c976f0f5fc38653cf6867d048f2b12609eea574c4"
		" id=tel:+15550002 id=sip:b@example.com\n"
		"carol other.org sha256=8a76b8adf2eb7492ff78f57bc361a5c93e2f53c6e93f7ee91f68b5382cfea14f\n";
	struct users u, back;
	char err[256], view[4 * (USERS_LINE_MAX + 2)], line[USERS_LINE_MAX + 2];
	size_t used = 0;
	assert_int_equal(users_parse(text, strlen(text), "u", 10, &u, err, sizeof(err)), 0);
	for (size_t i = 0; i < u.n; i++) {
		int w = users_public_line(&u.v[i], view + used, sizeof(view) - used);
		assert_true(w > 0);
		assert_int_equal(view[used + (size_t)w - 1], '\n');
		used += (size_t)w;
	}
	assert_null(strstr(view, "93dfce"));
	assert_null(strstr(view, "93DFCE"));
	assert_null(strstr(view, "37593d"));
	assert_null(strstr(view, "3fba7d"));
	assert_null(strstr(view, "8a76b8"));
	assert_int_equal(users_parse(view, used, "view", 10, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 3);
	static const uint8_t zero[32];
	for (size_t i = 0; i < back.n; i++) {
		const struct user_entry *o = &u.v[i], *b = &back.v[i];
		assert_string_equal(b->name, o->name);
		assert_string_equal(b->realm, o->realm);
		assert_int_equal(b->has_md5, o->has_md5);
		assert_int_equal(b->has_sha256, o->has_sha256);
		assert_memory_equal(b->ha1_md5, zero, 16);
		assert_memory_equal(b->ha1_sha256, zero, 32);
		assert_int_equal(b->n_ids, o->n_ids);
		for (size_t j = 0; j < b->n_ids; j++)
			assert_string_equal(b->ids[j], o->ids[j]);
	}
	assert_ptr_equal(users_lookup_id(&back, "tel:+15550002", "example.com"),
			 users_lookup(&back, "bob", "example.com"));
	/* Too short by one byte (the NUL): refused. */
	const struct user_entry *bob = users_lookup(&u, "bob", "example.com");
	int w = users_public_line(bob, line, sizeof(line));
	assert_true(w > 0);
	assert_int_equal(users_public_line(bob, line, (size_t)w), -1);
	assert_int_equal(users_public_line(bob, line, (size_t)w + 1), w);
	assert_int_equal(users_public_line(bob, line, 0), -1);
	users_free(&u);
	users_free(&back);
}

static void users_empty_file(void **state)
{
	struct users u;
	char err[64];
	assert_int_equal(users_parse("", 0, "empty", 10, &u, err, sizeof(err)), 0);
	assert_int_equal(u.n, 0);
	assert_null(users_lookup(&u, "alice", "example.com"));
	assert_int_equal(users_parse("# only\n\n", 8, "empty", 10, &u, err, sizeof(err)), 0);
	assert_int_equal(u.n, 0);
	users_free(&u);
}

#define MD5_OK "md5=93dfce8dfebfae8af4a726982429d23a"

static void expect_users_error(const char *text, size_t len, size_t max, const char *want)
{
	struct users u;
	char err[256];
	if (users_parse(text, len, "users.conf", max, &u, err, sizeof(err)) == 0)
		fail_msg("parsed, expected \"%s\"", want);
	assert_string_equal(err, want);
	assert_int_equal(u.n, 0);
	assert_null(u.v);
}

#define EXPECT_USERS_ERROR(text, want) expect_users_error(text, sizeof(text) - 1, 10, want)

static void users_errors_name_file_and_line(void **state)
{
	EXPECT_USERS_ERROR("alice example.com md5=93dfce8dfebfae8af4a726982429d23\n",
			   "users.conf:1: md5= needs 32 hex digits");
	EXPECT_USERS_ERROR("# c\nalice example.com md5=93dfce8dfebfae8af4a726982429d23z\n",
			   "users.conf:2: md5= needs 32 hex digits");
	EXPECT_USERS_ERROR("alice example.com sha256=00\n",
			   "users.conf:1: sha256= needs 64 hex digits");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " pass=x\n",
			   "users.conf:1: unknown key 'pass'");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " MD5=00\n",
			   "users.conf:1: unknown key 'MD5'");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK "\nbob example.com " MD5_OK "\n\n"
			   "alice example.com " MD5_OK "\n",
			   "users.conf:4: duplicate user alice in realm example.com "
			   "(first on line 1)");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " " MD5_OK "\n",
			   "users.conf:1: md5= given twice");
	EXPECT_USERS_ERROR("alice example.com\n",
			   "users.conf:1: expected USER REALM and md5= or sha256=");
	EXPECT_USERS_ERROR("alice example.com id=sip:alice@example.com\n",
			   "users.conf:1: needs md5= or sha256=");
	EXPECT_USERS_ERROR("al:ice example.com " MD5_OK "\n",
			   "users.conf:1: user name has a character outside RFC 3261 user "
			   "characters");
	EXPECT_USERS_ERROR("al%4 example.com " MD5_OK "\n",
			   "users.conf:1: user name has a character outside RFC 3261 user "
			   "characters");
	EXPECT_USERS_ERROR("alice exa\"mple " MD5_OK "\n",
			   "users.conf:1: realm has a character other than visible ASCII (no '\"' "
			   "or '\\')");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " id=http://example.com/\n",
			   "users.conf:1: id must be a sip:, sips: or tel: URI");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " id=sip:\n",
			   "users.conf:1: id must be a sip:, sips: or tel: URI");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " id=sip:a@b?Subject=x\n",
			   "users.conf:1: id must not carry URI headers");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " id=sip:a<b>@example.com\n",
			   "users.conf:1: id has a character not allowed in a URI");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " id=sip:alice@\n",
			   "users.conf:1: id does not parse as a URI");
	EXPECT_USERS_ERROR("a example.com\x01 " MD5_OK "\n", "users.conf:1: control character");
	EXPECT_USERS_ERROR("a example.com " MD5_OK "\n\0\n", "users.conf:2: NUL byte");
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " id=sip:a@x id=sip:b@x id=sip:c@x "
			   "id=sip:d@x id=sip:e@x\n",
			   "users.conf:1: more than 4 id= entries");
}

static void users_overlong_user_and_line(void **state)
{
	char text[2048];
	char name[80];
	memset(name, 'u', 65);
	name[65] = '\0';
	snprintf(text, sizeof(text), "%s example.com %s\n", name, MD5_OK);
	expect_users_error(text, strlen(text), 10,
			   "users.conf:1: user name is longer than 64 bytes");
	name[64] = '\0';
	snprintf(text, sizeof(text), "%s example.com %s\n", name, MD5_OK);
	struct users u;
	char err[256];
	assert_int_equal(users_parse(text, strlen(text), "users.conf", 10, &u, err, sizeof(err)),
			 0);
	assert_non_null(users_lookup(&u, name, "example.com"));
	users_free(&u);

	/* 1024 bytes of line are fine (CR LF not counted), 1025 are not */
	memset(text, 0, sizeof(text));
	text[0] = '#';
	memset(text + 1, 'x', 1023);
	memcpy(text + 1024, "\r\n", 2);
	assert_int_equal(users_parse(text, 1026, "users.conf", 10, &u, err, sizeof(err)), 0);
	users_free(&u);
	memcpy(text + 1024, "x\n", 2);
	expect_users_error(text, 1026, 10, "users.conf:1: line longer than 1024 bytes");
}

static void users_maximum(void **state)
{
	static const char three[] = "a example.com " MD5_OK "\nb example.com " MD5_OK "\n"
				    "# c\nc example.com " MD5_OK "\n";
	expect_users_error(three, sizeof(three) - 1, 2, "users.conf:4: more than 2 users");
	struct users u;
	char err[128];
	assert_int_equal(users_parse(three, sizeof(three) - 1, "users.conf", 3, &u, err,
				     sizeof(err)), 0);
	assert_int_equal(u.n, 3);
	users_free(&u);
	expect_users_error(three, sizeof(three) - 1, 0, "users.conf:1: more than 0 users");
}

static void users_growth_keeps_entries(void **state)
{
	char text[200 * 64];
	size_t len = 0;
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "u%d example.com %s\n", i,
					MD5_OK);
	struct users u;
	char err[128];
	assert_int_equal(users_parse(text, len, "big", 100, &u, err, sizeof(err)), 0);
	assert_int_equal(u.n, 100);
	for (int i = 0; i < 100; i++) {
		char name[16];
		snprintf(name, sizeof(name), "u%d", i);
		const struct user_entry *e = users_lookup(&u, name, "example.com");
		assert_non_null(e);
		assert_int_equal(e->line, (size_t)i + 1);
	}
	users_free(&u);
}

/* A password typed where a field belongs must not reach a log line. */
static void users_errors_never_quote_secrets(void **state)
{
	struct users u;
	char err[256];
	static const char a[] = "alice example.com hunter2\n";
	assert_int_equal(users_parse(a, sizeof(a) - 1, "users.conf", 10, &u, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "users.conf:1: field 3 is not key=value");
	static const char b[] = "alice example.com md5=hunter2\n";
	assert_int_equal(users_parse(b, sizeof(b) - 1, "users.conf", 10, &u, err, sizeof(err)),
			 -1);
	assert_null(strstr(err, "hunter2"));
	static const char c[] = "alice example.com password=hunter2\n";
	assert_int_equal(users_parse(c, sizeof(c) - 1, "users.conf", 10, &u, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "users.conf:1: unknown key 'password'");
	static const char d[] = "alice example.com thisisaverylongkeyname=hunter2\n";
	assert_int_equal(users_parse(d, sizeof(d) - 1, "users.conf", 10, &u, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "users.conf:1: unknown key in field 3");
}

static void users_id_limits(void **state)
{
	static const char four[] = "alice example.com " MD5_OK " id=sip:a@x id=sips:b@x "
				   "id=tel:+1555 id=sip:+1555@x;user=phone\n";
	struct users u;
	char err[128];
	assert_int_equal(users_parse(four, sizeof(four) - 1, "users.conf", 10, &u, err,
				     sizeof(err)), 0);
	const struct user_entry *e = users_lookup(&u, "alice", "example.com");
	assert_non_null(e);
	assert_int_equal(e->n_ids, USERS_IDS_MAX);
	assert_string_equal(e->ids[2], "tel:+1555");
	users_free(&u);
	EXPECT_USERS_ERROR("alice example.com " MD5_OK " id=tel:\n",
			   "users.conf:1: id must be a sip:, sips: or tel: URI");
	assert_null(users_id_problem("SIP:alice@example.com", 21));
	assert_non_null(users_id_problem("sip:alice example.com", 21));
}

/* --- the secrets elsewhere ------------------------------------------------ */

/* An oracle as the key holder is one: the secret and the full store live
 * behind it; it counts the questions. */
static unsigned asked;

static int o_mint(void *ctx, const char *realm, uint64_t now_s,
		  const uint8_t random[NONCE_RANDOM_LEN], char out[NONCE_BUF_LEN])
{
	asked++;
	return nonce_mint(secret, sizeof(secret), realm, now_s, random, out, NONCE_BUF_LEN);
}

static enum nonce_status o_check(void *ctx, const char *realm, const char *nonce, uint64_t now_s,
				 uint64_t lifetime_s)
{
	asked++;
	return nonce_check(secret, sizeof(secret), realm, nonce, now_s, lifetime_s);
}

static enum digest_answer o_answer(void *ctx, const struct digest_question *q)
{
	asked++;
	return digest_answer(ctx, q);
}

static void users_forget_ha1_keeps_the_rest(void **state)
{
	struct users u;
	char err[256];
	static const uint8_t zeros[32];
	assert_int_equal(users_parse(users_text, strlen(users_text), "users", 16, &u, err,
				     sizeof(err)), 0);
	users_forget_ha1(&u);
	for (size_t i = 0; i < u.n; i++) {
		assert_memory_equal(u.v[i].ha1_md5, zeros, 16);
		assert_memory_equal(u.v[i].ha1_sha256, zeros, 32);
	}
	const struct user_entry *a = users_lookup(&u, "alice", REALM);
	assert_non_null(a);
	assert_int_equal(a->n_ids, 2);
	assert_ptr_equal(users_lookup_id(&u, "tel:+15550001", REALM), a);
	users_free(&u);
}

static void verification_through_an_oracle(void **state)
{
	struct users names;
	char err[256];
	assert_int_equal(users_parse(users_text, strlen(users_text), "users", 16, &names, err,
				     sizeof(err)), 0);
	users_forget_ha1(&names);
	const struct digest_oracle o = { &users, o_mint, o_check, o_answer };
	srv.users = &names;
	srv.oracle = &o;
	srv.secret = NULL;
	srv.secret_len = 0;
	asked = 0;
	struct auth_result res;
	assert_int_equal(verify(&(struct creds){ .alg = "SHA-256" }, T0, &res), AUTH_OK);
	assert_ptr_equal(res.user, users_lookup(&names, "alice", REALM)); /* the entry is ours */
	assert_int_equal(asked, 2); /* the nonce, then the response */
	expect(&(struct creds){ .alg = "MD5", .nc = "00000002" }, T0, AUTH_OK, NULL);
	expect(&(struct creds){ .pw = "wonderlant", .nc = "00000003" }, T0, AUTH_FAILED,
	       "wrong response");
	expect(&(struct creds){ .user = "mallory" }, T0, AUTH_FAILED, "unknown user");
	expect(&(struct creds){ .user = "bob", .pw = "builder", .alg = "SHA-256" }, T0,
	       AUTH_FAILED, "no HA1 stored");
	expect(&(struct creds){ .alg = "MD5" }, T0, AUTH_REPLAY, NULL); /* counts stay here */
	expect(&(struct creds){ .alg = "MD5", .nc = "00000009" }, T0 + LIFETIME + 1, AUTH_STALE,
	       NULL);
	struct digest_challenge ch;
	uint8_t rnd[NONCE_RANDOM_LEN] = { 0 };
	asked = 0;
	assert_int_equal(digest_challenge(&srv, T0, rnd, false, &ch), 2);
	assert_int_equal(asked, 1);
	srv.oracle = NULL;
	users_free(&names);
}

/* The holder's side: a malformed question is refused, not answered. */
static void digest_answer_questions(void **state)
{
	struct digest_question q;
	uint8_t ha1[DIGEST_MAX_LEN];
	memset(&q, 0, sizeof(q));
	q.alg = DIGEST_MD5;
	snprintf(q.username, sizeof(q.username), "alice");
	snprintf(q.realm, sizeof(q.realm), REALM);
	snprintf(q.nonce, sizeof(q.nonce), "%s", mint(T0, 1));
	snprintf(q.nc, sizeof(q.nc), "00000001");
	snprintf(q.cnonce, sizeof(q.cnonce), CNONCE);
	snprintf(q.qop, sizeof(q.qop), "auth");
	digest_ha2(DIGEST_MD5, "REGISTER", "sip:" REALM, q.ha2);
	digest_ha1(DIGEST_MD5, "alice", REALM, "wonderland", 10, ha1);
	digest_response_ha2(DIGEST_MD5, ha1, q.ha2, q.nonce, q.nc, q.cnonce, q.qop, q.response);
	assert_int_equal(digest_answer(&users, &q), DIGEST_MATCH);
	struct digest_question b = q;
	b.response[15] ^= 0x80;
	assert_int_equal(digest_answer(&users, &b), DIGEST_MISMATCH);
	b = q; b.ha2[0] ^= 1; /* another method or URI */
	assert_int_equal(digest_answer(&users, &b), DIGEST_MISMATCH);
	b = q; snprintf(b.username, sizeof(b.username), "mallory");
	assert_int_equal(digest_answer(&users, &b), DIGEST_UNKNOWN_USER);
	b = q; snprintf(b.realm, sizeof(b.realm), "other.org"); /* that alice's HA1 is zeros */
	assert_int_equal(digest_answer(&users, &b), DIGEST_MISMATCH);
	b = q; b.alg = 2;
	assert_int_equal(digest_answer(&users, &b), DIGEST_REFUSED);
	b = q; memset(b.cnonce, 'c', sizeof(b.cnonce));
	assert_int_equal(digest_answer(&users, &b), DIGEST_REFUSED);
	b = q; b.nonce[0] = '\0';
	assert_int_equal(digest_answer(&users, &b), DIGEST_REFUSED);
	b = q; snprintf(b.nc, sizeof(b.nc), "0000001g");
	assert_int_equal(digest_answer(&users, &b), DIGEST_REFUSED);
	b = q; snprintf(b.qop, sizeof(b.qop), "auth-int");
	assert_int_equal(digest_answer(&users, &b), DIGEST_REFUSED);
	assert_null(digest_question_problem(&q));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(rfc7616_md5_vector),
		T(rfc7616_sha256_vector),
		T(ha1_matches_the_store),
		T(register_md5_ok),
		T(register_sha256_ok),
		T(no_algorithm_means_md5),
		T(sha256_only_user),
		T(wrong_password_fails),
		T(unknown_user_fails),
		T(other_realm_fails),
		T(digest_uri_must_match_request_uri),
		T(refused_algorithms_and_qops),
		T(missing_parameters),
		T(duplicated_parameters),
		T(bounded_and_checked_values),
		T(quoting_is_undone),
		T(no_credentials),
		T(proxy_authorization_for_invite),
		T(credentials_for_several_realms),
		T(expired_nonce_is_stale),
		T(foreign_nonces_fail),
		T(nonce_count_replay),
		T(nonce_count_increasing_ok_twice),
		T(failed_attempt_records_no_count),
		T(evicted_nonce_is_stale),
		T(nonce_older_than_table_is_stale),
		T(algorithms_can_be_restricted),
		T(missing_table_fails_closed),
		T(challenge_sha256_first_then_md5),
		T(challenge_stale_true),
		T(challenge_refuses_bad_realm_or_secret),
		T(challenge_answered_round_trip),
		T(nonce_mint_and_check),
		T(nonce_non_canonical_spelling_refused),
		T(nonce_refuses_short_secret_and_buffer),
		T(nonce_counts_table),
		T(users_good_file),
		T(users_shared_id_names_nobody),
		T(users_public_lines_carry_no_ha1),
		T(users_empty_file),
		T(users_errors_name_file_and_line),
		T(users_overlong_user_and_line),
		T(users_maximum),
		T(users_growth_keeps_entries),
		T(users_errors_never_quote_secrets),
		T(users_id_limits),
		T(users_forget_ha1_keeps_the_rest),
		T(verification_through_an_oracle),
		T(digest_answer_questions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
