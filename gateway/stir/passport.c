/* stir/passport: the PASSporT (RFC 8225, SHAKEN extension RFC 8588) as
 * bytes. Building: the header and claims as jansson objects dumped in the
 * canonical form RFC 8225 §9 asks for (JSON_COMPACT|JSON_SORT_KEYS: keys in
 * lexicographic order, no whitespace, iat a JSON integer), each base64url
 * encoded with nettle and joined by '.': the signing input. Parsing: a
 * received compact serialisation split, decoded and checked field by field.
 * The parse is bounded before jansson sees a byte: the whole token is at most
 * STIR_TOKEN_MAX, JSON nesting at most PASSPORT_DEPTH_MAX, duplicated keys
 * are refused (JSON_REJECT_DUPLICATES) so no two readers of one token can
 * see different claims, and every field has its type and size checked. */
#include "stir/passport.h"

#include <jansson.h>
#include <nettle/base64.h>
#include <string.h>

/* A SHAKEN claim set is an object holding the dest object holding the tn
 * array: three levels. One level of slack for unknown claims; anything
 * deeper is junk an attacker sends to make the parser work. */
#define PASSPORT_DEPTH_MAX 4
#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

/* ---- base64url (RFC 7515 §2: RFC 4648 §5 alphabet, no padding) ---- */

size_t stir_b64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t need = (len * 8 + 5) / 6;
	if (len > STIR_TOKEN_MAX * 4 || outlen <= need)
		return (size_t)-1;
	struct base64_encode_ctx ctx;
	base64url_encode_init(&ctx);
	size_t whole = len - len % 3; /* encodes to exactly whole/3*4 characters */
	size_t done = base64_encode_update(&ctx, out, whole, in);
	char tail[BASE64_ENCODE_LENGTH(2) + BASE64_ENCODE_FINAL_LENGTH];
	size_t t = base64_encode_update(&ctx, tail, len - whole, in + whole);
	t += base64_encode_final(&ctx, tail + t);
	for (size_t i = 0; i < t; i++)
		if (tail[i] != '=')
			out[done++] = tail[i];
	out[done] = '\0';
	return done;
}

static bool is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* nettle skips whitespace and accepts '=' anywhere padding may go, and its
 * final check wants padded input: so the alphabet is checked here, and the
 * last group is padded here, which makes nettle refuse nonzero trailing
 * bits (RFC 4648 §3.5: a canonical encoding has them zero). */
size_t stir_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > outlen)
		return (size_t)-1;
	for (size_t i = 0; i < len; i++)
		if (!is_b64url(in[i]))
			return (size_t)-1;
	struct base64_decode_ctx ctx;
	base64url_decode_init(&ctx);
	size_t done = 0;
	for (size_t i = 0; i < len; i += 4) {
		char group[4] = { '=', '=', '=', '=' };
		memcpy(group, in + i, len - i < 4 ? len - i : 4);
		uint8_t bytes[BASE64_DECODE_LENGTH(4)];
		size_t n = sizeof(bytes);
		if (!base64_decode_update(&ctx, &n, bytes, 4, group) || done + n > outlen)
			return (size_t)-1;
		memcpy(out + done, bytes, n);
		done += n;
	}
	if (!base64_decode_final(&ctx))
		return (size_t)-1;
	return done;
}

/* ---- building ---- */

static bool valid_text(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (n == 0 || n == max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool valid_tn(const char *s)
{
	size_t n = strnlen(s, STIR_TN_MAX);
	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool valid_party(const struct stir_party *p)
{
	return p->is_uri ? valid_text(p->value, sizeof(p->value)) : valid_tn(p->value);
}

static json_t *header_json(const struct stir_claims *c)
{
	if (!valid_text(c->x5u, sizeof(c->x5u)))
		return NULL;
	if (c->shaken)
		return json_pack("{s:s, s:s, s:s, s:s}", "alg", "ES256", "ppt", "shaken", "typ",
				 "passport", "x5u", c->x5u);
	return json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "passport", "x5u", c->x5u);
}

/* dest: {"tn":[...]} and/or {"uri":[...]} in the order the caller gave. */
static json_t *dest_json(const struct stir_claims *c)
{
	json_t *d = json_object(), *tn = json_array(), *uri = json_array();
	bool ok = d && tn && uri && c->n_dest >= 1 && c->n_dest <= STIR_MAX_DEST;
	for (unsigned i = 0; ok && i < c->n_dest; i++) {
		const struct stir_party *p = &c->dest[i];
		ok = valid_party(p) && json_array_append_new(p->is_uri ? uri : tn,
							     json_string(p->value)) == 0;
	}
	if (ok && json_array_size(tn) > 0)
		ok = json_object_set(d, "tn", tn) == 0;
	if (ok && json_array_size(uri) > 0)
		ok = json_object_set(d, "uri", uri) == 0;
	json_decref(tn);
	json_decref(uri);
	if (!ok) {
		json_decref(d);
		return NULL;
	}
	return d;
}

static json_t *claims_json(const struct stir_claims *c)
{
	static const char *const level[] = { [STIR_ATTEST_A] = "A", [STIR_ATTEST_B] = "B",
					     [STIR_ATTEST_C] = "C" };
	if (!valid_party(&c->orig))
		return NULL;
	json_t *dest = dest_json(c);
	if (dest == NULL)
		return NULL;
	json_t *o = json_pack("{s:o, s:I, s:{s:s}}", "dest", dest, "iat", (json_int_t)c->iat,
			      "orig", c->orig.is_uri ? "uri" : "tn", c->orig.value);
	if (o == NULL || !c->shaken)
		return o;
	if (c->attest < STIR_ATTEST_A || c->attest > STIR_ATTEST_C ||
	    !valid_text(c->origid, sizeof(c->origid)) ||
	    json_object_set_new(o, "attest", json_string(level[c->attest])) != 0 ||
	    json_object_set_new(o, "origid", json_string(c->origid)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Appends base64url(canonical JSON of j) at out+*at; consumes j. */
static bool append_part(json_t *j, char *out, size_t outlen, size_t *at)
{
	char text[STIR_TOKEN_MAX];
	if (j == NULL)
		return false;
	size_t n = json_dumpb(j, text, sizeof(text), DUMP_FLAGS);
	json_decref(j);
	if (n == 0 || n > sizeof(text) || *at >= outlen)
		return false;
	size_t e = stir_b64url_encode((const uint8_t *)text, n, out + *at, outlen - *at);
	if (e == (size_t)-1)
		return false;
	*at += e;
	return true;
}

size_t stir_passport_signing_input(const struct stir_claims *c, char *out, size_t outlen)
{
	size_t at = 0;
	if (!append_part(header_json(c), out, outlen, &at) || at + 1 >= outlen)
		goto fail;
	out[at++] = '.';
	if (!append_part(claims_json(c), out, outlen, &at))
		goto fail;
	return at;
fail:
	if (outlen > 0)
		out[0] = '\0';
	return 0;
}

/* ---- parsing ---- */

/* Nesting depth of JSON text, strings skipped: linear, before jansson's
 * recursive descent sees it. */
static bool depth_ok(const char *s, size_t n)
{
	unsigned depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < n; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = false;
		} else if (s[i] == '"') {
			in_string = true;
		} else if (s[i] == '{' || s[i] == '[') {
			if (++depth > PASSPORT_DEPTH_MAX)
				return false;
		} else if ((s[i] == '}' || s[i] == ']') && depth > 0) {
			depth--;
		}
	}
	return true;
}

static json_t *decode_json(const char *b64, size_t len)
{
	char text[STIR_TOKEN_MAX];
	size_t n = stir_b64url_decode(b64, len, (uint8_t *)text, sizeof(text));
	if (n == (size_t)-1 || !depth_ok(text, n))
		return NULL;
	json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A string member into dst (with its NUL); false when the member is absent
 * (*present false) or not a fitting string without control characters. */
static bool get_text(json_t *o, const char *key, char *dst, size_t dstlen, bool *present)
{
	json_t *v = json_object_get(o, key);
	*present = v != NULL;
	dst[0] = '\0';
	if (v == NULL || !json_is_string(v))
		return false;
	size_t n = json_string_length(v);
	if (n >= dstlen)
		return false;
	memcpy(dst, json_string_value(v), n + 1);
	return valid_text(dst, dstlen);
}

static enum stir_result parse_header(json_t *h, struct stir_token *t)
{
	char typ[16];
	bool present;
	if (!get_text(h, "alg", t->alg, sizeof(t->alg), &present))
		return present && json_is_string(json_object_get(h, "alg")) ? STIR_UNSUPPORTED
									    : STIR_MALFORMED;
	if (strcmp(t->alg, "ES256") != 0)
		return STIR_UNSUPPORTED;
	if (json_object_get(h, "crit") != NULL)
		return STIR_UNSUPPORTED; /* RFC 7515 §4.1.11: extensions we do not know */
	if (!get_text(h, "typ", typ, sizeof(typ), &present) && present)
		return STIR_MALFORMED;
	if (present && strcmp(typ, "passport") != 0)
		return STIR_UNSUPPORTED;
	if (!get_text(h, "ppt", t->ppt, sizeof(t->ppt), &present) && present)
		return STIR_MALFORMED;
	if (present && strcmp(t->ppt, "shaken") != 0)
		return STIR_UNSUPPORTED;
	t->claims.shaken = present;
	if (!get_text(h, "x5u", t->claims.x5u, sizeof(t->claims.x5u), &present))
		return STIR_MALFORMED;
	return STIR_PASSED;
}

static bool parse_party_value(json_t *v, bool is_uri, struct stir_party *p)
{
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	p->is_uri = is_uri;
	if (is_uri) {
		if (n >= sizeof(p->value))
			return false;
		memcpy(p->value, s, n + 1);
		return valid_text(p->value, sizeof(p->value));
	}
	return stir_tn_canon(s, n, "", p->value);
}

/* orig: exactly one of {"tn": "..."} or {"uri": "..."}. */
static bool parse_orig(json_t *o, struct stir_party *p)
{
	if (!json_is_object(o) || json_object_size(o) != 1)
		return false;
	json_t *tn = json_object_get(o, "tn");
	return tn ? parse_party_value(tn, false, p)
		  : parse_party_value(json_object_get(o, "uri"), true, p);
}

/* dest: "tn" and/or "uri" arrays, nothing else, 1..STIR_MAX_DEST in all. */
static bool parse_dest(json_t *o, struct stir_claims *c)
{
	static const char *const kinds[] = { "tn", "uri" };
	size_t seen = 0;
	c->n_dest = 0;
	if (!json_is_object(o))
		return false;
	for (unsigned k = 0; k < 2; k++) {
		json_t *a = json_object_get(o, kinds[k]);
		if (a == NULL)
			continue;
		seen++;
		if (!json_is_array(a) || json_array_size(a) == 0)
			return false;
		for (size_t i = 0; i < json_array_size(a); i++) {
			if (c->n_dest == STIR_MAX_DEST ||
			    !parse_party_value(json_array_get(a, i), k == 1, &c->dest[c->n_dest]))
				return false;
			c->n_dest++;
		}
	}
	return seen > 0 && seen == json_object_size(o);
}

static enum stir_result parse_claims(json_t *j, struct stir_claims *c)
{
	json_t *iat = json_object_get(j, "iat");
	if (!json_is_integer(iat) || json_integer_value(iat) < 0)
		return STIR_MALFORMED;
	c->iat = json_integer_value(iat);
	if (!parse_orig(json_object_get(j, "orig"), &c->orig) ||
	    !parse_dest(json_object_get(j, "dest"), c))
		return STIR_MALFORMED;
	char attest[2];
	bool a_present, o_present;
	bool a_ok = get_text(j, "attest", attest, sizeof(attest), &a_present);
	bool o_ok = get_text(j, "origid", c->origid, sizeof(c->origid), &o_present);
	if ((a_present && !a_ok) || (o_present && !o_ok))
		return STIR_MALFORMED;
	if (a_ok) {
		if (attest[0] < 'A' || attest[0] > 'C')
			return STIR_MALFORMED;
		c->attest = (enum stir_attest)(STIR_ATTEST_A + (attest[0] - 'A'));
	}
	/* RFC 8588 §4: a shaken PASSporT carries both. */
	if (c->shaken && (!a_ok || !o_ok))
		return STIR_MALFORMED;
	return STIR_PASSED;
}

enum stir_result stir_passport_parse(const char *text, size_t len, struct stir_token *out)
{
	memset(out, 0, sizeof(*out));
	if (text == NULL || len == 0 || len > STIR_TOKEN_MAX)
		return STIR_MALFORMED;
	const char *dot1 = memchr(text, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - text)) : NULL;
	if (dot2 == NULL || dot1 == text || dot2 == dot1 + 1)
		return STIR_MALFORMED;
	const char *sig = dot2 + 1;
	size_t sig_len = len - (size_t)(sig - text);
	if (stir_b64url_decode(sig, sig_len, out->sig, sizeof(out->sig)) != STIR_ES256_SIG_LEN)
		return STIR_MALFORMED; /* also a third '.', which is not in the alphabet */

	enum stir_result r = STIR_MALFORMED;
	json_t *h = decode_json(text, (size_t)(dot1 - text));
	json_t *c = h ? decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1)) : NULL;
	if (c != NULL) {
		r = parse_header(h, out);
		if (r == STIR_PASSED)
			r = parse_claims(c, &out->claims);
	}
	json_decref(h);
	json_decref(c);
	if (r != STIR_PASSED) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	out->input = text;
	out->input_len = (size_t)(dot2 - text);
	return STIR_PASSED;
}
