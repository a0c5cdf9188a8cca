/* The media relay engine: its creation, settings and port ranges, and its
 * wake-ups. The relay sockets sit in an epoll set of the engine's own,
 * edge-triggered, which is one event on the gateway's libevent loop: one
 * wake-up serves every socket that became readable, without a libevent
 * dispatch and a second readiness poll per socket per packet (at 50
 * packets/s a socket rarely holds more than one). A socket left with data
 * after its share of reads waits on a backlog list for the next turn, since
 * no new edge will come for it. What is done with the packets is relay.c's
 * job; streams are stream.c's. */
#include "media_int.h"

#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"

#define MEDIA_DEFAULT_GRACE_MS 2000
/* A phone's first packets follow its answer (or the answer it receives)
 * within milliseconds; ten seconds leaves room for a slow start without
 * leaving a latch open for the whole call. */
#define MEDIA_DEFAULT_LATCH_WINDOW_MS 10000

static void on_ready(evutil_socket_t fd, short what, void *arg);

struct media_engine *media_engine_new(struct event_base *base)
{
	if (base == NULL)
		return NULL;
	struct media_engine *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		log_err("media: out of memory for the engine");
		return NULL;
	}
	e->base = base;
	e->grace_ms = MEDIA_DEFAULT_GRACE_MS;
	e->latch_window_ms = MEDIA_DEFAULT_LATCH_WINDOW_MS;
	e->out_fd = -1;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		log_err("media: cannot create the relay's epoll set");
		free(e);
		return NULL;
	}
	e->ep_ev = event_new(base, e->epfd, EV_READ | EV_PERSIST, on_ready, e);
	if (e->ep_ev == NULL || event_add(e->ep_ev, NULL) < 0 || roc_engine_init(e) < 0) {
		log_warnx("media: cannot register the relay with the event loop");
		if (e->ep_ev)
			event_free(e->ep_ev);
		if (e->roc_ev)
			event_free(e->roc_ev);
		close(e->epfd);
		free(e);
		return NULL;
	}
	for (unsigned i = 0; i < MEDIA_BATCH; i++) {
		e->in_iov[i].iov_base = e->buf[i];
		e->in_iov[i].iov_len = MEDIA_PKT_IN_MAX;
		e->in[i].msg_hdr.msg_namelen = sizeof(e->from[i]);
		e->in[i].msg_hdr.msg_name = &e->from[i];
		e->in[i].msg_hdr.msg_iov = &e->in_iov[i];
		e->in[i].msg_hdr.msg_iovlen = 1;
		e->out[i].msg_hdr.msg_iov = &e->out_iov[i];
		e->out[i].msg_hdr.msg_iovlen = 1;
	}
	return e;
}

void media_engine_free(struct media_engine *e)
{
	if (e == NULL)
		return;
	while (e->streams)
		media_stream_free(e->streams);
	uring_close(e);
	for (int i = 0; i < e->nranges; i++)
		range_fini(&e->ranges[i]);
	if (e->pub_ev)
		event_free(e->pub_ev);
	event_free(e->roc_ev);
	event_free(e->ep_ev);
	close(e->epfd);
	free(e);
}

void media_engine_set_rekey_grace_ms(struct media_engine *e, unsigned ms)
{
	if (e)
		e->grace_ms = ms;
}

void media_engine_set_latch_window_ms(struct media_engine *e, unsigned ms)
{
	if (e)
		e->latch_window_ms = ms;
}

void media_engine_want_ports(struct media_engine *e, unsigned port_a, unsigned port_b)
{
	if (e) {
		e->want_port[0] = port_a;
		e->want_port[1] = port_b;
	}
}

void media_engine_set_quality(struct media_engine *e, bool on)
{
	if (e)
		e->quality_off = !on;
}

int media_engine_add_range(struct media_engine *e, const char *bind_address, unsigned port_min,
			   unsigned port_max, unsigned quarantine_ms)
{
	if (e == NULL)
		return -1;
	if (e->nranges >= MEDIA_MAX_RANGES) {
		log_warnx("media: too many port ranges (at most %d)", MEDIA_MAX_RANGES);
		return -1;
	}
	if (range_init(&e->ranges[e->nranges], bind_address, port_min, port_max, quarantine_ms) < 0)
		return -1;
	return e->nranges++;
}

unsigned media_engine_free_pairs(const struct media_engine *e, int range)
{
	if (e == NULL || range < 0 || range >= e->nranges)
		return 0;
	return range_free_pairs(&e->ranges[range]);
}

unsigned media_engine_stream_count(const struct media_engine *e)
{
	return e ? e->nstreams : 0;
}

/* --- wake-ups ------------------------------------------------------------- */

static void backlog_push(struct media_engine *e, struct msock *ms)
{
	if (ms->backlogged)
		return;
	ms->backlogged = true;
	ms->backlog_next = e->backlog;
	e->backlog = ms;
}

void backlog_remove(struct media_engine *e, struct msock *ms)
{
	if (!ms->backlogged)
		return;
	for (struct msock **p = &e->backlog; *p; p = &(*p)->backlog_next) {
		if (*p == ms) {
			*p = ms->backlog_next;
			break;
		}
	}
	ms->backlogged = false;
}

/* One wake-up: first the sockets left over from the last turn, then every
 * socket that became readable since. */
static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct media_engine *e = arg;

	struct msock *left = e->backlog;
	e->backlog = NULL;
	while (left) {
		struct msock *ms = left;
		left = ms->backlog_next;
		ms->backlogged = false;
		if (relay_drain(e, ms))
			backlog_push(e, ms);
	}
	int n = epoll_wait(e->epfd, e->ready, MEDIA_EVENTS, 0);
	for (int i = 0; i < n; i++) {
		struct msock *ms = e->ready[i].data.ptr;
		if (relay_drain(e, ms))
			backlog_push(e, ms);
	}
	/* Work left: come back after the loop's other events, not never (an
	 * edge-triggered socket with data will not signal again). */
	if (e->backlog || n == MEDIA_EVENTS)
		event_active(e->ep_ev, EV_READ, 0);
}
