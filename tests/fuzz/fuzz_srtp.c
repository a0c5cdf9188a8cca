/* libFuzzer target: SRTP/SRTCP packets as they come off the network. The
 * first byte picks the suite, RTP or RTCP, and an MKI length; the rest is
 * the packet. Properties: unprotect never reads or writes outside the
 * packet, and a packet it refuses is left byte for byte as it was (the
 * relay retries the same buffer under the previous key); the same bytes
 * taken as plaintext, when protect accepts them, come back unchanged
 * through unprotect under the same key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/srtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKT 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > MAX_PKT)
		return 0;
	const uint8_t sel = data[0];
	const uint8_t *pkt = data + 1;
	size_t len = size - 1;
	const bool rtcp = sel & 0x08;
	static const uint8_t mki_lens[4] = { 0, 1, 2, 4 };

	struct pc_srtp_params p;
	memset(&p, 0, sizeof(p));
	p.suite = (enum pc_srtp_suite)((sel & 0x07) % PC_SRTP_SUITE__COUNT);
	p.key_salt_len = pc_srtp_suite_key_salt_len(p.suite);
	for (size_t i = 0; i < p.key_salt_len; i++)
		p.key_salt[i] = (uint8_t)(0x5a ^ i);
	p.mki_len = mki_lens[(sel >> 4) & 3];
	p.mki = p.mki_len ? 7 : 0;

	struct msrtp *in = msrtp_new(&p, true), *out = msrtp_new(&p, false);
	if (in == NULL || out == NULL)
		abort();

	/* Exactly sized copies, so ASan sees any read past the packet. */
	uint8_t *buf = malloc(len ? len : 1), *orig = malloc(len ? len : 1);
	memcpy(buf, pkt, len);
	memcpy(orig, pkt, len);
	size_t n = len;
	enum msrtp_status st = msrtp_unprotect(in, buf, &n, rtcp);
	if (st == MSRTP_OK) {
		if (n > len)
			abort();
	} else if (n != len || memcmp(buf, orig, len) != 0) {
		abort();
	}
	free(buf);

	/* Round trip: the input as plaintext. */
	uint8_t *rt = malloc(len + MSRTP_MAX_TRAILER);
	memcpy(rt, pkt, len);
	n = len;
	if (msrtp_protect(out, rt, &n, len + MSRTP_MAX_TRAILER, rtcp) == MSRTP_OK) {
		if (n > len + MSRTP_MAX_TRAILER)
			abort();
		struct msrtp *in2 = msrtp_new(&p, true);
		if (in2 == NULL || msrtp_unprotect(in2, rt, &n, rtcp) != MSRTP_OK || n != len ||
		    memcmp(rt, orig, len) != 0)
			abort();
		msrtp_free(in2);
	}
	free(rt);
	free(orig);
	msrtp_free(in);
	msrtp_free(out);
	return 0;
}
