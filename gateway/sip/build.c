/* The message builder: each header is a Sofia structure made from checked
 * values and inserted with sipmsg_insert (our message class has its own
 * request-line and CSeq classes). The checks are the whole defence against
 * header injection, so every entry point checks what it places. */
#include "build.h"

#include <stdio.h>
#include <string.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/url.h>

#include "reply.h"

void sipmsg_build_refuse(struct sipmsg_build *b, const char *what, const char *why)
{
	if (!b->why[0])
		snprintf(b->why, sizeof(b->why), "%s %s", what, why);
}

static bool live(struct sipmsg_build *b)
{
	if (!b->msg && !b->why[0])
		sipmsg_build_refuse(b, "message", "was not started");
	return b->msg && !b->why[0];
}

/* A value within the limit with no control character but tab: nothing in
 * it can end the header line it is written on. */
static bool text_ok(struct sipmsg_build *b, const char *what, const char *s)
{
	if (!s) {
		sipmsg_build_refuse(b, what, "is missing");
		return false;
	}
	size_t n = strnlen(s, SIPMSG_VALUE_MAX + 1);
	if (n > SIPMSG_VALUE_MAX) {
		sipmsg_build_refuse(b, what, "is too long");
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
			sipmsg_build_refuse(b, what, "has a control character");
			return false;
		}
	return true;
}

/* Non-empty, and every character in `allowed` or alphanumeric. */
static bool chars_ok(struct sipmsg_build *b, const char *what, const char *s, const char *allowed)
{
	if (!text_ok(b, what, s))
		return false;
	if (!s[0]) {
		sipmsg_build_refuse(b, what, "is empty");
		return false;
	}
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr(allowed, *p))) {
			sipmsg_build_refuse(b, what, "has a character its grammar forbids");
			return false;
		}
	return true;
}

#define TOKEN_CHARS "-.!%*_+`'~"                           /* RFC 3261 token */
#define WORD_CHARS TOKEN_CHARS "()<>:\\\"/[]?{}@"         /* Call-ID word@word */
#define HOST_CHARS "-.:[]"                                  /* name, IPv4, [IPv6] */

/* Every part of a URL printable inside <...> on one line. */
static bool url_ok(struct sipmsg_build *b, const char *what, const url_t *u)
{
	if (!u || u->url_type == url_invalid) {
		sipmsg_build_refuse(b, what, "is missing");
		return false;
	}
	const char *parts[] = { u->url_scheme, u->url_user, u->url_password, u->url_host,
				u->url_port, u->url_path, u->url_params, u->url_headers,
				u->url_fragment };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!parts[i])
			continue;
		if (!text_ok(b, what, parts[i]))
			return false;
		if (strpbrk(parts[i], " \t<>\"")) {
			sipmsg_build_refuse(b, what, "has a character a URI may not carry");
			return false;
		}
	}
	if (url_len(u) > SIPMSG_VALUE_MAX) {
		sipmsg_build_refuse(b, what, "is too long");
		return false;
	}
	return true;
}

static void put(struct sipmsg_build *b, const char *what, void *header)
{
	if (sipmsg_insert(b->msg, header) < 0)
		sipmsg_build_refuse(b, what, "cannot be added (out of memory)");
}

/* Sofia's method code for a name it knows, compared whole (msg.c explains
 * why not sip_method_code); unknown for an extension method. */
static sip_method_t method_of(const char *name)
{
	for (int m = sip_method_unknown + 1; sip_method_name((sip_method_t)m, NULL); m++)
		if (!strcmp(name, sip_method_name((sip_method_t)m, NULL)))
			return (sip_method_t)m;
	return sip_method_unknown;
}

void sipmsg_build_request(struct sipmsg_build *b, const char *method, const url_t *ruri)
{
	b->msg = NULL;
	b->why[0] = '\0';
	if (!chars_ok(b, "method", method, TOKEN_CHARS) || !url_ok(b, "Request-URI", ruri))
		return;
	if (!(b->msg = sipmsg_create())) {
		sipmsg_build_refuse(b, "request", "cannot be built (out of memory)");
		return;
	}
	put(b, "request line", sip_request_create(msg_home(b->msg), method_of(method), method,
						  (url_string_t const *)ruri, NULL));
	/* With its fragment chain made now, Sofia keeps the headers in the
	 * order they are added (the order of RFC 3261's examples, Content-Length
	 * last); without one it prints them in its class order, which puts
	 * P-Asserted-Identity after Content-Length. */
	if (!b->why[0] && msg_serialize(b->msg, (msg_pub_t *)sip_object(b->msg)) < 0)
		sipmsg_build_refuse(b, "request", "cannot be built (out of memory)");
}

void sipmsg_build_response(struct sipmsg_build *b, msg_t *req, int status, const char *phrase,
			   const char *to_tag)
{
	b->msg = NULL;
	b->why[0] = '\0';
	if ((phrase && !text_ok(b, "reason phrase", phrase)) ||
	    (to_tag && !chars_ok(b, "To tag", to_tag, TOKEN_CHARS)))
		return;
	if (status < 100 || status > 699) {
		sipmsg_build_refuse(b, "status", "is not 1xx-6xx");
		return;
	}
	if (!req) { /* a transaction past its final response keeps none */
		sipmsg_build_refuse(b, "request", "is gone (answered already)");
		return;
	}
	if (!(b->msg = sipmsg_reply(req, status, phrase, to_tag)))
		sipmsg_build_refuse(b, "response", "cannot be built (out of memory)");
}

void sipmsg_build_via(struct sipmsg_build *b, enum pc_transport tp, const char *host,
		      unsigned port, const char *branch, bool alias)
{
	if (!live(b) || !chars_ok(b, "Via host", host, HOST_CHARS) ||
	    !chars_ok(b, "branch", branch, TOKEN_CHARS))
		return;
	su_home_t *home = msg_home(b->msg);
	char portnum[8];
	snprintf(portnum, sizeof(portnum), "%u", port);
	const char *proto = tp == PC_TP_UDP ? "SIP/2.0/UDP" : tp == PC_TP_TCP ? "SIP/2.0/TCP"
									     : "SIP/2.0/TLS";
	char *branch_param = su_sprintf(home, "branch=%s", branch);
	put(b, "Via", branch_param ? sip_via_create(home, host, port ? portnum : NULL, proto,
						    branch_param, "rport", alias ? "alias" : NULL,
						    NULL)
				   : NULL);
}

void sipmsg_build_max_forwards(struct sipmsg_build *b, unsigned count)
{
	if (!live(b))
		return;
	sip_max_forwards_t mf[1];
	sip_max_forwards_init(mf);
	mf->mf_count = count;
	put(b, "Max-Forwards", sip_max_forwards_dup(msg_home(b->msg), mf));
}

/* "display" quoted, with \ and " escaped (RFC 3261 §25.1 quoted-pair);
 * "" when there is none, so that Sofia still writes the URI in <...>. */
static const char *quoted(struct sipmsg_build *b, const char *what, const char *display)
{
	if (!display || !display[0])
		return "";
	if (!text_ok(b, what, display))
		return NULL;
	size_t n = strlen(display);
	char *q = su_alloc(msg_home(b->msg), 2 * n + 3);
	if (!q) {
		sipmsg_build_refuse(b, what, "cannot be added (out of memory)");
		return NULL;
	}
	size_t o = 0;
	q[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (display[i] == '"' || display[i] == '\\')
			q[o++] = '\\';
		q[o++] = display[i];
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

static void add_address(struct sipmsg_build *b, bool from, const char *display, const url_t *url,
			const char *tag)
{
	const char *what = from ? "From" : "To";
	if (!live(b) || !url_ok(b, what, url) ||
	    (tag && tag[0] && !chars_ok(b, "tag", tag, TOKEN_CHARS)))
		return;
	const char *name = quoted(b, what, display);
	if (!name)
		return;
	su_home_t *home = msg_home(b->msg);
	sip_addr_t *a = from ? sip_from_create(home, (url_string_t const *)url)
			     : sip_to_create(home, (url_string_t const *)url);
	if (a) {
		a->a_display = name;
		if (tag && tag[0] && (from ? sip_from_tag(home, a, tag) : sip_to_tag(home, a, tag)) < 0)
			a = NULL;
	}
	put(b, what, a);
}

void sipmsg_build_from(struct sipmsg_build *b, const char *display, const url_t *url,
		       const char *tag)
{
	add_address(b, true, display, url, tag);
}

void sipmsg_build_to(struct sipmsg_build *b, const char *display, const url_t *url, const char *tag)
{
	add_address(b, false, display, url, tag);
}

void sipmsg_build_call_id(struct sipmsg_build *b, const char *call_id)
{
	if (!live(b) || !chars_ok(b, "Call-ID", call_id, WORD_CHARS))
		return;
	sip_call_id_t i[1];
	sip_call_id_init(i);
	i->i_id = call_id;
	put(b, "Call-ID", sip_call_id_dup(msg_home(b->msg), i));
}

void sipmsg_build_cseq(struct sipmsg_build *b, uint32_t seq, const char *method)
{
	if (!live(b) || !chars_ok(b, "CSeq method", method, TOKEN_CHARS))
		return;
	put(b, "CSeq", sip_cseq_create(msg_home(b->msg), seq, method_of(method), method));
}

void sipmsg_build_contact(struct sipmsg_build *b, const url_t *url)
{
	if (!live(b) || !url_ok(b, "Contact", url))
		return;
	put(b, "Contact", sip_contact_create(msg_home(b->msg), (url_string_t const *)url, NULL));
}

void sipmsg_build_route(struct sipmsg_build *b, const char *route_set)
{
	if (!live(b) || !route_set || !route_set[0] || !text_ok(b, "Route", route_set))
		return;
	/* Our own record of a Path, read by the Route class: one header field,
	 * so nothing in it can become another header. */
	if (msg_header_add_make(b->msg, NULL, sip_route_class, route_set) < 0)
		sipmsg_build_refuse(b, "Route", "is not a route set");
}

void sipmsg_build_asserted(struct sipmsg_build *b, const url_t *url)
{
	if (!live(b) || !url_ok(b, "P-Asserted-Identity", url))
		return;
	sip_p_asserted_identity_t p[1];
	sip_p_asserted_identity_init(p);
	p->paid_display = ""; /* keeps the <...> */
	*p->paid_url = *url;
	put(b, "P-Asserted-Identity", msg_header_dup(msg_home(b->msg), (msg_header_t *)p));
}

void sipmsg_build_extension(struct sipmsg_build *b, const char *name, const char *value)
{
	if (!live(b) || !chars_ok(b, "extension header name", name, TOKEN_CHARS))
		return;
	size_t n = value ? strnlen(value, SIPMSG_EXTENSION_MAX + 1) : 0;
	if (!value || n > SIPMSG_EXTENSION_MAX) {
		sipmsg_build_refuse(b, name, value ? "is too long" : "is missing");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) {
			sipmsg_build_refuse(b, name, "has a control character");
			return;
		}
	sip_unknown_t u[1];
	msg_unknown_init(u);
	u->un_name = name;
	u->un_value = value;
	put(b, name, msg_header_dup(msg_home(b->msg), (msg_header_t *)u));
}

void sipmsg_build_date(struct sipmsg_build *b, long when)
{
	if (!live(b))
		return;
	/* Sofia counts from 1900 (NTP era). */
	put(b, "Date", sip_date_create(msg_home(b->msg), (sip_time_t)when + 2208988800UL));
}

void sipmsg_build_copy(struct sipmsg_build *b, const void *header)
{
	if (!live(b) || !header)
		return;
	if (msg_header_add_dup(b->msg, NULL, header) < 0)
		sipmsg_build_refuse(b, "copied header", "cannot be added (out of memory)");
}

void sipmsg_build_unsupported(struct sipmsg_build *b, const sip_require_t *require)
{
	if (!live(b) || !require)
		return;
	/* Require and Unsupported are both lists of option tags. */
	put(b, "Unsupported", msg_header_dup_as(msg_home(b->msg), sip_unsupported_class,
						(msg_header_t const *)require));
}

void sipmsg_build_warning(struct sipmsg_build *b, unsigned code, const char *host,
			  const char *text)
{
	if (!live(b) || !chars_ok(b, "Warning host", host, HOST_CHARS) ||
	    !text_ok(b, "Warning text", text))
		return;
	if (code < 300 || code > 399) {
		sipmsg_build_refuse(b, "Warning code", "is not 3xx");
		return;
	}
	sip_warning_t w[1];
	sip_warning_init(w);
	w->w_code = code;
	w->w_host = host;
	w->w_text = text; /* Sofia quotes it and escapes " and \ */
	put(b, "Warning", sip_warning_dup(msg_home(b->msg), w));
}

void sipmsg_build_retry_after(struct sipmsg_build *b, unsigned seconds)
{
	if (!live(b))
		return;
	sip_retry_after_t ra[1];
	sip_retry_after_init(ra);
	ra->af_delta = seconds;
	put(b, "Retry-After", sip_retry_after_dup(msg_home(b->msg), ra));
}

void sipmsg_build_value(struct sipmsg_build *b, msg_hclass_t *hc, const char *value)
{
	if (!live(b) || !text_ok(b, hc->hc_name, value))
		return;
	if (msg_header_add_make(b->msg, NULL, hc, value) < 0)
		sipmsg_build_refuse(b, hc->hc_name, "cannot be added");
}

void sipmsg_build_body(struct sipmsg_build *b, const char *type, const void *body, size_t len)
{
	if (!live(b) || !chars_ok(b, "Content-Type", type, TOKEN_CHARS "/"))
		return;
	const char *slash = strchr(type, '/');
	if (!slash || slash == type || !slash[1] || strchr(slash + 1, '/')) {
		sipmsg_build_refuse(b, "Content-Type", "is not type/subtype");
		return;
	}
	if (sipmsg_set_body(b->msg, type, body, len) < 0)
		sipmsg_build_refuse(b, "body", "cannot be added (out of memory)");
}

url_t *sipmsg_url(su_home_t *home, bool sips, const char *user, const char *domain)
{
	char text[SIPMSG_VALUE_MAX + 8];
	if (snprintf(text, sizeof(text), "%s:%s", sips ? "sips" : "sip", domain) >= (int)sizeof(text))
		return NULL;
	url_t *u = url_make(home, text);
	if (!u || !u->url_host || u->url_user || u->url_params || u->url_headers)
		return NULL;
	u->url_user = user;
	return u;
}

msg_t *sipmsg_build_done(struct sipmsg_build *b)
{
	msg_t *m = b->msg;
	b->msg = NULL;
	if (m && !b->why[0] && !sip_object(m)->sip_content_length &&
	    sipmsg_insert(m, sip_content_length_create(msg_home(m), 0)) < 0)
		sipmsg_build_refuse(b, "Content-Length", "cannot be added (out of memory)");
	if (b->why[0] || !m) {
		if (m)
			msg_destroy(m);
		if (!b->why[0])
			sipmsg_build_refuse(b, "message", "was not started");
		return NULL;
	}
	return m;
}
