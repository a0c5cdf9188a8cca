/* Splitting a control request line into words (line.h). Every byte is
 * checked before anything is taken from it, so what a command receives is
 * printable ASCII without spaces, and a line that is too long or has too
 * many words is refused whole rather than cut. */
#include "line.h"

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
