/* The RTCP report parser (rtcp_report.h): one linear walk over a compound
 * packet (RFC 3550 §6.1, the validity checks of its Appendix A.2 less the
 * "first packet is SR or RR" rule, which RFC 5506 reduced-size RTCP
 * relaxes), taking the sender's NTP time from an SR and the report blocks
 * of SRs and RRs. Every read is bounded by the sub-packet's checked
 * length, which is bounded by the datagram's. */
#include "rtcp_report.h"

#include <string.h>

#define RTCP_SR 200
#define RTCP_RR 201
#define RTCP_HDR 8        /* V/P/RC, PT, length, SSRC of the sender */
#define SR_INFO 20        /* NTP (8), RTP timestamp, packet and octet counts */
#define BLOCK_LEN 24

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void read_block(const uint8_t *p, struct rtcp_block *b)
{
	b->ssrc = get32(p);
	b->fraction = p[4];
	uint32_t cum = (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	/* Sign-extend the 24-bit two's complement count. */
	b->cum_lost = (cum & 0x800000u) ? (int32_t)cum - 0x1000000 : (int32_t)cum;
	b->ext_max_seq = get32(p + 8);
	b->jitter = get32(p + 12);
	b->lsr = get32(p + 16);
	b->dlsr = get32(p + 20);
}

/* One SR or RR of `size` bytes (padding removed), `rc` blocks announced. */
static int read_report(const uint8_t *p, size_t size, unsigned pt, unsigned rc,
		       struct rtcp_summary *out)
{
	size_t at = RTCP_HDR + (pt == RTCP_SR ? SR_INFO : 0);
	/* The count must fit the packet; bytes past the blocks are profile
	 * extensions (RFC 3550 §6.4.1), allowed and ignored. */
	if (size < at || (size - at) / BLOCK_LEN < rc)
		return -1;
	out->sender_ssrc = get32(p + 4);
	if (pt == RTCP_SR) {
		out->have_sr = true;
		out->sr_ntp_mid = get32(p + 10);
	}
	for (unsigned i = 0; i < rc; i++, at += BLOCK_LEN) {
		out->blocks_seen++;
		if (out->n_blocks < RTCP_REPORT_MAX_BLOCKS)
			read_block(p + at, &out->block[out->n_blocks++]);
	}
	return 0;
}

int rtcp_report_parse(const uint8_t *pkt, size_t len, struct rtcp_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (pkt == NULL || len < RTCP_HDR)
		return -1;
	size_t pos = 0;
	while (pos < len) {
		const uint8_t *p = pkt + pos;
		size_t left = len - pos;
		if (left < 4 || (p[0] >> 6) != 2)
			return -1;
		size_t size = ((size_t)(p[2] << 8 | p[3]) + 1) * 4;
		if (size > left)
			return -1;
		bool padded = p[0] & 0x20;
		if (padded) {
			/* Only the last sub-packet may be padded, and the count
			 * (its last octet) covers at least itself and never the
			 * header. */
			if (size != left)
				return -1;
			unsigned pad = p[size - 1];
			if (pad == 0 || pad > size - 4)
				return -1;
			size -= pad;
		}
		unsigned pt = p[1], rc = p[0] & 0x1f;
		if (pt == RTCP_SR || pt == RTCP_RR) {
			if (read_report(p, size, pt, rc, out) < 0)
				return -1;
		}
		pos += ((size_t)(p[2] << 8 | p[3]) + 1) * 4;
	}
	return 0;
}
