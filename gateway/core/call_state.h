/* An established call as plain data, for another node to take it over
 * (cluster mode, issue 12): both legs' dialogs and addresses, and per
 * relay stream the relay ports, the peers' media addresses and the SRTP
 * keys of each side and direction. The B2BUA fills one (b2bua/call_share.c),
 * cluster/call_codec.c seals it for Redis and opens it again; neither
 * includes the other, as with srtp_params.h. Holds secrets: wipe with
 * pc_call_state_wipe before it is freed or goes out of scope. */
#ifndef PC_CORE_CALL_STATE_H
#define PC_CORE_CALL_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "peer.h"
#include "srtp_params.h"

#define PC_CS_NAME_MAX 64     /* a configured leg's name (CFG_NAME_MAX) */
#define PC_CS_CALL_ID_MAX 256 /* as struct leg's */
#define PC_CS_TAG_MAX 256
#define PC_CS_URI_MAX 512
#define PC_CS_ROUTE_MAX 1024  /* a route set as header text */
#define PC_CS_STREAMS 8       /* PC_SDP_MAX_STREAMS */
#define PC_CS_ID_MAX 17       /* 16 hexadecimal digits and the NUL */

struct pc_cs_leg {
	char cfg_leg[PC_CS_NAME_MAX]; /* the configured leg it belongs to */
	enum pc_transport transport;
	struct sockaddr_storage peer; /* where its requests go (family 0: none) */
	char identity[PC_IDENTITY_MAX]; /* the peer's verified TLS identity, "" none:
					 * only it may act in the dialog */
	char call_id[PC_CS_CALL_ID_MAX];
	char local_tag[PC_CS_TAG_MAX];
	char remote_tag[PC_CS_TAG_MAX];
	char local_uri[PC_CS_URI_MAX];     /* ours in From/To */
	char remote_uri[PC_CS_URI_MAX];    /* the peer's in From/To */
	char remote_target[PC_CS_URI_MAX]; /* the peer's Contact, "" none */
	char route[PC_CS_ROUTE_MAX];       /* route set (Route header values), "" none */
	uint32_t local_cseq, remote_cseq;  /* remote 0: not known */
	uint64_t sdp_id, sdp_version;      /* our o= line toward it: a re-offer counts on */
	bool secure;
};

/* One side of a relay stream: our port toward that side's peer, the
 * peer's media address, and the keys (recv: what the peer protects with;
 * send: what we protect with toward it). recv_/send_roc and _seq: each SRTP
 * rollover counter and highest sequence number as last recorded (0 and 0:
 * none yet; the context taking over starts from there, RFC 3711's index
 * carried on). */
struct pc_cs_side {
	uint16_t relay_port;
	struct sockaddr_storage media;     /* family 0: not known yet */
	uint16_t rtcp_port;                /* 0: RTP port + 1 */
	bool rtcp_mux;
	bool has_recv, has_send;
	struct pc_srtp_params recv, send;
	uint32_t recv_roc, send_roc;
	uint16_t recv_seq, send_seq;
};

struct pc_cs_stream {
	struct pc_cs_side side[2]; /* [0] leg A's, [1] leg B's */
};

struct pc_call_state {
	char id[PC_CS_ID_MAX];    /* the record's id (hex), also its associated data */
	uint64_t answered_wall_s; /* wall-clock seconds of the answer */
	struct pc_cs_leg legs[2];
	unsigned n_streams;
	struct pc_cs_stream streams[PC_CS_STREAMS];
};

static inline void pc_call_state_wipe(struct pc_call_state *s)
{
	explicit_bzero(s, sizeof(*s));
}

#endif
