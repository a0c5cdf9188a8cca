/* The gateway's intake guard (guard.c): applies the admission decisions of
 * policy/ (network lists, per-source rates and bans, scanner User-Agents,
 * per-leg transport requirements, SIPS) to every request before anything is
 * allocated for it, and the call limits (set-up cap, per-user and per-trunk
 * concurrency and rate) to every new call before it gets media or state.
 * It owns the rate tables and decides; refuse.c answers, counts and logs. */
#ifndef PC_B2BUA_GUARD_H
#define PC_B2BUA_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/peer.h"
#include "policy/ratelimit.h"
#include "policy/verdict.h"
#include "sip/msg.h"
#include "transaction/txn.h"

struct guard;

/* NULL with "file:line: why" in err when a network does not parse, or when
 * memory runs out. */
struct guard *guard_new(const struct gateway_config *cfg, char *err, size_t errlen);
void guard_free(struct guard *g);
/* SIGHUP: the lists, scanner block-list, set-up cap and the rate tables'
 * rules of cfg; the tables' entries stay. On error (a network that does
 * not parse, "file:line: why" in err) g is unchanged. */
int guard_reload(struct guard *g, const struct gateway_config *cfg, char *err, size_t errlen);

/* Every request (ACK and CANCEL too) from `from` on `leg` (NULL: a listener without a
 * leg): allow/deny lists, the per-source rate and ban (exempt networks, and
 * with `trusted_hop` hops inside the trust domain and the cluster's node
 * peers, skip it: a trunk or a node sends more than any phone), the scanner block-list, the leg's TLS and
 * client-certificate requirements and SIPS on the inbound hop. Not counted:
 * refuse() counts what it applies. */
struct verdict guard_request(struct guard *g, const sip_t *sip, const struct pc_peer *from,
			     const struct leg_config *leg, bool trusted_hop, uint64_t now_ms);

/* The address part of guard_request: false when `from` is outside the
 * allow list, on the deny list or banned. Takes nothing from the rate and
 * counts nothing (the caller counts what it drops). */
bool guard_source_ok(struct guard *g, const struct pc_peer *from, bool trusted_hop,
		     uint64_t now_ms);

/* SIPS on the outbound hop: a sips request may only leave over TLS. */
struct verdict guard_next_hop(const sip_t *sip, bool next_hop_tls);
/* For the certificate fetcher (http_addr_fn, arg the guard): an address
 * that is not special-purpose, or one in stir.fetch_allow_networks. */
bool guard_fetch_address_allowed(void *arg, const struct sockaddr *sa, socklen_t len);

/* The keys a call is counted under, to release them when it ends. */
struct guard_call {
	bool user_counted, trunk_counted;
	struct rl_key user, trunk;
};

/* A new call, after authentication: the global set-up cap (in_setup calls
 * not yet answered), then the limits of the authenticated `user` (or of the
 * inbound leg when nobody authenticated: `inbound_leg`) and of the peer the
 * call goes to (`peer`, "" for a contact). On accept the call is counted
 * in `gc` and guard_call_end must follow. */
struct verdict guard_call_start(struct guard *g, unsigned in_setup, const char *user,
				const char *inbound_leg, const char *peer, uint64_t now_ms,
				struct guard_call *gc);
void guard_call_end(struct guard *g, struct guard_call *gc, uint64_t now_ms);

/* Cluster mode (main.c wires them to cluster/): told when a source's ban
 * starts here (`ms` long) and when a user's or trunk's live calls change
 * here (`n` now). Called on the request path: they must not wait. */
struct guard_share {
	void (*ban)(void *ctx, const struct rl_key *k, uint64_t ms);
	void (*calls)(void *ctx, bool trunk, const struct rl_key *k, uint32_t n);
	void *ctx;
};
void guard_set_share(struct guard *g, const struct guard_share *share);
/* What other nodes decided: a ban of a source for `ms` from now; a user's
 * (trunk false) or trunk's live calls on the other nodes, `n` in all. */
void guard_apply_ban(struct guard *g, const struct rl_key *k, uint64_t ms, uint64_t now_ms);
void guard_apply_remote_calls(struct guard *g, bool trunk, const struct rl_key *k, uint32_t n,
			      uint64_t now_ms);

/* Cluster mode: fn for every user (trunk false) and trunk with live calls
 * here (`local`) or on other nodes (`remote`): to write this node's counts
 * again and to read the others' again. */
typedef void guard_count_fn(void *ctx, bool trunk, const struct rl_key *k, uint32_t local,
			    uint32_t remote);
void guard_each_count(const struct guard *g, guard_count_fn *fn, void *ctx);

/* Whether a source address lies in the configured trust domain networks
 * (identity.trusted_networks). */
bool guard_trusted_network(const struct guard *g, const struct sockaddr *sa);

#endif
