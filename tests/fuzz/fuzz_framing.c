/* libFuzzer target: stream framing on arbitrary bytes, consumed frame by frame
 * exactly as a connection would, with a small size limit so limit paths run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "transport/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct frame f;
		framing_next(data + off, size - off, 2048, &f);
		if (f.kind == FRAME_NEED_MORE || f.kind == FRAME_ERROR)
			break;
		if (f.length == 0 || f.length > size - off)
			abort(); /* a frame must consume bytes that exist */
		off += f.length;
	}
	return 0;
}
