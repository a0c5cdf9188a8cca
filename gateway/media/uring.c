/* The relay's io_uring backend, for an engine on a media worker's thread
 * (media.io). With epoll every packet costs a wake-up's share plus one
 * recvmmsg on its socket and one sendmmsg on the other: at 50 packets/s a
 * socket holds one datagram per wake-up, so batching per socket saves
 * nothing. Here every relay socket carries one multishot recvmsg drawing
 * from a ring of buffers the engine provides; a datagram that crosses goes
 * out of its own buffer with a sendmsg, and the buffer returns to the ring
 * when the send completes. One io_uring_enter per turn submits every send
 * and reaps every datagram of every socket, so the system calls are per
 * turn, not per packet. The checks are relay.c's, unchanged.
 *
 * The ring is made disabled, limited to what the relay needs (recvmsg,
 * sendmsg and poll operations, buffer selection, synchronous cancel) and
 * only then enabled: io_uring's operations do not pass through the
 * process's seccomp filter, so the ring itself must not be able to do more
 * than the filter allows (no open, connect, accept or any other operation).
 * The filter then refuses io_uring_setup, so no other ring can be made
 * after the sandbox. A completion names its socket by slot and generation,
 * never by pointer: a completion that was posted for a socket since
 * disarmed finds its generation moved on and only returns its buffer. */
#include "media_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liburing.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"

/* Buffers the kernel may fill: datagrams received and not yet sent on. A
 * turn returns those it dropped at once and those it sent by the next
 * turn, so this is two turns' worth of packets with room to spare; when it
 * runs out a socket's receive ends with ENOBUFS and is armed again, and
 * the datagrams wait in the socket. */
#define U_BUFS 512
#define U_NAME_LEN ((unsigned)sizeof(struct sockaddr_storage))
#define U_HDR (sizeof(struct io_uring_recvmsg_out) + U_NAME_LEN)
/* What the kernel may write: header, source address and the largest
 * datagram accepted; the stride adds room to protect it in place. */
#define U_FILL_LEN (U_HDR + MEDIA_PKT_IN_MAX)
#define U_STRIDE ((U_HDR + MEDIA_PKT_BUF + 63) & ~(size_t)63)
#define U_SQ 1024
#define U_CQ 8192
/* Batching by time: while packets flow a turn waits for this many
 * completions, or this long (the most a packet is held up), whichever
 * comes first. At 50 packets/s a call, 1 ms holds 32 packets at 320
 * calls a worker: the busier the worker, the more each system call and
 * wake-up carries. */
#define U_BATCH 32
#define U_BATCH_US 1000
/* Completions taken per turn before the worker's other events. */
#define U_CQE_PER_TURN 4096

#define UD_SEND (1ull << 63)
#define UD_WAKE (1ull << 62)
#define UD_GEN_MASK 0x3fffffffu

struct u_slot {
	struct msock *ms; /* NULL: free */
	uint32_t gen;
	uint32_t next_free;
	/* A receive that ended on an error is armed again at the next pass
	 * of the worker's loop, not at once: an error that repeats must not
	 * make the worker spin. */
	uint32_t retry_next;
	bool on_retry;  /* in the retry list */
	bool needs_arm; /* and still wants it (cleared at disarm) */
};

struct u_send {
	struct msghdr msg;
	struct iovec iov;
	struct sockaddr_storage to;
};

struct media_uring {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	uint8_t *bufs;
	unsigned returned;        /* buffers given back this turn, not yet published */
	struct msghdr tmpl;       /* what the multishot receives fill: a source address */
	struct u_send send[U_BUFS];
	struct u_slot *slots;
	uint32_t nslots, cap, free_head;
	uint32_t retry_head;
	bool retry_logged;
	int wake_fd;
	bool made; /* the ring exists */
	bool broken; /* its wait failed once (logged once) */
	bool flowing; /* the last turn relayed packets: batch the next wait */
	uint64_t last_pass_us; /* when the worker's libevent base last had a pass */
};

static struct io_uring_sqe *sqe_get(struct media_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (sqe == NULL) {
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void buf_return(struct media_uring *u, unsigned bid)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * U_STRIDE, U_FILL_LEN, (unsigned short)bid,
			      io_uring_buf_ring_mask(U_BUFS), (int)u->returned++);
}

static void buf_publish(struct media_uring *u)
{
	if (u->returned) {
		io_uring_buf_ring_advance(u->br, (int)u->returned);
		u->returned = 0;
	}
}

static int arm_recv(struct media_uring *u, uint32_t slot)
{
	struct io_uring_sqe *sqe = sqe_get(u);
	if (sqe == NULL)
		return -1;
	io_uring_prep_recvmsg_multishot(sqe, u->slots[slot].ms->fd, &u->tmpl, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 0;
	io_uring_sqe_set_data64(sqe, (uint64_t)u->slots[slot].gen << 32 | slot);
	return 0;
}

static int arm_wake(struct media_uring *u)
{
	struct io_uring_sqe *sqe = sqe_get(u);
	if (sqe == NULL)
		return -1;
	io_uring_prep_poll_multishot(sqe, u->wake_fd, POLLIN);
	io_uring_sqe_set_data64(sqe, UD_WAKE);
	return 0;
}

/* The ring, its buffers and its limits. */
static int ring_open(struct media_uring *u, char *why, size_t why_len)
{
	struct io_uring_params p = {
		/* DEFER_TASKRUN: completions are made when the thread asks for
		 * them, in one batch, not by interrupting it per packet. It and
		 * SINGLE_ISSUER need Linux 6.1, which also has everything else
		 * used here (multishot recvmsg, buffer rings, sync cancel). */
		.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			 IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED,
		.cq_entries = U_CQ,
	};
	int rc = io_uring_queue_init_params(U_SQ, &u->ring, &p);
	if (rc < 0) {
		snprintf(why, why_len, "io_uring_setup: %s%s", strerror(-rc),
			 rc == -EPERM ? " (kernel.io_uring_disabled, or a container's seccomp policy)"
			 : rc == -EINVAL ? " (Linux 6.1 or later is needed)" : "");
		return -1;
	}
	u->made = true; /* io_uring_queue_exit from here on */
	if (posix_memalign((void **)&u->br, 4096, U_BUFS * sizeof(struct io_uring_buf)) != 0 ||
	    posix_memalign((void **)&u->bufs, 64, (size_t)U_BUFS * U_STRIDE) != 0) {
		snprintf(why, why_len, "out of memory for its buffers");
		return -1;
	}
	io_uring_buf_ring_init(u->br);
	struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)u->br, .ring_entries = U_BUFS,
					.bgid = 0 };
	if ((rc = io_uring_register_buf_ring(&u->ring, &reg, 0)) < 0) {
		snprintf(why, why_len, "buffer ring: %s", strerror(-rc));
		return -1;
	}
	for (unsigned b = 0; b < U_BUFS; b++)
		buf_return(u, b);
	buf_publish(u);
	struct io_uring_restriction limits[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_RECVMSG },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_SENDMSG },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_POLL_ADD },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_BUFFER_SELECT },
		{ .opcode = IORING_RESTRICTION_REGISTER_OP, .register_op = IORING_REGISTER_SYNC_CANCEL },
	};
	/* Through the generic call: Debian's liburing 2.3 declares the two
	 * helpers but its library does not export them. */
	if ((rc = io_uring_register((unsigned)u->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, limits,
				    sizeof(limits) / sizeof(limits[0]))) < 0 ||
	    (rc = io_uring_register((unsigned)u->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0)) < 0) {
		snprintf(why, why_len, "cannot limit the ring: %s", strerror(-rc));
		return -1;
	}
	u->tmpl.msg_namelen = U_NAME_LEN;
	return 0;
}

static void ring_free(struct media_uring *u)
{
	if (u->made)
		io_uring_queue_exit(&u->ring);
	if (u->bufs) {
		explicit_bzero(u->bufs, (size_t)U_BUFS * U_STRIDE); /* media in clear */
		free(u->bufs);
	}
	free(u->br);
	free(u->slots);
	free(u);
}

int uring_open(struct media_engine *e, int wake_fd, char *why, size_t why_len)
{
	struct media_uring *u = calloc(1, sizeof(*u));
	if (u == NULL) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	u->wake_fd = wake_fd;
	u->free_head = UINT32_MAX;
	u->retry_head = UINT32_MAX;
	if (ring_open(u, why, why_len) < 0 || arm_wake(u) < 0) {
		if (why[0] == '\0')
			snprintf(why, why_len, "no room to arm its wake-up");
		ring_free(u);
		return -1;
	}
	(void)io_uring_submit(&u->ring);
	e->uring = u;
	return 0;
}

void uring_close(struct media_engine *e)
{
	if (e->uring == NULL)
		return;
	ring_free(e->uring);
	e->uring = NULL;
}

int uring_ring_fd(const struct media_engine *e) { return e->uring ? e->uring->ring.ring_fd : -1; }

int uring_arm(struct media_engine *e, struct msock *ms)
{
	struct media_uring *u = e->uring;
	uint32_t slot = u->free_head;
	if (slot == UINT32_MAX) {
		if (u->nslots == u->cap) {
			uint32_t cap = u->cap ? u->cap * 2 : 256;
			struct u_slot *s = cap > u->cap ? realloc(u->slots, cap * sizeof(*s)) : NULL;
			if (s == NULL) {
				log_warnx("media: out of memory for io_uring slots");
				return -1;
			}
			u->slots = s;
			u->cap = cap;
		}
		slot = u->nslots++;
		u->slots[slot].gen = 0;
	} else {
		u->free_head = u->slots[slot].next_free;
	}
	u->slots[slot].ms = ms;
	if (arm_recv(u, slot) < 0) {
		u->slots[slot].ms = NULL;
		u->slots[slot].next_free = u->free_head;
		u->free_head = slot;
		log_warnx("media: no room on the io_uring to arm a socket");
		return -1;
	}
	ms->slot = slot;
	ms->armed = true;
	return 0;
}

void uring_disarm(struct media_engine *e, struct msock *ms)
{
	struct media_uring *u = e->uring;
	if (!ms->armed || u == NULL)
		return;
	/* An arm still in the submission queue would be missed by the cancel
	 * and would keep the socket (and its port) alive in the ring after
	 * the descriptor is closed. */
	(void)io_uring_submit(&u->ring);
	struct io_uring_sync_cancel_reg reg = {
		.fd = ms->fd,
		.flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL,
		.timeout = { .tv_sec = -1, .tv_nsec = -1 },
	};
	int rc = io_uring_register_sync_cancel(&u->ring, &reg);
	if (rc < 0 && rc != -ENOENT)
		log_warnx("media: cannot cancel a relay socket's receive: %s", strerror(-rc));
	/* Under DEFER_TASKRUN the cancelled receive lets go of the socket
	 * only when the ring's deferred work runs: now, so that the socket
	 * (and its port) is gone when the descriptor is closed. */
	(void)io_uring_get_events(&u->ring);
	struct u_slot *s = &u->slots[ms->slot];
	s->ms = NULL;
	s->needs_arm = false;
	s->gen = (s->gen + 1) & UD_GEN_MASK;
	s->next_free = u->free_head;
	u->free_head = ms->slot;
	ms->armed = false;
}

static void retry_later(struct media_uring *u, uint32_t slot)
{
	struct u_slot *s = &u->slots[slot];
	s->needs_arm = true;
	if (s->on_retry)
		return;
	s->on_retry = true;
	s->retry_next = u->retry_head;
	u->retry_head = slot;
}

/* At a pass: the receives that ended on an error, armed again. */
static void retry_run(struct media_uring *u)
{
	uint32_t i = u->retry_head;
	u->retry_head = UINT32_MAX;
	while (i != UINT32_MAX) {
		struct u_slot *s = &u->slots[i];
		uint32_t next = s->retry_next;
		s->on_retry = false;
		if (s->ms && s->needs_arm) {
			s->needs_arm = false;
			if (arm_recv(u, i) < 0)
				retry_later(u, i);
		}
		i = next;
	}
}

static void send_out(struct media_uring *u, unsigned bid, uint8_t *pkt, const struct relay_out *o)
{
	struct u_send *sd = &u->send[bid];
	socklen_t len = sa_len(o->dst);
	memcpy(&sd->to, o->dst, len);
	sd->iov.iov_base = pkt;
	sd->iov.iov_len = o->len;
	sd->msg = (struct msghdr){ .msg_name = &sd->to, .msg_namelen = len, .msg_iov = &sd->iov,
				   .msg_iovlen = 1 };
	struct io_uring_sqe *sqe = sqe_get(u);
	if (sqe == NULL) {
		counter_inc(CNT_MEDIA_SEND_FAILED);
		buf_return(u, bid);
		return;
	}
	/* MSG_DONTWAIT: a full socket buffer fails the send, as sendmmsg
	 * would, rather than parking it in the kernel. */
	io_uring_prep_sendmsg(sqe, o->fd, &sd->msg, MSG_DONTWAIT);
	io_uring_sqe_set_data64(sqe, UD_SEND | bid);
	/* Counted when queued rather than when done (the stream may be gone
	 * by then): a send that fails, which MSG_DONTWAIT makes rare, is
	 * counted here and again, globally, as media_send_failed. */
	if (o->kind == K_RTCP) {
		ST_ADD(o->to->st.rtcp_out, 1);
	} else {
		ST_ADD(o->to->st.rtp_out, 1);
		ST_ADD(o->to->st.rtp_out_bytes, o->len);
	}
}

static void on_recv(struct media_uring *u, const struct io_uring_cqe *cqe, uint64_t now)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	uint32_t slot = (uint32_t)ud, gen = (uint32_t)(ud >> 32) & UD_GEN_MASK;
	struct msock *ms = slot < u->nslots && u->slots[slot].gen == gen ? u->slots[slot].ms : NULL;
	bool has_buf = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	/* A receive that ended is armed again while its socket is: at once
	 * when it ended on a datagram or on a momentary lack of buffers (the
	 * datagrams wait in the socket meanwhile); after an error, at the
	 * next pass of the worker's loop. */
	if (ms && !(cqe->flags & IORING_CQE_F_MORE) && cqe->res != -ECANCELED) {
		if (cqe->res >= 0 || cqe->res == -ENOBUFS) {
			if (arm_recv(u, slot) < 0)
				retry_later(u, slot);
		} else {
			if (!u->retry_logged)
				log_warnx("media: a relay socket's receive failed (%s); it is armed again "
					  "at the next pass", strerror(-cqe->res));
			u->retry_logged = true;
			retry_later(u, slot);
		}
	}
	if (!has_buf)
		return;
	if (ms == NULL || cqe->res <= 0) {
		buf_return(u, bid);
		return;
	}
	uint8_t *b = u->bufs + (size_t)bid * U_STRIDE;
	struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(b, cqe->res, &u->tmpl);
	if (o == NULL || o->namelen > U_NAME_LEN) {
		counter_inc(CNT_MEDIA_MALFORMED);
		buf_return(u, bid);
		return;
	}
	struct sockaddr_storage from;
	memcpy(&from, io_uring_recvmsg_name(o), o->namelen);
	if (o->namelen < sizeof(sa_family_t))
		from.ss_family = AF_UNSPEC;
	uint8_t *pkt = io_uring_recvmsg_payload(o, &u->tmpl);
	size_t len = io_uring_recvmsg_payload_length(o, cqe->res, &u->tmpl);
	struct relay_out out;
	if (relay_packet(ms->side, ms->kind, pkt, len, (o->flags & MSG_TRUNC) != 0, &from, now, &out))
		send_out(u, bid, pkt, &out);
	else
		buf_return(u, bid);
}

static uint64_t real_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

bool uring_turn(struct media_engine *e, unsigned wait_ms)
{
	struct media_uring *u = e->uring;
	uint64_t start = real_us(), tick_us = (uint64_t)wait_ms * 1000;
	uint64_t pass_due = u->last_pass_us + tick_us;
	uint64_t left = pass_due > start ? pass_due - start : 0;
	/* Batching by time: while media flows, a turn waits for U_BATCH
	 * completions or U_BATCH_US, whichever comes first, so one wake-up
	 * and one system call serve many packets; idle, it waits for the
	 * first completion up to the libevent pass that is due. */
	unsigned want = u->flowing ? U_BATCH : 1;
	if (u->flowing && left > U_BATCH_US)
		left = U_BATCH_US;
	struct __kernel_timespec ts = { .tv_sec = (long long)(left / 1000000),
					.tv_nsec = (long long)(left % 1000000) * 1000 };
	struct io_uring_cqe *cqe;
	/* With completions already waiting, liburing's wait would return
	 * them without running the ring's deferred work, which holds every
	 * other socket's datagrams: a peer whose zero-length datagrams end
	 * its receive each time would keep them waiting. So run it. */
	int rc = io_uring_cq_ready(&u->ring) ? io_uring_submit_and_get_events(&u->ring)
					     : io_uring_submit_and_wait_timeout(&u->ring, &cqe, want, &ts, NULL);
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
		/* Never seen; if the ring broke, the worker must not spin. */
		if (!u->broken)
			log_warnx("media: the io_uring wait failed: %s", strerror(-rc));
		u->broken = true;
		struct timespec pause = { .tv_nsec = 1000000 };
		nanosleep(&pause, NULL);
	}
	bool woke = false;
	/* One clock read per turn: what it reaped arrived together. */
	e->now_us = pc_clock_us();
	uint64_t now = e->now_us / 1000;
	unsigned head, seen = 0, packets = 0;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		if (ud & UD_SEND) {
			if (cqe->res < 0)
				counter_inc(CNT_MEDIA_SEND_FAILED);
			buf_return(u, (unsigned)(ud & 0xffff));
		} else if (ud & UD_WAKE) {
			woke = true;
			if (!(cqe->flags & IORING_CQE_F_MORE) && arm_wake(u) < 0)
				log_warnx("media: no room on the io_uring to re-arm the wake-up");
		} else {
			on_recv(u, cqe, now);
			packets++;
		}
		if (++seen == U_CQE_PER_TURN)
			break;
	}
	io_uring_cq_advance(&u->ring, seen);
	buf_publish(u);
	u->flowing = packets > 0;
	uint64_t end = real_us();
	if (!woke && seen < U_CQE_PER_TURN && end < pass_due)
		return false; /* what was queued goes with the next wait */
	/* The worker's commands and timers run next. Everything queued goes
	 * first: a command may detach a stream, whose descriptors are then
	 * closed on another thread. */
	retry_run(u);
	(void)io_uring_submit(&u->ring);
	u->last_pass_us = end;
	return true;
}
