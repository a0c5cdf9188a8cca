/* The registrar for inside phones (RFC 3261 §10.3): per user, the contacts
 * it registered, each with its expiry, the Call-ID/CSeq that last set it
 * (so a delayed or replayed REGISTER cannot undo a newer one), any Path
 * (RFC 3327), and the flow the REGISTER arrived on: a phone behind NAT is
 * reached at the address and connection its REGISTER came from, not at
 * the private address in its Contact. Every table is bounded by
 * configuration. Times are wall-clock seconds passed in by the caller, so
 * bindings can be stored and survive a restart (store.c) and tests need no
 * clock. Authentication happens before: the registrar takes the user name
 * the gateway authenticated. */
#ifndef PC_REGISTRAR_REGISTRAR_H
#define PC_REGISTRAR_REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/peer.h"
#include "sip/msg.h"

#define REG_USER_MAX 65
#define REG_CONTACT_MAX 256
#define REG_CALLID_MAX 128
#define REG_PATH_MAX 512
#define REG_MAX_PER_USER 32 /* ceiling of reg_limits.max_per_user */
#define REG_NODE_MAX 64     /* a cluster node's name (config's CFG_NODE_MAX) */

struct reg_limits {
	unsigned max_users;       /* users with at least one binding */
	unsigned max_per_user;    /* contacts per user */
	unsigned min_expires;     /* below it (and not 0): 423 Interval Too Brief */
	unsigned max_expires;     /* longer requests are shortened to it */
	unsigned default_expires; /* when the REGISTER names none */
};

struct reg_binding {
	char contact[REG_CONTACT_MAX]; /* Contact URI as registered: the Request-URI to use */
	char call_id[REG_CALLID_MAX];
	uint32_t cseq;
	uint64_t expires_at;           /* wall-clock seconds */
	struct pc_peer flow;           /* where the REGISTER came from: requests go there */
	char path[REG_PATH_MAX];       /* Path header values, comma-separated; "" = none */
	/* Cluster mode: the node that holds the flow, "" = this one. A binding
	 * of another node came from the shared copy (gateway/cluster/). */
	char node[REG_NODE_MAX];
};

/* What to answer a REGISTER with. */
struct reg_result {
	int status;            /* 200, or 400 / 403 / 423 / 500 / 503 */
	const char *phrase;
	const char *why;       /* for the log line */
	unsigned min_expires;  /* with 423: the Min-Expires value */
};

/* Changes are reported so a store can write them through (store.c). */
struct reg_store_ops {
	void (*put)(void *ctx, const char *user, const struct reg_binding *b);
	void (*del)(void *ctx, const char *user, const char *contact);
};

/* Cluster mode: told after a REGISTER changed a user's bindings, so the
 * user's whole set can be written to the shared copy (gateway/cluster/). */
typedef void reg_changed_fn(void *ctx, const char *user);

struct registrar;

struct registrar *registrar_new(const struct reg_limits *lim);
void registrar_free(struct registrar *r);
void registrar_set_store(struct registrar *r, const struct reg_store_ops *ops, void *ctx);
void registrar_set_replica(struct registrar *r, reg_changed_fn *fn, void *ctx);

/* Cluster mode: the shared copy of `user` (n bindings, each with the node
 * that holds it, never "") replaces what this registrar held of other
 * nodes for that user; the bindings held here stay as they are, and the
 * shared copy's entries naming `self` are skipped (this node knows its own
 * flows better). Expired and over-limit entries are left out. Not reported
 * to the store nor the replica. Returns how many were taken. */
unsigned registrar_replace_remote(struct registrar *r, const char *user, const char *self,
				  const struct reg_binding *shared, unsigned n, uint64_t now);

/* Applies a REGISTER from authenticated `user` that arrived on `from`: adds,
 * refreshes or removes bindings (Contact: * with Expires: 0 removes all),
 * all or nothing. A REGISTER without Contact only queries. */
struct reg_result registrar_register(struct registrar *r, const char *user, const sip_t *req,
				     const struct pc_peer *from, uint64_t now);

/* The user's live bindings (at most `max`), newest first. */
unsigned registrar_lookup(const struct registrar *r, const char *user, uint64_t now,
			  const struct reg_binding **out, unsigned max);

/* The Contact header lines for the 200 answer: every live binding with
 * its remaining time as expires=. 0, or -1 when `out` is too small. */
int registrar_contact_lines(const struct registrar *r, const char *user, uint64_t now, char *out,
			    size_t outlen);

/* Drops expired bindings (reported to the store). */
void registrar_expire(struct registrar *r, uint64_t now);

/* Puts back a binding loaded from a store; expired or over-limit ones are
 * refused (-1). Not reported back to the store. */
int registrar_restore(struct registrar *r, const char *user, const struct reg_binding *b,
		      uint64_t now);

/* Calls fn for each live binding (at `now`) of every user, in no order, and
 * at most `max` times; returns how many it called. For the operator's
 * listing (portcullisctl registrations): the table is walked whole. */
typedef void reg_each_fn(void *ctx, const char *user, const struct reg_binding *b);
unsigned registrar_each(const struct registrar *r, uint64_t now, unsigned max, reg_each_fn *fn,
			void *ctx);

/* The same walk in steps, for the cluster's catch-up, which writes a few
 * users per turn: from bucket *pos on, whole buckets (a user's bindings
 * come together), until fn was called at least max times; *pos is where
 * the next step goes on. true when the table's end was reached. A user
 * added meanwhile to a bucket already walked is not seen: the caller
 * hears of those from its replica callback. */
bool registrar_walk(const struct registrar *r, uint64_t now, size_t *pos, unsigned max,
		    reg_each_fn *fn, void *ctx);

unsigned registrar_binding_count(const struct registrar *r);
/* The longest chain of the user index (tests: crafted user names must not
 * pile up in one chain). */
size_t registrar_max_chain(const struct registrar *r);

#endif
