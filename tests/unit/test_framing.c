/* Stream framing (RFC 3261 §18.3, RFC 5626 §3.5.1): complete messages,
 * partial input, keep-alives, and every reason to close a connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "transport/framing.h"

#define MAX 4096

static struct frame run(const char *s, size_t max)
{
	struct frame f;
	framing_next((const unsigned char *)s, strlen(s), max, &f);
	return f;
}

static const char OPTIONS[] = "OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
			      "Content-Length: 0\r\n\r\n";

static void whole_message_without_body(void **state)
{
	struct frame f = run(OPTIONS, MAX);
	assert_int_equal(f.kind, FRAME_MESSAGE);
	assert_int_equal(f.length, strlen(OPTIONS));
}

static void message_with_body_and_trailing_bytes(void **state)
{
	const char *m = "MESSAGE sip:a SIP/2.0\r\nContent-Length: 5\r\n\r\nhelloNEXT";
	struct frame f = run(m, MAX);
	assert_int_equal(f.kind, FRAME_MESSAGE);
	assert_int_equal(f.length, strlen(m) - 4);
}

static void body_not_yet_complete(void **state)
{
	struct frame f = run("MESSAGE sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nhello", MAX);
	assert_int_equal(f.kind, FRAME_NEED_MORE);
}

static void headers_not_yet_complete(void **state)
{
	struct frame f = run("OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n", MAX);
	assert_int_equal(f.kind, FRAME_NEED_MORE);
}

static void every_prefix_needs_more(void **state)
{
	char buf[sizeof(OPTIONS)];
	for (size_t n = 1; n < strlen(OPTIONS); n++) {
		struct frame f;
		memcpy(buf, OPTIONS, n);
		framing_next((const unsigned char *)buf, n, MAX, &f);
		assert_int_equal(f.kind, FRAME_NEED_MORE);
	}
}

static void compact_and_spaced_content_length(void **state)
{
	struct frame f = run("MESSAGE sip:a SIP/2.0\r\nl : 2\r\n\r\nhi", MAX);
	assert_int_equal(f.kind, FRAME_MESSAGE);
	assert_int_equal(f.length, strlen("MESSAGE sip:a SIP/2.0\r\nl : 2\r\n\r\nhi"));
	f = run("MESSAGE sip:a SIP/2.0\r\ncontent-length:\t2 \r\n\r\nhi", MAX);
	assert_int_equal(f.kind, FRAME_MESSAGE);
}

static void header_named_like_l_prefix_is_not_content_length(void **state)
{
	/* "Line-Foo" must not be read as the compact "l" header. */
	struct frame f = run("MESSAGE sip:a SIP/2.0\r\nLine-Foo: 9\r\nContent-Length: 0\r\n\r\n", MAX);
	assert_int_equal(f.kind, FRAME_MESSAGE);
}

static void missing_content_length_is_an_error(void **state)
{
	struct frame f = run("OPTIONS sip:gw SIP/2.0\r\nVia: x\r\n\r\n", MAX);
	assert_int_equal(f.kind, FRAME_ERROR);
	assert_non_null(strstr(f.error, "missing Content-Length"));
}

static void invalid_content_length_is_an_error(void **state)
{
	assert_int_equal(run("A sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n", MAX).kind, FRAME_ERROR);
	assert_int_equal(run("A sip:a SIP/2.0\r\nContent-Length: 1x\r\n\r\n", MAX).kind, FRAME_ERROR);
	assert_int_equal(run("A sip:a SIP/2.0\r\nContent-Length: \r\n\r\n", MAX).kind, FRAME_ERROR);
	assert_int_equal(run("A sip:a SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n", MAX).kind,
			 FRAME_ERROR);
}

static void conflicting_content_lengths_are_an_error(void **state)
{
	struct frame f = run("A sip:a SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nxx", MAX);
	assert_int_equal(f.kind, FRAME_ERROR);
	assert_non_null(strstr(f.error, "conflicting"));
}

static void oversized_body_is_refused_before_it_arrives(void **state)
{
	struct frame f = run("A sip:a SIP/2.0\r\nContent-Length: 5000\r\n\r\n", MAX);
	assert_int_equal(f.kind, FRAME_ERROR);
	assert_non_null(strstr(f.error, "size limit"));
}

static void endless_headers_are_refused_at_the_limit(void **state)
{
	char big[MAX + 10];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct frame f = run(big, MAX);
	assert_int_equal(f.kind, FRAME_ERROR);
	f = run(big + 20, MAX); /* below the limit: still waiting */
	assert_int_equal(f.kind, FRAME_NEED_MORE);
}

static void double_crlf_is_a_ping(void **state)
{
	struct frame f = run("\r\n\r\n", MAX);
	assert_int_equal(f.kind, FRAME_PING);
	assert_int_equal(f.length, 4);
}

static void single_crlf_before_a_message_is_skipped(void **state)
{
	struct frame f = run("\r\nOPTIONS sip:gw SIP/2.0\r\n", MAX);
	assert_int_equal(f.kind, FRAME_PONG);
	assert_int_equal(f.length, 2);
	assert_int_equal(run("\r\n", MAX).kind, FRAME_NEED_MORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_message_without_body),
		cmocka_unit_test(message_with_body_and_trailing_bytes),
		cmocka_unit_test(body_not_yet_complete),
		cmocka_unit_test(headers_not_yet_complete),
		cmocka_unit_test(every_prefix_needs_more),
		cmocka_unit_test(compact_and_spaced_content_length),
		cmocka_unit_test(header_named_like_l_prefix_is_not_content_length),
		cmocka_unit_test(missing_content_length_is_an_error),
		cmocka_unit_test(invalid_content_length_is_an_error),
		cmocka_unit_test(conflicting_content_lengths_are_an_error),
		cmocka_unit_test(oversized_body_is_refused_before_it_arrives),
		cmocka_unit_test(endless_headers_are_refused_at_the_limit),
		cmocka_unit_test(double_crlf_is_a_ping),
		cmocka_unit_test(single_crlf_before_a_message_is_skipped),
	};
	return cmocka_run_group_tests_name("framing", tests, NULL, NULL);
}
