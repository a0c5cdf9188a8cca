/* Cluster mode's view of an established call (issue 12): what another node
 * needs to take the call over, handed as core/call_state.h data to the
 * layer above (b2bua_set_share) on every change of it: when the call is
 * answered, when a re-offer re-keys or moves its media, and its end. Never
 * per packet (a stream's SRTP rollover, once per 65,536 packets, is told
 * by the relay: media_engine_on_roc). The peers' media addresses are not kept by the call itself
 * (they live in the relay's streams, possibly on a worker thread), so a
 * small side record remembers them, allocated only when sharing is on:
 * without cluster mode a call pays one pointer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call.h"
#include "call_share.h"
#include "core/call_state.h"
#include "core/log.h"
#include "core/random.h"

struct call_share {
	char id[PC_CS_ID_MAX];
	bool written; /* a record is in the shared store: its end must remove it */
	struct {
		struct sockaddr_storage addr; /* family 0: none */
		uint16_t rtcp_port;
		uint64_t seed[2], seed_fp[2]; /* taken over: [0] recv, [1] send index and key */
	} remote[PC_SDP_MAX_STREAMS][2];
};

/* A stream of call `owner` passed an SRTP rollover (once per 65,536
 * packets, told by the relay on a later turn of the loop): its record
 * carries each context's ROC, so it is written again. */
static void on_roc(void *ctx, void *owner)
{
	(void)ctx;
	call_share_changed(owner);
}

void b2bua_set_share(struct b2bua *b, b2bua_share_fn *fn, void *ctx)
{
	b->share_fn = fn;
	b->share_ctx = ctx;
	if (b->media)
		media_engine_on_roc(b->media, fn ? on_roc : NULL, b);
}

static struct call_share *share_of(struct call *c)
{
	if (c->share || c->b2bua == NULL || c->b2bua->share_fn == NULL) /* NULL: a bare test call */
		return c->share;
	uint8_t raw[8];
	if ((c->share = calloc(1, sizeof(*c->share))) == NULL || pc_random_bytes(raw, sizeof(raw)) < 0) {
		free(c->share);
		c->share = NULL;
		log_err("call %u: cannot share its state (out of memory or randomness)", c->id);
		return NULL;
	}
	for (unsigned i = 0; i < sizeof(raw); i++)
		snprintf(c->share->id + 2 * i, 3, "%02x", raw[i]);
	return c->share;
}

void call_share_remote(struct call *c, unsigned i, int side, const struct sockaddr_storage *ss,
		       unsigned rtcp_port)
{
	struct call_share *sh = share_of(c);
	if (sh == NULL || i >= PC_SDP_MAX_STREAMS)
		return;
	memset(&sh->remote[i][side], 0, sizeof(sh->remote[i][side]));
	if (ss)
		sh->remote[i][side].addr = *ss;
	sh->remote[i][side].rtcp_port = (uint16_t)rtcp_port;
}

void call_share_seed(struct call *c, unsigned i, int side, const struct pc_cs_side *d)
{
	struct call_share *sh = share_of(c);
	if (sh == NULL || i >= PC_SDP_MAX_STREAMS)
		return;
	const struct pc_srtp_params *keys[2] = { d->has_recv ? &d->recv : NULL,
						 d->has_send ? &d->send : NULL };
	uint64_t top[2] = { (uint64_t)d->recv_roc << 16 | d->recv_seq,
			    (uint64_t)d->send_roc << 16 | d->send_seq };
	for (int k = 0; k < 2; k++) {
		sh->remote[i][side].seed[k] = 0;
		if (keys[k] && media_key_fingerprint(keys[k], &sh->remote[i][side].seed_fp[k]) == 0)
			sh->remote[i][side].seed[k] = top[k];
	}
}

/* Stream i's side's index under key p, direction k: what the relay
 * published, or the seed it was given while it has published nothing
 * higher for that key. */
static uint64_t index_of(struct call *c, unsigned i, int side, int k,
			 const struct pc_srtp_params *p, uint64_t published)
{
	uint64_t seed = c->share->remote[i][side].seed[k], fp;
	if (seed > published && media_key_fingerprint(p, &fp) == 0 &&
	    fp == c->share->remote[i][side].seed_fp[k])
		return seed;
	return published;
}

static void fill_leg(struct call *c, int side, struct pc_cs_leg *o)
{
	const struct leg *l = &c->legs[side];
	snprintf(o->cfg_leg, sizeof(o->cfg_leg), "%s", l->cfg->name);
	o->transport = l->peer.transport;
	o->peer = l->peer.addr;
	snprintf(o->identity, sizeof(o->identity), "%s", l->peer.identity);
	snprintf(o->call_id, sizeof(o->call_id), "%s", l->call_id);
	snprintf(o->local_tag, sizeof(o->local_tag), "%s", l->local_tag);
	snprintf(o->remote_tag, sizeof(o->remote_tag), "%s", l->remote_tag);
	call_uri_text(o->local_uri, sizeof(o->local_uri), l->local_url);
	call_uri_text(o->remote_uri, sizeof(o->remote_uri), l->remote_url);
	call_uri_text(o->remote_target, sizeof(o->remote_target), l->remote_target);
	if (side == LEG_B && c->b_path)
		snprintf(o->route, sizeof(o->route), "%s", c->b_path);
	o->local_cseq = l->local_cseq;
	o->sdp_id = l->sdp_id;
	o->sdp_version = l->sdp_version;
	o->secure = l->secure;
}

static void fill_side(struct call *c, unsigned i, int side, struct pc_cs_side *o)
{
	const struct leg *l = &c->legs[side];
	o->relay_port = (uint16_t)media_stream_port(c->streams[i], (enum media_side)side);
	o->media = c->share->remote[i][side].addr;
	o->rtcp_port = c->share->remote[i][side].rtcp_port;
	if (l->secure && l->keys) {
		o->has_recv = o->has_send = true;
		o->recv = l->keys[i].recv_key.params;
		o->send = l->keys[i].send_key.params;
		uint64_t rt, st; /* as the relay last published them, for these keys */
		media_stream_roc(c->streams[i], (enum media_side)side, &o->recv, &o->send, &rt, &st);
		rt = index_of(c, i, side, 0, &o->recv, rt);
		st = index_of(c, i, side, 1, &o->send, st);
		o->recv_roc = (uint32_t)(rt >> 16);
		o->recv_seq = (uint16_t)rt;
		o->send_roc = (uint32_t)(st >> 16);
		o->send_seq = (uint16_t)st;
	}
}

/* The state as it is now; streams up to the first missing one (an m-line
 * refused at the offer has none). */
static void fill(struct call *c, struct pc_call_state *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", c->share->id);
	s->answered_wall_s = (uint64_t)time(NULL);
	fill_leg(c, LEG_A, &s->legs[0]);
	fill_leg(c, LEG_B, &s->legs[1]);
	for (unsigned i = 0; i < c->n_streams && i < PC_CS_STREAMS && c->streams[i]; i++) {
		fill_side(c, i, LEG_A, &s->streams[i].side[0]);
		fill_side(c, i, LEG_B, &s->streams[i].side[1]);
		s->n_streams = i + 1;
	}
}

void call_share_changed(struct call *c)
{
	if (c->state != CALL_CONFIRMED || share_of(c) == NULL)
		return;
	struct pc_call_state *s = malloc(sizeof(*s));
	if (s == NULL)
		return;
	fill(c, s);
	c->b2bua->share_fn(c->b2bua->share_ctx, s, NULL);
	c->share->written = true;
	pc_call_state_wipe(s);
	free(s);
}

void call_share_gone(struct call *c)
{
	if (c->share && c->share->written && c->b2bua && c->b2bua->share_fn)
		c->b2bua->share_fn(c->b2bua->share_ctx, NULL, c->share->id);
	if (c->share)
		c->share->written = false;
}

void call_share_free(struct call *c)
{
	call_share_gone(c);
	free(c->share);
	c->share = NULL;
}
