/* The call record (record/record.h) of a call that closes, handed to the
 * sink the layer above registered (b2bua_set_record_sink): the B2BUA knows
 * how a call went but must not know where records go. The few facts a
 * record needs that the call does not keep for itself (when it was
 * answered, its first final status, who ended it and why, whether the
 * caller asked for privacy, what the identity steps decided) are noted in
 * c->rec as they happen. Also observes the set-up time and MOS histograms
 * (core/histogram.h). */
#include "call.h"

#include <stdio.h>
#include <string.h>

#include <sofia-sip/url.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/histogram.h"
#include "policy/refusal.h"

void b2bua_set_record_sink(struct b2bua *b, b2bua_record_fn fn, void *ctx)
{
	b->record_fn = fn;
	b->record_ctx = ctx;
}

/* RFC 3323: any priv-value but "none" (or a Privacy without values)
 * means the caller does not want to be named. */
void call_rec_privacy(struct call *c, sip_t const *sip)
{
	for (sip_privacy_t const *p = sip->sip_privacy; p; p = (sip_privacy_t const *)p->priv_common->h_succ) {
		if (p->priv_common->h_class != sip_privacy_class)
			break;
		if (!p->priv_values || !p->priv_values[0]) {
			c->rec.privacy = true;
			return;
		}
		for (msg_param_t const *v = p->priv_values; *v; v++)
			if (strcasecmp(*v, "none") != 0)
				c->rec.privacy = true;
	}
}

void call_rec_ended(struct call *c, enum record_party by, const char *reason)
{
	if (c->rec.ended)
		return;
	c->rec.ended = true;
	c->rec.by = (unsigned char)by;
	record_text(c->rec.reason, sizeof(c->rec.reason), reason ? reason : "");
}

void call_rec_final(struct call *c, int status, const struct verdict *refusal)
{
	if (c->rec.status || status < 200)
		return;
	uint64_t now = pc_clock_ms();
	c->rec.status = status;
	histogram_observe(HIST_CALL_SETUP, (double)(now - c->rec.start_ms) / 1000.0);
	if (status < 300)
		c->rec.answer_ms = now ? now : 1;
	if (refusal) {
		const struct refusal *row = refusal_get(refusal->reason);
		c->rec.refused = true;
		call_rec_ended(c, RECORD_BY_GATEWAY, row && row->counter != REFUSAL_NO_COUNTER
							      ? counter_name(row->counter)
							      : "refused");
	}
}

/* A URI as text, bounded and printable (record_text). */
static void uri_text(char *dst, size_t size, const url_t *u)
{
	char buf[1024];
	call_uri_text(buf, sizeof(buf), u);
	record_text(dst, size, buf);
}

static void leg_of(struct call *c, int side, struct record_leg *r)
{
	const struct leg *l = &c->legs[side];
	record_text(r->name, sizeof(r->name), l->cfg ? l->cfg->name : "");
	r->caller = side == LEG_A;
	r->transport = l->peer.transport;
	/* At shutdown (b2bua_free) the endpoint is already gone. */
	const struct call_net *net = &c->b2bua->net;
	const char *tls = net->tls_version && !c->b2bua->closing ?
		net->tls_version(net->ctx, &l->peer) : NULL;
	snprintf(r->tls_version, sizeof(r->tls_version), "%s", tls ? tls : "");
	if (l->secure && l->keys)
		snprintf(r->srtp_suite, sizeof(r->srtp_suite), "%s",
			 pc_srtp_suite_name(l->keys[0].send_key.params.suite));
	uint64_t expected = 0;
	for (unsigned i = 0; i < c->n_streams; i++) {
		struct media_side_stats st;
		struct media_quality q;
		if (!c->streams[i])
			continue;
		media_stream_stats(c->streams[i], (enum media_side)side, &st);
		r->rx_packets += st.rtp_in + st.rtcp_in;
		r->tx_packets += st.rtp_out + st.rtcp_out;
		if (media_stream_quality(c->streams[i], (enum media_side)side, &q) < 0)
			continue;
		r->has_bytes = true;
		r->rx_bytes += q.rx_bytes;
		r->tx_bytes += q.tx_bytes;
		if (q.expected == 0)
			continue;       /* no RTP from this side's peer: nothing to judge */
		/* Several streams (audio and video): losses add up, the worst
		 * jitter, round trip and MOS stand for the leg. */
		r->has_quality = true;
		expected += q.expected;
		r->lost += q.lost;
		if (q.has_jitter && q.jitter_ms > r->jitter_ms)
			r->jitter_ms = q.jitter_ms;
		if (q.has_rtt && (!r->has_rtt || q.rtt_ms > r->rtt_ms)) {
			r->has_rtt = true;
			r->rtt_ms = q.rtt_ms;
		}
		if (q.has_mos && (!r->has_mos || q.mos < r->mos)) {
			r->has_mos = true;
			r->mos = q.mos;
		}
	}
	r->fraction_lost = expected ? (double)r->lost / (double)expected : 0.0;
}

static enum record_disposition disposition_of(const struct call *c)
{
	if (c->rec.answer_ms)
		return RECORD_ANSWERED;
	if (c->rec.cancelled)
		return RECORD_CANCELLED;
	return c->rec.refused ? RECORD_REFUSED : RECORD_FAILED;
}

void call_rec_emit(struct call *c, const char *reason)
{
	struct b2bua *b = c->b2bua;
	call_rec_ended(c, RECORD_BY_GATEWAY, reason);
	struct call_record r;
	memset(&r, 0, sizeof(r));
	uint64_t now = pc_clock_ms(), wall = pc_wall_ms();
	r.id = c->id;
	r.end_ms = wall;
	r.start_ms = wall - (now - c->rec.start_ms);
	r.answer_ms = c->rec.answer_ms ? wall - (now - c->rec.answer_ms) : 0;
	r.disposition = disposition_of(c);
	r.status = c->rec.status;
	r.ended_by = (enum record_party)c->rec.by;
	memcpy(r.reason, c->rec.reason, sizeof(r.reason));
	r.privacy = c->rec.privacy;
	/* The safe default: a caller who asked for privacy is not named
	 * unless the operator keeps private identities (records.keep_private). */
	if (!r.privacy || b->cfg->records.keep_private)
		uri_text(r.caller, sizeof(r.caller), c->legs[LEG_A].remote_url);
	uri_text(r.callee, sizeof(r.callee), c->legs[LEG_A].local_url);
	r.asserted = c->rec.asserted;
	r.attestation = c->rec.attest;
	const char *vs = stir_mark_verstat(c->stir_mark);
	snprintf(r.verstat, sizeof(r.verstat), "%s", vs ? vs : "");
	r.n_legs = c->legs[LEG_B].call_id[0] ? 2 : 1;
	for (unsigned i = 0; i < r.n_legs; i++)
		leg_of(c, (int)i, &r.legs[i]);
	for (unsigned i = 0; i < r.n_legs; i++)
		if (r.legs[i].has_mos && (!r.has_mos || r.legs[i].mos < r.mos)) {
			r.has_mos = true;
			r.mos = r.legs[i].mos;
		}
	if (r.has_mos)
		histogram_observe(HIST_CALL_MOS, r.mos);
	if (b->record_fn)
		b->record_fn(b->record_ctx, &r);
}
