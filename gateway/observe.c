/* The live documents of the gateway's HTTP listener: /metrics (Prometheus
 * text, made by core/metrics from the counters, the floors' gauges and the
 * histograms of core/histogram) and
 * /health (a small JSON object for load balancers), both refused with 403
 * to a source outside http.allow, which is loopback when not configured so
 * that a listener moved off loopback for the x5u document does not expose
 * them. Here, in the composition root, because the gauges come from every
 * floor and http/ may know none of them. */
#include "observe.h"

#include <stdio.h>

#include "b2bua/b2bua.h"
#include "core/histogram.h"
#include "core/metrics.h"
#include "endpoint/endpoint.h"
#include "http/server.h"
#include "media/media.h"

/* Over three times what the counters and gauges take today (about 20 KiB). */
#define METRICS_MAX (64 * 1024)
#define HEALTH_MAX 512

static const char *const loopback[] = { "127.0.0.0/8", "::1/128" };

int observe_init(struct observe *o, const struct gateway_config *cfg, char *err, size_t errlen)
{
	const struct http_config *h = &cfg->http;
	o->n_allow = 0;
	for (unsigned i = 0; i < h->n_allow; i++) {
		const char *why = NULL;
		if (admit_net_parse(h->allow[i].text, &o->allow[i], &why) < 0) {
			snprintf(err, errlen, "%s:%u: http.allow: \"%s\": %s", cfg->source,
				 h->allow[i].line, h->allow[i].text, why ? why : "not a network");
			return -1;
		}
	}
	o->n_allow = h->n_allow;
	for (unsigned i = 0; o->n_allow == 0 && i < 2; i++)
		if (admit_net_parse(loopback[i], &o->allow[i], NULL) < 0)
			return -1;
	if (h->n_allow == 0)
		o->n_allow = 2;
	return 0;
}

static bool admitted(void *ctx, const struct sockaddr *from)
{
	const struct observe *o = ctx;
	for (unsigned i = 0; i < o->n_allow; i++)
		if (admit_net_match(&o->allow[i], from))
			return true;
	return false;
}

static long fill_metrics(void *ctx, char *buf, size_t len)
{
	const struct observe *o = ctx;
	uint64_t values[CNT__COUNT];
	for (int i = 0; i < CNT__COUNT; i++)
		values[i] = counter_get((enum pc_counter)i);
	struct endpoint_gauges eg;
	endpoint_gauges(o->ep, &eg);
	const struct metric_gauge gauges[] = {
		{ "calls", "Calls in progress (set-up or established).", b2bua_call_count(o->b2bua) },
		{ "media_streams", "Media streams on the relay.", media_engine_stream_count(o->media) },
		{ "connections", "Open SIP TCP/TLS connections.", eg.connections },
		{ "transactions", "SIP transactions alive.", eg.transactions },
		{ "registrations", "Live registrar bindings.", b2bua_registration_count(o->b2bua) },
		{ "peers_up", "Pinged peers that answered their last keep-alive.", eg.peers_up },
	};
	long n = metrics_format(buf, len, values, gauges, sizeof(gauges) / sizeof(gauges[0]));
	struct metric_histogram hists[HIST__COUNT];
	for (int i = 0; i < HIST__COUNT; i++)
		histogram_get((enum pc_histogram)i, &hists[i]);
	return n < 0 ? -1 : metrics_format_histograms(buf, len, (size_t)n, hists, HIST__COUNT);
}

/* Running at all means every listener is bound (start-up fails otherwise);
 * the numbers let a check decide more (peers down, calls at the limit). */
static long fill_health(void *ctx, char *buf, size_t len)
{
	const struct observe *o = ctx;
	struct endpoint_gauges eg;
	endpoint_gauges(o->ep, &eg);
	int n = snprintf(buf, len,
			 "{\"status\":\"ok\",\"listeners\":%u,\"calls\":%u,\"connections\":%u,"
			 "\"peers_pinged\":%u,\"peers_up\":%u}\n",
			 eg.listeners, b2bua_call_count(o->b2bua), eg.connections, eg.peers_pinged,
			 eg.peers_up);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int observe_serve(struct observe *o, struct http_server *s)
{
	http_server_set_access(s, admitted, o);
	if (http_server_add_live(s, "/metrics", METRICS_CONTENT_TYPE, METRICS_MAX, fill_metrics, o) < 0 ||
	    http_server_add_live(s, "/health", "application/json", HEALTH_MAX, fill_health, o) < 0)
		return -1;
	return 0;
}
