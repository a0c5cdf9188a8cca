/* Implementation of the salvage. The lines are picked by name in one pass;
 * folded continuation lines are left out (a header that needs one then fails
 * to parse and the message is dropped, as one with no answerable headers). */
#include "salvage.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"

/* Is the header line [p, p + n) named `name` (or its compact form `c`)? */
static bool named(const char *p, size_t n, const char *name, const char *c)
{
	size_t colon = 0;
	while (colon < n && p[colon] != ':')
		colon++;
	size_t end = colon;
	while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'))
		end--;
	if (colon == n || end == 0)
		return false;
	return (end == strlen(name) && !strncasecmp(p, name, end)) ||
	       (c && end == strlen(c) && !strncasecmp(p, c, end));
}

msg_t *sipmsg_salvage_request(const char *data, size_t len)
{
	static const char *const keep[][2] = { { "From", "f" }, { "To", "t" },
		{ "Call-ID", "i" }, { "CSeq", NULL } };
	bool kept[4] = { false }, via = false;
	const char *end = data + len;

	if (len < 4 || !strncmp(data, "SIP/", 4))
		return NULL;
	/* Only the cut Via entry and a last line without LF gain a CRLF. */
	char *buf = malloc(len + 16 + sizeof("Content-Length: 0\r\n\r\n"));
	if (!buf)
		return NULL;
	size_t n = 0;
	for (const char *line = data; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *next = eol ? eol + 1 : end;
		size_t ln = (size_t)(next - line);
		bool take = line == data; /* the start line */
		if (!take && line[0] != ' ' && line[0] != '\t') {
			if (!via && named(line, ln, "Via", "v")) {
				/* Only the first entry: the answer goes there. */
				const char *comma = memchr(line, ',', ln);
				if (comma)
					ln = (size_t)(comma - line);
				take = via = true;
			}
			for (unsigned i = 0; !take && i < 4; i++)
				if (!kept[i] && named(line, ln, keep[i][0], keep[i][1]))
					take = kept[i] = true;
		}
		if (take) {
			/* A lone CR is a line end to Sofia: lines could hide in it. */
			const char *cr = memchr(line, '\r', ln);
			if (cr && cr + 1 < line + ln && cr[1] != '\n') {
				free(buf);
				return NULL;
			}
			memcpy(buf + n, line, ln);
			n += ln;
			if (n == 0 || buf[n - 1] != '\n') {
				memcpy(buf + n, "\r\n", 2);
				n += 2;
			}
		}
		line = next;
	}
	memcpy(buf + n, "Content-Length: 0\r\n\r\n", sizeof("Content-Length: 0\r\n\r\n") - 1);
	n += sizeof("Content-Length: 0\r\n\r\n") - 1;
	msg_t *msg = sipmsg_parse(buf, n);
	free(buf);
	if (!msg)
		return NULL;
	sip_t const *sip = sip_object(msg);
	if (!sip->sip_request || !sip->sip_via || !sip->sip_from || !sip->sip_to ||
	    !sip->sip_call_id || !sip->sip_cseq || sip->sip_error) {
		msg_destroy(msg);
		return NULL;
	}
	return msg;
}
