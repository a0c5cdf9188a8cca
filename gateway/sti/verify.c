/* sti/verify: one call's Identity check from header text to a result, with
 * the certificate lookup possibly waiting on a fetch (verify.h). The token
 * is copied into the check while it waits: the request's text is the
 * caller's. An RFC 4474 check keeps its signature, a copy of the
 * digest-string and the From host instead of a token. */
#include "sti/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stir/identity_hdr.h"
#include "stir/rfc4474.h"

struct sti_check {
	struct sti_wait *wait;
	sti_check_fn done;
	void *arg;
	struct stir_expect expect;
	struct stir_identity id;
	char text[STIR_TOKEN_MAX + STIR_URL_MAX + 64]; /* the header value id points into */
	char input[STIR_TOKEN_MAX];                    /* a compact form's rebuilt input */
	/* RFC 4474 (legacy set): the request's signature, digest-string and
	 * From host, and the hash its Identity-Info names. */
	bool legacy, sha1;
	uint8_t sig[1024];
	size_t sig_len;
	char *digest; /* a copy: the body may be large, the request is the caller's */
	size_t digest_len;
	char host[256];
};

static void check_free(struct sti_check *c)
{
	if (!c)
		return;
	free(c->digest);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/* The first header that parses: several may come (one per ppt, RFC 8224
 * §4.1); one we cannot read is skipped, and its reason kept for when none
 * can be read. */
static enum stir_result pick_identity(const struct sti_identity_values *ids, struct sti_check *c)
{
	enum stir_result first = STIR_NO_IDENTITY;
	for (unsigned i = 0; i < ids->n; i++) {
		if (ids->len[i] >= sizeof(c->text)) {
			if (first == STIR_NO_IDENTITY)
				first = STIR_MALFORMED;
			continue;
		}
		memcpy(c->text, ids->value[i], ids->len[i]);
		c->text[ids->len[i]] = '\0';
		enum stir_result r = stir_identity_parse(c->text, ids->len[i], &c->id);
		if (r == STIR_PASSED)
			return r;
		if (first == STIR_NO_IDENTITY)
			first = r;
	}
	return first;
}

/* A compact form carries only the signature: its header and claims are
 * the ones the request implies (RFC 8224 §4.1.1). */
static enum stir_result rebuild_compact(struct sti_check *c)
{
	if (!c->id.compact)
		return STIR_PASSED;
	struct stir_claims claims;
	stir_claims_from_request(&c->expect, c->expect.date, c->id.info, &claims);
	size_t n = stir_passport_signing_input(&claims, c->input, sizeof(c->input));
	if (n == 0)
		return STIR_MALFORMED;
	c->id.token.input = c->input;
	c->id.token.input_len = n;
	c->id.token.claims = claims;
	return STIR_PASSED;
}

/* Signature, then claims, then whether the certificate covers the calling
 * number: a token that does not verify says nothing about its claims. */
static enum stir_result check_with(struct sti_check *c, const struct stir_cert *cert)
{
	enum stir_result r = stir_cert_valid_at(cert, (time_t)c->expect.now);
	if (c->legacy) {
		/* The signature first: one that does not verify says nothing of
		 * who signed. Then whether that signer speaks for the From's
		 * domain (RFC 4474 §6.2 step 2, §13.4). */
		if (r == STIR_PASSED)
			r = stir_cert_verify_rsa(cert, c->digest, c->digest_len, c->sig, c->sig_len,
						 c->sha1);
		if (r == STIR_PASSED && !stir_cert_names_host(cert, c->host))
			r = STIR_ORIG_MISMATCH;
		return r;
	}
	if (r == STIR_PASSED)
		r = stir_cert_verify_es256(cert, c->id.token.input, c->id.token.input_len,
					   c->id.token.sig);
	if (r == STIR_PASSED)
		r = stir_verify_claims(&c->id.token.claims, &c->expect);
	/* A certificate that lists numbers vouches for those alone. */
	const struct stir_party *orig = &c->id.token.claims.orig;
	if (r == STIR_PASSED &&
	    !stir_tnauth_covers(stir_cert_tnauth(cert), orig->is_uri ? NULL : orig->value))
		r = STIR_ORIG_MISMATCH;
	return r;
}

static void cert_arrived(void *arg, enum stir_result r, const struct stir_cert *cert)
{
	struct sti_check *c = arg;
	c->wait = NULL;
	if (r == STIR_PASSED)
		r = check_with(c, cert);
	sti_check_fn done = c->done;
	void *darg = c->arg;
	check_free(c);
	done(darg, r);
}

static enum stir_result finish(struct sti_check *c, enum stir_result r)
{
	check_free(c);
	return r;
}

/* The certificate at c's info URL (an RSA chain for RFC 4474): checked now
 * when known, else c waits for the fetch and is the caller's pending check. */
static enum stir_result with_certificate(struct sti_repo *repo, struct sti_check *c,
					 struct sti_check **pending)
{
	const struct stir_cert *cert = NULL;
	long now = (long)c->expect.now;
	enum stir_result r =
		c->legacy ? sti_repo_get_rsa(repo, c->id.info, now, &cert, cert_arrived, c, &c->wait)
			  : sti_repo_get(repo, c->id.info, now, &cert, cert_arrived, c, &c->wait);
	if (r == STIR_RESULT__COUNT) {
		*pending = c;
		return r;
	}
	return finish(c, r == STIR_PASSED ? check_with(c, cert) : r);
}

enum stir_result sti_verify(struct sti_repo *repo, const struct sti_identity_values *ids,
			    const struct stir_expect *expect, sti_check_fn done, void *arg,
			    struct sti_check **pending)
{
	*pending = NULL;
	struct sti_check *c = calloc(1, sizeof(*c));
	if (!c)
		return STIR_INFO_UNREACHABLE;
	c->expect = *expect;
	c->done = done;
	c->arg = arg;
	enum stir_result r = pick_identity(ids, c);
	if (r == STIR_PASSED)
		r = rebuild_compact(c);
	return r == STIR_PASSED ? with_certificate(repo, c, pending) : finish(c, r);
}

/* What the request itself says, before any certificate is fetched: the
 * header shapes, the algorithm allowed, the Date fresh. */
static enum stir_result legacy_prepare(struct sti_check *c, const struct sti_4474_request *q)
{
	enum stir_result r = stir_4474_info_parse(q->info, q->info_len, c->id.info,
						  sizeof(c->id.info), &c->sha1);
	if (r != STIR_PASSED)
		return r;
	if (c->sha1 && !q->allow_sha1)
		return STIR_WEAK_ALG;
	c->sig_len = stir_4474_identity_parse(q->identity, q->identity_len, c->sig, sizeof(c->sig));
	if (c->sig_len == (size_t)-1 || c->sig_len == 0)
		return STIR_MALFORMED;
	if ((r = stir_4474_date_check(q->date, q->now, q->max_age_s)) != STIR_PASSED)
		return r;
	if (!q->digest || q->digest_len == 0)
		return STIR_MALFORMED;
	snprintf(c->host, sizeof(c->host), "%s", q->from_host ? q->from_host : "");
	c->digest = malloc(q->digest_len);
	if (!c->digest)
		return STIR_INFO_UNREACHABLE;
	memcpy(c->digest, q->digest, q->digest_len);
	c->digest_len = q->digest_len;
	return STIR_PASSED;
}

enum stir_result sti_verify_4474(struct sti_repo *repo, const struct sti_4474_request *req,
				 sti_check_fn done, void *arg, struct sti_check **pending)
{
	*pending = NULL;
	struct sti_check *c = calloc(1, sizeof(*c));
	if (!c)
		return STIR_INFO_UNREACHABLE;
	c->legacy = true;
	c->expect.now = req->now;
	c->done = done;
	c->arg = arg;
	enum stir_result r = legacy_prepare(c, req);
	return r == STIR_PASSED ? with_certificate(repo, c, pending) : finish(c, r);
}

void sti_check_cancel(struct sti_check *c)
{
	if (!c)
		return;
	sti_wait_cancel(c->wait);
	check_free(c);
}
