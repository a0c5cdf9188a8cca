/* Internal to b2bua/: the call, its two legs and the media plan helpers
 * shared by call.c (signalling) and media_plan.c (SDP and keys). */
#ifndef PC_B2BUA_CALL_H
#define PC_B2BUA_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "b2bua.h"
#include "core/peer.h"
#include "endpoint/endpoint.h"
#include "guard.h"
#include "media/media.h"
#include "register.h"
#include "sdp/sdp.h"

#define LEG_A 0 /* the caller's leg: we are its UAS */
#define LEG_B 1 /* the callee's leg: we are its UAC */

enum call_state {
	CALL_INVITING,   /* INVITE sent to B, no answer yet */
	CALL_EARLY,      /* a provisional with To-tag from B */
	CALL_CONFIRMED,  /* 2xx relayed */
	CALL_ENDING,     /* BYE sent, waiting for its answer */
	CALL_CLOSED,
};

/* Maximum crypto suites we offer per m-line (the leg's first ones). */
#define MAX_OFFERED_SUITES 4

/* The SDES keys of one m-line on one leg: those we offered (the answer
 * picks one, which becomes our send key), the peer's key (we unprotect with
 * it) and ours (we protect with it). Allocated only for legs that are or may
 * become secure, one per m-line, so a plain leg costs nothing. Secret:
 * wiped before it is freed. */
struct stream_keys {
	struct pc_sdp_crypto offered[MAX_OFFERED_SUITES];
	unsigned n_offered;
	struct pc_sdp_crypto recv_key;
	struct pc_sdp_crypto send_key;
};

struct leg {
	struct txn_owner owner;   /* first: this leg's transactions point here */
	struct call *call;
	int side;                 /* LEG_A or LEG_B, also the media side */
	const struct leg_config *cfg;
	struct pc_peer peer;      /* where requests and responses go on this leg */
	char call_id[256];
	char local_tag[32];
	char remote_tag[256];  /* RFC 4475 longreq.dat carries a 159-character tag */
	char local_uri[300];      /* name-addr we use in From/To on this leg */
	char remote_uri[300];
	char remote_target[300];  /* the peer's Contact: in-dialog Request-URI */
	uint32_t local_cseq;
	bool secure;              /* SRTP negotiated on this leg */
	struct stream_keys *keys; /* per m-line of the call, secure legs only (media_plan.c) */
	uint64_t sdp_id, sdp_version;
	uint64_t conn_lost_ms;    /* monotonic ms the peer's connection closed, 0 = fine */
	struct leg *hnext;        /* chain in the b2bua's dialog index */
	bool indexed;
};

/* A call to a registered user tries its contacts one after another (serial
 * forking, RFC 3261 §16.6 leaves serial or parallel to the forker): what the
 * next attempt needs, kept only for such calls. */
struct fork_state {
	char callee[REG_USER_MAX]; /* the address-of-record user */
	unsigned next;             /* index of the next binding to try */
	unsigned max_forwards;
	const struct route_config *route;
	char caller[REG_USER_MAX]; /* the authenticated caller, "" for none */
};

struct call {
	struct call *next, *prev; /* the b2bua's calls; once buried, next chains the dead */
	struct b2bua *b2bua;
	enum call_state state;
	uint32_t id;              /* for logs: never the Call-ID */
	struct leg legs[2];
	struct txn *a_invite;     /* server INVITE from A, until it terminates */
	struct txn *b_invite;     /* client INVITE to B, until it terminates */
	msg_t *ok_msg;            /* our last 2xx to an INVITE, resent over UDP until ACK */
	struct txn *ok_st;        /* ... on this server transaction */
	int ok_side;              /* ... of this leg */
	struct txn *relay_st;     /* an in-dialog request being relayed ... */
	struct txn *relay_ct;     /* ... as this request on the other leg */
	int relay_from;           /* ... which came from this leg */
	struct event *timer;      /* 2xx retransmission, then media watchdog */
	unsigned ok_interval_ms;
	unsigned ok_elapsed_ms;
	struct media_stream *streams[PC_SDP_MAX_STREAMS];
	unsigned n_streams;       /* m-lines of the offer */
	enum pc_sdp_proto offer_proto[PC_SDP_MAX_STREAMS]; /* the offerer's profiles, for our answer */
	bool answered;            /* B's SDP answer applied */
	bool in_setup;            /* counted in b2bua.n_setup */
	struct guard_call *limits; /* the user and trunk it is counted under (malloc), or NULL */
	bool late_offer;          /* A's INVITE had no SDP: offer in B's 2xx, answer in A's ACK */
	unsigned retry_after_s;   /* a 503 toward A says when the down next hop is tried again */
	bool b_ack_pending;       /* late offer: B's 2xx awaits our ACK carrying A's answer */
	char *a_answer;           /* the SDP we answered A with (malloc, holds keys) */
	int pending_bye;          /* legs with a BYE in flight */
	unsigned live_txns;       /* transactions whose user data is one of our legs */
	uint64_t media_since;     /* monotonic ms when media was first watched */
	struct fork_state *fork;  /* calls to a registered user only */
	char *b_route;            /* "Route: <Path>\r\n" toward B's binding (malloc), or NULL */
};

struct b2bua {
	struct event_base *base;
	const struct gateway_config *cfg;
	struct endpoint *ep;
	struct media_engine *media;
	int range[CFG_MAX_LEGS];  /* media port range per configured leg */
	struct call *calls;       /* live and closing calls, doubly linked */
	struct call *dead;        /* closed, nothing points at them: for the reaper */
	struct reg_service *reg;  /* REGISTER, digest and the registrar (register.c) */
	struct guard *guard;      /* intake rules and call limits (guard.c) */
	unsigned n_calls;
	unsigned n_setup;         /* calls not yet answered, for the set-up cap */
	struct leg **index;       /* dialogs by Call-ID: every message of a call looks here */
	unsigned index_size;
	uint32_t next_id;
	struct event *reaper;
};

/* media_plan.c: SDP and keys. An offer arrives on leg `from` and goes to the
 * other leg; an answer arrives on leg `from` and goes back to the offerer.
 * Each returns 0 with a malloc'd body (it holds keys: wipe, then free), or a
 * SIP status (488, 500, 503) with `why` set for the Warning. */
int plan_offer(struct call *c, int from, const char *body, size_t len, char **out_body,
	       char *why, size_t whylen);
int plan_answer(struct call *c, int from, const char *body, size_t len, char **out_body,
		char *why, size_t whylen);
/* The call was answered (a 2xx after an early answer): plain sides not yet
 * latched get their latch window again, for peers that send only now. */
void plan_answered(struct call *c);
void plan_release(struct call *c);

#endif
