/* A stream operation as data (issue 12): what the signalling thread asks
 * of a stream that lives on a media worker, carried through the worker's
 * command queue (worker.h) and applied there by media_stream_cmd_apply,
 * which calls the same media_stream_* function the signalling thread calls
 * directly with media.workers = 1. Everything is copied in (addresses, SRTP
 * keys), so the sender keeps nothing borrowed; a command holding keys is
 * wiped by the queue after use and media_stream_cmd_wipe wipes the
 * sender's copy. Creating and freeing a stream are not here: ports are
 * taken and released on the signalling thread (docs/architecture.md,
 * "Media workers"). */
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
};

struct media_stream_cmd {
	enum media_stream_op op;
	struct media_stream *s;
	enum media_side side;
	union {
		struct {
			struct sockaddr_storage rtp_addr;
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
	} u;
};

/* Applies c on the thread that owns c->s's engine. What the direct call
 * returns (0 or -1; 0 for the operations that return nothing). */
int media_stream_cmd_apply(const struct media_stream_cmd *c);
/* Zeroes c (it may hold keys). */
void media_stream_cmd_wipe(struct media_stream_cmd *c);

#endif
