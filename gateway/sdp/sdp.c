/* Reading an SDP body into struct pc_sdp_desc and writing the other leg's body
 * from the original plus a plan. Sofia-SIP's parser does the reading; the
 * writer rewrites the original line by line so that everything we do not
 * understand (codecs, fmtp, attributes) passes through byte for byte. For the
 * two to agree on what the lines are, a lexical pass first refuses bodies
 * where they could differ (Sofia silently stops at a line of blanks, splits
 * on a lone CR, truncates at NUL, is lenient about m= spacing, and loops for
 * ever on some m= format lists); every body the writer walks has therefore
 * been read, and every body it writes reads back. */
#include "sdp.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include "core/buf.h"
#include "core/err.h"

#define SDP_TOKEN_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`{|}~"

/* Every a=crypto line in a stream, supported suite or not, so duplicate
 * tags are caught across both. */
#define SDP_MAX_CRYPTO_LINES (2 * PC_SDP_MAX_CRYPTO)

/* There are 128 RTP payload types; more formats than that is an attack. */
#define SDP_MAX_FORMATS 128

struct line {
	const char *p;
	size_t len; /* without the line end */
};

struct mline {
	struct line media, proto, rest; /* rest: formats, with their leading space */
	unsigned port;
};

/* The reason goes into a Warning header: keep it to printable ASCII without
 * quotes, whatever Sofia's message quoted from the body. */
static void set_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
	if (!why || !whylen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	for (char *c = why; *c; c++)
		if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\')
			*c = '?';
}

const char *pc_sdp_proto_name(enum pc_sdp_proto p)
{
	switch (p) {
	case PC_SDP_PROTO_RTP_AVP:
		return "RTP/AVP";
	case PC_SDP_PROTO_RTP_SAVP:
		return "RTP/SAVP";
	case PC_SDP_PROTO_RTP_AVPF:
		return "RTP/AVPF";
	case PC_SDP_PROTO_RTP_SAVPF:
		return "RTP/SAVPF";
	case PC_SDP_PROTO_OTHER:
		break;
	}
	return "other";
}

bool pc_sdp_proto_is_secure(enum pc_sdp_proto p)
{
	return p == PC_SDP_PROTO_RTP_SAVP || p == PC_SDP_PROTO_RTP_SAVPF;
}

/* From the m= line's own text: Sofia files UDP/TLS/RTP/SAVP (DTLS-SRTP)
 * under RTP/SAVP, and taking that for SDES would be a security mistake. */
static enum pc_sdp_proto proto_from_text(const char *s, size_t n)
{
	for (int p = PC_SDP_PROTO_RTP_AVP; p < PC_SDP_PROTO_OTHER; p++) {
		const char *name = pc_sdp_proto_name((enum pc_sdp_proto)p);
		if (strlen(name) == n && memcmp(name, s, n) == 0)
			return (enum pc_sdp_proto)p;
	}
	return PC_SDP_PROTO_OTHER;
}

/* Next line of the body; false at the end. Lines end in LF or CRLF. */
static bool next_line(const char *body, size_t len, size_t *pos, struct line *l)
{
	if (*pos >= len)
		return false;
	const char *start = body + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	size_t n = nl ? (size_t)(nl - start) : len - *pos;
	*pos += nl ? n + 1 : n;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	l->p = start;
	l->len = n;
	return true;
}

static size_t span(const char *s, size_t n, const char *set)
{
	size_t i = 0;
	while (i < n && s[i] && strchr(set, s[i]))
		i++;
	return i;
}

/* m=<media> SP <port>[/1] SP <proto> *(SP <fmt>), single-space separated
 * as RFC 8866 writes it; Sofia would accept more, which the writer would then
 * have to reproduce. */
static bool parse_mline(struct line l, struct mline *m)
{
	const char *s = l.p + 2;
	size_t n = l.len - 2, i = 0, k;

	k = span(s, n, SDP_TOKEN_CHARS);
	if (k == 0 || k == n || s[k] != ' ')
		return false;
	m->media = (struct line){ s, k };
	i = k + 1;

	k = span(s + i, n - i, "0123456789");
	if (k == 0 || k > 5)
		return false;
	unsigned port = 0;
	for (size_t j = 0; j < k; j++)
		port = port * 10 + (unsigned)(s[i + j] - '0');
	if (port > 65535)
		return false;
	m->port = port;
	i += k;
	if (i < n && s[i] == '/') {
		/* A port count other than 1 is layered coding we cannot relay. */
		if (i + 2 > n || s[i + 1] != '1' || (i + 2 < n && s[i + 2] != ' '))
			return false;
		i += 2;
	}
	if (i >= n || s[i] != ' ')
		return false;
	i++;

	/* proto = token *("/" token) (RFC 4566 §9): a leading, trailing or
	 * doubled '/' is refused, also because Sofia reads "6 /2" as a port
	 * count and would then find no protocol in what we write. */
	k = span(s + i, n - i, SDP_TOKEN_CHARS "/");
	if (k == 0 || s[i] == '/' || s[i + k - 1] == '/')
		return false;
	for (size_t j = i + 1; j < i + k; j++)
		if (s[j] == '/' && s[j - 1] == '/')
			return false;
	m->proto = (struct line){ s + i, k };
	i += k;
	m->rest = (struct line){ s + i, n - i };
	/* Formats are tokens after spaces. Sofia loops for ever, allocating,
	 * on a non-RTP format list with a non-token character, so this is a
	 * guard as much as a rule. Trailing blanks are harmless and seen. */
	unsigned n_fmt = 0;
	while (i < n) {
		if (s[i] != ' ')
			return false;
		i += span(s + i, n - i, " ");
		if (i == n)
			break;
		k = span(s + i, n - i, SDP_TOKEN_CHARS);
		/* Sofia matches each a=rtpmap against the whole list: bound it. */
		if (k == 0 || ++n_fmt > SDP_MAX_FORMATS)
			return false;
		i += k;
	}
	return true;
}

/* The lexical pass: every line is "x=..." with no control characters but
 * TAB, no blank line before the end, every m= line well-formed. Collects the
 * first PC_SDP_MAX_STREAMS m= lines and counts all of them. */
static int check_lines(const char *body, size_t len, struct mline *ml, unsigned *n_m, char *why,
		       size_t whylen)
{
	size_t pos = 0;
	struct line l;
	bool blank = false;
	unsigned no = 0;

	*n_m = 0;
	while (next_line(body, len, &pos, &l)) {
		no++;
		if (l.len == 0) {
			blank = true;
			continue;
		}
		if (blank) {
			set_why(why, whylen, "SDP: blank line before line %u", no);
			return -1;
		}
		if (l.len < 2 || l.p[0] < 'a' || l.p[0] > 'z' || l.p[1] != '=') {
			set_why(why, whylen, "SDP: line %u is not type=value", no);
			return -1;
		}
		for (size_t i = 0; i < l.len; i++) {
			unsigned char c = (unsigned char)l.p[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				set_why(why, whylen, "SDP: control character in line %u", no);
				return -1;
			}
		}
		if (l.p[0] == 'm') {
			struct mline m;
			if (!parse_mline(l, &m)) {
				set_why(why, whylen, "SDP: malformed m= line %u", *n_m + 1);
				return -1;
			}
			if (*n_m < PC_SDP_MAX_STREAMS)
				ml[*n_m] = m;
			(*n_m)++;
		}
	}
	if (*n_m > PC_SDP_MAX_STREAMS) {
		set_why(why, whylen, "SDP: %u m= lines, at most %d supported", *n_m, PC_SDP_MAX_STREAMS);
		return -1;
	}
	return 0;
}

static bool is_direction(const char *name, enum pc_sdp_direction *d)
{
	static const struct {
		const char *name;
		enum pc_sdp_direction dir;
	} dirs[] = {
		{ "sendrecv", PC_SDP_SENDRECV },
		{ "sendonly", PC_SDP_SENDONLY },
		{ "recvonly", PC_SDP_RECVONLY },
		{ "inactive", PC_SDP_INACTIVE },
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (strcasecmp(name, dirs[i].name) == 0) {
			*d = dirs[i].dir;
			return true;
		}
	}
	return false;
}

/* a=rtcp:<port> [nettype addrtype address]: only the port is used; RTCP goes
 * to the relay like RTP does. */
static bool parse_rtcp(const char *v, unsigned *port)
{
	if (!v)
		return false;
	size_t k = span(v, strlen(v), "0123456789");
	if (k == 0 || k > 5 || (v[k] && v[k] != ' '))
		return false;
	unsigned long p = strtoul(v, NULL, 10);
	if (p < 1 || p > 65535)
		return false;
	*port = (unsigned)p;
	return true;
}

static int read_connection(const sdp_connection_t *c, struct pc_sdp_stream *st, unsigned idx,
			   char *why, size_t whylen)
{
	bool live = st->port != 0;
	uint8_t addr[16];

	if (c->c_addrtype != sdp_addr_ip4 && c->c_addrtype != sdp_addr_ip6) {
		if (!live)
			return 0;
		set_why(why, whylen, "SDP: m-line %u: c= address type not IP4 or IP6", idx);
		return -1;
	}
	bool v6 = c->c_addrtype == sdp_addr_ip6;
	const char *a = c->c_address ? c->c_address : "";
	/* We relay to this address, so it has to be one: no names to resolve,
	 * no multicast groups. */
	if (strlen(a) >= PC_SDP_ADDR_MAX || inet_pton(v6 ? AF_INET6 : AF_INET, a, addr) != 1 ||
	    c->c_mcast) {
		if (!live)
			return 0;
		set_why(why, whylen, "SDP: m-line %u: c= is not a unicast IP%c address", idx,
			v6 ? '6' : '4');
		return -1;
	}
	snprintf(st->address, sizeof(st->address), "%s", a);
	st->ipv6 = v6;
	return 0;
}

static int read_crypto(sdp_attribute_t *a, struct pc_sdp_stream *st, unsigned *tags,
		       unsigned *n_tags, unsigned idx, char *why, size_t whylen)
{
	struct pc_sdp_crypto c;
	const char *v = a->a_value;
	int rc = sdes_parse(v, v ? strlen(v) : 0, &c, why, whylen);
	if (rc < 0)
		return -1;
	if (*n_tags == SDP_MAX_CRYPTO_LINES) {
		pc_srtp_params_wipe(&c.params);
		set_why(why, whylen, "SDP: m-line %u: more than %d a=crypto lines", idx,
			SDP_MAX_CRYPTO_LINES);
		return -1;
	}
	for (unsigned i = 0; i < *n_tags; i++) {
		if (tags[i] == c.tag) {
			pc_srtp_params_wipe(&c.params);
			set_why(why, whylen, "SDP: m-line %u: a=crypto tag %u twice", idx, c.tag);
			return -1;
		}
	}
	tags[(*n_tags)++] = c.tag;
	if (rc == 1) {
		st->n_crypto_unsupported++;
		return 0;
	}
	if (st->n_crypto == PC_SDP_MAX_CRYPTO) {
		pc_srtp_params_wipe(&c.params);
		set_why(why, whylen, "SDP: m-line %u: more than %d usable a=crypto lines", idx,
			PC_SDP_MAX_CRYPTO);
		return -1;
	}
	st->crypto[st->n_crypto++] = c;
	pc_srtp_params_wipe(&c.params);
	return 0;
}

/* The first format of the m-line, as Sofia maps it (an a=rtpmap, or the
 * RFC 3551 table for a static payload type); for the quality figures, so
 * a name that does not fit is simply not known. */
static void read_format(const sdp_media_t *m, struct pc_sdp_stream *st)
{
	const sdp_rtpmap_t *rm = m->m_rtpmaps;
	if (rm == NULL || rm->rm_encoding == NULL || strlen(rm->rm_encoding) >= sizeof(st->format_name))
		return;
	st->has_format = true;
	st->format_pt = rm->rm_pt;
	snprintf(st->format_name, sizeof(st->format_name), "%s", rm->rm_encoding);
	st->format_rate = rm->rm_rate <= 1000000 ? (unsigned)rm->rm_rate : 0;
}

static int read_stream(const sdp_session_t *sess, const sdp_media_t *m, const struct mline *ml,
		       struct pc_sdp_stream *st, unsigned idx, char *why, size_t whylen)
{
	unsigned tags[SDP_MAX_CRYPTO_LINES];
	unsigned n_tags = 0;
	bool have_rtcp = false;

	snprintf(st->media, sizeof(st->media), "%s", m->m_type_name ? m->m_type_name : "");
	st->port = ml->port;
	st->proto = proto_from_text(ml->proto.p, ml->proto.len);

	const sdp_connection_t *c = m->m_connections ? m->m_connections : sess->sdp_connection;
	if (c && read_connection(c, st, idx, why, whylen) < 0)
		return -1;
	if (st->port != 0 && !st->address[0]) {
		set_why(why, whylen, "SDP: m-line %u (%s): no c= address", idx, st->media);
		return -1;
	}

	st->direction = PC_SDP_SENDRECV;
	for (const sdp_attribute_t *a = sess->sdp_attributes; a; a = a->a_next)
		(void)is_direction(a->a_name, &st->direction);

	for (sdp_attribute_t *a = m->m_attributes; a; a = a->a_next) {
		if (is_direction(a->a_name, &st->direction))
			continue;
		if (strcasecmp(a->a_name, "crypto") == 0) {
			if (read_crypto(a, st, tags, &n_tags, idx, why, whylen) < 0)
				return -1;
		} else if (strcasecmp(a->a_name, "rtcp-mux") == 0) {
			st->rtcp_mux = true;
		} else if (strcasecmp(a->a_name, "rtcp") == 0 && !have_rtcp) {
			if (!parse_rtcp(a->a_value, &st->rtcp_port)) {
				set_why(why, whylen, "SDP: m-line %u: bad a=rtcp", idx);
				return -1;
			}
			have_rtcp = true;
		}
	}
	read_format(m, st);
	if (!have_rtcp)
		st->rtcp_port = st->port != 0 && st->port < 65535 ? st->port + 1 : 0;
	if (st->port == 0)
		st->rtcp_port = 0;
	return 0;
}

/* Sofia keeps its own (writable) copy of the body; the a=crypto values in
 * it are keys. Its text type is const only to its users. */
static void wipe_text(const char *s)
{
	explicit_bzero((void *)(uintptr_t)s, strlen(s));
}

static void wipe_sofia_keys(sdp_session_t *sess)
{
	if (!sess)
		return;
	for (sdp_media_t *m = sess->sdp_media; m; m = m->m_next)
		for (sdp_attribute_t *a = m->m_attributes; a; a = a->a_next)
			if (a->a_value && strcasecmp(a->a_name, "crypto") == 0)
				wipe_text(a->a_value);
	for (sdp_attribute_t *a = sess->sdp_attributes; a; a = a->a_next)
		if (a->a_value && strcasecmp(a->a_name, "crypto") == 0)
			wipe_text(a->a_value);
}

int pc_sdp_read(const char *body, size_t len, struct pc_sdp_desc *out, char *why, size_t whylen)
{
	struct mline ml[PC_SDP_MAX_STREAMS];
	unsigned n_m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!body || len == 0) {
		set_why(why, whylen, "SDP: empty body");
		return -1;
	}
	if (check_lines(body, len, ml, &n_m, why, whylen) < 0)
		return -1;

	su_home_t *home = su_home_new(sizeof(su_home_t));
	if (!home) {
		set_why(why, whylen, "SDP: out of memory");
		return -1;
	}
	/* mode_manual: keep direction attributes in the lists (Sofia would
	 * otherwise fold them, and all attributes of port-0 streams, away);
	 * c_missing: the missing c= check is ours, with our reason. */
	sdp_parser_t *parser = sdp_parse(home, body, (issize_t)len,
					 sdp_f_c_missing | sdp_f_mode_manual);
	sdp_session_t *sess = sdp_session(parser);
	if (!sess) {
		const char *e = sdp_parsing_error(parser);
		set_why(why, whylen, "SDP: %s", e ? e : "malformed");
		goto done;
	}

	unsigned i = 0;
	for (const sdp_media_t *m = sess->sdp_media; m; m = m->m_next, i++) {
		if (i >= n_m) {
			set_why(why, whylen, "SDP: malformed m= lines");
			goto done;
		}
		if (read_stream(sess, m, &ml[i], &out->streams[i], i + 1, why, whylen) < 0)
			goto done;
	}
	if (i != n_m) {
		set_why(why, whylen, "SDP: malformed m= lines");
		goto done;
	}
	out->n_streams = n_m;
	rc = 0;
done:
	wipe_sofia_keys(sess);
	sdp_parser_free(parser);
	su_home_unref(home);
	if (rc < 0)
		pc_sdp_desc_wipe(out);
	return rc;
}

void pc_sdp_desc_wipe(struct pc_sdp_desc *d)
{
	explicit_bzero(d, sizeof(*d));
}

int pc_sdp_pick_crypto(const struct pc_sdp_stream *offered, const enum pc_srtp_suite *allowed,
		    unsigned n_allowed, struct pc_sdp_crypto *out)
{
	for (unsigned a = 0; a < n_allowed; a++) {
		for (unsigned i = 0; i < offered->n_crypto && i < PC_SDP_MAX_CRYPTO; i++) {
			if (offered->crypto[i].params.suite == allowed[a]) {
				*out = offered->crypto[i];
				return 0;
			}
		}
	}
	return -1;
}

/* ---- writing ---- */

/* Output that holds keys: a secret core buffer, so growing it leaves no
 * copy behind in freed memory. It needs no ceiling of its own: it is the
 * body read (itself bounded by the message) with lines dropped, replaced or
 * added per stream. An error sticks, so the writer checks once at the end. */
struct outbuf {
	struct pc_buf buf;
	bool failed;
};

static void out_mem(struct outbuf *b, const char *s, size_t n)
{
	if (!b->failed && buf_append(&b->buf, s, n) != PC_OK)
		b->failed = true;
}

static void out_line(struct outbuf *b, const char *s, size_t n)
{
	out_mem(b, s, n);
	out_mem(b, "\r\n", 2);
}

static void out_fmt(struct outbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_fmt(struct outbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->failed = true;
	else
		out_mem(b, tmp, (size_t)n);
	explicit_bzero(tmp, sizeof(tmp));
}

/* The attribute name as Sofia reads it: optional blanks, then a token. */
static void attr_name(struct line l, char *name, size_t namelen)
{
	size_t i = 2 + span(l.p + 2, l.len - 2, " \t");
	size_t k = span(l.p + i, l.len - i, SDP_TOKEN_CHARS);
	if (k >= namelen)
		k = namelen - 1;
	memcpy(name, l.p + i, k);
	name[k] = '\0';
}

/* Attributes that describe the sender rather than the session: ICE ones
 * carry its own addresses (and we, not the sender, are the media endpoint
 * the other leg talks to); a=ssrc carries its RTCP CNAME, typically
 * user@address; a=tool names its software. None may cross a leg. */
static bool is_ice(const char *name)
{
	static const char *const ice[] = {
		"candidate", "remote-candidates", "ice-ufrag", "ice-pwd", "ice-options",
		"ice-lite", "ice-mismatch", "end-of-candidates", "ice-pacing",
		"ssrc", "ssrc-group", "tool",
	};
	for (size_t i = 0; i < sizeof(ice) / sizeof(ice[0]); i++)
		if (strcasecmp(name, ice[i]) == 0)
			return true;
	return false;
}

static bool replaced_media_attr(const char *name)
{
	return strcasecmp(name, "crypto") == 0 || strcasecmp(name, "rtcp") == 0 ||
	       strcasecmp(name, "rtcp-mux") == 0;
}

/* The plan's own lines at the end of an m= section. */
static void section_tail(struct outbuf *b, const struct pc_sdp_stream_plan *sp)
{
	if (sp->port == 0)
		return;
	if (sp->rtcp_mux)
		out_fmt(b, "a=rtcp-mux\r\n");
	else if (sp->rtcp_port)
		out_fmt(b, "a=rtcp:%u\r\n", sp->rtcp_port);
	for (unsigned i = 0; i < sp->n_crypto; i++) {
		char line[160];
		int n = sdes_print(&sp->crypto[i], line, sizeof(line));
		if (n < 0)
			b->failed = true;
		else
			out_fmt(b, "a=crypto:%s\r\n", line);
		explicit_bzero(line, sizeof(line));
	}
}

static int check_plan(const struct pc_sdp_plan *plan, unsigned n_streams, bool *v6, char *why,
		      size_t whylen)
{
	uint8_t addr[16];

	if (!memchr(plan->address, '\0', sizeof(plan->address))) {
		set_why(why, whylen, "plan: relay address too long");
		return -1;
	}
	*v6 = strchr(plan->address, ':') != NULL;
	if (inet_pton(*v6 ? AF_INET6 : AF_INET, plan->address, addr) != 1) {
		set_why(why, whylen, "plan: relay address is not an IP address");
		return -1;
	}
	if (plan->n_streams != n_streams) {
		set_why(why, whylen, "plan has %u streams, SDP has %u", plan->n_streams, n_streams);
		return -1;
	}
	for (unsigned i = 0; i < n_streams; i++) {
		const struct pc_sdp_stream_plan *sp = &plan->streams[i];
		if (sp->port > 65535 || sp->rtcp_port > 65535 || sp->n_crypto > PC_SDP_MAX_CRYPTO) {
			set_why(why, whylen, "plan: stream %u out of range", i + 1);
			return -1;
		}
		/* Keys on a plain profile would be sent for nothing, and in the
		 * clear if the signalling leg is. */
		if (sp->port && sp->n_crypto && !pc_sdp_proto_is_secure(sp->proto) && !sp->opportunistic) {
			set_why(why, whylen, "plan: stream %u has keys but a plain profile", i + 1);
			return -1;
		}
	}
	return 0;
}

/* One line of the original as it goes out, rewritten to the plan: our
 * origin, session name, addresses and ports; caller details and key
 * material dropped. *sec is the m-section so far (-1: session level). */
static void write_line(struct outbuf *b, struct line l, const struct pc_sdp_plan *plan,
		       const struct pc_sdp_desc *desc, const char *ip, int *sec)
{
	char name[32];
	switch (l.p[0]) {
	case 'o':
		out_fmt(b, "o=portcullis %" PRIu64 " %" PRIu64 " IN %s %s\r\n", plan->session_id,
			plan->version, ip, plan->address);
		break;
	case 's':
		out_line(b, "s=-", 3);
		break;
	case 'i': case 'u': case 'e': case 'p': case 'k':
		/* Information, URI, e-mail, phone: about the caller, not the
		 * session (topology and privacy hiding). k= is obsolete and would
		 * carry a key in the clear. */
		break;
	case 'c':
		out_fmt(b, "c=IN %s %s\r\n", ip, plan->address);
		break;
	case 'm': {
		if (*sec >= 0)
			section_tail(b, &plan->streams[*sec]);
		(*sec)++;
		const struct pc_sdp_stream_plan *sp = &plan->streams[*sec];
		struct mline m;
		(void)parse_mline(l, &m); /* checked by pc_sdp_read */
		out_mem(b, "m=", 2);
		out_mem(b, m.media.p, m.media.len);
		out_fmt(b, " %u ", sp->port);
		if (sp->proto == PC_SDP_PROTO_OTHER)
			out_mem(b, m.proto.p, m.proto.len);
		else
			out_fmt(b, "%s", pc_sdp_proto_name(sp->proto));
		out_line(b, m.rest.p, m.rest.len);
		/* A stream the original left without an address (it was rejected)
		 * needs ours once the plan makes it live. */
		if (sp->port && !desc->streams[*sec].address[0])
			out_fmt(b, "c=IN %s %s\r\n", ip, plan->address);
		break;
	}
	case 'a':
		attr_name(l, name, sizeof(name));
		/* Key material of this leg never reaches the other: SDES
		 * (a=crypto, ours replace it) and MIKEY (a=key-mgmt, RFC 4567),
		 * at session or media level. */
		if (is_ice(name) || strcasecmp(name, "crypto") == 0 ||
		    strcasecmp(name, "key-mgmt") == 0 || (*sec >= 0 && replaced_media_attr(name)))
			break;
		out_line(b, l.p, l.len);
		break;
	default:
		out_line(b, l.p, l.len);
		break;
	}
}

char *pc_sdp_write(const char *body, size_t len, const struct pc_sdp_plan *plan, char *why,
		size_t whylen)
{
	struct pc_sdp_desc *desc = malloc(sizeof(*desc));
	struct outbuf b = { .failed = false };
	bool v6;

	buf_init_secret(&b.buf, SIZE_MAX);
	if (!desc) {
		set_why(why, whylen, "SDP: out of memory");
		return NULL;
	}
	if (pc_sdp_read(body, len, desc, why, whylen) < 0) {
		free(desc);
		return NULL;
	}
	if (check_plan(plan, desc->n_streams, &v6, why, whylen) < 0)
		goto fail;

	const char *ip = v6 ? "IP6" : "IP4";
	size_t pos = 0;
	struct line l;
	int sec = -1;
	while (next_line(body, len, &pos, &l))
		if (l.len)
			write_line(&b, l, plan, desc, ip, &sec);
	if (sec >= 0)
		section_tail(&b, &plan->streams[sec]);
	if (b.buf.len > 0)
		out_mem(&b, "", 1); /* the NUL of the string handed back */
	if (b.failed || b.buf.len == 0) {
		set_why(why, whylen, "SDP: cannot write the body");
		goto fail;
	}
	pc_sdp_desc_wipe(desc);
	free(desc);
	return buf_take(&b.buf);

fail:
	buf_free(&b.buf);
	pc_sdp_desc_wipe(desc);
	free(desc);
	return NULL;
}
