/* libFuzzer target: framing on arbitrary bytes, as one datagram and as a
 * stream consumed frame by frame exactly as a connection would, with small
 * limits so limit paths run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "transport/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct framing_limits lim = { .max_message = 2048, .max_headers = 32,
		.max_vias = 8 };
	struct framer st = { 0 };
	struct frame d;
	size_t off = 0;

	framing_datagram(data, size, &lim, &d);
	if (d.kind == FRAME_MESSAGE && (d.length == 0 || d.length > size))
		abort();
	if (d.kind == FRAME_ERROR && d.length > size)
		abort();
	while (off < size) {
		struct frame f;
		framing_next(&st, data + off, size - off, &lim, &f);
		if (f.kind == FRAME_NEED_MORE || f.kind == FRAME_ERROR)
			break;
		if (f.length == 0 || f.length > size - off)
			abort(); /* a frame must consume bytes that exist */
		off += f.length;
	}
	return 0;
}
