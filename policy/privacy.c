/* RFC 3323 privacy decisions (see privacy.h for the shape). The choices, with
 * the sections they rest on:
 *
 * - `header` and `user` do the same here. RFC 3323 §4.2 defines `user` as the
 *   user-level functions a UA could have done itself (§5.3: anonymise From,
 *   leave out the headers that reveal the caller) and `header` as obscuring the
 *   headers the UA cannot set (Via, Contact, Record-Route, Call-ID: §5.1). The
 *   B2BUA builds those four from scratch on every leg, so `header` alone would
 *   change nothing; the gateway's policy (issue 4) is that `header` also gets
 *   the user-level functions, which RFC 5379 §5.1.4 allows as local policy.
 *   `user` is honoured the same way rather than refused: every function it
 *   names is one the gateway can do, so refusing it would only make
 *   `user;critical` calls fail for nothing.
 * - Either of them also withholds the asserted identity from an untrusted next
 *   hop: an anonymous From next to a P-Asserted-Identity naming the caller
 *   would undo itself (RFC 5379 §5.1.8 says the same of `header`).
 * - Warning is left out whole rather than host-rewritten: its warn-agent names
 *   whoever produced it (RFC 3261 §20.43), so rewriting it to the gateway would
 *   put another host's text in our name, and its warn-text is free text that
 *   may name the caller as well. Requests rarely carry one; when the gateway
 *   refuses something it adds its own Warning, so nothing of ours is lost.
 * - `session` is always honoured: media is anchored on every call and the
 *   gateway writes its own SDP (o= and c= name the relay, not the caller).
 * - `history` (RFC 7044, History-Info): History-Info is never copied across legs.
 * - `none` (RFC 3323 §4.2): no privacy function, and the header is neither
 *   removed nor altered. §4.2 forbids UAs to send it with other values; when
 *   one does, the gateway performs the privacy the other values ask for
 *   (hiding too much costs an anonymous call, hiding too little cannot be
 *   undone) and still passes the header unaltered.
 * - `critical` (RFC 3323 §5): a request whose privacy cannot be provided is
 *   refused with 500, the reason phrase naming the values not supported
 *   (privacy_reject_phrase). The only values the gateway cannot provide are
 *   tokens it does not know; without `critical` they are ignored (§5: a
 *   privacy service MAY implement any of the values besides none/critical).
 * - The header is passed to a next hop inside the trust domain, so its later
 *   hops still know the caller's wishes (RFC 3325 §7 needs `id` at the edge),
 *   and consumed toward one outside it, where the service has been performed.
 * - One Privacy field is the grammar (RFC 3323 §4.2). Sofia keeps a second one
 *   aside on the error list; its values are added, not dropped, so a split
 *   request still gets all the privacy it asked for. A field that does not
 *   parse, or has no value, is a 400: the privacy asked for cannot be known. */
#include "policy/privacy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	unsigned bit;
} priv_names[] = {
	{ "header", PRIVACY_HEADER },   { "session", PRIVACY_SESSION },
	{ "user", PRIVACY_USER },       { "id", PRIVACY_ID },
	{ "history", PRIVACY_HISTORY }, { "none", PRIVACY_NONE },
	{ "critical", PRIVACY_CRITICAL },
};

/* The values that ask for a privacy function (as opposed to none/critical). */
#define PRIVACY_FUNCTIONS                                                               \
	(PRIVACY_HEADER | PRIVACY_SESSION | PRIVACY_USER | PRIVACY_ID | PRIVACY_HISTORY | \
	 PRIVACY_UNKNOWN)

static unsigned priv_bit(const char *v)
{
	for (size_t i = 0; i < sizeof(priv_names) / sizeof(priv_names[0]); i++)
		if (!strcasecmp(v, priv_names[i].name))
			return priv_names[i].bit;
	return 0;
}

/* A Reason-Phrase allows alphanumerics and RFC 3261's mark and reserved
 * characters; of token's characters only '%' and '`' fall outside them. */
static char phrase_safe(char c)
{
	return (c == '%' || c == '`' || (unsigned char)c < 0x21 || (unsigned char)c > 0x7e) ? '?'
											      : c;
}

static void note_unsupported(struct privacy_request *rq, const char *v)
{
	size_t used = strlen(rq->unsupported);
	size_t n = strlen(v);
	size_t need = n + (used ? 1 : 0);
	if (used + need >= sizeof(rq->unsupported))
		return; /* left out; PRIVACY_UNKNOWN still says there were some */
	if (used)
		rq->unsupported[used++] = ' ';
	for (size_t i = 0; i < n; i++)
		rq->unsupported[used++] = phrase_safe(v[i]);
	rq->unsupported[used] = '\0';
}

static void add_values(struct privacy_request *rq, msg_param_t const *values)
{
	rq->fields++;
	if (!values || !values[0]) {
		rq->malformed = true;
		return;
	}
	for (size_t i = 0; values[i]; i++) {
		unsigned bit = priv_bit(values[i]);
		if (bit) {
			rq->values |= bit;
		} else {
			rq->values |= PRIVACY_UNKNOWN;
			note_unsupported(rq, values[i]);
		}
	}
}

void privacy_parse(const sip_t *req, struct privacy_request *out)
{
	memset(out, 0, sizeof(*out));
	if (!req)
		return;
	if (req->sip_privacy)
		add_values(out, req->sip_privacy->priv_values);
	/* The error list holds true error fragments (class without a name, the
	 * header's name in er_name) and headers Sofia parsed but could not place,
	 * such as a second Privacy (see gateway/sip/check.c). */
	for (sip_error_t const *e = req->sip_error; e; e = e->er_next) {
		msg_hclass_t const *hc = e->er_common->h_class;
		if (hc == sip_privacy_class) {
			add_values(out, ((sip_privacy_t const *)e)->priv_values);
		} else if ((!hc || !hc->hc_name || !hc->hc_name[0]) && e->er_name &&
			   !strcasecmp(e->er_name, "Privacy")) {
			out->fields++;
			out->malformed = true;
		}
	}
}

enum privacy_identity privacy_identity_of(const struct privacy_request *rq)
{
	if (rq->malformed || (rq->values & (PRIVACY_ID | PRIVACY_HEADER | PRIVACY_USER)))
		return PRIVACY_IDENTITY_WITHHOLD;
	if (rq->values & PRIVACY_NONE)
		return PRIVACY_IDENTITY_PRESERVE;
	return PRIVACY_IDENTITY_UNSPECIFIED;
}

static const char *why_performed(unsigned v, bool passed)
{
	if (v & PRIVACY_NONE)
		return "Privacy: none sent with other values (RFC 3323 §4.2 forbids it): "
		       "their privacy performed, header passed unaltered";
	if (v & PRIVACY_UNKNOWN)
		return passed ? "privacy performed, unknown priv-value ignored (not critical); "
				"header passed to the trust domain"
			      : "privacy performed, unknown priv-value ignored (not critical); "
				"header consumed";
	if (passed)
		return "privacy performed; Privacy header passed: next hop inside the trust domain";
	return "privacy performed; Privacy header consumed: next hop outside the trust domain";
}

struct privacy_decision privacy_decide(const sip_t *req, const struct privacy_ctx *ctx)
{
	static const struct privacy_ctx untrusted = { 0 };
	struct privacy_decision d;

	memset(&d, 0, sizeof(d));
	if (!ctx)
		ctx = &untrusted;
	d.verdict = verdict_accept();
	privacy_parse(req, &d.request);
	const unsigned v = d.request.values;
	d.identity = privacy_identity_of(&d.request);

	if (d.request.malformed) {
		d.why = "malformed Privacy header: the privacy asked for cannot be known";
		d.verdict = verdict_refuse(REFUSAL_PRIVACY_MALFORMED, d.why);
		return d;
	}
	if (d.request.fields == 0) {
		d.why = "no Privacy header: no privacy service";
		return d;
	}
	/* RFC 3323 §5: with `critical`, privacy that cannot be provided means a
	 * 500 whose reason phrase names what was not supported. */
	if ((v & PRIVACY_CRITICAL) && (v & PRIVACY_UNKNOWN)) {
		d.why = "critical privacy cannot be provided: unknown priv-value (RFC 3323 §5)";
		d.verdict = verdict_refuse(REFUSAL_PRIVACY_CRITICAL, d.why);
		return d;
	}

	const bool passed = (v & PRIVACY_NONE) || ctx->next_hop_trusted;
	d.header = passed ? PRIVACY_HEADER_PASS : PRIVACY_HEADER_CONSUME;

	if (!(v & PRIVACY_FUNCTIONS)) {
		d.why = (v & PRIVACY_NONE)
				? "Privacy: none: no privacy function, header passed unaltered "
				  "(RFC 3323 §4.2)"
				: "Privacy: critical alone asks for no privacy function";
		return d;
	}

	if (v & (PRIVACY_HEADER | PRIVACY_USER)) {
		d.anonymise_from = true;
		d.drop = PRIVACY_DROP_CALLER | (ctx->hide_subject ? PRIVACY_DROP_SUBJECT : 0u);
	}
	d.session = (v & PRIVACY_SESSION) != 0;
	d.why = why_performed(v, passed);
	return d;
}

const char *privacy_reject_phrase(const struct privacy_decision *d, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	const char *base = d->verdict.phrase ? d->verdict.phrase : "Server Internal Error";
	if (d->verdict.kind == VERDICT_REJECT && d->verdict.status == 500 &&
	    d->request.unsupported[0])
		snprintf(buf, len, "%s: %s", base, d->request.unsupported);
	else
		snprintf(buf, len, "%s", base);
	return buf;
}
