/* REGISTER from phones: the gateway as registrar. On a leg with
 * `registrar = true` a REGISTER is authenticated as the leg's `auth` says:
 * by digest (policy/digest.c decides; a 401 carries SHA-256 and MD5
 * challenges), by a verified client certificate naming the To user, or by
 * the certificate and else digest; the authenticated user may only change
 * its own bindings, and the registrar (registrar/) applies it. The bindings, with
 * the flow each REGISTER came on, are what routes marked `registered`
 * lead to. The user store is read at start, and its HA1s are wiped at
 * once: the key holder (keyholder/) keeps them and the nonce secret, drawn
 * fresh at every start (so nonces of an earlier run are stale), and mints
 * and checks nonces and verifies responses for us. This process keeps the
 * names and identities, for certificates, routing and P-Asserted-Identity;
 * a reload replaces them with the key holder's HA1-free list of the store
 * it re-read, in the step that makes the holder use that store. Every
 * refusal and challenge is applied by refuse.c. */
#include "register.h"

#include "b2bua.h"
#include "guard.h"
#include "refuse.h"
#include "stir_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"
#include "core/random.h"
#include "keyholder/keyholder.h"
#include "policy/digest.h"
#include "policy/nonce.h"
#include "policy/ratelimit.h"
#include "policy/users.h"
#include "registrar/registrar.h"
#include "registrar/store.h"
#include "sip/reply.h"

#define EXPIRE_EVERY_S 30
/* Nonces tracked for their counts: more than a busy minute of challenges. */
#define NONCE_TABLE 65536
/* Sources, (user, source) pairs and claimed user names whose failed logins
 * are counted. */
#define LOCKOUT_SOURCES 65536
#define LOCKOUT_PAIRS 65536
#define LOCKOUT_USERS 65536

struct reg_service {
	const struct gateway_config *cfg;
	struct users users; /* without HA1s */
	bool have_users;
	struct users pending; /* a reload's, until it is decided */
	bool have_pending;
	const struct digest_oracle *oracle; /* the key holder's */
	struct nonce_counts counts;
	bool have_counts;
	/* Failed authentication per source address and per claimed user from
	 * one source: past auth.max_failures within auth.lockout, refused for
	 * that long. Per claimed user from everywhere the limit is
	 * auth.user_max_failures, higher: otherwise anyone could lock a user out
	 * of every phone with a few wrong passwords from one address; now that
	 * takes as many addresses as user_max_failures / max_failures. */
	struct rl_table by_source, by_pair, by_user;
	bool have_lockouts;
	reg_lockout_fn *share_lockout; /* cluster mode: a lockout started here */
	void *share_ctx;
	struct registrar *registrar;
	struct reg_store *store;
	struct event *expire_ev;
};

static uint64_t wall_s(void) { return (uint64_t)time(NULL); }

int reg_service_load_users(const struct gateway_config *cfg, struct users *out, char *err,
			   size_t errlen)
{
	return keyholder_load_users(cfg->auth.users, cfg->auth.max_users, out, err, errlen);
}

static bool any_leg(const struct gateway_config *cfg, bool registrar)
{
	for (unsigned i = 0; i < cfg->n_legs; i++) {
		if (registrar ? cfg->legs[i].registrar
			      : (cfg->legs[i].digest_auth || cfg->legs[i].cert_auth))
			return true;
	}
	return false;
}

int b2bua_check_config(const struct gateway_config *cfg, char *err, size_t errlen)
{
	struct users u;
	struct guard *g = guard_new(cfg, err, errlen); /* its networks parse */
	if (g == NULL)
		return -1;
	guard_free(g);
	if (stir_call_check_config(cfg, err, errlen) < 0)
		return -1;
	if (!any_leg(cfg, false))
		return 0;
	if (reg_service_load_users(cfg, &u, err, errlen) < 0)
		return -1;
	users_free(&u);
	return 0;
}

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct reg_service *rs = arg;
	registrar_expire(rs->registrar, wall_s());
}

struct reg_service *reg_service_new(struct event_base *base, const struct gateway_config *cfg)
{
	struct reg_service *rs = calloc(1, sizeof(*rs));
	char err[512];
	if (rs == NULL)
		return NULL;
	rs->cfg = cfg;
	if (any_leg(cfg, false)) {
		if (reg_service_load_users(cfg, &rs->users, err, sizeof(err)) < 0) {
			log_err("%s", err);
			goto fail;
		}
		rs->have_users = true;
		/* Before any network input: nothing here needs an HA1. */
		users_forget_ha1(&rs->users);
		rs->oracle = keyholder_digest_oracle();
		bool digest = false;
		for (unsigned i = 0; i < cfg->n_legs; i++)
			digest |= cfg->legs[i].digest_auth;
		if (digest && rs->oracle == NULL) {
			log_err("digest: the key holder does not hold the user store");
			goto fail;
		}
		if (nonce_counts_init(&rs->counts, NONCE_TABLE, wall_s()) < 0) {
			log_err("digest: cannot set up nonces");
			goto fail;
		}
		rs->have_counts = true;
		struct rl_config lc = { .auth_fail_max = cfg->auth.max_failures,
					.auth_window_ms = (uint64_t)cfg->auth.lockout_s * 1000,
					.lockout_ms = (uint64_t)cfg->auth.lockout_s * 1000 };
		struct rl_config luser = lc;
		luser.auth_fail_max = cfg->auth.user_max_failures;
		uint8_t seed[3][16];
		if (pc_random_bytes(seed, sizeof(seed)) < 0 ||
		    rl_table_init(&rs->by_source, &lc, LOCKOUT_SOURCES, seed[0]) < 0)
			goto fail;
		if (rl_table_init(&rs->by_pair, &lc, LOCKOUT_PAIRS, seed[1]) < 0) {
			rl_table_fini(&rs->by_source);
			goto fail;
		}
		if (rl_table_init(&rs->by_user, &luser, LOCKOUT_USERS, seed[2]) < 0) {
			rl_table_fini(&rs->by_source);
			rl_table_fini(&rs->by_pair);
			goto fail;
		}
		rs->have_lockouts = true;
	}
	if (any_leg(cfg, true)) {
		const struct registrar_config *rc = &cfg->registrar;
		struct reg_limits lim = { .max_users = rc->max_users, .max_per_user = rc->max_contacts,
					  .min_expires = rc->min_expires_s,
					  .max_expires = rc->max_expires_s,
					  .default_expires = rc->default_expires_s };
		rs->registrar = registrar_new(&lim);
		if (rs->registrar == NULL) {
			log_err("registrar: cannot allocate its tables");
			goto fail;
		}
		if (rc->store[0]) {
			rs->store = reg_store_open(rc->store, err, sizeof(err));
			int n = rs->store ? reg_store_attach(rs->store, rs->registrar, wall_s(), err,
							     sizeof(err))
					  : -1;
			if (n < 0) {
				log_err("registrar: %s", err);
				goto fail;
			}
			log_info("registrar: %d bindings restored from %s", n, rc->store);
		}
		rs->expire_ev = event_new(base, -1, EV_PERSIST, on_expire, rs);
		struct timeval every = { EXPIRE_EVERY_S, 0 };
		if (rs->expire_ev == NULL || event_add(rs->expire_ev, &every) < 0)
			goto fail;
	}
	return rs;
fail:
	reg_service_free(rs);
	return NULL;
}

void reg_service_free(struct reg_service *rs)
{
	if (rs == NULL)
		return;
	if (rs->expire_ev)
		event_free(rs->expire_ev);
	registrar_free(rs->registrar); /* before the store it reports to */
	reg_store_close(rs->store);
	if (rs->have_counts)
		nonce_counts_free(&rs->counts);
	if (rs->have_lockouts) {
		rl_table_fini(&rs->by_source);
		rl_table_fini(&rs->by_pair);
		rl_table_fini(&rs->by_user);
	}
	if (rs->have_users)
		users_free(&rs->users);
	reg_service_users_finish(rs, false);
	free(rs);
}

/* Applies a refusal or a challenge (refuse.c) with the header `lines`.
 * Logged here, not there: these lines name the user and what failed, and
 * operators (and the tests) know them in this form. */
static void refuse_with(struct reg_service *rs, struct txn *st, msg_t *req, struct verdict v,
			const char *const *lines, unsigned n_lines)
{
	struct refuse_to to = { .req = req, .st = st, .warn_host = rs->cfg->domain,
				.lines = lines, .n_lines = n_lines };
	refuse(&to, &v);
}

static void refuse_plain(struct reg_service *rs, struct txn *st, msg_t *req, struct verdict v)
{
	refuse_with(rs, st, req, v, NULL, 0);
}

static struct digest_server server(struct reg_service *rs)
{
	const struct auth_config *a = &rs->cfg->auth;
	return (struct digest_server){
		.realm = a->realm, .oracle = rs->oracle,
		.nonce_lifetime_s = a->nonce_lifetime_s, .users = &rs->users, .counts = &rs->counts,
		.algorithms = (a->md5 ? DIGEST_ALG_BIT(DIGEST_MD5) : 0) |
			      (a->sha256 ? DIGEST_ALG_BIT(DIGEST_SHA256) : 0),
	};
}

/* REGISTER is challenged by the registrar (401, WWW-Authenticate), other
 * requests by the gateway standing in front of the phones' calls as a
 * proxy would (407, Proxy-Authenticate; RFC 3261 §22.3). */
static void challenge(struct reg_service *rs, struct txn *st, msg_t *req, bool stale, bool proxy)
{
	struct digest_server ds = server(rs);
	struct digest_challenge ch;
	uint8_t rnd[NONCE_RANDOM_LEN];
	char lines[2][sizeof(ch.value[0]) + 32];
	const char *ptrs[2] = { lines[0], lines[1] };
	int n = pc_random_bytes(rnd, sizeof(rnd)) < 0
			? -1
			: digest_challenge(&ds, wall_s(), rnd, stale, &ch);
	if (n < 1 || n > 2) {
		refuse_plain(rs, st, req,
			     verdict_refuse(REFUSAL_INTERNAL, "cannot make a digest challenge"));
		return;
	}
	/* In the order given: the preferred algorithm first (RFC 8760). */
	for (int i = 0; i < n; i++)
		snprintf(lines[i], sizeof(lines[i]), "%s: %s",
			 proxy ? "Proxy-Authenticate" : "WWW-Authenticate", ch.value[i]);
	struct verdict v = verdict_refuse(proxy ? REFUSAL_PROXY_CHALLENGE : REFUSAL_CHALLENGE, NULL);
	v.stale = stale;
	refuse_with(rs, st, req, v, ptrs, (unsigned)n);
}

/* Cluster mode: a lockout of the source or of the user everywhere that
 * this failure started is told to the other nodes. The (user, source)
 * pair's is not: it never starts before the source's, which counts the
 * same failures against the same limit. */
static void share_lockouts(struct reg_service *rs, const struct verdict *vs,
			   const struct rl_key *src, const struct verdict *vu, const struct rl_key *usr)
{
	if (rs->share_lockout == NULL)
		return;
	if (vs->why == rl_why_lockout_started)
		rs->share_lockout(rs->share_ctx, src, rs->by_source.cfg.lockout_ms);
	if (vu->why == rl_why_lockout_started)
		rs->share_lockout(rs->share_ctx, usr, rs->by_user.cfg.lockout_ms);
}

void reg_service_share_lockouts(struct reg_service *rs, reg_lockout_fn *fn, void *ctx)
{
	rs->share_lockout = fn;
	rs->share_ctx = ctx;
}

void reg_service_apply_lockout(struct reg_service *rs, const struct rl_key *k, uint64_t ms,
			       uint64_t now_ms)
{
	if (rs->have_lockouts)
		rl_lockout_apply(k->family ? &rs->by_source : &rs->by_user, k, ms, now_ms);
}

/* Digest authentication of one request; true with the user name in `who`,
 * false when the request has been answered (challenge, 400). */
static bool authenticate(struct reg_service *rs, struct txn *st, msg_t *req, bool proxy, char *who,
			 size_t wholen)
{
	sip_t const *sip = sip_object(req);
	struct digest_server ds = server(rs);
	struct auth_result ar;
	uint64_t now_ms = pc_clock_ms();
	struct rl_key src, usr, pair;
	const struct sockaddr *from = (const struct sockaddr *)&txn_peer(st)->addr;
	bool by_src = rl_key_addr(&src, from) == 0;
	if (by_src) {
		/* A locked-out source is not even told whether its guess was right. */
		struct verdict v = rl_auth_check(&rs->by_source, &src, now_ms);
		if (v.kind != VERDICT_ACCEPT) {
			refuse_plain(rs, st, req, v);
			return false;
		}
	}
	enum auth_outcome out = digest_verify(&ds, sip,
					      proxy ? DIGEST_PROXY_AUTHORIZATION : DIGEST_AUTHORIZATION,
					      wall_s(), &ar);
	const char *method = sip->sip_request->rq_method_name;
	bool by_user = rl_key_name(&usr, ar.username) == 0;
	bool by_pair = by_user && rl_key_name_addr(&pair, ar.username, from) == 0;
	switch (out) {
	case AUTH_OK: {
		struct verdict v = by_pair ? rl_auth_check(&rs->by_pair, &pair, now_ms)
					   : verdict_accept();
		if (v.kind == VERDICT_ACCEPT && by_user)
			v = rl_auth_check(&rs->by_user, &usr, now_ms);
		if (v.kind != VERDICT_ACCEPT) {
			log_info("%s: \"%s\" is locked out after failed logins", method, ar.username);
			refuse_plain(rs, st, req, v);
			return false;
		}
		/* Only the pair forgets its failures: a user-wide count reset by
		 * the user's own phone re-registering would give guessers spread
		 * over many addresses a fresh allowance every time. */
		if (by_pair)
			rl_auth_success(&rs->by_pair, &pair, now_ms);
		snprintf(who, wholen, "%s", ar.username);
		return true;
	}
	case AUTH_MALFORMED:
		log_info("%s: malformed credentials: %s", method, ar.reason);
		refuse_plain(rs, st, req, verdict_refuse(REFUSAL_AUTH_MALFORMED, ar.reason));
		return false;
	case AUTH_FAILED:
	case AUTH_REPLAY: {
		counter_inc(CNT_AUTH_FAILURES);
		log_info("%s: authentication of \"%s\" failed: %s", method, ar.username, ar.reason);
		struct verdict vs = by_src ? rl_auth_failure(&rs->by_source, &src, now_ms)
					   : verdict_accept();
		struct verdict vp = by_pair ? rl_auth_failure(&rs->by_pair, &pair, now_ms)
					    : verdict_accept();
		struct verdict vu = by_user ? rl_auth_failure(&rs->by_user, &usr, now_ms)
					    : verdict_accept();
		const struct verdict *locked = vs.kind != VERDICT_ACCEPT   ? &vs
					       : vp.kind != VERDICT_ACCEPT ? &vp
					       : vu.kind != VERDICT_ACCEPT ? &vu
									   : NULL;
		share_lockouts(rs, &vs, &src, &vu, &usr);
		if (locked) {
			log_info("%s: failed logins: locking out%s%s%s", method,
				 vs.kind != VERDICT_ACCEPT ? " [the source]" : "",
				 vp.kind != VERDICT_ACCEPT ? " [the user from this source]" : "",
				 vu.kind != VERDICT_ACCEPT ? " [the user everywhere]" : "");
			refuse_plain(rs, st, req, *locked);
			return false;
		}
		challenge(rs, st, req, false, proxy);
		return false;
	}
	default: /* no credentials yet, or a stale nonce */
		challenge(rs, st, req, out == AUTH_STALE, proxy);
		return false;
	}
}

/* The user a verified client certificate names: its identity (the first
 * subjectAltName URI, see transport/tls.c) is sip:USER@REALM or sips:USER@REALM
 * of the configured realm, or one of a user's id= entries. NULL if none: a
 * certificate for a name the store does not know authenticates nobody. Two
 * lookups in the sorted store, whatever its size (this runs per INVITE). */
static const struct user_entry *cert_user(const struct reg_service *rs, const struct pc_peer *from)
{
	if (!rs->have_users || from->transport != PC_TP_TLS || from->identity[0] == '\0')
		return NULL;
	const char *realm = rs->cfg->auth.realm;
	const char *id = from->identity;
	const char *user = !strncmp(id, "sip:", 4) ? id + 4 : !strncmp(id, "sips:", 5) ? id + 5 : NULL;
	const char *at = user ? strchr(user, '@') : NULL;
	if (at && at > user && (size_t)(at - user) <= USERS_NAME_MAX && !strcmp(at + 1, realm)) {
		char name[USERS_NAME_MAX + 1];
		memcpy(name, user, (size_t)(at - user));
		name[at - user] = '\0';
		const struct user_entry *u = users_lookup(&rs->users, name, realm);
		if (u)
			return u;
	}
	return users_lookup_id(&rs->users, id, realm);
}

/* Authenticates a request on a leg that asks for it: a verified client
 * certificate naming a user (when `want` is set, naming that user: a REGISTER
 * may only be for the certificate's own address), else digest where the leg
 * allows it, else 403. True with the user name in `who`; false when the
 * request has been answered. */
static bool authorize(struct reg_service *rs, struct txn *st, msg_t *req,
		      const struct leg_config *leg, bool proxy, const char *want, char *who,
		      size_t wholen)
{
	if (leg->cert_auth) {
		const struct user_entry *u = cert_user(rs, txn_peer(st));
		if (u && (want == NULL || strcmp(u->name, want) == 0)) {
			counter_inc(CNT_CERT_AUTH_OK);
			snprintf(who, wholen, "%s", u->name);
			return true;
		}
		if (!leg->digest_auth) {
			const char *method = sip_object(req)->sip_request->rq_method_name;
			if (u)
				log_info("%s: the client certificate of \"%s\" does not name \"%s\"",
					 method, u->name, want);
			else
				log_info("%s: no verified client certificate naming a user (identity \"%s\")",
					 method, txn_peer(st)->identity);
			refuse_plain(rs, st, req,
				     verdict_refuse(REFUSAL_CERT_NO_USER,
						    "no verified client certificate naming the user"));
			return false;
		}
	}
	return authenticate(rs, st, req, proxy, who, wholen);
}

bool reg_service_authorize(struct reg_service *rs, struct txn *st, msg_t *req,
			   const struct leg_config *leg, char *who, size_t wholen)
{
	who[0] = '\0';
	if (leg == NULL || (!leg->digest_auth && !leg->cert_auth))
		return true;
	return authorize(rs, st, req, leg, true, NULL, who, wholen);
}

int reg_service_users_prepare(struct reg_service *rs, char *err, size_t errlen)
{
	if (rs == NULL || !rs->have_users)
		return 0;
	reg_service_users_finish(rs, false);
	if (keyholder_users_prepare(&rs->pending, err, errlen) < 0)
		return -1;
	rs->have_pending = true;
	return 1;
}

int reg_service_users_finish(struct reg_service *rs, bool commit)
{
	if (rs == NULL || !rs->have_pending)
		return 0;
	int rc = 0;
	/* No pointer into the store outlives a step of the loop (lookups
	 * copy what they keep), so the old view can go at once. */
	if (commit && keyholder_users_commit() == 0) {
		users_free(&rs->users);
		rs->users = rs->pending;
		log_info("reload: user store %s: %zu users", rs->cfg->auth.users, rs->users.n);
	} else {
		/* An unanswered commit may or may not have been applied by the
		 * holder: the caller reports it, and the next reload prepares
		 * and commits both sides again, which brings them together. */
		if (commit)
			rc = -1;
		else
			keyholder_users_drop();
		users_free(&rs->pending);
	}
	memset(&rs->pending, 0, sizeof(rs->pending));
	rs->have_pending = false;
	return rc;
}

size_t reg_service_identities(const struct reg_service *rs, const char *user,
			      const char *const **ids)
{
	*ids = NULL;
	if (rs == NULL || !rs->have_users || user == NULL || !user[0])
		return 0;
	const struct user_entry *u = users_lookup(&rs->users, user, rs->cfg->auth.realm);
	if (u == NULL)
		return 0;
	*ids = (const char *const *)u->ids;
	return u->n_ids;
}

/* The reason of a registrar's refusal (registrar.h lists its statuses; the
 * registrar sits below policy/ and cannot name reasons itself). */
static enum pc_refusal registrar_refusal(int status)
{
	switch (status) {
	case 400:
		return REFUSAL_REGISTER_MALFORMED;
	case 403:
		return REFUSAL_FORBIDDEN;
	case 423:
		return REFUSAL_REGISTER_BRIEF;
	case 503:
		return REFUSAL_REGISTRAR_FULL;
	default:
		return REFUSAL_INTERNAL;
	}
}

/* Who the REGISTER is for: the To user, which an authenticated user may
 * only be itself (RFC 3261 §10.3 step 3 leaves the mapping to policy). */
static const char *aor_user(const sip_t *sip)
{
	return sip->sip_to && sip->sip_to->a_url->url_user ? sip->sip_to->a_url->url_user : NULL;
}

bool reg_service_handle(struct reg_service *rs, struct txn *st, msg_t *req,
			const struct leg_config *leg)
{
	sip_t const *sip = sip_object(req);
	if (rs == NULL || leg == NULL || !leg->registrar || rs->registrar == NULL)
		return false;
	const char *user = aor_user(sip);
	if (user == NULL) {
		refuse_plain(rs, st, req, verdict_refuse(REFUSAL_REGISTER_MALFORMED, "no user in To"));
		return true;
	}
	/* Every authentication the leg names applies to REGISTER as to INVITE:
	 * a registration takes the user's calls. A leg without any refuses to
	 * load unless allow_unauthenticated_register says so (config.c). */
	if (leg->digest_auth || leg->cert_auth) {
		char who[REG_USER_MAX];
		if (!authorize(rs, st, req, leg, false, user, who, sizeof(who)))
			return true;
		if (strcmp(who, user) != 0) {
			log_info("register: \"%s\" may not register \"%s\"", who, user);
			refuse_plain(rs, st, req,
				     verdict_refuse(REFUSAL_FORBIDDEN, "may not register another user"));
			return true;
		}
	}
	uint64_t now = wall_s();
	struct reg_result res = registrar_register(rs->registrar, user, sip, txn_peer(st), now);
	if (res.status != 200) {
		log_info("register: %s: %d %s (%s)", user, res.status, res.phrase, res.why);
		char min[48];
		snprintf(min, sizeof(min), "Min-Expires: %u", res.min_expires);
		const char *lines[1] = { res.status == 423 ? min : NULL };
		refuse_with(rs, st, req, verdict_refuse(registrar_refusal(res.status), res.why), lines, 1);
		return true;
	}
	char contacts[REG_MAX_PER_USER * (REG_CONTACT_MAX + 32)];
	if (registrar_contact_lines(rs->registrar, user, now, contacts, sizeof(contacts)) < 0)
		contacts[0] = '\0';
	counter_inc(CNT_REGISTRATIONS);
	log_info("register: %s: %s", user, res.why);
	/* One line per Contact: sipmsg_add_line takes one header. */
	const char *lines[REG_MAX_PER_USER + 1];
	unsigned n = 0;
	for (char *p = contacts, *eol; *p && n < REG_MAX_PER_USER; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (eol == NULL)
			break;
		*eol = '\0';
		lines[n++] = p;
	}
	msg_t *resp = sipmsg_reply(req, 200, "OK", txn_local_tag(st));
	for (unsigned i = 0; resp != NULL && i < n; i++)
		if (sipmsg_add_line(resp, lines[i]) < 0)
			log_warnx("register: cannot add a Contact to the 200 answer");
	if (resp != NULL)
		txn_respond(st, resp);
	return true;
}

unsigned reg_service_lookup(const struct reg_service *rs, const char *user,
			    const struct reg_binding **out, unsigned max)
{
	if (rs == NULL || rs->registrar == NULL || user == NULL)
		return 0;
	return registrar_lookup(rs->registrar, user, wall_s(), out, max);
}

unsigned reg_service_each(const struct reg_service *rs, unsigned max, reg_each_fn *fn, void *ctx)
{
	return rs && rs->registrar ? registrar_each(rs->registrar, wall_s(), max, fn, ctx) : 0;
}

struct registrar *reg_service_registrar(struct reg_service *rs) { return rs ? rs->registrar : NULL; }

unsigned reg_service_binding_count(const struct reg_service *rs)
{
	return rs && rs->registrar ? registrar_binding_count(rs->registrar) : 0;
}
