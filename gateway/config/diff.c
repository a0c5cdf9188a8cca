/* Which keys a reload leaves alone, and why each is in the table: a
 * listener's address (the http listener's too) is bound once, before the
 * sandbox, and its private key lives in the key holder, which has no file
 * access (certificate chains and CA bundles are read again); peers carry
 * connection state and key indexes; relay port ranges are registered with
 * the media engine; the user store's place, its realm and the nonce secret
 * live in the key holder (the store itself is re-read: reload.c); limits
 * size tables and the descriptor budget; the log target's socket and the
 * call record files are opened before the sandbox. The rest
 * (routes, ACLs and rate rules, identity policy, the legs' media and TLS
 * requirements, the log level) is read per request or re-applied by the
 * reload (gateway/reload.c). */
#include "diff.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct names {
	char *buf;
	size_t len, used;
	unsigned n;
};

static void add_name(struct names *nm, const char *fmt, const char *arg)
{
	char one[CFG_NAME_MAX + 64];
	snprintf(one, sizeof(one), fmt, arg);
	nm->n++;
	if (!nm->len || nm->used + 4 >= nm->len)
		return;
	int w = snprintf(nm->buf + nm->used, nm->len - nm->used, "%s%s", nm->used ? ", " : "", one);
	if (w < 0 || nm->used + (size_t)w >= nm->len - 4)
		snprintf(nm->buf + nm->used, nm->len - nm->used, "%s...", nm->used ? ", " : "");
	nm->used = strlen(nm->buf);
}

/* A whole field, compared byte for byte: the loader zeroes the struct
 * before reading, so unused bytes of strings and padding compare equal. */
struct field {
	const char *name;
	size_t off, size;
};
#define F(name, member) { name, offsetof(struct gateway_config, member), \
	sizeof(((struct gateway_config *)0)->member) }
static const struct field restart_fields[] = {
	F("domain", domain),
	F("user", user),
	F("log_target", log_target),
	F("log_facility", log_facility),
	F("log_syslog_socket", log_syslog_socket),
	F("limits", limits),
	F("timers", timers),
	/* The key holder keeps the store's directory and the realm it mints
	 * nonces for from start, and the store's size bounds what it reads;
	 * the lockout tables take their limits at start. The store's
	 * contents, the algorithms offered and the nonce lifetime reload. */
	F("auth.realm", auth.realm),
	F("auth.users", auth.users),
	F("auth.max_users", auth.max_users),
	F("auth.max_failures", auth.max_failures),
	F("auth.user_max_failures", auth.user_max_failures),
	F("auth.lockout", auth.lockout_s),
	F("registrar", registrar),
	F("stir", stir),
	F("abuse.max_sources", abuse.max_sources),
	/* opened before the sandbox; SIGHUP reopens the same paths */
	F("records.file", records.file),
	F("records.sqlite", records.sqlite),
	/* bound and given to its owner before the sandbox */
	F("control.socket", control.socket),
	F("control.group", control.group),
	/* the connection to Redis and the node's name are made at start */
	F("cluster", cluster),
	/* the media workers' threads are started once */
	F("media.workers", media.workers),
	F("media.io", media.io),
};

static void keep_field(const struct gateway_config *run, struct gateway_config *cand,
		       const struct field *f, struct names *nm)
{
	const char *r = (const char *)run + f->off;
	char *c = (char *)cand + f->off;
	if (memcmp(r, c, f->size) != 0) {
		add_name(nm, "%s", f->name);
		memcpy(c, r, f->size);
	}
}

/* A listener's or peer's TLS settings that a reload applies: the
 * certificate chain, CA bundle and what the other side must show are read
 * again into new credentials for new handshakes (transport_creds_load); the
 * private key lives in the key holder, which cannot read files. */
static void same_tls_reloadables(const struct tls_config *r, struct tls_config *c)
{
	memcpy(c->certificate, r->certificate, sizeof(c->certificate));
	memcpy(c->ca, r->ca, sizeof(c->ca));
	c->verify_peer = r->verify_peer;
	memcpy(c->peer_names, r->peer_names, sizeof(c->peer_names));
	c->n_peer_names = r->n_peer_names;
}

/* One listener or peer (`size` bytes, its tls_config at tls_off): anything
 * beyond the reloadable TLS settings and the key keeps the whole entry;
 * else a new key alone is kept and named. */
static void keep_entry(const void *run, void *cand, size_t size, size_t tls_off, const char *label,
		       const char *name, struct names *nm)
{
	static union {
		struct listener_config l;
		struct peer_config p;
	} copy;
	_Static_assert(sizeof(copy) >= sizeof(struct listener_config) &&
		       sizeof(copy) >= sizeof(struct peer_config), "copy holds an entry");
	const struct tls_config *rt = (const struct tls_config *)((const char *)run + tls_off);
	struct tls_config *ct = (struct tls_config *)((char *)cand + tls_off);
	memcpy(&copy, cand, size);
	struct tls_config *kt = (struct tls_config *)((char *)&copy + tls_off);
	same_tls_reloadables(rt, kt);
	memcpy(kt->key, rt->key, sizeof(kt->key));
	char key[CFG_NAME_MAX + 32];
	if (memcmp(run, &copy, size) != 0) {
		snprintf(key, sizeof(key), "%s[%s]", label, name);
		add_name(nm, "%s", key);
		memcpy(cand, run, size);
	} else if (strcmp(rt->key, ct->key) != 0) {
		snprintf(key, sizeof(key), "%s[%s].tls.key", label, name);
		add_name(nm, "%s", key);
		memcpy(ct->key, rt->key, sizeof(ct->key));
	}
}

/* The http listener is bound once, before the sandbox: restart-only, but
 * for the credentials of its HTTPS (http.tls), which a reload loads for new
 * handshakes as it does a TLS listener's. Turning HTTPS on or off, or a new
 * key or priority, still needs a restart. */
static void keep_http(const struct http_config *r, struct http_config *c, struct names *nm)
{
	static struct http_config copy;
	memcpy(&copy, c, sizeof(copy));
	if (r->tls.certificate[0] && c->tls.certificate[0])
		same_tls_reloadables(&r->tls, &copy.tls);
	if (memcmp(r, &copy, sizeof(copy)) != 0) {
		add_name(nm, "%s", "http");
		memcpy(c, r, sizeof(*c));
	}
}

/* Listeners and peers: a changed number is one key (and every entry is
 * kept), else each entry is compared on its own. */
#define KEEP_LIST(run, cand, arr, n, type, label, nm) do {                                 \
	if ((run)->n != (cand)->n) {                                                       \
		add_name(nm, "%s (their number)", label);                                  \
		memcpy((cand)->arr, (run)->arr, sizeof((run)->arr));                       \
		(cand)->n = (run)->n;                                                      \
	} else {                                                                           \
		for (unsigned i_ = 0; i_ < (run)->n; i_++)                                 \
			keep_entry(&(run)->arr[i_], &(cand)->arr[i_], sizeof((run)->arr[i_]), \
				   offsetof(type, tls), label,                             \
				   (run)->arr[i_].name, nm);                               \
	}                                                                                  \
} while (0)

/* A leg's keys that decide what exists (relay ports, signing keys, the
 * user store) rather than what a request must satisfy. */
static void keep_leg(const struct leg_config *r, struct leg_config *c, struct names *nm)
{
	char key[CFG_NAME_MAX + 40];
#define KEEP_LEG_KEY(member, label) do {                                     \
	if (memcmp(&r->member, &c->member, sizeof(r->member))) {             \
		snprintf(key, sizeof(key), "legs[%s]." label, r->name);      \
		add_name(nm, "%s", key);                                     \
		memcpy(&c->member, &r->member, sizeof(r->member));           \
	}                                                                    \
} while (0)
	KEEP_LEG_KEY(rtp_address, "rtp_address");
	KEEP_LEG_KEY(advertise, "advertise");
	KEEP_LEG_KEY(rtp_port_min, "rtp_ports");
	KEEP_LEG_KEY(rtp_port_max, "rtp_ports");
	KEEP_LEG_KEY(registrar, "registrar");
	KEEP_LEG_KEY(open_registrar, "registrar");
	KEEP_LEG_KEY(digest_auth, "auth");
	KEEP_LEG_KEY(cert_auth, "auth");
	KEEP_LEG_KEY(identity_sign, "identity_sign");
	KEEP_LEG_KEY(identity_sign_unauthenticated, "identity_unauthenticated");
	KEEP_LEG_KEY(identity_origid, "identity_origid");
	KEEP_LEG_KEY(identity_verify, "identity_verify");
#undef KEEP_LEG_KEY
}

/* Calls point at their legs' entries: the legs' names and order stay, or
 * none of the legs changes. */
static void keep_legs(const struct gateway_config *run, struct gateway_config *cand, struct names *nm)
{
	bool same = run->n_legs == cand->n_legs;
	for (unsigned i = 0; same && i < run->n_legs; i++)
		same = !strcmp(run->legs[i].name, cand->legs[i].name);
	if (!same) {
		add_name(nm, "%s", "legs (their names or order)");
		memcpy(cand->legs, run->legs, sizeof(run->legs));
		cand->n_legs = run->n_legs;
		return;
	}
	for (unsigned i = 0; i < run->n_legs; i++)
		keep_leg(&run->legs[i], &cand->legs[i], nm);
}

/* A rate table exists or not from start: switching one on or off keeps
 * the running rules of that table (its rule keys change freely otherwise). */
static void keep_rate_tables(const struct abuse_config *r, struct abuse_config *c, struct names *nm)
{
	bool src_r = r->request_rate && r->request_burst, src_c = c->request_rate && c->request_burst;
	if (src_r != src_c) {
		add_name(nm, "%s", "abuse.request_rate (turns the per-source limit on or off)");
		c->request_rate = r->request_rate;
		c->request_burst = r->request_burst;
		c->ban_after = r->ban_after;
		c->ban_window_s = r->ban_window_s;
		c->ban_s = r->ban_s;
	}
	if (!(r->user_max_calls || r->user_cps) != !(c->user_max_calls || c->user_cps)) {
		add_name(nm, "%s", "abuse.user_max_calls/user_cps (turns the per-user limits on or off)");
		c->user_max_calls = r->user_max_calls;
		c->user_cps = r->user_cps;
	}
	if (!(r->trunk_max_calls || r->trunk_cps) != !(c->trunk_max_calls || c->trunk_cps)) {
		add_name(nm, "%s", "abuse.trunk_max_calls/trunk_cps (turns the per-trunk limits on or off)");
		c->trunk_max_calls = r->trunk_max_calls;
		c->trunk_cps = r->trunk_cps;
	}
}

/* A network list's lines say where it was written, not what it holds: a
 * line added above it must not read as a change. */
static void same_lines(const struct cfg_net *run, unsigned n_run, struct cfg_net *cand, unsigned n_cand)
{
	for (unsigned i = 0; i < n_run && i < n_cand; i++)
		if (!strcmp(run[i].text, cand[i].text))
			cand[i].line = run[i].line;
}

unsigned config_keep_restart_only(const struct gateway_config *run, struct gateway_config *cand,
				  char *names, size_t len)
{
	struct names nm = { names, len, 0, 0 };
	if (len)
		names[0] = '\0';
	same_lines(run->stir.fetch_allow_networks, run->stir.n_fetch_allow_networks,
		   cand->stir.fetch_allow_networks, cand->stir.n_fetch_allow_networks);
	same_lines(run->http.allow, run->http.n_allow, cand->http.allow, cand->http.n_allow);
	KEEP_LIST(run, cand, listeners, n_listeners, struct listener_config, "listeners", &nm);
	KEEP_LIST(run, cand, peers, n_peers, struct peer_config, "peers", &nm);
	keep_legs(run, cand, &nm);
	keep_rate_tables(&run->abuse, &cand->abuse, &nm);
	keep_http(&run->http, &cand->http, &nm);
	for (size_t i = 0; i < sizeof(restart_fields) / sizeof(restart_fields[0]); i++)
		keep_field(run, cand, &restart_fields[i], &nm);
	return nm.n;
}
