/* The Prometheus exposition of core/metrics.c: exact text for chosen
 * counters and gauges, HELP escaping, the microsecond counter in seconds,
 * a buffer one byte short refused rather than cut mid-line, the widest
 * output well inside observe.c's buffer, metric names the format cannot
 * carry refused rather than sent, and labelled families (escaped values,
 * bad label names refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/metrics.h"

static char out[64 * 1024];
static uint64_t values[CNT__COUNT];

static long format(const struct metric_gauge *g, size_t n)
{
	return metrics_format(out, sizeof(out), values, g, n);
}

static void test_counters_exact(void **state)
{
	(void)state;
	memset(values, 0, sizeof(values));
	values[CNT_MSG_RECEIVED] = 5;
	values[CNT_AUTH_FAILURES] = 18446744073709551615u;
	long n = format(NULL, 0);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	/* The first block, byte for byte. */
	const char *first = "# HELP portcullis_messages_received_total SIP messages received on every listener.\n"
			    "# TYPE portcullis_messages_received_total counter\n"
			    "portcullis_messages_received_total 5\n"
			    "# HELP portcullis_messages_sent_total SIP messages sent.\n"
			    "# TYPE portcullis_messages_sent_total counter\n"
			    "portcullis_messages_sent_total 0\n";
	assert_memory_equal(out, first, strlen(first));
	assert_non_null(strstr(out, "# HELP portcullis_auth_failures_total Failed authentications.\n"
				    "# TYPE portcullis_auth_failures_total counter\n"
				    "portcullis_auth_failures_total 18446744073709551615\n"));
	/* Every counter once, each with its three lines. */
	unsigned samples = 0, helps = 0, types = 0;
	for (const char *l = out; *l; l = strchr(l, '\n') + 1) {
		if (!strncmp(l, "# HELP ", 7))
			helps++;
		else if (!strncmp(l, "# TYPE ", 7))
			types++;
		else
			samples++;
	}
	assert_int_equal(samples, CNT__COUNT);
	assert_int_equal(helps, CNT__COUNT);
	assert_int_equal(types, CNT__COUNT);
	assert_int_equal(out[n - 1], '\n');
}

static void test_microseconds_as_seconds(void **state)
{
	(void)state;
	memset(values, 0, sizeof(values));
	values[CNT_KEYHOLDER_WAIT_US] = 3000042;
	assert_true(format(NULL, 0) > 0);
	assert_non_null(strstr(out, "\nportcullis_keyholder_wait_seconds_total 3.000042\n"));
	assert_null(strstr(out, "_us_total"));
}

static void test_gauges_and_escaping(void **state)
{
	(void)state;
	memset(values, 0, sizeof(values));
	const struct metric_gauge g[] = {
		{ "calls", "Calls in progress.", 7 },
		{ "odd", "back\\slash and\nnew line", 0 },
		{ "nohelp", NULL, 1 },
	};
	assert_true(format(g, 3) > 0);
	const char *tail = "# HELP portcullis_calls Calls in progress.\n"
			   "# TYPE portcullis_calls gauge\n"
			   "portcullis_calls 7\n"
			   "# HELP portcullis_odd back\\\\slash and\\nnew line\n"
			   "# TYPE portcullis_odd gauge\n"
			   "portcullis_odd 0\n"
			   "# HELP portcullis_nohelp \n"
			   "# TYPE portcullis_nohelp gauge\n"
			   "portcullis_nohelp 1\n";
	size_t len = strlen(out);
	assert_true(len > strlen(tail));
	assert_string_equal(out + len - strlen(tail), tail);
	/* A gauge is not a counter: no _total. */
	assert_null(strstr(out, "portcullis_calls_total"));
}

static void test_bad_names_refused(void **state)
{
	(void)state;
	const char *bad[] = { "", "has space", "new\nline", "dash-ed", "Upper", "x{a=\"b\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct metric_gauge g = { bad[i], "h", 1 };
		assert_int_equal(format(&g, 1), -1);
	}
}

static void test_short_buffer(void **state)
{
	(void)state;
	memset(values, 0, sizeof(values));
	long n = format(NULL, 0);
	assert_true(n > 0);
	static char small[64 * 1024];
	/* Room for the text but not its NUL: refused, not cut. */
	assert_int_equal(metrics_format(small, (size_t)n, values, NULL, 0), -1);
	assert_int_equal(metrics_format(small, (size_t)n + 1, values, NULL, 0), n);
	assert_int_equal(metrics_format(small, 0, values, NULL, 0), -1);
	assert_int_equal(metrics_format(small, 10, values, NULL, 0), -1);
}

/* observe.c gives the text 64 KiB: with every value at its widest it must
 * still fit with room for the counters and gauges still to come. */
static void test_widest_fits_with_room(void **state)
{
	(void)state;
	memset(values, 0xff, sizeof(values));
	struct metric_gauge g[16];
	for (size_t i = 0; i < 16; i++)
		g[i] = (struct metric_gauge){ "gauge_with_a_long_name_xxxxxxxxxx",
			"A gauge with a description as long as the longest one today.", UINT64_MAX };
	long n = format(g, 16);
	assert_true(n > 0 && n < 40 * 1024);
}

/* A labelled family byte for byte, appended after what is there already;
 * label values escaped; no labels writes a bare sample. */
static void test_families_exact(void **state)
{
	(void)state;
	memcpy(out, "x\n", 3);
	const struct metric_sample reasons[] = {
		{ { "acl" }, 3 },
		{ { "odd\"quote\\back\nline" }, 0 },
	};
	const struct metric_sample legs[] = {
		{ { "inside", "in" }, 1 },
		{ { "outside", "out" }, 18446744073709551615u },
	};
	const struct metric_sample bare[] = { { { NULL }, 5 } };
	const struct metric_family f[] = {
		{ "refusals_total", "Refusals by reason.", METRIC_COUNTER, { "reason" }, 1, reasons, 2 },
		{ "calls_started_total", "Calls by leg.", METRIC_COUNTER, { "leg", "direction" }, 2,
		  legs, 2 },
		{ "legs", "Legs.", METRIC_GAUGE, { NULL }, 0, bare, 1 },
	};
	long n = metrics_append_families(out, sizeof(out), 2, f, 3);
	const char *want = "x\n"
		"# HELP portcullis_refusals_total Refusals by reason.\n"
		"# TYPE portcullis_refusals_total counter\n"
		"portcullis_refusals_total{reason=\"acl\"} 3\n"
		"portcullis_refusals_total{reason=\"odd\\\"quote\\\\back\\nline\"} 0\n"
		"# HELP portcullis_calls_started_total Calls by leg.\n"
		"# TYPE portcullis_calls_started_total counter\n"
		"portcullis_calls_started_total{leg=\"inside\",direction=\"in\"} 1\n"
		"portcullis_calls_started_total{leg=\"outside\",direction=\"out\"} 18446744073709551615\n"
		"# HELP portcullis_legs Legs.\n"
		"# TYPE portcullis_legs gauge\n"
		"portcullis_legs 5\n";
	assert_string_equal(out, want);
	assert_int_equal(n, (long)strlen(want));
	/* One byte short of the NUL: refused, not cut. */
	static char small[4096];
	memcpy(small, "x\n", 3);
	assert_int_equal(metrics_append_families(small, (size_t)n, 2, f, 3), -1);
	assert_int_equal(metrics_append_families(small, (size_t)n + 1, 2, f, 3), n);
	assert_int_equal(metrics_append_families(small, 2, 2, f, 3), -1);
}

/* Names the format cannot carry are refused: a bad family, label name, a
 * reserved "__" label or one starting with a digit, too many labels. */
static void test_family_bad_names_refused(void **state)
{
	(void)state;
	const struct metric_sample smp[] = { { { "a", "b" }, 1 } };
	const struct metric_family bad[] = {
		{ "bad-name", "h", METRIC_COUNTER, { "reason" }, 1, smp, 1 },
		{ "ok", "h", METRIC_COUNTER, { "Reason" }, 1, smp, 1 },
		{ "ok", "h", METRIC_COUNTER, { "__name" }, 1, smp, 1 },
		{ "ok", "h", METRIC_COUNTER, { "1x" }, 1, smp, 1 },
		{ "ok", "h", METRIC_COUNTER, { "a", "b=\"c\"" }, 2, smp, 1 },
		{ "ok", "h", METRIC_COUNTER, { "a", "b" }, 3, smp, 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(metrics_append_families(out, sizeof(out), 0, &bad[i], 1), -1);
}

static void test_every_counter_described(void **state)
{
	(void)state;
	for (int i = 0; i < CNT__COUNT; i++) {
		const char *h = metrics_counter_help((enum pc_counter)i);
		assert_non_null(h);
		assert_null(strchr(h, '\n'));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_exact),
		cmocka_unit_test(test_microseconds_as_seconds),
		cmocka_unit_test(test_gauges_and_escaping),
		cmocka_unit_test(test_bad_names_refused),
		cmocka_unit_test(test_short_buffer),
		cmocka_unit_test(test_widest_fits_with_room),
		cmocka_unit_test(test_every_counter_described),
		cmocka_unit_test(test_families_exact),
		cmocka_unit_test(test_family_bad_names_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
