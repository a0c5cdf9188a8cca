/* The live documents of the gateway's HTTP listener: /metrics (Prometheus
 * text, made by core/metrics from the counters, the floors' gauges, the
 * histograms of core/histogram and the labelled families gathered here),
 * /health (a small JSON object for load balancers), /calls (observe_calls.c)
 * and the status page compiled into the binary, all refused with 403
 * to a source outside http.allow, which is loopback when not configured so
 * that a listener moved off loopback for the x5u document does not expose
 * them. Here, in the composition root, because the gauges come from every
 * floor and http/ may know none of them. */
#include "observe.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "b2bua/b2bua.h"
#include "b2bua/refuse.h"
#include "cluster/cluster.h"
#include "core/histogram.h"
#include "core/srtp_params.h"
#include "core/metrics.h"
#include "endpoint/endpoint.h"
#include "http/server.h"
#include "media/media.h"
#include "media/pool.h"

/* Over three times what the counters and gauges take today (about 20 KiB). */
#define METRICS_MAX (64 * 1024)
#define HEALTH_MAX 512
/* /calls: about 1 KiB a call with two streams; observe_calls.c drops calls
 * from the end beyond this. */
#define CALLS_MAX (512 * 1024)

/* The status page, compiled in from gateway/status.{html,js,css}. */
extern const char portcullis_status_html[], portcullis_status_js[], portcullis_status_css[];

struct page {
	const char *path, *type, *body;
};
static const struct page pages[] = {
	{ "/", "text/html; charset=utf-8", portcullis_status_html },
	{ "/status.js", "text/javascript; charset=utf-8", portcullis_status_js },
	{ "/status.css", "text/css; charset=utf-8", portcullis_status_css },
};

static const char *const loopback[] = { "127.0.0.0/8", "::1/128" };

int observe_init(struct observe *o, const struct gateway_config *cfg, char *err, size_t errlen)
{
	const struct http_config *h = &cfg->http;
	o->cfg = cfg;
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

/* A source in http.allow, asking by an address literal, "localhost" or a
 * name in http.hostnames. The name matters because a browser on the
 * operator's machine sends requests from loopback: a page whose DNS name
 * was re-pointed at 127.0.0.1 (DNS rebinding) would otherwise read /calls
 * and /metrics with its own script; its Host is still its own name. */
static bool admitted(void *ctx, const struct sockaddr *from, const char *host)
{
	const struct observe *o = ctx;
	bool source = false;
	for (unsigned i = 0; i < o->n_allow && !source; i++)
		source = admit_net_match(&o->allow[i], from);
	if (!source)
		return false;
	if (!host || http_host_is_address(host) || strcmp(host, "localhost") == 0)
		return true;
	for (unsigned i = 0; i < o->cfg->http.n_hostnames; i++)
		if (strcasecmp(host, o->cfg->http.hostnames[i]) == 0)
			return true;
	return false;
}

/* The legs of live calls by transport and SRTP suite (the last slot: plain). */
struct leg_tally {
	uint64_t n[3][PC_SRTP_SUITE__COUNT + 1];
};

static bool tally_call(void *arg, const struct b2bua_call_view *v)
{
	struct leg_tally *t = arg;
	for (int i = 0; i < 2; i++) {
		const struct b2bua_leg_view *l = &v->legs[i];
		enum pc_srtp_suite suite = PC_SRTP_SUITE__COUNT;
		if (l->srtp_suite &&
		    pc_srtp_suite_from_name(l->srtp_suite, strlen(l->srtp_suite), &suite) < 0)
			suite = PC_SRTP_SUITE__COUNT;
		if ((unsigned)l->peer->transport < 3)
			t->n[l->peer->transport][suite]++;
	}
	return true;
}

/* The labelled families after the plain text at buf[0..used): messages by
 * transport and direction, refusals by reason, calls by leg and direction,
 * call legs by transport and suite.
 * Every label value is a reason's name, a configured leg's name or a
 * transport or suite name: fixed sets. */
static long append_families(const struct observe *o, const struct endpoint_gauges *eg, char *buf,
			    size_t len, size_t used)
{
	static const char *const transports[3] = { "udp", "tcp", "tls" };
	uint64_t refused[REFUSAL__COUNT];
	refuse_counts(refused);
	struct metric_sample reasons[REFUSAL__COUNT];
	size_t n_reasons = 0;
	for (int r = REFUSAL_NONE + 1; r < REFUSAL__COUNT; r++)
		reasons[n_reasons++] = (struct metric_sample){
			{ refusal_name((enum pc_refusal)r) }, refused[r] };
	struct metric_sample legs[2 * CFG_MAX_LEGS];
	size_t n_legs = 0;
	for (unsigned i = 0; i < o->cfg->n_legs && i < CFG_MAX_LEGS; i++)
		for (int dir = 0; dir < 2; dir++)
			legs[n_legs++] = (struct metric_sample){
				{ o->cfg->legs[i].name, dir ? "out" : "in" },
				b2bua_calls_started(o->b2bua, i, dir) };
	struct leg_tally t = { 0 };
	b2bua_foreach_call(o->b2bua, tally_call, &t);
	struct metric_sample suites[3 * (PC_SRTP_SUITE__COUNT + 1)];
	size_t n_suites = 0;
	for (int tp = 0; tp < 3; tp++)
		for (int s = 0; s <= PC_SRTP_SUITE__COUNT; s++)
			suites[n_suites++] = (struct metric_sample){
				{ transports[tp],
				  s == PC_SRTP_SUITE__COUNT ? "none" :
							      pc_srtp_suite_name((enum pc_srtp_suite)s) },
				t.n[tp][s] };
	struct metric_sample messages[3 * 2];
	for (int tp = 0; tp < 3; tp++)
		for (int d = 0; d < 2; d++)
			messages[tp * 2 + d] = (struct metric_sample){
				{ transports[tp], d ? "out" : "in" }, eg->messages[tp][d] };
	const struct metric_family families[] = {
		{ "sip_messages_total", "SIP messages received (in) and sent (out), by transport.",
		  METRIC_COUNTER, { "transport", "direction" }, 2, messages, 6 },
		{ "refusals_total", "Requests refused or challenged, by the reason of the refusal table.",
		  METRIC_COUNTER, { "reason" }, 1, reasons, n_reasons },
		{ "calls_started_total",
		  "Calls created, by configured leg: direction in has the caller on it, out the callee.",
		  METRIC_COUNTER, { "leg", "direction" }, 2, legs, n_legs },
		{ "call_legs", "Legs of live calls by transport and SRTP suite (none: plain RTP or not keyed yet).",
		  METRIC_GAUGE, { "transport", "suite" }, 2, suites, n_suites },
	};
	return metrics_append_families(buf, len, used, families,
				       sizeof(families) / sizeof(families[0]));
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
		{ "media_streams", "Media streams on the relay.", media_pool_stream_count(o->media) },
		{ "connections", "Open SIP TCP/TLS connections.", eg.connections },
		{ "transactions", "SIP transactions alive.", eg.transactions },
		{ "registrations", "Live registrar bindings.", b2bua_registration_count(o->b2bua) },
		{ "peers_up", "Pinged peers that answered their last keep-alive.", eg.peers_up },
		{ "peers_pinged", "Configured peers the gateway sends keep-alives to.", eg.peers_pinged },
		/* last, so that it is left out without cluster mode */
		{ "cluster_redis_up", "Cluster mode: 1 while Redis is reachable, else 0.",
		  o->cluster && cluster_redis_up(o->cluster) },
	};
	size_t n_gauges = sizeof(gauges) / sizeof(gauges[0]) - (o->cluster ? 0 : 1);
	long n = metrics_format(buf, len, values, gauges, n_gauges);
	struct metric_histogram hists[HIST__COUNT];
	for (int i = 0; i < HIST__COUNT; i++)
		histogram_get((enum pc_histogram)i, &hists[i]);
	if (n >= 0)
		n = metrics_format_histograms(buf, len, (size_t)n, hists, HIST__COUNT);
	return n < 0 ? -1 : append_families(o, &eg, buf, len, (size_t)n);
}

/* Running at all means every listener is bound (start-up fails otherwise);
 * the numbers let a check decide more (peers down, calls at the limit). */
static long fill_health(void *ctx, char *buf, size_t len)
{
	const struct observe *o = ctx;
	struct endpoint_gauges eg;
	endpoint_gauges(o->ep, &eg);
	/* Cluster mode adds "redis": "up" or "down"; a node with Redis down
	 * still serves (local state), so the status stays "ok". */
	const char *redis = !o->cluster ? "" : cluster_redis_up(o->cluster) ? ",\"redis\":\"up\""
									 : ",\"redis\":\"down\"";
	int n = snprintf(buf, len,
			 "{\"status\":\"ok\",\"listeners\":%u,\"calls\":%u,\"connections\":%u,"
			 "\"peers_pinged\":%u,\"peers_up\":%u%s}\n",
			 eg.listeners, b2bua_call_count(o->b2bua), eg.connections, eg.peers_pinged,
			 eg.peers_up, redis);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* A page of the status page: fixed text, but served as a live document so
 * that only http.allow sees it, with the live documents' CSP. */
static long fill_page(void *ctx, char *buf, size_t len)
{
	const struct page *p = ctx;
	size_t n = strlen(p->body);
	if (n > len)
		return -1;
	memcpy(buf, p->body, n);
	return (long)n;
}

int observe_serve(struct observe *o, struct http_server *s)
{
	http_server_set_access(s, admitted, o);
	if (http_server_add_live(s, "/metrics", METRICS_CONTENT_TYPE, METRICS_MAX, fill_metrics, o) < 0 ||
	    http_server_add_live(s, "/health", "application/json", HEALTH_MAX, fill_health, o) < 0 ||
	    http_server_add_live(s, "/calls", "application/json", CALLS_MAX, observe_calls_fill, o) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (http_server_add_live(s, pages[i].path, pages[i].type, strlen(pages[i].body),
					 fill_page, (void *)&pages[i]) < 0)
			return -1;
	return 0;
}
