/* media_floor: the floor of the media benchmark, what forwarding the same
 * G.711 load costs with nothing but the system calls a relay cannot avoid.
 * It binds the same sockets the relay would (one inside and one outside
 * port a call, from the same ranges), waits on them with one level-triggered
 * epoll set, reads each readable socket with recvmmsg (up to 32 datagrams a
 * call, source addresses included, as the relay needs them) and sends what
 * it read with one sendmmsg from the call's other socket to the load
 * generator's fixed address for that direction. No crypto, no source or
 * sequence checks, no statistics but two totals: the difference between its
 * CPU per packet and the relay's is what the relay's work costs.
 *
 * It writes the same table as media_relay with the suite NULL (media_load
 * then sends and expects plain RTP both ways), prints "ready" and forwards
 * until SIGTERM/SIGINT, then prints its totals as key=value.
 *
 *   media_floor --calls N --gen-plain PORT --gen-srtp PORT --table FILE
 *               [--inside MIN-MAX] [--outside MIN-MAX] */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef FLOOR_URING
#include <liburing.h>
#endif

#define BATCH 32
#define ROUNDS 4 /* recvmmsg calls per ready socket per wake-up, as the relay */
#define PKT_BUF 1600
#define EVENTS 256
#define MAX_CALLS 20000

struct fsock {
	int fd;
	int peer_fd;                /* the call's other socket: sends go out from it */
	struct sockaddr_in *to;     /* the generator's socket for this direction */
};

static volatile sig_atomic_t stopping;
static uint8_t buf[BATCH][PKT_BUF];
static struct sockaddr_in from[BATCH];
static struct iovec in_iov[BATCH], out_iov[BATCH];
static struct mmsghdr in[BATCH], out[BATCH];
static unsigned long long pkts_in, pkts_out, send_fail;

static void on_signal(int sig)
{
	stopping = 1;
}

static int bind_udp(unsigned port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "media_floor: bind %u: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Reads what one socket holds (at most ROUNDS batches) and sends each batch
 * on with one sendmmsg. */
static void forward(struct fsock *s)
{
	for (int r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < BATCH; i++)
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		int n = recvmmsg(s->fd, in, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		pkts_in += (unsigned)n;
		for (int i = 0; i < n; i++) {
			out_iov[i].iov_len = in[i].msg_len;
			out[i].msg_hdr.msg_name = s->to;
			out[i].msg_hdr.msg_namelen = sizeof(*s->to);
		}
		int done = 0;
		while (done < n) {
			int k = sendmmsg(s->peer_fd, &out[done], (unsigned)(n - done), MSG_DONTWAIT);
			if (k <= 0) {
				send_fail++;
				done++;
				continue;
			}
			done += k;
			pkts_out += (unsigned)k;
		}
		if (n < BATCH)
			return;
	}
}

#ifdef FLOOR_URING
/* --io uring: the same forwarding with io_uring instead of epoll and
 * recvmmsg/sendmmsg. Every socket carries one multishot recvmsg drawing
 * from a ring of provided buffers; a datagram's buffer goes straight out
 * with a sendmsg and returns to the ring when the send completes. One
 * io_uring_enter a wake-up submits every send queued and reaps every
 * receive completed, across all sockets: the system calls are per
 * wake-up, not per socket. */
#define U_BUFS 4096          /* provided buffers (a power of two) */
#define U_BUF_SIZE 2048
#define U_SEND_BIT (1ull << 63)

static struct io_uring ring;
static struct io_uring_buf_ring *bring;
static uint8_t *ubufs;
static struct msghdr recv_tmpl;
static struct msghdr send_msg[U_BUFS];
static struct iovec send_iov[U_BUFS];

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (sqe == NULL) {
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void arm_recv(struct fsock *socks, unsigned i)
{
	struct io_uring_sqe *sqe = get_sqe();
	io_uring_prep_recvmsg_multishot(sqe, socks[i].fd, &recv_tmpl, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 0;
	io_uring_sqe_set_data64(sqe, i);
}

static void give_back(unsigned bid)
{
	io_uring_buf_ring_add(bring, ubufs + (size_t)bid * U_BUF_SIZE, U_BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(U_BUFS), 0);
	io_uring_buf_ring_advance(bring, 1);
}

static int run_uring(struct fsock *socks, unsigned nsocks, bool nested)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
					      (getenv("COOP") ? IORING_SETUP_COOP_TASKRUN : IORING_SETUP_DEFER_TASKRUN),
				     .cq_entries = 65536 };
	int rc = io_uring_queue_init_params(4096, &ring, &p);
	if (rc < 0) {
		fprintf(stderr, "media_floor: io_uring_queue_init: %s\n", strerror(-rc));
		return 1;
	}
	if (posix_memalign((void **)&bring, 4096, U_BUFS * sizeof(struct io_uring_buf)) ||
	    posix_memalign((void **)&ubufs, 4096, (size_t)U_BUFS * U_BUF_SIZE))
		return 1;
	io_uring_buf_ring_init(bring);
	struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)bring, .ring_entries = U_BUFS, .bgid = 0 };
	if ((rc = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
		fprintf(stderr, "media_floor: register_buf_ring: %s\n", strerror(-rc));
		return 1;
	}
	for (unsigned b = 0; b < U_BUFS; b++)
		give_back(b);
	recv_tmpl.msg_namelen = sizeof(struct sockaddr_in);
	for (unsigned i = 0; i < nsocks; i++)
		arm_recv(socks, i);
	int ep = -1;
	if (nested) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		epoll_ctl(ep, EPOLL_CTL_ADD, ring.ring_fd, &ev);
		io_uring_submit(&ring);
	}
	while (!stopping) {
		if (nested) {
			struct epoll_event ev;
			epoll_wait(ep, &ev, 1, -1);
			rc = 0;
		} else
			rc = io_uring_submit_and_wait(&ring, 1);
		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "media_floor: io_uring_submit_and_wait: %s\n", strerror(-rc));
			return 1;
		}
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			seen++;
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			if (ud & U_SEND_BIT) {
				unsigned bid = (unsigned)(ud & ~U_SEND_BIT);
				if (cqe->res < 0)
					send_fail++;
				else
					pkts_out++;
				give_back(bid);
				continue;
			}
			struct fsock *s = &socks[ud];
			if (!(cqe->flags & IORING_CQE_F_MORE) && !stopping)
				arm_recv(socks, (unsigned)ud);
			if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_BUFFER))
				continue;
			unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
			uint8_t *b = ubufs + (size_t)bid * U_BUF_SIZE;
			struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(b, cqe->res, &recv_tmpl);
			if (o == NULL || (o->flags & MSG_TRUNC)) {
				give_back(bid);
				continue;
			}
			pkts_in++;
			send_iov[bid].iov_base = io_uring_recvmsg_payload(o, &recv_tmpl);
			send_iov[bid].iov_len = io_uring_recvmsg_payload_length(o, cqe->res, &recv_tmpl);
			send_msg[bid].msg_name = s->to;
			send_msg[bid].msg_namelen = sizeof(*s->to);
			send_msg[bid].msg_iov = &send_iov[bid];
			send_msg[bid].msg_iovlen = 1;
			struct io_uring_sqe *sqe = get_sqe();
			io_uring_prep_sendmsg(sqe, s->peer_fd, &send_msg[bid], 0);
			io_uring_sqe_set_data64(sqe, U_SEND_BIT | bid);
		}
		io_uring_cq_advance(&ring, seen);
		if (nested)
			io_uring_submit(&ring);
	}
	return 0;
}
#endif

static int range_arg(const char *s, unsigned *lo, unsigned *hi)
{
	return sscanf(s, "%u-%u", lo, hi) == 2 && *lo < *hi && *hi < 65536 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "calls", required_argument, NULL, 'n' }, { "gen-plain", required_argument, NULL, 'p' },
		{ "gen-srtp", required_argument, NULL, 'P' }, { "table", required_argument, NULL, 't' },
		{ "inside", required_argument, NULL, 'i' }, { "outside", required_argument, NULL, 'o' },
		{ "io", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned n = 0, gp = 0, gs = 0, ilo = 10000, ihi = 20999, olo = 21000, ohi = 31999;
	const char *table = NULL;
	bool use_uring = false, nested = false;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': n = (unsigned)atoi(optarg); break;
		case 'p': gp = (unsigned)atoi(optarg); break;
		case 'P': gs = (unsigned)atoi(optarg); break;
		case 't': table = optarg; break;
		case 'i': if (range_arg(optarg, &ilo, &ihi) < 0) return 2; break;
		case 'o': if (range_arg(optarg, &olo, &ohi) < 0) return 2; break;
		case 'I': use_uring = !strncmp(optarg, "uring", 5); nested = !strcmp(optarg, "uring-epoll"); break;
		default: return 2;
		}
	}
	/* Even ports, a pair's RTP port, as the relay takes them. */
	if (!n || n > MAX_CALLS || !gp || !gs || !table || 2 * n > ihi - ilo + 1 || 2 * n > ohi - olo + 1) {
		fprintf(stderr, "usage: media_floor --calls N --gen-plain P --gen-srtp P --table FILE\n");
		return 2;
	}
	struct sockaddr_in to_plain = { .sin_family = AF_INET, .sin_port = htons((uint16_t)gp) };
	struct sockaddr_in to_srtp = { .sin_family = AF_INET, .sin_port = htons((uint16_t)gs) };
	to_plain.sin_addr.s_addr = to_srtp.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (unsigned i = 0; i < BATCH; i++) {
		in_iov[i].iov_base = out_iov[i].iov_base = buf[i];
		in_iov[i].iov_len = PKT_BUF;
		in[i].msg_hdr.msg_name = &from[i];
		in[i].msg_hdr.msg_iov = &in_iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
		out[i].msg_hdr.msg_iov = &out_iov[i];
		out[i].msg_hdr.msg_iovlen = 1;
	}
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: epoll_wait returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct fsock *socks = calloc(2 * (size_t)n, sizeof(*socks));
	FILE *f = fopen(table, "w");
	if (ep < 0 || socks == NULL || f == NULL) {
		perror("media_floor");
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct fsock *a = &socks[2 * i], *b = &socks[2 * i + 1];
		unsigned pa = ilo + (ilo & 1) + 2 * i, pb = olo + (olo & 1) + 2 * i;
		a->fd = bind_udp(pa);
		b->fd = bind_udp(pb);
		/* Inside -> outside: out of the outside port to the generator's
		 * SRTP socket; and the reverse. */
		a->peer_fd = b->fd;
		a->to = &to_srtp;
		b->peer_fd = a->fd;
		b->to = &to_plain;
		for (int k = 0; k < 2 && !use_uring; k++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = k ? b : a };
			if (epoll_ctl(ep, EPOLL_CTL_ADD, k ? b->fd : a->fd, &ev) < 0) {
				perror("media_floor: epoll_ctl");
				return 1;
			}
		}
		fprintf(f, "%u %u NULL - -\n", pa, pb);
	}
	fclose(f);
	printf("ready streams=%u\n", n);
	fflush(stdout);
	static struct epoll_event ready[EVENTS];
#ifdef FLOOR_URING
	if (use_uring && run_uring(socks, 2 * n, nested) != 0)
		return 1;
#else
	if (use_uring) {
		fprintf(stderr, "media_floor: built without liburing\n");
		return 2;
	}
#endif
	while (!stopping && !use_uring) {
		int k = epoll_wait(ep, ready, EVENTS, -1);
		if (k < 0 && errno != EINTR) {
			perror("media_floor: epoll_wait");
			return 1;
		}
		for (int i = 0; i < k; i++)
			forward(ready[i].data.ptr);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("floor_in=%llu floor_out=%llu send_failures=%llu relay_total_cpu_s=%.3f\n", pkts_in, pkts_out,
	       send_fail,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	fflush(stdout);
	return 0;
}
