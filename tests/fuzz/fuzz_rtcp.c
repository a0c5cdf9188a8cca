/* libFuzzer target: RTCP compound packets as a peer sends them, through the
 * report parser and then the relay's quality bookkeeping (a side pair on
 * the stack, as the relay would call it). Properties: nothing is read past
 * the packet, the parser keeps no more blocks than it may and never counts
 * more than the bytes could hold, and the figures read back stay sane. The
 * same bytes are also fed as RTP to the receive statistics. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/media_int.h"
#include "media/rtcp_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKT 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_PKT)
		return 0;
	/* A copy of exactly the input's size, so ASan sees any overread. */
	uint8_t *pkt = malloc(size ? size : 1);
	if (pkt == NULL)
		return 0;
	if (size)
		memcpy(pkt, data, size);

	struct rtcp_summary sum;
	if (rtcp_report_parse(pkt, size, &sum) == 0) {
		if (sum.n_blocks > RTCP_REPORT_MAX_BLOCKS || sum.n_blocks > sum.blocks_seen ||
		    (size_t)sum.blocks_seen * 24 > size)
			abort();
	}

	static struct media_stream s;
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 2; i++) {
		s.side[i].s = &s;
		s.side[i].id = (enum media_side)i;
		s.side[i].codec_pt = 0;
		s.side[i].clock_rate = 8000;
	}
	uint64_t now = 1000000;
	quality_rtcp(&s.side[0], &s.side[1], pkt, size, now);
	quality_rtcp(&s.side[1], &s.side[0], pkt, size, now + 250000);
	/* Every 12-byte window as an RTP header, as if packets arrived 20 ms
	 * apart: sequence, duplicate and jitter arithmetic on arbitrary
	 * numbers. */
	for (size_t at = 0; at + 12 <= size; at += 12)
		quality_rtp(&s.side[0], pkt + at, now + at * 1667);
	struct media_quality q;
	if (media_stream_quality(&s, MEDIA_SIDE_A, &q) != 0 || q.lost > q.expected ||
	    q.fraction_lost < 0 || q.fraction_lost > 1 || (q.has_mos && (q.mos < 1 || q.mos > 4.5)))
		abort();
	free(pkt);
	return 0;
}
