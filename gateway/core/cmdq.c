/* The bounded message queue between threads (cmdq.h): a ring of
 * fixed-size slots under a mutex, and an eventfd written only when a push
 * finds the ring empty, so a burst of commands costs the receiver one
 * wake-up and the sender one write. The receiver reads the eventfd before
 * it takes messages, so a push racing with a drain is either taken by that
 * drain or wakes the next one: never lost, at worst one spurious wake-up. */
#include "cmdq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

struct pc_cmdq {
	pthread_mutex_t mu;
	int efd;
	unsigned cap, head, len;
	size_t elem;
	unsigned char *slots;
	unsigned char *taken; /* the receiver's buffer for one message */
};

struct pc_cmdq *pc_cmdq_new(unsigned capacity, size_t elem_size)
{
	if (capacity == 0 || elem_size == 0 || elem_size > PC_CMDQ_ELEM_MAX ||
	    capacity > SIZE_MAX / elem_size) {
		log_warnx("cmdq: bad size (%u messages of %zu bytes)", capacity, elem_size);
		return NULL;
	}
	struct pc_cmdq *q = calloc(1, sizeof(*q));
	if (q == NULL) {
		log_err("cmdq: out of memory");
		return NULL;
	}
	q->cap = capacity;
	q->elem = elem_size;
	q->slots = calloc(capacity, elem_size);
	q->taken = calloc(1, elem_size);
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->slots == NULL || q->taken == NULL || q->efd < 0 ||
	    pthread_mutex_init(&q->mu, NULL) != 0) {
		log_err("cmdq: cannot make a queue of %u messages", capacity);
		if (q->efd >= 0)
			close(q->efd);
		free(q->slots);
		free(q->taken);
		free(q);
		return NULL;
	}
	return q;
}

void pc_cmdq_free(struct pc_cmdq *q)
{
	if (q == NULL)
		return;
	explicit_bzero(q->slots, (size_t)q->cap * q->elem);
	explicit_bzero(q->taken, q->elem);
	free(q->slots);
	free(q->taken);
	close(q->efd);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

int pc_cmdq_fd(const struct pc_cmdq *q) { return q->efd; }

static void wake(struct pc_cmdq *q)
{
	uint64_t one = 1;
	/* EAGAIN only when the counter is at its maximum: the receiver is
	 * already due to wake. */
	if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("cmdq: cannot wake the receiver");
}

int pc_cmdq_push(struct pc_cmdq *q, const void *msg)
{
	pthread_mutex_lock(&q->mu);
	if (q->len == q->cap) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	unsigned at = (q->head + q->len) % q->cap;
	memcpy(q->slots + (size_t)at * q->elem, msg, q->elem);
	bool was_empty = q->len++ == 0;
	pthread_mutex_unlock(&q->mu);
	if (was_empty)
		wake(q);
	return 0;
}

/* Takes the oldest message into q->taken; false when none waits. */
static bool take(struct pc_cmdq *q)
{
	pthread_mutex_lock(&q->mu);
	if (q->len == 0) {
		pthread_mutex_unlock(&q->mu);
		return false;
	}
	unsigned char *slot = q->slots + (size_t)q->head * q->elem;
	memcpy(q->taken, slot, q->elem);
	explicit_bzero(slot, q->elem);
	q->head = (q->head + 1) % q->cap;
	q->len--;
	pthread_mutex_unlock(&q->mu);
	return true;
}

unsigned pc_cmdq_drain(struct pc_cmdq *q, void (*fn)(void *msg, void *arg), void *arg)
{
	uint64_t v;
	if (read(q->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("cmdq: cannot clear the wake-up");
	/* At most one ring's worth per turn, so a sender that never stops
	 * cannot hold the receiver's loop; what is left wakes it again. */
	unsigned n = 0;
	while (n < q->cap && take(q)) {
		fn(q->taken, arg);
		explicit_bzero(q->taken, q->elem);
		n++;
	}
	if (n == q->cap && pc_cmdq_len(q) > 0)
		wake(q);
	return n;
}

unsigned pc_cmdq_len(struct pc_cmdq *q)
{
	pthread_mutex_lock(&q->mu);
	unsigned n = q->len;
	pthread_mutex_unlock(&q->mu);
	return n;
}
