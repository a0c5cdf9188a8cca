/* The call record as one line of JSON (record.h): a fixed set of keys in a
 * fixed order, null for what is not known, built with jansson and dumped
 * into a bounded buffer. Every string is checked again here to be printable
 * ASCII (record_text already made network text so), so a caller's display
 * name or user part cannot break the line, the JSON, or a terminal that
 * shows the file. Pure: no clock, no I/O. */
#include "record/record.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

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

/* A string field, or null when empty; anything not printable ASCII (a
 * field filled without record_text) becomes '?'. */
static json_t *text(const char *s, size_t size)
{
	char clean[RECORD_TEXT_MAX];
	size_t n = 0;
	for (; n < size && n + 1 < sizeof(clean) && s[n]; n++)
		clean[n] = printable((unsigned char)s[n]) ? s[n] : '?';
	clean[n] = '\0';
	return n ? json_string(clean) : json_null();
}

#define TEXT(field) text(field, sizeof(field))

static json_t *opt_real(bool has, double v) { return has ? json_real(v) : json_null(); }
static json_t *opt_uint(bool has, uint64_t v) { return has ? json_integer((json_int_t)v) : json_null(); }

static json_t *leg_json(const struct record_leg *l)
{
	const bool q = l->has_quality;
	return json_pack("{s:s, s:o, s:s, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "side", l->caller ? "caller" : "callee",
			 "leg", TEXT(l->name),
			 "transport", pc_transport_name(l->transport),
			 "tls_version", TEXT(l->tls_version),
			 "srtp_suite", TEXT(l->srtp_suite),
			 "rx_packets", (json_int_t)l->rx_packets,
			 "tx_packets", (json_int_t)l->tx_packets,
			 "rx_bytes", opt_uint(l->has_bytes, l->rx_bytes),
			 "tx_bytes", opt_uint(l->has_bytes, l->tx_bytes),
			 "lost", opt_uint(q, l->lost),
			 "fraction_lost", opt_real(q, l->fraction_lost),
			 "jitter_ms", opt_real(q, l->jitter_ms),
			 "rtt_ms", opt_real(q && l->has_rtt, l->rtt_ms),
			 "mos", opt_real(q && l->has_mos, l->mos));
}

static json_t *record_json(const struct call_record *r)
{
	char id[16], att[2] = { r->attestation, '\0' };
	snprintf(id, sizeof(id), "%u", (unsigned)r->id);
	json_t *legs = json_array();
	for (unsigned i = 0; legs && i < r->n_legs && i < 2; i++)
		if (json_array_append_new(legs, leg_json(&r->legs[i])) < 0) {
			json_decref(legs);
			return NULL;
		}
	bool attested = r->attestation == 'A' || r->attestation == 'B' || r->attestation == 'C';
	return json_pack("{s:s, s:I, s:o, s:I, s:I, s:s, s:o, s:s, s:o, s:o, s:o, s:b,"
			 " s:{s:b, s:o, s:o}, s:o, s:o}",
			 "id", id,
			 "start_ms", (json_int_t)r->start_ms,
			 "answer_ms", opt_uint(r->answer_ms != 0, r->answer_ms),
			 "end_ms", (json_int_t)r->end_ms,
			 "duration_ms", (json_int_t)(r->end_ms > r->start_ms ? r->end_ms - r->start_ms : 0),
			 "disposition", record_disposition_name(r->disposition),
			 "status", r->status ? json_integer(r->status) : json_null(),
			 "ended_by", record_party_name(r->ended_by),
			 "reason", TEXT(r->reason),
			 "caller", TEXT(r->caller),
			 "callee", TEXT(r->callee),
			 "privacy", r->privacy,
			 "identity", "asserted", r->asserted,
			 "attestation", attested ? json_string(att) : json_null(),
			 "verstat", TEXT(r->verstat),
			 "legs", legs,
			 "mos", opt_real(r->has_mos, r->mos));
}

long record_format(const struct call_record *r, char *out, size_t outlen)
{
	if (outlen < 2)
		return -1;
	json_t *j = record_json(r);
	if (!j)
		return -1;
	size_t n = json_dumpb(j, out, outlen - 2,
			      JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
	json_decref(j);
	/* json_dumpb returns the size it needed: more than the room is a cut. */
	if (n == 0 || n > outlen - 2)
		return -1;
	out[n] = '\n';
	out[n + 1] = '\0';
	return (long)n + 1;
}
