/* The SRTP rollover counters of a relay side, for cluster mode (issue 12):
 * another node that takes a call over must carry on each context's RTP
 * index, or a call past 65,536 packets on a stream does not authenticate
 * there. The engine that relays a side publishes, under a sequence lock,
 * each direction's highest index with a fingerprint of its key (so an
 * index is never read against a newer key) when the key changes, when a
 * seed is installed and when a ROC moves (once per 65,536 packets), and
 * then tells the signalling thread, on a later turn of its loop: directly
 * for the signalling thread's own engine, through the pool's notice queue
 * for a media worker's (pool.c). Nothing is done per packet but asking
 * the context whether its ROC moved. */
#include "media_int.h"

#include <string.h>

#include <event2/event.h>

enum { W_RECV_FP, W_RECV_TOP, W_SEND_FP, W_SEND_TOP, W_N };
_Static_assert(sizeof(((struct roc_pub *)0)->w) == W_N * sizeof(uint64_t), "published words");

void roc_publish(struct side *x)
{
	uint64_t w[W_N] = { 0 };
	if (x->recv_keyed && media_key_fingerprint(&x->recv_p, &w[W_RECV_FP]) == 0)
		w[W_RECV_TOP] = x->recv ? msrtp_top(x->recv) : x->recv_seed;
	if (x->send_keyed && media_key_fingerprint(&x->send_p, &w[W_SEND_FP]) == 0)
		w[W_SEND_TOP] = x->send ? msrtp_top(x->send) : x->send_seed;
	pc_seqlock_write(&x->rocp.lock, x->rocp.w, w, W_N);
}

void roc_note(struct media_engine *e, struct media_stream *s)
{
	for (unsigned i = 0; i < e->nroc; i++)
		if (e->roc_due[i] == s)
			return;
	if (e->nroc == MEDIA_ROC_DUE || e->roc_ev == NULL)
		return; /* told at its next wrap; its record keeps the last ROC */
	e->roc_due[e->nroc++] = s;
	event_active(e->roc_ev, EV_TIMEOUT, 0);
}

void roc_wrapped(struct side *x)
{
	roc_publish(x);
	roc_note(x->s->e, x->s);
}

void roc_forget(struct media_engine *e, struct media_stream *s)
{
	for (unsigned i = 0; i < e->nroc; i++)
		if (e->roc_due[i] == s) {
			e->roc_due[i] = e->roc_due[--e->nroc];
			return;
		}
}

/* A later turn of the engine's loop: the relay itself calls no user code. */
static void on_roc(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct media_engine *e = arg;
	while (e->nroc) {
		struct media_stream *s = e->roc_due[--e->nroc];
		if (e->roc_hook)
			e->roc_hook(e->roc_hook_ctx, s);
		else if (e->roc_fn && s->owner)
			e->roc_fn(e->roc_ctx, s->owner);
	}
}

int roc_engine_init(struct media_engine *e)
{
	e->roc_ev = event_new(e->base, -1, 0, on_roc, e);
	return e->roc_ev ? 0 : -1;
}

void media_engine_on_roc(struct media_engine *e, media_roc_fn *fn, void *ctx)
{
	e->roc_fn = fn;
	e->roc_ctx = ctx;
}

void media_stream_set_owner(struct media_stream *s, void *owner)
{
	if (s)
		s->owner = owner;
}

int media_stream_seed_roc(struct media_stream *s, enum media_side side, uint64_t recv_top,
			  uint64_t send_top)
{
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B)
		return -1;
	struct side *x = &s->side[side];
	x->recv_seed = recv_top;
	x->send_seed = send_top;
	if (x->recv)
		msrtp_seed(x->recv, recv_top);
	if (x->send)
		msrtp_seed(x->send, send_top);
	roc_publish(x);
	return 0;
}

void media_stream_roc(const struct media_stream *s, enum media_side side,
		      const struct pc_srtp_params *recv, const struct pc_srtp_params *send,
		      uint64_t *recv_top, uint64_t *send_top)
{
	uint64_t w[W_N] = { 0 }, fp;
	*recv_top = *send_top = 0;
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B)
		return;
	pc_seqlock_read(&s->side[side].rocp.lock, s->side[side].rocp.w, w, W_N);
	if (recv && media_key_fingerprint(recv, &fp) == 0 && fp == w[W_RECV_FP])
		*recv_top = w[W_RECV_TOP];
	if (send && media_key_fingerprint(send, &fp) == 0 && fp == w[W_SEND_FP])
		*send_top = w[W_SEND_TOP];
	explicit_bzero(w, sizeof(w));
}
