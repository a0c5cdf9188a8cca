/* Implementation of framing. Content-Length is read from the header block
 * directly because the message must be complete before Sofia sees it; the
 * value is still cross-checked by the parser afterwards. Every step is one
 * pass over bytes not examined before: the header-end search resumes where
 * the previous read left it, and the header lines are counted once per
 * message, when their end is known. */
#include "framing.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* The CRLFCRLF ending the header block, searched in [from, len). */
static const unsigned char *find_header_end(const unsigned char *d, size_t from, size_t len)
{
	for (size_t i = from; i + 3 < len; i++) {
		const unsigned char *cr = memchr(d + i, '\r', len - 3 - i);
		if (!cr)
			return NULL;
		i = (size_t)(cr - d);
		if (cr[1] == '\n' && cr[2] == '\r' && cr[3] == '\n')
			return cr;
	}
	return NULL;
}

/* Does the line at p (of length n) start with header name `name` followed by
 * optional whitespace and a colon? Returns the offset after the colon, or 0. */
static size_t header_value_offset(const unsigned char *p, size_t n, const char *name)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp((const char *)p, name, nl) != 0)
		return 0;
	size_t i = nl;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < n && p[i] == ':')
		return i + 1;
	return 0;
}

/* Parses the Content-Length value in [p, end). -1 if not a plain decimal. */
static long long parse_length(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	if (p == end || end - p > 10)
		return -1;
	long long v = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* Commas separating Via entries in [p, end); commas inside a quoted
 * parameter value do not separate. */
static unsigned count_commas(const unsigned char *p, const unsigned char *end)
{
	unsigned n = 0;
	bool quoted = false;
	for (; p < end; p++) {
		if (quoted && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == ',')
			n++;
	}
	return n;
}

struct header_scan {
	long long content_length; /* -1 when absent */
	const char *error;        /* set when the block is refused */
	enum frame_refusal refusal;
	int status;
	size_t stopped_at;        /* bytes examined when refused */
};

static void refuse(struct header_scan *hs, enum frame_refusal why, int status, const char *error)
{
	hs->refusal = why;
	hs->status = status;
	hs->error = error;
}

/* Whether the line [p, p + n) (its LF excluded) holds a CR anywhere but as
 * its last byte. Sofia ends a line at a lone CR too: lines counted here
 * only at LF would let thousands of headers hide between two LFs and bring
 * back the parse cost the caps are for. RFC 3261 ends lines with CRLF. */
static bool bare_cr(const unsigned char *p, size_t n)
{
	const unsigned char *cr = n ? memchr(p, '\r', n) : NULL;
	return cr && cr != p + n - 1;
}

/* One pass over the lines of [d, d + len): the start line, then header lines
 * (a line starting with SP or HT continues the previous one). A bare CR
 * anywhere in the block refuses it, unanswered: an answer would have to be
 * built from lines Sofia would split otherwise. */
static void scan_headers(const unsigned char *d, size_t len, const struct framing_limits *lim,
			 int length_status, struct header_scan *hs)
{
	const unsigned char *end = d + len;
	const unsigned char *line = memchr(d, '\n', len);
	unsigned headers = 0, vias = 0;
	bool in_via = false;

	memset(hs, 0, sizeof(*hs));
	hs->content_length = -1;
	if (bare_cr(d, (size_t)((line ? line : end) - d))) {
		refuse(hs, REFUSE_BARE_CR, 0, "bare CR in the start line");
		return;
	}
	line = line ? line + 1 : end; /* skip the start line */
	while (line < end) {
		const unsigned char *eol = memchr(line, '\n', (size_t)(end - line));
		const unsigned char *next = eol ? eol + 1 : end;
		size_t n = (size_t)((eol ? eol : end) - line);
		hs->stopped_at = (size_t)(next - d);
		if (n == 0 || (n == 1 && line[0] == '\r'))
			break; /* the empty line */
		if (bare_cr(line, n)) {
			refuse(hs, REFUSE_BARE_CR, 0, "bare CR in a header line");
			return;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (in_via)
				vias += count_commas(line, line + n);
		} else if (++headers > lim->max_headers) {
			refuse(hs, REFUSE_HEADERS, 513, "Too Many Header Fields");
			return;
		} else {
			size_t off = header_value_offset(line, n, "Via");
			if (!off)
				off = header_value_offset(line, n, "v");
			in_via = off != 0;
			if (in_via)
				vias += 1 + count_commas(line + off, line + n);
			off = in_via ? 0 : header_value_offset(line, n, "Content-Length");
			if (!off && !in_via)
				off = header_value_offset(line, n, "l");
			if (off) {
				long long v = parse_length(line + off, line + n);
				if (v < 0) {
					refuse(hs, REFUSE_LENGTH, length_status,
					       length_status ? "Malformed Content-Length Header"
							     : "invalid Content-Length");
					return;
				}
				if (hs->content_length >= 0 && hs->content_length != v) {
					refuse(hs, REFUSE_LENGTH, length_status,
					       length_status ? "Conflicting Content-Length Headers"
							     : "conflicting Content-Length headers");
					return;
				}
				hs->content_length = v;
			}
		}
		if (vias > lim->max_vias) {
			refuse(hs, REFUSE_VIAS, 513, "Too Many Via Entries");
			return;
		}
		line = next;
	}
	hs->stopped_at = len;
}

static void frame_init(struct frame *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = FRAME_NEED_MORE;
}

static void frame_refused(struct frame *out, const struct header_scan *hs)
{
	out->kind = FRAME_ERROR;
	out->error = hs->error;
	out->status = hs->status;
	out->refusal = hs->refusal;
	out->length = hs->stopped_at;
}

static void frame_error(struct frame *out, enum frame_refusal why, const char *error)
{
	out->kind = FRAME_ERROR;
	out->refusal = why;
	out->error = error;
}

void framing_next(struct framer *st, const unsigned char *data, size_t len,
		  const struct framing_limits *lim, struct frame *out)
{
	size_t max_msg = lim->max_message;

	frame_init(out);
	if (st->scanned == 0 && len >= 2 && data[0] == '\r' && data[1] == '\n') {
		if (len >= 4 && data[2] == '\r' && data[3] == '\n') {
			out->kind = FRAME_PING;
			out->length = 4;
		} else if (len >= 3) {
			out->kind = FRAME_PONG;
			out->length = 2;
		}
		/* "\r\n" alone: could be the start of a ping; wait. */
		return;
	}

	if (!st->header_len) {
		size_t scan = len < max_msg ? len : max_msg;
		/* The terminator may straddle the previous read: back up 3 bytes. */
		size_t from = st->scanned > 3 ? st->scanned - 3 : 0;
		const unsigned char *hend = find_header_end(data, from, scan);
		if (!hend) {
			st->scanned = scan;
			if (len >= max_msg)
				frame_error(out, REFUSE_SIZE, "header block exceeds the message size limit");
			return;
		}
		struct header_scan hs;
		scan_headers(data, (size_t)(hend - data) + 2, lim, 0, &hs);
		if (hs.error) {
			frame_refused(out, &hs);
			return;
		}
		if (hs.content_length < 0) {
			frame_error(out, REFUSE_LENGTH, "missing Content-Length on a stream transport");
			return;
		}
		st->header_len = (size_t)(hend - data) + 4;
		st->content_length = (unsigned long long)hs.content_length;
	}
	if (st->content_length > max_msg || st->header_len + st->content_length > max_msg) {
		frame_error(out, REFUSE_SIZE, "message exceeds the size limit");
		return;
	}
	size_t total = st->header_len + (size_t)st->content_length;
	if (len < total)
		return;
	out->kind = FRAME_MESSAGE;
	out->length = total;
	framer_reset(st);
}

void framing_datagram(const unsigned char *data, size_t len, const struct framing_limits *lim,
		      struct frame *out)
{
	frame_init(out);
	if (len == 0) {
		frame_error(out, REFUSE_LENGTH, "empty datagram");
		return;
	}
	if (len > lim->max_message) {
		frame_error(out, REFUSE_SIZE, "datagram exceeds the message size limit");
		return;
	}
	/* A datagram may end without the empty line: then it is all headers. */
	const unsigned char *hend = find_header_end(data, 0, len);
	size_t block = hend ? (size_t)(hend - data) + 2 : len;
	size_t header_len = hend ? block + 2 : len;
	struct header_scan hs;
	scan_headers(data, block, lim, 400, &hs);
	if (hs.error) {
		frame_refused(out, &hs);
		return;
	}
	if (hs.content_length < 0) {
		out->kind = FRAME_MESSAGE;
		out->length = len;
		return;
	}
	/* RFC 3261 §18.3: a datagram shorter than its Content-Length is an
	 * error (answered 400), octets beyond it are discarded. */
	if ((unsigned long long)hs.content_length > len - header_len) {
		hs.stopped_at = block;
		refuse(&hs, REFUSE_LENGTH, 400, "Content-Length Exceeds the Datagram");
		frame_refused(out, &hs);
		return;
	}
	out->kind = FRAME_MESSAGE;
	out->length = header_len + (size_t)hs.content_length;
}
