/* rtp_gen: a deterministic RTP/RTCP peer for the media quality test. It
 * sends --count PCMU packets (20 ms of timestamp apart), leaving out one in
 * --drop-every (the middle one of each run, so the last packet is always
 * sent) and holding every odd packet back --hold-ms (a known interarrival
 * jitter: every transit difference is hold-ms), optionally protected with
 * SRTP/SRTCP (libsrtp2). Every 500 ms it sends an RTCP SR with one report
 * block carrying the figures of --report FRACTION:CUM:JITTER, and answers
 * each SR it receives, 2 x --rtt-bias ms later, with an RR whose LSR names
 * it and whose DLSR is --rtt-bias ms shorter than it really held it (so
 * the gateway's round trip comes out near rtt-bias). With its last packet
 * it may send forged reports (fraction 255, huge loss and jitter):
 * --forge-unauth from its own RTCP port with a bogus SRTCP trailer,
 * --forge-from PORT in clear from another port.
 *   rtp_gen --bind PORT --to PORT [--send S:K] [--recv S:K] [--count N]
 *           [--ssrc HEX] [--drop-every N] [--hold-ms MS] [--report F:C:J]
 *           [--rtt-bias MS] [--forge-unauth] [--forge-from PORT]
 * RTCP goes from and to the RTP ports + 1. Prints one summary line. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "srtp_spec.h"

#define PAYLOAD 160

struct gen {
	int rtp_fd, rtcp_fd;
	struct sockaddr_in to_rtp, to_rtcp;
	srtp_t tx, rx;
	bool have_tx, have_rx;
	uint32_t ssrc, peer_ssrc;
	unsigned fraction, cum, jitter, rtt_bias_ms;
	uint32_t lsr;
	uint64_t lsr_at_us;
	bool answered; /* the last SR received has had its RR */
	unsigned srs_sent, srs_seen, rtp_seen, rr_with_lsr;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int bind_udp(unsigned port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("rtp_gen: bind");
		exit(2);
	}
	return fd;
}

static void send_rtp(struct gen *g, unsigned i)
{
	uint8_t pkt[12 + PAYLOAD + 64];
	uint16_t seq = (uint16_t)(4000 + i);
	memset(pkt, 0xd5, sizeof(pkt));
	pkt[0] = 0x80;
	pkt[1] = 0; /* PCMU */
	pkt[2] = (uint8_t)(seq >> 8);
	pkt[3] = (uint8_t)seq;
	put32(pkt + 4, 16000 + i * 160);
	put32(pkt + 8, g->ssrc);
	int len = 12 + PAYLOAD;
	if (g->have_tx && srtp_protect(g->tx, pkt, &len) != srtp_err_status_ok)
		exit(3);
	sendto(g->rtp_fd, pkt, (size_t)len, 0, (struct sockaddr *)&g->to_rtp, sizeof(g->to_rtp));
}

/* An RR (sr false) or SR with one block, then an SDES CNAME: a compound
 * packet as RFC 3550 §6.1 wants it. Returns its length. */
static int build_report(const struct gen *g, uint8_t *p, bool sr, unsigned fraction, uint32_t cum,
			uint32_t jitter, uint32_t lsr, uint32_t dlsr)
{
	int n = 0;
	int size = 8 + (sr ? 20 : 0) + 24;
	p[0] = 0x81;
	p[1] = sr ? 200 : 201;
	p[2] = 0;
	p[3] = (uint8_t)(size / 4 - 1);
	put32(p + 4, g->ssrc);
	n = 8;
	if (sr) {
		uint64_t t = now_us();
		/* NTP-like: seconds and a 32-bit fraction; only the middle 32
		 * bits matter to the peer's LSR. */
		uint32_t sec = (uint32_t)(t / 1000000) + 0x83aa7e80u;
		uint32_t frac = (uint32_t)(((t % 1000000) << 32) / 1000000);
		put32(p + 8, sec);
		put32(p + 12, frac);
		put32(p + 16, 0);
		put32(p + 20, 0);
		put32(p + 24, 0);
		n = 28;
	}
	put32(p + n, g->peer_ssrc);
	p[n + 4] = (uint8_t)fraction;
	p[n + 5] = (uint8_t)(cum >> 16);
	p[n + 6] = (uint8_t)(cum >> 8);
	p[n + 7] = (uint8_t)cum;
	put32(p + n + 8, 0);
	put32(p + n + 12, jitter);
	put32(p + n + 16, lsr);
	put32(p + n + 20, dlsr);
	n += 24;
	static const uint8_t sdes[] = { 0x81, 202, 0, 3, 0, 0, 0, 0, 1, 3, 'g', 'e', 'n', 0, 0, 0 };
	memcpy(p + n, sdes, sizeof(sdes));
	put32(p + n + 4, g->ssrc);
	return n + (int)sizeof(sdes);
}

/* An SR with our figures and no LSR, or (answer) an RR whose LSR names
 * the last SR received and whose DLSR is rtt-bias shorter than the time
 * we really held it. */
static void send_report(struct gen *g, bool answer)
{
	uint8_t pkt[256];
	uint32_t lsr = 0, dlsr = 0;
	if (answer) {
		uint64_t held = now_us() - g->lsr_at_us;
		lsr = g->lsr;
		dlsr = (uint32_t)((held - (uint64_t)g->rtt_bias_ms * 1000) * 65536 / 1000000);
		g->rr_with_lsr++;
		g->answered = true;
	}
	int len = build_report(g, pkt, !answer, g->fraction, g->cum, g->jitter, lsr, dlsr);
	if (g->have_tx && srtp_protect_rtcp(g->tx, pkt, &len) != srtp_err_status_ok)
		exit(3);
	sendto(g->rtcp_fd, pkt, (size_t)len, 0, (struct sockaddr *)&g->to_rtcp, sizeof(g->to_rtcp));
	if (!answer)
		g->srs_sent++;
}

/* One datagram from the RTP or the RTCP socket: the peer's SSRC from RTP,
 * the time of its SR (for the LSR/DLSR of our next report) from RTCP. */
static void read_one(struct gen *g, bool rtcp)
{
	uint8_t in[1500];
	ssize_t n = recv(rtcp ? g->rtcp_fd : g->rtp_fd, in, sizeof(in), MSG_DONTWAIT);
	if (n < (rtcp ? 8 : 12))
		return;
	int len = (int)n;
	if (g->have_rx && (rtcp ? srtp_unprotect_rtcp(g->rx, in, &len)
				: srtp_unprotect(g->rx, in, &len)) != srtp_err_status_ok)
		return;
	if (!rtcp) {
		g->peer_ssrc = get32(in + 8);
		g->rtp_seen++;
	} else if (len >= 28 && in[1] == 200) {
		g->lsr = get32(in + 10);
		g->lsr_at_us = now_us();
		g->answered = false;
		g->srs_seen++;
	}
}

/* Reports no one should believe: fraction 255, 99999 lost, jitter 8000. */
static void forge(struct gen *g, bool unauth, unsigned from_port)
{
	uint8_t pkt[256];
	if (!unauth && !from_port)
		return;
	int len = build_report(g, pkt, false, 255, 99999, 8000, 0, 0);
	if (unauth) {
		/* An SRTCP shape (E flag, index, tag) whose tag is made up. */
		put32(pkt + len, 0x80000063);
		memset(pkt + len + 4, 0x42, 16);
		sendto(g->rtcp_fd, pkt, (size_t)len + 20, 0, (struct sockaddr *)&g->to_rtcp,
		       sizeof(g->to_rtcp));
		/* and the same in clear, as if SRTCP were not in use */
		sendto(g->rtcp_fd, pkt, (size_t)len, 0, (struct sockaddr *)&g->to_rtcp,
		       sizeof(g->to_rtcp));
	}
	if (from_port) {
		int fd = bind_udp(from_port);
		sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&g->to_rtcp, sizeof(g->to_rtcp));
		close(fd);
	}
}

static int key(const char *spec, bool inbound, srtp_t *s, bool *have)
{
	if (srtp_spec_session("rtp_gen", spec, inbound, s) < 0)
		return -1;
	*have = true;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bind", required_argument, NULL, 'b' },     { "to", required_argument, NULL, 't' },
		{ "send", required_argument, NULL, 's' },     { "recv", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },    { "ssrc", required_argument, NULL, 'S' },
		{ "drop-every", required_argument, NULL, 'd' }, { "hold-ms", required_argument, NULL, 'h' },
		{ "report", required_argument, NULL, 'R' },   { "rtt-bias", required_argument, NULL, 'B' },
		{ "forge-unauth", no_argument, NULL, 'U' },   { "forge-from", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct gen g = { .ssrc = 0x47454e31 };
	unsigned bind_port = 0, to_port = 0, count = 100, drop_every = 0, hold_ms = 0, forge_from = 0;
	bool forge_unauth = false;
	const char *send_spec = NULL, *recv_spec = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': bind_port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': to_port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': send_spec = optarg; break;
		case 'r': recv_spec = optarg; break;
		case 'c': count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': g.ssrc = (uint32_t)strtoul(optarg, NULL, 16); break;
		case 'd': drop_every = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': hold_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'R':
			if (sscanf(optarg, "%u:%u:%u", &g.fraction, &g.cum, &g.jitter) != 3)
				return 2;
			break;
		case 'B': g.rtt_bias_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'U': forge_unauth = true; break;
		case 'F': forge_from = (unsigned)strtoul(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (!bind_port || !to_port || count == 0 || count > 100000 || hold_ms >= 1000) {
		fprintf(stderr, "usage: rtp_gen --bind PORT --to PORT [options]\n");
		return 2;
	}
	if (srtp_init() != srtp_err_status_ok ||
	    (send_spec && key(send_spec, false, &g.tx, &g.have_tx) < 0) ||
	    (recv_spec && key(recv_spec, true, &g.rx, &g.have_rx) < 0))
		return 2;
	g.rtp_fd = bind_udp(bind_port);
	g.rtcp_fd = bind_udp(bind_port + 1);
	g.to_rtp = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)to_port) };
	g.to_rtp.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g.to_rtcp = g.to_rtp;
	g.to_rtcp.sin_port = htons((uint16_t)(to_port + 1));

	unsigned next = 0, sent = 0, dropped = 0;
	bool forged = false;
	uint64_t start = now_us(), next_sr = start + 250000;
	uint64_t end = start + (uint64_t)count * 20000 + hold_ms * 1000 + 700000;
	while (now_us() < end) {
		uint64_t t = now_us();
		while (next < count) {
			/* Odd packets are held back hold_ms: sent, in order, after
			 * their time. */
			uint64_t due = start + (uint64_t)next * 20000 + (next % 2) * hold_ms * 1000;
			if (t < due)
				break;
			if (drop_every && next % drop_every == drop_every / 2) {
				dropped++;
			} else {
				send_rtp(&g, next);
				sent++;
			}
			next++;
		}
		if (t >= next_sr && next < count) {
			send_report(&g, false);
			next_sr += 500000;
		}
		/* Each SR is answered twice rtt-bias after it arrived. */
		if (g.rtt_bias_ms && g.lsr_at_us && !g.answered && !forged &&
		    t >= g.lsr_at_us + 2 * (uint64_t)g.rtt_bias_ms * 1000)
			send_report(&g, true);
		/* The forgeries go out with the last packet, well inside the call. */
		if (next == count && !forged) {
			forge(&g, forge_unauth, forge_from);
			forged = true;
		}
		struct pollfd p[2] = { { .fd = g.rtp_fd, .events = POLLIN },
				       { .fd = g.rtcp_fd, .events = POLLIN } };
		if (poll(p, 2, 1) > 0) {
			for (int k = 0; k < 2; k++)
				if (p[k].revents & POLLIN)
					read_one(&g, k == 1);
		}
	}
	printf("sent=%u dropped=%u srs_sent=%u srs_seen=%u rr_with_lsr=%u rtp_seen=%u\n", sent, dropped,
	       g.srs_sent, g.srs_seen, g.rr_with_lsr, g.rtp_seen);
	if (g.have_tx)
		srtp_dealloc(g.tx);
	if (g.have_rx)
		srtp_dealloc(g.rx);
	srtp_shutdown();
	return 0;
}
