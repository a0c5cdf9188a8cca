/* Private header of the transaction module: the matching table (RFC 3261
 * §17.1.3 for responses, §17.2.3 for requests, with the RFC 2543 fallback) and
 * the §17.1.1.3 ACK builder. The table knows only an embedded entry, not the
 * transaction, so matching rules can be read and tested apart from the state
 * machines. The table is core/hash.h's, keyed with the process's secret
 * key (branches and Call-IDs are chosen by peers); its buckets are allocated
 * once from the transaction ceiling, so it never grows. */
#ifndef PC_TRANSACTION_TABLE_H
#define PC_TRANSACTION_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/hash.h"
#include "sip/msg.h"

#define TXN_MAGIC_COOKIE "z9hG4bK"

/* What RFC 3261 matching compares (§17.1.3, §17.2.3). The strings point
 * into the request while the transaction keeps it, into key_mem after. */
struct txn_key {
	bool rfc3261;            /* the branch carries the magic cookie */
	const char *branch;      /* top Via branch, NULL in an RFC 2543 Via */
	const char *host;        /* top Via sent-by */
	unsigned port;           /* sent-by port, the transport's default filled in */
	sip_method_t method;     /* server: the request's; client: the CSeq's */
	const char *method_name; /* compared for extension methods */
};

struct txn_entry {
	struct pc_hlink link;    /* in the table while the transaction lives */
	bool server;
	/* The request that created the transaction; NULL once it lingers in
	 * Completed or Confirmed, where RFC 3261 keys are enough (an RFC 2543
	 * request is kept: its matching reads most of the message). */
	sip_t const *req;
	struct txn_key key;
	char *key_mem;           /* the key's strings once req is gone */
	/* Server INVITE: the To tag of the final response sent, which an RFC 2543
	 * ACK carries instead of the request's. */
	char const *resp_to_tag;
};

struct txn_table {
	struct pc_htab index;
};

enum txn_match {
	TXN_MATCH_SAME,   /* a retransmission of the creating request */
	TXN_MATCH_ACK,    /* an ACK looking for its INVITE */
	TXN_MATCH_CANCEL, /* a CANCEL looking for the INVITE it cancels (§9.2) */
};

/* 0, or -1 when the buckets cannot be allocated or keyed. */
int txn_table_init(struct txn_table *tb, unsigned max_entries);
void txn_table_fini(struct txn_table *tb);
/* The longest chain (tests: crafted branches must not pile up). */
size_t txn_table_max_chain(const struct txn_table *tb);
/* e->req must be set; the key is taken from it. */
void txn_table_insert(struct txn_table *tb, struct txn_entry *e);
void txn_table_remove(struct txn_table *tb, struct txn_entry *e);
/* Copy the key's strings out of the request, so the request can go: 0, or
 * -1 without memory (the entry is unchanged, the request must stay). */
int txn_entry_own_key(struct txn_entry *e);
void txn_entry_fini(struct txn_entry *e);
struct txn_entry *txn_table_find_client(const struct txn_table *tb, sip_t const *resp);
struct txn_entry *txn_table_find_server(const struct txn_table *tb, sip_t const *req,
					enum txn_match mode);

/* True when the top Via branch carries the RFC 3261 magic cookie. */
bool txn_branch_is_3261(sip_t const *sip);

/* The ACK for a non-2xx final response (§17.1.1.3), or NULL on allocation
 * failure. */
msg_t *txn_ack_build(msg_t *req, msg_t *resp);

#endif
