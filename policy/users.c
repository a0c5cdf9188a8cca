/* Parser and lookup for the digest user store. The parser reads line by line
 * and stops at the first bad line; duplicates are found after a sort, which
 * also orders the store for binary-search lookups. Error messages name the
 * source and line, and describe fields instead of quoting them: a password
 * typed where a hash belongs must not end up in a log. */
#include "policy/users.h"

#include "core/hex.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sofia-sip/url.h>

/* Tokens a line may hold: user, realm, md5=, sha256=, the ids, and room to
 * notice one too many of any of them. */
#define MAX_TOKENS (4 + USERS_IDS_MAX + 1)

struct token {
	const char *s;
	size_t len;
};

struct parse_ctx {
	const char *source;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(const struct parse_ctx *p, size_t line,
						      const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s:%zu: %s", p->source, line, why);
	return -1;
}

static bool is_hex(char c) { return isxdigit((unsigned char)c) != 0; }

const char *users_name_problem(const char *s, size_t len)
{
	if (len == 0)
		return "user name is empty";
	if (len > USERS_NAME_MAX)
		return "user name is longer than 64 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || strchr("-_.!~*'()&=+$,;?/", c))
			continue;
		if (c == '%' && i + 2 < len && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
			i += 2;
			continue;
		}
		return "user name has a character outside RFC 3261 user characters";
	}
	return NULL;
}

const char *users_realm_problem(const char *s, size_t len)
{
	if (len == 0)
		return "realm is empty";
	if (len > USERS_REALM_MAX)
		return "realm is longer than 128 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return "realm has a character other than visible ASCII (no '\"' or '\\')";
	}
	return NULL;
}

const char *users_id_problem(const char *s, size_t len)
{
	char buf[USERS_LINE_MAX + 1];
	url_t url;

	if (len > USERS_LINE_MAX)
		return "id is too long";
	if (!(len > 4 && !strncasecmp(s, "sip:", 4)) && !(len > 5 && !strncasecmp(s, "sips:", 5)) &&
	    !(len > 4 && !strncasecmp(s, "tel:", 4)))
		return "id must be a sip:, sips: or tel: URI";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* Sofia's url_d takes '<', '"' and spaces in a user part; an id
		 * goes into headers later, so only URI characters pass here. */
		if (isalnum(c) || strchr("-._~:/@!$&'()*+,;=%[]", c))
			continue;
		if (c == '?')
			return "id must not carry URI headers";
		return "id has a character not allowed in a URI";
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(&url, 0, sizeof(url));
	if (url_d(&url, buf) < 0)
		return "id does not parse as a URI";
	if (url.url_type == url_tel)
		return url.url_user && url.url_user[0] ? NULL : "tel: id has no number";
	if (url.url_type != url_sip && url.url_type != url_sips)
		return "id must be a sip:, sips: or tel: URI";
	if (!url.url_host || !url.url_host[0])
		return "id has no host";
	return NULL;
}

static void entry_clear(struct user_entry *e)
{
	for (size_t i = 0; i < e->n_ids; i++)
		free(e->ids[i]);
	explicit_bzero(e, sizeof(*e));
}

void users_forget_ha1(struct users *u)
{
	for (size_t i = 0; u && i < u->n; i++) {
		explicit_bzero(u->v[i].ha1_md5, sizeof(u->v[i].ha1_md5));
		explicit_bzero(u->v[i].ha1_sha256, sizeof(u->v[i].ha1_sha256));
	}
}

void users_free(struct users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		entry_clear(&u->v[i]);
	free(u->v);
	free(u->by_id);
	u->v = NULL;
	u->n = 0;
	u->by_id = NULL;
	u->n_by_id = 0;
}

static int id_ref_cmp(const void *a, const void *b)
{
	const struct users_id_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : strcmp(x->user->realm, y->user->realm);
}

/* After the entries are sorted (their addresses are final). */
static int index_ids(struct users *u)
{
	size_t n = 0;
	for (size_t i = 0; i < u->n; i++)
		n += u->v[i].n_ids;
	if (n == 0)
		return 0;
	if ((u->by_id = calloc(n, sizeof(*u->by_id))) == NULL)
		return -1;
	for (size_t i = 0; i < u->n; i++)
		for (size_t k = 0; k < u->v[i].n_ids; k++)
			u->by_id[u->n_by_id++] = (struct users_id_ref){ u->v[i].ids[k], &u->v[i] };
	qsort(u->by_id, u->n_by_id, sizeof(*u->by_id), id_ref_cmp);
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct user_entry *x = a, *y = b;
	int c = strcmp(x->realm, y->realm);
	if (!c)
		c = strcmp(x->name, y->name);
	if (!c)
		c = (x->line > y->line) - (x->line < y->line);
	return c;
}

/* Splits at blanks; a token that starts with '#' starts a comment. Returns
 * the number of tokens, or MAX_TOKENS + 1 when there are more. */
static size_t tokenize(const char *s, size_t len, struct token *tok)
{
	size_t n = 0, i = 0;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len || s[i] == '#')
			break;
		size_t start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		if (n == MAX_TOKENS)
			return MAX_TOKENS + 1;
		tok[n].s = s + start;
		tok[n].len = i - start;
		n++;
	}
	return n;
}

/* Fills e from the tokens of one line. */
static int parse_entry(const struct parse_ctx *p, size_t line, const struct token *tok, size_t n,
		       struct user_entry *e)
{
	const char *why;

	if (n > MAX_TOKENS)
		return fail(p, line, "too many fields");
	if (n < 3)
		return fail(p, line, "expected USER REALM and md5= or sha256=");
	if ((why = users_name_problem(tok[0].s, tok[0].len)))
		return fail(p, line, "%s", why);
	if ((why = users_realm_problem(tok[1].s, tok[1].len)))
		return fail(p, line, "%s", why);
	memcpy(e->name, tok[0].s, tok[0].len);
	memcpy(e->realm, tok[1].s, tok[1].len);
	e->line = line;

	for (size_t i = 2; i < n; i++) {
		const char *s = tok[i].s;
		size_t len = tok[i].len;
		const char *eq = memchr(s, '=', len);
		if (!eq)
			return fail(p, line, "field %zu is not key=value", i + 1);
		size_t klen = (size_t)(eq - s);
		const char *v = eq + 1;
		size_t vlen = len - klen - 1;
		if (klen == 3 && !memcmp(s, "md5", 3)) {
			if (e->has_md5)
				return fail(p, line, "md5= given twice");
			if (!hex_decode(v, vlen, e->ha1_md5, sizeof(e->ha1_md5)))
				return fail(p, line, "md5= needs 32 hex digits");
			e->has_md5 = true;
		} else if (klen == 6 && !memcmp(s, "sha256", 6)) {
			if (e->has_sha256)
				return fail(p, line, "sha256= given twice");
			if (!hex_decode(v, vlen, e->ha1_sha256, sizeof(e->ha1_sha256)))
				return fail(p, line, "sha256= needs 64 hex digits");
			e->has_sha256 = true;
		} else if (klen == 2 && !memcmp(s, "id", 2)) {
			if (e->n_ids == USERS_IDS_MAX)
				return fail(p, line, "more than %d id= entries", USERS_IDS_MAX);
			if ((why = users_id_problem(v, vlen)))
				return fail(p, line, "%s", why);
			char *id = malloc(vlen + 1);
			if (!id)
				return fail(p, line, "out of memory");
			memcpy(id, v, vlen);
			id[vlen] = '\0';
			e->ids[e->n_ids++] = id;
		} else {
			/* A key is printable: the line passed the control check, and
			 * a key is short, so quoting it reveals nothing. */
			if (klen > 16)
				return fail(p, line, "unknown key in field %zu", i + 1);
			return fail(p, line, "unknown key '%.*s'", (int)klen, s);
		}
	}
	if (!e->has_md5 && !e->has_sha256)
		return fail(p, line, "needs md5= or sha256=");
	return 0;
}

static int append(struct users *out, size_t *cap, size_t max_users, struct user_entry *e)
{
	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		if (ncap > max_users)
			ncap = max_users;
		struct user_entry *nv = calloc(ncap, sizeof(*nv));
		if (!nv)
			return -1;
		/* calloc + copy instead of realloc: the old block holds hashes
		 * and is wiped before it goes back to the allocator. */
		if (out->n) {
			memcpy(nv, out->v, out->n * sizeof(*nv));
			explicit_bzero(out->v, out->n * sizeof(*nv));
		}
		free(out->v);
		out->v = nv;
		*cap = ncap;
	}
	out->v[out->n++] = *e;
	explicit_bzero(e, sizeof(*e));
	return 0;
}

static int check_line_bytes(const struct parse_ctx *p, size_t line, const char *s, size_t len)
{
	if (len > USERS_LINE_MAX)
		return fail(p, line, "line longer than %d bytes", USERS_LINE_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return fail(p, line, "NUL byte");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, line, "control character");
	}
	return 0;
}

/* After the sort, equal (realm, name) pairs sit together in line order; the
 * message names the earliest line that repeats an earlier one. */
static int check_duplicates(const struct parse_ctx *p, const struct users *u)
{
	size_t bad = 0, first = 0, group = 0;
	for (size_t i = 1; i < u->n; i++) {
		const struct user_entry *a = &u->v[i - 1], *b = &u->v[i];
		if (strcmp(a->realm, b->realm) || strcmp(a->name, b->name)) {
			group = i;
			continue;
		}
		if (!bad || b->line < u->v[bad].line) {
			bad = i;
			first = group;
		}
	}
	if (!bad)
		return 0;
	return fail(p, u->v[bad].line, "duplicate user %s in realm %s (first on line %zu)",
		    u->v[bad].name, u->v[bad].realm, u->v[first].line);
}

int users_parse(const char *text, size_t len, const char *source_name, size_t max_users,
		struct users *out, char *err, size_t errlen)
{
	const struct parse_ctx p = { .source = source_name ? source_name : "users",
				     .err = err, .errlen = errlen };
	struct token tok[MAX_TOKENS];
	size_t pos = 0, line = 0, cap = 0;

	out->v = NULL;
	out->n = 0;
	out->by_id = NULL;
	out->n_by_id = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!text && len)
		return fail(&p, 0, "no text");
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl ? 1 : 0);
		line++;
		if (n && s[n - 1] == '\r')
			n--;
		if (check_line_bytes(&p, line, s, n) < 0)
			goto fail;
		size_t ntok = tokenize(s, n, tok);
		if (ntok == 0)
			continue;
		struct user_entry e;
		memset(&e, 0, sizeof(e));
		if (parse_entry(&p, line, tok, ntok, &e) < 0) {
			entry_clear(&e);
			goto fail;
		}
		if (out->n == max_users) {
			entry_clear(&e);
			fail(&p, line, "more than %zu users", max_users);
			goto fail;
		}
		if (append(out, &cap, max_users, &e) < 0) {
			entry_clear(&e);
			fail(&p, line, "out of memory");
			goto fail;
		}
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), entry_cmp);
	if (check_duplicates(&p, out) < 0)
		goto fail;
	if (index_ids(out) < 0) {
		fail(&p, line, "out of memory");
		goto fail;
	}
	return 0;
fail:
	users_free(out);
	return -1;
}

/* Appends to buf (len bytes, `*used` of them filled); -1 when it does not fit. */
__attribute__((format(printf, 4, 5))) static int put(char *buf, size_t len, size_t *used,
						     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= len - *used)
		return -1;
	*used += (size_t)w;
	return 0;
}

int users_public_line(const struct user_entry *e, char *buf, size_t len)
{
	static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";
	size_t used = 0;
	if (len == 0 || put(buf, len, &used, "%s %s", e->name, e->realm) < 0 ||
	    (e->has_md5 && put(buf, len, &used, " md5=%.32s", zeros) < 0) ||
	    (e->has_sha256 && put(buf, len, &used, " sha256=%.64s", zeros) < 0))
		return -1;
	for (size_t i = 0; i < e->n_ids; i++)
		if (put(buf, len, &used, " id=%s", e->ids[i]) < 0)
			return -1;
	return put(buf, len, &used, "\n") < 0 ? -1 : (int)used;
}

struct lookup_key {
	const char *name;
	const char *realm;
};

static int key_cmp(const void *key, const void *elem)
{
	const struct lookup_key *k = key;
	const struct user_entry *e = elem;
	int c = strcmp(k->realm, e->realm);
	return c ? c : strcmp(k->name, e->name);
}

const struct user_entry *users_lookup(const struct users *u, const char *name, const char *realm)
{
	if (!u || !u->n || !name || !realm)
		return NULL;
	const struct lookup_key k = { .name = name, .realm = realm };
	return bsearch(&k, u->v, u->n, sizeof(*u->v), key_cmp);
}

const struct user_entry *users_lookup_id(const struct users *u, const char *id, const char *realm)
{
	if (!u || !u->n_by_id || !id || !realm)
		return NULL;
	/* The first (id, realm) entry, then no other user behind it. */
	size_t lo = 0, hi = u->n_by_id;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct users_id_ref *r = &u->by_id[mid];
		int c = strcmp(r->id, id);
		if (c == 0)
			c = strcmp(r->user->realm, realm);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == u->n_by_id || strcmp(u->by_id[lo].id, id) || strcmp(u->by_id[lo].user->realm, realm))
		return NULL;
	for (size_t i = lo + 1; i < u->n_by_id && !strcmp(u->by_id[i].id, id) &&
			       !strcmp(u->by_id[i].user->realm, realm); i++)
		if (u->by_id[i].user != u->by_id[lo].user)
			return NULL;
	return u->by_id[lo].user;
}
