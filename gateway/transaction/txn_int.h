/* The transaction module's shared inside, for its own files only: the
 * transaction and the layer, and the functions the client (client.c, RFC
 * 3261 §17.1) and server (server.c, §17.2) machines share with the core
 * (txn.c: states, timers, life, sending). txn.h is the module's contract;
 * the matching table and the ACK builder have their own header (table.h). */
#ifndef PC_TRANSACTION_TXN_INT_H
#define PC_TRANSACTION_TXN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "table.h"
#include "txn.h"

#define TAG_SIZE 24

/* Where a transaction's messages go once the TU no longer reads its peer:
 * the transport, connection and address of struct pc_peer without the
 * verified TLS identity (256 bytes, for the TU's decisions) and with the
 * address at an IPv6 address's size rather than sockaddr_storage's. Every
 * lingering transaction holds one, ~14,000 of them in the churn soak. */
struct txn_dest {
	enum pc_transport transport;
	socklen_t addrlen;
	uint64_t conn_id;  /* the stream connection answers go on, 0 for UDP */
	int listener;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
};

struct txn {
	struct txn_entry entry; /* matching keys; the table hands it back */
	struct txn_layer *layer;
	enum txn_kind kind;
	enum txn_state state;
	bool reliable;
	bool announced;   /* the TU knows this transaction */
	msg_t *req;
	msg_t *resp;      /* server: the last response sent */
	msg_t *ack;       /* client INVITE: the ACK for a non-2xx */
	/* Once lingering (Completed): the printed response (server) or ACK
	 * (client INVITE) that answers a retransmission, instead of req,
	 * resp and ack; txn_settle() makes the switch. */
	char *again;
	size_t again_len;
	/* The whole peer, TLS identity included, while the TU may read it
	 * (txn_peer): as long as the request is held. dest is always set and
	 * is what a lingering transaction sends to. */
	struct pc_peer *peer;
	struct txn_dest dest;
	void *user_data;
	void *retx_timer; /* A, E or G */
	unsigned retx_ms;
	void *timer;      /* the current state's timeout */
	int fail_status;  /* failure the reaper reports: 408 or 503 */
	struct txn *prev, *next; /* every transaction of the layer */
	struct txn *next_dead;
	struct txn *next_settle;
	bool settling;    /* on the layer's settle list */
	char tag[TAG_SIZE];
};

struct txn_layer {
	struct txn_config cfg;
	struct txn_env env;
	struct txn_user tu;
	struct txn_table table;
	struct txn *all;
	struct txn *dead, *dead_tail; /* terminated, awaiting the reaper */
	void *reap_timer;
	unsigned count;
	struct txn *settle;           /* entered a lingering state, for the reaper */
	bool closing;
};

static inline struct txn *entry_txn(struct txn_entry *e)
{
	return e ? (struct txn *)((char *)e - offsetof(struct txn, entry)) : NULL;
}

static inline bool is_server(const struct txn *t)
{
	return t->kind == TXN_SERVER_INVITE || t->kind == TXN_SERVER_NON_INVITE;
}

static inline unsigned t64(const struct txn_layer *layer)
{
	return 64 * layer->cfg.t1_ms;
}

/* txn.c: states and timers. */
const char *txn_id(const struct txn *t);
void txn_set_state(struct txn *t, enum txn_state s);
void txn_timer_clear(struct txn_layer *layer, void **slot);
bool txn_timer_set(struct txn *t, void **slot, unsigned ms, void (*fire)(void *));
void txn_arm_reaper(struct txn_layer *layer);
void txn_arm_timeout(struct txn *t, unsigned ms, void (*fire)(void *));
void txn_retx_fire(void *arg);
void txn_timeout_fire(void *arg);

/* txn.c: life and sending. */
struct txn *txn_create(struct txn_layer *layer, enum txn_kind kind, msg_t *req,
		       const struct pc_peer *peer);
bool txn_has_core_headers(sip_t const *sip);
void txn_terminate(struct txn *t);
void txn_fail(struct txn *t, int status);
void txn_settle_soon(struct txn *t);
int txn_send_again(struct txn *t);
int txn_send(struct txn *t, msg_t *msg);
int txn_send_or_fail(struct txn *t, msg_t *msg);

/* client.c: a response, matched to its client transaction or stray. */
void txn_receive_response(struct txn_layer *layer, msg_t *msg, const struct pc_peer *from);
/* server.c: a request; true when msg now belongs to a new transaction. */
bool txn_receive_request(struct txn_layer *layer, msg_t *msg, const struct pc_peer *from);

#endif
