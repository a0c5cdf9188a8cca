/* sti/verify: one call's Identity check from header text to a result, with
 * the certificate lookup possibly waiting on a fetch (verify.h). The token
 * is copied into the check while it waits: the request's text is the
 * caller's. */
#include "sti/verify.h"

#include <stdlib.h>
#include <string.h>

#include "stir/identity_hdr.h"

struct sti_check {
	struct sti_wait *wait;
	sti_check_fn done;
	void *arg;
	struct stir_expect expect;
	struct stir_identity id;
	char text[STIR_TOKEN_MAX + STIR_URL_MAX + 64]; /* the header value id points into */
	char input[STIR_TOKEN_MAX];                    /* a compact form's rebuilt input */
};

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
	explicit_bzero(c, sizeof(*c));
	free(c);
	done(darg, r);
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
	if (r == STIR_PASSED) {
		const struct stir_cert *cert = NULL;
		r = sti_repo_get(repo, c->id.info, (long)expect->now, &cert, cert_arrived, c,
				 &c->wait);
		if (r == STIR_RESULT__COUNT) {
			*pending = c;
			return r;
		}
		if (r == STIR_PASSED)
			r = check_with(c, cert);
	}
	free(c);
	return r;
}

void sti_check_cancel(struct sti_check *c)
{
	if (!c)
		return;
	sti_wait_cancel(c->wait);
	free(c);
}
