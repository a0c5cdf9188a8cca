/* Framing (RFC 3261 §18.3, RFC 5626 §3.5.1): complete messages, partial
 * input, keep-alives, every reason to close a connection, the header and Via
 * caps, datagrams against their Content-Length, and a search that resumes
 * where the previous read stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport/framing.h"

#define MAX 4096

static const struct framing_limits LIMITS = { .max_message = MAX, .max_headers = 256, .max_vias = 64 };

static struct frame run(const char *s, size_t max)
{
	struct frame f;
	struct framer st = { 0 };
	struct framing_limits lim = LIMITS;
	lim.max_message = max;
	framing_next(&st, (const unsigned char *)s, strlen(s), &lim, &f);
	return f;
}

static struct frame dgram(const char *s)
{
	struct frame f;
	framing_datagram((const unsigned char *)s, strlen(s), &LIMITS, &f);
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
		struct framer st = { 0 };
		memcpy(buf, OPTIONS, n);
		framing_next(&st, (const unsigned char *)buf, n, &LIMITS, &f);
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

/* A message with `headers` header lines after the start line (the first a
 * Via), each `extra` appended to a Via line. Caller frees. */
static char *message_with(unsigned headers, unsigned vias, const char *via_value)
{
	size_t cap = 64 + (size_t)headers * 32 + (size_t)vias * (strlen(via_value) + 16);
	char *m = malloc(cap);
	size_t n = (size_t)snprintf(m, cap, "OPTIONS sip:gw SIP/2.0\r\n");
	for (unsigned i = 0; i < vias; i++)
		n += (size_t)snprintf(m + n, cap - n, "Via: %s\r\n", via_value);
	for (unsigned i = vias; i + 1 < headers; i++)
		n += (size_t)snprintf(m + n, cap - n, "X-H%u: y\r\n", i);
	snprintf(m + n, cap - n, "Content-Length: 0\r\n\r\n");
	return m;
}

static void header_lines_are_capped_before_the_parse(void **state)
{
	char *ok = message_with(256, 1, "SIP/2.0/TCP h");
	char *over = message_with(257, 1, "SIP/2.0/TCP h");
	assert_int_equal(run(ok, 65535).kind, FRAME_MESSAGE);
	struct frame f = run(over, 65535);
	assert_int_equal(f.kind, FRAME_ERROR);
	assert_int_equal(f.refusal, REFUSE_HEADERS);
	assert_int_equal(f.status, 513); /* answerable: the start and first headers are there */
	assert_true(f.length > 0 && f.length <= strlen(over));
	f = dgram(over);
	assert_int_equal(f.kind, FRAME_ERROR);
	assert_int_equal(f.refusal, REFUSE_HEADERS);
	assert_int_equal(dgram(ok).kind, FRAME_MESSAGE);
	free(ok);
	free(over);
}

/* Sofia ends a line at a lone CR: headers joined by CRs alone would pass a
 * count made at LFs and cost the quadratic parse again. Refused, unanswered,
 * in the start line and in header lines, on streams and datagrams. */
static void bare_cr_in_the_header_block_is_refused(void **state)
{
	static const char *const bad[] = {
		"OPTIONS sip:gw SIP/2.0\rX0: a\rX1: a\r\nContent-Length: 0\r\n\r\n",
		"OPTIONS sip:gw SIP/2.0\r\nX0: a\rVia: b\rVia: c\r\nContent-Length: 0\r\n\r\n",
		"OPTIONS sip:gw SIP/2.0\r\nX0: a\r\r\nContent-Length: 0\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct frame f = run(bad[i], 65535);
		assert_int_equal(f.kind, FRAME_ERROR);
		assert_int_equal(f.refusal, REFUSE_BARE_CR);
		assert_int_equal(f.status, 0);
		f = dgram(bad[i]);
		assert_int_equal(f.kind, FRAME_ERROR);
		assert_int_equal(f.refusal, REFUSE_BARE_CR);
	}
	/* CRLF everywhere, and bare LF (which both count as a line end), pass;
	 * a CR in the body is the body's business. */
	assert_int_equal(dgram("OPTIONS sip:gw SIP/2.0\nX0: a\nContent-Length: 0\n\n").kind,
			 FRAME_MESSAGE);
	assert_int_equal(dgram("MESSAGE sip:gw SIP/2.0\r\nContent-Length: 3\r\n\r\na\rb").kind,
			 FRAME_MESSAGE);
}

static void folded_lines_are_not_headers(void **state)
{
	const char *m = "OPTIONS sip:gw SIP/2.0\r\nSubject: a\r\n b\r\n c\r\nContent-Length: 0\r\n\r\n";
	struct framing_limits lim = LIMITS;
	struct framer st = { 0 };
	struct frame f;
	lim.max_headers = 2;
	framing_next(&st, (const unsigned char *)m, strlen(m), &lim, &f);
	assert_int_equal(f.kind, FRAME_MESSAGE);
}

static void via_entries_are_capped_lines_and_commas(void **state)
{
	char *lines = message_with(70, 65, "SIP/2.0/UDP h");
	assert_int_equal(dgram(lines).refusal, REFUSE_VIAS);
	assert_int_equal(dgram(lines).status, 513);
	free(lines);
	char *ok = message_with(70, 64, "SIP/2.0/UDP h");
	assert_int_equal(dgram(ok).kind, FRAME_MESSAGE);
	free(ok);
	/* 64 entries in one line pass; 65, or 64 plus a folded one, do not. */
	char value[2048] = "SIP/2.0/UDP h";
	size_t vn = strlen(value);
	for (int i = 1; i < 64; i++)
		vn += (size_t)snprintf(value + vn, sizeof(value) - vn, ",SIP/2.0/UDP h");
	char *one = message_with(3, 1, value);
	assert_int_equal(dgram(one).kind, FRAME_MESSAGE);
	free(one);
	snprintf(value + vn, sizeof(value) - vn, "\r\n ,SIP/2.0/UDP h");
	char *folded = message_with(3, 1, value);
	assert_int_equal(dgram(folded).refusal, REFUSE_VIAS);
	free(folded);
	/* A comma inside a quoted parameter value separates nothing. */
	char *quoted = message_with(3, 1, "SIP/2.0/UDP h;x=\",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\"");
	assert_int_equal(dgram(quoted).kind, FRAME_MESSAGE);
	free(quoted);
}

static void datagram_shorter_than_its_content_length_is_refused_400(void **state)
{
	struct frame f = dgram("INVITE sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nContent-Length: 10\r\n\r\nshort");
	assert_int_equal(f.kind, FRAME_ERROR);
	assert_int_equal(f.refusal, REFUSE_LENGTH);
	assert_int_equal(f.status, 400);
	f = dgram("INVITE sip:a SIP/2.0\r\nl: -3\r\n\r\n");
	assert_int_equal(f.status, 400);
	f = dgram("INVITE sip:a SIP/2.0\r\nl: 3\r\nContent-Length: 5\r\n\r\nabcde");
	assert_int_equal(f.status, 400);
}

static void datagram_octets_beyond_content_length_are_cut(void **state)
{
	const char *m = "REGISTER sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\nINVITE sip:b SIP/2.0\r\n";
	struct frame f = dgram(m);
	assert_int_equal(f.kind, FRAME_MESSAGE);
	assert_int_equal(f.length, strstr(m, "INVITE") - m);
	/* No Content-Length, or no empty line: the whole datagram. */
	const char *nocl = "OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\nbody";
	const char *noend = "OPTIONS sip:a SIP/2.0\r\nl: 0\r\n";
	assert_int_equal(dgram(nocl).length, strlen(nocl));
	assert_int_equal(dgram(noend).kind, FRAME_MESSAGE);
	assert_int_equal(dgram(noend).length, strlen(noend));
	assert_int_equal(dgram("").kind, FRAME_ERROR); /* never a message of no bytes */
}

/* RFC 3261 allows a stream to arrive a byte at a time: each read must look
 * only at the bytes it added, not search the header block from byte 0. */
static void byte_by_byte_search_resumes_where_it_stopped(void **state)
{
	char *m = message_with(200, 1, "SIP/2.0/TCP h");
	size_t len = strlen(m);
	size_t header_end = (size_t)(strstr(m, "\r\n\r\n") - m);
	struct framer st = { 0 };
	struct frame f;
	for (size_t n = 1; n < len; n++) {
		framing_next(&st, (const unsigned char *)m, n, &LIMITS, &f);
		assert_int_equal(f.kind, FRAME_NEED_MORE);
		if (n < header_end + 4)
			assert_int_equal(st.scanned, n); /* everything before was searched once */
	}
	framing_next(&st, (const unsigned char *)m, len, &LIMITS, &f);
	assert_int_equal(f.kind, FRAME_MESSAGE);
	assert_int_equal(f.length, len);
	assert_int_equal(st.scanned, 0); /* ready for the next message */
	free(m);
}

/* The same, measured: 40,000 one-byte reads of short header lines cost
 * linear time (about 1 ms); a search from byte 0 on each read costs
 * 40,000 x 8,000 line ends (hundreds of ms, seconds under ASan). CPU time,
 * not wall time, so a loaded machine does not fail it. */
static void byte_by_byte_framing_costs_linear_time(void **state)
{
	enum { LEN = 40000 };
	unsigned char *m = malloc(LEN);
	memcpy(m, "OPTIONS sip:gw SIP/2.0\r\n", 24);
	for (size_t i = 24; i + 5 <= LEN; i += 5)
		memcpy(m + i, "X:y\r\n", 5);
	struct framing_limits lim = LIMITS;
	lim.max_message = 65535;
	struct framer st = { 0 };
	struct frame f;
	clock_t t0 = clock();
	for (size_t n = 1; n <= LEN - LEN % 5; n++) {
		framing_next(&st, m, n, &lim, &f);
		assert_int_equal(f.kind, FRAME_NEED_MORE);
	}
	double ms = (double)(clock() - t0) * 1000.0 / CLOCKS_PER_SEC;
	free(m);
	assert_true(ms < 100.0);
}

static void body_wait_does_not_rescan_headers(void **state)
{
	const char *m = "MESSAGE sip:a SIP/2.0\r\nContent-Length: 5\r\n\r\nhello";
	size_t hl = strlen(m) - 5;
	struct framer st = { 0 };
	struct frame f;
	framing_next(&st, (const unsigned char *)m, hl + 1, &LIMITS, &f);
	assert_int_equal(f.kind, FRAME_NEED_MORE);
	assert_int_equal(st.header_len, hl);
	assert_int_equal(st.content_length, 5);
	framing_next(&st, (const unsigned char *)m, strlen(m), &LIMITS, &f);
	assert_int_equal(f.kind, FRAME_MESSAGE);
	assert_int_equal(st.header_len, 0);
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
		cmocka_unit_test(header_lines_are_capped_before_the_parse),
		cmocka_unit_test(bare_cr_in_the_header_block_is_refused),
		cmocka_unit_test(folded_lines_are_not_headers),
		cmocka_unit_test(via_entries_are_capped_lines_and_commas),
		cmocka_unit_test(datagram_shorter_than_its_content_length_is_refused_400),
		cmocka_unit_test(datagram_octets_beyond_content_length_are_cut),
		cmocka_unit_test(byte_by_byte_search_resumes_where_it_stopped),
		cmocka_unit_test(byte_by_byte_framing_costs_linear_time),
		cmocka_unit_test(body_wait_does_not_rescan_headers),
	};
	return cmocka_run_group_tests_name("framing", tests, NULL, NULL);
}
