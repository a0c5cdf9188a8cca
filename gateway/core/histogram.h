/* The gateway's histograms (histogram.c): call set-up time and per-call
 * MOS, observed where the event happens (the B2BUA) and read by /metrics
 * as Prometheus histograms (core/metrics.h). Like the counters, fixed and
 * allocation-free: a bucket array each, bounds fixed in the code. */
#ifndef PC_CORE_HISTOGRAM_H
#define PC_CORE_HISTOGRAM_H

#include "core/metrics.h"

enum pc_histogram {
	HIST_CALL_SETUP,  /* INVITE in -> first final response out, seconds */
	HIST_CALL_MOS,    /* a call's MOS at its end, when measured */
	HIST__COUNT
};

/* Counts v in the first bucket whose upper bound is >= v (+Inf last). */
void histogram_observe(enum pc_histogram h, double v);
/* The histogram as core/metrics formats it; its arrays are the live ones
 * (read them before the next observation). */
void histogram_get(enum pc_histogram h, struct metric_histogram *out);
/* Tests: every histogram back to zero. */
void histogram_reset(void);

#endif
