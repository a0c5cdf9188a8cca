/* The call record as one line of JSON (record.h): a fixed set of keys in a
 * fixed order, null for what is not known, printed into a bounded buffer. Every string is checked again here to be printable
 * ASCII (record_text already made network text so), so a caller's display
 * name or user part cannot break the line, the JSON, or a terminal that
 * shows the file. Pure: no clock, no I/O. */
#include "record/record.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *record_disposition_name(enum record_disposition d)
{
	switch (d) {
	case RECORD_ANSWERED: return "answered";
	case RECORD_FAILED: return "failed";
	case RECORD_CANCELLED: return "cancelled";
	case RECORD_REFUSED: return "refused";
	}
	return "failed";
}

const char *record_party_name(enum record_party p)
{
	switch (p) {
	case RECORD_BY_CALLER: return "caller";
	case RECORD_BY_CALLEE: return "callee";
	case RECORD_BY_GATEWAY: return "gateway";
	}
	return "gateway";
}

static bool printable(unsigned char ch) { return ch >= 0x20 && ch < 0x7f; }

void record_text(char *dst, size_t size, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	if (size == 0)
		return;
	for (const unsigned char *s = (const unsigned char *)(src ? src : ""); *s; s++) {
		/* '%' stays: in a URI "%0A" and an escaped byte 0x0A are one thing. */
		if (printable(*s)) {
			if (n + 1 >= size)
				break;
			dst[n++] = (char)*s;
		} else {
			if (n + 3 >= size)
				break;
			dst[n++] = '%';
			dst[n++] = hex[*s >> 4];
			dst[n++] = hex[*s & 15];
		}
	}
	dst[n] = '\0';
}

/* The line is written straight into the caller's buffer: the record is a
 * fixed shape of numbers and already-cleaned ASCII, and building it as
 * jansson objects first cost about 60 allocations a call, 5 % of the
 * gateway's CPU at 400 calls/s (docs/performance.md, "Operations"). The
 * output is what jansson's compact dump gave (keys in this order, "%.6g"
 * reals with ".0" added to integral ones), which the tests and readers
 * parse with jansson. */
struct line {
	char *p;
	size_t left; /* room in p, its NUL included */
	bool cut;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	if (l->cut)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->p, l->left, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= l->left) {
		l->cut = true;
		return;
	}
	l->p += n;
	l->left -= (size_t)n;
}

/* One character, without a format: text fields go through here byte by
 * byte. */
static void put_char(struct line *l, char ch)
{
	if (l->cut || l->left < 2) {
		l->cut = true;
		return;
	}
	*l->p++ = ch;
	*l->p = '\0';
	l->left--;
}

/* "key":"text", or "key":null when empty; anything not printable ASCII (a
 * field filled without record_text) becomes '?', and '"' and '\' are
 * escaped: the only two printable characters JSON escapes. */
static void put_text(struct line *l, const char *key, const char *s, size_t size)
{
	if (!s[0]) {
		put(l, "\"%s\":null", key);
		return;
	}
	put(l, "\"%s\":\"", key);
	for (size_t n = 0; n < size && n + 1 < RECORD_TEXT_MAX && s[n] && !l->cut; n++) {
		char ch = printable((unsigned char)s[n]) ? s[n] : '?';
		if (ch == '"' || ch == '\\')
			put_char(l, '\\');
		put_char(l, ch);
	}
	put(l, "\"");
}

#define TEXT(l, key, field) put_text(l, key, field, sizeof(field))

static void put_uint(struct line *l, const char *key, bool has, uint64_t v)
{
	if (has)
		put(l, "\"%s\":%" PRIu64, key, v);
	else
		put(l, "\"%s\":null", key);
}

/* As jansson prints a real: "%.6g", and ".0" when that looks integral;
 * a value that is not finite is null (JSON has no NaN). */
static void put_real(struct line *l, const char *key, bool has, double v)
{
	if (!has || !isfinite(v)) {
		put(l, "\"%s\":null", key);
		return;
	}
	char num[32];
	snprintf(num, sizeof(num), "%.6g", v);
	bool integral = !strpbrk(num, ".eE");
	put(l, "\"%s\":%s%s", key, num, integral ? ".0" : "");
}

static void put_leg(struct line *l, const struct record_leg *g)
{
	const bool q = g->has_quality;
	put(l, "{\"side\":\"%s\",", g->caller ? "caller" : "callee");
	TEXT(l, "leg", g->name);
	put(l, ",\"transport\":\"%s\",", pc_transport_name(g->transport));
	TEXT(l, "tls_version", g->tls_version);
	put(l, ",");
	TEXT(l, "srtp_suite", g->srtp_suite);
	put(l, ",\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",", g->rx_packets, g->tx_packets);
	put_uint(l, "rx_bytes", g->has_bytes, g->rx_bytes);
	put(l, ",");
	put_uint(l, "tx_bytes", g->has_bytes, g->tx_bytes);
	put(l, ",");
	put_uint(l, "lost", q, g->lost);
	put(l, ",");
	put_real(l, "fraction_lost", q, g->fraction_lost);
	put(l, ",");
	put_real(l, "jitter_ms", q, g->jitter_ms);
	put(l, ",");
	put_real(l, "rtt_ms", q && g->has_rtt, g->rtt_ms);
	put(l, ",");
	put_real(l, "mos", q && g->has_mos, g->mos);
	put(l, "}");
}

long record_format(const struct call_record *r, char *out, size_t outlen)
{
	if (outlen < 2)
		return -1;
	struct line l = { .p = out, .left = outlen };
	bool attested = r->attestation == 'A' || r->attestation == 'B' || r->attestation == 'C';
	put(&l, "{\"id\":\"%u\",\"start_ms\":%" PRIu64 ",", (unsigned)r->id, r->start_ms);
	put_uint(&l, "answer_ms", r->answer_ms != 0, r->answer_ms);
	put(&l, ",\"end_ms\":%" PRIu64 ",\"duration_ms\":%" PRIu64 ",\"disposition\":\"%s\",", r->end_ms,
	    r->end_ms > r->start_ms ? r->end_ms - r->start_ms : 0, record_disposition_name(r->disposition));
	if (r->status)
		put(&l, "\"status\":%d,", r->status);
	else
		put(&l, "\"status\":null,");
	put(&l, "\"ended_by\":\"%s\",", record_party_name(r->ended_by));
	TEXT(&l, "reason", r->reason);
	put(&l, ",");
	TEXT(&l, "caller", r->caller);
	put(&l, ",");
	TEXT(&l, "callee", r->callee);
	put(&l, ",\"privacy\":%s,\"identity\":{\"asserted\":%s,", r->privacy ? "true" : "false",
	    r->asserted ? "true" : "false");
	if (attested)
		put(&l, "\"attestation\":\"%c\",", r->attestation);
	else
		put(&l, "\"attestation\":null,");
	TEXT(&l, "verstat", r->verstat);
	put(&l, "},\"legs\":[");
	for (unsigned i = 0; i < r->n_legs && i < 2; i++) {
		if (i)
			put(&l, ",");
		put_leg(&l, &r->legs[i]);
	}
	put(&l, "],");
	put_real(&l, "mos", r->has_mos, r->mos);
	put(&l, "}\n");
	if (l.cut)
		return -1;
	return (long)(l.p - out);
}
