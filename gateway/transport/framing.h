/* Stream framing for SIP over TCP and TLS (RFC 3261 §18.3, RFC 5626 §3.5.1):
 * finds where one message ends in a byte stream, using the end of the header
 * block and a mandatory Content-Length, refuses anything over the size limit,
 * and recognises CRLF keep-alives. Pure: bytes in, verdict out. */
#ifndef PC_TRANSPORT_FRAMING_H
#define PC_TRANSPORT_FRAMING_H

#include <stddef.h>

enum frame_kind {
	FRAME_NEED_MORE,  /* incomplete: read more bytes */
	FRAME_MESSAGE,    /* a whole message of `length` bytes starts the buffer */
	FRAME_PING,       /* CRLFCRLF keep-alive ping of `length` bytes: answer CRLF */
	FRAME_PONG,       /* a lone CRLF (pong, or stray line end): skip `length` bytes */
	FRAME_ERROR,      /* unrecoverable: close the connection; `error` says why */
};

struct frame {
	enum frame_kind kind;
	size_t length;
	const char *error;
};

void framing_next(const unsigned char *data, size_t len, size_t max_msg, struct frame *out);

#endif
