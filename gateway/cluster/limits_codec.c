/* Ban, lockout and call-count notices as text (so redis-cli MONITOR shows them),
 * read field by field with every field's shape and bound checked: a
 * notice another program published must not ban a whole network, impose
 * an endless ban, or claim calls that lock a user out for good. */
#include "limits_codec.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define FIELDS 5

static int split(const char *in, size_t len, const char *f[FIELDS], size_t fl[FIELDS])
{
	unsigned n = 0;
	const char *p = in, *end = in + len;
	for (;;) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		if (n == FIELDS)
			return -1;
		f[n] = p;
		fl[n] = (size_t)((tab ? tab : end) - p);
		n++;
		if (tab == NULL)
			return (int)n;
		p = tab + 1;
	}
}

static bool printable(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

static bool is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

static int read_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int read_name(const char *s, size_t len, struct rl_key *k)
{
	char name[RL_NAME_MAX];
	if (!printable(s, len) || len >= RL_NAME_MAX)
		return -1;
	memcpy(name, s, len);
	name[len] = '\0';
	return rl_key_name(k, name);
}

/* What is banned or locked out: a source (kind 4 or 6, the key's bytes
 * in hex) or, for a lockout only, a user (kind u, the name). */
static int read_key(const char *kind, size_t kl, const char *what, size_t wl, bool lock, struct rl_key *k)
{
	size_t bytes = is(kind, kl, "4") ? 4 : is(kind, kl, "6") ? 8 : 0;
	if (lock && bytes == 0 && is(kind, kl, "u"))
		return read_name(what, wl, k);
	if (bytes == 0 || wl != bytes * 2)
		return -1;
	k->family = bytes == 4 ? AF_INET : AF_INET6;
	k->len = (uint8_t)bytes;
	for (size_t i = 0; i < bytes; i++) {
		int hi = hex_val(what[2 * i]), lo = hex_val(what[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		k->addr[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* A ban or lockout notice: what (read_key), and its length. */
static int read_ban(const char *f[FIELDS], const size_t fl[FIELDS], bool lock,
		    struct cl_guard_notice *n)
{
	n->kind = lock ? CL_GUARD_LOCK : CL_GUARD_BAN;
	if (read_dec(f[4], fl[4], CL_BAN_MAX_MS, &n->ms) < 0 || n->ms == 0)
		return -1;
	return read_key(f[2], fl[2], f[3], fl[3], lock, &n->key);
}

int cl_guard_notice_decode(const char *in, size_t len, struct cl_guard_notice *out)
{
	const char *f[FIELDS];
	size_t fl[FIELDS];
	memset(out, 0, sizeof(*out));
	if (len > CL_NOTICE_MAX)
		return -1;
	int n = split(in, len, f, fl);
	if (n < 4 || !printable(f[0], fl[0]) || fl[0] >= sizeof(out->node))
		return -1;
	memcpy(out->node, f[0], fl[0]);
	if (n == 5 && (is(f[1], fl[1], "ban") || is(f[1], fl[1], "lock")))
		return read_ban(f, fl, f[1][0] == 'l', out);
	if (n != 4 || !is(f[1], fl[1], "calls") || !(is(f[2], fl[2], "u") || is(f[2], fl[2], "t")) ||
	    read_name(f[3], fl[3], &out->key) < 0)
		return -1;
	out->trunk = f[2][0] == 't';
	out->kind = CL_GUARD_CALLS;
	return 0;
}

int cl_count_decode(const char *in, size_t len, uint32_t *out)
{
	uint64_t v;
	if (read_dec(in, len, CL_CALLS_MAX, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* The kind letter and the text of what is banned or locked out: 0 or -1. */
static int write_key(bool lock, const struct rl_key *k, char *kind, char what[RL_NAME_MAX])
{
	bool user = lock && k->family == 0 && printable(k->name, strlen(k->name));
	if (!user && (k->family != AF_INET || k->len != 4) && (k->family != AF_INET6 || k->len != 8))
		return -1;
	if (user)
		snprintf(what, RL_NAME_MAX, "%s", k->name);
	for (unsigned i = 0; !user && i < k->len; i++)
		snprintf(what + 2 * i, 3, "%02x", k->addr[i]);
	*kind = user ? 'u' : k->len == 4 ? '4' : '6';
	return 0;
}

int cl_ban_encode(const char *node, bool lock, const struct rl_key *k, uint64_t ms, char *out,
		  size_t outlen)
{
	char what[RL_NAME_MAX], kind;
	if (write_key(lock, k, &kind, what) < 0 || ms == 0 || ms > CL_BAN_MAX_MS ||
	    !printable(node, strlen(node)))
		return -1;
	int w = snprintf(out, outlen, "%s\t%s\t%c\t%s\t%llu", node, lock ? "lock" : "ban", kind, what,
			 (unsigned long long)ms);
	return w < 0 || (size_t)w >= outlen ? -1 : w;
}

int cl_guard_field_encode(bool lock, const struct rl_key *k, char *out, size_t outlen)
{
	char what[RL_NAME_MAX], kind;
	if (write_key(lock, k, &kind, what) < 0)
		return -1;
	int w = snprintf(out, outlen, "%c:%s", kind, what);
	return w < 0 || (size_t)w >= outlen ? -1 : w;
}

int cl_guard_field_decode(const char *in, size_t len, bool lock, struct rl_key *k)
{
	memset(k, 0, sizeof(*k));
	if (len < 3 || in[1] != ':')
		return -1;
	return read_key(in, 1, in + 2, len - 2, lock, k);
}

int cl_until_decode(const char *in, size_t len, uint64_t *until_ms)
{
	uint64_t v = 0;
	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (in[i] < '0' || in[i] > '9' || v > (UINT64_MAX - (uint64_t)(in[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(in[i] - '0');
	}
	*until_ms = v;
	return 0;
}

/* Exactly 16 lowercase hex digits. */
static int read_hex64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len != 16)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int d = hex_val(s[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

int cl_calls_field_decode(const char *in, size_t len, char node[64], uint64_t *life)
{
	const char *slash = memchr(in, '/', len);
	size_t nl = slash ? (size_t)(slash - in) : 0;
	if (slash == NULL || !printable(in, nl) || nl >= 64 ||
	    read_hex64(slash + 1, len - nl - 1, life) < 0)
		return -1;
	memcpy(node, in, nl);
	node[nl] = '\0';
	return 0;
}

int cl_life_decode(const char *in, size_t len, uint64_t *life) { return read_hex64(in, len, life); }

int cl_calls_encode(const char *node, bool trunk, const struct rl_key *k, char *out,
		    size_t outlen)
{
	if (k->family != 0 || !printable(node, strlen(node)) || !printable(k->name, strlen(k->name)))
		return -1;
	int w = snprintf(out, outlen, "%s\tcalls\t%c\t%s", node, trunk ? 't' : 'u', k->name);
	return w < 0 || (size_t)w >= outlen ? -1 : w;
}
