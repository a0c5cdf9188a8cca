/* RFC 3261 §17 transaction layer (with the RFC 6026 Accepted states): INVITE
 * and non-INVITE client and server machines, timers A-M, retransmission and
 * absorption over unreliable transports, matching of requests and responses to
 * transactions (§17.1.3, §17.2.3, with the RFC 2543 fallback), CANCEL matched
 * to its INVITE. It does no I/O itself: timers and sending are an injected
 * environment (libevent and the transport in the daemon, a virtual clock in
 * unit tests), and everything it delivers upward goes through callbacks the
 * transaction user registers. */
#ifndef PC_TRANSACTION_TXN_H
#define PC_TRANSACTION_TXN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/peer.h"
#include "sip/msg.h"

struct txn_layer;
struct txn;

enum txn_kind {
	TXN_CLIENT_INVITE,
	TXN_CLIENT_NON_INVITE,
	TXN_SERVER_INVITE,
	TXN_SERVER_NON_INVITE,
};

enum txn_state {
	TXN_CALLING,    /* client INVITE */
	TXN_TRYING,     /* client and server non-INVITE */
	TXN_PROCEEDING,
	TXN_COMPLETED,
	TXN_CONFIRMED,  /* server INVITE, after ACK for a non-2xx */
	TXN_ACCEPTED,   /* RFC 6026: INVITE after a 2xx (timer L server, M client) */
	TXN_TERMINATED,
};

struct txn_config {
	unsigned t1_ms; /* RTT estimate, default 500 */
	unsigned t2_ms; /* maximum retransmit interval for non-INVITE, default 4000 */
	unsigned t4_ms; /* maximum time a message stays in the network, default 5000 */
	unsigned max_transactions; /* table ceiling; new requests past it get 503 */
};

/* What the layer needs from the outside world. */
struct txn_env {
	void *ctx;
	/* One-shot timer; returns a handle for timer_stop, NULL on failure. */
	void *(*timer_start)(void *ctx, unsigned ms, void (*fire)(void *arg), void *arg);
	/* Stop and release a timer that has not fired (or has fired: then only release). */
	void (*timer_stop)(void *ctx, void *timer);
	/* Send msg to peer (the connection in peer->conn_id when set). Does not
	 * take ownership. 0, or a negative pc_err on a transport error. */
	int (*send)(void *ctx, const struct pc_peer *peer, msg_t *msg);
};

/* Callbacks of the transaction user (the layer above). Any may be NULL. */
struct txn_user {
	void *ctx;
	/* A new server transaction for a request other than ACK. The TU answers
	 * with txn_respond(). For CANCEL, txn_cancel_target() names the INVITE. */
	void (*on_request)(void *ctx, struct txn *st, msg_t *req);
	/* An ACK that matched no transaction: the ACK for a 2xx (end to end). */
	void (*on_ack)(void *ctx, msg_t *ack, const struct pc_peer *from);
	/* A response a client transaction passes up: every 1xx, every 2xx, and
	 * the first non-2xx final (retransmissions of it are absorbed). */
	void (*on_response)(void *ctx, struct txn *ct, msg_t *resp);
	/* A 2xx retransmission for an INVITE that matched no transaction. */
	void (*on_stray_response)(void *ctx, msg_t *resp, const struct pc_peer *from);
	/* Client transaction failed: Timer B/F fired or the transport failed.
	 * The TU treats it as a 408 (timeout) or 503 (transport). */
	void (*on_failure)(void *ctx, struct txn *ct, int status);
	/* Server transaction could not deliver its response (transport error). */
	void (*on_server_failure)(void *ctx, struct txn *st);
	/* The transaction is about to be freed; drop references to it. */
	void (*on_terminated)(void *ctx, struct txn *t);
};

struct txn_layer *txn_layer_new(const struct txn_config *cfg, const struct txn_env *env,
				const struct txn_user *tu);
/* Frees every transaction (calling on_terminated for each) and the layer. */
void txn_layer_free(struct txn_layer *layer);
unsigned txn_layer_count(const struct txn_layer *layer);

/* Hand in a parsed message that passed the stateless checks. The layer takes
 * ownership of msg (it keeps or destroys it). `from` is copied. */
void txn_layer_receive(struct txn_layer *layer, msg_t *msg, const struct pc_peer *from);

/* The transport could not reach `to` (connect or TLS handshake failed, or
 * the connection died before its queued data left). Every client transaction
 * still waiting for a final response from that address and transport fails
 * now with 503 (RFC 3261 §17.1.4) instead of at Timer B/F. */
void txn_layer_unreachable(struct txn_layer *layer, const struct pc_peer *to);

/* Server transactions: send a response (provisional or final). Takes
 * ownership of resp. PC_OK, or PC_ERR_STATE after a final response. */
int txn_respond(struct txn *st, msg_t *resp);

/* Client transactions: send req (which must carry a top Via whose branch was
 * made by txn_new_branch()) to peer. Takes ownership of req. NULL on failure. */
struct txn *txn_request(struct txn_layer *layer, msg_t *req, const struct pc_peer *to,
			void *user_data);
/* Writes "z9hG4bK" + random token into out (at least 32 bytes). */
void txn_new_branch(char *out, size_t len);

enum txn_kind txn_kind(const struct txn *t);
enum txn_state txn_state(const struct txn *t);
const char *txn_state_name(enum txn_state s);
/* The method of the request that created t (the CSeq method for a client
 * transaction); valid for the transaction's whole life, unlike the request. */
sip_method_t txn_method(const struct txn *t);
/* The request, owned by the transaction; NULL once it only absorbs
 * retransmissions (Completed, Confirmed or Accepted after a final response,
 * RFC 3261 requests), where it keeps just the key and the bytes that answer
 * one: a TU reads it in its callback for the final response, not after. */
msg_t *txn_request_msg(const struct txn *t);
/* Where the request came from or went to, verified TLS identity included,
 * for the TU's decisions; like the request, NULL once the transaction only
 * absorbs retransmissions (it keeps the transport, connection and address
 * its answers go to, not the identity). */
const struct pc_peer *txn_peer(const struct txn *t);
/* Over a reliable transport (TCP, TLS), in every state. */
bool txn_reliable(const struct txn *t);
void *txn_user_data(const struct txn *t);
void txn_set_user_data(struct txn *t, void *data);
/* For a CANCEL server transaction: the INVITE server transaction it cancels
 * (§9.2 matching), or NULL. */
struct txn *txn_cancel_target(const struct txn *cancel_st);
/* The To-tag this server transaction uses for its responses (made once). */
const char *txn_local_tag(struct txn *st);

#endif
