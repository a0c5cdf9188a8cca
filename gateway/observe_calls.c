/* The /calls document (JSON, jansson): every live call the B2BUA reports
 * through its read-only view (b2bua_foreach_call), with its legs and the
 * relay's counters per stream, in the shape the control tool prints too
 * (observe.h). Times become Unix seconds here, from the call layer's
 * monotonic clock. Bounded twice: at most CALLS_LISTED calls, and the text
 * fits the listener's buffer or calls are dropped from the end; either
 * cut says "truncated": true. The TLS version comes from the transport
 * (through the endpoint). Loss, jitter, RTT and MOS stay null until the
 * relay measures them; bytes are null because it counts packets only. */
#include "observe.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "b2bua/b2bua.h"
#include "core/clock.h"
#include "core/log.h"
#include "endpoint/endpoint.h"
#include "media/media.h"

/* Calls listed at most: max_calls may be larger, the document stays a
 * page an operator and a browser can read. */
#define CALLS_LISTED 1000

struct walk {
	const struct observe *o;
	json_t *calls;
	uint64_t now_ms;
	int64_t now_unix;
	bool truncated;
};

/* A string from the network as JSON: jansson refuses text that is not
 * UTF-8, so such text is shown with '?' for every byte above ASCII. */
static json_t *text(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char safe[512];
	size_t i = 0;
	for (; s[i] && i < sizeof(safe) - 1; i++)
		safe[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	safe[i] = '\0';
	return json_string(safe);
}

static int64_t unix_of(const struct walk *w, uint64_t mono_ms)
{
	uint64_t ago = w->now_ms > mono_ms ? w->now_ms - mono_ms : 0;
	return w->now_unix - (int64_t)(ago / 1000);
}

static json_t *opt_real(bool known, double v)
{
	return known ? json_real(v) : json_null();
}

/* One stream seen from one leg: what the relay received from that leg's
 * peer (its own count, loss and jitter, and the MOS they give) and what
 * that peer's RTCP said about the media sent to it ("reported"). */
static json_t *stream_json(struct media_stream *s, int side)
{
	struct media_quality q;
	media_stream_quality(s, side == 0 ? MEDIA_SIDE_A : MEDIA_SIDE_B, &q);
	const char *codec = media_codec_name(q.codec);
	bool seen = q.expected > 0;
	json_t *reported = q.has_report ?
		json_pack("{s:f, s:I, s:f}", "fraction_lost", q.reported_fraction_lost, "cum_lost",
			  (json_int_t)q.reported_cum_lost, "jitter_ms", q.reported_jitter_ms) : json_null();
	return json_pack("{s:o, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:o}",
			 "codec", codec ? json_string(codec) : json_null(),
			 "rx_packets", (json_int_t)q.rx_packets, "rx_bytes", (json_int_t)q.rx_bytes,
			 "tx_packets", (json_int_t)q.tx_packets, "tx_bytes", (json_int_t)q.tx_bytes,
			 "lost", seen ? json_integer((json_int_t)q.lost) : json_null(),
			 "fraction_lost", opt_real(seen, q.fraction_lost),
			 "jitter_ms", opt_real(q.has_jitter, q.jitter_ms),
			 "duplicates", (json_int_t)q.duplicates, "late", (json_int_t)q.late,
			 "rtt_ms", opt_real(q.has_rtt, q.rtt_ms), "mos", opt_real(q.has_mos, q.mos),
			 "reported", reported ? reported : json_null());
}

static json_t *leg_json(const struct observe *o, const struct b2bua_call_view *v, int side)
{
	const struct b2bua_leg_view *l = &v->legs[side];
	json_t *media = json_array();
	for (unsigned i = 0; media && i < v->n_streams; i++)
		if (v->streams[i])
			json_array_append_new(media, stream_json(v->streams[i], side));
	const char *tls = endpoint_tls_version(o->ep, l->peer);
	return json_pack("{s:s, s:o, s:s, s:o, s:o, s:o*}", "side", l->side, "leg", text(l->leg),
			 "transport", pc_transport_name(l->peer->transport), "tls_version",
			 tls ? json_string(tls) : json_null(), "srtp_suite", l->srtp_suite ? json_string(l->srtp_suite) : json_null(),
			 "media", media);
}

static bool add_call(void *arg, const struct b2bua_call_view *v)
{
	struct walk *w = arg;
	if (json_array_size(w->calls) == CALLS_LISTED) {
		w->truncated = true;
		return false;
	}
	char id[16];
	snprintf(id, sizeof(id), "%u", v->id);
	uint64_t since = v->answered_ms ? v->answered_ms : v->started_ms;
	json_t *call = json_pack(
		"{s:s, s:s, s:I, s:o, s:I, s:o, s:I, s:[o,o]}", "id", id, "state", v->state,
		"started", (json_int_t)unix_of(w, v->started_ms), "answered",
		v->answered_ms ? json_integer(unix_of(w, v->answered_ms)) : json_null(),
		"duration_s", (json_int_t)((w->now_ms > since ? w->now_ms - since : 0) / 1000),
		"to", text(v->to), "auth_failures", (json_int_t)v->auth_failures, "legs",
		leg_json(w->o, v, 0), leg_json(w->o, v, 1));
	if (call && v->from)
		json_object_set_new(call, "from", text(v->from));
	/* Which media worker relays its streams (null before it has one). */
	if (call)
		json_object_set_new(call, "media_worker", v->media_worker >= 0
				    ? json_integer(v->media_worker) : json_null());
	if (!call || json_array_append_new(w->calls, call) < 0) {
		w->truncated = true;
		return false;
	}
	return true;
}

json_t *observe_calls_json(struct observe *o)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct walk w = { .o = o, .calls = json_array(), .now_ms = pc_clock_ms(), .now_unix = ts.tv_sec };
	if (!w.calls)
		return NULL;
	b2bua_foreach_call(o->b2bua, add_call, &w);
	json_t *doc = json_pack("{s:o, s:b}", "calls", w.calls, "truncated", w.truncated);
	if (!doc)
		log_warnx("/calls: out of memory");
	return doc;
}

/* The listener's fill: the document, with calls dropped from the end (a
 * tenth at a time) until its text fits len. */
long observe_calls_fill(void *ctx, char *buf, size_t len)
{
	json_t *doc = observe_calls_json(ctx);
	if (!doc)
		return -1;
	json_t *calls = json_object_get(doc, "calls");
	size_t n;
	while ((n = json_dumpb(doc, buf, len, JSON_COMPACT)) >= len && n != 0) {
		size_t have = json_array_size(calls);
		if (have == 0)
			break;
		size_t drop = have / 10 ? have / 10 : 1;
		while (drop--)
			json_array_remove(calls, json_array_size(calls) - 1);
		json_object_set_new(doc, "truncated", json_true());
	}
	json_decref(doc);
	if (n == 0 || n >= len)
		return -1;
	buf[n] = '\n';
	return (long)n + 1;
}
