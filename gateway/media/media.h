/* The media relay: pairs of UDP ports per stream on two legs, forwarding RTP
 * and RTCP between them on the event loop, unprotecting SRTP/SRTCP from a
 * secure side and protecting toward a secure side with that side's own keys
 * (srtp.c, on nettle), so nothing secure is ever passed through unverified. Symmetric
 * RTP latching; every dropped packet is counted per stream. Keys come in as
 * pc_srtp_params; media_keys_fresh() makes new ones from the kernel's CSPRNG. */
#ifndef PC_MEDIA_MEDIA_H
#define PC_MEDIA_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/srtp_params.h"

struct event_base;
struct media_engine;
struct media_stream;

enum media_side { MEDIA_SIDE_A = 0, MEDIA_SIDE_B = 1 };

/* Which sources a plain side accepts (a secure side accepts what
 * authenticates under its key, from anywhere, until it latches). */
enum media_source {
	MEDIA_SOURCE_STRICT,        /* the SDP's address and port exactly */
	MEDIA_SOURCE_SIGNALLING_IP, /* the signalling peer's address, any port */
	MEDIA_SOURCE_SDP,           /* the SDP's address, any port */
};

struct media_engine *media_engine_new(struct event_base *base);
void media_engine_free(struct media_engine *e);

/* The quarantine of a released relay port pair: how long it is not handed
 * to a new call. RTP carries nothing that tells a late packet of the old
 * call from one of the new (RFC 3550: the SSRC is the peer's choice, SRTP
 * fails it only on a secure side), and a plain side that checks only the
 * source address (media_source = signalling-ip or sdp: phones behind one
 * NAT share it) would forward it into the new call: "RTP bleed". Late
 * packets are those in flight (ITU-T G.114 plans for up to 400 ms one way)
 * and those the old peer sends until our BYE reaches it: one BYE lost over
 * UDP is resent after T1 (500 ms). 400 + 500 ms, rounded up: 1 s. Longer is
 * not free: a range must hold calls/s x (hold + quarantine) pairs, and the
 * old 2 s ran 5,500 pairs out at 2,400 calls/s of 1.1 s calls (see
 * performance.md); pairs rest longer when the range has room
 * (RANGE_REST_FACTOR, ports.h). */
#define MEDIA_PORT_QUARANTINE_MS 1000u

/* A port range to allocate relay ports from, bound on bind_address (numeric
 * IPv4/IPv6). Returns the range index (>= 0) or -1 (logged). Ports are taken
 * in even/odd pairs (RTP, RTCP); a released pair is not reused for
 * `quarantine_ms` so late packets of an old call never reach a new one
 * (MEDIA_PORT_QUARANTINE_MS above says why how long). */
int media_engine_add_range(struct media_engine *e, const char *bind_address, unsigned port_min,
			   unsigned port_max, unsigned quarantine_ms);
/* How long the previous receive context stays valid after a re-key
 * (media_stream_set_crypto on a side that already had a receive key).
 * Default 2000 ms; 0 drops the old context at once. Applies to later
 * re-keys; tests use it to run the expiry quickly. */
void media_engine_set_rekey_grace_ms(struct media_engine *e, unsigned ms);
/* How long after media_stream_answered() a plain side may latch (default
 * 10000 ms; tests shorten it). */
void media_engine_set_latch_window_ms(struct media_engine *e, unsigned ms);
/* Whether relayed packets feed the quality figures (default on). Off exists
 * so bench/run ops can measure what tracking costs per packet; with it off
 * media_stream_quality() reports counts but no loss, jitter or MOS. */
void media_engine_set_quality(struct media_engine *e, bool on);
/* The next stream made (media_stream_new, media_pool_stream_new) takes
 * exactly these RTP ports on sides A and B (0: drawn as usual), or fails:
 * a node taking over another's call binds the ports the peers send to
 * (cluster mode). Applies to that one stream. */
void media_engine_want_ports(struct media_engine *e, unsigned port_a, unsigned port_b);
/* Free RTP/RTCP pairs left in a range (for tests and resource checks). */
unsigned media_engine_free_pairs(const struct media_engine *e, int range);
unsigned media_engine_stream_count(const struct media_engine *e);

/* A new stream with a port pair on each side: side A from range_a, side B
 * from range_b, each pair drawn at random from the range's free pairs so an
 * outsider cannot guess which ports a new call uses. NULL when a range is exhausted (logged, counted). */
struct media_stream *media_stream_new(struct media_engine *e, int range_a, int range_b);
void media_stream_free(struct media_stream *s);
unsigned media_stream_port(const struct media_stream *s, enum media_side side); /* RTP; RTCP is +1 */

/* Where a side's peer said it receives (from its SDP). Until a packet from
 * the peer arrives, packets for it go here; afterwards to the latched source
 * (symmetric RTP). rtcp_port 0 means rtp port + 1; rtcp_mux: RTCP on the RTP
 * port. 0 or -1. */
int media_stream_set_remote(struct media_stream *s, enum media_side side,
			    const struct sockaddr_storage *rtp_addr, unsigned rtcp_port,
			    bool rtcp_mux);

/* How a plain side recognises its peer: `rule`, with `signalling` the
 * address the side's SIP peer uses (its port is ignored; NULL = unknown,
 * which refuses everything under MEDIA_SOURCE_SIGNALLING_IP). Until this is
 * called a side is MEDIA_SOURCE_STRICT. A packet that does not match is
 * dropped and counted (media_source_refused_dropped) before anything else
 * is done with it: it neither crosses nor latches. 0 or -1. */
int media_stream_set_source(struct media_stream *s, enum media_side side, enum media_source rule,
			    const struct sockaddr_storage *signalling);

/* The SDP answer was applied, or the call it belongs to was answered: for
 * the engine's latch window each plain side that has not latched yet may
 * latch (symmetric RTP) to a source that matches its rule, and re-latch to
 * another such source; a latched side keeps its source (until a new remote
 * address unlatches it) and an unlatched one outside the window sends to its
 * SDP address. A secure side latches to the first source whose packet
 * authenticated. */
void media_stream_answered(struct media_stream *s);

/* Keys of one side. recv: the key that side's peer protects with (we
 * unprotect with it; NULL = that side sends plain RTP); send: the key we
 * protect with toward that side (NULL = plain). Calling it again re-keys: the
 * previous receive context stays valid for a grace period (see rekey.c) for
 * packets in flight. The params are copied; the caller may wipe its copy. */
int media_stream_set_crypto(struct media_stream *s, enum media_side side,
			    const struct pc_srtp_params *recv, const struct pc_srtp_params *send);

/* The side will be keyed (its leg is or may be secure) but its keys are not
 * known yet, e.g. between an offer and its answer: until the next
 * media_stream_set_crypto() for this side, every packet from it is dropped
 * (counted as media_unkeyed_dropped), never forwarded or latched, and
 * every packet toward it too (media_toward_unkeyed_dropped): early media
 * from an SRTP peer must not cross unauthenticated, nor plain media reach
 * it in clear. */
void media_stream_await_keys(struct media_stream *s, enum media_side side);

struct media_side_stats {
	uint64_t rtp_in, rtcp_in;        /* packets received from this side's peer */
	uint64_t rtp_out, rtcp_out;      /* packets sent to this side's peer */
	uint64_t auth_failures;          /* SRTP/SRTCP authentication failed: dropped */
	uint64_t replays;                /* replayed SRTP/SRTCP index: dropped */
	uint64_t wrong_source;           /* from a non-latched address: dropped */
	uint64_t source_refused;         /* plain side: source not allowed by its rule */
	uint64_t toward_unkeyed;         /* from this side toward one awaiting keys: dropped */
	uint64_t no_destination;         /* other side's peer address unknown: dropped */
	uint64_t last_packet_ms;         /* monotonic ms of the last packet in, 0 = none */
	uint64_t rtp_in_bytes, rtp_out_bytes; /* RTP datagram bytes of rtp_in / rtp_out */
};
void media_stream_stats(const struct media_stream *s, enum media_side side,
			struct media_side_stats *out);

/* The codecs the quality estimate knows (emodel.c has their E-model
 * figures); anything else is MEDIA_CODEC_UNKNOWN and gets no MOS. */
enum media_codec {
	MEDIA_CODEC_UNKNOWN = 0,
	MEDIA_CODEC_PCMU,
	MEDIA_CODEC_PCMA,
	MEDIA_CODEC_G729,
	MEDIA_CODEC_G722,
};
/* From an rtpmap encoding name ("PCMU", case-insensitive); NULL or an
 * unknown name is MEDIA_CODEC_UNKNOWN. */
enum media_codec media_codec_from_name(const char *encoding);
const char *media_codec_name(enum media_codec c); /* "PCMU", ..., NULL when unknown */

/* The codec a side's peer sends with, from the negotiated SDP: the payload
 * type whose packets the jitter is measured on, and its RTP clock rate
 * (1..192000; 0 = unknown: no jitter). 0 or -1. */
int media_stream_set_codec(struct media_stream *s, enum media_side side, unsigned payload_type,
			   unsigned clock_rate, enum media_codec codec);

/* Per-call media quality of one side. "Own" figures are what the relay saw
 * of the RTP that side's peer sent (RFC 3550 A.1 and A.8, counted only for
 * packets that authenticated or passed the source rule); "reported" ones
 * come from that peer's latest RTCP report about the media we send it
 * (believed only after SRTCP authentication on a secure side); the
 * round-trip time is between the relay and that peer, from the peer's
 * LSR/DLSR against when the relay forwarded the SR it refers to. */
struct media_quality {
	enum media_codec codec;
	unsigned clock_rate;
	uint64_t rx_packets, rx_bytes;  /* RTP from the side's peer (media_side_stats) */
	uint64_t tx_packets, tx_bytes;  /* RTP sent to it */
	uint64_t expected;              /* RTP packets the sequence numbers say were sent */
	uint64_t lost;                  /* expected - received, never below 0 */
	double fraction_lost;           /* lost / expected over the call, 0..1 */
	bool has_jitter;
	double jitter_ms;               /* interarrival jitter (A.8) in ms */
	uint64_t duplicates;            /* seen twice (on a secure side: SRTP replays) */
	uint64_t late;                  /* arrived after a later sequence number */
	bool has_report;                /* an RTCP SR/RR from the peer was believed */
	double reported_fraction_lost;  /* its last interval, 0..1 */
	int32_t reported_cum_lost;
	double reported_jitter_ms;      /* 0 when the clock rate is unknown */
	bool has_rtt;
	double rtt_ms;
	bool has_mos;
	double mos;                     /* ITU-T G.107 E-model estimate (emodel.c) */
	uint64_t rtcp_malformed;        /* believed-source RTCP that did not parse */
};
/* 0, or -1 (q zeroed) for a NULL stream or a bad side. */
int media_stream_quality(const struct media_stream *s, enum media_side side,
			 struct media_quality *q);
/* One line for a log: "rx P pkts, lost L (F%), jitter J ms, rtt R ms, MOS M,
 * ...", with "-" for what is not known. Returns the length snprintf gave. */
int media_quality_format(const struct media_quality *q, char *buf, size_t len);

/* Fresh master key and salt for a suite from the kernel's CSPRNG
 * (core/random.h).
 * 0 or -1. */
int media_keys_fresh(enum pc_srtp_suite suite, struct pc_srtp_params *out);
/* A keyed fingerprint of a key set (suite, master key and salt), to know a
 * key again without keeping it. 0 or -1. */
int media_key_fingerprint(const struct pc_srtp_params *p, uint64_t *out);
/* Whether `recv` is a key this side received with before and has retired
 * (its replay state is gone: accepting it again would reopen every packet
 * recorded under it). The current key and one still in its re-key grace are
 * not retired. A bounded memory: the last MEDIA_RETIRED_KEYS keys. */
bool media_stream_key_retired(const struct media_stream *s, enum media_side side,
			      const struct pc_srtp_params *recv);

/* Cluster mode (issue 12, roc.c): the SRTP indices a call taken over
 * carries on from. media_stream_roc reads side `side`'s highest index each
 * way (ROC << 16 | SEQ) as its engine last published it, each 0 unless it
 * is for the key given (recv, send: the side's current keys). The
 * engine calls `fn` with a stream's owner (media_stream_set_owner, on the
 * signalling thread; NULL: not told) on the signalling loop when one of
 * the stream's ROCs moved, which happens once per 65,536 packets; fn may
 * read streams but not change or free them. media_stream_seed_roc makes
 * the side's contexts start from those indices (msrtp_seed), after its
 * keys were set. */
typedef void media_roc_fn(void *ctx, void *owner);
void media_engine_on_roc(struct media_engine *e, media_roc_fn *fn, void *ctx);
void media_stream_set_owner(struct media_stream *s, void *owner);
void media_stream_roc(const struct media_stream *s, enum media_side side,
		      const struct pc_srtp_params *recv, const struct pc_srtp_params *send,
		      uint64_t *recv_top, uint64_t *send_top);
int media_stream_seed_roc(struct media_stream *s, enum media_side side, uint64_t recv_top,
			  uint64_t send_top);

#endif
