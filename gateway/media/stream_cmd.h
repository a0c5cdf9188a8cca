/* A stream operation as data (issue 12): what the signalling thread asks
 * of a stream that lives on a media worker, carried through the worker's
 * command queue (worker.h) and applied there by media_stream_cmd_apply,
 * which calls the same media_stream_* function the signalling thread calls
 * directly with media.workers = 1. Everything is copied in (addresses, SRTP
 * keys), so the sender keeps nothing borrowed; a command holding keys is
 * wiped by the queue after use and media_stream_cmd_wipe wipes the
 * sender's copy. A stream's ports are taken and released on the
 * signalling thread, which owns the ranges (media_stream_ports_new/_free);
 * in between, ATTACH and DETACH hand it to a worker's engine and take it
 * back (docs/architecture.md, "Media workers"). */
#ifndef PC_MEDIA_STREAM_CMD_H
#define PC_MEDIA_STREAM_CMD_H

#include <stdbool.h>
#include <sys/socket.h>

#include "core/srtp_params.h"
#include "media.h"

enum media_stream_op {
	MEDIA_OP_SET_REMOTE,
	MEDIA_OP_SET_SOURCE,
	MEDIA_OP_ANSWERED,
	MEDIA_OP_SET_CRYPTO,
	MEDIA_OP_AWAIT_KEYS,
	MEDIA_OP_SET_CODEC,
	MEDIA_OP_SEED_ROC, /* media_stream_seed_roc: u.seed */
	MEDIA_OP_ATTACH, /* the engine u.engine relays s from now on */
	MEDIA_OP_DETACH, /* s's engine lets go of it: no more reads, no timers */
};

struct media_stream_cmd {
	enum media_stream_op op;
	struct media_stream *s;
	enum media_side side;
	union {
		struct {
			struct sockaddr_storage rtp_addr; /* family 0: none */
			unsigned rtcp_port;
			bool rtcp_mux;
		} remote;
		struct {
			enum media_source rule;
			bool have_sig;
			struct sockaddr_storage sig;
		} source;
		struct {
			bool have_recv, have_send;
			struct pc_srtp_params recv, send;
		} crypto;
		struct {
			unsigned payload_type, clock_rate;
			enum media_codec codec;
		} codec;
		struct {
			uint64_t recv_top, send_top;
		} seed;
		struct media_engine *engine;
	} u;
};

/* Applies c on the thread that owns c->s's engine. What the direct call
 * returns (0 or -1; 0 for the operations that return nothing). */
int media_stream_cmd_apply(const struct media_stream_cmd *c);
/* On the signalling thread: a stream with both pairs taken from `ports`'s
 * ranges and bound (media_stream_port answers at once), attached to no
 * engine: nothing reads its sockets until an ATTACH is applied. NULL when
 * a range is exhausted (logged, counted). */
struct media_stream *media_stream_ports_new(struct media_engine *ports, int range_a, int range_b);
/* On the signalling thread, once a DETACH of s was applied (or s was never
 * attached): closes its sockets, quarantines its pairs, wipes and frees it. */
void media_stream_ports_free(struct media_stream *s);
/* Zeroes c (it may hold keys). */
void media_stream_cmd_wipe(struct media_stream_cmd *c);

#endif
