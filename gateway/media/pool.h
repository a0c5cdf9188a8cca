/* The media workers as one pool (issue 12, not used by the gateway yet):
 * the signalling thread's engine owns the port ranges and the settings;
 * with one worker it also relays every stream on the signalling loop,
 * synchronously, exactly as before; with N > 1, N worker threads each run
 * an engine of their own, a new stream's ports are taken on the signalling
 * thread and the stream is attached to one worker (the one a call's first
 * stream went to, passed back as a hint, or the one with the fewest
 * streams), its setters travel there as commands, and a freed stream is
 * detached there and its ports released here when the worker says so. */
#ifndef PC_MEDIA_POOL_H
#define PC_MEDIA_POOL_H

#include <stdbool.h>

#include "media.h"
#include "stream_cmd.h"

struct event_base;
struct media_pool;

/* A pool whose signalling-thread engine runs on `base`; nworkers >= 1. The
 * workers start with media_pool_start, after the ranges and settings were
 * given to media_pool_engine. NULL on failure (logged). */
struct media_pool *media_pool_new(struct event_base *base, unsigned nworkers);
struct media_engine *media_pool_engine(struct media_pool *p);

/* How the workers read and send (media.io). EPOLL, the default: an epoll
 * set, recvmmsg and sendmmsg, and one worker relays on the signalling
 * loop itself. AUTO: io_uring (uring.c) where the kernel allows it, else
 * epoll, said in the log; URING: io_uring, or media_pool_start fails.
 * With AUTO or URING even one worker is a thread of its own, since the
 * io_uring loop is not the signalling loop. Before media_pool_start;
 * 0 or -1 (logged). */
enum media_io { MEDIA_IO_EPOLL, MEDIA_IO_AUTO, MEDIA_IO_URING };
int media_pool_set_io(struct media_pool *p, enum media_io io);
/* After media_pool_start: every worker reads and sends through io_uring. */
bool media_pool_uses_uring(const struct media_pool *p);
/* How many workers media.workers absent stands for: the CPUs this process
 * may run on (its affinity mask, so a gateway started under taskset
 * takes that many), at least 1, at most `max`. */
unsigned media_pool_default_workers(unsigned max);
unsigned media_pool_workers(const struct media_pool *p);
/* 0, or -1 (logged; the pool is left with no worker started). */
int media_pool_start(struct media_pool *p);
/* Every stream must have been freed (media_pool_stream_free). Waits for
 * the workers to let go of them, stops the workers, frees the engine. */
void media_pool_free(struct media_pool *p);

/* A stream on worker *worker when 0 <= *worker < N, else on the one with
 * the fewest streams; *worker is set to the worker chosen (always 0 with
 * one worker). Its ports are known at once. NULL as media_stream_new. */
struct media_stream *media_pool_stream_new(struct media_pool *p, int range_a, int range_b,
					   int *worker);
/* Applies c to its stream where the stream lives: at once with one
 * worker (the direct call's result), else sent to its worker (0 once
 * queued). Keys for a worker's stream are checked before they are sent,
 * as the worker would check them (valid parameters, a receive key not
 * retired): -1 then, logged, nothing sent. c is wiped. */
int media_pool_stream_cmd(struct media_pool *p, struct media_stream_cmd *c);
void media_pool_stream_free(struct media_pool *p, struct media_stream *s);
/* The worker a stream is on; 0 on the signalling loop (one worker). */
unsigned media_pool_stream_worker(const struct media_stream *s);
/* Streams the workers still hold or are letting go of (tests, gauges). */
unsigned media_pool_stream_count(const struct media_pool *p);

#endif
