/* libFuzzer target: the RFC 8224 Identity header value and the PASSporT in
 * it (gateway/stir), as a trunk could send them: stir_identity_parse and
 * stir_passport_parse on arbitrary bytes, plus base64url and telephone
 * number canonicalisation. (fuzz_identity is the P-Asserted-Identity and
 * privacy decisions; this is the STIR token.) Nothing may crash, and:
 *  - a parsed header has an http(s) info URL and, in full form, a signing
 *    input inside the input and claims the signer could have written: the
 *    claims built again, signed with the same bytes and parsed again, give
 *    the same claims;
 *  - base64url that decodes encodes back to exactly the same text (only
 *    the canonical encoding is accepted);
 *  - a canonical number is 1..15 digits and canonicalises to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stir/identity_hdr.h"
#include "stir/passport.h"
#include "stir/tn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool party_ok(const struct stir_party *p)
{
	size_t n = strnlen(p->value, sizeof(p->value));
	if (n == 0 || n == sizeof(p->value))
		return false;
	if (p->is_uri)
		return true;
	if (n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p->value[i] < '0' || p->value[i] > '9')
			return false;
	return true;
}

static bool same_claims(const struct stir_claims *a, const struct stir_claims *b)
{
	if (strcmp(a->x5u, b->x5u) != 0 || a->iat != b->iat || a->shaken != b->shaken ||
	    a->n_dest != b->n_dest || a->orig.is_uri != b->orig.is_uri ||
	    strcmp(a->orig.value, b->orig.value) != 0)
		return false;
	if (a->shaken && (a->attest != b->attest || strcmp(a->origid, b->origid) != 0))
		return false;
	/* dest keeps the tn entries before the uri ones when built again */
	unsigned matched = 0;
	for (unsigned i = 0; i < a->n_dest; i++)
		for (unsigned j = 0; j < b->n_dest; j++)
			if (a->dest[i].is_uri == b->dest[j].is_uri &&
			    strcmp(a->dest[i].value, b->dest[j].value) == 0) {
				matched++;
				break;
			}
	return matched == a->n_dest;
}

static void check_claims(const struct stir_token *t)
{
	const struct stir_claims *c = &t->claims;
	if (c->n_dest < 1 || c->n_dest > STIR_MAX_DEST || !party_ok(&c->orig) ||
	    c->iat < 0 || strnlen(c->x5u, sizeof(c->x5u)) == 0)
		abort();
	for (unsigned i = 0; i < c->n_dest; i++)
		if (!party_ok(&c->dest[i]))
			abort();
	if (c->shaken && (c->attest < STIR_ATTEST_A || c->attest > STIR_ATTEST_C ||
			  c->origid[0] == '\0'))
		abort();
	if (strcmp(t->alg, "ES256") != 0)
		abort();

	static char input[2 * STIR_TOKEN_MAX], hdr[3 * STIR_TOKEN_MAX];
	size_t n = stir_passport_signing_input(c, input, sizeof(input));
	if (n == 0)
		abort(); /* parsed claims the builder refuses */
	size_t m = stir_identity_format(input, n, t->sig, c->x5u, c->shaken, hdr, sizeof(hdr));
	if (m == 0)
		abort();
	struct stir_identity again;
	enum stir_result r = stir_identity_parse(hdr, m, &again);
	/* The x5u is any text; as an info URL it must be http(s). */
	bool url = strncasecmp(c->x5u, "http://", 7) == 0 || strncasecmp(c->x5u, "https://", 8) == 0;
	if (r == STIR_PASSED && !same_claims(c, &again.token.claims))
		abort();
	if (r != STIR_PASSED && url && strlen(c->x5u) > 8 && strpbrk(c->x5u, " \t<>\"") == NULL &&
	    n <= STIR_TOKEN_MAX - 90)
		abort();
}

static void check_identity(const char *text, size_t size)
{
	struct stir_identity id;
	enum stir_result r = stir_identity_parse(text, size, &id);
	if (r != STIR_PASSED && r != STIR_MALFORMED && r != STIR_UNSUPPORTED)
		abort();
	if (r != STIR_PASSED)
		return;
	if (strncasecmp(id.info, "http", 4) != 0 || !memchr(id.info, '\0', sizeof(id.info)))
		abort();
	if (id.compact) {
		if (id.token.input != NULL || id.ppt[0] != '\0')
			abort();
		return;
	}
	if (id.token.input < text || id.token.input + id.token.input_len > text + size)
		abort();
	check_claims(&id.token);
}

static void check_b64(const char *text, size_t size)
{
	static uint8_t bytes[STIR_TOKEN_MAX];
	static char back[2 * STIR_TOKEN_MAX];
	size_t n = stir_b64url_decode(text, size, bytes, sizeof(bytes));
	if (n == (size_t)-1)
		return;
	size_t m = stir_b64url_encode(bytes, n, back, sizeof(back));
	if (m != size || memcmp(back, text, size) != 0)
		abort();
}

static void check_tn(const char *text, size_t size)
{
	char out[STIR_TN_MAX], again[STIR_TN_MAX];
	if (!stir_tn_canon(text, size, size & 1 ? "1" : "", out))
		return;
	size_t n = strlen(out);
	if (n == 0 || n > 15 || strspn(out, "0123456789") != n)
		abort();
	if (!stir_tn_canon(out, n, "", again) || strcmp(out, again) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 3 * STIR_TOKEN_MAX)
		return 0;
	/* A copy of exactly `size` bytes, so reading past it is caught. */
	char *text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	check_identity(text, size);
	struct stir_token t;
	if (stir_passport_parse(text, size, &t) == STIR_PASSED) {
		if (t.input != text || t.input_len >= size)
			abort();
		check_claims(&t);
	}
	check_b64(text, size);
	check_tn(text, size);
	free(text);
	return 0;
}
