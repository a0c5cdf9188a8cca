/* rtp_probe: a test peer that sends and receives real RTP or SRTP (libsrtp2)
 * (on 127.0.0.1 unless --local and --remote name other IPv4 addresses), for
 * end-to-end media tests through the gateway. It sends
 * --count packets (20 ms apart) whose payload carries a marker, receives for
 * the same time plus a second, and reports what arrived: how many, how many
 * authenticated under --recv, and whether the marker was visible before
 * decryption (it must not be on an SRTP leg), and the longest silence
 * between two packets received (max_gap_ms: media resuming after a
 * failover). --tamper and --replay append a
 * modified or repeated protected packet to test the gateway's checks;
 * --first-seq starts the sequence numbers there (1000 by default), so a
 * run from near 65535 crosses an SRTP rollover.
 *   rtp_probe --bind PORT --to PORT [--send SUITE:BASE64] [--recv SUITE:BASE64]
 *             [--count N] [--ssrc HEX] [--tamper] [--replay]
 *             [--local IPV4] [--remote IPV4] [--first-seq N]
 * Exit 0 when at least half the packets arrived, all authenticated, and no
 * marker leaked; the report line goes to stdout. */
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "srtp_spec.h"

#define MARKER "PCPROBE-PAYLOAD"
#define PAYLOAD 160

struct key {
	bool set;
	srtp_t session;
};

/* "SUITE:base64" -> a libsrtp2 session. */
static int make_key(const char *spec, bool inbound, struct key *k)
{
	if (srtp_spec_session("rtp_probe", spec, inbound, &k->session) < 0)
		return -1;
	k->set = true;
	return 0;
}

/* The first packet's sequence number (--first-seq): near 65535, the
 * packets cross an SRTP rollover within the run. */
static unsigned first_seq = 1000;

/* RTP packet number i: PCMU, 20 ms of timestamp per packet, marked payload. */
static int build_packet(uint8_t *pkt, unsigned i, uint32_t ssrc)
{
	uint16_t seq = (uint16_t)(first_seq + i);
	uint32_t ts = i * 160, s = htonl(ssrc);
	memset(pkt, 0, 12 + PAYLOAD);
	pkt[0] = 0x80;
	pkt[1] = 0;
	pkt[2] = (uint8_t)(seq >> 8);
	pkt[3] = (uint8_t)seq;
	pkt[4] = (uint8_t)(ts >> 24);
	pkt[5] = (uint8_t)(ts >> 16);
	pkt[6] = (uint8_t)(ts >> 8);
	pkt[7] = (uint8_t)ts;
	memcpy(pkt + 8, &s, 4);
	snprintf((char *)pkt + 12, PAYLOAD, MARKER " %u", i);
	return 12 + PAYLOAD;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bind", required_argument, NULL, 'b' }, { "to", required_argument, NULL, 't' },
		{ "send", required_argument, NULL, 's' }, { "recv", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' }, { "ssrc", required_argument, NULL, 'S' },
		{ "tamper", no_argument, NULL, 'T' }, { "replay", no_argument, NULL, 'R' },
		{ "local", required_argument, NULL, 'l' }, { "remote", required_argument, NULL, 'm' },
		{ "first-seq", required_argument, NULL, 'F' }, { NULL, 0, NULL, 0 },
	};
	unsigned bind_port = 0, to_port = 0, count = 50;
	uint32_t ssrc = 0x50524f42;
	const char *send_spec = NULL, *recv_spec = NULL, *local = "127.0.0.1", *remote = "127.0.0.1";
	bool tamper = false, replay = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': bind_port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': to_port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': send_spec = optarg; break;
		case 'r': recv_spec = optarg; break;
		case 'c': count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': ssrc = (uint32_t)strtoul(optarg, NULL, 16); break;
		case 'T': tamper = true; break;
		case 'R': replay = true; break;
		case 'l': local = optarg; break;
		case 'm': remote = optarg; break;
		case 'F': first_seq = (unsigned)strtoul(optarg, NULL, 10) & 0xffff; break;
		default: return 2;
		}
	}
	if (!bind_port || !to_port || count == 0 || count > 10000) {
		fprintf(stderr, "usage: rtp_probe --bind PORT --to PORT [--send S:K] [--recv S:K] [--count N]\n");
		return 2;
	}
	struct key tx = { 0 }, rx = { 0 };
	if (srtp_init() != srtp_err_status_ok ||
	    (send_spec && make_key(send_spec, false, &tx) < 0) ||
	    (recv_spec && make_key(recv_spec, true, &rx) < 0)) {
		fprintf(stderr, "rtp_probe: bad key specification\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((uint16_t)bind_port) };
	struct sockaddr_in gw = { .sin_family = AF_INET, .sin_port = htons((uint16_t)to_port) };
	if (inet_pton(AF_INET, local, &me.sin_addr) != 1 || inet_pton(AF_INET, remote, &gw.sin_addr) != 1) {
		fprintf(stderr, "rtp_probe: --local and --remote take IPv4 addresses\n");
		return 2;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("rtp_probe: bind");
		return 2;
	}

	unsigned sent = 0, received = 0, authenticated = 0, failed = 0, leaked = 0, marked = 0;
	uint64_t last_rx = 0, max_gap = 0;
	uint64_t start = now_ms(), end = start + count * 20 + 1500;
	while (now_ms() < end) {
		uint64_t t = now_ms();
		if (sent < count && t >= start + sent * 20) {
			uint8_t pkt[1500];
			int len = build_packet(pkt, sent, ssrc);
			if (tx.set && srtp_protect(tx.session, pkt, &len) != srtp_err_status_ok)
				return 3;
			sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&gw, sizeof(gw));
			sent++;
			if (sent == count && replay) /* the same protected packet again */
				sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&gw, sizeof(gw));
			if (sent == count && tamper && tx.set) {
				/* A new packet whose ciphertext was changed in flight. */
				len = build_packet(pkt, count, ssrc);
				if (srtp_protect(tx.session, pkt, &len) != srtp_err_status_ok)
					return 3;
				pkt[20] ^= 0x55;
				sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&gw, sizeof(gw));
			}
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5) <= 0)
			continue;
		uint8_t in[1500];
		ssize_t n = recv(fd, in, sizeof(in), 0);
		if (n < 12)
			continue;
		received++;
		if (last_rx && now_ms() - last_rx > max_gap)
			max_gap = now_ms() - last_rx;
		last_rx = now_ms();
		if (memmem(in, (size_t)n, MARKER, strlen(MARKER)))
			leaked++; /* visible before any decryption */
		int len = (int)n;
		if (rx.set) {
			if (srtp_unprotect(rx.session, in, &len) != srtp_err_status_ok) {
				failed++;
				continue;
			}
			authenticated++;
		}
		if (memmem(in, (size_t)len, MARKER, strlen(MARKER)))
			marked++;
	}
	printf("sent=%u received=%u authenticated=%u failed=%u marker_before_decrypt=%u marker=%u "
	       "max_gap_ms=%llu\n",
	       sent, received, authenticated, failed, leaked, marked, (unsigned long long)max_gap);
	if (tx.set)
		srtp_dealloc(tx.session);
	if (rx.set)
		srtp_dealloc(rx.session);
	srtp_shutdown();
	close(fd);
	bool ok = received >= count / 2 && marked == received - failed && failed == 0;
	if (rx.set)
		ok = ok && leaked == 0 && authenticated == received;
	return ok ? 0 : 1;
}
