/* The Prometheus text exposition of core/metrics.h: one # HELP, one # TYPE
 * and one sample line per metric, in the order of the counter table, then
 * the gauges; histograms (metrics_format_histograms) as cumulative buckets,
 * _sum and _count. The descriptions live here, beside the format that shows
 * them, keyed by the counter's enum so the table in counters.h stays one
 * name per line; a counter added without one gets a generic line. A counter
 * kept in microseconds is exposed in seconds, Prometheus's base unit.
 * Families with labels (refusals by reason, calls by leg) follow, from
 * samples the caller gathered. */
#include "core/metrics.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static const char *const help[CNT__COUNT] = {
	[CNT_MSG_RECEIVED] = "SIP messages received on every listener.",
	[CNT_MSG_SENT] = "SIP messages sent.",
	[CNT_MSG_MALFORMED_REQUEST] = "Requests that did not parse (answered 400 when possible).",
	[CNT_MSG_MALFORMED_RESPONSE] = "Responses that did not parse, dropped.",
	[CNT_MSG_TOO_LARGE] = "Messages over limits.max_message_size.",
	[CNT_STREAM_FRAMING_ERROR] = "TCP/TLS streams closed for a framing error.",
	[CNT_MSG_TOO_MANY_HEADERS] = "Messages refused for more header lines than limits.max_headers.",
	[CNT_MSG_TOO_MANY_VIAS] = "Messages refused for more Via entries than limits.max_vias.",
	[CNT_MSG_BARE_CR] = "Messages refused for a bare CR in the header.",
	[CNT_DGRAM_BAD_LENGTH] = "Datagrams refused for a Content-Length that does not match.",
	[CNT_KEEPALIVE_PING] = "CRLF keep-alive pings answered (RFC 5626).",
	[CNT_CONN_ACCEPTED] = "Inbound TCP/TLS connections accepted.",
	[CNT_CONN_REFUSED_LIMIT] = "Inbound connections refused at a connection limit.",
	[CNT_CONN_OUTGOING] = "Connections the gateway opened.",
	[CNT_CONN_REUSED] = "Requests sent on an existing connection.",
	[CNT_CONN_IDLE_CLOSED] = "Connections closed after limits.idle_timeout_s without traffic.",
	[CNT_CONN_TIMEOUT_CLOSED] = "Connections closed for a handshake or message timeout.",
	[CNT_CONN_FIRST_MESSAGE_TIMEOUT] = "Inbound connections closed before a first complete message.",
	[CNT_CONN_EVICTED] = "Idle connections closed to make room for a new one.",
	[CNT_ACCEPT_NO_FD] = "Times accepting paused for lack of file descriptors.",
	[CNT_PEER_CONNECT_FAILED] = "Failed connections toward configured peers.",
	[CNT_PEER_BACKOFF_REFUSED] = "Requests refused while a failed peer is in back-off.",
	[CNT_TLS_HANDSHAKE_OK] = "TLS handshakes completed.",
	[CNT_TLS_HANDSHAKE_FAILED] = "TLS handshakes failed.",
	[CNT_TLS_VERIFY_FAILED] = "TLS peers whose certificate failed verification.",
	[CNT_TLS_RESUMED] = "TLS sessions resumed.",
	[CNT_TXN_CREATED] = "SIP transactions created.",
	[CNT_TXN_RETRANSMIT_ABSORBED] = "Retransmissions absorbed by a transaction.",
	[CNT_TXN_TIMEOUT] = "Transactions that timed out.",
	[CNT_TXN_STRAY_RESPONSE] = "Responses matching no transaction, dropped.",
	[CNT_TXN_LIMIT] = "Requests refused at limits.max_transactions.",
	[CNT_SEND_FAILED] = "Messages that could not be sent.",
	[CNT_MEDIA_PORTS_EXHAUSTED] = "Calls that found no free relay port.",
	[CNT_MEDIA_AUTH_FAILED] = "SRTP/SRTCP packets that failed authentication, dropped.",
	[CNT_MEDIA_UNKEYED] = "Media packets for a stream without keys yet, dropped.",
	[CNT_MEDIA_REPLAY] = "SRTP/SRTCP replays, dropped.",
	[CNT_MEDIA_WRONG_SOURCE] = "Media packets from an address other than the peer's, dropped.",
	[CNT_MEDIA_SOURCE_REFUSED] = "Media packets from a source the relay refused, dropped.",
	[CNT_MEDIA_TOWARD_UNKEYED] = "Media packets toward a side without keys, dropped.",
	[CNT_MEDIA_NO_DESTINATION] = "Media packets with no destination known yet, dropped.",
	[CNT_MEDIA_MALFORMED] = "Malformed RTP/RTCP packets, dropped.",
	[CNT_MEDIA_SSRC_LIMIT] = "Media packets over a stream's SSRC limit, dropped.",
	[CNT_MEDIA_PROTECT_FAILED] = "Media packets that could not be protected.",
	[CNT_MEDIA_SEND_FAILED] = "Media packets that could not be sent.",
	[CNT_AUTH_CHALLENGES] = "Digest challenges sent (401/407).",
	[CNT_AUTH_FAILURES] = "Failed authentications.",
	[CNT_AUTH_LOCKED_OUT] = "Requests refused while the user or source is locked out.",
	[CNT_REGISTRATIONS] = "REGISTER requests accepted.",
	[CNT_DENIED_ACL] = "Requests denied by abuse.allow or abuse.deny.",
	[CNT_REFUSED_SCANNER] = "Requests refused for a scanner User-Agent.",
	[CNT_REFUSED_RATE] = "Requests refused over the per-source rate.",
	[CNT_SOURCES_BANNED] = "Sources banned for repeated rate overruns.",
	[CNT_REFUSED_BANNED] = "Requests refused from a banned source.",
	[CNT_RATE_TABLE_FULL] = "Times the per-source rate table was full.",
	[CNT_REFUSED_SETUP_CAP] = "Calls refused at abuse.max_calls_in_setup.",
	[CNT_REFUSED_CALL_LIMIT] = "Calls refused at a concurrent call limit.",
	[CNT_DIALOG_REFUSED_IDENTITY] = "In-dialog requests refused from another identity than the dialog's.",
	[CNT_FROM_REPLACED] = "From identities replaced because the user does not own them.",
	[CNT_REFUSED_CPS] = "Calls refused at a calls-per-second limit.",
	[CNT_SIPS_INSECURE_IN] = "SIPS requests refused for arriving over an insecure transport.",
	[CNT_SIPS_INSECURE_OUT] = "SIPS requests refused for a next hop without TLS.",
	[CNT_REFUSED_TLS_REQUIRED] = "Requests refused on a leg that requires TLS.",
	[CNT_REFUSED_CERT_REQUIRED] = "Requests refused on a leg that requires a client certificate.",
	[CNT_PRIVACY_REFUSED] = "Calls refused for a privacy the gateway cannot honour.",
	[CNT_PAI_REMOVED] = "P-Asserted-Identity headers removed from untrusted sources.",
	[CNT_PAI_ASSERTED] = "P-Asserted-Identity headers the gateway asserted.",
	[CNT_FROM_ANONYMISED] = "From headers anonymised for privacy.",
	[CNT_CERT_AUTH_OK] = "Users authenticated by a client certificate.",
	[CNT_KEYHOLDER_REQUESTS] = "Requests to the key holder process.",
	[CNT_KEYHOLDER_WAIT_US] = "Time spent waiting for the key holder, summed.",
	[CNT_KEYHOLDER_FAILURES] = "Key holder requests that failed.",
	[CNT_IDENTITY_SIGNED] = "Calls signed with an Identity header (STIR).",
	[CNT_IDENTITY_SIGN_FAILED] = "Calls whose Identity signing failed.",
	[CNT_IDENTITY_NOT_SIGNED] = "Calls not signed because the caller was not authenticated.",
	[CNT_IDENTITY_VERSTAT_REMOVED] = "verstat parameters removed from untrusted sources.",
	[CNT_IDENTITY_REJECTED] = "Calls rejected by Identity verification.",
	[CNT_IDENTITY_PASSED] = "Identity verifications that passed.",
	[CNT_IDENTITY_NO_IDENTITY] = "Verified calls that carried no Identity header.",
	[CNT_IDENTITY_MALFORMED] = "Identity headers that did not parse.",
	[CNT_IDENTITY_UNSUPPORTED] = "Identity headers of an unsupported kind.",
	[CNT_IDENTITY_INFO_UNREACHABLE] = "Identity certificates (x5u) that could not be fetched.",
	[CNT_IDENTITY_INFO_REFUSED] = "Identity certificate URLs the gateway refused to fetch.",
	[CNT_IDENTITY_INFO_NOT_CERT] = "Identity certificate URLs that returned no certificate.",
	[CNT_IDENTITY_CERT_UNTRUSTED] = "Identity certificates not chaining to stir.trust.",
	[CNT_IDENTITY_CERT_EXPIRED] = "Identity certificates expired or not yet valid.",
	[CNT_IDENTITY_CERT_NO_TNAUTH] = "Identity certificates without a usable TNAuthList.",
	[CNT_IDENTITY_CERT_KEY] = "Identity certificates with an unusable key.",
	[CNT_IDENTITY_SIGNATURE] = "Identity signatures that did not verify.",
	[CNT_IDENTITY_ORIG_MISMATCH] = "Identity tokens whose orig does not match the caller.",
	[CNT_IDENTITY_DEST_MISMATCH] = "Identity tokens whose dest does not match the callee.",
	[CNT_IDENTITY_STALE] = "Identity tokens older than stir.max_age_s.",
	[CNT_IDENTITY_DATE_MISMATCH] = "Identity tokens whose iat does not match the Date header.",
	[CNT_IDENTITY_WEAK_ALG] = "Identity headers refused for a weak algorithm.",
	[CNT_IDENTITY_LEGACY_SIGNED] = "Calls signed with a legacy RFC 4474 Identity.",
	[CNT_IDENTITY_LEGACY_NOT_SIGNED] = "Calls toward legacy peers left unsigned.",
	[CNT_IDENTITY_LEGACY_VERIFIED] = "Legacy RFC 4474 Identity headers verified.",
	[CNT_RECORD_WRITE_FAILED] = "Call records that could not be written (file or database).",
};

/* Counters kept in microseconds are exposed in seconds under this name:
 * Prometheus wants base units, and promtool refuses an abbreviated one. */
static const char *const in_seconds[CNT__COUNT] = {
	[CNT_KEYHOLDER_WAIT_US] = "keyholder_wait_seconds",
};

const char *metrics_counter_help(enum pc_counter c)
{
	return c < CNT__COUNT && help[c] ? help[c] : "Portcullis event counter.";
}

/* An output buffer that remembers running out. */
struct out {
	char *p;
	size_t len, used;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	if (o->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used)
		o->full = true;
	else
		o->used += (size_t)n;
}

/* # HELP text escapes backslash and newline, nothing else; a label value
 * also the double quote that ends it. */
static void put_escaped(struct out *o, const char *text, bool label)
{
	for (const char *s = text; *s; s++) {
		if (*s == '\\')
			put(o, "\\\\");
		else if (*s == '\n')
			put(o, "\\n");
		else if (label && *s == '"')
			put(o, "\\\"");
		else
			put(o, "%c", *s);
	}
}

/* Metric names are fixed in the code, but a wrong one would make the whole
 * scrape fail to parse: refuse it here, where a test sees it. */
static bool name_ok(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* A label name: as a metric name, but not starting with a digit nor with
 * "__" (reserved for Prometheus itself). */
static bool label_ok(const char *name)
{
	return name_ok(name) && !(name[0] >= '0' && name[0] <= '9') &&
	       !(name[0] == '_' && name[1] == '_');
}

/* `micro`: value is in microseconds, written as seconds with six decimals. */
static void put_metric(struct out *o, const char *name, const char *suffix, const char *type,
		       const char *text, uint64_t value, bool micro)
{
	put(o, "# HELP portcullis_%s%s ", name, suffix);
	put_escaped(o, text, false);
	put(o, "\n# TYPE portcullis_%s%s %s\nportcullis_%s%s ", name, suffix, type, name, suffix);
	if (micro)
		put(o, "%llu.%06llu\n", (unsigned long long)(value / 1000000),
		    (unsigned long long)(value % 1000000));
	else
		put(o, "%llu\n", (unsigned long long)value);
}

long metrics_format(char *out, size_t outlen, const uint64_t values[CNT__COUNT],
		    const struct metric_gauge *gauges, size_t n_gauges)
{
	if (outlen == 0)
		return -1;
	struct out o = { out, outlen, 0, false };
	out[0] = '\0';
	for (int i = 0; i < CNT__COUNT; i++) {
		enum pc_counter c = (enum pc_counter)i;
		const char *name = in_seconds[c] ? in_seconds[c] : counter_name(c);
		if (!name_ok(name))
			return -1;
		put_metric(&o, name, "_total", "counter", metrics_counter_help(c), values[i],
			   in_seconds[c] != NULL);
	}
	for (size_t i = 0; i < n_gauges; i++) {
		if (!name_ok(gauges[i].name))
			return -1;
		put_metric(&o, gauges[i].name, "", "gauge", gauges[i].help ? gauges[i].help : "",
			   gauges[i].value, false);
	}
	return o.full ? -1 : (long)o.used;
}

static void put_histogram(struct out *o, const struct metric_histogram *h)
{
	put(o, "# HELP portcullis_%s ", h->name);
	put_escaped(o, h->help ? h->help : "", false);
	put(o, "\n# TYPE portcullis_%s histogram\n", h->name);
	uint64_t total = 0;
	for (size_t i = 0; i <= h->n_bounds; i++) {
		total += h->counts[i];
		if (i < h->n_bounds)
			put(o, "portcullis_%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[i],
			    (unsigned long long)total);
		else
			put(o, "portcullis_%s_bucket{le=\"+Inf\"} %llu\n", h->name,
			    (unsigned long long)total);
	}
	put(o, "portcullis_%s_sum %.6f\nportcullis_%s_count %llu\n", h->name, h->sum, h->name,
	    (unsigned long long)total);
}

/* Ascending finite bounds: Prometheus needs le to grow, and +Inf is ours. */
static bool bounds_ok(const struct metric_histogram *h)
{
	if (!h->counts || h->n_bounds > METRICS_HIST_MAX_BOUNDS || (h->n_bounds && !h->bounds))
		return false;
	for (size_t i = 0; i < h->n_bounds; i++)
		if (h->bounds[i] != h->bounds[i] || h->bounds[i] > 1e300 || h->bounds[i] < -1e300 ||
		    (i && h->bounds[i] <= h->bounds[i - 1]))
			return false;
	return true;
}

long metrics_format_histograms(char *out, size_t outlen, size_t used,
			       const struct metric_histogram *h, size_t n)
{
	if (used >= outlen)
		return -1;
	struct out o = { out, outlen, used, false };
	for (size_t i = 0; i < n; i++) {
		if (!name_ok(h[i].name) || !bounds_ok(&h[i]))
			return -1;
		put_histogram(&o, &h[i]);
	}
	return o.full ? -1 : (long)o.used;
}

static bool family_ok(const struct metric_family *f)
{
	if (!name_ok(f->name) || f->n_labels > METRIC_LABELS_MAX)
		return false;
	for (unsigned i = 0; i < f->n_labels; i++)
		if (!label_ok(f->labels[i]))
			return false;
	return true;
}

long metrics_append_families(char *out, size_t outlen, size_t used,
			     const struct metric_family *families, size_t n_families)
{
	if (used >= outlen)
		return -1;
	struct out o = { out, outlen, used, false };
	out[used] = '\0';
	for (size_t i = 0; i < n_families; i++) {
		const struct metric_family *f = &families[i];
		if (!family_ok(f))
			return -1;
		put(&o, "# HELP portcullis_%s ", f->name);
		put_escaped(&o, f->help ? f->help : "", false);
		put(&o, "\n# TYPE portcullis_%s %s\n", f->name,
		    f->type == METRIC_COUNTER ? "counter" : "gauge");
		for (size_t j = 0; j < f->n_samples; j++) {
			const struct metric_sample *smp = &f->samples[j];
			put(&o, "portcullis_%s", f->name);
			for (unsigned k = 0; k < f->n_labels; k++) {
				put(&o, "%s%s=\"", k ? "," : "{", f->labels[k]);
				put_escaped(&o, smp->values[k] ? smp->values[k] : "", true);
				put(&o, "\"");
			}
			put(&o, "%s %llu\n", f->n_labels ? "}" : "", (unsigned long long)smp->value);
		}
	}
	return o.full ? -1 : (long)o.used;
}
