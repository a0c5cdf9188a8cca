/* The registrar bindings of one user as one Redis value, and its strict
 * reading (and, at the end, a shared certificate's value line). The value is text, a version line "pc1" then one line a
 * binding with nine tab-separated fields: node, contact, Call-ID, CSeq,
 * expiry (wall-clock seconds), transport, flow address, flow port, Path.
 * Text rather than a binary layout so an operator can read it with
 * redis-cli; tabs and newlines cannot occur in the SIP values it carries
 * (the encoder refuses them anyway). Reading refuses the whole value on the
 * first malformed field: a value another program wrote, or one cut short,
 * must never become a half-right binding that routes calls. */
#include "codec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define VERSION_LINE "pc1\n"
#define FIELDS 9

/* A string field: non-empty unless `empty_ok`, printable, no tab. */
static bool field_ok(const char *s, size_t len, bool empty_ok)
{
	if (len == 0)
		return empty_ok;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static int copy_field(char *dst, size_t size, const char *s, size_t len, bool empty_ok)
{
	if (len >= size || !field_ok(s, len, empty_ok))
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* A decimal number of at most 20 digits, no sign, no leading spaces. */
static int read_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	if (len == 0 || len > 20)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int read_addr(const char *ip, size_t iplen, uint64_t port, struct pc_peer *p)
{
	char text[INET6_ADDRSTRLEN];
	if (iplen == 0 || iplen >= sizeof(text))
		return -1;
	memcpy(text, ip, iplen);
	text[iplen] = '\0';
	return pc_sockaddr_numeric(text, (uint16_t)port, &p->addr, &p->addrlen);
}

/* One line's fields (already split) into *b. */
static int read_binding(const char *f[FIELDS], const size_t fl[FIELDS], struct reg_binding *b)
{
	uint64_t cseq, expires, port;
	char tp[8];
	memset(b, 0, sizeof(*b));
	if (copy_field(b->node, sizeof(b->node), f[0], fl[0], false) < 0 ||
	    copy_field(b->contact, sizeof(b->contact), f[1], fl[1], false) < 0 ||
	    copy_field(b->call_id, sizeof(b->call_id), f[2], fl[2], false) < 0 ||
	    read_u64(f[3], fl[3], UINT32_MAX, &cseq) < 0 || read_u64(f[4], fl[4], UINT64_MAX, &expires) < 0 ||
	    copy_field(tp, sizeof(tp), f[5], fl[5], false) < 0 ||
	    read_u64(f[7], fl[7], 65535, &port) < 0 || port == 0 ||
	    copy_field(b->path, sizeof(b->path), f[8], fl[8], true) < 0)
		return -1;
	if (strncmp(b->contact, "sip:", 4) != 0 && strncmp(b->contact, "sips:", 5) != 0)
		return -1;
	if (pc_transport_from_name(tp, &b->flow.transport) < 0 || read_addr(f[6], fl[6], port, &b->flow) < 0)
		return -1;
	b->cseq = (uint32_t)cseq;
	b->expires_at = expires;
	b->flow.conn_id = 0; /* the connection is the holding node's */
	b->flow.listener = -1;
	return 0;
}

int cl_bindings_decode(const char *in, size_t len, struct reg_binding *out, unsigned max)
{
	size_t vl = strlen(VERSION_LINE);
	if (len > CL_VALUE_MAX || len < vl || memcmp(in, VERSION_LINE, vl) != 0)
		return -1;
	const char *p = in + vl, *end = in + len;
	unsigned n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || n >= max)
			return -1; /* a line cut short, or more bindings than a user may have */
		const char *f[FIELDS];
		size_t fl[FIELDS];
		const char *q = p;
		for (unsigned i = 0; i < FIELDS; i++) {
			const char *tab = i + 1 < FIELDS ? memchr(q, '\t', (size_t)(nl - q)) : nl;
			if (tab == NULL)
				return -1;
			f[i] = q;
			fl[i] = (size_t)(tab - q);
			q = tab + 1;
		}
		if (read_binding(f, fl, &out[n]) < 0)
			return -1;
		n++;
		p = nl + 1;
	}
	return (int)n;
}

static bool printable(const char *s, bool empty_ok)
{
	return field_ok(s, strlen(s), empty_ok);
}

int cl_bindings_encode(const struct reg_binding *b, unsigned n, const char *self, char *out,
		       size_t outlen)
{
	size_t used = 0;
	int w = snprintf(out, outlen, "%s", VERSION_LINE);
	if (w < 0 || (size_t)w >= outlen)
		return -1;
	used = (size_t)w;
	for (unsigned i = 0; i < n; i++) {
		const char *node = b[i].node[0] ? b[i].node : self;
		char host[INET6_ADDRSTRLEN];
		unsigned port;
		if (!printable(node, false) || !printable(b[i].contact, false) ||
		    !printable(b[i].call_id, false) || !printable(b[i].path, true) ||
		    pc_sockaddr_str((const struct sockaddr *)&b[i].flow.addr, host, sizeof(host), &port) < 0)
			return -1;
		w = snprintf(out + used, outlen - used, "%s\t%s\t%s\t%u\t%llu\t%s\t%s\t%u\t%s\n", node,
			     b[i].contact, b[i].call_id, (unsigned)b[i].cseq,
			     (unsigned long long)b[i].expires_at, pc_transport_name(b[i].flow.transport),
			     host, port, b[i].path);
		if (w < 0 || (size_t)w >= outlen - used)
			return -1;
		used += (size_t)w;
	}
	return used > CL_VALUE_MAX ? -1 : (int)used;
}

int cl_notice_decode(const char *in, size_t len, char *node, size_t nodelen, char *user,
		     size_t userlen)
{
	const char *tab = memchr(in, '\t', len);
	if (tab == NULL)
		return -1;
	size_t nl = (size_t)(tab - in), ul = len - nl - 1;
	if (memchr(tab + 1, '\t', ul) != NULL)
		return -1;
	return copy_field(node, nodelen, in, nl, false) < 0 ||
			       copy_field(user, userlen, tab + 1, ul, false) < 0
		       ? -1
		       : 0;
}

/* A shared certificate (shared_certs.c): the version and expiry line, then
 * the bytes, which the verification service checks itself. */
int cl_cert_value_decode(const char *in, size_t len, long now, const char **bytes,
			 size_t *blen, long *ttl_s)
{
	size_t h = strlen(CL_CERT_VALUE_HEAD);
	const char *nl = len > h ? memchr(in, '\n', len) : NULL;
	if (nl == NULL || memcmp(in, CL_CERT_VALUE_HEAD, h) != 0 || nl - in - (long)h < 1 ||
	    nl - in - (long)h > 12 || len > CL_CERT_MAX)
		return -1;
	long expiry = 0;
	for (const char *p = in + h; p < nl; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		expiry = expiry * 10 + (*p - '0');
	}
	*bytes = nl + 1;
	*blen = len - (size_t)(nl + 1 - in);
	*ttl_s = expiry - now;
	return *blen > 0 && *ttl_s > 0 ? 0 : -1;
}
