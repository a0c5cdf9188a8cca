/* The read-only view of live calls that observers get (b2bua_foreach_call
 * in b2bua.h, for the HTTP listener's /calls): per call its number, state,
 * times, the caller only as its privacy allows, the dialled URI, and per
 * leg its name, transport and SRTP suite, plus the relay's streams for
 * their counters. It hands out names and numbers, never the legs' keys,
 * and keeps the one thing the call does not need itself: the caller's
 * From as received, which the call layer otherwise drops at leg A. */
#include "call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/privacy.h"

/* Longest From kept per call: a display name and a URI, enough for any
 * real caller; a longer one is cut (it is shown, never parsed). */
#define SHOWN_FROM_MAX 256
#define SHOWN_TO_MAX 256

/* Cut s (of length n) back so it does not end inside a UTF-8 sequence. */
static void cut_utf8(char *s, size_t n)
{
	size_t i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	/* i-1 is the lead byte (or ASCII): keep it only when complete. */
	if (i > 0 && ((unsigned char)s[i - 1] & 0x80)) {
		unsigned char lead = (unsigned char)s[i - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (n - (i - 1) < need)
			s[i - 1] = '\0';
	}
}

void call_uri_text(char *dst, size_t size, const url_t *u)
{
	if (size == 0)
		return;
	dst[0] = '\0';
	if (!u || !u->url_host)
		return;
	/* snprintf, not url_e: url_e leaves the rest of a buffer too short
	 * for a long URI as it was (stack bytes an observer would see). */
	url_t shown = *u;
	shown.url_password = NULL; /* sip:user:password@host: never shown */
	int n = snprintf(dst, size, URL_PRINT_FORMAT, URL_PRINT_ARGS(&shown));
	if (n < 0)
		dst[0] = '\0';
	else if ((size_t)n >= size)
		cut_utf8(dst, size - 1);
}

void call_view_keep_from(struct call *c, sip_t const *invite)
{
	free(c->shown_from);
	c->shown_from = NULL;
	struct privacy_request pr;
	privacy_parse(invite, &pr);
	/* RFC 3323: header and user hide the From; id the asserted identity,
	 * which a From often repeats. Unreadable: assume the strictest. */
	if (pr.malformed || (pr.values & (PRIVACY_HEADER | PRIVACY_USER | PRIVACY_ID)))
		return;
	const sip_from_t *f = invite->sip_from;
	if (!f)
		return;
	char uri[SHOWN_FROM_MAX];
	call_uri_text(uri, sizeof(uri), f->a_url);
	if (!uri[0])
		return;
	char *out = malloc(SHOWN_FROM_MAX);
	if (!out)
		return; /* shown as hidden: nothing worse */
	int n = f->a_display && f->a_display[0] ?
		snprintf(out, SHOWN_FROM_MAX, "%s <%s>", f->a_display, uri) :
		snprintf(out, SHOWN_FROM_MAX, "%s", uri);
	if (n >= SHOWN_FROM_MAX)
		cut_utf8(out, SHOWN_FROM_MAX - 1);
	c->shown_from = out;
}

static const char *view_state(enum call_state s)
{
	switch (s) {
	case CALL_INVITING: return "setup";
	case CALL_EARLY: return "early";
	case CALL_CONFIRMED: return "answered";
	case CALL_ENDING: return "ending";
	case CALL_CLOSED: break;
	}
	return NULL;
}

static void leg_view(const struct call *c, int side, struct b2bua_leg_view *out)
{
	const struct leg *l = &c->legs[side];
	out->side = side == LEG_A ? "caller" : "callee";
	out->leg = l->cfg ? l->cfg->name : "";
	out->peer = &l->peer;
	/* The suite of our send key: the one the answer picked (the first
	 * m-line's; a call's streams are keyed alike). */
	out->srtp_suite = l->secure && l->keys && c->n_streams ?
		pc_srtp_suite_name(l->keys[0].send_key.params.suite) : NULL;
}

void b2bua_foreach_call(const struct b2bua *b, b2bua_call_fn fn, void *arg)
{
	char to[SHOWN_TO_MAX];
	for (const struct call *c = b->calls; c; c = c->next) {
		const char *state = view_state(c->state);
		if (!state)
			continue;
		call_uri_text(to, sizeof(to), c->legs[LEG_A].local_url);
		struct b2bua_call_view v = {
			.id = c->id,
			.state = state,
			.started_ms = c->rec.start_ms,
			.answered_ms = c->rec.answer_ms,
			.from = c->shown_from,
			.to = to,
			.auth_failures = c->auth_failures,
			.streams = c->streams,
			.n_streams = c->n_streams,
			.media_worker = c->media_worker,
		};
		leg_view(c, LEG_A, &v.legs[0]);
		leg_view(c, LEG_B, &v.legs[1]);
		if (!fn(arg, &v))
			return;
	}
}

uint64_t b2bua_calls_started(const struct b2bua *b, unsigned leg, bool callee)
{
	return leg < CFG_MAX_LEGS ? b->calls_started[leg][callee ? 1 : 0] : 0;
}
