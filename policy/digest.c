/* Digest credentials: parsing Sofia's parameter list, checking each claim
 * against the request and the gateway's own state, and writing challenges.
 * The order of the checks in digest_verify() is deliberate: nothing from the
 * client is trusted before its nonce proved to be ours, the response is
 * computed for unknown users too (so timing does not tell which names
 * exist), and a nonce count is only recorded after the response verified.
 * The steps that need a secret (the nonce MAC, the HA1) are separate
 * functions (nonce_mint/nonce_check, digest_answer) that a process holding
 * the secrets runs when the gateway gives digest_server an oracle. */
#include "policy/digest.h"

#include "core/hex.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <nettle/md5.h>
#include <nettle/memops.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha2.h>
#include <sofia-sip/url.h>

union hash_ctx {
	struct md5_ctx md5;
	struct sha256_ctx sha256;
};

struct span {
	const void *p;
	size_t n;
};

static const struct nettle_hash *hash_of(enum digest_alg a)
{
	return a == DIGEST_SHA256 ? &nettle_sha256 : &nettle_md5;
}

const char *digest_alg_name(enum digest_alg a) { return a == DIGEST_SHA256 ? "SHA-256" : "MD5"; }

const char *auth_outcome_name(enum auth_outcome o)
{
	switch (o) {
	case AUTH_OK: return "ok";
	case AUTH_NO_CREDENTIALS: return "no-credentials";
	case AUTH_STALE: return "stale";
	case AUTH_FAILED: return "failed";
	case AUTH_REPLAY: return "replay";
	case AUTH_MALFORMED: return "malformed";
	}
	return "?";
}

/* H(part ":" part ":" ...) */
static size_t hash_joined(enum digest_alg alg, const struct span *parts, size_t n,
			  uint8_t out[DIGEST_MAX_LEN])
{
	const struct nettle_hash *h = hash_of(alg);
	union hash_ctx ctx;

	h->init(&ctx);
	for (size_t i = 0; i < n; i++) {
		if (i)
			h->update(&ctx, 1, (const uint8_t *)":");
		h->update(&ctx, parts[i].n, parts[i].p);
	}
	h->digest(&ctx, h->digest_size, out);
	/* The state after HA1 material went in is as good as HA1. */
	explicit_bzero(&ctx, sizeof(ctx));
	return h->digest_size;
}

static struct span str_span(const char *s) { return (struct span){ s, strlen(s) }; }

void digest_hex(const uint8_t *d, size_t len, char *out)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * len] = '\0';
}

size_t digest_ha1(enum digest_alg alg, const char *user, const char *realm, const char *password,
		  size_t password_len, uint8_t out[DIGEST_MAX_LEN])
{
	const struct span parts[] = { str_span(user), str_span(realm), { password, password_len } };
	return hash_joined(alg, parts, 3, out);
}

size_t digest_ha2(enum digest_alg alg, const char *method, const char *uri,
		  uint8_t out[DIGEST_MAX_LEN])
{
	const struct span a2[] = { str_span(method), str_span(uri) };
	return hash_joined(alg, a2, 2, out);
}

size_t digest_response_ha2(enum digest_alg alg, const uint8_t *ha1, const uint8_t *ha2,
			   const char *nonce, const char *nc, const char *cnonce, const char *qop,
			   uint8_t out[DIGEST_MAX_LEN])
{
	size_t dlen = hash_of(alg)->digest_size;
	char ha1_hex[DIGEST_HEX_MAX + 1];
	char ha2_hex[DIGEST_HEX_MAX + 1];

	digest_hex(ha2, dlen, ha2_hex);
	digest_hex(ha1, dlen, ha1_hex);
	const struct span kd[] = { { ha1_hex, 2 * dlen }, str_span(nonce), str_span(nc),
				   str_span(cnonce), str_span(qop), { ha2_hex, 2 * dlen } };
	hash_joined(alg, kd, 6, out);
	explicit_bzero(ha1_hex, sizeof(ha1_hex));
	return dlen;
}

size_t digest_response(enum digest_alg alg, const uint8_t *ha1, const char *method,
		       const char *uri, const char *nonce, const char *nc, const char *cnonce,
		       const char *qop, uint8_t out[DIGEST_MAX_LEN])
{
	uint8_t ha2[DIGEST_MAX_LEN];
	digest_ha2(alg, method, uri, ha2);
	return digest_response_ha2(alg, ha1, ha2, nonce, nc, cnonce, qop, out);
}

/* A field of a question: terminated inside it, and not empty when `need`. */
static bool field_ok(const char *f, size_t cap, bool need)
{
	size_t n = strnlen(f, cap);
	return n < cap && (n > 0 || !need);
}

#define FIELD_OK(q, f) field_ok((q)->f, sizeof((q)->f), true)

const char *digest_question_problem(const struct digest_question *q)
{
	if (q->alg != DIGEST_MD5 && q->alg != DIGEST_SHA256)
		return "unknown algorithm";
	if (!FIELD_OK(q, username) || !FIELD_OK(q, realm) || !FIELD_OK(q, nonce) ||
	    !FIELD_OK(q, cnonce) || !FIELD_OK(q, nc) || !FIELD_OK(q, qop))
		return "a field is empty or unterminated";
	if (strcmp(q->qop, "auth") != 0)
		return "qop is not auth";
	for (size_t i = 0; i < 8; i++)
		if (hex_digit(q->nc[i]) < 0)
			return "nc is not 8 hex digits";
	return NULL;
}

enum digest_answer digest_answer(const struct users *users, const struct digest_question *q)
{
	if (digest_question_problem(q))
		return DIGEST_REFUSED;
	enum digest_alg alg = (enum digest_alg)q->alg;
	const struct user_entry *u = users ? users_lookup(users, q->username, q->realm) : NULL;
	const uint8_t *ha1 = NULL;
	if (u)
		ha1 = alg == DIGEST_SHA256 ? (u->has_sha256 ? u->ha1_sha256 : NULL)
					   : (u->has_md5 ? u->ha1_md5 : NULL);
	/* Without a stored HA1 the same work is done on zeros, so an unknown
	 * name costs as long as a known one. */
	static const uint8_t zeros[DIGEST_MAX_LEN];
	uint8_t expect[DIGEST_MAX_LEN];
	size_t dlen = digest_response_ha2(alg, ha1 ? ha1 : zeros, q->ha2, q->nonce, q->nc, q->cnonce,
					  q->qop, expect);
	int same = memeql_sec(expect, q->response, dlen);
	explicit_bzero(expect, sizeof(expect));
	if (!u)
		return DIGEST_UNKNOWN_USER;
	if (!ha1)
		return DIGEST_NO_HA1;
	return same ? DIGEST_MATCH : DIGEST_MISMATCH;
}

/* RFC 3261 §25.1 token characters. */
static bool is_token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-.!%*_+`'~", c));
}

enum { UQ_OK = 0, UQ_BAD, UQ_LONG, UQ_EMPTY };

/* A parameter value is a token or a quoted-string (RFC 3261 §25.1); both
 * forms are taken for every parameter, since the quotes change nothing in
 * what is hashed and clients differ on which ones they quote. Control
 * characters are refused even when escaped: no field needs them, and the
 * user name reaches log lines. */
static int unquote(const char *v, char *out, size_t cap)
{
	size_t n = 0;

	if (*v == '"') {
		for (v++;; v++) {
			unsigned char c = (unsigned char)*v;
			if (c == '\0')
				return UQ_BAD;
			if (c == '"')
				break;
			if (c == '\\') {
				c = (unsigned char)*++v;
				/* quoted-pair excludes CR, LF and non-ASCII */
				if (c == '\0' || c == '\r' || c == '\n' || c > 0x7f)
					return UQ_BAD;
			}
			if (c < 0x20 || c == 0x7f)
				return UQ_BAD;
			if (n + 1 >= cap)
				return UQ_LONG;
			out[n++] = (char)c;
		}
		if (v[1] != '\0')
			return UQ_BAD;
	} else {
		for (; *v; v++) {
			if (!is_token_char((unsigned char)*v))
				return UQ_BAD;
			if (n + 1 >= cap)
				return UQ_LONG;
			out[n++] = *v;
		}
	}
	out[n] = '\0';
	return n ? UQ_OK : UQ_EMPTY;
}

struct param_spec {
	const char *name;
	size_t off, cap;
	bool may_be_empty;
	const char *missing, *dup, *too_long, *bad, *empty;
};

enum {
	P_USERNAME, P_REALM, P_NONCE, P_URI, P_RESPONSE, /* required, in this order */
	P_ALGORITHM, P_QOP, P_NC, P_CNONCE, P_OPAQUE, P_USERHASH,
	P_COUNT
};

#define SEEN(p) (1u << (p))

#define PARAM(n, field, empty_ok) \
	{ #n, offsetof(struct digest_credentials, field), \
	  sizeof(((struct digest_credentials *)0)->field), empty_ok, "missing " #n, \
	  "duplicate " #n, #n " is too long", #n " is badly quoted or has control characters", \
	  #n " is empty" }

static const struct param_spec params[P_COUNT] = {
	[P_USERNAME] = PARAM(username, username, false),
	[P_REALM] = PARAM(realm, realm, false),
	[P_NONCE] = PARAM(nonce, nonce, false),
	[P_URI] = PARAM(uri, uri, false),
	[P_RESPONSE] = PARAM(response, response, false),
	[P_ALGORITHM] = PARAM(algorithm, algorithm, false),
	[P_QOP] = PARAM(qop, qop, false),
	[P_NC] = PARAM(nc, nc_text, false),
	[P_CNONCE] = PARAM(cnonce, cnonce, false),
	[P_OPAQUE] = PARAM(opaque, opaque, true),
	[P_USERHASH] = PARAM(userhash, userhash, false),
};

static const char *check_semantics(struct digest_credentials *c, unsigned seen)
{
	for (size_t i = P_USERNAME; i <= P_RESPONSE; i++)
		if (!(seen & SEEN(i)))
			return params[i].missing;

	if (!(seen & SEEN(P_ALGORITHM)) || !strcasecmp(c->algorithm, "MD5")) {
		c->alg = DIGEST_MD5; /* RFC 7616 §3.3: MD5 when absent */
	} else if (!strcasecmp(c->algorithm, "SHA-256")) {
		c->alg = DIGEST_SHA256;
	} else {
		size_t l = strlen(c->algorithm);
		if (l > 5 && !strcasecmp(c->algorithm + l - 5, "-sess"))
			return "session algorithms (-sess) are not offered";
		return "unknown algorithm";
	}
	/* We always challenge with qop="auth", so an answer without qop is
	 * RFC 2069 style (no cnonce, no count): refused, it cannot be
	 * replay-checked. */
	if (!(seen & SEEN(P_QOP)))
		return "missing qop (RFC 2069 digest is not accepted)";
	if (strcmp(c->qop, "auth") != 0)
		return !strcasecmp(c->qop, "auth-int") ? "qop=auth-int is not offered"
						     : "unknown qop";
	if (!(seen & SEEN(P_NC)))
		return "missing nc";
	if (!(seen & SEEN(P_CNONCE)))
		return "missing cnonce";
	uint32_t nc = 0;
	for (size_t i = 0; i < 8; i++) {
		int v = hex_digit(c->nc_text[i]);
		if (v < 0)
			return "nc is not 8 hex digits";
		nc = nc << 4 | (uint32_t)v;
	}
	if (nc == 0)
		return "nc is zero";
	c->nc = nc;
	uint8_t dummy[DIGEST_MAX_LEN];
	if (!hex_decode(c->response, strlen(c->response), dummy, hash_of(c->alg)->digest_size))
		return c->alg == DIGEST_SHA256 ? "response is not a hex SHA-256 digest"
					       : "response is not a hex MD5 digest";
	/* RFC 7616 §3.4.4: we never offer userhash, so the name is plain. */
	if ((seen & SEEN(P_USERHASH)) && strcasecmp(c->userhash, "false") != 0)
		return "userhash is not offered";
	return NULL;
}

int digest_parse_credentials(const msg_auth_t *au, struct digest_credentials *c,
			     const char **why)
{
	unsigned seen = 0;
	size_t count = 0;

	memset(c, 0, sizeof(*c));
	*why = NULL;
	if (!au || !au->au_scheme || strcasecmp(au->au_scheme, "Digest") != 0) {
		*why = "not Digest credentials";
		return -1;
	}
	for (size_t i = 0; au->au_params && au->au_params[i]; i++) {
		const char *p = au->au_params[i];
		if (++count > DIGEST_PARAMS_MAX) {
			*why = "too many parameters";
			return -1;
		}
		const char *eq = strchr(p, '=');
		if (!eq || eq == p) {
			*why = "parameter without name=value";
			return -1;
		}
		for (const char *q = p; q < eq; q++) {
			if (!is_token_char((unsigned char)*q)) {
				*why = "bad parameter name";
				return -1;
			}
		}
		size_t nlen = (size_t)(eq - p);
		size_t k;
		for (k = 0; k < P_COUNT; k++)
			if (strlen(params[k].name) == nlen && !strncasecmp(p, params[k].name, nlen))
				break;
		if (k == P_COUNT)
			continue; /* RFC 2617 §3.2.2 auth-param: unknown ones are ignored */
		const struct param_spec *s = &params[k];
		if (seen & SEEN(k)) {
			*why = s->dup;
			return -1;
		}
		seen |= SEEN(k);
		int r = unquote(eq + 1, (char *)c + s->off, s->cap);
		if (r == UQ_EMPTY && s->may_be_empty)
			r = UQ_OK;
		if (r != UQ_OK) {
			*why = r == UQ_LONG ? s->too_long : r == UQ_EMPTY ? s->empty : s->bad;
			return -1;
		}
	}
	*why = check_semantics(c, seen);
	return *why ? -1 : 0;
}

static enum auth_outcome done(struct auth_result *res, enum auth_outcome o, const char *why)
{
	res->outcome = o;
	res->reason = why;
	if (o != AUTH_OK)
		res->user = NULL;
	return o;
}

static bool alg_allowed(const struct digest_server *srv, enum digest_alg a)
{
	return !srv->algorithms || (srv->algorithms & DIGEST_ALG_BIT(a));
}

/* The digest uri must name the Request-URI (RFC 7616 §3.4.6, RFC 2617
 * §3.2.2.5: otherwise 400). Both go through Sofia's parser and printer, so
 * they are compared in the same canonical spelling (url_d un-escapes what
 * needs no escaping); otherwise byte for byte: the client copies its own
 * Request-URI, so nothing looser is needed. */
static bool uri_matches(const char *digest_uri, const url_t *ruri)
{
	char copy[DIGEST_URI_MAX + 1];
	char a[2 * DIGEST_URI_MAX + 1], b[2 * DIGEST_URI_MAX + 1];
	url_t u;

	if (!ruri)
		return false;
	size_t l = strlen(digest_uri);
	if (l > DIGEST_URI_MAX)
		return false;
	memcpy(copy, digest_uri, l + 1);
	memset(&u, 0, sizeof(u));
	if (url_d(&u, copy) < 0)
		return false;
	issize_t na = url_e(a, sizeof(a), &u);
	issize_t nb = url_e(b, sizeof(b), ruri);
	if (na < 0 || nb < 0 || (size_t)na >= sizeof(a) || (size_t)nb >= sizeof(b))
		return false;
	return na == nb && memcmp(a, b, (size_t)na) == 0;
}

/* RFC 3261 §22.3: a request may carry credentials for several realms; ours
 * are the ones naming our realm, and there must be one set. AUTH_OK with
 * them in *c, else the outcome to return. */
static enum auth_outcome our_credentials(const struct digest_server *srv, const msg_auth_t *list,
					 struct digest_credentials *c, struct digest_credentials *tmp,
					 struct auth_result *res)
{
	bool digest_seen = false, found = false;
	const char *why;
	for (const msg_auth_t *a = list; a; a = a->au_next) {
		if (!a->au_scheme || strcasecmp(a->au_scheme, "Digest") != 0)
			continue;
		digest_seen = true;
		if (digest_parse_credentials(a, tmp, &why) < 0)
			return done(res, AUTH_MALFORMED, why);
		memcpy(res->username, tmp->username, sizeof(res->username));
		res->alg = tmp->alg;
		if (strcmp(tmp->realm, srv->realm) != 0)
			continue;
		if (found)
			return done(res, AUTH_MALFORMED, "two sets of credentials for our realm");
		*c = *tmp;
		found = true;
	}
	if (!digest_seen)
		return done(res, AUTH_NO_CREDENTIALS, "no Digest credentials");
	/* Only an answer to a challenge someone else sent: nothing we can
	 * check, and counting it stops a client that loops on it. */
	if (!found)
		return done(res, AUTH_FAILED, "credentials for another realm");
	return AUTH_OK;
}

/* The question for the HA1 holder: all but the HA1 is computed here. */
static void make_question(const struct digest_server *srv, const sip_t *sip,
			  const struct digest_credentials *c, struct digest_question *q)
{
	memset(q, 0, sizeof(*q));
	q->alg = c->alg;
	memcpy(q->username, c->username, sizeof(q->username));
	snprintf(q->realm, sizeof(q->realm), "%s", srv->realm);
	memcpy(q->nonce, c->nonce, sizeof(q->nonce));
	memcpy(q->nc, c->nc_text, sizeof(q->nc));
	memcpy(q->cnonce, c->cnonce, sizeof(q->cnonce));
	memcpy(q->qop, c->qop, sizeof(q->qop));
	size_t dlen = digest_ha2(c->alg, sip->sip_request->rq_method_name, c->uri, q->ha2);
	(void)hex_decode(c->response, strlen(c->response), q->response, dlen); /* checked by the parser */
}

/* The verdict from the holder's answer, the nonce's age and its count. */
static enum auth_outcome judge(const struct digest_server *srv, enum digest_answer a,
			       const struct user_entry *u, enum nonce_status ns,
			       const struct digest_credentials *c, struct auth_result *res)
{
	if (a == DIGEST_UNANSWERED || a == DIGEST_REFUSED)
		return done(res, AUTH_FAILED, "the HA1 holder did not answer");
	if (a == DIGEST_UNKNOWN_USER || (a == DIGEST_MATCH && !u))
		return done(res, AUTH_FAILED, "unknown user");
	if (a == DIGEST_NO_HA1)
		return done(res, AUTH_FAILED, "no HA1 stored for this algorithm");
	if (a != DIGEST_MATCH)
		return done(res, AUTH_FAILED, "wrong response");
	if (ns == NONCE_STALE) /* RFC 7616 §3.3: stale=true only for a right answer to an old nonce. */
		return done(res, AUTH_STALE, "nonce expired");
	if (!srv->counts)
		return done(res, AUTH_FAILED, "no nonce-count table"); /* fail closed */
	switch (nonce_counts_accept(srv->counts, c->nonce, c->nc)) {
	case NC_OK:
		res->user = u;
		return done(res, AUTH_OK, "authenticated");
	case NC_REPLAY:
		return done(res, AUTH_REPLAY, "nonce count not above one already used");
	case NC_FORGOTTEN:
		return done(res, AUTH_STALE, "nonce unknown to the nonce-count table "
					     "(evicted, or older than it)");
	default:
		return done(res, AUTH_FAILED, "nonce not issued by us");
	}
}

static enum auth_outcome verify_ours(const struct digest_server *srv, const sip_t *sip,
				     uint64_t now_s, struct digest_credentials *c,
				     struct digest_question *q, struct auth_result *res)
{
	memcpy(res->username, c->username, sizeof(res->username));
	res->alg = c->alg;
	if (!alg_allowed(srv, c->alg))
		return done(res, AUTH_MALFORMED, "algorithm not offered");
	if (!uri_matches(c->uri, sip->sip_request->rq_url))
		return done(res, AUTH_MALFORMED, "digest uri differs from the Request-URI");

	const struct digest_oracle *or = srv->oracle;
	enum nonce_status ns =
		or ? or->check_nonce(or->ctx, srv->realm, c->nonce, now_s, srv->nonce_lifetime_s)
		   : nonce_check(srv->secret, srv->secret_len, srv->realm, c->nonce, now_s,
				 srv->nonce_lifetime_s);
	if (ns == NONCE_INVALID)
		return done(res, AUTH_FAILED, "nonce not issued by us");
	make_question(srv, sip, c, q);
	enum digest_answer a = or ? or->answer(or->ctx, q) : digest_answer(srv->users, q);
	const struct user_entry *u = a == DIGEST_MATCH && srv->users
					     ? users_lookup(srv->users, c->username, srv->realm)
					     : NULL;
	return judge(srv, a, u, ns, c, res);
}

enum auth_outcome digest_verify(const struct digest_server *srv, const sip_t *sip,
				enum digest_header which, uint64_t now_s, struct auth_result *res)
{
	struct digest_credentials c, tmp;
	struct digest_question q;

	memset(res, 0, sizeof(*res));
	if (!srv || !srv->realm || !sip || !sip->sip_request || !sip->sip_request->rq_method_name)
		return done(res, AUTH_MALFORMED, "not a request");
	const msg_auth_t *list = which == DIGEST_PROXY_AUTHORIZATION
					 ? sip->sip_proxy_authorization
					 : sip->sip_authorization;
	memset(&c, 0, sizeof(c));
	memset(&q, 0, sizeof(q));
	enum auth_outcome o = our_credentials(srv, list, &c, &tmp, res);
	if (o == AUTH_OK)
		o = verify_ours(srv, sip, now_s, &c, &q, res);
	explicit_bzero(&c, sizeof(c));
	explicit_bzero(&tmp, sizeof(tmp));
	explicit_bzero(&q, sizeof(q));
	return o;
}

int digest_challenge(const struct digest_server *srv, uint64_t now_s,
		     const uint8_t random[NONCE_RANDOM_LEN], bool stale,
		     struct digest_challenge *out)
{
	static const enum digest_alg order[] = { DIGEST_SHA256, DIGEST_MD5 };
	char nonce[NONCE_BUF_LEN];

	out->count = 0;
	if (!srv || !srv->realm || users_realm_problem(srv->realm, strlen(srv->realm)))
		return -1;
	if (srv->oracle ? srv->oracle->mint(srv->oracle->ctx, srv->realm, now_s, random, nonce)
			: nonce_mint(srv->secret, srv->secret_len, srv->realm, now_s, random, nonce,
				     sizeof(nonce)))
		return -1;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!alg_allowed(srv, order[i]))
			continue;
		char *v = out->value[out->count];
		int n = snprintf(v, DIGEST_CHALLENGE_MAX,
				 "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s",
				 srv->realm, nonce, digest_alg_name(order[i]),
				 stale ? ", stale=true" : "");
		if (n < 0 || n >= DIGEST_CHALLENGE_MAX)
			return -1;
		out->count++;
	}
	return out->count ? (int)out->count : -1;
}
