/* The two histograms of core/histogram.h: their names, help lines and
 * bucket bounds, and the counts. Set-up time spans a LAN answer (5 ms) to
 * a phone ringing out (30 s); MOS buckets follow the E-model's bands. */
#include "core/histogram.h"

#include <string.h>

static const double setup_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
static const double mos_bounds[] = { 1, 2, 2.5, 3, 3.5, 4, 4.5, 5 };

#define NB(a) (sizeof(a) / sizeof(a[0]))

struct hist {
	const char *name, *help;
	const double *bounds;
	size_t n_bounds;
	uint64_t counts[METRICS_HIST_MAX_BOUNDS + 1];
	double sum;
};

static struct hist hists[HIST__COUNT] = {
	[HIST_CALL_SETUP] = { "call_setup_seconds",
			      "Time from a call's INVITE to the first final response to the caller.",
			      setup_bounds, NB(setup_bounds), { 0 }, 0 },
	[HIST_CALL_MOS] = { "call_mos", "Mean opinion score of a call at its end (E-model, lowest leg).",
			    mos_bounds, NB(mos_bounds), { 0 }, 0 },
};

_Static_assert(NB(setup_bounds) <= METRICS_HIST_MAX_BOUNDS, "too many bounds");
_Static_assert(NB(mos_bounds) <= METRICS_HIST_MAX_BOUNDS, "too many bounds");

void histogram_observe(enum pc_histogram h, double v)
{
	if (h >= HIST__COUNT || v != v) /* NaN: nothing measured */
		return;
	struct hist *x = &hists[h];
	size_t i = 0;
	while (i < x->n_bounds && v > x->bounds[i])
		i++;
	x->counts[i]++;
	x->sum += v;
}

void histogram_get(enum pc_histogram h, struct metric_histogram *out)
{
	const struct hist *x = &hists[h < HIST__COUNT ? h : 0];
	*out = (struct metric_histogram){ .name = x->name, .help = x->help, .bounds = x->bounds,
		.n_bounds = x->n_bounds, .counts = x->counts, .sum = x->sum };
}

void histogram_reset(void)
{
	for (int h = 0; h < HIST__COUNT; h++) {
		memset(hists[h].counts, 0, sizeof(hists[h].counts));
		hists[h].sum = 0;
	}
}
