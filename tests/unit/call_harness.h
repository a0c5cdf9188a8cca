/* A gateway's call layer in a fake world, for unit tests without SIP
 * sockets or sleeping: a real transaction layer on a virtual clock (which
 * is also the gateway's pc_clock) with timers the test fires in due order
 * and every message sent captured as text, a b2bua on a fake call_net over
 * that layer, and the peers played from text: "A" is a phone on the inside
 * leg (127.0.0.1:5070), "B" the route's next hop on the outside leg
 * (127.0.0.2:5090), "C" and "D" phones that register on the outside leg
 * (127.0.0.3 and .4, for serial forking). SDP calls get real relay ports on
 * 127.0.0.1 from the media engine; no packet is sent to them. Include after
 * <cmocka.h>. */
#ifndef PC_TEST_CALL_HARNESS_H
#define PC_TEST_CALL_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "b2bua/call.h"
#include "config/config.h"
#include "media/media.h"
#include "sip/msg.h"
#include "transaction/txn.h"

/* ---- the world (set up afresh for each test) ---- */

extern uint64_t now_ms;          /* the virtual clock */
extern struct gateway_config cfg; /* may be changed by a test (limits) */
extern struct media_engine *media;
extern struct txn_layer *layer;
extern struct b2bua *gw;
extern struct call_handler handler;
extern unsigned retry_after_s;   /* what call_net says of the next hop */
extern int last_taken;           /* what on_request returned last; -1 before */

/* Who a message went to. */
enum { TO_A, TO_B, TO_C, TO_D, N_PEERS, TO_OTHER = N_PEERS };
extern struct pc_peer peers[N_PEERS]; /* where each one sends from (changeable) */
#define peer_a peers[TO_A]
#define peer_b peers[TO_B]

/* cmocka fixtures: the reference configuration (inside -> outside to B),
 * or one with a registrar on the outside leg and calls to carol routed to
 * her registered contacts; media_timeout off. Teardown frees the layer,
 * then the b2bua (as the daemon does), and asserts no relay stream is left
 * and every timer handle was released. */
int setup(void **state);
int setup_registrar(void **state);
int teardown(void **state);
int group_setup(void **state);

/* Move the clock by ms, firing due timers in (due, creation) order. */
void advance(uint64_t ms);
/* Long enough for every transaction to end, then the reaper: asserts that
 * no transaction, call, relay stream or count is left. */
void settle(void);

/* ---- what the peers were sent ---- */

/* Messages to `who` not taken yet whose start line begins with `prefix`
 * ("INVITE ", "SIP/2.0 200", "" for any). */
unsigned waiting(int who, const char *prefix);
/* The first such message, parsed (the caller destroys it), marked taken;
 * fails the test when there is none. */
msg_t *take(int who, const char *prefix);
/* Mark everything sent so far as taken. */
void take_all(void);
bool has_line(msg_t *m, const char *line);

/* ---- the peers' messages ---- */

extern const char sdp_a[], sdp_b[]; /* plain audio offers/answers of A and B */

/* A's side of its dialog with the gateway. */
struct a_dialog {
	const char *callee;     /* the Request-URI user ("bob") */
	char call_id[400];
	char gw_tag[64];        /* our tag toward A, from our answers */
	char invite_branch[64]; /* for its CANCEL and the ACK of a non-2xx */
};

void new_dialog(struct a_dialog *d, const char *call_id);
/* A's request `method` in dialog d, with an SDP body or none: a new
 * transaction, except a CANCEL and the ACK for a non-2xx (`same_txn`). */
void a_send(struct a_dialog *d, const char *method, unsigned cseq, const char *body,
	    bool same_txn);
void a_request(struct a_dialog *d, const char *method, unsigned cseq, const char *body);
/* A's ACK for our 2xx. */
void a_ack(struct a_dialog *d, unsigned cseq, const char *body);
/* take(TO_A, prefix), and A learns our tag from it. */
msg_t *a_gets(struct a_dialog *d, const char *prefix);
/* A peer answers a request the gateway sent it (Via, From, To, Call-ID,
 * CSeq copied; `to_tag` added; Contact for 1xx/2xx; optional SDP). */
void answer(msg_t *req, const struct pc_peer *from, const char *to_tag, int status,
	    const char *contact, const char *body);
void b_answers(msg_t *req, int status, const char *body); /* B, tag "btag" */
void a_answers(msg_t *req, int status);
/* A request from B in its dialog with us, made from our INVITE to B. */
void b_request(msg_t *b_invite, const char *method, unsigned cseq, const char *body);
/* Phone `who` (TO_C, TO_D) registers as `user` from where it is. */
void registers(int who, const char *user);

/* ---- whole steps ---- */

/* The one call in progress (the newest of the b2bua's list). */
struct call *the_call(void);
/* A calls with SDP, B rings and answers, A ACKs: the call is confirmed.
 * Returns our INVITE to B (the caller destroys it). */
msg_t *establish(struct a_dialog *d);
/* The call ends with a BYE on both legs, each answered 200. */
void both_legs_get_bye(struct call *c);
/* A hangs up an established call with BYE (CSeq cseq); B answers ours. */
void a_hangs_up(struct a_dialog *d, unsigned cseq, struct call *c);

#endif
