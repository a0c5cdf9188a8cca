/* The call record's JSON line (record/record.c) and its file sink
 * (record/sink.c): exact text for an answered call with null quality
 * fields, every disposition and party named, and what an attacker puts in
 * a From: quotes, CR/LF (raw and %-encoded), control characters, bytes
 * above 0x7f and 4 KB user parts must leave one valid JSON line, ASCII
 * only, no longer than RECORD_LINE_MAX, with the text bounded. The sink
 * appends whole lines and, after the file is moved away and record_reopen
 * runs, writes to a new file at the same path, losing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <math.h>

#include "record/record.h"
#include "record/sink.h"

static struct call_record answered(void)
{
	struct call_record r;
	memset(&r, 0, sizeof(r));
	r.id = 42;
	r.start_ms = 1764751234000;
	r.answer_ms = 1764751235250;
	r.end_ms = 1764751294500;
	r.disposition = RECORD_ANSWERED;
	r.status = 200;
	r.ended_by = RECORD_BY_CALLEE;
	snprintf(r.reason, sizeof(r.reason), "bye");
	record_text(r.caller, sizeof(r.caller), "sip:alice@example.com");
	record_text(r.callee, sizeof(r.callee), "sip:12125551234@127.0.0.1");
	r.asserted = true;
	r.attestation = 'A';
	r.n_legs = 2;
	snprintf(r.legs[0].name, sizeof(r.legs[0].name), "inside");
	r.legs[0].caller = true;
	r.legs[0].transport = PC_TP_UDP;
	r.legs[0].rx_packets = 10;
	r.legs[0].tx_packets = 11;
	snprintf(r.legs[1].name, sizeof(r.legs[1].name), "outside");
	r.legs[1].transport = PC_TP_TLS;
	snprintf(r.legs[1].tls_version, sizeof(r.legs[1].tls_version), "TLS1.3");
	snprintf(r.legs[1].srtp_suite, sizeof(r.legs[1].srtp_suite), "AES_CM_128_HMAC_SHA1_80");
	r.legs[1].has_quality = true;
	r.legs[1].lost = 3;
	r.legs[1].fraction_lost = 0.25;
	r.legs[1].jitter_ms = 4.5;
	r.legs[1].has_mos = true;
	r.legs[1].mos = 4.1;
	r.has_mos = true;
	r.mos = 4.1;
	return r;
}

static void test_exact_line(void **state)
{
	(void)state;
	char line[RECORD_LINE_MAX];
	struct call_record r = answered();
	long n = record_format(&r, line, sizeof(line));
	const char *want =
		"{\"id\":\"42\",\"start_ms\":1764751234000,\"answer_ms\":1764751235250,"
		"\"end_ms\":1764751294500,\"duration_ms\":60500,\"disposition\":\"answered\","
		"\"status\":200,\"ended_by\":\"callee\",\"reason\":\"bye\","
		"\"caller\":\"sip:alice@example.com\",\"callee\":\"sip:12125551234@127.0.0.1\","
		"\"privacy\":false,\"identity\":{\"asserted\":true,\"attestation\":\"A\",\"verstat\":null},"
		"\"legs\":[{\"side\":\"caller\",\"leg\":\"inside\",\"transport\":\"udp\",\"tls_version\":null,"
		"\"srtp_suite\":null,\"rx_packets\":10,\"tx_packets\":11,\"rx_bytes\":null,\"tx_bytes\":null,"
		"\"lost\":null,\"fraction_lost\":null,\"jitter_ms\":null,\"rtt_ms\":null,\"mos\":null},"
		"{\"side\":\"callee\",\"leg\":\"outside\",\"transport\":\"tls\",\"tls_version\":\"TLS1.3\","
		"\"srtp_suite\":\"AES_CM_128_HMAC_SHA1_80\",\"rx_packets\":0,\"tx_packets\":0,"
		"\"rx_bytes\":null,\"tx_bytes\":null,\"lost\":3,\"fraction_lost\":0.25,\"jitter_ms\":4.5,"
		"\"rtt_ms\":null,\"mos\":4.1}],\"mos\":4.1}\n";
	assert_string_equal(line, want);
	assert_int_equal(n, (long)strlen(want));
}

/* Reals as jansson printed them (integral ones with ".0", "%.6g"), a
 * value that is not finite as null (JSON has none), and a buffer too small
 * for the line refused, not cut. */
static void test_reals_and_room(void **state)
{
	(void)state;
	char line[RECORD_LINE_MAX];
	struct call_record r = answered();
	r.legs[1].fraction_lost = 0;
	r.legs[1].jitter_ms = NAN;
	r.legs[1].mos = 4;
	r.legs[1].has_rtt = true;
	r.legs[1].rtt_ms = 1234567.0;
	r.mos = 1.0 / 3.0;
	assert_true(record_format(&r, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\"fraction_lost\":0.0,\"jitter_ms\":null,\"rtt_ms\":1.23457e+06,"
				     "\"mos\":4.0}],\"mos\":0.333333}\n"));
	json_error_t e;
	json_t *j = json_loads(line, 0, &e);
	assert_non_null(j);
	json_decref(j);
	long n = record_format(&r, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal(record_format(&r, line, (size_t)n), -1);
	assert_int_equal(record_format(&r, line, (size_t)n + 1), n);
}

static void test_names_and_nulls(void **state)
{
	(void)state;
	char line[RECORD_LINE_MAX];
	struct call_record r;
	memset(&r, 0, sizeof(r));
	r.n_legs = 1;
	r.disposition = RECORD_CANCELLED;
	r.ended_by = RECORD_BY_CALLER;
	r.privacy = true;
	assert_true(record_format(&r, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\"answer_ms\":null"));
	assert_non_null(strstr(line, "\"status\":null"));
	assert_non_null(strstr(line, "\"caller\":null"));
	assert_non_null(strstr(line, "\"privacy\":true"));
	assert_non_null(strstr(line, "\"attestation\":null"));
	assert_non_null(strstr(line, "\"disposition\":\"cancelled\""));
	assert_non_null(strstr(line, "\"ended_by\":\"caller\""));
	assert_non_null(strstr(line, "\"mos\":null}"));
	r.disposition = RECORD_REFUSED;
	r.ended_by = RECORD_BY_GATEWAY;
	assert_true(record_format(&r, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\"disposition\":\"refused\",\"status\":null,\"ended_by\":\"gateway\""));
	r.disposition = RECORD_FAILED;
	assert_true(record_format(&r, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\"disposition\":\"failed\""));
}

/* One line, valid JSON, printable ASCII, bounded; `caller` parsed back. */
static void one_line(const struct call_record *r, char *caller, size_t len)
{
	char line[RECORD_LINE_MAX];
	long n = record_format(r, line, sizeof(line));
	assert_true(n > 0 && n <= RECORD_LINE_MAX);
	assert_int_equal(line[n - 1], '\n');
	for (long i = 0; i < n - 1; i++)
		assert_true(line[i] >= 0x20 && line[i] < 0x7f);
	json_error_t e;
	json_t *j = json_loadb(line, (size_t)n, 0, &e);
	assert_non_null(j);
	const char *c = json_string_value(json_object_get(j, "caller"));
	snprintf(caller, len, "%s", c ? c : "");
	json_decref(j);
}

static void test_hostile_text(void **state)
{
	(void)state;
	struct call_record r = answered();
	char got[RECORD_TEXT_MAX * 2];
	record_text(r.caller, sizeof(r.caller), "sip:\"evil\\\"\r\n{\"x\":1}\x01\x1b[31m\x7f\xc3\xa9%0d%0a@h");
	one_line(&r, got, sizeof(got));
	assert_string_equal(got, "sip:\"evil\\\"%0D%0A{\"x\":1}%01%1B[31m%7F%C3%A9%0d%0a@h");
	/* 4 KB user parts on both ends, and the widest leg names */
	char big[4097];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	record_text(r.caller, sizeof(r.caller), big);
	record_text(r.callee, sizeof(r.callee), big);
	assert_int_equal(strlen(r.caller), RECORD_TEXT_MAX - 1);
	memset(r.legs[0].name, 'n', sizeof(r.legs[0].name) - 1);
	memset(r.reason, 'r', sizeof(r.reason) - 1);
	one_line(&r, got, sizeof(got));
	assert_int_equal(strlen(got), RECORD_TEXT_MAX - 1);
	/* every byte escaped: still cut whole, never mid-escape */
	memset(big, '\n', sizeof(big) - 1);
	record_text(r.caller, sizeof(r.caller), big);
	assert_int_equal(strlen(r.caller) % 3, 0);
	one_line(&r, got, sizeof(got));
	/* A field filled without record_text: raw bytes become '?'. */
	memcpy(r.caller, "a\nb\"\xff", 6);
	one_line(&r, got, sizeof(got));
	assert_string_equal(got, "a?b\"?");
	/* Too small a buffer is refused, not cut. */
	char small[64];
	assert_int_equal(record_format(&r, small, sizeof(small)), -1);
}

static void test_file_sink_reopen(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_record_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], moved[256];
	snprintf(path, sizeof(path), "%s/calls.jsonl", dir);
	snprintf(moved, sizeof(moved), "%s/calls.jsonl.1", dir);
	char err[256];
	struct record_sinks *s = record_sinks_open(path, NULL, err, sizeof(err));
	assert_non_null(s);
	struct call_record r = answered();
	record_sinks_write(s, &r);
	assert_int_equal(rename(path, moved), 0);
	r.id = 43;
	record_sinks_write(s, &r); /* still the moved file, as logrotate expects */
	assert_int_equal(record_reopen(s), 0);
	r.id = 44;
	record_sinks_write(s, &r);
	assert_int_equal(record_sinks_failures(s), 0);
	record_sinks_free(s);
	char buf[3 * RECORD_LINE_MAX];
	FILE *f = fopen(moved, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "{\"id\":\"42\""));
	assert_non_null(strstr(buf, "\n{\"id\":\"43\""));
	assert_null(strstr(buf, "\"44\""));
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_true(strncmp(buf, "{\"id\":\"44\"", 10) == 0);
	assert_int_equal(strchr(buf, '\n') - buf, (long)n - 1);
	/* A path that cannot be opened is refused at start with the path. */
	snprintf(path, sizeof(path), "%s/no/such/dir/calls.jsonl", dir);
	assert_null(record_sinks_open(path, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	unlink(moved);
	snprintf(path, sizeof(path), "%s/calls.jsonl", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_line),
		cmocka_unit_test(test_names_and_nulls),
		cmocka_unit_test(test_reals_and_room),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_file_sink_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
