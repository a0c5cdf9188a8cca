/* Intake guard: the order in which the admission rules of policy/ apply to a
 * request and the tables they keep. The cheap and stateless checks come
 * first so that a denied or banned source costs one lookup: network lists,
 * then the per-source rate (a denied source never takes a slot in the rate
 * table), then the User-Agent, then what the leg requires of the transport
 * and SIPS. Call limits come only after the caller authenticated
 * (guard_call_start), so an unauthenticated flood cannot use up a user's
 * quota. The guard decides; refuse.c answers, counts and logs. */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "http/fetch.h"
#include "policy/admit.h"
#include "policy/sips.h"

struct guard {
	struct admit_net allow[CFG_MAX_NETS], deny[CFG_MAX_NETS], exempt[CFG_MAX_NETS],
		trusted[CFG_MAX_NETS], fetch[CFG_MAX_NETS];
	unsigned n_allow, n_deny, n_exempt, n_trusted, n_fetch;
	const char *uas[CFG_MAX_UAS + 64];
	size_t n_uas;
	unsigned setup_cap;
	bool rate_on, users_on, trunks_on;
	struct rl_table sources, users, trunks;
	struct guard_share share; /* cluster mode's hooks, or all NULL */
};

static int parse_nets(const char *file, const char *key, const struct cfg_net *in, unsigned n,
		      struct admit_net *out, char *err, size_t errlen)
{
	for (unsigned i = 0; i < n; i++) {
		const char *why = NULL;
		if (admit_net_parse(in[i].text, &out[i], &why) < 0) {
			snprintf(err, errlen, "%s:%u: %s: \"%s\": %s", file, in[i].line, key, in[i].text,
				 why ? why : "not a network");
			return -1;
		}
	}
	return 0;
}

static int init_table(struct rl_table *t, const struct rl_config *c, uint32_t capacity)
{
	uint8_t seed[16];
	if (pc_random_bytes(seed, sizeof(seed)) < 0)
		return -1;
	return rl_table_init(t, c, capacity, seed);
}

/* A user's entry must stay while it has live calls, and no more users than
 * calls can have one: the smaller of the two bounds the table (an idle
 * user's entry may be evicted, losing only its calls-per-second history). */
static uint32_t users_capacity(const struct gateway_config *cfg)
{
	unsigned n = cfg->auth.max_users < cfg->limits.max_calls ? cfg->auth.max_users
								 : cfg->limits.max_calls;
	return n < 16 ? 16 : n;
}

/* The networks, scanner list and set-up cap of cfg into g: all parsed
 * first, so a network that does not parse leaves g as it was. */
static int set_lists(struct guard *g, const struct gateway_config *cfg, char *err, size_t errlen)
{
	const struct abuse_config *a = &cfg->abuse;
	struct admit_net nets[5][CFG_MAX_NETS];
	if (parse_nets(cfg->source, "abuse.allow", a->allow, a->n_allow, nets[0], err, errlen) < 0 ||
	    parse_nets(cfg->source, "abuse.deny", a->deny, a->n_deny, nets[1], err, errlen) < 0 ||
	    parse_nets(cfg->source, "abuse.exempt", a->exempt, a->n_exempt, nets[2], err, errlen) < 0 ||
	    parse_nets(cfg->source, "identity.trusted_networks", cfg->identity.trusted_networks,
		       cfg->identity.n_trusted_networks, nets[3], err, errlen) < 0 ||
	    parse_nets(cfg->source, "stir.fetch_allow_networks", cfg->stir.fetch_allow_networks,
		       cfg->stir.n_fetch_allow_networks, nets[4], err, errlen) < 0)
		return -1;
	memcpy(g->allow, nets[0], sizeof(g->allow));
	memcpy(g->deny, nets[1], sizeof(g->deny));
	memcpy(g->exempt, nets[2], sizeof(g->exempt));
	memcpy(g->trusted, nets[3], sizeof(g->trusted));
	memcpy(g->fetch, nets[4], sizeof(g->fetch));
	g->n_fetch = cfg->stir.n_fetch_allow_networks;
	g->n_allow = a->n_allow;
	g->n_deny = a->n_deny;
	g->n_exempt = a->n_exempt;
	g->n_trusted = cfg->identity.n_trusted_networks;
	g->n_uas = 0;
	if (a->default_scanner_uas) {
		size_t n = 0;
		const char *const *def = admit_default_scanner_uas(&n);
		for (size_t i = 0; i < n && g->n_uas < sizeof(g->uas) / sizeof(g->uas[0]); i++)
			g->uas[g->n_uas++] = def[i];
	} else {
		for (unsigned i = 0; i < a->n_scanner_uas; i++)
			g->uas[g->n_uas++] = a->scanner_uas[i];
	}
	g->setup_cap = a->max_calls_in_setup;
	return 0;
}

/* The three tables' rules from cfg: the per-source rate and ban, and the
 * calls (concurrent, per second with a burst of one second's worth) of a
 * user and of a trunk. */
static void rate_rules(const struct abuse_config *a, struct rl_config *src, struct rl_config *usr,
		       struct rl_config *trk)
{
	*src = (struct rl_config){
		.request = { RL_PER_SEC(a->request_rate), a->request_burst },
		.ban_after = a->ban_after,
		.overrun_window_ms = (uint64_t)a->ban_window_s * 1000,
		.ban_ms = (uint64_t)a->ban_s * 1000,
	};
	*usr = (struct rl_config){ .max_calls = a->user_max_calls,
				   .calls = { RL_PER_SEC(a->user_cps), a->user_cps } };
	*trk = (struct rl_config){ .max_calls = a->trunk_max_calls,
				   .calls = { RL_PER_SEC(a->trunk_cps), a->trunk_cps } };
}

struct guard *guard_new(const struct gateway_config *cfg, char *err, size_t errlen)
{
	struct guard *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (set_lists(g, cfg, err, errlen) < 0) {
		free(g);
		return NULL;
	}
	/* Three tables so that a flood of sources cannot evict the state of
	 * users and trunks, and the reverse. */
	struct rl_config src, usr, trk;
	rate_rules(&cfg->abuse, &src, &usr, &trk);
	g->rate_on = rl_rate_enabled(&src.request);
	g->users_on = usr.max_calls || rl_rate_enabled(&usr.calls);
	g->trunks_on = trk.max_calls || rl_rate_enabled(&trk.calls);
	if ((g->rate_on && init_table(&g->sources, &src, cfg->abuse.max_sources) < 0) ||
	    (g->users_on && init_table(&g->users, &usr, users_capacity(cfg)) < 0) ||
	    (g->trunks_on && init_table(&g->trunks, &trk, 4 * (CFG_MAX_PEERS + CFG_MAX_LEGS)) < 0)) {
		snprintf(err, errlen, "cannot allocate the rate-limit tables");
		guard_free(g);
		return NULL;
	}
	return g;
}

/* The tables keep their entries (counts of live calls, bans, buckets): only
 * their rules change. A table that would be switched on or off keeps its
 * old rules; config_keep_restart_only (config/diff.c) reports those. */
int guard_reload(struct guard *g, const struct gateway_config *cfg, char *err, size_t errlen)
{
	if (set_lists(g, cfg, err, errlen) < 0)
		return -1;
	struct rl_config src, usr, trk;
	rate_rules(&cfg->abuse, &src, &usr, &trk);
	if (g->rate_on && rl_rate_enabled(&src.request))
		g->sources.cfg = src;
	if (g->users_on && (usr.max_calls || rl_rate_enabled(&usr.calls)))
		g->users.cfg = usr;
	if (g->trunks_on && (trk.max_calls || rl_rate_enabled(&trk.calls)))
		g->trunks.cfg = trk;
	return 0;
}

void guard_free(struct guard *g)
{
	if (g == NULL)
		return;
	if (g->rate_on)
		rl_table_fini(&g->sources);
	if (g->users_on)
		rl_table_fini(&g->users);
	if (g->trunks_on)
		rl_table_fini(&g->trunks);
	free(g);
}

static bool in_nets(const struct admit_net *nets, unsigned n, const struct sockaddr *sa)
{
	for (unsigned i = 0; i < n; i++)
		if (admit_net_match(&nets[i], sa))
			return true;
	return false;
}

bool guard_fetch_address_allowed(void *arg, const struct sockaddr *sa, socklen_t len)
{
	const struct guard *g = arg;
	return !http_address_special(sa, len) || in_nets(g->fetch, g->n_fetch, sa);
}

bool guard_trusted_network(const struct guard *g, const struct sockaddr *sa)
{
	return g && in_nets(g->trusted, g->n_trusted, sa);
}

/* The address part of the guard: the network lists, then the source's rate
 * (`take`: a request that asks for work) or only its ban (an ACK, or a
 * look before a stateless answer). Not counted here. */
static struct verdict source_check(struct guard *g, const struct sockaddr *sa, bool trusted_hop,
				   bool take, uint64_t now_ms)
{
	struct admit_acl acl = { g->deny, g->n_deny, g->allow, g->n_allow };
	struct verdict v = admit_acl_check(&acl, sa);
	struct rl_key k;
	if (v.kind != VERDICT_ACCEPT || !g->rate_on || trusted_hop ||
	    in_nets(g->exempt, g->n_exempt, sa) || rl_key_addr(&k, sa) < 0)
		return v;
	if (!take)
		return rl_ban_check(&g->sources, &k, now_ms);
	v = rl_request(&g->sources, &k, now_ms);
	/* Only the start is told: a ban extended here stays local, so a flood
	 * costs the cluster one message per ban, not one per packet. */
	if (v.kind != VERDICT_ACCEPT && v.reason == REFUSAL_BAN_STARTED && g->share.ban)
		g->share.ban(g->share.ctx, &k, g->sources.cfg.ban_ms);
	return v;
}

void guard_set_share(struct guard *g, const struct guard_share *share) { g->share = *share; }

void guard_apply_ban(struct guard *g, const struct rl_key *k, uint64_t ms, uint64_t now_ms)
{
	if (g->rate_on)
		rl_ban_apply(&g->sources, k, ms, now_ms);
}

void guard_apply_remote_calls(struct guard *g, bool trunk, const struct rl_key *k, uint32_t n,
			      uint64_t now_ms)
{
	if (trunk ? g->trunks_on : g->users_on)
		rl_remote_calls_set(trunk ? &g->trunks : &g->users, k, n, now_ms);
}

struct each_count {
	guard_count_fn *fn;
	void *ctx;
	bool trunk;
};

static void each_count(void *ctx, const struct rl_key *k, uint32_t local, uint32_t remote)
{
	struct each_count *ec = ctx;
	ec->fn(ec->ctx, ec->trunk, k, local, remote);
}

void guard_each_count(const struct guard *g, guard_count_fn *fn, void *ctx)
{
	struct each_count ec = { fn, ctx, false };
	if (g->users_on)
		rl_each_count(&g->users, each_count, &ec);
	ec.trunk = true;
	if (g->trunks_on)
		rl_each_count(&g->trunks, each_count, &ec);
}

/* Cluster mode: the key's new local count, for the other nodes. */
static void share_calls(struct guard *g, bool trunk, const struct rl_key *k)
{
	if (g->share.calls)
		g->share.calls(g->share.ctx, trunk, k, rl_calls(trunk ? &g->trunks : &g->users, k));
}

struct verdict guard_request(struct guard *g, const sip_t *sip, const struct pc_peer *from,
			     const struct leg_config *leg, bool trusted_hop, uint64_t now_ms)
{
	/* An ACK finishes what the gateway answered: it is held to the ban but
	 * takes nothing from the source's rate. */
	struct verdict v = source_check(g, (const struct sockaddr *)&from->addr, trusted_hop,
					sip->sip_request->rq_method != sip_method_ack, now_ms);
	if (v.kind != VERDICT_ACCEPT)
		return v;
	if (g->n_uas) {
		v = admit_ua_check(sip, g->uas, g->n_uas);
		if (v.kind != VERDICT_ACCEPT)
			return v;
	}
	struct sips_ctx ctx = {
		.in_tls = from->transport == PC_TP_TLS,
		.in_cert_verified = from->transport == PC_TP_TLS && from->identity[0] != '\0',
		.leg_requires_tls = leg && leg->require_tls,
		.leg_requires_cert = leg && leg->require_client_cert,
	};
	return sips_check_inbound(sip, &ctx);
}

bool guard_source_ok(struct guard *g, const struct pc_peer *from, bool trusted_hop,
		     uint64_t now_ms)
{
	return source_check(g, (const struct sockaddr *)&from->addr, trusted_hop, false, now_ms)
		       .kind == VERDICT_ACCEPT;
}

struct verdict guard_next_hop(const sip_t *sip, bool next_hop_tls)
{
	struct sips_ctx ctx = { .in_tls = true, .next_hop_tls = next_hop_tls };
	return sips_check_outbound(sip, &ctx);
}

struct verdict guard_call_start(struct guard *g, unsigned in_setup, const char *user,
				const char *inbound_leg, const char *peer, uint64_t now_ms,
				struct guard_call *gc)
{
	memset(gc, 0, sizeof(*gc));
	struct verdict v = admit_setup_cap(in_setup, g->setup_cap);
	if (v.kind != VERDICT_ACCEPT)
		return v;
	char name[RL_NAME_MAX];
	if (user && user[0] && g->users_on) {
		if (rl_key_name(&gc->user, user) < 0)
			return verdict_refuse(REFUSAL_FORBIDDEN, "user name too long to track");
		v = rl_call_start(&g->users, &gc->user, now_ms);
		if (v.kind != VERDICT_ACCEPT)
			return v;
		gc->user_counted = true;
		share_calls(g, false, &gc->user);
	}
	/* A trunk is the peer a call goes to, or the leg an unauthenticated call
	 * came in on: "peer:" and "leg:" keep the two name spaces apart. */
	const char *trunk = NULL, *prefix = NULL;
	if (peer && peer[0]) {
		trunk = peer;
		prefix = "peer:";
	} else if ((!user || !user[0]) && inbound_leg) {
		trunk = inbound_leg;
		prefix = "leg:";
	}
	if (trunk && g->trunks_on) {
		snprintf(name, sizeof(name), "%s%s", prefix, trunk);
		if (rl_key_name(&gc->trunk, name) == 0) {
			v = rl_call_start(&g->trunks, &gc->trunk, now_ms);
			if (v.kind != VERDICT_ACCEPT) {
				guard_call_end(g, gc, now_ms);
				return v;
			}
			gc->trunk_counted = true;
			share_calls(g, true, &gc->trunk);
		}
	}
	return verdict_accept();
}

void guard_call_end(struct guard *g, struct guard_call *gc, uint64_t now_ms)
{
	if (gc->user_counted) {
		rl_call_end(&g->users, &gc->user, now_ms);
		share_calls(g, false, &gc->user);
	}
	if (gc->trunk_counted) {
		rl_call_end(&g->trunks, &gc->trunk, now_ms);
		share_calls(g, true, &gc->trunk);
	}
	gc->user_counted = gc->trunk_counted = false;
}
