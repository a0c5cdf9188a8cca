/* The B2BUA's STIR services (stir_call.h): which leg signs and verifies,
 * who the calling and called parties are in a PASSporT's terms, the
 * attestation policy's input, and what a verification result does to the
 * call. The token work is sti/'s, the key the key holder's. */
#include "stir_call.h"
#include "call.h"
#include "identity.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/url.h>

#include "core/counters.h"
#include "core/log.h"
#include "keyholder/keyholder.h"
#include "policy/attest.h"
#include "sti/repo.h"
#include "sti/sign.h"
#include "sti/verify.h"
#include "stir/tn.h"

/* NTP-era seconds (Sofia's msg_time_t) to Unix time. */
#define SECONDS_1900_TO_1970 2208988800L
#define MAX_IDENTITY_HEADERS 4
#define MAX_OWNED_TNS 16

static const enum pc_counter result_counter[STIR_RESULT__COUNT] = {
	[STIR_PASSED] = CNT_IDENTITY_PASSED,
	[STIR_NO_IDENTITY] = CNT_IDENTITY_NO_IDENTITY,
	[STIR_MALFORMED] = CNT_IDENTITY_MALFORMED,
	[STIR_UNSUPPORTED] = CNT_IDENTITY_UNSUPPORTED,
	[STIR_INFO_UNREACHABLE] = CNT_IDENTITY_INFO_UNREACHABLE,
	[STIR_INFO_REFUSED] = CNT_IDENTITY_INFO_REFUSED,
	[STIR_INFO_NOT_CERT] = CNT_IDENTITY_INFO_NOT_CERT,
	[STIR_CERT_UNTRUSTED] = CNT_IDENTITY_CERT_UNTRUSTED,
	[STIR_CERT_EXPIRED] = CNT_IDENTITY_CERT_EXPIRED,
	[STIR_CERT_NO_TNAUTH] = CNT_IDENTITY_CERT_NO_TNAUTH,
	[STIR_CERT_KEY] = CNT_IDENTITY_CERT_KEY,
	[STIR_SIGNATURE] = CNT_IDENTITY_SIGNATURE,
	[STIR_ORIG_MISMATCH] = CNT_IDENTITY_ORIG_MISMATCH,
	[STIR_DEST_MISMATCH] = CNT_IDENTITY_DEST_MISMATCH,
	[STIR_STALE] = CNT_IDENTITY_STALE,
	[STIR_DATE_MISMATCH] = CNT_IDENTITY_DATE_MISMATCH,
	[STIR_WEAK_ALG] = CNT_IDENTITY_WEAK_ALG,
};

const char *stir_mark_verstat(enum stir_mark m)
{
	switch (m) {
	case STIR_MARK_PASSED: return "TN-Validation-Passed";
	case STIR_MARK_FAILED: return "TN-Validation-Failed";
	case STIR_MARK_NO_VALIDATION: return "No-TN-Validation";
	case STIR_MARK_NONE: break;
	}
	return NULL;
}

bool stir_strip_verstat(char *s)
{
	bool removed = false;
	char *p = s;
	while ((p = strchr(p, ';')) != NULL) {
		if (strncasecmp(p + 1, "verstat", 7) != 0 || (p[8] != '=' && p[8] != ';' &&
							     p[8] != '@' && p[8] != '\0')) {
			p++;
			continue;
		}
		/* up to the next parameter or the end of the user part */
		size_t span = 1 + strcspn(p + 1, ";@>?");
		memmove(p, p + span, strlen(p + span) + 1);
		removed = true;
	}
	return removed;
}

/* A party in PASSporT terms (Sofia keeps a tel URI's number in url_user): the canonical number of a tel URI or of a
 * number-like user part, else the URI itself (RFC 8225 §5.2.1). */
static void party_of(const url_t *u, const char *cc, struct stir_party *out)
{
	memset(out, 0, sizeof(*out));
	const char *num = u->url_user;
	if (num) {
		char user[STIR_URI_MAX];
		snprintf(user, sizeof(user), "%s", num);
		stir_strip_verstat(user);
		char tn[STIR_TN_MAX];
		if (stir_tn_canon(user, strlen(user), cc, tn)) {
			snprintf(out->value, sizeof(out->value), "%s", tn);
			return;
		}
	}
	out->is_uri = true;
	url_t copy = *u;
	copy.url_params = NULL;
	copy.url_headers = NULL;
	copy.url_port = NULL;
	if (url_e(out->value, sizeof(out->value), &copy) >= (isize_t)sizeof(out->value))
		out->value[0] = '\0';
}

/* The calling party a verifier compares orig with: the asserted identity of
 * a trusted previous hop (a tel one first), else the From. */
static const url_t *calling_url(sip_t const *sip, bool prev_hop_trusted)
{
	const sip_p_asserted_identity_t *pai = prev_hop_trusted ? sip_p_asserted_identity(sip) : NULL;
	for (const sip_p_asserted_identity_t *p = pai; p; p = p->paid_next)
		if (p->paid_url->url_type == url_tel)
			return p->paid_url;
	return pai ? pai->paid_url : sip->sip_from->a_url;
}

static void check_done(void *arg, enum stir_result r)
{
	struct call *c = arg;
	c->stir_check = NULL;
	c->stir_resume(c, r);
}

enum stir_result stir_call_verify(struct call *c, sip_t const *sip, bool prev_hop_trusted,
				  stir_call_resume_fn resume, bool *pending)
{
	struct b2bua *b = c->b2bua;
	const struct leg_config *leg = c->legs[LEG_A].cfg;
	*pending = false;
	if (!leg || leg->identity_verify == IDENTITY_VERIFY_OFF || !b->sti)
		return STIR_RESULT__COUNT;
	const char *value[MAX_IDENTITY_HEADERS];
	size_t len[MAX_IDENTITY_HEADERS];
	unsigned n = 0;
	/* Our parser has a class for Identity (sip/msg.c): its values are there,
	 * one per header field. */
	for (const msg_generic_t *g = sipmsg_identity(sip); g && n < MAX_IDENTITY_HEADERS;
	     g = (const msg_generic_t *)g->g_common->h_succ)
		if (g->g_common->h_class == sipmsg_identity(sip)->g_common->h_class && g->g_string) {
			value[n] = g->g_string;
			len[n++] = strlen(g->g_string);
		}
	const char *cc = b->cfg->stir.country_code;
	c->stir_resume = resume;
	/* RFC 4474 only from a peer configured for it, and only in its form:
	 * the same peer's PASSporTs are verified as RFC 8224. */
	c->stir_legacy = n > 0 && sipmsg_identity_info(sip) && stir_legacy_form(value[0]) &&
			 stir_legacy_peer_from(b->cfg, &c->legs[LEG_A].peer);
	if (c->stir_legacy) {
		/* RFC 4474 signs the From: that is the identity a pass vouches for. */
		party_of(sip->sip_from->a_url, cc, &c->stir_orig);
		c->stir_orig_from = true;
		enum stir_result r = stir_legacy_verify(c, sip, value[0], check_done, &c->stir_check);
		*pending = r == STIR_RESULT__COUNT;
		return r;
	}
	struct stir_expect e = { .now = time(NULL), .date = -1, .max_age_s = b->cfg->stir.max_age_s };
	if (sip->sip_date)
		e.date = (int64_t)sip->sip_date->d_time - SECONDS_1900_TO_1970;
	const url_t *calling = calling_url(sip, prev_hop_trusted);
	party_of(calling, cc, &e.orig);
	c->stir_orig = e.orig;
	c->stir_orig_from = calling == sip->sip_from->a_url;
	party_of(sip->sip_to->a_url, cc, &e.dest);
	struct sti_identity_values ids = { value, len, n };
	enum stir_result r = sti_verify(b->sti, &ids, &e, check_done, c, &c->stir_check);
	*pending = r == STIR_RESULT__COUNT;
	return r;
}

enum pc_refusal stir_call_outcome(struct call *c, enum stir_result r)
{
	if ((unsigned)r >= STIR_RESULT__COUNT)
		r = STIR_MALFORMED;
	counter_inc(result_counter[r]);
	if (c->stir_legacy && r == STIR_PASSED)
		counter_inc(CNT_IDENTITY_LEGACY_VERIFIED);
	c->stir_mark = r == STIR_PASSED        ? STIR_MARK_PASSED
		       : r == STIR_NO_IDENTITY ? STIR_MARK_NO_VALIDATION
					       : STIR_MARK_FAILED;
	if (r == STIR_PASSED)
		log_info("call %u: identity verified%s", c->id, c->stir_legacy ? " (RFC 4474)" : "");
	else
		log_info("call %u: identity not verified: %s (%d %s)", c->id, stir_result_name(r),
			 stir_result_status(r), stir_result_phrase(r));
	if (r == STIR_PASSED || c->legs[LEG_A].cfg->identity_verify != IDENTITY_VERIFY_REJECT)
		return REFUSAL_NONE;
	switch (stir_result_status(r)) {
	case 428: return REFUSAL_STIR_NO_IDENTITY;
	case 436: return REFUSAL_STIR_BAD_INFO;
	case 437: return REFUSAL_STIR_CREDENTIAL;
	case 403: return REFUSAL_STIR_STALE;
	default: return REFUSAL_STIR_INVALID;
	}
}

/* A signature for one number says nothing about another identity the
 * request carries beside it: a trunk could sign its asserted number and put
 * someone else's in the From, which the phone shows. So Passed goes on the
 * verified identity alone, and No-TN-Validation on the others. A From user
 * part is compared as a number; one that is no number is the verified
 * identity only when the From was what orig was compared with. */
enum stir_mark stir_call_mark_of(const struct call *c, const char *identity, bool user_part)
{
	if (c->stir_mark != STIR_MARK_PASSED)
		return c->stir_mark;
	const char *cc = c->b2bua->cfg->stir.country_code;
	char buf[PAI_URI_MAX];
	snprintf(buf, sizeof(buf), "%s", identity);
	stir_strip_verstat(buf);
	bool same;
	if (user_part) {
		char tn[STIR_TN_MAX];
		same = stir_tn_canon(buf, strlen(buf), cc, tn)
			       ? !c->stir_orig.is_uri && strcmp(tn, c->stir_orig.value) == 0
			       : c->stir_orig.is_uri && c->stir_orig_from;
	} else {
		url_t u[1];
		struct stir_party p;
		same = url_d(u, buf) == 0;
		if (same) {
			party_of(u, cc, &p);
			same = p.is_uri == c->stir_orig.is_uri && p.value[0] &&
			       strcmp(p.value, c->stir_orig.value) == 0;
		}
	}
	return same ? STIR_MARK_PASSED : STIR_MARK_NO_VALIDATION;
}

static int holder_es256(void *arg, const uint8_t hash[32], uint8_t sig[STIR_ES256_SIG_LEN])
{
	(void)arg;
	return keyholder_sign_es256(hash, sig);
}

/* The caller's own numbers: its tel identities and number-like users of
 * its sip ones, canonical. */
static size_t owned_numbers(struct b2bua *b, const char *user, char tns[][STIR_TN_MAX])
{
	const char *const *ids = NULL;
	size_t n_ids = reg_service_identities(b->reg, user, &ids), n = 0;
	for (size_t i = 0; i < n_ids && n < MAX_OWNED_TNS; i++) {
		url_t u[1];
		char buf[PAI_URI_MAX];
		snprintf(buf, sizeof(buf), "%s", ids[i]);
		if (url_d(u, buf) < 0)
			continue;
		const char *num = u->url_user;
		if (num && stir_tn_canon(num, strlen(num), b->cfg->stir.country_code, tns[n]))
			n++;
	}
	return n;
}

/* RFC 4474 asserts that the caller owns the From identity: attestation A
 * alone says so; B and C calls go unsigned to a legacy peer. */
static bool legacy_decided(struct call *c, enum attest_level level, const char *because,
			   struct identity_out *idn, const char **why)
{
	if (level != ATTEST_A) {
		counter_inc(CNT_IDENTITY_LEGACY_NOT_SIGNED);
		log_info("call %u: not signed for the RFC 4474 peer: attestation %c (%s)", c->id,
			 "-ABC"[level], because);
		return true;
	}
	if (!keyholder_legacy_active()) {
		counter_inc(CNT_IDENTITY_SIGN_FAILED);
		*why = "no legacy RFC 4474 key to sign with";
		return false;
	}
	idn->legacy = true;
	idn->date = time(NULL);
	c->rec.attest = 'A';
	return true;
}

bool stir_call_sign(struct call *c, const char *caller_user, const struct peer_config *next,
		    struct identity_out *idn, const char **why)
{
	struct b2bua *b = c->b2bua;
	const struct leg_config *la = c->legs[LEG_A].cfg, *lb = c->legs[LEG_B].cfg;
	if (!lb || !lb->identity_sign)
		return true;
	const char *cc = b->cfg->stir.country_code;
	struct stir_claims claims = { .shaken = true, .n_dest = 1, .iat = time(NULL) };
	/* orig: the number the next hop is told, asserted (tel first) or From */
	url_t u[1];
	char buf[PAI_URI_MAX];
	const char *calling = idn->n_asserted ? idn->asserted[idn->n_asserted - 1] : NULL;
	snprintf(buf, sizeof(buf), "%s", calling ? calling : "");
	if (calling && url_d(u, buf) == 0) {
		party_of(u, cc, &claims.orig);
	} else {
		url_t from = *c->legs[LEG_B].local_url;
		party_of(&from, cc, &claims.orig);
	}
	party_of(c->legs[LEG_B].remote_url, cc, &claims.dest[0]);
	char owned[MAX_OWNED_TNS][STIR_TN_MAX];
	const char *owned_p[MAX_OWNED_TNS];
	size_t n_owned = caller_user[0] ? owned_numbers(b, caller_user, owned) : 0;
	for (size_t i = 0; i < n_owned; i++)
		owned_p[i] = owned[i];
	struct attest_in in = {
		.authenticated = caller_user[0] != '\0',
		.calling_tn = claims.orig.is_uri ? "" : claims.orig.value,
		.owned_tns = owned_p,
		.n_owned = n_owned,
		.sign_unauthenticated = la && la->identity_sign_unauthenticated,
	};
	const char *because = "";
	enum attest_level level = attest_decide(&in, &because);
	if (level == ATTEST_NONE) {
		counter_inc(CNT_IDENTITY_NOT_SIGNED);
		log_info("call %u: not signed: %s", c->id, because);
		return true;
	}
	if (next && next->identity_legacy)
		return legacy_decided(c, level, because, idn, why);
	claims.attest = (enum stir_attest)level;
	snprintf(claims.x5u, sizeof(claims.x5u), "%s", b->cfg->stir.x5u);
	snprintf(claims.origid, sizeof(claims.origid), "%s", la ? la->identity_origid : "");
	if (sti_sign(&claims, holder_es256, NULL, idn->identity, sizeof(idn->identity)) == 0) {
		counter_inc(CNT_IDENTITY_SIGN_FAILED);
		*why = "cannot sign the call's Identity";
		return false;
	}
	idn->date = claims.iat;
	c->rec.attest = "-ABC"[level];
	counter_inc(CNT_IDENTITY_SIGNED);
	log_info("call %u: signed with attestation %c (%s)", c->id, "-ABC"[level], because);
	return true;
}

static bool any_leg_verifies(const struct gateway_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_legs; i++)
		if (cfg->legs[i].identity_verify != IDENTITY_VERIFY_OFF)
			return true;
	return false;
}

int stir_call_check_config(const struct gateway_config *cfg, char *why, size_t whylen)
{
	if (!any_leg_verifies(cfg))
		return 0;
	struct stir_trust *t = stir_trust_load(cfg->stir.trust, cfg->stir.crl, why, whylen);
	stir_trust_free(t);
	return t ? 0 : -1;
}

int stir_call_init(struct b2bua *b, char *why, size_t whylen)
{
	const struct gateway_config *cfg = b->cfg;
	if (!any_leg_verifies(cfg))
		return 0;
	const struct stir_config *s = &cfg->stir;
	struct sti_repo_config rc = {
		.trust_file = s->trust,
		.crl_file = s->crl,
		.cache_entries = s->cache_entries,
		.cache_max_age_s = s->cache_max_age_s,
		.failure_ttl_s = 30,
		.max_cert_size = s->max_cert_size,
		.connect_timeout_ms = s->connect_timeout_ms,
		.total_timeout_ms = s->fetch_timeout_ms,
		.max_fetches = s->max_fetches,
		.http_hosts = b->stir_http_hosts,
		.n_http_hosts = s->n_fetch_http_hosts,
		.allow_address = guard_fetch_address_allowed,
		.allow_arg = b->guard,
	};
	for (unsigned i = 0; i < s->n_fetch_http_hosts; i++)
		b->stir_http_hosts[i] = s->fetch_http_hosts[i];
	b->sti = sti_repo_new(b->base, &rc, why, whylen);
	return b->sti ? 0 : -1;
}

void stir_call_fini(struct b2bua *b)
{
	sti_repo_free(b->sti);
	b->sti = NULL;
}

void b2bua_share_certs(struct b2bua *b, const struct sti_shared *s)
{
	sti_repo_set_shared(b->sti, s);
}
