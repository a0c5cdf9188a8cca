/* The media workers as a pool (pool.h). One worker: nothing but the
 * signalling thread's engine, called directly. N workers: each worker's
 * engine is made on its own thread by the first command, with the
 * signalling engine's settings copied into that command; streams go to
 * the workers by ATTACH and come back by DETACH (stream_cmd.h), and each
 * DETACH is answered on the notice queue, read on the signalling loop,
 * where the stream's ports are released: the worker never touches the
 * ranges and the signalling thread never frees a stream a worker may
 * still read. A full command queue makes the signalling thread wait for
 * room, reading notices meanwhile, so neither side can wait on the other
 * forever: a setter (keys, await-keys) must never be dropped. Keys are
 * checked here before they are sent (keys.c's book), and the quality
 * figures come back as snapshots the worker publishes (snapshot.c), so
 * the signalling thread reads nothing of a stream the worker writes. */
#include "pool.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/cmdq.h"
#include "core/log.h"
#include "media_int.h"
#include "worker.h"

/* Commands per worker: far more than one turn of signalling produces. */
#define POOL_DEPTH 1024
#define POOL_NOTICES 4096
/* How often a worker publishes the quality figures of streams that
 * carried packets (snapshot.c): what the signalling thread reads may be
 * this old, which no reader (a log line, a record, /calls) minds. */
#define POOL_PUBLISH_MS 250

enum pool_op { POOL_ENGINE_NEW, POOL_ENGINE_FREE, POOL_STREAM };

struct pool_cmd {
	enum pool_op op;
	enum media_io io;                   /* POOL_ENGINE_NEW */
	unsigned grace_ms, latch_window_ms; /* POOL_ENGINE_NEW */
	bool quality_off;
	struct media_stream_cmd sc;         /* POOL_STREAM */
};

struct pool_notice {
	struct media_stream *s;
	unsigned worker;
	bool roc; /* s's ROC moved (roc.c), rather than s detached */
};

struct pool_worker {
	struct media_pool *p;
	struct media_worker *w;
	struct media_engine *e;  /* the worker's thread only */
	atomic_int ready;        /* 0 starting, 1 engine made, -1 failed */
	atomic_bool uring;       /* its engine reads and sends through io_uring */
	_Atomic(struct media_engine *) engine; /* for ATTACH commands */
	unsigned nstreams;       /* signalling thread: attached or detaching */
};

struct media_pool {
	struct media_engine *main;
	unsigned n;
	enum media_io io;
	bool threads;            /* the streams live on worker threads (n > 1, or io_uring) */
	struct pool_worker *wk;  /* n entries when threads */
	bool started;
	struct pc_cmdq *notices;
	struct event *notice_ev;
};

static void on_notice(void *msg, void *arg)
{
	struct media_pool *p = arg;
	const struct pool_notice *m = msg;
	if (m->roc) {
		roc_note(p->main, m->s); /* the owner is told on a later turn */
		return;
	}
	roc_forget(p->main, m->s);
	p->wk[m->worker].nstreams--;
	stream_ports_release(m->s, true);
}

static void on_notices(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct media_pool *p = arg;
	pc_cmdq_drain(p->notices, on_notice, p);
}

/* On a worker's thread: a stream's ROC moved. Not waited for when the
 * queue is full (4,096 notices): that stream's record keeps its last ROC
 * until the next one. */
static void on_roc(void *ctx, struct media_stream *s)
{
	struct pool_worker *pw = ctx;
	struct pool_notice m = { .s = s, .roc = true };
	(void)pc_cmdq_push(pw->p->notices, &m);
}

static bool uring_turn_fn(void *arg, unsigned wait_ms) { return uring_turn(arg, wait_ms); }

/* On a worker's thread: the engine reads and sends through io_uring when
 * asked and the kernel allows; -1 only when io_uring was required. */
static int engine_io(struct media_worker *w, struct pool_worker *pw, enum media_io io)
{
	if (io == MEDIA_IO_EPOLL)
		return 0;
	char why[160] = "";
	if (uring_open(pw->e, media_worker_wake_fd(w), why, sizeof(why)) == 0) {
		media_worker_set_turn(w, uring_turn_fn, pw->e);
		atomic_store(&pw->uring, true);
		return 0;
	}
	if (io == MEDIA_IO_URING) {
		log_warnx("media worker %u: io_uring was required and cannot be had: %s",
			  media_worker_index(w), why);
		return -1;
	}
	log_info("media worker %u: io_uring cannot be had (%s); relaying with epoll",
		 media_worker_index(w), why);
	return 0;
}

/* On a worker's thread. */
static void on_cmd(struct media_worker *w, void *msg, void *arg)
{
	struct pool_worker *pw = arg;
	const struct pool_cmd *c = msg;
	switch (c->op) {
	case POOL_ENGINE_NEW:
		pw->e = media_engine_new(media_worker_base(w));
		if (pw->e) {
			media_engine_set_rekey_grace_ms(pw->e, c->grace_ms);
			media_engine_set_latch_window_ms(pw->e, c->latch_window_ms);
			media_engine_set_quality(pw->e, !c->quality_off);
			pw->e->roc_hook = on_roc;
			pw->e->roc_hook_ctx = pw;
			if (engine_publish_every(pw->e, POOL_PUBLISH_MS) < 0 ||
			    engine_io(w, pw, c->io) < 0) {
				media_engine_free(pw->e);
				pw->e = NULL;
			}
		}
		if (pw->e)
			atomic_store(&pw->engine, pw->e);
		atomic_store(&pw->ready, pw->e ? 1 : -1);
		return;
	case POOL_ENGINE_FREE:
		media_worker_set_turn(w, NULL, NULL);
		media_engine_free(pw->e); /* every stream was detached */
		pw->e = NULL;
		return;
	case POOL_STREAM:
		if (media_stream_cmd_apply(&c->sc) < 0)
			log_warnx("media worker %u: a stream command (%d) failed",
				  media_worker_index(w), (int)c->sc.op);
		/* What the command changed shows at once; after a DETACH these
		 * are the stream's last figures. */
		stream_publish(c->sc.s);
		if (c->sc.op == MEDIA_OP_DETACH) {
			struct pool_notice m = { .s = c->sc.s, .worker = media_worker_index(w) };
			while (pc_cmdq_push(pw->p->notices, &m) < 0)
				sched_yield(); /* the signalling loop reads them */
		}
		return;
	}
}

/* Waits for room rather than dropping: reading notices meanwhile frees
 * the worker if it is itself waiting to post one. */
static void send_cmd(struct media_pool *p, struct pool_worker *pw, const struct pool_cmd *c)
{
	while (media_worker_send(pw->w, c) < 0) {
		pc_cmdq_drain(p->notices, on_notice, p);
		sched_yield();
	}
}

/* The streams will live on worker threads: their table and the queue
 * their DETACHes come back on. */
static int threads_init(struct media_pool *p, struct event_base *base)
{
	p->wk = calloc(p->n, sizeof(*p->wk));
	p->notices = pc_cmdq_new(POOL_NOTICES, sizeof(struct pool_notice));
	if (p->wk && p->notices)
		p->notice_ev = event_new(base, pc_cmdq_fd(p->notices), EV_READ | EV_PERSIST,
					 on_notices, p);
	if (p->notice_ev == NULL || event_add(p->notice_ev, NULL) < 0) {
		log_warnx("media: cannot set up the worker pool's notices");
		return -1;
	}
	p->threads = true;
	return 0;
}

struct media_pool *media_pool_new(struct event_base *base, unsigned nworkers)
{
	if (base == NULL || nworkers == 0)
		return NULL;
	struct media_pool *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		log_err("media: out of memory for the worker pool");
		return NULL;
	}
	p->n = nworkers;
	p->io = MEDIA_IO_EPOLL;
	p->main = media_engine_new(base);
	if (p->main == NULL || (nworkers > 1 && threads_init(p, base) < 0)) {
		media_pool_free(p);
		return NULL;
	}
	return p;
}

int media_pool_set_io(struct media_pool *p, enum media_io io)
{
	if (p == NULL || p->started)
		return -1;
	p->io = io;
	if (io != MEDIA_IO_EPOLL && !p->threads)
		return threads_init(p, p->main->base);
	return 0;
}

bool media_pool_uses_uring(const struct media_pool *p)
{
	if (p == NULL || !p->started || !p->threads)
		return false;
	for (unsigned i = 0; i < p->n; i++)
		if (!atomic_load(&p->wk[i].uring))
			return false;
	return true;
}

struct media_engine *media_pool_engine(struct media_pool *p) { return p ? p->main : NULL; }

unsigned media_pool_default_workers(unsigned max)
{
	cpu_set_t set;
	long n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
							     : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return (unsigned)n < max ? (unsigned)n : (max ? max : 1);
}

unsigned media_pool_workers(const struct media_pool *p) { return p ? p->n : 0; }

static void stop_workers(struct media_pool *p)
{
	for (unsigned i = 0; p->wk && i < p->n; i++) {
		struct pool_worker *pw = &p->wk[i];
		if (pw->w == NULL)
			continue;
		send_cmd(p, pw, &(struct pool_cmd){ .op = POOL_ENGINE_FREE });
		media_worker_stop(pw->w);
		pw->w = NULL;
	}
	p->started = false;
}

int media_pool_start(struct media_pool *p)
{
	if (p == NULL)
		return -1;
	if (!p->threads || p->started)
		return 0;
	struct pool_cmd c = { .op = POOL_ENGINE_NEW, .io = p->io, .grace_ms = p->main->grace_ms,
			      .latch_window_ms = p->main->latch_window_ms,
			      .quality_off = p->main->quality_off };
	for (unsigned i = 0; i < p->n; i++) {
		struct pool_worker *pw = &p->wk[i];
		pw->p = p;
		pw->w = media_worker_start(i, sizeof(struct pool_cmd), POOL_DEPTH, on_cmd, pw);
		if (pw->w == NULL || media_worker_send(pw->w, &c) < 0) {
			stop_workers(p);
			return -1;
		}
	}
	p->started = true;
	for (unsigned i = 0; i < p->n; i++) {
		while (atomic_load(&p->wk[i].ready) == 0)
			sched_yield(); /* an engine is made in microseconds */
		if (atomic_load(&p->wk[i].ready) < 0) {
			log_warnx("media worker %u: cannot make its relay engine", i);
			stop_workers(p);
			return -1;
		}
	}
	return 0;
}

void media_pool_free(struct media_pool *p)
{
	if (p == NULL)
		return;
	if (p->started) {
		/* Wait for the DETACHes still on their way. */
		while (media_pool_stream_count(p) > 0) {
			pc_cmdq_drain(p->notices, on_notice, p);
			sched_yield();
		}
		stop_workers(p);
	}
	if (p->notice_ev)
		event_free(p->notice_ev);
	pc_cmdq_free(p->notices);
	free(p->wk);
	media_engine_free(p->main);
	free(p);
}

struct media_stream *media_pool_stream_new(struct media_pool *p, int range_a, int range_b,
					   int *worker)
{
	if (p == NULL)
		return NULL;
	if (!p->threads || !p->started) {
		if (worker)
			*worker = 0;
		return media_stream_new(p->main, range_a, range_b);
	}
	unsigned pick = 0;
	if (worker && *worker >= 0 && (unsigned)*worker < p->n) {
		pick = (unsigned)*worker;
	} else {
		for (unsigned i = 1; i < p->n; i++)
			if (p->wk[i].nstreams < p->wk[pick].nstreams)
				pick = i;
	}
	struct media_stream *s = stream_ports_take(p->main, range_a, range_b);
	if (s == NULL)
		return NULL;
	s->worker = (int)pick;
	struct pool_worker *pw = &p->wk[pick];
	struct pool_cmd c = { .op = POOL_STREAM,
			      .sc = { .op = MEDIA_OP_ATTACH, .s = s,
				      .u.engine = atomic_load(&pw->engine) } };
	send_cmd(p, pw, &c);
	pw->nstreams++;
	if (worker)
		*worker = (int)pick;
	return s;
}

int media_pool_stream_cmd(struct media_pool *p, struct media_stream_cmd *c)
{
	if (p == NULL || c == NULL || c->s == NULL)
		return -1;
	int rc = 0;
	if (c->s->worker < 0) {
		rc = media_stream_cmd_apply(c);
	} else if (c->op == MEDIA_OP_SET_CRYPTO &&
		   key_book_send(c->s, c->side, c->u.crypto.have_recv ? &c->u.crypto.recv : NULL,
				 c->u.crypto.have_send ? &c->u.crypto.send : NULL,
				 p->main->grace_ms) < 0) {
		/* Refused here as the worker would refuse it, so the caller
		 * gets the same -1 (and the SIP side its error) as with one
		 * worker; nothing is sent. */
		rc = -1;
	} else {
		struct pool_cmd pc = { .op = POOL_STREAM, .sc = *c };
		send_cmd(p, &p->wk[c->s->worker], &pc);
		explicit_bzero(&pc, sizeof(pc));
	}
	media_stream_cmd_wipe(c);
	return rc;
}

void media_pool_stream_free(struct media_pool *p, struct media_stream *s)
{
	if (p == NULL || s == NULL)
		return;
	s->owner = NULL; /* a ROC notice still on its way tells nobody */
	if (s->worker < 0) {
		media_stream_free(s);
		return;
	}
	struct pool_cmd c = { .op = POOL_STREAM, .sc = { .op = MEDIA_OP_DETACH, .s = s } };
	send_cmd(p, &p->wk[s->worker], &c);
}

unsigned media_pool_stream_worker(const struct media_stream *s)
{
	return s && s->worker > 0 ? (unsigned)s->worker : 0;
}

unsigned media_pool_stream_count(const struct media_pool *p)
{
	if (p == NULL)
		return 0;
	if (!p->threads || !p->started)
		return p->main->nstreams;
	unsigned n = 0;
	for (unsigned i = 0; i < p->n; i++)
		n += p->wk[i].nstreams;
	return n;
}
