/* The gateway's REGISTER service (register.c): digest authentication of
 * phones and the registrar behind routes marked `registered`. */
#ifndef PC_B2BUA_REGISTER_H
#define PC_B2BUA_REGISTER_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "policy/ratelimit.h"
#include "policy/users.h"
#include "registrar/registrar.h"
#include "transaction/txn.h"

struct event_base;
struct reg_service;

/* NULL on failure (logged): the user store does not load, the store file
 * cannot be opened. Nothing is set up for legs that use neither. */
struct reg_service *reg_service_new(struct event_base *base, const struct gateway_config *cfg);
void reg_service_free(struct reg_service *rs);

/* Reads and parses the configured user store ("file:line: why" errors);
 * also what --check-config uses. */
int reg_service_load_users(const struct gateway_config *cfg, struct users *out, char *err,
			   size_t errlen);

/* A REGISTER that arrived on `leg`: answered here (true), or not ours
 * (false: the leg has no registrar). */
bool reg_service_handle(struct reg_service *rs, struct txn *st, msg_t *req,
			const struct leg_config *leg);

/* A request other than REGISTER from `leg`: when the leg authenticates
 * users, a verified client certificate naming a user (auth = "certificate"
 * or "certificate-or-digest") or digest (407 challenges) does; true to go
 * on, with the user in `who` ("" when the leg does not authenticate), false
 * when it was answered (challenge, 403 without a usable certificate). */
bool reg_service_authorize(struct reg_service *rs, struct txn *st, msg_t *req,
			   const struct leg_config *leg, char *who, size_t wholen);

/* Reload of the user store (gateway/reload.c, through b2bua.h): prepare
 * has the key holder re-read it and builds the new HA1-free view beside
 * the running one: 1, 0 when no leg authenticates users (nothing to
 * read), -1 with "file:line: why" (nothing changed). finish, once the
 * whole reload is decided, makes the new store the one both processes
 * use (commit) or forgets it. */
int reg_service_users_prepare(struct reg_service *rs, char *err, size_t errlen);
/* Commit (both processes swap) or drop the prepared store; -1 when a
 * commit was not confirmed by the key holder (the running view stays). */
int reg_service_users_finish(struct reg_service *rs, bool commit);

/* The identities (id= entries of the user store) `user` owns; 0 if none. */
size_t reg_service_identities(const struct reg_service *rs, const char *user,
			      const char *const **ids);

/* The live bindings of `user`, newest first. */
unsigned reg_service_lookup(const struct reg_service *rs, const char *user,
			    const struct reg_binding **out, unsigned max);

/* registrar_each over the live bindings (none when no leg has a registrar). */
unsigned reg_service_each(const struct reg_service *rs, unsigned max, reg_each_fn *fn, void *ctx);

/* Cluster mode: fn is told when a failed login starts a lockout of a
 * source (an address key) or of a user everywhere (a name key), `ms` long;
 * apply takes one another node started (extends, never shortens). */
typedef void reg_lockout_fn(void *ctx, const struct rl_key *k, uint64_t ms);
void reg_service_share_lockouts(struct reg_service *rs, reg_lockout_fn *fn, void *ctx);
void reg_service_apply_lockout(struct reg_service *rs, const struct rl_key *k, uint64_t ms,
			       uint64_t now_ms);

/* The registrar, NULL when no leg has one. */
struct registrar *reg_service_registrar(struct reg_service *rs);
/* Live registrar bindings (0 when no leg has a registrar). */
unsigned reg_service_binding_count(const struct reg_service *rs);

#endif
