/* SDP offer/answer handling for the B2BUA (RFC 3264, RFC 4566/8866) and SDES
 * keys (RFC 4568): read a body into a plain description, and write the body
 * for the other leg from the original plus a plan (relay address and ports,
 * profile, our own a=crypto lines). Codecs, payload types and attributes the
 * plan does not touch are kept. Pure: no sockets, no randomness, no clock. */
#ifndef PC_SDP_SDP_H
#define PC_SDP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/srtp_params.h"

#define PC_SDP_MAX_STREAMS 8
#define PC_SDP_MAX_CRYPTO 8
#define PC_SDP_ADDR_MAX 64

enum pc_sdp_proto {
	PC_SDP_PROTO_RTP_AVP,   /* RTP/AVP */
	PC_SDP_PROTO_RTP_SAVP,  /* RTP/SAVP */
	PC_SDP_PROTO_RTP_AVPF,  /* RTP/AVPF */
	PC_SDP_PROTO_RTP_SAVPF, /* RTP/SAVPF */
	PC_SDP_PROTO_OTHER,     /* anything else (UDP/TLS/RTP/SAVP, udp, ...): not relayed */
};

enum pc_sdp_direction { PC_SDP_SENDRECV, PC_SDP_SENDONLY, PC_SDP_RECVONLY, PC_SDP_INACTIVE };

struct pc_sdp_crypto {
	unsigned tag;              /* 1..999999999 */
	struct pc_srtp_params params; /* secret */
};

struct pc_sdp_stream {
	char media[16];            /* "audio", "video", ... */
	unsigned port;             /* 0: stream rejected or disabled */
	enum pc_sdp_proto proto;
	char address[PC_SDP_ADDR_MAX];/* media-level c= or else session-level c= */
	bool ipv6;
	unsigned rtcp_port;        /* a=rtcp, else port + 1 */
	bool rtcp_mux;             /* a=rtcp-mux */
	enum pc_sdp_direction direction; /* media-level, else session-level, else sendrecv */
	struct pc_sdp_crypto crypto[PC_SDP_MAX_CRYPTO]; /* a=crypto lines with a supported suite */
	unsigned n_crypto;
	unsigned n_crypto_unsupported; /* well-formed a=crypto with a suite we do not support */
	/* The first format of an RTP m-line (in an answer, the codec in use):
	 * its payload type, rtpmap encoding name (or the RFC 3551 static
	 * one) and clock rate. has_format false when unknown. */
	bool has_format;
	unsigned format_pt;
	char format_name[16];
	unsigned format_rate;
};

struct pc_sdp_desc {
	struct pc_sdp_stream streams[PC_SDP_MAX_STREAMS];
	unsigned n_streams;
};

/* Parse a body. Every a=crypto line is parsed strictly (sdes_parse); any
 * malformed line, a missing c= for a live stream, or more than
 * PC_SDP_MAX_STREAMS m-lines is an error: -1 with a short reason in `why`
 * (fit for a 488 Warning), and `out` must not be used. 0 on success. The
 * crypto keys in `out` are secret: wipe with pc_sdp_desc_wipe() when done. */
int pc_sdp_read(const char *body, size_t len, struct pc_sdp_desc *out, char *why, size_t whylen);
void pc_sdp_desc_wipe(struct pc_sdp_desc *d);

/* What to write for one m-line of the other leg. */
struct pc_sdp_stream_plan {
	unsigned port;             /* our relay RTP port on that leg; 0 rejects the stream */
	enum pc_sdp_proto proto;      /* RTP/AVP(F) for a plain leg, RTP/SAVP(F) for SDES */
	unsigned rtcp_port;        /* written as a=rtcp unless rtcp_mux; 0 = port + 1 */
	bool rtcp_mux;             /* keep/offer a=rtcp-mux */
	struct pc_sdp_crypto crypto[PC_SDP_MAX_CRYPTO]; /* our a=crypto lines, in order */
	unsigned n_crypto;
	/* RFC 8643 opportunistic SRTP: a=crypto lines on a plain RTP/AVP(F)
	 * profile, so a peer that does not do SRTP still accepts the stream.
	 * Without it, keys on a plain profile are refused as a planning error. */
	bool opportunistic;
};

struct pc_sdp_plan {
	char address[PC_SDP_ADDR_MAX]; /* advertised relay address for c= and o= */
	uint64_t session_id;        /* o= sess-id: stable for the leg's dialog */
	uint64_t version;           /* o= sess-version: +1 for every new offer/answer we send */
	struct pc_sdp_stream_plan streams[PC_SDP_MAX_STREAMS];
	unsigned n_streams;         /* must equal the original's stream count */
};

/* Write the body for the other leg: the original body with o= replaced
 * (username "portcullis", the plan's ids and address: nothing about the
 * original sender survives), every c= replaced by the plan's address, each
 * m= line's port and proto replaced, its a=crypto/a=rtcp/a=rtcp-mux lines
 * replaced by the plan's, key material (k=, a=key-mgmt) removed, everything else (formats, rtpmap, fmtp, ptime,
 * direction, other attributes) kept in order. Returns a NUL-terminated string
 * allocated with malloc (caller frees, after wiping: it holds keys), or NULL
 * with `why` set. */
char *pc_sdp_write(const char *body, size_t len, const struct pc_sdp_plan *plan, char *why,
		size_t whylen);

/* The answerer's choice (RFC 4568 §7.1.2): the first offered crypto line
 * whose suite is in `allowed` (the operator's order of preference wins over
 * the offerer's order; ties go to the offerer's order). 0 with *out set, -1
 * when none is acceptable. */
int pc_sdp_pick_crypto(const struct pc_sdp_stream *offered, const enum pc_srtp_suite *allowed,
		    unsigned n_allowed, struct pc_sdp_crypto *out);

/* One a=crypto value (after "a=crypto:"), strict RFC 4568 §9.1 grammar:
 * "tag SP suite SP inline:<base64 key||salt>[|lifetime][|MKI:length]" with
 * optional session parameters after another SP. Unknown session parameters
 * are an error (RFC 4568 §6.3: they must be understood) except none are
 * known; key length must match the suite exactly; one key per line (several
 * inline keys: error). Returns 0, 1 for a well-formed line with an
 * unsupported suite (out->tag set only), or -1 with `why`. */
int sdes_parse(const char *value, size_t len, struct pc_sdp_crypto *out, char *why, size_t whylen);
/* Print "tag SUITE inline:base64[|2^n][|mki:len]" into buf. Length or -1. */
int sdes_print(const struct pc_sdp_crypto *c, char *buf, size_t len);

const char *pc_sdp_proto_name(enum pc_sdp_proto p);
bool pc_sdp_proto_is_secure(enum pc_sdp_proto p);

#endif
