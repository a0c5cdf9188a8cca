/* Media worker threads (gateway/media/worker.c, issue 12): commands run on
 * the worker's own thread, in the order sent, each worker apart; a worker
 * whose queue is full refuses a command instead of blocking the signalling
 * thread or growing; a stop carries out every command sent before it and
 * joins the thread; counters bumped on the workers are all counted; a relay
 * engine made and freed on a worker, its stream set by stream commands
 * (stream_cmd.c), relays both ways while the main thread reads the
 * stream's figures; streams whose ports the main thread took are attached
 * to the engines of two workers, relay there, and once detached relay
 * nothing more and give their ports back; the pool (pool.c) keeps a
 * call's streams on the worker its first stream went to, spreads calls
 * over the workers, and with one worker applies everything at once on the
 * signalling loop; on a worker, keys are checked and quality read on the
 * signalling thread without touching what the worker writes. Run
 * under ASan (tests/run) it also shows a stop leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/counters.h"
#include "media/media.h"
#include "media/pool.h"
#include "media/stream_cmd.h"
#include "media/worker.h"

#include "loopback.h"

struct cmd {
	uint32_t seq;
	bool hold; /* wait until released: fills the queue behind it */
};

struct tally {
	pthread_t main_thread;
	atomic_bool release;
	uint32_t n, next, bad, on_main;
};

static void run_cmd(struct media_worker *w, void *msg, void *arg)
{
	(void)w;
	struct tally *t = arg;
	const struct cmd *c = msg;
	if (pthread_equal(pthread_self(), t->main_thread))
		t->on_main++;
	if (c->seq != t->next)
		t->bad++;
	t->next = c->seq + 1;
	t->n++;
	counter_inc(CNT_MEDIA_MALFORMED);
	while (c->hold && !atomic_load(&t->release))
		sched_yield();
}

static void test_order_and_threads(void **state)
{
	(void)state;
	counters_reset();
	struct tally t[2] = { { .main_thread = pthread_self() }, { .main_thread = pthread_self() } };
	struct media_worker *w[2];
	for (unsigned i = 0; i < 2; i++) {
		w[i] = media_worker_start(i, sizeof(struct cmd), 16, run_cmd, &t[i]);
		assert_non_null(w[i]);
		assert_int_equal(media_worker_index(w[i]), i);
	}
	for (uint32_t k = 0; k < 5000;) {
		struct cmd c = { .seq = k };
		int a = media_worker_send(w[0], &c);
		int b = media_worker_send(w[1], &c);
		if (a == 0 && b == 0) {
			k++;
			continue;
		}
		/* A full queue: take back what went through and retry the rest. */
		if (a == 0 || b == 0) {
			struct media_worker *lag = a == 0 ? w[1] : w[0];
			while (media_worker_send(lag, &c) < 0)
				sched_yield();
			k++;
		}
		sched_yield();
	}
	for (unsigned i = 0; i < 2; i++) {
		media_worker_stop(w[i]); /* everything sent before is carried out */
		assert_int_equal(t[i].n, 5000);
		assert_int_equal(t[i].bad, 0);
		assert_int_equal(t[i].on_main, 0);
	}
	assert_int_equal(counter_get(CNT_MEDIA_MALFORMED), 10000);
}

static void test_full_queue_refuses(void **state)
{
	(void)state;
	struct tally t = { .main_thread = pthread_self() };
	struct media_worker *w = media_worker_start(0, sizeof(struct cmd), 4, run_cmd, &t);
	assert_non_null(w);
	struct cmd hold = { .seq = 0, .hold = true };
	assert_int_equal(media_worker_send(w, &hold), 0);
	/* The worker may or may not have taken the first one yet: at most
	 * depth + 1 go in, then a refusal, never a block. */
	unsigned sent = 1;
	int refused = 0;
	for (uint32_t k = 1; k < 10; k++) {
		struct cmd c = { .seq = k };
		if (media_worker_send(w, &c) == 0)
			sent++;
		else {
			refused = 1;
			break;
		}
	}
	assert_true(refused);
	assert_in_range(sent, 4, 5);
	atomic_store(&t.release, true);
	media_worker_stop(w);
	assert_int_equal(t.n, sent);
	assert_int_equal(t.bad, 0);
}

static void test_bad_args(void **state)
{
	(void)state;
	assert_null(media_worker_start(0, 0, 4, run_cmd, NULL));
	assert_null(media_worker_start(0, 8, 4, NULL, NULL));
	assert_int_equal(media_worker_send(NULL, &(struct cmd){ 0 }), -1);
	media_worker_stop(NULL);
}

/* --- a relay engine living on a worker ------------------------------------ */

/* The engine, its ranges and its stream are made, set and freed by
 * commands on the worker's thread, as media.workers will do; the main
 * thread only sends packets and reads the stream's published figures
 * (media_stream_stats) while the worker relays. Under TSan (see the
 * report of issue 12) this shows the figures need no lock. */
enum relay_op { RELAY_SETUP, RELAY_BARE, RELAY_STREAM, RELAY_TEARDOWN };

struct relay_cmd {
	enum relay_op op;
	struct media_stream_cmd sc; /* RELAY_STREAM */
};

struct relay_state {
	struct media_engine *e;
	struct media_stream *s;
	_Atomic(struct media_stream *) published;
	atomic_uint relay_a, relay_b;
	atomic_uint failed; /* stream commands that returned -1 */
	atomic_uint detached;
	_Atomic(struct media_engine *) bare; /* RELAY_BARE: an engine without ranges */
};

static void relay_cmd(struct media_worker *w, void *msg, void *arg)
{
	struct relay_state *r = arg;
	const struct relay_cmd *c = msg;
	if (c->op == RELAY_STREAM) {
		if (media_stream_cmd_apply(&c->sc) < 0)
			atomic_fetch_add(&r->failed, 1);
		if (c->sc.op == MEDIA_OP_DETACH)
			atomic_fetch_add(&r->detached, 1);
		return;
	}
	if (c->op == RELAY_BARE) {
		r->e = media_engine_new(media_worker_base(w));
		atomic_store(&r->bare, r->e);
		return;
	}
	if (c->op == RELAY_TEARDOWN) {
		atomic_store(&r->published, NULL);
		media_engine_free(r->e); /* frees its streams */
		r->e = NULL;
		return;
	}
	r->e = media_engine_new(media_worker_base(w));
	int ra = media_engine_add_range(r->e, "127.0.0.1", 42000, 42099, 0);
	int rb = media_engine_add_range(r->e, "127.0.0.1", 43000, 43099, 0);
	r->s = media_stream_new(r->e, ra, rb);
	if (r->s == NULL)
		return;
	atomic_store(&r->relay_a, media_stream_port(r->s, MEDIA_SIDE_A));
	atomic_store(&r->relay_b, media_stream_port(r->s, MEDIA_SIDE_B));
	atomic_store(&r->published, r->s);
}

static void rtp_send(int fd, unsigned to_port, uint16_t seq)
{
	uint8_t b[172] = { 0x80, 0x00, (uint8_t)(seq >> 8), (uint8_t)seq };
	b[11] = 0x42; /* SSRC */
	struct sockaddr_storage to = loopback4(to_port);
	assert_int_equal(sendto(fd, b, sizeof(b), 0, (struct sockaddr *)&to, sizeof(struct sockaddr_in)),
			 (ssize_t)sizeof(b));
}

static bool rtp_recv(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t b[2048];
	return poll(&p, 1, 2000) == 1 && recv(fd, b, sizeof(b), 0) == 172;
}

static void test_engine_on_worker(void **state)
{
	(void)state;
	struct relay_state r = { 0 };
	struct media_worker *w = media_worker_start(0, sizeof(struct relay_cmd), 8, relay_cmd, &r);
	assert_non_null(w);
	unsigned pa, pb;
	int fa = loopback_udp(&pa), fb = loopback_udp(&pb);
	assert_int_equal(media_worker_send(w, &(struct relay_cmd){ .op = RELAY_SETUP }), 0);
	struct media_stream *s;
	for (int i = 0; (s = atomic_load(&r.published)) == NULL && i < 2000; i++)
		usleep(1000);
	assert_non_null(s);
	unsigned ra = atomic_load(&r.relay_a), rb = atomic_load(&r.relay_b);
	/* The SDP's addresses and the answer reach the stream as commands:
	 * without them nothing would cross (no destination). */
	struct relay_cmd c = { .op = RELAY_STREAM };
	c.sc = (struct media_stream_cmd){ .op = MEDIA_OP_SET_REMOTE, .s = s, .side = MEDIA_SIDE_A };
	c.sc.u.remote.rtp_addr = loopback4(pa);
	assert_int_equal(media_worker_send(w, &c), 0);
	c.sc.side = MEDIA_SIDE_B;
	c.sc.u.remote.rtp_addr = loopback4(pb);
	assert_int_equal(media_worker_send(w, &c), 0);
	c.sc = (struct media_stream_cmd){ .op = MEDIA_OP_SET_CODEC, .s = s, .side = MEDIA_SIDE_A };
	c.sc.u.codec.clock_rate = 8000;
	c.sc.u.codec.codec = MEDIA_CODEC_PCMU;
	assert_int_equal(media_worker_send(w, &c), 0);
	c.sc = (struct media_stream_cmd){ .op = MEDIA_OP_ANSWERED, .s = s };
	assert_int_equal(media_worker_send(w, &c), 0);
	c.sc = (struct media_stream_cmd){ .op = MEDIA_OP_SET_CODEC, .s = s, .side = 7 };
	assert_int_equal(media_worker_send(w, &c), 0); /* a bad side: refused there */
	for (uint16_t seq = 1; seq <= 50; seq++) {
		rtp_send(fa, ra, seq); /* phone A -> relay side A -> phone B */
		assert_true(rtp_recv(fb));
		rtp_send(fb, rb, seq); /* and back */
		assert_true(rtp_recv(fa));
		struct media_side_stats st;
		media_stream_stats(s, MEDIA_SIDE_A, &st); /* while the worker relays */
		assert_true(st.rtp_in >= seq - 1u);
	}
	/* A packet's "out" is counted after sendmmsg returns, so the phone
	 * may hold it a moment before the figure shows it: wait (bounded). */
	struct media_side_stats a, b;
	for (int i = 0; i < 1000; i++) {
		media_stream_stats(s, MEDIA_SIDE_A, &a);
		media_stream_stats(s, MEDIA_SIDE_B, &b);
		if (a.rtp_out == 50 && b.rtp_out == 50)
			break;
		usleep(1000);
	}
	assert_int_equal(a.rtp_in, 50);
	assert_int_equal(a.rtp_out, 50);
	assert_int_equal(b.rtp_in, 50);
	assert_int_equal(b.rtp_out, 50);
	assert_true(a.last_packet_ms > 0);
	assert_int_equal(atomic_load(&r.failed), 1);
	assert_int_equal(media_worker_send(w, &(struct relay_cmd){ .op = RELAY_TEARDOWN }), 0);
	media_worker_stop(w);
	assert_null(r.e);
	close(fa);
	close(fb);
}

/* --- ports on the main thread, relaying on workers ------------------------ */

static void send_stream_cmd(struct media_worker *w, const struct media_stream_cmd *sc)
{
	struct relay_cmd c = { .op = RELAY_STREAM, .sc = *sc };
	assert_int_equal(media_worker_send(w, &c), 0);
}

static struct media_engine *bare_engine(struct media_worker *w, struct relay_state *r)
{
	assert_int_equal(media_worker_send(w, &(struct relay_cmd){ .op = RELAY_BARE }), 0);
	struct media_engine *e;
	for (int i = 0; (e = atomic_load(&r->bare)) == NULL && i < 2000; i++)
		usleep(1000);
	assert_non_null(e);
	return e;
}

static void test_ports_on_main_relay_on_workers(void **state)
{
	(void)state;
	/* The main thread's engine only owns the ranges here: 5 pairs each. */
	struct event_base *base = event_base_new();
	struct media_engine *ports = media_engine_new(base);
	assert_non_null(ports);
	int ra = media_engine_add_range(ports, "127.0.0.1", 44000, 44009, 0);
	int rb = media_engine_add_range(ports, "127.0.0.1", 45000, 45009, 0);
	assert_true(ra >= 0 && rb >= 0);

	struct relay_state r[2] = { 0 };
	struct media_worker *w[2];
	struct media_engine *we[2];
	struct media_stream *s[2];
	int fa[2], fb[2];
	for (int i = 0; i < 2; i++) {
		w[i] = media_worker_start((unsigned)i, sizeof(struct relay_cmd), 16, relay_cmd, &r[i]);
		assert_non_null(w[i]);
		we[i] = bare_engine(w[i], &r[i]);
		/* The ports are known at once, before any worker has the stream. */
		s[i] = media_stream_ports_new(ports, ra, rb);
		assert_non_null(s[i]);
		assert_true(media_stream_port(s[i], MEDIA_SIDE_A) >= 44000);
		assert_true(media_stream_port(s[i], MEDIA_SIDE_B) >= 45000);
		unsigned pa, pb;
		fa[i] = loopback_udp(&pa);
		fb[i] = loopback_udp(&pb);
		struct media_stream_cmd sc = { .op = MEDIA_OP_ATTACH, .s = s[i], .u.engine = we[i] };
		send_stream_cmd(w[i], &sc);
		send_stream_cmd(w[i], &sc); /* attached twice: refused, nothing broken */
		sc = (struct media_stream_cmd){ .op = MEDIA_OP_SET_REMOTE, .s = s[i], .side = MEDIA_SIDE_A };
		sc.u.remote.rtp_addr = loopback4(pa);
		send_stream_cmd(w[i], &sc);
		sc.side = MEDIA_SIDE_B;
		sc.u.remote.rtp_addr = loopback4(pb);
		send_stream_cmd(w[i], &sc);
		send_stream_cmd(w[i], &(struct media_stream_cmd){ .op = MEDIA_OP_ANSWERED, .s = s[i] });
	}
	assert_int_equal(media_engine_free_pairs(ports, ra), 3);
	for (uint16_t seq = 1; seq <= 20; seq++) {
		for (int i = 0; i < 2; i++) {
			rtp_send(fa[i], media_stream_port(s[i], MEDIA_SIDE_A), seq);
			assert_true(rtp_recv(fb[i]));
			rtp_send(fb[i], media_stream_port(s[i], MEDIA_SIDE_B), seq);
			assert_true(rtp_recv(fa[i]));
		}
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(atomic_load(&r[i].failed), 1);
		send_stream_cmd(w[i], &(struct media_stream_cmd){ .op = MEDIA_OP_DETACH, .s = s[i] });
		send_stream_cmd(w[i], &(struct media_stream_cmd){ .op = MEDIA_OP_DETACH, .s = s[i] });
		for (int k = 0; atomic_load(&r[i].detached) < 2 && k < 2000; k++)
			usleep(1000);
		assert_int_equal(atomic_load(&r[i].detached), 2);
		/* Detached: the sockets are still open (the main thread closes
		 * them), but nothing reads them any more, so nothing crosses. */
		rtp_send(fa[i], media_stream_port(s[i], MEDIA_SIDE_A), 99);
		struct pollfd p = { .fd = fb[i], .events = POLLIN };
		assert_int_equal(poll(&p, 1, 100), 0);
		media_stream_ports_free(s[i]);
		assert_int_equal(media_worker_send(w[i], &(struct relay_cmd){ .op = RELAY_TEARDOWN }), 0);
		media_worker_stop(w[i]);
		close(fa[i]);
		close(fb[i]);
	}
	assert_int_equal(media_engine_free_pairs(ports, ra), 5);
	assert_int_equal(media_engine_free_pairs(ports, rb), 5);
	media_engine_free(ports);
	event_base_free(base);
}

/* --- the pool ------------------------------------------------------------ */

static void pool_remote(struct media_pool *p, struct media_stream *s, enum media_side side,
			unsigned port)
{
	struct media_stream_cmd c = { .op = MEDIA_OP_SET_REMOTE, .s = s, .side = side };
	c.u.remote.rtp_addr = loopback4(port);
	assert_int_equal(media_pool_stream_cmd(p, &c), 0);
}

static void test_pool_two_workers(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct media_pool *p = media_pool_new(base, 2);
	assert_non_null(p);
	struct media_engine *e = media_pool_engine(p);
	int ra = media_engine_add_range(e, "127.0.0.1", 46000, 46009, 0);
	int rb = media_engine_add_range(e, "127.0.0.1", 47000, 47009, 0);
	assert_int_equal(media_pool_start(p), 0);
	assert_int_equal(media_pool_workers(p), 2);

	/* Two calls: the first's two streams on one worker, the second's on
	 * the other (fewest streams). */
	int call1 = -1, call2 = -1;
	struct media_stream *s[3];
	s[0] = media_pool_stream_new(p, ra, rb, &call1);
	s[1] = media_pool_stream_new(p, ra, rb, &call1);
	s[2] = media_pool_stream_new(p, ra, rb, &call2);
	for (int i = 0; i < 3; i++)
		assert_non_null(s[i]);
	assert_int_equal(call1, 0);
	assert_int_equal(call2, 1);
	assert_int_equal(media_pool_stream_worker(s[0]), 0);
	assert_int_equal(media_pool_stream_worker(s[1]), 0);
	assert_int_equal(media_pool_stream_worker(s[2]), 1);
	assert_int_equal(media_pool_stream_count(p), 3);
	int fa[3], fb[3];
	for (int i = 0; i < 3; i++) {
		unsigned pa, pb;
		fa[i] = loopback_udp(&pa);
		fb[i] = loopback_udp(&pb);
		pool_remote(p, s[i], MEDIA_SIDE_A, pa);
		pool_remote(p, s[i], MEDIA_SIDE_B, pb);
		struct media_stream_cmd c = { .op = MEDIA_OP_ANSWERED, .s = s[i] };
		assert_int_equal(media_pool_stream_cmd(p, &c), 0);
	}
	for (uint16_t seq = 1; seq <= 10; seq++) {
		for (int i = 0; i < 3; i++) {
			rtp_send(fa[i], media_stream_port(s[i], MEDIA_SIDE_A), seq);
			assert_true(rtp_recv(fb[i]));
			rtp_send(fb[i], media_stream_port(s[i], MEDIA_SIDE_B), seq);
			assert_true(rtp_recv(fa[i]));
		}
	}
	struct media_side_stats st;
	media_stream_stats(s[2], MEDIA_SIDE_A, &st);
	assert_int_equal(st.rtp_in, 10);
	for (int i = 0; i < 3; i++)
		media_pool_stream_free(p, s[i]);
	/* The ports come back once the workers said they let go, read on
	 * the signalling loop. */
	for (int k = 0; media_pool_stream_count(p) > 0 && k < 2000; k++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	assert_int_equal(media_pool_stream_count(p), 0);
	assert_int_equal(media_engine_free_pairs(e, ra), 5);
	assert_int_equal(media_engine_free_pairs(e, rb), 5);
	for (int i = 0; i < 3; i++) {
		close(fa[i]);
		close(fb[i]);
	}
	media_pool_free(p);
	event_base_free(base);
}

static int pool_crypto(struct media_pool *p, struct media_stream *s, enum media_side side,
		       const struct pc_srtp_params *recv, const struct pc_srtp_params *send)
{
	struct media_stream_cmd c = { .op = MEDIA_OP_SET_CRYPTO, .s = s, .side = side };
	c.u.crypto.have_recv = recv != NULL;
	c.u.crypto.have_send = send != NULL;
	if (recv)
		c.u.crypto.recv = *recv;
	if (send)
		c.u.crypto.send = *send;
	return media_pool_stream_cmd(p, &c);
}

static struct pc_srtp_params key(void)
{
	struct pc_srtp_params k;
	assert_int_equal(media_keys_fresh(PC_SRTP_AES_CM_128_HMAC_SHA1_80, &k), 0);
	return k;
}

/* Step 2 of the media workers: a stream on a worker answers for its keys
 * and its quality on the signalling thread without reading what the
 * worker writes. Keys are checked before they are sent (a malformed key,
 * or a retired one a peer brings back, is refused here with -1, as the
 * direct call would), by the fingerprints the signalling thread kept of
 * what it sent, with the worker's re-key grace; the quality figures are
 * those the worker published, read while it relays (ASan, TSan). */
static void test_pool_keys_and_quality(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct media_pool *p = media_pool_new(base, 2);
	assert_non_null(p);
	struct media_engine *e = media_pool_engine(p);
	media_engine_set_rekey_grace_ms(e, 100);
	int ra = media_engine_add_range(e, "127.0.0.1", 46000, 46009, 0);
	assert_int_equal(media_pool_start(p), 0);
	int w = -1;
	struct media_stream *s = media_pool_stream_new(p, ra, ra, &w);
	assert_non_null(s);

	struct pc_srtp_params k1 = key(), k2 = key(), k3 = key(), bad = key();
	bad.key_salt_len = 7; /* no suite has that */
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, &bad, NULL), -1);
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, &k1, &bad), -1);
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, &k1, &k3), 0);
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, &k1, &k3), 0); /* a refresh */
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, &k2, &k3), 0);
	/* k1 in its grace: not retired, and may come back (then k2 is in grace). */
	assert_false(media_stream_key_retired(s, MEDIA_SIDE_B, &k1));
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, &k1, &k3), 0);
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, &k2, &k3), 0);
	usleep(150 * 1000);
	/* The grace is over: k1 is retired, here as on the worker. */
	assert_true(media_stream_key_retired(s, MEDIA_SIDE_B, &k1));
	assert_false(media_stream_key_retired(s, MEDIA_SIDE_B, &k2));
	assert_false(media_stream_key_retired(s, MEDIA_SIDE_A, &k1));
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, &k1, &k3), -1);
	/* Plain: k2 retires at once. */
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, NULL, NULL), 0);
	assert_true(media_stream_key_retired(s, MEDIA_SIDE_B, &k2));
	assert_int_equal(pool_crypto(p, s, MEDIA_SIDE_B, &k2, NULL), -1);

	/* Plain RTP both ways, every 5th packet from A left out, while the
	 * figures are read: they follow what the worker publishes. */
	int fa, fb;
	unsigned pa, pb;
	fa = loopback_udp(&pa);
	fb = loopback_udp(&pb);
	pool_remote(p, s, MEDIA_SIDE_A, pa);
	pool_remote(p, s, MEDIA_SIDE_B, pb);
	struct media_stream_cmd c = { .op = MEDIA_OP_ANSWERED, .s = s };
	assert_int_equal(media_pool_stream_cmd(p, &c), 0);
	c = (struct media_stream_cmd){ .op = MEDIA_OP_SET_CODEC, .s = s, .side = MEDIA_SIDE_A };
	c.u.codec.clock_rate = 8000;
	c.u.codec.codec = MEDIA_CODEC_PCMU;
	assert_int_equal(media_pool_stream_cmd(p, &c), 0);
	struct media_quality q;
	for (uint16_t seq = 1; seq <= 40; seq++) {
		if (seq % 5 != 3) {
			rtp_send(fa, media_stream_port(s, MEDIA_SIDE_A), seq);
			assert_true(rtp_recv(fb));
		}
		rtp_send(fb, media_stream_port(s, MEDIA_SIDE_B), seq);
		assert_true(rtp_recv(fa));
		assert_int_equal(media_stream_quality(s, MEDIA_SIDE_A, &q), 0);
		assert_true(q.lost <= q.expected && q.rx_packets <= 32);
	}
	/* Within a few publication periods the last figures are there. */
	for (int k = 0; k < 400; k++) {
		media_stream_quality(s, MEDIA_SIDE_A, &q);
		if (q.rx_packets == 32 && q.expected == 40)
			break;
		usleep(5000);
	}
	assert_int_equal(q.codec, MEDIA_CODEC_PCMU);
	assert_int_equal(q.rx_packets, 32);
	assert_int_equal(q.expected, 40);
	assert_int_equal(q.lost, 8);
	assert_true(q.has_mos);
	media_stream_quality(s, MEDIA_SIDE_B, &q);
	assert_int_equal(q.tx_packets, 32);

	media_pool_stream_free(p, s);
	for (int k = 0; media_pool_stream_count(p) > 0 && k < 2000; k++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	assert_int_equal(media_pool_stream_count(p), 0);
	close(fa);
	close(fb);
	media_pool_free(p);
	event_base_free(base);
}

static void test_pool_one_worker_is_direct(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct media_pool *p = media_pool_new(base, 1);
	assert_non_null(p);
	int ra = media_engine_add_range(media_pool_engine(p), "127.0.0.1", 46000, 46009, 0);
	assert_int_equal(media_pool_start(p), 0);
	int w = 5; /* a hint past the pool: there is only worker 0 */
	struct media_stream *s = media_pool_stream_new(p, ra, ra, &w);
	assert_non_null(s);
	assert_int_equal(w, 0);
	assert_int_equal(media_engine_stream_count(media_pool_engine(p)), 1);
	/* Applied at once, so the direct call's answer comes back. */
	struct media_stream_cmd c = { .op = MEDIA_OP_SET_CODEC, .s = s, .side = 7 };
	assert_int_equal(media_pool_stream_cmd(p, &c), -1);
	c = (struct media_stream_cmd){ .op = MEDIA_OP_SET_CODEC, .s = s, .side = MEDIA_SIDE_A };
	c.u.codec.clock_rate = 8000;
	assert_int_equal(media_pool_stream_cmd(p, &c), 0);
	media_pool_stream_free(p, s);
	assert_int_equal(media_pool_stream_count(p), 0);
	assert_int_equal(media_engine_free_pairs(media_pool_engine(p), ra), 5);
	media_pool_free(p);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_threads),
		cmocka_unit_test(test_full_queue_refuses),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_engine_on_worker),
		cmocka_unit_test(test_ports_on_main_relay_on_workers),
		cmocka_unit_test(test_pool_two_workers),
		cmocka_unit_test(test_pool_one_worker_is_direct),
		cmocka_unit_test(test_pool_keys_and_quality),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
