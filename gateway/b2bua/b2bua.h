/* The back-to-back user agent: every call is two dialogs, one per leg, with
 * their own Call-ID, tags, CSeq, Via and Contact, and media anchored on the
 * gateway's relay with fresh SRTP keys per leg and direction. It reaches the
 * floors below only through a struct call_net (endpoint.h), is the
 * endpoint's call handler, and owns every call; a call dies only in
 * call_close(). */
#ifndef PC_B2BUA_B2BUA_H
#define PC_B2BUA_B2BUA_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/peer.h"
#include "endpoint/endpoint.h"
#include "registrar/registrar.h"

struct event_base;
struct media_pool;
struct media_stream;
struct b2bua;
struct guard;
struct call_record;
struct rl_key;
struct sti_shared;

/* Where each call's record goes when the call closes (record/record.h):
 * the layer above registers it, the B2BUA does not know the sinks. */
typedef void (*b2bua_record_fn)(void *ctx, const struct call_record *r);

/* `net` is copied; `base` serves the REGISTER service's key-holder client. */
struct b2bua *b2bua_new(struct event_base *base, const struct gateway_config *cfg,
			const struct call_net *net, struct media_pool *media);
/* The handler to give the endpoint (endpoint_set_call_handler). */
void b2bua_call_handler(struct b2bua *b, struct call_handler *out);
void b2bua_free(struct b2bua *b);
/* Every closing call's record to fn (NULL: none). */
void b2bua_set_record_sink(struct b2bua *b, b2bua_record_fn fn, void *ctx);
/* Cluster mode (b2bua/call_share.c): an established call's state `s` to
 * write each time it changes (answer, re-key), or NULL with the id of a
 * record to remove (its end). s holds keys and is valid during the call
 * only. fn NULL: nothing shared. */
struct pc_call_state;
typedef void b2bua_share_fn(void *ctx, const struct pc_call_state *s, const char *gone_id);
void b2bua_set_share(struct b2bua *b, b2bua_share_fn *fn, void *ctx);
/* Raises here a call another node shared (b2bua/call_adopt.c; ctx: the
 * b2bua): 0 once it runs here, -1 when it cannot (logged). */
int b2bua_adopt_call(void *ctx, const struct pc_call_state *s);
unsigned b2bua_call_count(const struct b2bua *b);
/* Live registrar bindings. */
unsigned b2bua_registration_count(const struct b2bua *b);
/* A read-only view of one live call for observers (/calls): nothing in it
 * is a key, a nonce or a password, and the caller is there only as its
 * privacy allows. Valid during the callback only. */
struct b2bua_leg_view {
	const char *side;           /* "caller" or "callee" */
	const char *leg;            /* the configured leg's name */
	const struct pc_peer *peer; /* its transport and connection */
	const char *srtp_suite;     /* the suite we protect with, NULL: plain or not keyed */
};
struct b2bua_call_view {
	uint32_t id;                /* the call number of the logs */
	const char *state;          /* "setup", "early", "answered", "ending" */
	uint64_t started_ms;        /* monotonic (core/clock.h) */
	uint64_t answered_ms;       /* 0: not answered */
	const char *from;           /* NULL: hidden by privacy */
	const char *to;             /* the dialled URI, "" when not printable */
	unsigned auth_failures;
	struct b2bua_leg_view legs[2];
	struct media_stream *const *streams; /* the relay's streams, for their stats */
	unsigned n_streams;
	int media_worker;           /* the media worker of its streams; -1: none yet */
};
/* fn for every live call (closed ones are left out), newest first, until it
 * returns false. */
typedef bool (*b2bua_call_fn)(void *arg, const struct b2bua_call_view *v);
void b2bua_foreach_call(const struct b2bua *b, b2bua_call_fn fn, void *arg);

/* Calls created with the caller (callee false) or the callee on the
 * configured leg cfg->legs[leg], since start. */
uint64_t b2bua_calls_started(const struct b2bua *b, unsigned leg, bool callee);

/* What the operator asks of a running gateway (operator.c, through
 * portcullisctl). */
/* Ends call `id` (the number of the log lines) on both legs as its state
 * requires, with a Reason saying the operator ended it: BYE on each leg
 * with a dialog once answered; in set-up, 487 to the caller and CANCEL to
 * the callee. 0, or -1 with the reason in `why` (no such call, already
 * ending). */
int b2bua_call_kill(struct b2bua *b, uint32_t id, char *why, size_t whylen);
/* The live registrar bindings, at most `max`: fn per binding (no HA1,
 * nonce or password is in a binding). The number given to fn. */
unsigned b2bua_each_binding(const struct b2bua *b, unsigned max,
			    void (*fn)(void *ctx, const char *user, const struct reg_binding *rb),
			    void *ctx);
/* The registrar (NULL when no leg has one), for cluster mode to share its
 * bindings (main.c wires it). */
struct registrar *b2bua_registrar(struct b2bua *b);
/* The intake guard, for cluster mode to share bans and call counts. */
struct guard *b2bua_guard(struct b2bua *b);
/* Digest-failure lockouts, for cluster mode to share (register.h). */
void b2bua_share_lockouts(struct b2bua *b,
			  void (*fn)(void *ctx, const struct rl_key *k, uint64_t ms), void *ctx);
void b2bua_apply_lockout(struct b2bua *b, const struct rl_key *k, uint64_t ms, uint64_t now_ms);
/* Cluster mode: the verification service's certificates shared (NULL:
 * no longer); nothing without a verification service. */
void b2bua_share_certs(struct b2bua *b, const struct sti_shared *s);
/* For --check-config: what b2bua_new would refuse beyond the configuration
 * file itself (the digest user store). 0, or -1 with "file:line: why". */
int b2bua_check_config(const struct gateway_config *cfg, char *err, size_t errlen);
/* Reload (gateway/reload.c): whether a candidate configuration's policy
 * builds (its networks parse), and, once the running configuration the
 * B2BUA reads holds it, applying what the B2BUA derived from it at start
 * (the guard's lists and rate rules). Routes, legs' media and TLS
 * requirements and the identity policy are read per request already.
 * 0, or -1 with "file:line: why" in err (nothing changed). */
int b2bua_reload_check(const struct gateway_config *cand, char *err, size_t errlen);
int b2bua_reload_apply(struct b2bua *b, char *err, size_t errlen);
/* The user store's part of a reload (register.c, reg_service_users_*):
 * prepare before anything changes (1 read, 0 none configured, -1 with
 * "file:line: why"), finish once the reload is applied (commit) or
 * refused. */
int b2bua_users_prepare(struct b2bua *b, char *err, size_t errlen);
int b2bua_users_finish(struct b2bua *b, bool commit);

#endif
