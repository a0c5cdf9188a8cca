/* The keys of a stream's sides: setting them (media_stream_set_crypto), the
 * grace during which the previous receive context stays valid after a
 * re-key, the bounded memory of retired receive keys (fingerprints, never
 * the keys) that stops a peer from bringing one back with a fresh replay
 * window, and the wait for keys of a side that will be secure. Contexts are
 * made from a key by the first packet that needs them (relay.c); key copies
 * are wiped when they go. */
#include "media_int.h"

#include <stdio.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"

static void wipe_params(struct pc_srtp_params *p) { pc_srtp_params_wipe(p); }

/* A receive key leaves for good: remember it, so that it cannot come back
 * with a fresh replay window. */
static void retire_key(struct side *x, const struct pc_srtp_params *p)
{
	uint64_t fp;
	if (p->key_salt_len == 0 || media_key_fingerprint(p, &fp) < 0)
		return;
	x->retired[x->retired_next] = fp;
	x->retired_next = (uint8_t)((x->retired_next + 1) % MEDIA_RETIRED_KEYS);
	if (x->n_retired < MEDIA_RETIRED_KEYS)
		x->n_retired++;
}

static bool key_is_retired(const struct side *x, const struct pc_srtp_params *p)
{
	uint64_t fp;
	if (x->n_retired == 0 || media_key_fingerprint(p, &fp) < 0)
		return false;
	for (unsigned i = 0; i < x->n_retired; i++)
		if (x->retired[i] == fp)
			return true;
	return false;
}

static void drop_old_recv(struct side *x)
{
	retire_key(x, &x->recv_old_p);
	msrtp_free(x->recv_old);
	x->recv_old = NULL;
	wipe_params(&x->recv_old_p);
	x->old_until_ms = 0;
	if (x->grace_ev)
		evtimer_del(x->grace_ev);
}

static void on_grace_end(evutil_socket_t fd, short what, void *arg)
{
	drop_old_recv(arg);
}

int side_keys_open(struct media_engine *e, struct side *x)
{
	x->grace_ev = evtimer_new(e->base, on_grace_end, x);
	if (x->grace_ev == NULL) {
		log_warnx("media: cannot create the re-key timer");
		return -1;
	}
	return 0;
}

void side_keys_close(struct side *x)
{
	drop_old_recv(x);
	if (x->grace_ev)
		event_free(x->grace_ev);
	x->grace_ev = NULL;
	msrtp_free(x->recv);
	msrtp_free(x->send);
	x->recv = x->send = NULL;
	x->recv_keyed = x->send_keyed = false;
	wipe_params(&x->recv_p);
	wipe_params(&x->send_p);
}

/* The previous receive context stays valid for grace_ms after a re-key. */
static void start_grace(struct media_engine *e, struct side *x, uint64_t now)
{
	x->old_until_ms = now + e->grace_ms;
	struct timeval tv = { .tv_sec = e->grace_ms / 1000,
			      .tv_usec = (e->grace_ms % 1000) * 1000 };
	evtimer_add(x->grace_ev, &tv);
}

int media_stream_set_crypto(struct media_stream *s, enum media_side side,
			    const struct pc_srtp_params *recv, const struct pc_srtp_params *send)
{
	if (s == NULL || (unsigned)side > MEDIA_SIDE_B)
		return -1;
	struct side *x = &s->side[side];
	struct media_engine *e = s->e;
	if ((recv && !msrtp_params_valid(recv)) || (send && !msrtp_params_valid(send))) {
		log_warnx("media: invalid SRTP parameters for side %c", side == MEDIA_SIDE_A ? 'A' : 'B');
		return -1;
	}
	uint64_t now = pc_clock_ms();
	if (recv && side_key_retired(x, recv)) {
		log_warnx("media: side %c offered a receive key it used before; refused",
			  side == MEDIA_SIDE_A ? 'A' : 'B');
		return -1;
	}
	x->awaiting_keys = false;
	/* The same key again (a session refresh) keeps its context, replay
	 * window and send index: a fresh context under an unchanged key would
	 * accept replays and reuse keystream. */
	bool recv_same = recv && x->recv_keyed && pc_srtp_params_equal(recv, &x->recv_p);
	bool recv_back = recv && !recv_same && x->old_until_ms && now < x->old_until_ms &&
			 pc_srtp_params_equal(recv, &x->recv_old_p);
	bool send_same = send && x->send_keyed && pc_srtp_params_equal(send, &x->send_p);

	if (recv == NULL) {
		/* The side turned plain: nothing of the old keys stays valid. */
		drop_old_recv(x);
		msrtp_free(x->recv);
		x->recv = NULL;
		if (x->recv_keyed)
			retire_key(x, &x->recv_p);
		x->recv_keyed = false;
		wipe_params(&x->recv_p);
	} else if (recv_back) {
		/* Back to the key still in grace: swap, keeping both states (the
		 * abandoned key's context, if it was never made, is not needed
		 * for the grace either). */
		struct msrtp *t = x->recv;
		x->recv = x->recv_old;
		x->recv_old = t;
		struct pc_srtp_params tp = x->recv_p;
		x->recv_p = x->recv_old_p;
		x->recv_old_p = tp;
		wipe_params(&tp);
		start_grace(e, x, now);
	} else if (!recv_same) {
		drop_old_recv(x);
		if (x->recv_keyed && e->grace_ms > 0) {
			/* In grace even when no packet made its context yet (recv_old
			 * stays NULL then): the signalling thread, which cannot know
			 * whether one was made, keeps the same rule (keys.c). */
			x->recv_old = x->recv;
			x->recv_old_p = x->recv_p;
			start_grace(e, x, now);
		} else {
			/* No grace: gone now. */
			if (x->recv_keyed)
				retire_key(x, &x->recv_p);
			msrtp_free(x->recv);
		}
		x->recv = NULL;
		x->recv_p = *recv;
		x->recv_keyed = true;
		x->recv_seed = 0; /* a new key's index starts again */
	}

	if (send == NULL || !send_same) {
		/* The send key is replaced at once: the peer learns the new key
		 * in the same signalling exchange that gave it to us. */
		msrtp_free(x->send);
		x->send = NULL;
		wipe_params(&x->send_p);
		x->send_keyed = send != NULL;
		x->send_seed = 0;
		if (send)
			x->send_p = *send;
	}
	roc_publish(x);
	return 0;
}

bool side_key_retired(const struct side *x, const struct pc_srtp_params *recv)
{
	/* The current key (a session refresh) and one still in its grace (a
	 * peer going back within it) keep their replay state: not retired. */
	if ((x->recv_keyed && pc_srtp_params_equal(recv, &x->recv_p)) ||
	    (x->old_until_ms && pc_srtp_params_equal(recv, &x->recv_old_p)))
		return false;
	return key_is_retired(x, recv);
}

void media_stream_await_keys(struct media_stream *s, enum media_side side)
{
	if (s && (unsigned)side <= MEDIA_SIDE_B)
		s->side[side].awaiting_keys = true;
}
