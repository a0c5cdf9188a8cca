/* RFC 3325 asserted-identity decisions (the rules are listed in pai.h). URIs are
 * compared on their parsed parts: scheme, user (case-sensitive), host (not),
 * port; tel numbers without their visual separators (RFC 3966 §5.1.1) and with
 * their phone-context. Parameters other than phone-context do not make another
 * identity, and what is asserted for a caller is the configured string, never
 * the caller's own spelling of it. Every identity is copied into a fixed buffer
 * of PAI_URI_MAX bytes; a longer one is refused, never cut. */
#include "policy/pai.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <sofia-sip/url.h>

#include "policy/privacy.h"

enum family { FAM_SIP = 0, FAM_TEL = 1, FAM_OTHER = 2 };

static enum family family_of(url_t const *u)
{
	switch (u->url_type) {
	case url_sip:
	case url_sips:
		return (u->url_host && u->url_host[0]) ? FAM_SIP : FAM_OTHER;
	case url_tel:
		return (u->url_user && u->url_user[0]) ? FAM_TEL : FAM_OTHER;
	default:
		return FAM_OTHER;
	}
}

static bool str_same(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	return strcmp(a, b) == 0;
}

static bool str_same_nocase(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	return strcasecmp(a, b) == 0;
}

static bool tel_separator(char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

/* RFC 3966 §5.1.1: visual separators carry no meaning; letters (in local
 * numbers) compare without case. */
static bool tel_number_same(const char *a, const char *b)
{
	for (;;) {
		while (*a && tel_separator(*a))
			a++;
		while (*b && tel_separator(*b))
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

static bool phone_context_same(url_t const *a, url_t const *b)
{
	char ca[PAI_URI_MAX] = "", cb[PAI_URI_MAX] = "";
	if (a->url_params)
		url_param(a->url_params, "phone-context", ca, sizeof(ca));
	if (b->url_params)
		url_param(b->url_params, "phone-context", cb, sizeof(cb));
	return strcasecmp(ca, cb) == 0;
}

static bool same_identity(url_t const *a, url_t const *b)
{
	if (a->url_type != b->url_type)
		return false;
	if (a->url_type == url_tel)
		return tel_number_same(a->url_user, b->url_user) && phone_context_same(a, b);
	return str_same(a->url_user, b->url_user) && str_same_nocase(a->url_host, b->url_host) &&
	       str_same(a->url_port, b->url_port);
}

/* An owned identity, parsed from a private copy (url_d works in place). */
struct owned {
	const char *text; /* the configured string: what gets asserted */
	char buf[PAI_URI_MAX];
	url_t url[1];
	enum family fam;
};

static bool owned_parse(const char *s, struct owned *o)
{
	if (!s)
		return false;
	size_t n = strnlen(s, PAI_URI_MAX);
	if (n == 0 || n >= PAI_URI_MAX)
		return false; /* refused, not cut */
	memcpy(o->buf, s, n + 1);
	memset(o->url, 0, sizeof(o->url));
	if (url_d(o->url, o->buf) < 0)
		return false;
	o->fam = family_of(o->url);
	o->text = s;
	return o->fam != FAM_OTHER;
}

/* The incoming P-Asserted-Identity, checked against RFC 3325 §9.1 and printed
 * into `out` by family. Returns false when it is not well-formed. */
static bool read_asserted(const sip_t *req, char out[2][PAI_URI_MAX], bool have[2])
{
	have[FAM_SIP] = have[FAM_TEL] = false;
	/* A third value always repeats a family, so the walk stops by then. */
	for (sip_p_asserted_identity_t const *p = sip_p_asserted_identity(req); p;
	     p = p->paid_next) {
		enum family f = family_of(p->paid_url);
		if (f == FAM_OTHER || have[f] || p->paid_url->url_headers)
			return false;
		issize_t len = url_e(out[f], PAI_URI_MAX, p->paid_url);
		if (len <= 0 || len >= PAI_URI_MAX)
			return false; /* refused, not cut */
		have[f] = true;
	}
	return have[FAM_SIP] || have[FAM_TEL];
}

/* Whether some header of the named class failed to parse (Sofia keeps the
 * fragment on the error list under its name, see gateway/sip/check.c). */
static bool has_broken(const sip_t *req, const char *name)
{
	for (sip_error_t const *e = req->sip_error; e; e = e->er_next) {
		msg_hclass_t const *hc = e->er_common->h_class;
		if ((!hc || !hc->hc_name || !hc->hc_name[0]) && e->er_name &&
		    !strcasecmp(e->er_name, name))
			return true;
	}
	return false;
}

static void set_uri(struct pai_decision *d, const char *text)
{
	size_t n = strnlen(text, PAI_URI_MAX);
	memcpy(d->uri[d->count], text, n); /* n < PAI_URI_MAX: checked when parsed */
	d->uri[d->count][n] = '\0';
	d->count++;
}

/* Index of the owned identity a preference names, or -1. */
static int owned_match(const struct owned *own, size_t n_own, url_t const *pref)
{
	for (size_t i = 0; i < n_own; i++)
		if (same_identity(own[i].url, pref))
			return (int)i;
	return -1;
}

static void assert_for_user(const sip_t *req, const struct pai_ctx *ctx, struct pai_decision *d)
{
	struct owned own[PAI_OWNED_MAX];
	size_t n_own = 0;
	int chosen[2] = { -1, -1 };
	int deflt[2] = { -1, -1 };

	for (size_t i = 0; i < ctx->n_identities && n_own < PAI_OWNED_MAX; i++) {
		if (!ctx->identities || !owned_parse(ctx->identities[i], &own[n_own]))
			continue;
		if (deflt[own[n_own].fam] < 0)
			deflt[own[n_own].fam] = (int)n_own;
		n_own++;
	}

	/* The hint: RFC 3325 §9.2 gives it the shape of §9.1. */
	sip_p_preferred_identity_t const *ppi = sip_p_preferred_identity(req);
	bool foreign = false, honoured = false, malformed = has_broken(req, "P-Preferred-Identity");
	bool seen[2] = { false, false };
	for (sip_p_preferred_identity_t const *p = ppi; p && !malformed; p = p->ppid_next) {
		enum family f = family_of(p->ppid_url);
		if (f == FAM_OTHER || seen[f]) {
			malformed = true;
			break;
		}
		seen[f] = true;
		int m = owned_match(own, n_own, p->ppid_url);
		if (m < 0)
			foreign = true;
		else
			chosen[f] = m;
	}
	if (malformed)
		chosen[FAM_SIP] = chosen[FAM_TEL] = -1;

	d->count = 0;
	int sip_i = chosen[FAM_SIP] >= 0 ? chosen[FAM_SIP] : deflt[FAM_SIP];
	int tel_i = chosen[FAM_TEL] >= 0 ? chosen[FAM_TEL] : deflt[FAM_TEL];
	if (sip_i >= 0) {
		set_uri(d, own[sip_i].text);
		honoured = honoured || chosen[FAM_SIP] >= 0;
	}
	if (ctx->assert_tel && tel_i >= 0) {
		set_uri(d, own[tel_i].text);
		honoured = honoured || chosen[FAM_TEL] >= 0;
	}

	if (malformed)
		d->preferred = PAI_PPI_MALFORMED;
	else if (foreign)
		d->preferred = PAI_PPI_FOREIGN;
	else if (honoured)
		d->preferred = PAI_PPI_HONOURED;
	else if (ppi)
		d->preferred = PAI_PPI_UNUSED;

	if (d->count == 0) {
		d->why = "the authenticated caller owns no identity to assert";
		return;
	}
	d->source = PAI_SOURCE_USER;
	switch (d->preferred) {
	case PAI_PPI_HONOURED:
		d->why = "asserted for the authenticated caller, as its P-Preferred-Identity "
			 "chose (RFC 3325 §6)";
		break;
	case PAI_PPI_FOREIGN:
		d->why = "P-Preferred-Identity names an identity the caller does not own: "
			 "ignored, default asserted (RFC 3325 §6)";
		break;
	case PAI_PPI_MALFORMED:
		d->why = "malformed P-Preferred-Identity ignored; default identity asserted";
		break;
	default:
		d->why = "asserted the authenticated caller's default identity (RFC 3325 §5)";
		break;
	}
}

/* Whether `user`, a From user, is the owned identity o's user (its number
 * for tel). */
static bool owns_user(const struct owned *o, const char *user)
{
	if (o->fam == FAM_TEL)
		return tel_number_same(o->url->url_user, user);
	return o->url->url_user && strcmp(o->url->url_user, user) == 0;
}

struct pai_from pai_from_user(const sip_t *req, const struct pai_ctx *ctx)
{
	struct pai_from f;
	memset(&f, 0, sizeof(f));
	const char *claimed = req && req->sip_from && req->sip_from->a_url->url_user
				      ? req->sip_from->a_url->url_user
				      : "";
	bool fits = strnlen(claimed, sizeof(f.user)) < sizeof(f.user);
	if (!ctx || !ctx->user || !ctx->user[0]) {
		if (fits)
			memcpy(f.user, claimed, strlen(claimed) + 1);
		return f;
	}
	if (fits && (!strcmp(claimed, ctx->user) || !strcmp(claimed, "anonymous"))) {
		memcpy(f.user, claimed, strlen(claimed) + 1);
		return f;
	}
	struct owned o;
	const char *deflt[2] = { NULL, NULL };
	for (size_t i = 0; i < ctx->n_identities && i < PAI_OWNED_MAX; i++) {
		if (!ctx->identities || !owned_parse(ctx->identities[i], &o) || !o.url->url_user)
			continue;
		if (fits && claimed[0] && owns_user(&o, claimed)) {
			memcpy(f.user, claimed, strlen(claimed) + 1);
			return f;
		}
		if (!deflt[o.fam]) {
			/* The user part, out of the parsed copy about to be reused. */
			size_t at = (size_t)(o.url->url_user - o.buf);
			deflt[o.fam] = ctx->identities[i] + at;
		}
	}
	const char *use = deflt[FAM_SIP] ? deflt[FAM_SIP] : deflt[FAM_TEL];
	size_t n = use ? strcspn(use, "@;?:") : 0;
	if (use == NULL || n == 0 || n >= sizeof(f.user)) {
		use = ctx->user;
		n = strnlen(use, sizeof(f.user) - 1);
	}
	memcpy(f.user, use, n);
	f.user[n] = '\0';
	f.replaced = true;
	return f;
}

struct pai_decision pai_decide(const sip_t *req, const struct pai_ctx *ctx)
{
	static const struct pai_ctx nobody = { 0 };
	struct pai_decision d;
	memset(&d, 0, sizeof(d));
	d.why = "nothing to assert: caller not authenticated, no trusted assertion";
	if (!ctx)
		ctx = &nobody; /* fail closed: both hops untrusted, nobody authenticated */
	if (!req)
		return d;

	/* 1. What arrived. */
	char in[2][PAI_URI_MAX];
	bool have[2];
	bool broken = has_broken(req, "P-Asserted-Identity");
	bool present = broken || sip_p_asserted_identity(req) != NULL;
	if (present) {
		if (!ctx->prev_hop_trusted) {
			d.incoming = PAI_IN_UNTRUSTED;
			d.why = "P-Asserted-Identity from an untrusted hop ignored (RFC 3325 §5)";
		} else if (broken || !read_asserted(req, in, have)) {
			d.incoming = PAI_IN_MALFORMED;
			d.why = "malformed P-Asserted-Identity from a trusted hop ignored "
				"(RFC 3325 §9.1)";
		} else {
			d.incoming = PAI_IN_PASSED;
			d.source = PAI_SOURCE_TRUSTED_PEER;
			if (have[FAM_SIP])
				set_uri(&d, in[FAM_SIP]);
			if (have[FAM_TEL])
				set_uri(&d, in[FAM_TEL]);
			d.why = "P-Asserted-Identity from a trusted hop passed on (RFC 3325 §5)";
		}
	}

	/* 2. Our own assertion for an authenticated caller. */
	if (d.source == PAI_SOURCE_NONE && ctx->user) {
		assert_for_user(req, ctx, &d);
	} else if (sip_p_preferred_identity(req) || has_broken(req, "P-Preferred-Identity")) {
		d.preferred = PAI_PPI_UNUSED;
	}

	if (d.count == 0) {
		d.outgoing = PAI_OUT_NOTHING;
		return d;
	}

	/* 3. Whether it may leave toward the next hop. */
	d.outgoing = PAI_OUT_ASSERTED;
	if (!ctx->next_hop_trusted) {
		struct privacy_request rq;
		privacy_parse(req, &rq);
		switch (privacy_identity_of(&rq)) {
		case PRIVACY_IDENTITY_WITHHOLD:
			d.outgoing = PAI_OUT_WITHHELD_PRIVACY;
			d.why = "withheld from an untrusted next hop: the caller asked for "
				"privacy (RFC 3325 §7)";
			break;
		case PRIVACY_IDENTITY_PRESERVE:
			d.why = "sent to an untrusted next hop: Privacy: none (RFC 3325 §7)";
			break;
		case PRIVACY_IDENTITY_UNSPECIFIED:
			if (ctx->untrusted_default == PAI_UNTRUSTED_KEEP) {
				d.why = "sent to an untrusted next hop: configured to keep it "
					"(RFC 3325 §7)";
			} else {
				d.outgoing = PAI_OUT_WITHHELD_POLICY;
				d.why = "withheld from an untrusted next hop: configured to "
					"remove it (RFC 3325 §7)";
			}
			break;
		}
		if (d.outgoing != PAI_OUT_ASSERTED) {
			d.count = 0;
			memset(d.uri, 0, sizeof(d.uri));
		}
	}
	return d;
}
