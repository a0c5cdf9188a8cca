/* Message framing before any parse (RFC 3261 §18.3, RFC 5626 §3.5.1): finds
 * where one message ends in a TCP/TLS byte stream (end of the header block and
 * a mandatory Content-Length) or inside a UDP datagram (a Content-Length
 * larger than the datagram is an error, smaller cuts the trailing octets),
 * refuses anything over the size limit, and counts header lines and Via
 * entries against their caps so that a message too costly to parse never
 * reaches Sofia (whose parse time grows with the square of the header count).
 * Recognises CRLF keep-alives on streams. Pure: bytes in, verdict out; linear
 * in the bytes, also when a stream arrives one byte at a time. */
#ifndef PC_TRANSPORT_FRAMING_H
#define PC_TRANSPORT_FRAMING_H

#include <stddef.h>

enum frame_kind {
	FRAME_NEED_MORE,  /* incomplete: read more bytes */
	FRAME_MESSAGE,    /* a whole message of `length` bytes starts the buffer */
	FRAME_PING,       /* CRLFCRLF keep-alive ping of `length` bytes: answer CRLF */
	FRAME_PONG,       /* a lone CRLF (pong, or stray line end): skip `length` bytes */
	FRAME_ERROR,      /* unrecoverable: drop (datagram) or close (stream); `error` says why */
};

/* Why a message was refused; the transport counts each kind on its own. */
enum frame_refusal {
	REFUSE_NONE,
	REFUSE_HEADERS,  /* more header lines than max_headers */
	REFUSE_VIAS,     /* more Via entries than max_vias */
	REFUSE_LENGTH,   /* Content-Length missing, invalid, conflicting or beyond the data */
	REFUSE_SIZE,     /* over max_message */
	REFUSE_BARE_CR,  /* a CR not followed by LF in the header block */
};

struct frame {
	enum frame_kind kind;
	size_t length;
	const char *error;
	/* For FRAME_ERROR: the status an answer should carry (400, 513), or 0
	 * when no answer is due; the header block (or its start) is the first
	 * `length` bytes, from which the answer's headers can be taken; then
	 * `error` is the answer's reason phrase. */
	int status;
	enum frame_refusal refusal;
};

struct framing_limits {
	size_t max_message;   /* bytes, headers + body */
	unsigned max_headers; /* header lines (folded continuation lines excluded) */
	unsigned max_vias;    /* Via entries, comma-separated ones counted each */
};

/* Per-connection framing state: how far the search for the end of the
 * header block got, so the next read resumes there instead of at byte 0. */
struct framer {
	size_t scanned;                    /* bytes searched for CRLFCRLF */
	size_t header_len;                 /* 0 until the header block is complete */
	unsigned long long content_length; /* valid once header_len is set */
};

static inline void framer_reset(struct framer *f)
{
	f->scanned = 0;
	f->header_len = 0;
	f->content_length = 0;
}

/* Next frame at the start of a stream buffer. After FRAME_MESSAGE, PING or
 * PONG the caller consumes `length` bytes; the framer resets itself. */
void framing_next(struct framer *st, const unsigned char *data, size_t len,
		  const struct framing_limits *lim, struct frame *out);

/* One UDP datagram: FRAME_MESSAGE with the length of the message in it
 * (trailing octets beyond Content-Length are not part of it), or FRAME_ERROR. */
void framing_datagram(const unsigned char *data, size_t len, const struct framing_limits *lim,
		      struct frame *out);

#endif
