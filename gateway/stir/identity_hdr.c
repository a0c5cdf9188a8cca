/* stir/identity_hdr: the Identity header field value of RFC 8224 §4.1 as
 * text. Formatting joins the signing input, the base64url signature and the
 * parameters. Parsing walks the value once from left to right (linear in
 * its length, no backtracking): the token up to the first ';', then each
 * parameter; "info" must be an absolute http(s) URL in angle brackets (it
 * may hold ';', so the brackets, not the semicolons, delimit it); alg and
 * ppt, when given, must agree with the token. A compact-form token
 * ("..signature", §4.1.1) leaves header and claims to be rebuilt from the
 * request; SHAKEN needs the full form (RFC 8588 §3), so a compact token that
 * names a ppt is refused as unsupported. */
#include "stir/identity_hdr.h"

#include <string.h>
#include <strings.h>

size_t stir_identity_format(const char *input, size_t input_len,
			    const uint8_t sig[STIR_ES256_SIG_LEN], const char *x5u,
			    bool shaken, char *out, size_t outlen)
{
	char s[(STIR_ES256_SIG_LEN * 8 + 5) / 6 + 1];
	size_t s_len = stir_b64url_encode(sig, STIR_ES256_SIG_LEN, s, sizeof(s));
	size_t x5u_len = strlen(x5u);
	const char *tail = shaken ? ">;alg=ES256;ppt=shaken" : ">;alg=ES256";
	size_t tail_len = strlen(tail);
	size_t need = input_len + 1 + s_len + 7 + x5u_len + tail_len;
	if (s_len == (size_t)-1 || x5u_len == 0 || need >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	char *p = out;
	memcpy(p, input, input_len);
	p += input_len;
	*p++ = '.';
	memcpy(p, s, s_len);
	p += s_len;
	memcpy(p, ";info=<", 7);
	p += 7;
	memcpy(p, x5u, x5u_len);
	p += x5u_len;
	memcpy(p, tail, tail_len + 1);
	return need;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 3261 token characters. */
static bool is_token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("-.!%*_+`'~", c) != NULL;
}

struct cursor {
	const char *s;
	size_t len, at;
};

static void skip_ws(struct cursor *c)
{
	while (c->at < c->len && is_ws(c->s[c->at]))
		c->at++;
}

/* A run of token characters; returns its length (0: none). */
static size_t take_token(struct cursor *c, const char **start)
{
	*start = c->s + c->at;
	size_t n = 0;
	while (c->at < c->len && c->s[c->at] != '\0' && is_token_char(c->s[c->at])) {
		c->at++;
		n++;
	}
	return n;
}

bool stir_info_url_ok(const char *u, size_t n, size_t max)
{
	size_t scheme = n >= 8 && strncasecmp(u, "https://", 8) == 0 ? 8
			: n >= 7 && strncasecmp(u, "http://", 7) == 0 ? 7
								       : 0;
	if (scheme == 0 || n == scheme || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f || u[i] == '<' || u[i] == '"')
			return false;
	return true;
}

/* info=<url>: copies url into out->info. */
static enum stir_result take_info(struct cursor *c, struct stir_identity *out)
{
	if (c->at >= c->len || c->s[c->at] != '<')
		return STIR_MALFORMED;
	const char *u = c->s + c->at + 1;
	const char *end = memchr(u, '>', c->len - c->at - 1);
	if (end == NULL || !stir_info_url_ok(u, (size_t)(end - u), sizeof(out->info)))
		return STIR_MALFORMED;
	memcpy(out->info, u, (size_t)(end - u));
	out->info[end - u] = '\0';
	c->at = (size_t)(end + 1 - c->s);
	return STIR_PASSED;
}

/* A token or a quoted string without escapes into dst. */
static enum stir_result take_word(struct cursor *c, char *dst, size_t dstlen)
{
	bool quoted = c->at < c->len && c->s[c->at] == '"';
	const char *v;
	c->at += quoted;
	size_t n = take_token(c, &v);
	if (quoted) {
		if (c->at >= c->len || c->s[c->at] != '"')
			return STIR_MALFORMED;
		c->at++;
	}
	if (n == 0)
		return STIR_MALFORMED;
	if (n >= dstlen)
		return STIR_UNSUPPORTED; /* longer than any value we know */
	memcpy(dst, v, n);
	dst[n] = '\0';
	return STIR_PASSED;
}

/* One ";name=value" after the token (the ';' already consumed). */
static enum stir_result take_param(struct cursor *c, struct stir_identity *out, unsigned *seen)
{
	static const char *const known[] = { "info", "alg", "ppt" };
	const char *name;
	skip_ws(c);
	size_t n = take_token(c, &name);
	skip_ws(c);
	if (n == 0)
		return STIR_MALFORMED;
	unsigned which = 3;
	for (unsigned k = 0; k < 3; k++)
		if (strlen(known[k]) == n && strncasecmp(name, known[k], n) == 0)
			which = k;
	if (c->at >= c->len || c->s[c->at] != '=') {
		return which == 3 ? STIR_PASSED : STIR_MALFORMED; /* a flag parameter */
	}
	c->at++;
	skip_ws(c);
	if (which < 3 && (*seen & (1u << which)))
		return STIR_MALFORMED; /* a parameter twice: which one would count? */
	if (which < 3)
		*seen |= 1u << which;
	char ignored[STIR_URL_MAX];
	switch (which) {
	case 0:
		return take_info(c, out);
	case 1:
		return take_word(c, out->alg, sizeof(out->alg));
	case 2:
		return take_word(c, out->ppt, sizeof(out->ppt));
	default:
		/* An extension parameter: a token, quoted string or <...>. */
		if (c->at < c->len && c->s[c->at] == '<') {
			const char *end = memchr(c->s + c->at, '>', c->len - c->at);
			if (end == NULL)
				return STIR_MALFORMED;
			c->at = (size_t)(end + 1 - c->s);
			return STIR_PASSED;
		}
		return take_word(c, ignored, sizeof(ignored)) == STIR_MALFORMED ? STIR_MALFORMED
										 : STIR_PASSED;
	}
}

static enum stir_result take_params(struct cursor *c, struct stir_identity *out)
{
	unsigned seen = 0;
	for (;;) {
		skip_ws(c);
		if (c->at == c->len)
			break;
		if (c->s[c->at] != ';')
			return STIR_MALFORMED;
		c->at++;
		enum stir_result r = take_param(c, out, &seen);
		if (r != STIR_PASSED)
			return r;
	}
	return out->info[0] ? STIR_PASSED : STIR_MALFORMED; /* info is required */
}

/* The token: full form parsed as a PASSporT, compact form ("..sig") only
 * its signature decoded. */
static enum stir_result take_token_part(const char *tok, size_t n, struct stir_identity *out)
{
	if (n >= 2 && tok[0] == '.' && tok[1] == '.') {
		out->compact = true;
		if (stir_b64url_decode(tok + 2, n - 2, out->token.sig, sizeof(out->token.sig)) !=
		    STIR_ES256_SIG_LEN)
			return STIR_MALFORMED;
		return STIR_PASSED;
	}
	return stir_passport_parse(tok, n, &out->token);
}

enum stir_result stir_identity_parse(const char *value, size_t len, struct stir_identity *out)
{
	memset(out, 0, sizeof(*out));
	if (value == NULL || len > STIR_TOKEN_MAX + 2 * STIR_URL_MAX)
		return STIR_MALFORMED;
	struct cursor c = { value, len, 0 };
	skip_ws(&c);
	const char *tok = value + c.at;
	const char *semi = memchr(tok, ';', len - c.at);
	size_t tok_len = (size_t)((semi ? semi : value + len) - tok);
	while (tok_len > 0 && is_ws(tok[tok_len - 1]))
		tok_len--;
	c.at = (size_t)(tok + tok_len - value);

	enum stir_result r = take_params(&c, out);
	if (r == STIR_PASSED)
		r = take_token_part(tok, tok_len, out);
	if (r == STIR_PASSED && out->alg[0] && strcmp(out->alg, "ES256") != 0)
		r = STIR_UNSUPPORTED;
	if (r == STIR_PASSED && out->ppt[0] && strcmp(out->ppt, "shaken") != 0)
		r = STIR_UNSUPPORTED;
	if (r == STIR_PASSED && out->compact && out->ppt[0])
		r = STIR_UNSUPPORTED; /* SHAKEN claims cannot be rebuilt (RFC 8588 §3) */
	if (r == STIR_PASSED && !out->compact && out->ppt[0] &&
	    strcmp(out->ppt, out->token.ppt) != 0)
		r = STIR_MALFORMED; /* the parameter says shaken, the token does not */
	if (r != STIR_PASSED) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	return STIR_PASSED;
}
