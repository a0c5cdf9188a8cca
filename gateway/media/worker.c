/* A media worker's thread, loop and command queue (worker.h). Each queue
 * slot is a small header (is this the stop?) followed by the caller's
 * command, so the stop travels in order with the commands before it and
 * no libevent call ever crosses threads (the base is not made thread-safe:
 * only its own thread touches it once started). */
#include "worker.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/cmdq.h"
#include "core/counters.h"
#include "core/log.h"

struct slot_hdr {
	bool stop;
	_Alignas(16) unsigned char cmd[];
};

struct media_worker {
	unsigned index;
	size_t cmd_size;
	media_worker_fn fn;
	void *arg;
	struct pc_cmdq *q;
	struct event_base *base;
	struct event *q_ev;
	pthread_t thread;
	unsigned char *out; /* the sender's slot being filled (signalling thread only) */
	/* The worker's thread only. */
	bool stopping;
	media_worker_turn_fn turn;
	void *turn_arg;
};

/* How late a libevent timer of a worker driven by another loop may fire:
 * the longest a turn waits. */
#define WORKER_TICK_MS 10

static size_t slot_size(size_t cmd_size) { return sizeof(struct slot_hdr) + cmd_size; }

static void on_cmd(void *msg, void *arg)
{
	struct media_worker *w = arg;
	struct slot_hdr *h = msg;
	if (h->stop) {
		w->stopping = true;
		event_base_loopexit(w->base, NULL);
	}
	else
		w->fn(w, h->cmd, w->arg);
}

static void on_queue(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct media_worker *w = arg;
	pc_cmdq_drain(w->q, on_cmd, w);
}

static void *run(void *arg)
{
	struct media_worker *w = arg;
	if (counters_thread_attach() < 0)
		log_warnx("media worker %u: no counter row left; counting in the main row", w->index);
	while (!w->stopping) {
		if (w->turn == NULL) {
			/* Returns at the stop, or when a turn function was set. */
			event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
			continue;
		}
		if (w->turn(w->turn_arg, WORKER_TICK_MS))
			event_base_loop(w->base, EVLOOP_NONBLOCK);
	}
	return NULL;
}

static void worker_free(struct media_worker *w)
{
	if (w->q_ev)
		event_free(w->q_ev);
	if (w->base)
		event_base_free(w->base);
	pc_cmdq_free(w->q);
	free(w->out);
	free(w);
}

struct media_worker *media_worker_start(unsigned index, size_t cmd_size, unsigned depth,
					media_worker_fn fn, void *arg)
{
	if (fn == NULL || cmd_size == 0 || cmd_size > PC_CMDQ_ELEM_MAX - sizeof(struct slot_hdr))
		return NULL;
	struct media_worker *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		log_err("media worker %u: out of memory", index);
		return NULL;
	}
	w->index = index;
	w->cmd_size = cmd_size;
	w->fn = fn;
	w->arg = arg;
	/* The loop is made here, on the starting thread, so a failure is
	 * reported to the caller; pthread_create orders these writes before
	 * everything the new thread does. */
	w->q = pc_cmdq_new(depth, slot_size(cmd_size));
	w->out = calloc(1, slot_size(cmd_size));
	w->base = event_base_new();
	if (w->q && w->out && w->base)
		w->q_ev = event_new(w->base, pc_cmdq_fd(w->q), EV_READ | EV_PERSIST, on_queue, w);
	if (w->q_ev == NULL || event_add(w->q_ev, NULL) < 0) {
		log_warnx("media worker %u: cannot make its loop", index);
		worker_free(w);
		return NULL;
	}
	int rc = pthread_create(&w->thread, NULL, run, w);
	if (rc != 0) {
		log_warnx("media worker %u: cannot start its thread: %s", index, strerror(rc));
		worker_free(w);
		return NULL;
	}
	return w;
}

static int send_slot(struct media_worker *w, bool stop, const void *cmd)
{
	struct slot_hdr *h = (struct slot_hdr *)w->out;
	h->stop = stop;
	if (cmd)
		memcpy(h->cmd, cmd, w->cmd_size);
	int rc = pc_cmdq_push(w->q, w->out);
	explicit_bzero(w->out, slot_size(w->cmd_size)); /* a command may hold keys */
	return rc;
}

int media_worker_send(struct media_worker *w, const void *cmd)
{
	if (w == NULL || cmd == NULL)
		return -1;
	return send_slot(w, false, cmd);
}

struct event_base *media_worker_base(struct media_worker *w) { return w->base; }

unsigned media_worker_index(const struct media_worker *w) { return w->index; }

int media_worker_wake_fd(const struct media_worker *w) { return pc_cmdq_fd(w->q); }

void media_worker_set_turn(struct media_worker *w, media_worker_turn_fn turn, void *arg)
{
	w->turn = turn;
	w->turn_arg = arg;
	if (turn)
		event_base_loopbreak(w->base); /* leave the blocking loop for the turns */
}

void media_worker_stop(struct media_worker *w)
{
	if (w == NULL)
		return;
	while (send_slot(w, true, NULL) < 0)
		sched_yield(); /* full: the worker is taking commands, room comes */
	pthread_join(w->thread, NULL);
	worker_free(w);
}
