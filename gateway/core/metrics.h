/* core/metrics: the Prometheus text exposition (format 0.0.4) of the
 * gateway's counters (core/counters.h) and of gauges handed in by the
 * caller, written into a bounded buffer. Pure: the values are arguments, so
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

#endif
