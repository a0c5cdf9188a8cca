/* The control protocol's pure parts (gateway/control/line.c) and its
 * dispatch (control_answer on a command table without a socket): what an
 * operator, or anyone who can reach the socket, may send. Over-long lines,
 * control characters, 8-bit bytes, too many words, junk call numbers and
 * unknown commands are refused with a message; nothing is cut and run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/control.h"
#include "control/line.h"

static int split(const char *text, char **argv, const char **why, char *buf)
{
	size_t len = strlen(text);
	memcpy(buf, text, len + 1);
	return control_line_split(buf, len, argv, why);
}

static void words_are_split_on_spaces_and_tabs(void **state)
{
	char buf[CONTROL_LINE_MAX + 1], *argv[CONTROL_MAX_ARGS];
	const char *why = NULL;
	assert_int_equal(split("  call \t kill   42 ", argv, &why, buf), 3);
	assert_string_equal(argv[0], "call");
	assert_string_equal(argv[1], "kill");
	assert_string_equal(argv[2], "42");
	assert_int_equal(split("counters\r", argv, &why, buf), 1);
	assert_string_equal(argv[0], "counters");
}

static void bad_lines_are_refused_whole(void **state)
{
	char buf[2 * CONTROL_LINE_MAX], *argv[CONTROL_MAX_ARGS];
	const char *why = NULL;
	assert_int_equal(split("", argv, &why, buf), -1);
	assert_string_equal(why, "empty request");
	assert_int_equal(split(" \t \r", argv, &why, buf), -1);
	assert_int_equal(split("calls\x1b[2J", argv, &why, buf), -1);
	assert_non_null(strstr(why, "printable"));
	assert_int_equal(split("log-level d\xc3\xa9""bug", argv, &why, buf), -1);
	assert_int_equal(split("a\rb", argv, &why, buf), -1);
	assert_int_equal(split("a b c d e f g h i", argv, &why, buf), -1);
	assert_non_null(strstr(why, "too many"));
	assert_int_equal(split("a b c d e f g h", argv, &why, buf), CONTROL_MAX_ARGS);
	/* A NUL inside the line is a byte like any other: refused. */
	memcpy(buf, "calls\0x", 7);
	assert_int_equal(control_line_split(buf, 7, argv, &why), -1);
	/* CONTROL_LINE_MAX with the LF: 511 bytes pass, 512 do not. */
	memset(buf, 'a', CONTROL_LINE_MAX);
	assert_int_equal(control_line_split(buf, CONTROL_LINE_MAX - 1, argv, &why), 1);
	memset(buf, 'a', CONTROL_LINE_MAX);
	assert_int_equal(control_line_split(buf, CONTROL_LINE_MAX, argv, &why), -1);
	assert_non_null(strstr(why, "too long"));
}

static void call_numbers_are_decimal_and_in_range(void **state)
{
	uint32_t id = 0;
	assert_int_equal(control_call_number("1", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(control_call_number("4294967295", &id), 0);
	assert_int_equal(id, 4294967295u);
	const char *junk[] = { "", "0", "-1", "+1", "4294967296", "99999999999", "0x10", "1e3",
			       "12a", " 1", "1 ", "%n", "18446744073709551617" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_int_equal(control_call_number(junk[i], &id), -1);
}

static void passwords_are_left_out_of_uris(void **state)
{
	char out[128];
	control_uri_without_password("sip:alice:s3cret@192.0.2.1:5060;transport=udp", out, sizeof(out));
	assert_string_equal(out, "sip:alice@192.0.2.1:5060;transport=udp");
	control_uri_without_password("sip:alice@192.0.2.1:5060", out, sizeof(out));
	assert_string_equal(out, "sip:alice@192.0.2.1:5060");
	control_uri_without_password("sip:192.0.2.1:5060", out, sizeof(out));
	assert_string_equal(out, "sip:192.0.2.1:5060");
	control_uri_without_password("sips:bob:pw:more@example.com", out, sizeof(out));
	assert_null(strstr(out, "pw"));
}

static json_t *echo(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	int *calls = ctx;
	(*calls)++;
	if (!strcmp(argv[argc - 1], "fail")) {
		snprintf(err, errlen, "it failed");
		return NULL;
	}
	return json_pack("{s:i,s:s}", "argc", argc, "last", argv[argc - 1]);
}

static const char *error_of(json_t *doc)
{
	static char text[256];
	const json_t *e = json_object_get(doc, "error");
	snprintf(text, sizeof(text), "%s", json_is_string(e) ? json_string_value(e) : "");
	json_decref(doc);
	return text;
}

static json_t *ask(struct control *c, const char *line)
{
	char buf[CONTROL_LINE_MAX + 1];
	size_t len = strlen(line);
	memcpy(buf, line, len + 1);
	return control_answer(c, buf, len, 0);
}

static void requests_are_dispatched_with_their_argument_counts(void **state)
{
	struct control_config cc = { .socket = "" };
	char err[128];
	int calls = 0;
	struct control *c = control_new(NULL, &cc, 0, 0, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(control_add(c, "echo", 1, 2, "echo A [B]", echo, &calls), 0);
	json_t *doc = ask(c, "echo x y");
	assert_int_equal(json_integer_value(json_object_get(doc, "argc")), 3);
	assert_string_equal(json_string_value(json_object_get(doc, "last")), "y");
	json_decref(doc);
	assert_string_equal(error_of(ask(c, "echo")), "usage: echo A [B]");
	assert_string_equal(error_of(ask(c, "echo a b c")), "usage: echo A [B]");
	assert_string_equal(error_of(ask(c, "echo fail")), "it failed");
	assert_non_null(strstr(error_of(ask(c, "ECHO x")), "unknown command"));
	assert_non_null(strstr(error_of(ask(c, "")), "empty"));
	assert_int_equal(calls, 2); /* refused requests never reach the command */
	doc = ask(c, "help");
	assert_int_equal(json_array_size(json_object_get(doc, "commands")), 2);
	json_decref(doc);
	control_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(words_are_split_on_spaces_and_tabs),
		cmocka_unit_test(bad_lines_are_refused_whole),
		cmocka_unit_test(call_numbers_are_decimal_and_in_range),
		cmocka_unit_test(passwords_are_left_out_of_uris),
		cmocka_unit_test(requests_are_dispatched_with_their_argument_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
