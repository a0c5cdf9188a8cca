/* The relay's io_uring backend (gateway/media/uring.c, media.io): through
 * a pool whose one worker must use io_uring, a plain stream relays both
 * ways, zero-length and oversized datagrams stop nothing, a stranger's
 * packets to its port are refused by the same checks as with epoll and
 * counted, and a freed stream lets go of its sockets at
 * once (its ports can be bound again: the ring holds no reference to
 * them); the ring is limited before it is enabled, so a register operation
 * it does not need is refused. Skipped where the kernel refuses io_uring
 * (the gateway then relays with epoll, media.io = "auto"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <liburing.h>

#include "core/counters.h"
#include "media/media_int.h"
#include "media/pool.h"
#include "media/stream_cmd.h"
#include "media/worker.h"

#include "loopback.h"

static bool kernel_has_uring(void)
{
	struct io_uring ring;
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN };
	if (io_uring_queue_init_params(8, &ring, &p) < 0)
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

static void pool_remote(struct media_pool *p, struct media_stream *s, enum media_side side,
			unsigned port)
{
	struct media_stream_cmd c = { .op = MEDIA_OP_SET_REMOTE, .s = s, .side = side };
	c.u.remote.rtp_addr = loopback4(port);
	assert_int_equal(media_pool_stream_cmd(p, &c), 0);
}

static void rtp_send(int fd, unsigned to_port, uint16_t seq)
{
	uint8_t b[172] = { 0x80, 0x00, (uint8_t)(seq >> 8), (uint8_t)seq };
	b[11] = 0x42;
	struct sockaddr_storage to = loopback4(to_port);
	assert_int_equal(sendto(fd, b, sizeof(b), 0, (struct sockaddr *)&to, sizeof(struct sockaddr_in)),
			 (ssize_t)sizeof(b));
}

static int rtp_recv(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t b[2048];
	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	return (int)recv(fd, b, sizeof(b), 0);
}

static bool port_free(unsigned port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_storage a = loopback4(port);
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof(struct sockaddr_in)) == 0;
	close(fd);
	return ok;
}

static void test_relay_checks_and_release(void **state)
{
	(void)state;
	if (!kernel_has_uring())
		skip();
	struct event_base *base = event_base_new();
	struct media_pool *p = media_pool_new(base, 1);
	assert_non_null(p);
	struct media_engine *e = media_pool_engine(p);
	int ra = media_engine_add_range(e, "127.0.0.1", 48000, 48009, 0);
	int rb = media_engine_add_range(e, "127.0.0.1", 49000, 49009, 0);
	assert_int_equal(media_pool_set_io(p, MEDIA_IO_URING), 0);
	assert_int_equal(media_pool_start(p), 0);
	assert_true(media_pool_uses_uring(p));

	int w = -1;
	struct media_stream *s = media_pool_stream_new(p, ra, rb, &w);
	assert_non_null(s);
	unsigned port_a = media_stream_port(s, MEDIA_SIDE_A), port_b = media_stream_port(s, MEDIA_SIDE_B);
	unsigned pa, pb, px;
	int fa = loopback_udp(&pa), fb = loopback_udp(&pb), stranger = loopback_udp(&px);
	pool_remote(p, s, MEDIA_SIDE_A, pa);
	pool_remote(p, s, MEDIA_SIDE_B, pb);
	struct media_stream_cmd c = { .op = MEDIA_OP_ANSWERED, .s = s };
	assert_int_equal(media_pool_stream_cmd(p, &c), 0);
	for (uint16_t seq = 1; seq <= 50; seq++) {
		rtp_send(fa, port_a, seq);
		assert_int_equal(rtp_recv(fb, 2000), 172);
		rtp_send(fb, port_b, seq);
		assert_int_equal(rtp_recv(fa, 2000), 172);
	}
	/* Zero-length and oversized datagrams (the first ends a multishot
	 * receive) cross nothing and stop nothing: the socket is armed again
	 * and the next packets go on. */
	struct sockaddr_storage to_a = loopback4(port_a);
	static uint8_t big[4000] = { 0x80 };
	for (int i = 0; i < 20; i++) {
		assert_int_equal(sendto(fa, big, 0, 0, (struct sockaddr *)&to_a, sizeof(struct sockaddr_in)), 0);
		assert_int_equal(sendto(fa, big, sizeof(big), 0, (struct sockaddr *)&to_a, sizeof(struct sockaddr_in)),
				 (ssize_t)sizeof(big));
	}
	for (uint16_t seq = 51; seq <= 60; seq++) {
		rtp_send(fa, port_a, seq);
		assert_int_equal(rtp_recv(fb, 2000), 172);
	}
	/* A stranger who found side A's port gets nothing across. */
	for (uint16_t seq = 100; seq < 110; seq++)
		rtp_send(stranger, port_a, seq);
	assert_int_equal(rtp_recv(fb, 300), -1);
	struct media_side_stats st;
	for (int i = 0; i < 200; i++) {
		media_stream_stats(s, MEDIA_SIDE_A, &st);
		if (st.source_refused == 10)
			break;
		usleep(1000);
	}
	assert_int_equal(st.rtp_in, 60);
	assert_int_equal(st.source_refused, 10);
	media_stream_stats(s, MEDIA_SIDE_B, &st);
	assert_int_equal(st.rtp_out, 60);

	media_pool_stream_free(p, s);
	for (int k = 0; media_pool_stream_count(p) > 0 && k < 2000; k++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	assert_int_equal(media_pool_stream_count(p), 0);
	/* Closed for good: nothing in the ring keeps the sockets alive. */
	assert_true(port_free(port_a));
	assert_true(port_free(port_b));
	close(fa);
	close(fb);
	close(stranger);
	media_pool_free(p);
	event_base_free(base);
}

/* On a worker of its own: an engine with a ring, and what the ring allows. */
struct limits_state {
	atomic_int done;
	int forbidden_rc, allowed_rc;
};

static void limits_cmd(struct media_worker *w, void *msg, void *arg)
{
	(void)msg;
	struct limits_state *ls = arg;
	struct media_engine *e = media_engine_new(media_worker_base(w));
	char why[160] = "";
	assert_non_null(e);
	assert_int_equal(uring_open(e, media_worker_wake_fd(w), why, sizeof(why)), 0);
	int fd = uring_ring_fd(e);
	static unsigned char room[4096];
	ls->forbidden_rc = io_uring_register((unsigned)fd, IORING_REGISTER_PROBE, room, 64);
	struct io_uring_sync_cancel_reg reg = { .fd = 1 << 20, .flags = IORING_ASYNC_CANCEL_FD };
	ls->allowed_rc = io_uring_register((unsigned)fd, IORING_REGISTER_SYNC_CANCEL, &reg, 1);
	media_engine_free(e);
	atomic_store(&ls->done, 1);
}

static void test_ring_is_limited(void **state)
{
	(void)state;
	if (!kernel_has_uring())
		skip();
	struct limits_state ls = { 0 };
	struct media_worker *w = media_worker_start(0, 8, 4, limits_cmd, &ls);
	assert_non_null(w);
	assert_int_equal(media_worker_send(w, &(uint64_t){ 0 }), 0);
	for (int i = 0; !atomic_load(&ls.done) && i < 2000; i++)
		usleep(1000);
	media_worker_stop(w);
	assert_int_equal(ls.forbidden_rc, -EACCES);
	assert_int_not_equal(ls.allowed_rc, -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_checks_and_release),
		cmocka_unit_test(test_ring_is_limited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
