/* Prometheus histograms (core/metrics.c's metrics_format_histograms and the
 * gateway's two in core/histogram.c): exact text with cumulative buckets,
 * +Inf, _sum and _count; an observation on a bound counted in that bucket;
 * NaN ignored; zero counts still exposed; bounds out of order, a bad name
 * and a buffer one byte short refused rather than cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/histogram.h"
#include "core/metrics.h"

static char out[16 * 1024];

static void test_exact_text(void **state)
{
	(void)state;
	static const double bounds[] = { 0.5, 1, 2.5 };
	static const uint64_t counts[] = { 1, 0, 2, 3 };
	struct metric_histogram h = { "x_seconds", "Line one\\two\nthree", bounds, 3, counts, 12.25 };
	snprintf(out, sizeof(out), "prefix\n");
	long n = metrics_format_histograms(out, sizeof(out), 7, &h, 1);
	const char *want = "prefix\n"
			   "# HELP portcullis_x_seconds Line one\\\\two\\nthree\n"
			   "# TYPE portcullis_x_seconds histogram\n"
			   "portcullis_x_seconds_bucket{le=\"0.5\"} 1\n"
			   "portcullis_x_seconds_bucket{le=\"1\"} 1\n"
			   "portcullis_x_seconds_bucket{le=\"2.5\"} 3\n"
			   "portcullis_x_seconds_bucket{le=\"+Inf\"} 6\n"
			   "portcullis_x_seconds_sum 12.250000\n"
			   "portcullis_x_seconds_count 6\n";
	assert_string_equal(out, want);
	assert_int_equal(n, (long)strlen(want));
}

static void test_refusals(void **state)
{
	(void)state;
	static const double bad_order[] = { 1, 1 };
	static const double inf[] = { 1, INFINITY };
	static const double ok[] = { 1 };
	static const uint64_t counts[] = { 0, 0, 0 };
	struct metric_histogram h = { "x", "h", bad_order, 2, counts, 0 };
	assert_int_equal(metrics_format_histograms(out, sizeof(out), 0, &h, 1), -1);
	h.bounds = inf;
	assert_int_equal(metrics_format_histograms(out, sizeof(out), 0, &h, 1), -1);
	h.bounds = ok;
	h.n_bounds = 1;
	h.name = "Bad-Name";
	assert_int_equal(metrics_format_histograms(out, sizeof(out), 0, &h, 1), -1);
	h.name = "x";
	long n = metrics_format_histograms(out, sizeof(out), 0, &h, 1);
	assert_true(n > 0);
	/* One byte short (the NUL needs room) is refused, not cut. */
	assert_int_equal(metrics_format_histograms(out, (size_t)n, 0, &h, 1), -1);
	assert_int_equal(metrics_format_histograms(out, (size_t)n + 1, 0, &h, 1), n);
	/* `used` beyond the buffer */
	assert_int_equal(metrics_format_histograms(out, 10, 10, &h, 1), -1);
}

static long gateway_hists(void)
{
	struct metric_histogram h[HIST__COUNT];
	for (int i = 0; i < HIST__COUNT; i++)
		histogram_get((enum pc_histogram)i, &h[i]);
	return metrics_format_histograms(out, sizeof(out), 0, h, HIST__COUNT);
}

static void test_gateway_histograms(void **state)
{
	(void)state;
	histogram_reset();
	assert_true(gateway_hists() > 0);
	/* Before any call both are there, with zero counts. */
	assert_non_null(strstr(out, "portcullis_call_setup_seconds_bucket{le=\"0.005\"} 0\n"));
	assert_non_null(strstr(out, "portcullis_call_setup_seconds_count 0\n"));
	assert_non_null(strstr(out, "portcullis_call_mos_bucket{le=\"4.5\"} 0\n"));
	assert_non_null(strstr(out, "portcullis_call_mos_count 0\n"));
	histogram_observe(HIST_CALL_SETUP, 0.01);  /* on a bound: that bucket */
	histogram_observe(HIST_CALL_SETUP, 0.011);
	histogram_observe(HIST_CALL_SETUP, 100);   /* beyond the last: +Inf only */
	histogram_observe(HIST_CALL_SETUP, NAN);   /* ignored */
	histogram_observe(HIST_CALL_MOS, 4.2);
	assert_true(gateway_hists() > 0);
	assert_non_null(strstr(out, "portcullis_call_setup_seconds_bucket{le=\"0.005\"} 0\n"));
	assert_non_null(strstr(out, "portcullis_call_setup_seconds_bucket{le=\"0.01\"} 1\n"));
	assert_non_null(strstr(out, "portcullis_call_setup_seconds_bucket{le=\"0.025\"} 2\n"));
	assert_non_null(strstr(out, "portcullis_call_setup_seconds_bucket{le=\"30\"} 2\n"));
	assert_non_null(strstr(out, "portcullis_call_setup_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(out, "portcullis_call_setup_seconds_sum 100.021000\n"));
	assert_non_null(strstr(out, "portcullis_call_setup_seconds_count 3\n"));
	assert_non_null(strstr(out, "portcullis_call_mos_bucket{le=\"4\"} 0\n"));
	assert_non_null(strstr(out, "portcullis_call_mos_bucket{le=\"4.5\"} 1\n"));
	assert_non_null(strstr(out, "portcullis_call_mos_count 1\n"));
	histogram_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_text),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_gateway_histograms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
