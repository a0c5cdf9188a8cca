/* The text of the control protocol (line.h): splitting a request line
 * into words, reading a call number, and leaving a password out of a URI
 * put in an answer. Every byte is checked before anything is taken from
 * it, so what a command receives is printable ASCII without spaces, and a
 * line that is too long or has too many words is refused whole rather
 * than cut. */
#include "line.h"

#include <stdio.h>
#include <string.h>

static int printable(unsigned char ch) { return ch > 0x20 && ch < 0x7f; }

int control_word_valid(const char *word)
{
	if (!word || !word[0])
		return 0;
	for (const unsigned char *p = (const unsigned char *)word; *p; p++)
		if (!printable(*p))
			return 0;
	return 1;
}

int control_line_split(char *line, size_t len, char **argv, const char **why)
{
	if (len >= CONTROL_LINE_MAX) {
		*why = "request line too long";
		return -1;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (!printable(ch) && ch != ' ' && ch != '\t') {
			*why = "request contains a byte that is not printable ASCII";
			return -1;
		}
	}
	line[len] = '\0';
	int argc = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == CONTROL_MAX_ARGS) {
			*why = "too many words in the request";
			return -1;
		}
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (argc == 0) {
		*why = "empty request";
		return -1;
	}
	return argc;
}

int control_call_number(const char *text, uint32_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(text);
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(text[i] - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

void control_uri_without_password(const char *uri, char *out, size_t outlen)
{
	const char *colon = strchr(uri, ':');     /* after the scheme */
	const char *at = colon ? strchr(colon + 1, '@') : NULL;
	const char *pw = colon && at ? memchr(colon + 1, ':', (size_t)(at - colon - 1)) : NULL;
	if (pw)
		snprintf(out, outlen, "%.*s%s", (int)(pw - uri), uri, at);
	else
		snprintf(out, outlen, "%s", uri);
}
