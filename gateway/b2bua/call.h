/* Internal to b2bua/: the call, its two legs, the b2bua that owns every
 * call, and the functions the wing's files offer one another. A call is a
 * small state machine (call.c: call_set_state and its table of legal
 * moves); the other files each do one job on it: the Call-ID index
 * (call_index.c), routing and serial forking (route.c), INVITE set-up as
 * ordered phases (setup.c), B's answers to our INVITE (outcome.c), requests
 * inside a dialog (dialog.c), the messages a leg sends (leg_msg.c), the
 * call's timer (call_timer.c), SDP and keys (media_plan.c), and the wiring
 * to the endpoint (b2bua.c). */
#ifndef PC_B2BUA_CALL_H
#define PC_B2BUA_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "b2bua.h"
#include "core/call_state.h"
#include "core/hash.h"
#include "core/peer.h"
#include "endpoint/endpoint.h"
#include "transaction/txn.h"
#include "guard.h"
#include "media/media.h"
#include "media/pool.h"
#include "policy/verdict.h"
#include "record/record.h"
#include "register.h"
#include "sdp/sdp.h"
#include "stir_call.h"

#define LEG_A 0 /* the caller's leg: we are its UAS */
#define LEG_B 1 /* the callee's leg: we are its UAC */

enum call_state {
	CALL_INVITING,   /* INVITE sent to B, no answer yet */
	CALL_EARLY,      /* a provisional with To-tag from B */
	CALL_CONFIRMED,  /* 2xx relayed */
	CALL_ENDING,     /* BYE sent, waiting for its answer */
	CALL_CLOSED,     /* over: no state but what transactions still point at */
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
	/* The dialog's addresses as URL structures (malloc'd copies, leg_set_url),
	 * so a peer's URI reaches our messages as a structure, never as text. */
	url_t *local_url;         /* ours in From/To on this leg */
	const char *local_display; /* its display name (a constant), NULL for none */
	url_t *remote_url;        /* the peer's in From/To */
	url_t *remote_target;     /* the peer's Contact: in-dialog Request-URI; NULL none */
	uint32_t local_cseq;
	bool secure;              /* SRTP negotiated on this leg */
	struct stream_keys *keys; /* per m-line of the call, secure legs only (media_plan.c) */
	uint64_t sdp_id, sdp_version;
	uint64_t conn_lost_ms;    /* monotonic ms the peer's connection closed, 0 = fine */
	struct pc_hlink hnext;    /* in the b2bua's dialog index (call_index.c) */
};

/* A call to a registered user tries its contacts one after another (serial
 * forking, RFC 3261 §16.6 leaves serial or parallel to the forker): what the
 * next attempt needs, kept only for such calls. */
struct fork_state {
	char callee[REG_USER_MAX]; /* the address-of-record user */
	unsigned next;             /* index of the next binding to try */
	unsigned max_forwards;
	/* A copy: a reload may rewrite the routes while the contacts are tried. */
	struct route_config route;
	char caller[REG_USER_MAX]; /* the authenticated caller, "" for none */
};

/* Our last 2xx to an INVITE, resent over UDP until its ACK (RFC 6026: the
 * transaction user's job, not the transaction's). */
struct ok_retx {
	msg_t *msg;               /* NULL: nothing waits for an ACK */
	struct txn *st;           /* the server transaction it answers */
	int side;                 /* the leg it went to */
	unsigned interval_ms, elapsed_ms;
};

/* One in-dialog request relayed at a time (dialog.c). */
struct relay {
	struct txn *st;           /* the request from leg `from`, NULL when none */
	struct txn *ct;           /* ... as our request on the other leg */
	int from;
};

struct identity_out;
struct call_share;

/* What the call record needs beyond the call itself (call_record.c). */
struct call_rec {
	uint64_t start_ms;        /* monotonic ms the call was created (its INVITE) */
	uint64_t answer_ms;       /* ... its 2xx went to the caller; 0 never */
	int status;               /* the first final status to the caller, 0 none */
	bool refused;             /* the gateway refused it */
	bool cancelled;           /* the caller gave up before the answer */
	bool privacy;             /* the caller asked for privacy (RFC 3323) */
	bool asserted;            /* an asserted identity went to the next hop */
	bool ended;               /* by and reason are set: the first cause wins */
	unsigned char by;         /* enum record_party */
	char attest;              /* 'A'-'C' signed, 0 not */
	char reason[RECORD_REASON_MAX];
};

struct call {
	struct call *next, *prev; /* b2bua's calls or closed list; once buried, next chains the dead */
	struct b2bua *b2bua;
	enum call_state state;    /* changed only by call_set_state() */
	uint32_t id;              /* for logs: never the Call-ID */
	struct leg legs[2];
	struct txn *a_invite;     /* server INVITE from A, until it terminates */
	struct txn *b_invite;     /* client INVITE to B, until it terminates */
	struct ok_retx ok;
	struct relay relay;
	void *timer;              /* call_timer.c: 2xx retransmission, lost connections, media */
	struct media_stream *streams[PC_SDP_MAX_STREAMS];
	int media_worker;         /* its streams' worker, -1 before the first (media_plan.c) */
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
	char *b_path;             /* the Path of B's binding, its Route set (malloc), or NULL */
	/* RFC 8224 verification (stir_call.c): while a certificate is fetched
	 * the call waits before leg B exists (set-up resumes in setup.c) */
	struct sti_check *stir_check;
	void (*stir_resume)(struct call *c, enum stir_result r);
	struct setup_wait *setup_wait; /* what set-up resumes with (setup.c), malloc */
	enum stir_mark stir_mark; /* the verstat handed on */
	bool stir_legacy;         /* its Identity was checked as RFC 4474's */
	struct stir_party stir_orig; /* the calling party orig was compared with */
	bool stir_orig_from;         /* ... taken from the From (not an asserted identity) */
	struct call_rec rec;         /* for its call record (call_record.c) */
	/* For observers (call_view.c; its start and answer times are rec's):
	 * the caller as its privacy lets the gateway show it (malloc'd, NULL:
	 * hidden or unknown), and in-dialog requests refused for not being the
	 * leg's identity. */
	char *shown_from;
	unsigned auth_failures;
	const char *end_reason;   /* a Reason for our BYE and CANCEL (a constant), or NULL */
	struct call_share *share; /* cluster mode's side record (call_share.c), or NULL */
};

struct b2bua {
	const struct gateway_config *cfg;
	struct event_base *base;
	struct sti_repo *sti;     /* the verification service's certificates, or NULL */
	const char *stir_http_hosts[CFG_MAX_NAMES];
	struct call_net net;      /* everything below the call layer (endpoint.h) */
	struct media_pool *pool;  /* the media workers (media/pool.h) */
	struct media_engine *media; /* the pool's: its port ranges */
	int range[CFG_MAX_LEGS];  /* media port range per configured leg */
	struct call *calls;       /* live calls (not closed), doubly linked */
	struct call *closed;      /* closed, waiting for their transactions, doubly linked */
	struct call *dead;        /* closed, nothing points at them: for the reaper */
	struct reg_service *reg;  /* REGISTER, digest and the registrar (register.c) */
	struct guard *guard;      /* intake rules and call limits (guard.c) */
	unsigned n_calls;
	unsigned n_setup;         /* calls not yet answered, for the set-up cap */
	struct pc_htab index;     /* dialogs by Call-ID: every message of a call looks here */
	uint32_t next_id;
	void *reaper;             /* one-shot timer freeing `dead`, armed when not NULL */
	bool closing;             /* b2bua_free: the endpoint is gone, no call_net */
	b2bua_record_fn record_fn; /* where a closing call's record goes, or NULL */
	void *record_ctx;
	b2bua_share_fn *share_fn; /* cluster mode: established calls' state, or NULL */
	void *share_ctx;
	/* Calls created per configured leg: [leg][0] with the caller on it,
	 * [leg][1] with the callee on it (portcullis_calls_started_total). */
	uint64_t calls_started[CFG_MAX_LEGS][2];
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
/* One INFO line per relay stream and leg with its media quality (loss,
 * jitter, round trip, MOS), for when the call ends. */
void plan_log_quality(const struct call *c);
void plan_release(struct call *c);
/* A call taken over from another node (call_adopt.c): its streams on the
 * same relay ports, with the peers and keys the state names. 0, or -1
 * (a port not free here, a key refused); the caller closes the call. */
int plan_adopt(struct call *c, const struct pc_call_state *s);
/* The refusal reason of a status plan_offer or plan_answer returned. */
enum pc_refusal plan_refusal(int status);

/* call.c: lifetime and state. */
/* A new call in CALL_INVITING for the server INVITE `st` (NULL: a call
 * taken over, call_adopt.c), counted and listed, legs initialised for
 * their configured legs; NULL without memory.
 * `limits` (may be all zero) is the call's count under the guard. */
struct call *call_new(struct b2bua *b, struct txn *st, const struct leg_config *a_cfg,
		      const struct leg_config *b_cfg, const struct guard_call *limits);
/* The only way the state of a call changes: a move missing from the table
 * of legal moves is a bug, logged (and asserted in debug builds). */
void call_set_state(struct call *c, enum call_state s);
const char *call_state_name(enum call_state s);
/* Close the call now: index, counts, limits, media and timers released. A
 * closed call is freed once no transaction points at it. */
void call_close(struct call *c, const char *reason);
/* End the call by BYE on the legs in `legs` (a bit per leg); it closes once
 * those BYEs are answered, or now if there was nothing to send. */
void call_end(struct call *c, unsigned legs, const char *why);
/* The call left set-up (answered or closed): a slot of the set-up cap frees. */
void call_leave_setup(struct call *c);
/* For b2bua_free: close what is open and free every call now (the
 * transaction layer is gone already, so nothing points at a call). */
void call_free_all(struct b2bua *b);
/* A transaction whose user data was one of the call's legs terminated. */
void call_txn_gone(struct call *c, struct txn *t);
#define BOTH_LEGS ((1u << LEG_A) | (1u << LEG_B))

/* call_record.c: the call record. */
/* The caller asked for privacy in `sip` (its INVITE). */
void call_rec_privacy(struct call *c, sip_t const *sip);
/* Who ended the call and why; the first cause noted wins. */
void call_rec_ended(struct call *c, enum record_party by, const char *reason);
/* A final response `status` went to the caller's INVITE (`refusal`: the
 * gateway's refusal, else NULL): the first one is the call's status and
 * its set-up time. */
void call_rec_final(struct call *c, int status, const struct verdict *refusal);
/* The closing call's record, to the registered sink (call_close). */
void call_rec_emit(struct call *c, const char *reason);
/* call_view.c: keep the caller's From (display name and URI, bounded) for
 * observers unless the INVITE asks for privacy (RFC 3323 header, user or
 * id, or a Privacy that does not parse); replaces what was kept. */
void call_view_keep_from(struct call *c, sip_t const *invite);
/* u as text in dst (always NUL-terminated, cut at a character boundary),
 * without its password; "" for NULL or a URI without host. */
void call_uri_text(char *dst, size_t size, const url_t *u);

/* setup.c: frees a call's set-up continuation (call_close). */
void setup_wait_free(struct call *c);
/* call_timer.c: one timer per call, started with the first 2xx we send. */
bool call_timer_start(struct call *c);
void call_timer_stop(struct call *c);

/* call_index.c: both legs of every live call by Call-ID. */
int call_index_init(struct b2bua *b, unsigned size);
/* The longest chain of the index (tests: Call-IDs a peer aims at one
 * chain must not make one). */
size_t call_index_max_chain(const struct b2bua *b);
void call_index_free(struct b2bua *b);
void call_index_add(struct b2bua *b, struct leg *l);
void call_index_remove(struct b2bua *b, struct leg *l);
/* The live call one of whose legs has this Call-ID and local tag; its side. */
struct call *call_index_find(struct b2bua *b, const char *call_id, const char *local_tag,
			     int *side);

/* route.c: where leg B goes. */
const struct route_config *route_for(struct b2bua *b, const char *leg, const char *user);
/* Fill leg B's destination, remote target (the INVITE's Request-URI) and
 * To from the route: 0, -1 when the route has no usable target, -2 when
 * the registered user has no binding. */
int route_leg_b(struct call *c, const struct route_config *r, const char *user);
bool route_is_tls(struct b2bua *b, const struct route_config *r, const char *user);
/* Remember what the next contact of a registered callee needs. */
void fork_start(struct call *c, const char *callee, unsigned max_forwards,
		const struct route_config *r, const char *caller);
/* After B's INVITE failed with `status`: the next contact, if any; true
 * when an attempt was sent. */
bool fork_next(struct call *c, int status);
void fork_free(struct call *c);
/* Cluster mode: an INVITE carrying the internal route (route.c): from a
 * configured node peer, `out` is a route to the binding held here that it
 * names and the verdict accepts; from anyone else it is refused. */
bool route_is_internal(sip_t const *sip);
/* The configured node peer (peers[].cluster_node) a message comes from, or
 * NULL: over TLS known by its verified certificate, over TCP by its exact
 * address (a blind forgery cannot complete the handshake), never over UDP. */
const struct peer_config *route_node_peer(const struct gateway_config *cfg, const struct pc_peer *from);
struct verdict route_internal(struct b2bua *b, const struct pc_peer *from, sip_t const *sip,
			      const char *leg, struct route_config *out);
/* stir_legacy.c: whether a message from `from` comes from the configured
 * peer `p` (its verified certificate over TLS, else its address). */
bool peer_is_source(const struct peer_config *p, const struct pc_peer *from);
/* The configured leg of the listener a message came in on, or NULL. */
const char *listener_leg(const struct b2bua *b, const struct pc_peer *from);

/* setup.c: a new INVITE outside any dialog. */
bool setup_new_call(struct b2bua *b, struct txn *st, msg_t *req);
/* One INVITE toward leg B's current target: accept when sent, else the
 * refusal, to be applied with leg_refuse (or, for a contact skipped, with
 * nothing to answer); its why (and a phrase with detail) are written in
 * the caller's `why` and `phrase`. */
struct verdict setup_attempt(struct call *c, sip_t const *sip, const struct route_config *r,
			     const char *caller_user, unsigned mf, char *phrase,
			     size_t phrase_len, char *why, size_t whylen);

/* outcome.c: the transaction callbacks of a leg (B's answers, failures,
 * CANCEL from A). */
void outcome_leg_init(struct leg *l);

/* dialog.c: requests and ACKs inside a call. */
void dialog_request(struct b2bua *b, struct txn *st, msg_t *req, struct call *c, int side);
void dialog_ack(struct call *c, int side, msg_t *ack, const struct pc_peer *from);
/* The relayed request's answer from the other leg. */
void dialog_relay_response(struct call *c, struct txn *ct, msg_t *resp);
/* The relayed request got no answer (timeout or transport). */
void dialog_relay_failure(struct call *c, struct txn *ct, int status);

/* leg_msg.c: every message the call sends, built from the leg's dialog. */
/* Replace *slot with a copy of url (NULL clears it): 0, or -1 without memory. */
int leg_set_url(url_t **slot, const url_t *url);
/* The same from a URI kept as text (a registered contact): -1 also when it
 * does not read as a URI. */
int leg_set_url_text(url_t **slot, const char *text);
/* Free what leg_set_url copied. */
void leg_forget(struct leg *l);
/* A response to a request from leg `side`, with our headers (Contact for
 * 18x/2xx, Warning 399 `warning`, Retry-After where due) and SDP `body`.
 * NULL when it cannot be built (logged with the reason). */
msg_t *leg_reply(struct call *c, struct txn *st, int side, int status, const char *phrase,
		 const char *body, const char *warning);
/* The same with a body that is not SDP, passed on with its type from `src`
 * (INFO, MESSAGE answers). */
msg_t *leg_reply_foreign(struct call *c, struct txn *st, int side, int status,
			 const char *phrase, sip_t const *src);
/* leg_reply sent on `st` (NULL: nothing); a 2xx to an INVITE is kept for
 * retransmission until its ACK. */
void leg_respond(struct call *c, struct txn *st, int side, int status, const char *phrase,
		 const char *body, const char *warning);
/* leg_respond on A's INVITE. */
void leg_respond_a(struct call *c, int status, const char *phrase, const char *body,
		   const char *warning);
/* A refusal on `st` (NULL: nothing) from leg `side`, applied by refuse()
 * with the leg's To-tag; `subject` starts its log line (NULL: the caller
 * logs). */
void leg_refuse(struct call *c, struct txn *st, int side, const struct verdict *v,
		const char *subject);
/* Leg B's INVITE to its remote target with the Route of B's Path, the
 * identity headers `idn` decided (identity.c) and the offer `body` (NULL:
 * late offer); 0, or -1 when it cannot be built (logged with the reason)
 * or sent. */
int leg_send_invite(struct call *c, unsigned max_forwards, const struct identity_out *idn,
		    const char *body);
/* The ACK for a 2xx to our INVITE with CSeq `cseq` on leg `side`, with an
 * SDP answer when the offer came in the 2xx (body may be NULL). */
void leg_send_ack(struct call *c, int side, uint32_t cseq, const char *body);
/* BYE on leg `side` if it has a dialog; counted in pending_bye. */
void leg_send_bye(struct call *c, int side);
/* CANCEL for B's pending INVITE (RFC 3261 §9.1). */
void leg_send_cancel(struct call *c);
/* Leg `to`'s copy of an in-dialog request (method, our CSeq, its target):
 * the SDP `sdp` when re-planned, else the original body with its type.
 * The client transaction, or NULL. */
struct txn *leg_send_relayed(struct call *c, int to, sip_t const *sip, const char *sdp);
/* The host (brackets for IPv6) and port (0: none) of our listener toward a
 * leg's peer, as our Via and Contact name it. */
void leg_sent_by(struct call *c, struct leg *l, char *host, size_t hostlen, unsigned *port);
/* Our Contact on leg l: <sip:gw@host:port;transport=...>, in `home`. */
url_t *leg_contact_url(struct call *c, struct leg *l, su_home_t *home);

#endif
