/* stir/rfc4474: the legacy Identity of RFC 4474 as text, for the peers
 * configured to still speak it. The digest-string of §9 is what is signed:
 * From addr-spec, To addr-spec, Call-ID, CSeq ("<number> <method>"), Date,
 * Contact addr-spec (may be empty) and the body, joined by '|'. Identity is
 * the signature in standard base64 between double quotes; Identity-Info is
 * "<url>;alg=rsa-sha256" (or rsa-sha1, which RFC 4474 makes the default
 * when alg is absent: the caller decides whether SHA-1 is acceptable, and
 * by default it is not). Parsers refuse anything but that shape. The Date
 * is the only clock in the signed string, so it must be fresh: an old one
 * would let a captured request be replayed. */
#include "stir/rfc4474.h"

#include <nettle/base64.h>
#include <string.h>
#include <strings.h>

#include "stir/identity_hdr.h"
#include "stir/verify.h"

#define RSA_SIG_MAX 1024 /* an 8192-bit RSA signature */

/* The header fields may not hold '|' or a line break: either would let one
 * field's text pose as the next one's in the signed string. */
static bool field_ok(const char *s)
{
	return s != NULL && strpbrk(s, "|\r\n") == NULL;
}

size_t stir_4474_digest_string(const struct stir_4474_fields *f, char *out, size_t outlen)
{
	const char *part[6] = { f->from_addr, f->to_addr, f->call_id,
				f->cseq,      f->date,    f->contact ? f->contact : "" };
	size_t at = 0;
	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (f->body == NULL && f->body_len != 0)
		return 0;
	for (unsigned i = 0; i < 6; i++) {
		if (!field_ok(part[i]) || (i < 5 && part[i][0] == '\0'))
			return 0;
		size_t n = strlen(part[i]);
		if (n + 1 >= outlen - at)
			return 0;
		memcpy(out + at, part[i], n);
		at += n;
		out[at++] = '|';
	}
	if (f->body_len >= outlen - at)
		return 0;
	if (f->body_len)
		memcpy(out + at, f->body, f->body_len);
	at += f->body_len;
	out[at] = '\0'; /* for logs; the body may itself hold NULs, use the length */
	return at;
}

size_t stir_4474_identity_format(const uint8_t *sig, size_t len, char *out, size_t outlen)
{
	if (len == 0 || len > RSA_SIG_MAX || outlen < BASE64_ENCODE_RAW_LENGTH(len) + 3)
		return 0;
	out[0] = '"';
	base64_encode_raw(out + 1, len, sig);
	size_t n = 1 + BASE64_ENCODE_RAW_LENGTH(len);
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/* Quoted, padded, standard alphabet, no whitespace inside: nettle alone
 * would skip whitespace and accept missing padding mid-stream. */
size_t stir_4474_identity_parse(const char *value, size_t len, uint8_t *sig, size_t siglen)
{
	trim(&value, &len);
	if (len < 2 || value[0] != '"' || value[len - 1] != '"')
		return (size_t)-1;
	const char *b = value + 1;
	size_t n = len - 2;
	if (n == 0 || n % 4 != 0 || n > BASE64_ENCODE_RAW_LENGTH(RSA_SIG_MAX))
		return (size_t)-1;
	size_t pad = (b[n - 1] == '=') + (b[n - 1] == '=' && b[n - 2] == '=');
	if (n / 4 * 3 - pad > siglen)
		return (size_t)-1;
	/* nettle writes up to a whole group: decode the last one aside. */
	for (size_t i = 0; i < n - pad; i++)
		if (!is_b64(b[i]))
			return (size_t)-1;
	struct base64_decode_ctx ctx;
	base64_decode_init(&ctx);
	size_t head = 0, last = 0;
	uint8_t tail[BASE64_DECODE_LENGTH(4)];
	if (!base64_decode_update(&ctx, &head, sig, n - 4, b) ||
	    !base64_decode_update(&ctx, &last, tail, 4, b + n - 4) || !base64_decode_final(&ctx) ||
	    head + last > siglen)
		return (size_t)-1;
	memcpy(sig + head, tail, last);
	return head + last;
}

/* "<http(s)://...>" then ";alg=token" and other parameters. */
enum stir_result stir_4474_info_parse(const char *value, size_t len, char *url, size_t urllen,
				      bool *sha1)
{
	*sha1 = false;
	if (urllen > 0)
		url[0] = '\0';
	trim(&value, &len);
	if (len < 2 || value[0] != '<')
		return STIR_MALFORMED;
	const char *end = memchr(value, '>', len);
	if (end == NULL)
		return STIR_MALFORMED;
	const char *u = value + 1;
	size_t n = (size_t)(end - u);
	if (!stir_info_url_ok(u, n, urllen))
		return STIR_MALFORMED;

	const char *p = end + 1, *stop = value + len;
	int alg = -1; /* -1 absent, 0 sha256, 1 sha1 */
	while (p < stop) {
		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		if (p == stop)
			break;
		if (*p != ';')
			return STIR_MALFORMED;
		p++;
		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		const char *name = p;
		while (p < stop && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		size_t name_len = (size_t)(p - name);
		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		const char *v = p;
		if (p < stop && *p == '=') {
			v = ++p;
			while (p < stop && (*p == ' ' || *p == '\t'))
				v = ++p;
			while (p < stop && *p != ';' && *p != ' ' && *p != '\t')
				p++;
		}
		size_t v_len = (size_t)(p - v);
		if (name_len == 0)
			return STIR_MALFORMED;
		if (name_len != 3 || strncasecmp(name, "alg", 3) != 0)
			continue; /* an extension parameter */
		if (alg != -1)
			return STIR_MALFORMED;
		if (v_len == 10 && strncasecmp(v, "rsa-sha256", 10) == 0)
			alg = 0;
		else if (v_len == 8 && strncasecmp(v, "rsa-sha1", 8) == 0)
			alg = 1;
		else
			return v_len == 0 ? STIR_MALFORMED : STIR_UNSUPPORTED;
	}
	memcpy(url, u, n);
	url[n] = '\0';
	*sha1 = alg != 0; /* RFC 4474 §9: absent means rsa-sha1 */
	return STIR_PASSED;
}

/* A Date ahead of now would keep a signature fresh long after max_age, so
 * only clock skew is allowed there. Compared without subtracting the
 * peer's value, which could overflow a difference. */
enum stir_result stir_4474_date_check(int64_t date, int64_t now, unsigned max_age_s)
{
	int64_t max_age = max_age_s ? (int64_t)max_age_s : STIR_MAX_AGE_DEFAULT_S;
	if (date < 0 || date < now - max_age || date > now + STIR_IAT_FUTURE_SKEW_S)
		return STIR_STALE;
	return STIR_PASSED;
}
