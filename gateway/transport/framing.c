/* Implementation of stream framing. Content-Length is read from the header
 * block directly because the message must be complete before Sofia sees it;
 * the value is still cross-checked by the parser afterwards. */
#include "framing.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const unsigned char *find_header_end(const unsigned char *d, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++) {
		if (d[i] == '\r' && d[i + 1] == '\n' && d[i + 2] == '\r' && d[i + 3] == '\n')
			return d + i;
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
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
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

void framing_next(const unsigned char *data, size_t len, size_t max_msg, struct frame *out)
{
	out->kind = FRAME_NEED_MORE;
	out->length = 0;
	out->error = NULL;

	if (len >= 2 && data[0] == '\r' && data[1] == '\n') {
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

	size_t scan = len < max_msg ? len : max_msg;
	const unsigned char *hend = find_header_end(data, scan);
	if (!hend) {
		if (len >= max_msg) {
			out->kind = FRAME_ERROR;
			out->error = "header block exceeds the message size limit";
		}
		return;
	}
	size_t header_len = (size_t)(hend - data) + 4;

	long long content_length = -1;
	const unsigned char *line = data;
	while (line < hend + 2) {
		const unsigned char *eol = memchr(line, '\n', (size_t)(hend + 2 - line));
		if (!eol)
			break;
		size_t n = (size_t)(eol - line);
		size_t off = header_value_offset(line, n, "Content-Length");
		if (!off)
			off = header_value_offset(line, n, "l");
		if (off) {
			const unsigned char *vend = eol;
			if (vend > line && vend[-1] == '\r')
				vend--;
			long long v = parse_length(line + off, vend);
			if (v < 0) {
				out->kind = FRAME_ERROR;
				out->error = "invalid Content-Length";
				return;
			}
			if (content_length >= 0 && content_length != v) {
				out->kind = FRAME_ERROR;
				out->error = "conflicting Content-Length headers";
				return;
			}
			content_length = v;
		}
		line = eol + 1;
	}
	if (content_length < 0) {
		out->kind = FRAME_ERROR;
		out->error = "missing Content-Length on a stream transport";
		return;
	}
	if ((unsigned long long)content_length > max_msg ||
	    header_len + (size_t)content_length > max_msg) {
		out->kind = FRAME_ERROR;
		out->error = "message exceeds the size limit";
		return;
	}
	size_t total = header_len + (size_t)content_length;
	if (len < total)
		return;
	out->kind = FRAME_MESSAGE;
	out->length = total;
}
