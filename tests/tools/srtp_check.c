/* srtp_check: offline proof that one direction of a captured call leg is real
 * SRTP. It reads a pcap file (as written by tcpdump -w), takes the RTP packets
 * of the UDP flow --flow SRC:DST (RTCP is left out), and checks each one with
 * libsrtp2 under --key SUITE:BASE64 (the SDES key from the SDP). With
 * --plain SRC:DST it also takes the plain RTP flow of the other leg in the
 * same direction and checks that no part of a plain payload is visible in any
 * protected packet, and that every packet decrypts to a payload the plain leg
 * carried (the relay moved the real media, not something else). With
 * --derived the plain flow is instead the relay's output of the protected one
 * (SRTP in, RTP out): then every plain packet must carry a payload that an
 * authenticated packet decrypted to, or the relay forwarded something that
 * never authenticated (protected packets the relay dropped are allowed).
 *   srtp_check --pcap FILE --flow SRC:DST --key SUITE:BASE64
 *              [--plain SRC:DST [--derived]] [--min N]
 * Prints one report line; exit 0 when the flow and the plain flow have at
 * least --min packets (default 50), every packet authenticated, none leaked
 * plaintext, and every decrypted payload matched one of the plain leg (with
 * --derived: every plain payload matched a decrypted one). */
#include <getopt.h>
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srtp_spec.h"

#define MAX_PKT 2048
#define WINDOW 32 /* bytes of a plain payload that must not appear outside */

struct pkt {
	size_t len;
	uint8_t data[MAX_PKT];
};

struct flow {
	unsigned src, dst;
	struct pkt *pkts;
	size_t n, cap;
};

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static int add_pkt(struct flow *f, const uint8_t *udp_payload, size_t len)
{
	if (len > MAX_PKT)
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct pkt *p = realloc(f->pkts, cap * sizeof(*p));
		if (!p)
			return -1;
		f->pkts = p;
		f->cap = cap;
	}
	f->pkts[f->n].len = len;
	memcpy(f->pkts[f->n].data, udp_payload, len);
	f->n++;
	return 0;
}

/* An RTP packet (version 2, not an RTCP packet type as with rtcp-mux). */
static bool is_rtp(const uint8_t *p, size_t len)
{
	if (len < 12 || (p[0] >> 6) != 2)
		return false;
	unsigned pt = p[1] & 0x7f;
	return pt < 72 || pt > 79;
}

/* Offset and length of the payload of an RTP packet; -1 if malformed. */
static int rtp_payload(const uint8_t *p, size_t len, size_t *off, size_t *plen)
{
	size_t h = 12 + 4u * (p[0] & 0x0f);
	if (len < h)
		return -1;
	if (p[0] & 0x10) {
		if (len < h + 4)
			return -1;
		h += 4 + 4u * (((size_t)p[h + 2] << 8) | p[h + 3]);
		if (len < h)
			return -1;
	}
	size_t end = len;
	if (p[0] & 0x20) {
		if (p[len - 1] == 0 || p[len - 1] > len - h)
			return -1;
		end -= p[len - 1];
	}
	*off = h;
	*plen = end - h;
	return 0;
}

/* Reads the UDP/IPv4 packets of the pcap file into the flows that match. */
static int read_pcap(const char *path, struct flow **flows, size_t nflows)
{
	FILE *fp = fopen(path, "rb");
	uint8_t gh[24], rh[16];
	static uint8_t buf[262144];

	if (!fp) {
		perror(path);
		return -1;
	}
	if (fread(gh, 1, sizeof(gh), fp) != sizeof(gh)) {
		fprintf(stderr, "srtp_check: %s: no pcap header\n", path);
		fclose(fp);
		return -1;
	}
	uint32_t magic;
	memcpy(&magic, gh, 4);
	bool swap;
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = false;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = true;
	else {
		fprintf(stderr, "srtp_check: %s: not a pcap file (pcapng is not supported)\n", path);
		fclose(fp);
		return -1;
	}
	uint32_t linktype = rd32(gh + 20, swap) & 0xffff;
	size_t link_hdr;
	switch (linktype) {
	case 0: link_hdr = 4; break;    /* BSD loopback */
	case 1: link_hdr = 14; break;   /* Ethernet (Linux lo) */
	case 12:
	case 101: link_hdr = 0; break;  /* raw IP */
	case 113: link_hdr = 16; break; /* Linux cooked */
	case 276: link_hdr = 20; break; /* Linux cooked v2 */
	default:
		fprintf(stderr, "srtp_check: %s: link type %u not supported\n", path, linktype);
		fclose(fp);
		return -1;
	}

	while (fread(rh, 1, sizeof(rh), fp) == sizeof(rh)) {
		uint32_t incl = rd32(rh + 8, swap);
		if (incl > sizeof(buf) || fread(buf, 1, incl, fp) != incl)
			break;
		if (incl < link_hdr + 28)
			continue;
		const uint8_t *ip = buf + link_hdr;
		size_t iplen = incl - link_hdr;
		if ((ip[0] >> 4) != 4 || ip[9] != 17)
			continue;
		size_t ihl = 4u * (ip[0] & 0x0f);
		size_t total = ((size_t)ip[2] << 8) | ip[3];
		if (ihl < 20 || total > iplen || total < ihl + 8)
			continue;
		if ((((unsigned)ip[6] << 8 | ip[7]) & 0x3fff) != 0)
			continue; /* fragment */
		const uint8_t *udp = ip + ihl;
		unsigned sport = (unsigned)udp[0] << 8 | udp[1], dport = (unsigned)udp[2] << 8 | udp[3];
		size_t ulen = ((size_t)udp[4] << 8) | udp[5];
		if (ulen < 8 || ulen > total - ihl)
			continue;
		for (size_t i = 0; i < nflows; i++) {
			struct flow *f = flows[i];
			if (f->src == sport && f->dst == dport && is_rtp(udp + 8, ulen - 8) &&
			    add_pkt(f, udp + 8, ulen - 8) < 0) {
				fclose(fp);
				return -1;
			}
		}
	}
	fclose(fp);
	return 0;
}

static int parse_ports(const char *s, struct flow *f)
{
	char *end;
	unsigned long a = strtoul(s, &end, 10);
	if (*end != ':' || a == 0 || a > 65535)
		return -1;
	unsigned long b = strtoul(end + 1, &end, 10);
	if (*end || b == 0 || b > 65535)
		return -1;
	f->src = (unsigned)a;
	f->dst = (unsigned)b;
	return 0;
}

/* Whether some WINDOW-byte piece of a plain payload appears in the packet. */
static bool leaks(const struct flow *plain, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < plain->n; i++) {
		size_t off, plen;
		const struct pkt *q = &plain->pkts[i];
		if (rtp_payload(q->data, q->len, &off, &plen) < 0 || plen < WINDOW)
			continue;
		for (size_t w = 0; w + WINDOW <= plen; w += WINDOW)
			if (memmem(p, len, q->data + off + w, WINDOW))
				return true;
	}
	return false;
}

/* Whether the payload of RTP packet p is the payload of a packet of f. */
static bool payload_in(const struct flow *f, const uint8_t *p, size_t len)
{
	size_t off, plen;
	if (rtp_payload(p, len, &off, &plen) < 0)
		return false;
	for (size_t i = 0; i < f->n; i++) {
		size_t qoff, qlen;
		const struct pkt *q = &f->pkts[i];
		if (rtp_payload(q->data, q->len, &qoff, &qlen) == 0 && qlen == plen &&
		    !memcmp(q->data + qoff, p + off, plen))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pcap", required_argument, NULL, 'p' }, { "flow", required_argument, NULL, 'f' },
		{ "key", required_argument, NULL, 'k' }, { "plain", required_argument, NULL, 'P' },
		{ "min", required_argument, NULL, 'm' }, { "derived", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pcap = NULL, *key = NULL;
	struct flow flow = { 0 }, plain = { 0 }, clear = { 0 };
	bool have_flow = false, have_plain = false, derived = false;
	unsigned long min = 50;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': pcap = optarg; break;
		case 'k': key = optarg; break;
		case 'f':
			if (parse_ports(optarg, &flow) < 0)
				goto usage;
			have_flow = true;
			break;
		case 'P':
			if (parse_ports(optarg, &plain) < 0)
				goto usage;
			have_plain = true;
			break;
		case 'm': min = strtoul(optarg, NULL, 10); break;
		case 'd': derived = true; break;
		default: goto usage;
		}
	}
	if (!pcap || !key || !have_flow || optind != argc || (derived && !have_plain))
		goto usage;

	if (srtp_init() != srtp_err_status_ok)
		return 2;
	srtp_t session;
	if (srtp_spec_session("srtp_check", key, true, &session) < 0)
		return 2;
	struct flow *flows[2] = { &flow, &plain };
	if (read_pcap(pcap, flows, have_plain ? 2 : 1) < 0)
		return 2;

	size_t authenticated = 0, failed = 0, leaked = 0, matched = 0, unmatched = 0;
	for (size_t i = 0; i < flow.n; i++) {
		uint8_t copy[MAX_PKT];
		int len = (int)flow.pkts[i].len;
		if (have_plain && leaks(&plain, flow.pkts[i].data, flow.pkts[i].len))
			leaked++;
		memcpy(copy, flow.pkts[i].data, (size_t)len);
		if (srtp_unprotect(session, copy, &len) != srtp_err_status_ok) {
			failed++;
			continue;
		}
		authenticated++;
		if (have_plain && payload_in(&plain, copy, (size_t)len))
			matched++;
		if (add_pkt(&clear, copy, (size_t)len) < 0)
			return 2;
	}
	/* Plain packets whose payload no authenticated packet decrypted to. */
	for (size_t i = 0; derived && i < plain.n; i++)
		if (!payload_in(&clear, plain.pkts[i].data, plain.pkts[i].len))
			unmatched++;
	printf("flow %u->%u: packets=%zu authenticated=%zu failed=%zu", flow.src, flow.dst, flow.n,
	       authenticated, failed);
	if (have_plain)
		printf(" plain %u->%u: packets=%zu leaked=%zu matched=%zu", plain.src, plain.dst, plain.n,
		       leaked, matched);
	if (derived)
		printf(" not_from_authenticated=%zu", unmatched);
	printf("\n");
	srtp_dealloc(session);
	srtp_shutdown();
	bool ok = flow.n >= min && failed == 0 && authenticated == flow.n;
	if (have_plain)
		ok = ok && plain.n >= min && leaked == 0 &&
		     (derived ? unmatched == 0 : matched == authenticated);
	free(flow.pkts);
	free(plain.pkts);
	free(clear.pkts);
	return ok ? 0 : 1;

usage:
	fprintf(stderr, "usage: srtp_check --pcap FILE --flow SRC:DST --key SUITE:BASE64 "
			"[--plain SRC:DST [--derived]] [--min N]\n");
	return 2;
}
