/* A media worker (issue 12): one thread with its own libevent event_base,
 * fed only through a bounded command queue (core/cmdq.h), so the relay
 * engine it will run is touched by that thread alone and the packet path
 * takes no lock. The signalling thread starts it, sends it fixed-size
 * commands (a refused send means the queue is full: the caller decides),
 * and stops it: the stop is itself a command, so every command sent before
 * it is carried out, then the thread's loop ends and it is joined. The
 * thread writes its own row of the gateway's counters. */
#ifndef PC_MEDIA_WORKER_H
#define PC_MEDIA_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct media_worker;

/* Runs on the worker's thread, once per command, in the order sent; msg
 * is cmd_size bytes, wiped after the call. */
typedef void (*media_worker_fn)(struct media_worker *w, void *msg, void *arg);

/* A worker whose queue holds `depth` commands of cmd_size bytes, each
 * handed to fn(w, msg, arg) on the worker's thread. NULL on failure
 * (logged). */
struct media_worker *media_worker_start(unsigned index, size_t cmd_size, unsigned depth,
					media_worker_fn fn, void *arg);
/* 0, or -1 when the queue is full (nothing sent). */
int media_worker_send(struct media_worker *w, const void *cmd);
/* The worker's loop, for the worker's own thread (fn registers its events
 * on it); never to be used from another thread. */
struct event_base *media_worker_base(struct media_worker *w);
unsigned media_worker_index(const struct media_worker *w);
/* A descriptor that becomes readable when a command is waiting. */
int media_worker_wake_fd(const struct media_worker *w);

/* A turn of a loop other than libevent's (the relay's io_uring): waits
 * for its own events and handles them; true when the worker's event_base
 * is due a pass: a command is waiting (media_worker_wake_fd became
 * readable), or wait_ms passed since its last pass. */
typedef bool (*media_worker_turn_fn)(void *arg, unsigned wait_ms);
/* On the worker's thread: from now on the thread runs `turn`, and one
 * non-blocking pass of its event_base after each turn that says so
 * (at least every WORKER_TICK_MS, worker.c); NULL goes back to the
 * event_base alone. So libevent's timers keep their meaning, a few
 * milliseconds late at most. */
void media_worker_set_turn(struct media_worker *w, media_worker_turn_fn turn, void *arg);
/* Carries out what was sent, ends the thread, joins it and frees the
 * worker. Blocks until the queue has room for the stop. */
void media_worker_stop(struct media_worker *w);

#endif
