/* core/metrics: the Prometheus text exposition (format 0.0.4) of the
 * gateway's counters (core/counters.h) and of gauges and histograms handed
 * in by the caller, written into a bounded buffer. Pure: the values are arguments, so
 * the output is tested byte for byte and the HTTP listener only sends it. */
#ifndef PC_CORE_METRICS_H
#define PC_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/counters.h"

/* The content type of what metrics_format writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A value that goes up and down (live calls): exposed as portcullis_<name>. */
struct metric_gauge {
	const char *name;   /* [a-z0-9_]+ */
	const char *help;   /* one line for # HELP; escaped here */
	uint64_t value;
};

/* The counter's one-line description (# HELP). */
const char *metrics_counter_help(enum pc_counter c);

/* Writes every counter, values[i] for counter i, as portcullis_<name>_total
 * (# HELP, # TYPE counter), then the gauges (# TYPE gauge). Returns the
 * length written (out is NUL-terminated), or -1 when out is too small or a
 * gauge name is not a metric name. */
long metrics_format(char *out, size_t outlen, const uint64_t values[CNT__COUNT],
		    const struct metric_gauge *gauges, size_t n_gauges);

/* A histogram (# TYPE histogram): counts[i] observations fell in bucket i
 * (not cumulative: the formatter sums them), whose upper bound is
 * bounds[i]; counts[n_bounds] is the +Inf bucket. */
#define METRICS_HIST_MAX_BOUNDS 16
struct metric_histogram {
	const char *name;       /* [a-z0-9_]+: portcullis_<name>_bucket, _sum, _count */
	const char *help;
	const double *bounds;   /* ascending, at most METRICS_HIST_MAX_BOUNDS */
	size_t n_bounds;
	const uint64_t *counts; /* n_bounds + 1 */
	double sum;
};

/* Writes the histograms after whatever out already holds (`used` bytes of
 * it): _bucket{le="..."} cumulative up to +Inf, then _sum and _count.
 * Returns the new total length, or -1 when out is too small or a name or
 * bounds are not valid. */
long metrics_format_histograms(char *out, size_t outlen, size_t used,
			       const struct metric_histogram *h, size_t n);

/* A family with labels (portcullis_refusals_total{reason="acl"}): one
 * # HELP and # TYPE, then one sample per entry. Label values must come
 * from fixed sets (reason names, configured leg names), never from what a
 * peer sent, or a peer could grow the series without bound; they are
 * escaped all the same. */
#define METRIC_LABELS_MAX 2
enum metric_type { METRIC_COUNTER, METRIC_GAUGE };
struct metric_sample {
	const char *values[METRIC_LABELS_MAX]; /* one per label name */
	uint64_t value;
};
struct metric_family {
	const char *name;   /* [a-z0-9_]+, "_total" included for a counter */
	const char *help;
	enum metric_type type;
	const char *labels[METRIC_LABELS_MAX]; /* [a-z_]+, n_labels of them */
	unsigned n_labels;
	const struct metric_sample *samples;
	size_t n_samples;
};

/* Appends the families to out, which holds `used` bytes of text already
 * (metrics_format's), as portcullis_<name>{...}. Returns the new length
 * (out NUL-terminated), or -1 when out is too small or a name is not a
 * metric or label name. */
long metrics_append_families(char *out, size_t outlen, size_t used,
			     const struct metric_family *families, size_t n_families);

#endif
