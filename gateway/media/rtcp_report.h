/* Reading RTCP sender and receiver reports (RFC 3550 §6.4) out of a compound
 * packet, for the relay's per-call quality figures. Pure and bounded: no
 * allocation, no state, every length field checked against the bytes there
 * are. On a secure side it is only ever given a packet that SRTCP already
 * authenticated and decrypted; anything it refuses is still relayed (the
 * peers may understand it), it is just not believed. */
#ifndef PC_MEDIA_RTCP_REPORT_H
#define PC_MEDIA_RTCP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Report blocks kept per compound packet; more are counted, not kept (a
 * relayed call reports on one or two sources). */
#define RTCP_REPORT_MAX_BLOCKS 4

/* One report block (RFC 3550 §6.4.1): what the reporter received from
 * `ssrc`. */
struct rtcp_block {
	uint32_t ssrc;
	uint8_t fraction;     /* lost since the previous report, in 1/256 */
	int32_t cum_lost;     /* 24-bit signed: duplicates can make it negative */
	uint32_t ext_max_seq;
	uint32_t jitter;      /* interarrival jitter, timestamp units */
	uint32_t lsr;         /* middle 32 bits of the NTP time of the last SR received, 0 = none */
	uint32_t dlsr;        /* delay since that SR, 1/65536 s */
};

struct rtcp_summary {
	bool have_sr;
	uint32_t sender_ssrc;  /* of the last SR or RR */
	uint32_t sr_ntp_mid;   /* the last SR's NTP timestamp, middle 32 bits */
	unsigned n_blocks;     /* kept in block[] */
	unsigned blocks_seen;  /* in the packet, kept or not */
	struct rtcp_block block[RTCP_REPORT_MAX_BLOCKS];
};

/* Walks a compound packet: every sub-packet must be version 2 with a length
 * that fits what is left, padding only on the last one and no longer than
 * it, and an SR or RR must hold the report blocks its count announces.
 * 0 with `out` filled (possibly with no report in it), or -1 when the
 * packet is malformed anywhere (then `out` must not be used). */
int rtcp_report_parse(const uint8_t *pkt, size_t len, struct rtcp_summary *out);

#endif
