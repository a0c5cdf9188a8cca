/* libFuzzer target: a call-state value read back from Redis
 * (cluster/call_codec.c). The input is taken both as a sealed value under
 * a fixed key (nearly everything must fail authentication without reading
 * past the buffer) and as the clear record inside, which a node holding the
 * key might have written wrong. An accepted record must hold only bounded,
 * printable strings and keys of their suite's length, and must read back
 * unchanged once written again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/call_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[CL_CALL_KEY_LEN] = { 7 };

static void check_side(const struct pc_cs_side *d)
{
	if (d->relay_port == 0 ||
	    (d->has_recv && d->recv.key_salt_len != pc_srtp_suite_key_salt_len(d->recv.suite)) ||
	    (d->has_send && d->send.key_salt_len != pc_srtp_suite_key_salt_len(d->send.suite)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pc_call_state s, again;
	static uint8_t out[CL_CALL_SEALED_MAX];
	uint64_t at;
	if (cl_call_open(key, "A", "0123456789abcdef", data, size, &s, &at) == 0)
		abort(); /* a forgery under the key: cannot happen */
	if (cl_call_decode(data, size, &s) < 0)
		return 0;
	if (s.n_streams > PC_CS_STREAMS || !s.legs[0].call_id[0] || !s.legs[1].local_tag[0])
		abort();
	for (unsigned i = 0; i < s.n_streams; i++)
		for (int k = 0; k < 2; k++)
			check_side(&s.streams[i].side[k]);
	int n = cl_call_encode(&s, out, sizeof(out));
	if (n < 0 || cl_call_decode(out, (size_t)n, &again) < 0 || memcmp(&s, &again, sizeof(s)) != 0)
		abort();
	int m = cl_call_seal(key, "A", 1780000000, &s, out, sizeof(out));
	if (m < 0 || cl_call_open(key, "A", s.id, out, (size_t)m, &again, &at) < 0 || at != 1780000000 ||
	    memcmp(&s, &again, sizeof(s)) != 0)
		abort();
	return 0;
}
