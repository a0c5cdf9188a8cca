/* The media module's shared inside, for its own files only: the relay
 * engine, its streams and their sides and sockets, the packet buffer sizes,
 * and the functions one file calls in another. media.h is the module's
 * contract with the layers above; the port ranges (ports.h) and the SRTP
 * transform (srtp.h) have their own headers and know nothing of this one.
 * The loop is single threaded and the relay calls no user code, so nothing
 * here is re-entered and no stream is freed while packets are being relayed. */
#ifndef PC_MEDIA_MEDIA_INT_H
#define PC_MEDIA_MEDIA_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "core/seqlock.h"
#include "media.h"
#include "ports.h"
#include "srtp.h"

struct event;

#define MEDIA_MAX_RANGES 16
/* The largest datagram accepted: an Ethernet-MTU RTP packet plus the largest
 * SRTP/SRTCP trailer (tag, MKI, SRTCP index). Anything larger is truncated
 * by the kernel and dropped as malformed. */
#define MEDIA_PKT_IN_MAX (1500 + MSRTP_MAX_TRAILER)
/* Each buffer also has room to append a full trailer to the largest
 * accepted packet when it is protected toward a secure side. */
#define MEDIA_PKT_BUF (MEDIA_PKT_IN_MAX + MSRTP_MAX_TRAILER)
#define MEDIA_BATCH 32
/* Receive keys a side remembers having retired (fingerprints, 8 bytes each):
 * a peer that cycles through more keys than this within one call is not a
 * peer we know of, and the cost is paid per stream. */
#define MEDIA_RETIRED_KEYS 4
/* Ready sockets taken from the epoll set per wake-up; more wait for the
 * next turn of the loop, so signalling is never starved by media. */
#define MEDIA_EVENTS 256
/* Round buffers to 16 bytes so every packet starts cache- and word-aligned. */
/* Streams whose ROC moved awaiting their turn (roc.c): more at once would
 * be more than this many streams wrapping within one turn of the loop. */
#define MEDIA_ROC_DUE 64
#define MEDIA_BUF_ALIGNED ((MEDIA_PKT_BUF + 15) & ~15)

enum { K_RTP = 0, K_RTCP = 1 };

struct side;

/* The relay's own receive figures for one side's RTP (RFC 3550 A.1, A.8):
 * a few integers updated per packet, nothing allocated. */
struct rx_stats {
	bool started;
	bool have_transit;
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t bad_seq;      /* RFC 3550 A.1: a jump is believed when seq == bad_seq */
	uint32_t cycles;       /* sequence wraps, times 65536 */
	uint32_t base_seq;
	uint64_t received;     /* distinct packets of this source, late ones too */
	uint64_t prior_expected, prior_received; /* of earlier sources and restarts */
	uint64_t window;       /* bit k: max_seq - k was received */
	uint64_t dups, late;
	uint32_t transit;      /* arrival - RTP timestamp of the last packet, ts units */
	uint32_t jitter_q4;    /* A.8's estimate times 16 */
};

/* An SR the relay forwarded toward a side, to time that side's answer. */
#define QUALITY_SR_MARKS 4
struct sr_mark {
	uint32_t ntp_mid;
	uint64_t at_us;
};

/* What a side's peer said in RTCP, and the SRs it was sent. */
struct side_report {
	bool have;
	uint8_t fraction;
	int32_t cum_lost;
	uint32_t jitter;       /* timestamp units */
	bool have_rtt;
	uint64_t rtt_us;
	uint64_t malformed;
	struct sr_mark sr[QUALITY_SR_MARKS];
	unsigned sr_next;
};

/* What media_stream_quality makes its figures from (quality.c), gathered
 * on the thread of the engine that relays the side. */
struct quality_src {
	enum media_codec codec;
	unsigned clock_rate;
	uint64_t rtp_in, rtp_in_bytes, rtp_out, rtp_out_bytes, replays;
	struct rx_stats rx;
	bool rep_have, rep_have_rtt;
	uint8_t rep_fraction;
	int32_t rep_cum_lost;
	uint32_t rep_jitter;
	uint64_t rep_rtt_us, rep_malformed;
};
#define QUALITY_SRC_WORDS ((sizeof(struct quality_src) + 7) / 8)

/* A side's quality_src as a media worker last published it (snapshot.c),
 * for readers on the signalling thread: a sequence lock (core/seqlock.h)
 * over atomic words. `mark` is the worker's own: the packet counts at the
 * last publication, so an idle side is not published again. */
struct quality_pub {
	struct pc_seqlock lock;
	_Atomic uint64_t w[QUALITY_SRC_WORDS];
	uint64_t mark;
};

/* A side's SRTP indices as its engine last published them (roc.c):
 * receive key fingerprint and highest index, send fingerprint and index. */
struct roc_pub {
	struct pc_seqlock lock;
	_Atomic uint64_t w[4];
};

/* The receive keys the signalling thread sent one side of a stream that
 * lives on a media worker (keys.c), as fingerprints: the current key, the
 * one before it while its re-key grace runs (by the signalling clock from
 * when the new key was sent), and the retired ones, kept by the same
 * rules as the worker's own (rekey.c), so that media_stream_key_retired
 * answers on the signalling thread without reading the worker's side. */
struct key_book {
	bool have_cur, have_old;
	uint64_t cur, old;
	uint64_t old_until_ms;
	uint64_t retired[MEDIA_RETIRED_KEYS];
	uint8_t n_retired, retired_next;
};

struct msock {
	struct side *side;
	int kind; /* which port this socket is: K_RTP or K_RTCP */
	int fd;
	bool in_epoll; /* added to its engine's epoll set (stream_attach) */
	bool armed;    /* its receive is on its engine's io_uring (uring.c) */
	unsigned slot; /* which, while armed */
	/* Edge-triggered: a socket left with data after its share of reads
	 * waits on the engine's backlog list, since no new edge will come. */
	bool backlogged;
	struct msock *backlog_next;
};

struct side {
	struct media_stream *s;
	enum media_side id;
	int range;
	sa_family_t family; /* the range's address family, copied when taken */
	unsigned pair;
	unsigned port;      /* the pair's RTP port, kept for readers on any thread */
	bool have_pair;
	struct msock sock[2];
	bool have_remote;
	bool rtcp_mux;
	struct sockaddr_storage remote[2]; /* from SDP: RTP and RTCP destinations */
	bool latched[2];
	bool awaiting_keys;                /* secure but not keyed yet: drop all */
	struct sockaddr_storage latch[2];  /* first accepted source, per kind */
	/* A plain side's peer: which sources count as it (media_stream_set_source)
	 * and until when it may latch (set by media_stream_answered). */
	enum media_source rule;
	bool have_sig;
	struct sockaddr_storage sig;       /* the SIP peer's address; port ignored */
	uint64_t latch_until_ms;           /* 0: never answered, no latching */
	/* Keyed = secure in that direction, with recv_p / send_p the key.
	 * Their contexts are made from the key by the first packet that needs
	 * them, so a call that carries no media (on hold, not yet answered,
	 * idle) holds no derived keys: a GCM context is 4.6 KiB. Each caps
	 * its own SSRC count (MSRTP_MAX_SSRC), so no peer can grow them. */
	bool recv_keyed, send_keyed;
	struct msrtp *recv, *recv_old, *send;
	/* The keys behind each context; also how a repeated offer of the same
	 * key is recognised (it must keep its context: a new context under an
	 * old key would reset replay state and the send index). */
	struct pc_srtp_params recv_p, recv_old_p, send_p;
	uint64_t old_until_ms;
	struct event *grace_ev;
	uint64_t retired[MEDIA_RETIRED_KEYS]; /* fingerprints of retired recv keys */
	uint8_t n_retired, retired_next;      /* entries in use; the next to overwrite */
	struct media_side_stats st;
	/* Quality (quality.c): the codec its peer sends, the relay's own
	 * receive figures and what the peer reported. */
	unsigned clock_rate;
	int codec_pt;                      /* -1: unknown, jitter not measured */
	enum media_codec codec;
	struct rx_stats rx;
	struct side_report rep;
	struct quality_pub pub;            /* written by the engine's thread only */
	/* Cluster mode (roc.c): where a context made for a call taken over
	 * starts its index (msrtp_seed), and the indices published. */
	uint64_t recv_seed, send_seed;
	struct roc_pub rocp;
};

struct media_stream {
	struct media_engine *e;     /* the engine that relays it (stream_attach) */
	struct media_engine *ports; /* the engine whose ranges its pairs are from */
	bool attached;              /* in e's epoll set and stream list */
	int worker;                 /* pool.c: its worker, -1 = the signalling loop */
	struct media_stream *prev, *next;
	struct side side[2];
	/* The signalling thread's own, for a stream on a worker: nothing else
	 * of the stream is read there once it is attached, but a side's
	 * `port` (set before) and its packet figures (`st`, relaxed atomics)
	 * and `pub` (sequence lock). */
	struct key_book book[2];
	void *owner;                /* signalling thread: media_stream_set_owner */
};

/* Where relay_packet sends a datagram that crossed: out of socket fd to
 * dst, len bytes, bound for side `to` as a packet of `kind`. */
struct relay_out {
	int fd;
	const struct sockaddr_storage *dst;
	size_t len;
	struct side *to;
	int kind;
};

struct out_meta {
	struct side *to;
	int kind;
};

struct media_engine {
	struct event_base *base;
	int epfd;               /* the relay sockets, edge-triggered */
	struct event *ep_ev;    /* epfd on the gateway's loop */
	struct msock *backlog;  /* sockets with data left over from a turn */
	struct epoll_event ready[MEDIA_EVENTS];
	struct port_range ranges[MEDIA_MAX_RANGES];
	int nranges;
	unsigned nstreams;
	struct media_stream *streams;
	unsigned grace_ms;
	unsigned latch_window_ms;
	/* One batch is in flight at a time (single-threaded loop), so one set
	 * of buffers serves every socket of every stream. */
	_Alignas(16) uint8_t buf[MEDIA_BATCH][MEDIA_BUF_ALIGNED];
	struct sockaddr_storage from[MEDIA_BATCH];
	struct iovec in_iov[MEDIA_BATCH];
	struct mmsghdr in[MEDIA_BATCH];
	struct iovec out_iov[MEDIA_BATCH];
	struct mmsghdr out[MEDIA_BATCH];
	struct out_meta meta[MEDIA_BATCH];
	unsigned nout;
	int out_fd;
	uint64_t now_us;        /* the clock read for the batch being relayed */
	bool quality_off;       /* media_engine_set_quality(e, false): bench only */
	struct media_uring *uring; /* uring.c: reads and sends through io_uring, or NULL */
	struct event *pub_ev;   /* a worker's quality publication timer (snapshot.c) */
	unsigned want_port[2];  /* media_engine_want_ports: the next stream's, 0 = any */
	/* roc.c: streams whose ROC moved, told on a later turn of the loop,
	 * to the pool's hook (a worker's engine) or the owner's callback. */
	struct media_stream *roc_due[MEDIA_ROC_DUE];
	unsigned nroc;
	struct event *roc_ev;
	void (*roc_hook)(void *ctx, struct media_stream *s);
	void *roc_hook_ctx;
	media_roc_fn *roc_fn;
	void *roc_ctx;
};

static inline socklen_t sa_len(const struct sockaddr_storage *sa)
{
	return sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static inline unsigned sa_port(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static inline void sa_set_port(struct sockaddr_storage *sa, unsigned port)
{
	if (sa->ss_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
}

/* A side's packet figures (struct media_side_stats) are published to
 * readers on other threads: the engine's thread is their only writer, so a
 * relaxed load and store replace the increment (the same instructions on
 * x86-64 and arm64, no lock, no read-modify-write), and a reader of one
 * field never sees a torn value. media_stream_stats reads each field with
 * a relaxed load; fields may be a packet apart from each other, which no
 * reader relies on. Issue 12 chose this over answering reads by message
 * because every reader (the media watchdog, /calls, the control socket,
 * the call record) reads synchronously on the signalling thread. */
#define ST_ADD(field, n) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define ST_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)

/* stream.c: a stream made in two halves (issue 12). The ports half runs
 * on the signalling thread, which owns the ranges: stream_ports_take takes
 * and binds both pairs (NULL: exhausted or a socket error, logged),
 * stream_ports_release closes the sockets, returns the pairs (quarantined
 * when `used`) and wipes and frees the stream. The engine half runs on the
 * thread of the engine that relays it: stream_attach adds the sockets to
 * its epoll set, opens the re-key timers on its loop and links the stream
 * (0, or -1 with nothing attached); stream_detach undoes all of it, after
 * which no packet of the stream is read and its fds may be closed. A
 * second attach is refused and a detach of a detached stream does nothing.
 * An engine that relays streams of another engine's ranges must have let
 * go of them all before media_engine_free. */
struct media_stream *stream_ports_take(struct media_engine *e, int range_a, int range_b);
void stream_ports_release(struct media_stream *s, bool used);
int stream_attach(struct media_engine *e, struct media_stream *s);
void stream_detach(struct media_engine *e, struct media_stream *s);

/* engine.c: a socket leaves the list of those with data left over. */
void backlog_remove(struct media_engine *e, struct msock *ms);

/* relay.c: reads and relays what one socket holds, at most
 * MEDIA_READS_PER_EVENT batches. True when the socket may still hold more. */
bool relay_drain(struct media_engine *e, struct msock *ms);
/* relay.c: one datagram of len bytes in pkt (a MEDIA_PKT_BUF buffer: room
 * to protect it in place) read from socket `sock_kind` of side x, from
 * `from`, at `now` (ms; the engine's now_us read for its batch). Every
 * check and transform of the relay; true with *out filled when it is to be
 * sent on, false when it was dropped (counted). */
bool relay_packet(struct side *x, int sock_kind, uint8_t *pkt, size_t len, bool truncated,
		  const struct sockaddr_storage *from, uint64_t now, struct relay_out *out);

/* uring.c: the io_uring backend of an engine on a media worker's thread.
 * uring_open gives the engine a ring that also wakes when wake_fd becomes
 * readable (0; -1 when the kernel will not, said
 * in `why`); uring_arm starts a socket's receive on it and uring_disarm
 * stops it for good (synchronously: no datagram of it is relayed after);
 * uring_turn waits and relays what came, and is true when the worker's
 * libevent base is due a pass (a command woke it, or wait_ms passed since
 * the last), everything queued then submitted; uring_close ends it. */
int uring_open(struct media_engine *e, int wake_fd, char *why, size_t why_len);
int uring_arm(struct media_engine *e, struct msock *ms);
void uring_disarm(struct media_engine *e, struct msock *ms);
bool uring_turn(struct media_engine *e, unsigned wait_ms);
void uring_close(struct media_engine *e);
/* The ring's descriptor, -1 without one (tests: its limits are checked). */
int uring_ring_fd(const struct media_engine *e);
/* Is `from` the peer of plain side x under its rule? */
bool source_allowed(const struct side *x, int kind, const struct sockaddr_storage *from);

/* quality.c: an RTP packet from side x that passed every check, and an
 * RTCP packet from x (decrypted when x is secure) on its way to y. */
void quality_rtp(struct side *x, const uint8_t *pkt, uint64_t now_us);
void quality_rtcp(struct side *x, struct side *y, const uint8_t *pkt, size_t n, uint64_t now_us);

/* quality.c: a side's figures gathered where it is relayed, and turned
 * into a media_quality anywhere. */
void quality_gather(const struct side *x, struct quality_src *src);
void quality_figures(const struct quality_src *src, struct media_quality *q);

/* snapshot.c, on the engine's thread: publish a side's (a stream's two
 * sides') quality_src now, and every `ms` for each stream of the engine
 * whose packet counts moved (a worker's engine; 0, or -1 logged).
 * quality_snapshot reads the last publication from any thread. */
void quality_publish(struct side *x);
void stream_publish(struct media_stream *s);
int engine_publish_every(struct media_engine *e, unsigned ms);
void quality_snapshot(const struct side *x, struct quality_src *src);

/* rekey.c: the re-key timer of a side that opens, and every key and
 * context of a side that closes (wiped); whether the side itself (on its
 * engine's thread) holds `recv` as retired. */
int side_keys_open(struct media_engine *e, struct side *x);
void side_keys_close(struct side *x);
bool side_key_retired(const struct side *x, const struct pc_srtp_params *recv);

/* keys.c, on the signalling thread, for a stream on a worker: checks keys
 * about to be sent to side `side` as the worker would (valid parameters,
 * a receive key not retired) and notes the receive key in the side's
 * book; -1 (logged as the worker would) when they would be refused. */
int key_book_send(struct media_stream *s, enum media_side side, const struct pc_srtp_params *recv,
		  const struct pc_srtp_params *send, unsigned grace_ms);

/* roc.c: publish side x's SRTP indices (on its engine's thread); x's ROC
 * moved (publish, and tell on a later turn); stream s is due to be told
 * on engine e's loop (the pool, for a worker's notice); s goes away, or
 * is no longer e's; e's wake-up event (0, or -1). */
void roc_publish(struct side *x);
void roc_wrapped(struct side *x);
void roc_note(struct media_engine *e, struct media_stream *s);
void roc_forget(struct media_engine *e, struct media_stream *s);
int roc_engine_init(struct media_engine *e);

#endif
