/* SDES key lines (RFC 4568): the value of one a=crypto attribute to and from
 * struct pc_sdp_crypto. The reader is strict on purpose: an a=crypto line is
 * the only place a caller hands us key material, and anything we accept
 * loosely here (stray base64 characters, a second key, a session parameter
 * we ignore) would be a key or a policy we then use without understanding.
 * Error reasons go into a 488 Warning, so they name the problem but never
 * echo key bytes or unchecked caller text. */
#include "sdp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SDES_MAX_TAG 999999999u
#define SDES_MAX_LIFETIME (UINT64_C(1) << 48)
#define B64_TEXT_MAX (((PC_SRTP_MAX_KEY_SALT + 2) / 3) * 4 + 1)

/* RFC 4648 standard alphabet, no whitespace, no URL-safe variant. */
static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Bytes that `s` decodes to, or -1 if it is not canonical padded base64.
 * Sofia's base64_d skips characters it does not know, which would let two
 * different texts carry the same key; this one refuses them. */
static long b64_decoded_len(const char *s, size_t n)
{
	if (n == 0 || n % 4 != 0)
		return -1;
	size_t pad = 0;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++)
		if (b64_value(s[i]) < 0)
			return -1;
	/* The bits the padding leaves over must be zero, or the text is not the
	 * only encoding of its bytes. */
	int last = b64_value(s[n - pad - 1]);
	if ((pad == 1 && (last & 0x03)) || (pad == 2 && (last & 0x0f)))
		return -1;
	return (long)(n / 4 * 3 - pad);
}

/* Decode text already accepted by b64_decoded_len into `out`. */
static void b64_decode(const char *s, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int have = 0;
		for (int j = 0; j < 4; j++) {
			v <<= 6;
			if (s[i + j] != '=') {
				v |= (uint32_t)b64_value(s[i + j]);
				have++;
			}
		}
		out[o++] = (uint8_t)(v >> 16);
		if (have > 2)
			out[o++] = (uint8_t)(v >> 8);
		if (have > 3)
			out[o++] = (uint8_t)v;
	}
}

/* Encode `n` bytes; `out` must hold BASE64 size + 1. Returns the length. */
static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	if (why && whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* 1*DIGIT into *v, refusing values above `max`; advances *i. */
static bool parse_decimal(const char *s, size_t len, size_t *i, uint64_t max, uint64_t *v)
{
	size_t start = *i;
	uint64_t x = 0;
	while (*i < len && is_digit(s[*i])) {
		unsigned d = (unsigned)(s[*i] - '0');
		if (x > (max - d) / 10)
			return false;
		x = x * 10 + d;
		(*i)++;
	}
	*v = x;
	return *i > start;
}

/* Copy a caller-supplied name into a reason only if it is a plain token, so
 * a Warning header never carries quotes, CRLF or anything key-like. */
static const char *safe_name(const char *s, size_t n, char *buf, size_t buflen)
{
	if (n == 0 || n >= buflen)
		return "?";
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!(is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
		      c == '-'))
			return "?";
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

/* "|" lifetime and "|" MKI ":" length after the key; `s` starts after the
 * first '|'. */
static int parse_key_tail(const char *s, size_t len, struct pc_srtp_params *p, unsigned tag,
			  char *why, size_t whylen)
{
	size_t i = 0;
	const char *colon = memchr(s, ':', len);
	const char *bar = memchr(s, '|', len);
	bool first_is_mki = colon && (!bar || colon < bar);

	if (!first_is_mki) {
		uint64_t v;
		if (len >= 2 && s[0] == '2' && s[1] == '^') {
			i = 2;
			if (!parse_decimal(s, len, &i, 48, &v) || (i < len && s[i] != '|'))
				return fail(why, whylen, "a=crypto tag %u: bad lifetime", tag);
			p->lifetime = UINT64_C(1) << v;
		} else {
			if (!parse_decimal(s, len, &i, SDES_MAX_LIFETIME, &v) || (i < len && s[i] != '|'))
				return fail(why, whylen, "a=crypto tag %u: bad lifetime", tag);
			if (v == 0)
				return fail(why, whylen, "a=crypto tag %u: lifetime 0", tag);
			p->lifetime = v;
		}
		if (i == len)
			return 0;
		i++; /* '|' */
	}

	uint64_t mki, mki_len;
	if (!parse_decimal(s, len, &i, UINT64_MAX, &mki) || i >= len || s[i] != ':')
		return fail(why, whylen, "a=crypto tag %u: bad MKI", tag);
	i++;
	size_t len_start = i;
	if (!parse_decimal(s, len, &i, 999, &mki_len) || i - len_start > 3 || i != len)
		return fail(why, whylen, "a=crypto tag %u: bad MKI length", tag);
	if (mki_len < 1 || mki_len > PC_SRTP_MAX_MKI)
		return fail(why, whylen, "a=crypto tag %u: MKI length %u not supported (1 to %d)",
			    tag, (unsigned)mki_len, PC_SRTP_MAX_MKI);
	if (mki_len < 8 && mki >> (8 * mki_len) != 0)
		return fail(why, whylen, "a=crypto tag %u: MKI does not fit in %u bytes", tag,
			    (unsigned)mki_len);
	p->mki = (uint32_t)mki;
	p->mki_len = (uint8_t)mki_len;
	return 0;
}

/* Longer than our usual: it reads the line straight through in the order of
 * RFC 4568's grammar (tag, suite, key-params, session parameters), one
 * cursor `i` over untrusted bytes; split, that cursor would be passed
 * around and each piece re-check bounds the others already checked. */
int sdes_parse(const char *value, size_t len, struct pc_sdp_crypto *out, char *why, size_t whylen)
{
	char name[32];
	size_t i = 0;
	uint64_t tag64;

	memset(out, 0, sizeof(*out));
	if (!value)
		return fail(why, whylen, "a=crypto: empty");

	size_t tag_start = i;
	if (!parse_decimal(value, len, &i, SDES_MAX_TAG, &tag64) || i - tag_start > 9 ||
	    tag64 == 0 || i >= len || !is_wsp(value[i]))
		return fail(why, whylen, "a=crypto: bad tag");
	unsigned tag = (unsigned)tag64;
	out->tag = tag;
	while (i < len && is_wsp(value[i]))
		i++;

	size_t suite_start = i;
	while (i < len && (is_digit(value[i]) || (value[i] >= 'A' && value[i] <= 'Z') ||
			   (value[i] >= 'a' && value[i] <= 'z') || value[i] == '_'))
		i++;
	size_t suite_len = i - suite_start;
	if (suite_len == 0 || i >= len || !is_wsp(value[i]))
		return fail(why, whylen, "a=crypto tag %u: bad crypto suite", tag);
	while (i < len && is_wsp(value[i]))
		i++;

	/* key-params run to the next whitespace; session parameters follow. */
	size_t kp_start = i;
	while (i < len && !is_wsp(value[i]))
		i++;
	size_t kp_len = i - kp_start;
	const char *kp = value + kp_start;
	while (i < len && is_wsp(value[i]))
		i++;
	if (i < len) {
		size_t n = 0;
		while (i + n < len && !is_wsp(value[i + n]) && value[i + n] != '=')
			n++;
		return fail(why, whylen, "a=crypto tag %u: unsupported session parameter %s", tag,
			    safe_name(value + i, n, name, sizeof(name)));
	}

	if (kp_len < 7 || strncasecmp(kp, "inline:", 7) != 0) {
		size_t n = 0;
		while (n < kp_len && kp[n] != ':')
			n++;
		if (n == kp_len || n == 0)
			return fail(why, whylen, "a=crypto tag %u: missing inline: key", tag);
		return fail(why, whylen, "a=crypto tag %u: key method %s not supported", tag,
			    safe_name(kp, n, name, sizeof(name)));
	}
	if (memchr(kp, ';', kp_len))
		return fail(why, whylen, "a=crypto tag %u: several keys not supported", tag);
	const char *key = kp + 7;
	size_t rest = kp_len - 7;
	const char *bar = memchr(key, '|', rest);
	size_t key_len = bar ? (size_t)(bar - key) : rest;

	/* Well-formed but unknown suites are the offerer's business: the caller
	 * counts them and picks among the rest (RFC 4568 §7.1.2). The key is
	 * still checked so the line as a whole is known to be well-formed. */
	enum pc_srtp_suite suite;
	bool supported = pc_srtp_suite_from_name(value + suite_start, suite_len, &suite) == 0;
	long have = b64_decoded_len(key, key_len);
	if (have < 0)
		return fail(why, whylen, "a=crypto tag %u: bad base64 key", tag);
	struct pc_srtp_params *p = &out->params;
	if (bar && parse_key_tail(bar + 1, rest - key_len - 1, p, tag, why, whylen) < 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (!supported) {
		memset(out, 0, sizeof(*out));
		out->tag = tag;
		return 1;
	}
	size_t need = pc_srtp_suite_key_salt_len(suite);
	if ((size_t)have != need)
		return fail(why, whylen, "a=crypto tag %u: key length %ld, %s needs %zu", tag, have,
			    pc_srtp_suite_name(suite), need);
	p->suite = suite;
	b64_decode(key, key_len, p->key_salt);
	p->key_salt_len = need;
	return 0;
}

int sdes_print(const struct pc_sdp_crypto *c, char *buf, size_t len)
{
	const struct pc_srtp_params *p = &c->params;
	char b64[B64_TEXT_MAX];
	char tail[64];
	size_t t = 0;

	if (c->tag == 0 || c->tag > SDES_MAX_TAG || (unsigned)p->suite >= PC_SRTP_SUITE__COUNT ||
	    p->key_salt_len != pc_srtp_suite_key_salt_len(p->suite) || p->mki_len > PC_SRTP_MAX_MKI ||
	    p->lifetime > SDES_MAX_LIFETIME)
		return -1;
	if (p->mki_len > 0 && p->mki_len < 4 && p->mki >> (8 * p->mki_len) != 0)
		return -1;

	tail[0] = '\0';
	if (p->lifetime) {
		uint64_t l = p->lifetime;
		int n = (l & (l - 1)) == 0 ? snprintf(tail, sizeof(tail), "|2^%d", __builtin_ctzll(l))
					   : snprintf(tail, sizeof(tail), "|%llu",
						      (unsigned long long)l);
		t = (size_t)n;
	}
	if (p->mki_len)
		snprintf(tail + t, sizeof(tail) - t, "|%lu:%u", (unsigned long)p->mki,
			 (unsigned)p->mki_len);

	b64_encode(p->key_salt, p->key_salt_len, b64);
	int n = snprintf(buf, len, "%u %s inline:%s%s", c->tag, pc_srtp_suite_name(p->suite), b64, tail);
	explicit_bzero(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= len) {
		if (len)
			explicit_bzero(buf, len);
		return -1;
	}
	return n;
}
