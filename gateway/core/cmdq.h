/* A bounded queue of fixed-size messages from one thread to another, with an
 * eventfd that is readable while messages wait, so the receiving thread's
 * event loop wakes for them. It is the only way the signalling thread and a
 * media worker talk (commands one way, notices the other): a mutex guards
 * the ring, which is fine on the control path (a few messages per call
 * event), and the packet path never touches it. Slots are wiped once taken,
 * because a command may carry SRTP keys. */
#ifndef PC_CORE_CMDQ_H
#define PC_CORE_CMDQ_H

#include <stddef.h>

struct pc_cmdq;

/* capacity messages of elem_size bytes each (both > 0, elem_size at most
 * PC_CMDQ_ELEM_MAX). NULL on failure (logged). */
#define PC_CMDQ_ELEM_MAX 4096
struct pc_cmdq *pc_cmdq_new(unsigned capacity, size_t elem_size);
/* Wipes what is still queued. */
void pc_cmdq_free(struct pc_cmdq *q);
/* The fd to watch for reading on the receiver's loop. */
int pc_cmdq_fd(const struct pc_cmdq *q);
/* Copies msg (elem_size bytes) in. 0, or -1 when the queue is full: the
 * sender decides what a refused command means (it is never blocked). */
int pc_cmdq_push(struct pc_cmdq *q, const void *msg);
/* The receiver: clears the wake-up, then hands waiting messages to fn in
 * order, at most the capacity per call (if more wait, the fd stays
 * readable for the next turn of the loop; fn may push to this queue). Each message is handed over in a buffer wiped after fn returns.
 * Returns how many were handed over. */
unsigned pc_cmdq_drain(struct pc_cmdq *q, void (*fn)(void *msg, void *arg), void *arg);
/* Messages waiting now (for tests and gauges). */
unsigned pc_cmdq_len(struct pc_cmdq *q);

#endif
