/* Parser set-up and message (de)serialization. The only file that knows how the
 * message class is assembled; callers see Sofia's sip_t. */
#include "msg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/msg_mclass_hash.h>
#include <sofia-sip/msg_parser.h>
#include <sofia-sip/sip_parser.h>

#include "core/random.h"

/* Header classes for RFC 8224 Identity and RFC 4474 Identity-Info, kept as
 * generic strings: their grammar is for the code that uses them to check
 * (the RFC 8224 module still to come, docs/architecture.md). */
static struct msg_hclass_s identity_class[1] = { {
	.hc_parse = msg_generic_d,
	.hc_print = msg_generic_e,
	.hc_dxtra = msg_generic_dup_xtra,
	.hc_dup_one = msg_generic_dup_one,
	.hc_name = "Identity",
	.hc_len = sizeof("Identity") - 1,
	.hc_short = "y", /* RFC 4474 compact form */
	.hc_size = MSG_ALIGN(sizeof(msg_generic_t), sizeof(void *)),
	.hc_kind = msg_kind_append,
} };

static struct msg_hclass_s identity_info_class[1] = { {
	.hc_parse = msg_generic_d,
	.hc_print = msg_generic_e,
	.hc_dxtra = msg_generic_dup_xtra,
	.hc_dup_one = msg_generic_dup_one,
	.hc_name = "Identity-Info",
	.hc_len = sizeof("Identity-Info") - 1,
	.hc_short = "n",
	.hc_size = MSG_ALIGN(sizeof(msg_generic_t), sizeof(void *)),
	.hc_kind = msg_kind_single,
} };

/* Extension methods (RFC 3261 §7.1: method = token). Sofia's sip_method_d()
 * refuses token characters outside its URL "unreserved" set (% + ` ' of
 * RFC 4475's intmeth.dat) and, for a name that begins like a method it knows
 * but is shorter ("A", "M", "MEX", "METHOD"), reads past the name's end and
 * fails: such requests were dropped as unparsable instead of answered 501.
 * The request line and CSeq keep Sofia's parser; only when it fails is the
 * line read again as token SP Request-URI SP SIP-Version (the URI and
 * version still by Sofia) or as 1*DIGIT LWS token. Sofia's classes are
 * read-only, so our message class points to copies of them. */
static msg_parse_f *sofia_request_d, *sofia_cseq_d;
static struct msg_hclass_s request_class[1];
static struct msg_hclass_s cseq_class[1];

static size_t span_method(const char *s)
{
	static const char extra[] = "-.!%*_+`'~";
	size_t n = 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	       (s[n] >= '0' && s[n] <= '9') || (s[n] && strchr(extra, s[n])))
		n++;
	return n;
}

/* The method code of a name Sofia knows, compared whole; else unknown. */
static sip_method_t method_code(const char *name)
{
	for (int m = sip_method_unknown + 1; sip_method_name((sip_method_t)m, NULL); m++)
		if (!strcmp(name, sip_method_name((sip_method_t)m, NULL)))
			return (sip_method_t)m;
	return sip_method_unknown;
}

/* Runs Sofia's parser on s: 0 when it succeeded; 1 when it failed and s was
 * restored from a copy taken before (Sofia cuts the text in place) for the
 * caller to read again; -1 without memory for the copy. */
static int sofia_first(msg_parse_f *parse, su_home_t *home, msg_header_t *h, char *s,
		       isize_t slen)
{
	char *copy = su_strndup(home, s, (size_t)slen);
	if (!copy)
		return -1;
	int rc = parse(home, h, s, slen) >= 0 ? 0 : 1;
	if (rc)
		memcpy(s, copy, (size_t)slen);
	su_free(home, copy);
	return rc;
}

static issize_t request_d(su_home_t *home, msg_header_t *h, char *s, isize_t slen)
{
	sip_request_t *rq = (sip_request_t *)h;
	int rc = sofia_first(sofia_request_d, home, h, s, slen);
	if (rc <= 0)
		return rc;
	size_t m = span_method(s);
	if (m == 0 || s[m] != ' ')
		return -1;
	char *uri = s + m + 1;
	char *sp = strchr(uri, ' ');
	if (!sp || sp == uri)
		return -1;
	s[m] = '\0';
	*sp = '\0';
	char *version = sp + 1;
	if (url_d(rq->rq_url, uri) < 0 || sip_version_d(&version, &rq->rq_version) < 0 || *version)
		return -1;
	rq->rq_method = method_code(s);
	rq->rq_method_name = s;
	return 0;
}

static issize_t cseq_d(su_home_t *home, msg_header_t *h, char *s, isize_t slen)
{
	sip_cseq_t *cs = (sip_cseq_t *)h;
	int rc = sofia_first(sofia_cseq_d, home, h, s, slen);
	if (rc <= 0)
		return rc;
	unsigned long long seq = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		seq = seq * 10 + (unsigned long long)(s[i] - '0');
		if (seq > 0xffffffffULL) /* RFC 3261 §8.1.1.5: 32 bits */
			return -1;
	}
	if (i == 0 || (s[i] != ' ' && s[i] != '\t'))
		return -1;
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	char *name = s + i;
	size_t m = span_method(name);
	if (m == 0 || name[m] != '\0')
		return -1;
	cs->cs_seq = (uint32_t)seq;
	cs->cs_method = method_code(name);
	cs->cs_method_name = name;
	return 0;
}

static int install_method_parsers(msg_mclass_t *mc)
{
	sofia_request_d = sip_request_class->hc_parse;
	sofia_cseq_d = sip_cseq_class->hc_parse;
	*request_class = *sip_request_class;
	request_class->hc_parse = request_d;
	*cseq_class = *sip_cseq_class;
	cseq_class->hc_parse = cseq_d;
	mc->mc_request->hr_class = request_class;
	for (int i = 0; i < mc->mc_hash_size; i++)
		if (mc->mc_hash[i].hr_class == sip_cseq_class) {
			mc->mc_hash[i].hr_class = cseq_class;
			return 0;
		}
	return -1;
}

int sipmsg_insert(msg_t *msg, void *header)
{
	msg_header_t *h = header;
	if (!h)
		return -1;
	/* Sofia places a header by its class's address. */
	if (h->sh_class == sip_request_class)
		h->sh_common->h_class = request_class;
	else if (h->sh_class == sip_cseq_class)
		h->sh_common->h_class = cseq_class;
	return msg_header_insert(msg, (msg_pub_t *)sip_object(msg), h);
}

static msg_mclass_t *portcullis_mclass;

int sipmsg_init(void)
{
	if (portcullis_mclass)
		return 0;
	/* sip_extend_mclass(NULL) returns a fresh copy we may extend further. */
	msg_mclass_t *mc = sip_extend_mclass(NULL);
	if (!mc)
		return -1;
	/* Sofia finds a header class by the hash of its name. */
	identity_class->hc_hash = msg_header_name_hash(identity_class->hc_name, NULL);
	identity_info_class->hc_hash = msg_header_name_hash(identity_info_class->hc_name, NULL);
	if (msg_mclass_insert_header(mc, identity_class, 0) < 0 ||
	    msg_mclass_insert_header(mc, identity_info_class, 0) < 0 ||
	    install_method_parsers(mc) < 0)
		return -1;
	portcullis_mclass = mc;
	return 0;
}

msg_mclass_t const *sipmsg_mclass(void) { return portcullis_mclass; }

/* RFC 3261 §25.1 lets a quoted string escape any octet but CR and LF,
 * NUL included (RFC 4475 intmeth.dat), yet Sofia's parser ends a header at
 * NUL. A copy of the header block reads "\<NUL>" as "\0"; NULs elsewhere
 * are left for Sofia to refuse, and the body is never touched. NULL when
 * there is nothing to change. */
static char *escape_quoted_nul(const char *data, size_t len)
{
	const char *hend = memmem(data, len, "\r\n\r\n", 4);
	size_t hlen = hend ? (size_t)(hend - data) : len;
	const char *nul = memchr(data, '\0', hlen);
	if (!nul)
		return NULL;
	char *copy = malloc(len);
	if (!copy)
		return NULL;
	memcpy(copy, data, len);
	for (size_t i = (size_t)(nul - data); i < hlen; i++)
		if (copy[i] == '\0' && i > 0 && copy[i - 1] == '\\')
			copy[i] = '0';
	return copy;
}

msg_t *sipmsg_parse(const char *data, size_t len)
{
	char *escaped = escape_quoted_nul(data, len);
	/* msg_make() copies the bytes. */
	msg_t *msg = msg_make(portcullis_mclass, 0, escaped ? escaped : data, (issize_t)len);
	free(escaped);
	if (!msg)
		return NULL;
	sip_t *sip = sip_object(msg);
	if (!sip || (!sip->sip_request && !sip->sip_status)) {
		msg_destroy(msg);
		return NULL;
	}
	return msg;
}

char *sipmsg_print(msg_t *msg, size_t *len)
{
	size_t n = 0;
	sip_t *sip = sip_object(msg);
	/* Messages we build have no empty line after the headers until one is
	 * added; without it a stream peer never sees the message end. */
	if (sip && !sip->sip_separator &&
	    msg_header_insert(msg, (msg_pub_t *)sip,
			      (msg_header_t *)sip_separator_create(msg_home(msg))) < 0)
		return NULL;
	if (msg_serialize(msg, NULL) < 0)
		return NULL;
	char *s = msg_as_string(msg_home(msg), msg, NULL, 0, &n);
	if (len)
		*len = n;
	return s;
}

msg_t *sipmsg_create(void) { return msg_create(portcullis_mclass, 0); }

msg_generic_t *sipmsg_identity(sip_t const *sip)
{
	return (msg_generic_t *)msg_header_access((msg_pub_t const *)sip, identity_class);
}

msg_generic_t *sipmsg_identity_info(sip_t const *sip)
{
	return (msg_generic_t *)msg_header_access((msg_pub_t const *)sip, identity_info_class);
}

void sipmsg_random_token(char *out, size_t len)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char raw[64];

	if (len == 0)
		return;
	size_t n = len - 1;
	if (n > sizeof(raw))
		n = sizeof(raw);
	/* The kernel's generator on a booted system does not fail for <= 256
	 * bytes; should it, the token is still well-formed. */
	if (pc_random_bytes(raw, n) < 0)
		memset(raw, 0x5a, n);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % 62];
	out[n] = '\0';
}
