/* The text of the control protocol. A request (docs/operations.md,
 * portcullisctl(8)) is one line of at most CONTROL_LINE_MAX bytes with its
 * LF, words of printable ASCII separated by spaces or tabs, at most
 * CONTROL_MAX_ARGS of them, the first the command. Pure: the gateway's
 * control socket and portcullisctl check requests with the same code, and
 * the unit tests (tests/unit/test_control.c) and the fuzz target need no
 * socket. */
#ifndef PC_CONTROL_LINE_H
#define PC_CONTROL_LINE_H

#include <stddef.h>
#include <stdint.h>

#define CONTROL_LINE_MAX 512 /* bytes of a request, its LF included */
#define CONTROL_MAX_ARGS 8   /* words of a request, the command included */

/* Splits `line` (len bytes, without its LF; a CR before the LF may end it)
 * in place into at most CONTROL_MAX_ARGS NUL-terminated words in argv.
 * `line` must have room for len + 1 bytes. Returns the number of words
 * (>= 1), or -1 with *why set: empty, too long, a byte that is not
 * printable ASCII (control characters, NUL, 8-bit), too many words. */
int control_line_split(char *line, size_t len, char **argv, const char **why);

/* Whether `word` may travel as one word of a request (non-empty, printable
 * ASCII other than space). */
int control_word_valid(const char *word);

/* The call number in `text` (decimal digits only, 1 to 4294967295): 0,
 * or -1 for anything else (signs, spaces, hex, overflow). */
int control_call_number(const char *text, uint32_t *out);

/* `uri` without a password in its user part (sip:user:secret@host becomes
 * sip:user@host), into out (truncated to outlen). */
void control_uri_without_password(const char *uri, char *out, size_t outlen);

#endif
