/* record/: one call record per call when it ends (docs/operations.md, "Call
 * records"). This header is the record as plain data, filled by the B2BUA
 * when a call closes, and its one JSON line (record.c, pure: the same record
 * always gives the same bytes). Text that came from the network (caller,
 * callee) is kept already bounded here and made printable ASCII by the
 * formatter, so a record is always one line of valid JSON no longer than
 * RECORD_LINE_MAX. The sinks that write it are in record/sink.h. */
#ifndef PC_RECORD_RECORD_H
#define PC_RECORD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/peer.h"

/* The longest line record_format writes, its newline included. */
#define RECORD_LINE_MAX 4096
/* Caller and callee: a URI cut at this length (with its NUL). */
#define RECORD_TEXT_MAX 256
#define RECORD_NAME_MAX 64
#define RECORD_REASON_MAX 64

enum record_disposition {
	RECORD_ANSWERED,  /* a 2xx reached the caller */
	RECORD_FAILED,    /* the callee or the network failed it (4xx-6xx from B, timeout) */
	RECORD_CANCELLED, /* the caller gave up before the answer */
	RECORD_REFUSED,   /* the gateway refused it (policy, limits, media, identity) */
};

enum record_party { RECORD_BY_GATEWAY = 0, RECORD_BY_CALLER, RECORD_BY_CALLEE };

/* One leg of the call as the gateway saw it. A field without a value (not
 * known yet, or not measured) is written as JSON null. */
struct record_leg {
	char name[RECORD_NAME_MAX];     /* the configured leg */
	bool caller;                    /* the caller's leg (A) or the callee's (B) */
	enum pc_transport transport;
	char tls_version[16];           /* "TLS1.3"; "" unknown or not TLS */
	char srtp_suite[32];            /* "AES_CM_128_HMAC_SHA1_80"; "" plain RTP */
	uint64_t rx_packets, tx_packets; /* RTP and RTCP from and to this leg's peer */
	bool has_bytes;
	uint64_t rx_bytes, tx_bytes;
	/* RTCP and the relay's own view (media_stream_quality) */
	bool has_quality;
	uint64_t lost;
	double fraction_lost, jitter_ms;
	bool has_mos;                   /* a codec the E-model knows */
	double mos;
	bool has_rtt;
	double rtt_ms;
};

struct call_record {
	uint32_t id;                    /* the call number of the logs */
	uint64_t start_ms, answer_ms, end_ms; /* unix milliseconds; answer 0: never answered */
	enum record_disposition disposition;
	int status;                     /* final status sent to the caller, 0 none */
	enum record_party ended_by;
	char reason[RECORD_REASON_MAX]; /* "bye", "cancel", "media timeout", a refusal, ... */
	/* As the privacy policy allows (records.keep_private): "" is null. */
	char caller[RECORD_TEXT_MAX];
	char callee[RECORD_TEXT_MAX];
	bool privacy;                   /* the caller asked for privacy (RFC 3323) */
	/* identity verdicts */
	bool asserted;                  /* a P-Asserted-Identity went to the next hop */
	char attestation;               /* 'A', 'B', 'C' signed; 0 not signed */
	char verstat[40];               /* the verstat handed on; "" none */
	struct record_leg legs[2];
	unsigned n_legs;                /* 1 when the call ended before the callee's leg existed */
	bool has_mos;                   /* the call's MOS: the lowest of its legs' */
	double mos;
};

const char *record_disposition_name(enum record_disposition d);
const char *record_party_name(enum record_party p);

/* The record as one JSON object and a newline into out (NUL-terminated).
 * Returns its length, or -1 when it does not fit in outlen (RECORD_LINE_MAX
 * always suffices) or memory ran out. */
long record_format(const struct call_record *r, char *out, size_t outlen);

/* Copies network text into a record field of `size` bytes: bytes outside
 * printable ASCII become %XX (URI escapes: the text is a URI), cut to fit,
 * never inside an escape. */
void record_text(char *dst, size_t size, const char *src);

#endif
