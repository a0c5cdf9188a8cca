/* INVITE set-up: a request outside any dialog becomes a call through an
 * ordered list of phases, each of which either passes or answers the
 * request itself: authenticate -> route -> dialog fits -> capacity ->
 * admit (SIPS toward the next hop, call limits) -> create the call ->
 * verify its Identity -> leg B's target -> attempt. Verification may wait
 * for a certificate fetch: the phases after it then run when the fetch
 * ends (setup_resume), from what the call kept. An attempt (one per
 * contact of a forked call) is itself a list: SIPS on this hop -> identity
 * -> our From -> sign -> media plan -> send. A new
 * step (signing, a shared-store lookup) is one more entry in a table, not
 * another early exit. Every refusal is a reason applied by refuse.c. */
#include "call.h"
#include "identity.h"
#include "refuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/url.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"
#include "sti/verify.h"

/* ---- the phases of a new call ---- */

enum phase_result {
	PHASE_NEXT,     /* go on with the next phase */
	PHASE_ANSWERED, /* the request was answered (refused, or the call set up) */
	PHASE_NOT_MINE, /* the endpoint answers it (404: no route) */
};

/* What the phases learn about the INVITE, in the order they learn it. */
struct setup {
	struct b2bua *b;
	struct txn *st;
	msg_t *req;
	sip_t const *sip;
	const struct pc_peer *from;
	const char *leg_name;              /* the caller's leg, NULL if none */
	const char *user;                  /* the dialled user */
	char caller_user[REG_USER_MAX];    /* the authenticated caller, "" none */
	const struct route_config *route;
	struct route_config flow_route;    /* the cluster's internal route, made here */
	struct guard_call limits;
	struct call *call;
};

/* Refuses the INVITE before the call exists, through its transaction. */
static enum phase_result refuse_invite(struct setup *s, const struct verdict *v)
{
	char subject[CFG_NAME_MAX + REG_USER_MAX + 32];
	snprintf(subject, sizeof(subject), "INVITE from leg %s%s%s",
		 s->leg_name ? s->leg_name : "-", s->caller_user[0] ? " user " : "", s->caller_user);
	struct refuse_to to = { .req = s->req, .st = s->st, .warn_host = s->b->cfg->domain,
				.subject = subject };
	refuse(&to, v);
	return PHASE_ANSWERED;
}

/* Refuses the INVITE of a call that exists (with leg A's To-tag), and
 * closes the call for `cause` (NULL: the why). */
static enum phase_result refuse_call(struct setup *s, struct verdict v, const char *cause)
{
	char subject[32];
	snprintf(subject, sizeof(subject), "call %u", s->call->id);
	leg_refuse(s->call, s->call->a_invite, LEG_A, &v, subject);
	call_close(s->call, cause ? cause : v.why);
	return PHASE_ANSWERED;
}

/* Who is calling, before anything is allocated for the call. */
static enum phase_result phase_authenticate(struct setup *s)
{
	struct b2bua *b = s->b;
	const struct leg_config *leg = s->leg_name ? config_leg(b->cfg, s->leg_name) : NULL;
	if (!reg_service_authorize(b->reg, s->st, s->req, leg, s->caller_user,
				   sizeof(s->caller_user)))
		return PHASE_ANSWERED;
	return PHASE_NEXT;
}

static enum phase_result phase_route(struct setup *s)
{
	if (route_is_internal(s->sip)) {
		struct verdict v = route_internal(s->b, s->from, s->sip, s->leg_name, &s->flow_route);
		if (v.kind != VERDICT_ACCEPT)
			return refuse_invite(s, &v);
		s->route = &s->flow_route;
		return PHASE_NEXT;
	}
	s->route = s->leg_name ? route_for(s->b, s->leg_name, s->user) : NULL;
	return s->route ? PHASE_NEXT : PHASE_NOT_MINE;
}

/* The dialog is found again by its Call-ID and tag: they must fit whole. */
static enum phase_result phase_dialog_fits(struct setup *s)
{
	if (strlen(s->sip->sip_call_id->i_id) < sizeof(((struct leg *)0)->call_id) &&
	    (!s->sip->sip_from->a_tag ||
	     strlen(s->sip->sip_from->a_tag) < sizeof(((struct leg *)0)->remote_tag)))
		return PHASE_NEXT;
	struct verdict v = verdict_refuse(REFUSAL_DIALOG_TOO_LONG,
					  "Call-ID or From tag too long to find the dialog by");
	return refuse_invite(s, &v);
}

static enum phase_result phase_capacity(struct setup *s)
{
	if (s->b->n_calls < s->b->cfg->limits.max_calls)
		return PHASE_NEXT;
	struct verdict v = verdict_refuse(REFUSAL_MAX_CALLS, "limits.max_calls reached");
	return refuse_invite(s, &v);
}

/* SIPS on the next hop and the call limits, before the call exists. */
static enum phase_result phase_admit(struct setup *s)
{
	struct b2bua *b = s->b;
	struct verdict v = guard_next_hop(s->sip, route_is_tls(b, s->route, s->user));
	if (v.kind == VERDICT_ACCEPT)
		v = guard_call_start(b->guard, b->n_setup, s->caller_user, s->leg_name,
				     s->route->peer, pc_clock_ms(), &s->limits);
	if (v.kind == VERDICT_ACCEPT)
		return PHASE_NEXT;
	return refuse_invite(s, &v);
}

/* The call, with leg A: the caller's dialog as the caller sees it. */
static enum phase_result phase_create(struct setup *s)
{
	struct b2bua *b = s->b;
	sip_t const *sip = s->sip;
	s->call = call_new(b, s->st, config_leg(b->cfg, s->leg_name),
			   config_leg(b->cfg, s->route->to_leg), &s->limits);
	if (!s->call) {
		guard_call_end(b->guard, &s->limits, pc_clock_ms());
		return PHASE_NOT_MINE;
	}
	struct leg *a = &s->call->legs[LEG_A];
	a->peer = *s->from;
	snprintf(a->call_id, sizeof(a->call_id), "%s", sip->sip_call_id->i_id);
	call_index_add(b, a);
	call_rec_privacy(s->call, sip);
	snprintf(a->remote_tag, sizeof(a->remote_tag), "%s",
		 sip->sip_from->a_tag ? sip->sip_from->a_tag : "");
	/* The caller's URLs as structures: only they, not its display names
	 * or parameters, appear in what we send back on this leg. */
	if ((sip->sip_contact && leg_set_url(&a->remote_target, sip->sip_contact->m_url) < 0) ||
	    leg_set_url(&a->remote_url, sip->sip_from->a_url) < 0 ||
	    leg_set_url(&a->local_url, sip->sip_to->a_url) < 0)
		return refuse_call(s, verdict_refuse(REFUSAL_CALL_FAILED, "out of memory"), NULL);
	call_view_keep_from(s->call, sip);
	return PHASE_NEXT;
}

/* What set-up resumes with once a verification that waited ends: the rest
 * is found again from the call and its INVITE transaction. */
struct setup_wait {
	struct route_config route; /* a copy: a reload may rewrite the routes meanwhile */
	char caller_user[REG_USER_MAX];
};

void setup_wait_free(struct call *c)
{
	free(c->setup_wait);
	c->setup_wait = NULL;
}

/* The verification's result applied: a verstat to hand on, or (a leg in
 * "reject" mode) the refusal RFC 8224 names. */
static enum phase_result verified(struct setup *s, enum stir_result r)
{
	enum pc_refusal why = stir_call_outcome(s->call, r);
	if (why == REFUSAL_NONE)
		return PHASE_NEXT;
	return refuse_call(s, verdict_refuse(why, stir_result_name(r)), "identity not verified");
}

static void setup_resume(struct call *c, enum stir_result r);

/* The caller's Identity, on a leg that verifies it (stir_call.c). */
static enum phase_result phase_verify(struct setup *s)
{
	struct b2bua *b = s->b;
	bool pending = false;
	bool trusted = identity_prev_hop_trusted(b->cfg, b->guard, s->from);
	enum stir_result r = stir_call_verify(s->call, s->sip, trusted, setup_resume, &pending);
	if (!pending)
		return r == STIR_RESULT__COUNT ? PHASE_NEXT : verified(s, r);
	struct setup_wait *w = calloc(1, sizeof(*w));
	if (!w) {
		sti_check_cancel(s->call->stir_check);
		s->call->stir_check = NULL;
		return refuse_call(s, verdict_refuse(REFUSAL_CALL_FAILED, "out of memory"), NULL);
	}
	w->route = *s->route;
	snprintf(w->caller_user, sizeof(w->caller_user), "%s", s->caller_user);
	s->call->setup_wait = w;
	return PHASE_ANSWERED;
}

/* Leg B: a new dialog toward the route's target; only the caller's user
 * part crosses. */
static enum phase_result phase_leg_b(struct setup *s)
{
	struct call *c = s->call;
	struct leg *lb = &c->legs[LEG_B];
	int routed = route_leg_b(c, s->route, s->user);
	if (routed == -2)
		return refuse_call(s, verdict_refuse(REFUSAL_NOT_REGISTERED, "callee not registered"),
				   NULL);
	if (routed < 0)
		return refuse_call(s, verdict_refuse(REFUSAL_CALL_FAILED, "route has no usable target"),
				   "bad route");
	/* A next hop backed off after failed connections: refused before any
	 * relay port or key is spent, with when to try again (RFC 3261 §21.5.4). */
	c->retry_after_s = s->b->net.retry_after(s->b->net.ctx, &lb->peer);
	if (c->retry_after_s) {
		struct verdict v = verdict_refuse(REFUSAL_NEXT_HOP_DOWN, "next hop down");
		v.retry_after = c->retry_after_s;
		return refuse_call(s, v, NULL);
	}
	sipmsg_random_token(lb->call_id, 33);
	call_index_add(s->b, lb);
	return PHASE_NEXT;
}

static unsigned next_max_forwards(sip_t const *sip)
{
	unsigned mf = sip->sip_max_forwards ? sip->sip_max_forwards->mf_count : 70;
	return mf > 0 ? mf - 1 : 0;
}

static enum phase_result phase_attempt(struct setup *s)
{
	struct call *c = s->call;
	unsigned mf = next_max_forwards(s->sip);
	if (s->route->registered && !s->route->flow) /* the internal route names one flow */
		fork_start(c, s->user, mf, s->route, s->caller_user);
	char phrase[128], why[160] = "";
	struct verdict v = setup_attempt(c, s->sip, s->route, s->caller_user, mf, phrase,
					 sizeof(phrase), why, sizeof(why));
	if (v.kind != VERDICT_ACCEPT)
		return refuse_call(s, v, NULL);
	log_info("call %u: %s -> " URL_PRINT_FORMAT " via leg %s%s", c->id, s->leg_name,
		 URL_PRINT_ARGS(c->legs[LEG_B].remote_target), s->route->to_leg,
		 c->legs[LEG_B].secure ? " (SRTP offered)" : "");
	return PHASE_ANSWERED;
}

static enum phase_result (*const setup_phases[])(struct setup *) = {
	phase_authenticate, phase_route, phase_dialog_fits, phase_capacity,
	phase_admit, phase_create, phase_verify, phase_leg_b, phase_attempt,
};
#define N_PHASES (sizeof(setup_phases) / sizeof(setup_phases[0]))

/* Runs the phases from `first`: PHASE_NEXT when all passed. */
static enum phase_result run_phases(struct setup *s, size_t first)
{
	for (size_t i = first; i < N_PHASES; i++) {
		enum phase_result r = setup_phases[i](s);
		if (r != PHASE_NEXT)
			return r;
	}
	return PHASE_NEXT;
}

static void setup_begin(struct setup *s, struct b2bua *b, struct txn *st, msg_t *req)
{
	*s = (struct setup){ .b = b, .st = st, .req = req, .sip = sip_object(req) };
	s->from = txn_peer(st);
	s->leg_name = listener_leg(b, s->from);
	s->user = s->sip->sip_request->rq_url->url_user;
}

/* A verification that waited for its certificate ended: set-up goes on
 * after phase_verify with what the call kept. */
static void setup_resume(struct call *c, enum stir_result r)
{
	struct setup_wait *w = c->setup_wait;
	c->setup_wait = NULL;
	if (!w || !c->a_invite || !txn_request_msg(c->a_invite) || c->state != CALL_INVITING) {
		free(w);
		call_close(c, "set-up lost while its identity was verified");
		return;
	}
	struct setup s;
	setup_begin(&s, c->b2bua, c->a_invite, txn_request_msg(c->a_invite));
	s.route = &w->route;
	snprintf(s.caller_user, sizeof(s.caller_user), "%s", w->caller_user);
	s.call = c;
	if (verified(&s, r) != PHASE_NEXT) {
		free(w);
		return;
	}
	size_t next = 0;
	while (setup_phases[next] != phase_verify)
		next++;
	enum phase_result done = run_phases(&s, next + 1);
	free(w); /* s.route points into it until here */
	if (done == PHASE_NOT_MINE)
		call_close(c, "no route after the identity was verified");
}

bool setup_new_call(struct b2bua *b, struct txn *st, msg_t *req)
{
	struct setup s;
	setup_begin(&s, b, st, req);
	enum phase_result r = run_phases(&s, 0);
	if (r != PHASE_NEXT)
		return r == PHASE_ANSWERED;
	return true;
}

/* ---- one attempt toward a contact ---- */

/* What an attempt's steps share; a refusing step fills the refusal. */
struct attempt {
	struct call *c;
	sip_t const *sip;
	const struct route_config *route;
	const struct peer_config *next; /* the route's configured peer, NULL for a static target */
	const char *caller_user;
	unsigned max_forwards;
	struct identity_out idn;
	char *offer;              /* leg B's SDP (holds keys), NULL for a late offer */
	char *phrase;             /* a refusal's phrase when it carries detail */
	size_t phrase_len;
	char *why;                /* a refusal's why, kept for the log and the close */
	size_t whylen;
	struct verdict v;         /* the refusal of the step that refused */
};

/* Refuses the attempt for reason r, `why` copied into the caller's buffer. */
static bool attempt_refused(struct attempt *a, struct verdict v, const char *why)
{
	if (why != a->why)
		snprintf(a->why, a->whylen, "%s", why ? why : "");
	v.why = a->why;
	a->v = v;
	return false;
}

/* A sips request may only leave over TLS. */
static bool attempt_sips(struct attempt *a)
{
	struct verdict v = guard_next_hop(a->sip, a->c->legs[LEG_B].peer.transport == PC_TP_TLS);
	return v.kind == VERDICT_ACCEPT || attempt_refused(a, v, v.why);
}

/* Adds ";verstat=v" to a user part or a URI: a tel URI's parameter, or
 * the user part's of a sip/sips URI (ATIS-1000074 §5.3.1). Left alone
 * when it would not fit. */
static void add_verstat(char *uri, size_t size, const char *v)
{
	char param[48];
	int n = snprintf(param, sizeof(param), ";verstat=%s", v);
	size_t len = strlen(uri);
	if (n < 0 || len + (size_t)n >= size)
		return;
	char *at = strncmp(uri, "tel:", 4) == 0 ? NULL : strchr(uri, '@');
	char *end = at ? at : strncmp(uri, "tel:", 4) == 0 ? uri + len : NULL;
	if (!end) { /* a bare user part */
		memcpy(uri + len, param, (size_t)n + 1);
		return;
	}
	memmove(end + n, end, strlen(end) + 1);
	memcpy(end, param, (size_t)n);
}

/* A verstat is handed on only as this gateway's verification found it: any
 * that came from outside is removed, and the call's own mark (stir_call.c)
 * is added to the From user and to each asserted identity — Passed only
 * to the one that was verified. */
static void mark_verstat(struct call *c, struct identity_out *out)
{
	bool removed = stir_strip_verstat(out->from_user);
	for (unsigned i = 0; i < out->n_asserted; i++)
		removed |= stir_strip_verstat(out->asserted[i]);
	if (removed)
		counter_inc(CNT_IDENTITY_VERSTAT_REMOVED);
	if (c->stir_mark == STIR_MARK_NONE)
		return;
	if (out->from_user[0] && !out->anonymous)
		add_verstat(out->from_user, sizeof(out->from_user),
			    stir_mark_verstat(stir_call_mark_of(c, out->from_user, true)));
	for (unsigned i = 0; i < out->n_asserted; i++)
		add_verstat(out->asserted[i], sizeof(out->asserted[i]),
			    stir_mark_verstat(stir_call_mark_of(c, out->asserted[i], false)));
}

/* Who this next hop is told is calling: privacy and asserted identity
 * (identity.c decides), counted and logged, then our From on leg B. */
static bool attempt_identity(struct attempt *a)
{
	struct call *c = a->c;
	struct b2bua *b = c->b2bua;
	const char *user = a->caller_user;
	const char *const *ids = NULL;
	size_t n_ids = reg_service_identities(b->reg, user, &ids);
	char own[CFG_NAME_MAX + CFG_HOST_MAX + 8];
	snprintf(own, sizeof(own), "sip:%s@%s", user, b->cfg->auth.realm);
	const struct pc_peer *from = &c->legs[LEG_A].peer;
	struct identity_in in = {
		.prev_hop_trusted = identity_prev_hop_trusted(b->cfg, b->guard, from),
		.next_hop_trusted = identity_next_hop_trusted(b->cfg, b->guard, &c->legs[LEG_B].peer, a->next),
		.user = user,
		.identities = ids,
		.n_identities = n_ids,
		.default_identity = user[0] ? own : NULL,
	};
	struct identity_out *out = &a->idn;
	struct verdict v = identity_check(b->cfg, a->sip, &in, out);
	if (v.kind != VERDICT_ACCEPT) {
		/* The phrase names the priv-values refused: out is ours, the
		 * caller's buffer outlives it. */
		snprintf(a->phrase, a->phrase_len, "%s", v.phrase);
		v.phrase = a->phrase;
		return attempt_refused(a, v, out->why);
	}
	if (out->anonymous)
		counter_inc(CNT_FROM_ANONYMISED);
	if (out->from_replaced && !out->anonymous) {
		counter_inc(CNT_FROM_REPLACED);
		log_info("call %u: From user of %s is not an identity it owns: sent as \"%s\"", c->id,
			 user, out->from_user);
	}
	if (out->pai_removed)
		counter_inc(CNT_PAI_REMOVED);
	mark_verstat(c, out);
	c->rec.asserted = out->n_asserted > 0;
	if (out->n_asserted)
		counter_inc(CNT_PAI_ASSERTED);
	/* At info level only when the edge changed something. */
	if (out->anonymous || out->pai_removed || out->n_asserted || a->sip->sip_privacy)
		log_info("call %u: privacy: %s; asserted identity: %s (%u sent)", c->id, out->why,
			 out->pai_why, out->n_asserted);
	else
		log_debug("call %u: no privacy asked, no identity asserted", c->id);

	return true;
}

/* Our From on leg B: the user identity.c chose at our own host, or the
 * anonymous one (RFC 3323 §4.1.1.3). */
static bool attempt_from(struct attempt *a)
{
	struct call *c = a->c;
	struct leg *lb = &c->legs[LEG_B];
	const struct identity_out *out = &a->idn;
	url_t u[1];
	memset(u, 0, sizeof(u));
	u->url_type = url_sip;
	u->url_scheme = "sip";
	char host[CFG_HOST_MAX + 2], port[8];
	unsigned portnum;
	if (out->anonymous) {
		u->url_user = IDENTITY_ANONYMOUS_USER;
		u->url_host = IDENTITY_ANONYMOUS_HOST;
	} else {
		leg_sent_by(c, lb, host, sizeof(host), &portnum);
		snprintf(port, sizeof(port), "%u", portnum);
		u->url_user = out->from_user[0] ? out->from_user : "anonymous";
		u->url_host = host;
		u->url_port = portnum ? port : NULL;
		/* RFC 4474 §13.4: a legacy peer checks that our certificate names
		 * the From's host, so on a signing leg that host is our domain. */
		if (a->next && a->next->identity_legacy && lb->cfg && lb->cfg->identity_sign) {
			u->url_host = c->b2bua->cfg->domain;
			u->url_port = NULL;
		}
	}
	lb->local_display = out->anonymous ? IDENTITY_ANONYMOUS_DISPLAY : NULL;
	if (leg_set_url(&lb->local_url, u) == 0)
		return true;
	return attempt_refused(a, verdict_refuse(REFUSAL_CALL_FAILED, NULL), "out of memory");
}

/* An offer with keys made for this next hop alone; none in the INVITE
 * makes a late offer (B offers in its 2xx, A answers in its ACK). */
static bool attempt_media(struct attempt *a)
{
	sip_t const *sip = a->sip;
	if (!sip->sip_payload || !sip->sip_payload->pl_len) {
		a->c->late_offer = true;
		return true;
	}
	int status = plan_offer(a->c, LEG_A, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
				&a->offer, a->why, a->whylen);
	return !status || attempt_refused(a, verdict_refuse(plan_refusal(status), NULL), a->why);
}

static bool attempt_send(struct attempt *a)
{
	if (leg_send_invite(a->c, a->max_forwards, &a->idn, a->offer) == 0)
		return true;
	return attempt_refused(a, verdict_refuse(REFUSAL_CALL_FAILED, NULL),
			       "cannot send the INVITE onward");
}

/* RFC 8224: the call signed for this next hop, when its leg signs. */
static bool attempt_sign(struct attempt *a)
{
	const char *why = NULL;
	if (stir_call_sign(a->c, a->caller_user, a->next, &a->idn, &why))
		return true;
	return attempt_refused(a, verdict_refuse(REFUSAL_CALL_FAILED, NULL), why);
}

static bool (*const attempt_steps[])(struct attempt *) = {
	attempt_sips, attempt_identity, attempt_from, attempt_sign, attempt_media, attempt_send,
};

struct verdict setup_attempt(struct call *c, sip_t const *sip, const struct route_config *r,
			     const char *caller_user, unsigned mf, char *phrase,
			     size_t phrase_len, char *why, size_t whylen)
{
	struct attempt a = { .c = c, .sip = sip, .route = r, .caller_user = caller_user,
		.next = r->peer[0] ? config_peer(c->b2bua->cfg, r->peer) : NULL,
		.max_forwards = mf, .phrase = phrase, .phrase_len = phrase_len,
		.why = why, .whylen = whylen, .v = verdict_accept() };
	for (size_t i = 0; i < sizeof(attempt_steps) / sizeof(attempt_steps[0]); i++)
		if (!attempt_steps[i](&a))
			break;
	if (a.offer) {
		explicit_bzero(a.offer, strlen(a.offer));
		free(a.offer);
	}
	return a.v;
}
