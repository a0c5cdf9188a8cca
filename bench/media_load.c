/* media_load: the load generator of the media benchmark. For each call in a
 * table (written by media_relay or by rtpengine_calls.py) it plays both
 * phones of a G.711 call: the plain inside phone sends RTP to the relay's
 * inside port, the SRTP trunk sends SRTP to the relay's outside port, each at
 * --rate packets/s (50 = 20 ms ptime, 172-byte RTP), spread evenly over the
 * period. Everything the relay forwards comes back to two sockets (plain,
 * SRTP); each packet is matched to its call by SSRC, SRTP is authenticated
 * and decrypted, and the send timestamp in the payload gives the one-way
 * latency through the relay. The generator's own crypto is srtp_lite
 * (nettle) so it stays cheap at thousands of calls. A table line whose suite
 * is NULL (written by media_floor) means plain RTP both ways: same schedule,
 * same sizes less the tag, no crypto on either end.
 *
 *   media_load --table FILE --plain-port P --srtp-port S --seconds D [--rate R]
 *   media_load --selftest       (srtp_lite against libsrtp2, both suites)
 *
 * Prints one line of key=value results. Bounded: at most 20,000 calls and
 * 120 s of sending, then at most --drain-ms of receiving. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "srtp_lite.h"

#define MAX_CALLS 20000
#define BATCH 64
#define PKT_MAX 256
#define PAYLOAD 160
#define SSRC_OUT 0x10000000u /* inside -> outside (plain in, SRTP back) */
#define SSRC_IN 0x20000000u  /* outside -> inside (SRTP in, plain back) */
#define HIST_US 10           /* latency histogram bucket */
#define HIST_N 20000         /* up to 200 ms */

struct call {
	struct sockaddr_in relay_plain, relay_srtp;
	struct lite_ctx *to_relay, *from_relay;
	uint32_t recv[2];
};

static struct call *calls;
static unsigned ncalls;
static uint32_t hist[HIST_N + 1];
static uint64_t nlat, auth_fail, stray, seq_next, over20;
static uint64_t t_first_over20;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int hexbytes(const char *h, uint8_t *out, size_t n)
{
	if (strlen(h) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int load_table(const char *path)
{
	FILE *f = fopen(path, "r");
	char suite[64], k1[128], k2[128];
	unsigned pp, sp;
	if (f == NULL) {
		perror(path);
		return -1;
	}
	calls = calloc(MAX_CALLS, sizeof(*calls));
	while (ncalls < MAX_CALLS && fscanf(f, "%u %u %63s %127s %127s", &pp, &sp, suite, k1, k2) == 5) {
		enum lite_suite s;
		uint8_t a[30], b[30];
		struct call *c = &calls[ncalls];
		bool null = strcmp(suite, "NULL") == 0; /* media_floor: plain both ways */
		if (!null && (lite_suite_from_name(suite, &s) < 0 || hexbytes(k1, a, lite_key_len(s)) < 0 ||
		    hexbytes(k2, b, lite_key_len(s)) < 0)) {
			fprintf(stderr, "media_load: bad table line %u\n", ncalls + 1);
			fclose(f);
			return -1;
		}
		c->relay_plain.sin_family = c->relay_srtp.sin_family = AF_INET;
		c->relay_plain.sin_addr.s_addr = c->relay_srtp.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		c->relay_plain.sin_port = htons((uint16_t)pp);
		c->relay_srtp.sin_port = htons((uint16_t)sp);
		c->to_relay = null ? NULL : lite_new(s, a);
		c->from_relay = null ? NULL : lite_new(s, b);
		ncalls++;
	}
	fclose(f);
	return ncalls ? 0 : -1;
}

static int udp_socket(unsigned port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int big = 32 << 20, snd = 8 << 20;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Root may exceed rmem_max: a full generator buffer must not pass for relay loss. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "media_load: bind %u: %s\n", port, strerror(errno));
		exit(2);
	}
	return fd;
}

/* Datagrams the kernel dropped on our socket (full receive buffer). */
static unsigned long sock_drops(unsigned port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512], want[32];
	unsigned long drops = 0;
	snprintf(want, sizeof(want), "0100007F:%04X", port);
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, want) == NULL)
			continue;
		char *last = strrchr(line, ' ');
		if (last)
			drops = strtoul(last + 1, NULL, 10);
	}
	fclose(f);
	return drops;
}

struct outq {
	int fd;
	unsigned n;
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	uint8_t buf[BATCH][PKT_MAX];
	uint64_t sent, failed;
};

static void flush(struct outq *q)
{
	unsigned done = 0;
	while (done < q->n) {
		int r = sendmmsg(q->fd, &q->m[done], q->n - done, 0);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			q->failed++;
			done++;
			continue;
		}
		done += (unsigned)r;
		q->sent += (uint64_t)r;
	}
	q->n = 0;
}

static void build(uint8_t *p, uint32_t ssrc, uint16_t seq, uint64_t t)
{
	uint32_t ts = (uint32_t)seq * 160u;
	memset(p, 0, 12 + PAYLOAD);
	p[0] = 0x80;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[4] = (uint8_t)(ts >> 24);
	p[5] = (uint8_t)(ts >> 16);
	p[6] = (uint8_t)(ts >> 8);
	p[7] = (uint8_t)ts;
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
	memcpy(p + 12, &t, 8);
	memset(p + 20, 0xd5, PAYLOAD - 8); /* PCMU silence-ish */
}

static void queue(struct outq *q, struct call *c, int dir, uint16_t seq, uint64_t t)
{
	unsigned k = q->n++;
	uint8_t *p = q->buf[k];
	int len = 12 + PAYLOAD;
	build(p, (dir == 0 ? SSRC_OUT : SSRC_IN) + (uint32_t)(c - calls), seq, t);
	if (dir == 1 && c->to_relay)
		lite_protect(c->to_relay, p, &len);
	q->iov[k].iov_base = p;
	q->iov[k].iov_len = (size_t)len;
	q->m[k].msg_hdr.msg_iov = &q->iov[k];
	q->m[k].msg_hdr.msg_iovlen = 1;
	q->m[k].msg_hdr.msg_name = dir == 0 ? &c->relay_plain : &c->relay_srtp;
	q->m[k].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
	if (q->n == BATCH)
		flush(q);
}

static uint8_t rbuf[BATCH][PKT_MAX + 64];
static struct mmsghdr rm[BATCH];
static struct iovec riov[BATCH];

/* Drains one socket (at most `rounds` batches). dir: the direction of the
 * packets arriving there (0 = SRTP socket, 1 = plain socket). */
static unsigned drain(int fd, int dir, int rounds)
{
	unsigned total = 0;
	for (int r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < BATCH; i++) {
			riov[i].iov_base = rbuf[i];
			riov[i].iov_len = sizeof(rbuf[i]);
			rm[i].msg_hdr.msg_iov = &riov[i];
			rm[i].msg_hdr.msg_iovlen = 1;
			rm[i].msg_hdr.msg_name = NULL;
			rm[i].msg_hdr.msg_namelen = 0;
		}
		int n = recvmmsg(fd, rm, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		uint64_t t = now_ns();
		for (int i = 0; i < n; i++) {
			uint8_t *p = rbuf[i];
			int len = (int)rm[i].msg_len;
			if (len < 12 + 8 || (p[0] >> 6) != 2) {
				stray++;
				continue;
			}
			uint32_t ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
			uint32_t base = dir == 0 ? SSRC_OUT : SSRC_IN;
			if (ssrc < base || ssrc - base >= ncalls) {
				stray++;
				continue;
			}
			struct call *c = &calls[ssrc - base];
			if (dir == 0 && c->from_relay && lite_unprotect(c->from_relay, p, &len) < 0) {
				auth_fail++;
				continue;
			}
			if (len != 12 + PAYLOAD) {
				stray++;
				continue;
			}
			c->recv[dir]++;
			uint64_t sent;
			memcpy(&sent, p + 12, 8);
			uint64_t us = t > sent ? (t - sent) / 1000 : 0;
			uint64_t b = us / HIST_US;
			hist[b > HIST_N ? HIST_N : b]++;
			if (us > 20000) {
				if (!over20++)
					t_first_over20 = t;
			}
			nlat++;
		}
		total += (unsigned)n;
		if (n < BATCH)
			break;
	}
	return total;
}

static double pct(double p)
{
	uint64_t want = (uint64_t)(p * (double)nlat), acc = 0;
	if (nlat == 0)
		return 0;
	if (want >= nlat)
		want = nlat - 1;
	for (unsigned b = 0; b <= HIST_N; b++) {
		acc += hist[b];
		if (acc > want)
			return (double)(b + 1) * HIST_US / 1000.0;
	}
	return (double)HIST_N * HIST_US / 1000.0;
}

/* srtp_lite and libsrtp2 must agree in both directions, both suites. */
static int selftest(void)
{
	static const char *names[] = { "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM" };
	if (srtp_init() != srtp_err_status_ok)
		return 1;
	for (int s = 0; s < 2; s++) {
		enum lite_suite ls;
		lite_suite_from_name(names[s], &ls);
		uint8_t key[30];
		for (unsigned i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(i * 7 + 3 + s);
		srtp_policy_t pol;
		memset(&pol, 0, sizeof(pol));
		if (s == 0) {
			srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
			srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
		} else {
			srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
			srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
		}
		pol.key = key;
		pol.window_size = 1024;
		srtp_t tx, rx;
		pol.ssrc.type = ssrc_any_outbound;
		if (srtp_create(&tx, &pol) != srtp_err_status_ok)
			return 1;
		pol.ssrc.type = ssrc_any_inbound;
		if (srtp_create(&rx, &pol) != srtp_err_status_ok)
			return 1;
		struct lite_ctx *lt = lite_new(ls, key), *lr = lite_new(ls, key);
		for (uint16_t seq = 1; seq < 200; seq++) {
			uint8_t a[PKT_MAX], b[PKT_MAX];
			int la = 12 + PAYLOAD, lb = 12 + PAYLOAD;
			build(a, 0x1234 + seq % 3, seq, seq * 1000ull);
			memcpy(b, a, (size_t)la);
			if (srtp_protect(tx, a, &la) != srtp_err_status_ok)
				return 1;
			lite_protect(lt, b, &lb);
			if (la != lb || memcmp(a, b, (size_t)la)) {
				fprintf(stderr, "selftest %s: protect differs at seq %u\n", names[s], seq);
				return 1;
			}
			if (lite_unprotect(lr, b, &lb) < 0 || srtp_unprotect(rx, a, &la) != srtp_err_status_ok ||
			    la != lb || memcmp(a, b, (size_t)la)) {
				fprintf(stderr, "selftest %s: unprotect differs at seq %u\n", names[s], seq);
				return 1;
			}
			a[20] ^= 1;
			la = 12 + PAYLOAD;
			lite_protect(lt, a, &la);
			a[30] ^= 1;
			if (lite_unprotect(lr, a, &la) == 0) {
				fprintf(stderr, "selftest %s: tampered packet accepted\n", names[s]);
				return 1;
			}
		}
		lite_free(lt);
		lite_free(lr);
		srtp_dealloc(tx);
		srtp_dealloc(rx);
		printf("selftest %s ok\n", names[s]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' }, { "plain-port", required_argument, NULL, 'p' },
		{ "srtp-port", required_argument, NULL, 's' }, { "seconds", required_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' }, { "drain-ms", required_argument, NULL, 'D' },
		{ "tick-us", required_argument, NULL, 'k' }, { "selftest", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	const char *table = NULL;
	unsigned plain_port = 0, srtp_port = 0, rate = 50, drain_ms = 1500, tick_us = 1000;
	double seconds = 10;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': table = optarg; break;
		case 'p': plain_port = (unsigned)atoi(optarg); break;
		case 's': srtp_port = (unsigned)atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'r': rate = (unsigned)atoi(optarg); break;
		case 'D': drain_ms = (unsigned)atoi(optarg); break;
		case 'k': tick_us = (unsigned)atoi(optarg); break;
		case 'T': return selftest();
		default: return 2;
		}
	}
	if (!table || !plain_port || !srtp_port || seconds <= 0 || seconds > 120 || rate == 0 ||
	    rate > 1000 || drain_ms > 10000 || tick_us > 20000) {
		fprintf(stderr, "usage: media_load --table FILE --plain-port P --srtp-port S --seconds D\n");
		return 2;
	}
	if (load_table(table) < 0)
		return 2;
	int fplain = udp_socket(plain_port), fsrtp = udp_socket(srtp_port);
	static struct outq qp, qs;
	qp.fd = fplain;
	qs.fd = fsrtp;

	uint64_t period = 1000000000ull / rate, t0 = now_ns() + 50000000ull;
	uint64_t per_round = (uint64_t)(seconds * rate), total_slots = per_round * ncalls;
	uint64_t late_max = 0, late_slots = 0, slot = 0;
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	seq_next = 1;
	uint64_t wake = t0;
	for (;;) {
		uint64_t t = now_ns();
		wake = t + (uint64_t)tick_us * 1000ull;
		while (slot < total_slots) {
			uint64_t k = slot / ncalls, i = slot % ncalls;
			uint64_t due = t0 + k * period + i * period / ncalls;
			if (due > t)
				break;
			if (t - due > late_max)
				late_max = t - due;
			if (t - due > 2000000)
				late_slots++;
			queue(&qp, &calls[i], 0, (uint16_t)(1 + k), t);
			queue(&qs, &calls[i], 1, (uint16_t)(1 + k), t);
			slot++;
		}
		flush(&qp);
		flush(&qs);
		drain(fsrtp, 0, 8);
		drain(fplain, 1, 8);
		if (slot >= total_slots)
			break;
		uint64_t k = slot / ncalls, i = slot % ncalls;
		uint64_t due = t0 + k * period + i * period / ncalls;
		if (due < wake)
			due = wake; /* one burst per tick: a sendmmsg per tick, not per packet */
		t = now_ns();
		if (due > t) {
			struct pollfd p[2] = { { .fd = fplain, .events = POLLIN }, { .fd = fsrtp, .events = POLLIN } };
			struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(due - t) };
			ppoll(p, 2, &ts, NULL);
		}
	}
	/* Drain what is still in flight; stop early once everything arrived. */
	uint64_t expect = qp.sent + qs.sent, end = now_ns() + (uint64_t)drain_ms * 1000000ull;
	while (now_ns() < end) {
		uint64_t got = 0;
		drain(fsrtp, 0, 64);
		drain(fplain, 1, 64);
		for (unsigned i = 0; i < ncalls; i++)
			got += calls[i].recv[0] + calls[i].recv[1];
		if (got >= expect)
			break;
		struct pollfd p[2] = { { .fd = fplain, .events = POLLIN }, { .fd = fsrtp, .events = POLLIN } };
		poll(p, 2, 20);
	}
	getrusage(RUSAGE_SELF, &ru1);
	uint64_t got0 = 0, got1 = 0;
	unsigned lossy_calls = 0;
	for (unsigned i = 0; i < ncalls; i++) {
		got0 += calls[i].recv[0];
		got1 += calls[i].recv[1];
		if (calls[i].recv[0] < per_round || calls[i].recv[1] < per_round)
			lossy_calls++;
	}
	double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		     (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	long long lost = (long long)(qp.sent + qs.sent) - (long long)(got0 + got1);
	printf("calls=%u seconds=%.1f sent_out=%llu sent_in=%llu recv_out=%llu recv_in=%llu lost=%lld "
	       "lossy_calls=%u auth_fail=%llu stray=%llu send_fail=%llu gen_sock_drops=%lu "
	       "lat_p50_ms=%.2f lat_p99_ms=%.2f lat_p999_ms=%.2f lat_max_ms=%.2f "
	       "lat_over20ms=%llu first_over20_at_s=%.2f gen_late_max_ms=%.2f gen_late_slots=%llu gen_cpu_s=%.2f\n",
	       ncalls, seconds, (unsigned long long)qp.sent, (unsigned long long)qs.sent,
	       (unsigned long long)got0, (unsigned long long)got1, lost, lossy_calls,
	       (unsigned long long)auth_fail, (unsigned long long)stray,
	       (unsigned long long)(qp.failed + qs.failed), sock_drops(plain_port) + sock_drops(srtp_port),
	       pct(0.50), pct(0.99), pct(0.999), pct(1.0), (unsigned long long)over20,
	       over20 ? (double)(t_first_over20 - t0) / 1e9 : -1.0, (double)late_max / 1e6,
	       (unsigned long long)late_slots, cpu);
	return 0;
}
