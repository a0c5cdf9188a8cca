/* The quality snapshots of streams on a media worker (issue 12): the
 * worker is the only thread that touches a side's receive figures and RTCP
 * report, so it publishes them for the signalling thread (the quality log
 * line, the call record, /calls) under a sequence lock (core/seqlock.h)
 * rather than letting that thread read them while packets change them.
 * Published after every stream command the worker applies (so a codec or
 * a DETACH shows at once) and on a timer for every side whose packet
 * counts moved since its last publication; the packet path itself takes
 * no lock and does no extra work. */
#include "media_int.h"

#include <string.h>

#include <event2/event.h>

#include "core/log.h"

_Static_assert(sizeof(((struct quality_pub *)0)->w) >= sizeof(struct quality_src),
	       "the published words hold a quality_src");

/* What a side's figures can have changed by: packets in and out, and the
 * replays and malformed reports counted apart from them. */
static uint64_t side_mark(const struct side *x)
{
	return x->st.rtp_in + x->st.rtcp_in + x->st.rtp_out + x->st.replays + x->rep.malformed;
}

void quality_publish(struct side *x)
{
	union {
		struct quality_src src;
		uint64_t w[QUALITY_SRC_WORDS];
	} u;
	memset(&u, 0, sizeof(u));
	quality_gather(x, &u.src);
	pc_seqlock_write(&x->pub.lock, x->pub.w, u.w, QUALITY_SRC_WORDS);
	x->pub.mark = side_mark(x);
}

void stream_publish(struct media_stream *s)
{
	if (s == NULL)
		return;
	quality_publish(&s->side[0]);
	quality_publish(&s->side[1]);
}

void quality_snapshot(const struct side *x, struct quality_src *src)
{
	uint64_t words[QUALITY_SRC_WORDS];
	pc_seqlock_read(&x->pub.lock, x->pub.w, words, QUALITY_SRC_WORDS);
	memcpy(src, words, sizeof(*src));
}

static void on_publish(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct media_engine *e = arg;
	for (struct media_stream *s = e->streams; s; s = s->next)
		for (int i = 0; i < 2; i++)
			if (side_mark(&s->side[i]) != s->side[i].pub.mark)
				quality_publish(&s->side[i]);
}

int engine_publish_every(struct media_engine *e, unsigned ms)
{
	if (e->pub_ev)
		return 0;
	e->pub_ev = event_new(e->base, -1, EV_PERSIST, on_publish, e);
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	if (e->pub_ev == NULL || event_add(e->pub_ev, &tv) < 0) {
		log_warnx("media: cannot start the quality publication timer");
		if (e->pub_ev)
			event_free(e->pub_ev);
		e->pub_ev = NULL;
		return -1;
	}
	return 0;
}
