/* Reading the configuration with libconfig. Each group is checked against a
 * list of known keys so a typo is an error naming file and line rather than a
 * silently ignored setting. Values are validated here, once; the rest of the
 * gateway trusts struct gateway_config. */
#include "config.h"

#include <ctype.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "build_config.h"

extern const char portcullis_default_conf[];

#define DEFAULT_PRIORITY \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:" \
	"+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:" \
	"+ECDHE-RSA:%SERVER_PRECEDENCE"

struct loader {
	const char *source;
	const char *base_dir;
	char *err;
	size_t errlen;
};

const char *config_embedded_default(void) { return portcullis_default_conf; }

const char *tls_verify_name(enum tls_verify v)
{
	static const char *const names[] = { "none", "optional", "required" };
	return names[v];
}

static int failf(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int failf(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned line = s ? config_setting_source_line(s) : 0;
	const char *name = s ? config_setting_name(s) : NULL;
	snprintf(ld->err, ld->errlen, "%s:%u: %s%s%s", file ? file : ld->source, line,
		 name ? name : "", name ? ": " : "", why);
	return -1;
}

static int check_keys(struct loader *ld, const config_setting_t *group, const char *const *known)
{
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		bool ok = false;
		for (const char *const *k = known; *k; k++)
			if (name && strcmp(name, *k) == 0)
				ok = true;
		if (!ok)
			return failf(ld, s, "unknown key");
	}
	return 0;
}

static int get_string(struct loader *ld, const config_setting_t *group, const char *key,
		      char *out, size_t outlen, bool required)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	if (!s) {
		if (required)
			return failf(ld, group, "missing required key \"%s\"", key);
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return failf(ld, s, "must be a string");
	const char *v = config_setting_get_string(s);
	if (strlen(v) >= outlen)
		return failf(ld, s, "value too long (max %zu)", outlen - 1);
	snprintf(out, outlen, "%s", v);
	return 0;
}

static int get_uint(struct loader *ld, const config_setting_t *group, const char *key,
		    unsigned *out, unsigned min, unsigned max, bool required)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	if (!s) {
		if (required)
			return failf(ld, group, "missing required key \"%s\"", key);
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return failf(ld, s, "must be an integer");
	long long v = config_setting_get_int64(s);
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	if (v < (long long)min || v > (long long)max)
		return failf(ld, s, "must be between %u and %u", min, max);
	*out = (unsigned)v;
	return 0;
}

static int get_bool(struct loader *ld, const config_setting_t *group, const char *key, bool *out)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return failf(ld, s, "must be true or false");
	*out = config_setting_get_bool(s);
	return 0;
}

static int resolve_path(struct loader *ld, const config_setting_t *s, char *path, size_t len)
{
	if (path[0] == '\0' || path[0] == '/')
		return 0;
	char joined[PATH_MAX];
	int n = snprintf(joined, sizeof(joined), "%s/%s", ld->base_dir, path);
	if (n < 0 || (size_t)n >= len)
		return failf(ld, s, "path too long");
	memcpy(path, joined, (size_t)n + 1);
	return 0;
}

/* A list of strings into `max` slots of `stride` bytes. Names (certificate
 * identities) may not hold wildcards: RFC 5922 matches exactly. */
static int get_strings(struct loader *ld, const config_setting_t *group, const char *key,
		       char *out, size_t stride, unsigned max, unsigned *n, bool names)
{
	const config_setting_t *list = config_setting_get_member(group, key);
	if (!list)
		return 0;
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return failf(ld, list, "must be a list of strings [ \"...\", ... ]");
	int len = config_setting_length(list);
	if (len > (int)max)
		return failf(ld, list, "at most %u entries", max);
	*n = 0;
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
		if (!v || !v[0] || strlen(v) >= stride)
			return failf(ld, list, "entry %d must be a non-empty string under %zu bytes", i + 1,
				     stride);
		if (names && strchr(v, '*'))
			return failf(ld, list, "\"%s\" is not a valid name (no wildcards)", v);
		snprintf(out + (size_t)*n * stride, stride, "%s", v);
		(*n)++;
	}
	return 0;
}

/* TLS 1.2 is the floor whatever an operator's priority string says (GnuTLS's
 * NORMAL alone still enables TLS 1.0 and 1.1): the versions below it are
 * removed at its end, where a removal wins over anything before it. A
 * system keyword (@SYSTEM) takes no additions, so it must be written out. */
static int hold_priority_floor(struct loader *ld, const config_setting_t *s, char *priority,
			       size_t size)
{
	static const char floor[] = ":-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-DTLS-ALL";
	size_t len = strlen(priority);
	if (priority[0] == '@')
		return failf(ld, s, "a system priority keyword cannot be held to the TLS 1.2 floor; "
				    "write the priority string out");
	if (len == 0 || len + sizeof(floor) > size)
		return failf(ld, s, "must be a GnuTLS priority string of 1 to %zu characters",
			     size - sizeof(floor));
	memcpy(priority + len, floor, sizeof(floor));
	return 0;
}

static int load_tls(struct loader *ld, const config_setting_t *owner, struct tls_config *tls,
		    bool server_side)
{
	static const char *const keys[] = { "certificate", "key", "ca", "verify_peer",
		"peer_names", "priority", "session_tickets", NULL };
	const config_setting_t *g = config_setting_get_member(owner, "tls");

	memset(tls, 0, sizeof(*tls));
	tls->verify_peer = TLS_VERIFY_REQUIRED;
	tls->session_tickets = true;
	snprintf(tls->priority, sizeof(tls->priority), "%s", DEFAULT_PRIORITY);
	if (!g)
		return failf(ld, owner, "transport tls needs a \"tls\" group");
	if (!config_setting_is_group(g))
		return failf(ld, g, "must be a group { ... }");
	if (check_keys(ld, g, keys) < 0)
		return -1;
	if (get_string(ld, g, "certificate", tls->certificate, sizeof(tls->certificate), server_side) < 0 ||
	    get_string(ld, g, "key", tls->key, sizeof(tls->key), server_side) < 0 ||
	    get_string(ld, g, "ca", tls->ca, sizeof(tls->ca), false) < 0 ||
	    get_string(ld, g, "priority", tls->priority, sizeof(tls->priority), false) < 0 ||
	    get_bool(ld, g, "session_tickets", &tls->session_tickets) < 0)
		return -1;
	if ((tls->certificate[0] == '\0') != (tls->key[0] == '\0'))
		return failf(ld, g, "certificate and key go together");
	const config_setting_t *ps = config_setting_get_member(g, "priority");
	if (ps && hold_priority_floor(ld, ps, tls->priority, sizeof(tls->priority)) < 0)
		return -1;
	char verify[16] = "required";
	if (get_string(ld, g, "verify_peer", verify, sizeof(verify), false) < 0)
		return -1;
	const config_setting_t *vs = config_setting_get_member(g, "verify_peer");
	if (!strcmp(verify, "none"))
		tls->verify_peer = TLS_VERIFY_NONE;
	else if (!strcmp(verify, "optional"))
		tls->verify_peer = TLS_VERIFY_OPTIONAL;
	else if (!strcmp(verify, "required"))
		tls->verify_peer = TLS_VERIFY_REQUIRED;
	else
		return failf(ld, vs, "must be none, optional or required");
	if (tls->verify_peer != TLS_VERIFY_NONE && tls->ca[0] == '\0')
		return failf(ld, g, "verify_peer %s needs a \"ca\" bundle", verify);

	if (get_strings(ld, g, "peer_names", tls->peer_names[0], CFG_HOST_MAX, CFG_MAX_NAMES,
			&tls->n_peer_names, true) < 0)
		return -1;
	if (resolve_path(ld, g, tls->certificate, sizeof(tls->certificate)) < 0 ||
	    resolve_path(ld, g, tls->key, sizeof(tls->key)) < 0 ||
	    resolve_path(ld, g, tls->ca, sizeof(tls->ca)) < 0)
		return -1;
	return 0;
}

static int load_transport(struct loader *ld, const config_setting_t *g, enum pc_transport *tp)
{
	char name[8] = "";
	if (get_string(ld, g, "transport", name, sizeof(name), true) < 0)
		return -1;
	if (pc_transport_from_name(name, tp) < 0)
		return failf(ld, config_setting_get_member(g, "transport"),
			     "must be udp, tcp or tls");
	return 0;
}

static int load_listeners(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "name", "leg", "transport", "address", "port",
		"max_connections", "tls", NULL };
	const config_setting_t *list = config_lookup(cf, "listeners");
	if (!list)
		return failf(ld, config_root_setting(cf), "no \"listeners\" defined");
	if (!config_setting_is_list(list))
		return failf(ld, list, "must be a list ( { ... }, ... )");
	int n = config_setting_length(list);
	if (n == 0)
		return failf(ld, list, "at least one listener is needed");
	if (n > CFG_MAX_LISTENERS)
		return failf(ld, list, "at most %d listeners", CFG_MAX_LISTENERS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct listener_config *l = &cfg->listeners[i];
		if (!config_setting_is_group(g))
			return failf(ld, list, "entry %d must be a group { ... }", i + 1);
		if (check_keys(ld, g, keys) < 0 ||
		    get_string(ld, g, "name", l->name, sizeof(l->name), true) < 0 ||
		    get_string(ld, g, "leg", l->leg, sizeof(l->leg), true) < 0 ||
		    load_transport(ld, g, &l->transport) < 0 ||
		    get_string(ld, g, "address", l->address, sizeof(l->address), true) < 0 ||
		    get_uint(ld, g, "port", &l->port, 1, 65535, true) < 0 ||
		    get_uint(ld, g, "max_connections", &l->max_connections, 1, 1000000, false) < 0)
			return -1;
		if (l->transport == PC_TP_UDP && config_setting_get_member(g, "max_connections"))
			return failf(ld, config_setting_get_member(g, "max_connections"),
				     "a udp listener has no connections");
		if (l->transport == PC_TP_TLS) {
			if (load_tls(ld, g, &l->tls, true) < 0)
				return -1;
		} else if (config_setting_get_member(g, "tls")) {
			return failf(ld, config_setting_get_member(g, "tls"),
				     "only a tls listener takes TLS settings");
		}
		for (int j = 0; j < i; j++) {
			const struct listener_config *o = &cfg->listeners[j];
			if (!strcmp(o->name, l->name))
				return failf(ld, g, "duplicate listener name \"%s\"", l->name);
			if (o->port == l->port && !strcmp(o->address, l->address) &&
			    (o->transport == PC_TP_UDP) == (l->transport == PC_TP_UDP))
				return failf(ld, g, "%s %s:%u is already used by listener \"%s\"",
					     pc_transport_name(l->transport), l->address, l->port, o->name);
		}
		cfg->n_listeners++;
	}
	return 0;
}

static int load_peers(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "name", "transport", "address", "port", "sip_domain",
		"keepalive_interval", "tls", NULL };
	const config_setting_t *list = config_lookup(cf, "peers");
	if (!list)
		return 0;
	if (!config_setting_is_list(list))
		return failf(ld, list, "must be a list ( { ... }, ... )");
	int n = config_setting_length(list);
	if (n > CFG_MAX_PEERS)
		return failf(ld, list, "at most %d peers", CFG_MAX_PEERS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct peer_config *p = &cfg->peers[i];
		if (!config_setting_is_group(g))
			return failf(ld, list, "entry %d must be a group { ... }", i + 1);
		if (check_keys(ld, g, keys) < 0 ||
		    get_string(ld, g, "name", p->name, sizeof(p->name), true) < 0 ||
		    load_transport(ld, g, &p->transport) < 0 ||
		    get_string(ld, g, "address", p->address, sizeof(p->address), true) < 0 ||
		    get_uint(ld, g, "port", &p->port, 1, 65535, true) < 0 ||
		    get_string(ld, g, "sip_domain", p->sip_domain, sizeof(p->sip_domain), false) < 0 ||
		    get_uint(ld, g, "keepalive_interval", &p->keepalive_interval_s, 0, 86400, false) < 0)
			return -1;
		if (p->sip_domain[0] == '\0')
			memcpy(p->sip_domain, p->address, sizeof(p->sip_domain));
		if (p->transport == PC_TP_TLS) {
			if (load_tls(ld, g, &p->tls, false) < 0)
				return -1;
			if (p->tls.verify_peer != TLS_VERIFY_REQUIRED)
				return failf(ld, config_setting_get_member(g, "tls"),
					     "a TLS client must verify the server: verify_peer = \"required\"");
			if (p->tls.n_peer_names == 0) /* RFC 5922: the name we asked for */
				memcpy(p->tls.peer_names[p->tls.n_peer_names++], p->sip_domain,
				       CFG_HOST_MAX);
		} else if (config_setting_get_member(g, "tls")) {
			return failf(ld, config_setting_get_member(g, "tls"),
				     "only a tls peer takes TLS settings");
		}
		cfg->n_peers++;
	}
	return 0;
}

/* Beyond the budgets: stdio, the event loop's own descriptors, the log, the
 * registrar's database, and connections closed but not yet reaped (each
 * listener may evict up to one accept batch before the reaper runs). */
#define FD_RESERVE 64
#define FD_PER_LISTENER 64

void config_fd_need(const struct gateway_config *cfg, struct cfg_fd_need *need)
{
	need->connections = FD_RESERVE + cfg->limits.max_outgoing_connections + cfg->n_peers;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		need->connections += 1 + FD_PER_LISTENER + cfg->listeners[i].max_connections;
	need->relay = 0;
	for (unsigned i = 0; i < cfg->n_legs; i++)
		need->relay += cfg->legs[i].rtp_port_max - cfg->legs[i].rtp_port_min + 1;
}

const struct leg_config *config_leg(const struct gateway_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_legs; i++)
		if (!strcmp(cfg->legs[i].name, name))
			return &cfg->legs[i];
	return NULL;
}

const struct peer_config *config_peer(const struct gateway_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (!strcmp(cfg->peers[i].name, name))
			return &cfg->peers[i];
	return NULL;
}

static int load_suites(struct loader *ld, const config_setting_t *g, struct leg_config *leg)
{
	const config_setting_t *list = config_setting_get_member(g, "crypto");
	if (!list) {
		/* AEAD first: cheapest per packet and strongest (docs/media.md). */
		static const enum pc_srtp_suite defaults[] = { PC_SRTP_AEAD_AES_256_GCM, PC_SRTP_AEAD_AES_128_GCM,
			PC_SRTP_AES_256_CM_HMAC_SHA1_80, PC_SRTP_AES_CM_128_HMAC_SHA1_80 };
		leg->n_suites = sizeof(defaults) / sizeof(defaults[0]);
		memcpy(leg->suites, defaults, sizeof(defaults));
		return 0;
	}
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return failf(ld, list, "must be a list of suite names [ \"AEAD_AES_256_GCM\", ... ]");
	int n = config_setting_length(list);
	if (n == 0 || n > PC_SRTP_SUITE__COUNT)
		return failf(ld, list, "between 1 and %d suites", PC_SRTP_SUITE__COUNT);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : "";
		enum pc_srtp_suite suite;
		if (pc_srtp_suite_from_name(v, strlen(v), &suite) < 0)
			return failf(ld, list, "unknown SRTP suite \"%s\"", v);
		for (unsigned j = 0; j < leg->n_suites; j++)
			if (leg->suites[j] == suite)
				return failf(ld, list, "suite \"%s\" listed twice", v);
		leg->suites[leg->n_suites++] = suite;
	}
	return 0;
}

static int load_legs(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "name", "media", "crypto", "rtp_address", "advertise",
		"rtp_ports", "registrar", "auth", "require_tls", "require_client_cert", "media_source",
		"allow_unauthenticated_register", NULL };
	const config_setting_t *list = config_lookup(cf, "legs");
	if (!list)
		return 0;
	if (!config_setting_is_list(list))
		return failf(ld, list, "must be a list ( { ... }, ... )");
	int n = config_setting_length(list);
	if (n > CFG_MAX_LEGS)
		return failf(ld, list, "at most %d legs", CFG_MAX_LEGS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct leg_config *leg = &cfg->legs[i];
		char media[16] = "rtp", auth[32] = "none", source[16] = "strict";
		if (!config_setting_is_group(g))
			return failf(ld, list, "entry %d must be a group { ... }", i + 1);
		if (check_keys(ld, g, keys) < 0 ||
		    get_string(ld, g, "name", leg->name, sizeof(leg->name), true) < 0 ||
		    get_string(ld, g, "media", media, sizeof(media), false) < 0 ||
		    get_string(ld, g, "media_source", source, sizeof(source), false) < 0 ||
		    get_string(ld, g, "rtp_address", leg->rtp_address, sizeof(leg->rtp_address), true) < 0 ||
		    get_string(ld, g, "advertise", leg->advertise, sizeof(leg->advertise), false) < 0 ||
		    get_bool(ld, g, "registrar", &leg->registrar) < 0 ||
		    get_bool(ld, g, "allow_unauthenticated_register", &leg->open_registrar) < 0 ||
		    get_string(ld, g, "auth", auth, sizeof(auth), false) < 0 ||
		    get_bool(ld, g, "require_tls", &leg->require_tls) < 0 ||
		    get_bool(ld, g, "require_client_cert", &leg->require_client_cert) < 0 ||
		    load_suites(ld, g, leg) < 0)
			return -1;
		if (!strcmp(auth, "digest")) {
			leg->digest_auth = true;
		} else if (!strcmp(auth, "certificate")) {
			leg->cert_auth = true;
		} else if (!strcmp(auth, "certificate-or-digest")) {
			leg->cert_auth = leg->digest_auth = true;
		} else if (strcmp(auth, "none")) {
			return failf(ld, config_setting_get_member(g, "auth"),
				     "must be none, digest, certificate or certificate-or-digest");
		}
		/* A registration takes the user's calls: a registrar that believes
		 * any To is refused unless the operator says every device on the
		 * leg is trusted. */
		if (leg->registrar && !leg->digest_auth && !leg->cert_auth && !leg->open_registrar)
			return failf(ld, config_setting_get_member(g, "registrar"),
				     "a registrar leg needs auth (digest, certificate or "
				     "certificate-or-digest): without it anyone registers any user and "
				     "gets their calls; allow_unauthenticated_register = true accepts that");
		if (leg->open_registrar && (!leg->registrar || leg->digest_auth || leg->cert_auth))
			return failf(ld, config_setting_get_member(g, "allow_unauthenticated_register"),
				     "only for a registrar leg with auth = \"none\"");
		if (leg->require_client_cert)
			leg->require_tls = true;
		if (!strcmp(media, "rtp"))
			leg->media = MEDIA_MODE_RTP;
		else if (!strcmp(media, "srtp"))
			leg->media = MEDIA_MODE_SRTP;
		else if (!strcmp(media, "best-effort"))
			leg->media = MEDIA_MODE_BEST_EFFORT;
		else
			return failf(ld, config_setting_get_member(g, "media"),
				     "must be rtp, srtp or best-effort");
		/* Strict by default: a phone behind NAT needs the operator to
		 * say so, since every looser rule lets more sources in. */
		if (!strcmp(source, "strict"))
			leg->media_source = MEDIA_SOURCE_RULE_STRICT;
		else if (!strcmp(source, "signalling-ip"))
			leg->media_source = MEDIA_SOURCE_RULE_SIGNALLING_IP;
		else if (!strcmp(source, "sdp"))
			leg->media_source = MEDIA_SOURCE_RULE_SDP;
		else
			return failf(ld, config_setting_get_member(g, "media_source"),
				     "must be strict, signalling-ip or sdp");
		if (!leg->advertise[0])
			memcpy(leg->advertise, leg->rtp_address, sizeof(leg->advertise));
		const config_setting_t *ports = config_setting_get_member(g, "rtp_ports");
		if (!ports || config_setting_length(ports) != 2 ||
		    config_setting_type(config_setting_get_elem(ports, 0)) != CONFIG_TYPE_INT ||
		    config_setting_type(config_setting_get_elem(ports, 1)) != CONFIG_TYPE_INT)
			return failf(ld, ports ? ports : g, "rtp_ports must be [ first, last ]");
		int lo = config_setting_get_int_elem(ports, 0), hi = config_setting_get_int_elem(ports, 1);
		if (lo < 1024 || hi > 65535 || hi - lo < 3)
			return failf(ld, ports, "need 1024 <= first, last <= 65535 and room for two port pairs");
		leg->rtp_port_min = (unsigned)lo;
		leg->rtp_port_max = (unsigned)hi;
		for (int j = 0; j < i; j++)
			if (!strcmp(cfg->legs[j].name, leg->name))
				return failf(ld, g, "duplicate leg \"%s\"", leg->name);
		cfg->n_legs++;
	}
	return 0;
}

static int load_routes(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "from_leg", "user", "to_leg", "peer", "transport",
		"address", "port", "registered", NULL };
	const config_setting_t *list = config_lookup(cf, "routes");
	if (!list)
		return 0;
	if (!config_setting_is_list(list))
		return failf(ld, list, "must be a list ( { ... }, ... )");
	int n = config_setting_length(list);
	if (n > CFG_MAX_ROUTES)
		return failf(ld, list, "at most %d routes", CFG_MAX_ROUTES);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct route_config *r = &cfg->routes[i];
		if (!config_setting_is_group(g))
			return failf(ld, list, "entry %d must be a group { ... }", i + 1);
		if (check_keys(ld, g, keys) < 0 ||
		    get_string(ld, g, "from_leg", r->from_leg, sizeof(r->from_leg), true) < 0 ||
		    get_string(ld, g, "user", r->user, sizeof(r->user), false) < 0 ||
		    get_string(ld, g, "to_leg", r->to_leg, sizeof(r->to_leg), true) < 0 ||
		    get_string(ld, g, "peer", r->peer, sizeof(r->peer), false) < 0 ||
		    get_bool(ld, g, "registered", &r->registered) < 0)
			return -1;
		if (!config_leg(cfg, r->from_leg))
			return failf(ld, config_setting_get_member(g, "from_leg"), "no leg \"%s\"", r->from_leg);
		if (!config_leg(cfg, r->to_leg))
			return failf(ld, config_setting_get_member(g, "to_leg"), "no leg \"%s\"", r->to_leg);
		if (r->registered) {
			if (r->peer[0] || config_setting_get_member(g, "address"))
				return failf(ld, g, "a route to registered contacts names no peer or address");
			if (!config_leg(cfg, r->to_leg)->registrar)
				return failf(ld, config_setting_get_member(g, "to_leg"),
					     "leg \"%s\" has no registrar (registrar = true)", r->to_leg);
		} else if (r->peer[0]) {
			const struct peer_config *p = config_peer(cfg, r->peer);
			if (!p)
				return failf(ld, config_setting_get_member(g, "peer"), "no peer \"%s\"", r->peer);
			if (config_setting_get_member(g, "address"))
				return failf(ld, g, "a route names either a peer or an address, not both");
		} else {
			if (load_transport(ld, g, &r->transport) < 0 ||
			    get_string(ld, g, "address", r->address, sizeof(r->address), true) < 0 ||
			    get_uint(ld, g, "port", &r->port, 1, 65535, true) < 0)
				return -1;
			if (r->transport == PC_TP_TLS)
				return failf(ld, g, "TLS targets must be a configured peer (their name is verified)");
		}
		cfg->n_routes++;
	}
	return 0;
}

static int load_limits(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "max_message_size", "max_headers", "max_vias",
		"max_connections", "max_connections_per_ip", "max_outgoing_connections", "idle_timeout",
		"handshake_timeout", "message_timeout", "first_message_timeout", "peer_retry_min",
		"peer_retry_max", "max_transactions", "max_calls", "media_timeout", "connection_grace",
		NULL };
	struct limits_config *l = &cfg->limits;
	const config_setting_t *g = config_lookup(cf, "limits");
	unsigned max_msg = (unsigned)l->max_message_size;

	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return failf(ld, g, "must be a group { ... }");
	if (check_keys(ld, g, keys) < 0 ||
	    get_uint(ld, g, "max_message_size", &max_msg, 1024, 1048576, false) < 0 ||
	    get_uint(ld, g, "max_headers", &l->max_headers, 32, 4096, false) < 0 ||
	    get_uint(ld, g, "max_vias", &l->max_vias, 8, 1024, false) < 0 ||
	    get_uint(ld, g, "max_connections", &l->max_connections, 1, 1000000, false) < 0 ||
	    get_uint(ld, g, "max_connections_per_ip", &l->max_connections_per_ip, 1, 1000000, false) < 0 ||
	    get_uint(ld, g, "max_outgoing_connections", &l->max_outgoing_connections, 1, 1000000, false) < 0 ||
	    get_uint(ld, g, "first_message_timeout", &l->first_message_timeout_s, 1, 300, false) < 0 ||
	    get_uint(ld, g, "peer_retry_min", &l->peer_retry_min_s, 1, 3600, false) < 0 ||
	    get_uint(ld, g, "peer_retry_max", &l->peer_retry_max_s, 1, 3600, false) < 0 ||
	    get_uint(ld, g, "idle_timeout", &l->idle_timeout_s, 1, 86400, false) < 0 ||
	    get_uint(ld, g, "handshake_timeout", &l->handshake_timeout_s, 1, 300, false) < 0 ||
	    get_uint(ld, g, "message_timeout", &l->message_timeout_s, 1, 300, false) < 0 ||
	    get_uint(ld, g, "max_transactions", &l->max_transactions, 1, 10000000, false) < 0 ||
	    get_uint(ld, g, "max_calls", &l->max_calls, 1, 1000000, false) < 0 ||
	    get_uint(ld, g, "media_timeout", &l->media_timeout_s, 0, 86400, false) < 0 ||
	    get_uint(ld, g, "connection_grace", &l->connection_grace_s, 1, 3600, false) < 0)
		return -1;
	l->max_message_size = max_msg;
	if (l->peer_retry_max_s < l->peer_retry_min_s) {
		const config_setting_t *max = config_setting_get_member(g, "peer_retry_max");
		if (max)
			return failf(ld, max, "must be at least peer_retry_min (%u)", l->peer_retry_min_s);
		l->peer_retry_max_s = l->peer_retry_min_s;
	}
	return 0;
}

static int load_timers(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "t1", "t2", "t4", NULL };
	struct timers_config *t = &cfg->timers;
	const config_setting_t *g = config_lookup(cf, "timers");
	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return failf(ld, g, "must be a group { ... }");
	if (check_keys(ld, g, keys) < 0 || get_uint(ld, g, "t1", &t->t1_ms, 10, 60000, false) < 0 ||
	    get_uint(ld, g, "t2", &t->t2_ms, 10, 600000, false) < 0 ||
	    get_uint(ld, g, "t4", &t->t4_ms, 10, 600000, false) < 0)
		return -1;
	if (t->t2_ms < t->t1_ms)
		return failf(ld, config_setting_get_member(g, "t2"), "must not be less than t1");
	return 0;
}

static int load_auth(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "realm", "users", "nonce_lifetime", "max_users",
		"algorithms", "max_failures", "user_max_failures", "lockout", NULL };
	struct auth_config *a = &cfg->auth;
	const config_setting_t *g = config_lookup(cf, "auth");
	if (g) {
		if (!config_setting_is_group(g))
			return failf(ld, g, "must be a group { ... }");
		if (check_keys(ld, g, keys) < 0 ||
		    get_string(ld, g, "realm", a->realm, sizeof(a->realm), false) < 0 ||
		    get_string(ld, g, "users", a->users, sizeof(a->users), false) < 0 ||
		    resolve_path(ld, config_setting_get_member(g, "users"), a->users, sizeof(a->users)) < 0 ||
		    get_uint(ld, g, "nonce_lifetime", &a->nonce_lifetime_s, 10, 86400, false) < 0 ||
		    get_uint(ld, g, "max_users", &a->max_users, 1, 10000000, false) < 0 ||
		    get_uint(ld, g, "max_failures", &a->max_failures, 0, 1000, false) < 0 ||
		    get_uint(ld, g, "lockout", &a->lockout_s, 1, 86400, false) < 0)
			return -1;
		/* User-wide: ten sources' worth unless said otherwise (docs/configuration.md). */
		a->user_max_failures = a->max_failures * AUTH_USER_FAILURES_FACTOR;
		if (get_uint(ld, g, "user_max_failures", &a->user_max_failures, 0, 100000, false) < 0)
			return -1;
		const config_setting_t *algs = config_setting_get_member(g, "algorithms");
		if (algs) {
			int n = config_setting_is_array(algs) ? config_setting_length(algs) : -1;
			if (n < 1)
				return failf(ld, algs, "must be a list of \"SHA-256\" and/or \"MD5\"");
			a->md5 = a->sha256 = false;
			for (int i = 0; i < n; i++) {
				const char *v = config_setting_get_string_elem(algs, (unsigned)i);
				if (v && !strcmp(v, "MD5"))
					a->md5 = true;
				else if (v && !strcmp(v, "SHA-256"))
					a->sha256 = true;
				else
					return failf(ld, algs, "unknown algorithm (SHA-256 or MD5)");
			}
		}
	}
	if (!a->realm[0])
		snprintf(a->realm, sizeof(a->realm), "%s", cfg->domain);
	for (unsigned i = 0; i < cfg->n_legs; i++) {
		if ((cfg->legs[i].digest_auth || cfg->legs[i].cert_auth) && !a->users[0])
			return failf(ld, g ? g : config_lookup(cf, "legs"),
				     "leg \"%s\" authenticates users: auth.users must name the user store",
				     cfg->legs[i].name);
	}
	return 0;
}

static int load_registrar(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "store", "min_expires", "max_expires", "default_expires",
		"max_users", "max_contacts", NULL };
	struct registrar_config *r = &cfg->registrar;
	const config_setting_t *g = config_lookup(cf, "registrar");
	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return failf(ld, g, "must be a group { ... }");
	if (check_keys(ld, g, keys) < 0 ||
	    get_string(ld, g, "store", r->store, sizeof(r->store), false) < 0 ||
	    resolve_path(ld, config_setting_get_member(g, "store"), r->store, sizeof(r->store)) < 0 ||
	    get_uint(ld, g, "min_expires", &r->min_expires_s, 1, 86400, false) < 0 ||
	    get_uint(ld, g, "max_expires", &r->max_expires_s, 1, 604800, false) < 0 ||
	    get_uint(ld, g, "default_expires", &r->default_expires_s, 1, 604800, false) < 0 ||
	    get_uint(ld, g, "max_users", &r->max_users, 1, 10000000, false) < 0 ||
	    get_uint(ld, g, "max_contacts", &r->max_contacts, 1, 32, false) < 0)
		return -1;
	if (r->min_expires_s > r->max_expires_s || r->default_expires_s < r->min_expires_s ||
	    r->default_expires_s > r->max_expires_s)
		return failf(ld, g, "need min_expires <= default_expires <= max_expires");
	return 0;
}

/* A list of networks: each kept as text with its line, parsed by policy. */
static int get_nets(struct loader *ld, const config_setting_t *group, const char *key,
		    struct cfg_net *out, unsigned *n)
{
	const config_setting_t *list = config_setting_get_member(group, key);
	if (!list)
		return 0;
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return failf(ld, list, "must be a list of networks [ \"10.0.0.0/8\", ... ]");
	int len = config_setting_length(list);
	if (len > CFG_MAX_NETS)
		return failf(ld, list, "at most %d networks", CFG_MAX_NETS);
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
		if (!v || !v[0] || strlen(v) >= CFG_NET_MAX)
			return failf(ld, list, "entry %d must be a network such as \"10.0.0.0/8\"", i + 1);
		snprintf(out[*n].text, CFG_NET_MAX, "%s", v);
		out[*n].line = (unsigned)config_setting_source_line(e);
		(*n)++;
	}
	return 0;
}

static int load_abuse(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "allow", "deny", "exempt", "block_user_agents",
		"request_rate", "request_burst", "ban_after", "ban_window", "ban", "max_sources",
		"max_calls_in_setup", "user_max_calls", "user_cps", "trunk_max_calls", "trunk_cps",
		NULL };
	struct abuse_config *a = &cfg->abuse;
	const config_setting_t *g = config_lookup(cf, "abuse");
	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return failf(ld, g, "must be a group { ... }");
	if (check_keys(ld, g, keys) < 0 || get_nets(ld, g, "allow", a->allow, &a->n_allow) < 0 ||
	    get_nets(ld, g, "deny", a->deny, &a->n_deny) < 0 ||
	    get_nets(ld, g, "exempt", a->exempt, &a->n_exempt) < 0 ||
	    get_uint(ld, g, "request_rate", &a->request_rate, 0, 1000000, false) < 0 ||
	    get_uint(ld, g, "request_burst", &a->request_burst, 0, 1000000, false) < 0 ||
	    get_uint(ld, g, "ban_after", &a->ban_after, 0, 1000, false) < 0 ||
	    get_uint(ld, g, "ban_window", &a->ban_window_s, 1, 86400, false) < 0 ||
	    get_uint(ld, g, "ban", &a->ban_s, 1, 604800, false) < 0 ||
	    get_uint(ld, g, "max_sources", &a->max_sources, 16, 16000000, false) < 0 ||
	    get_uint(ld, g, "max_calls_in_setup", &a->max_calls_in_setup, 0, 10000000, false) < 0 ||
	    get_uint(ld, g, "user_max_calls", &a->user_max_calls, 0, 1000000, false) < 0 ||
	    get_uint(ld, g, "user_cps", &a->user_cps, 0, 1000000, false) < 0 ||
	    get_uint(ld, g, "trunk_max_calls", &a->trunk_max_calls, 0, 10000000, false) < 0 ||
	    get_uint(ld, g, "trunk_cps", &a->trunk_cps, 0, 1000000, false) < 0)
		return -1;
	if (a->request_rate && !a->request_burst)
		a->request_burst = a->request_rate * 2;
	if (config_setting_get_member(g, "block_user_agents")) {
		a->default_scanner_uas = false;
		if (get_strings(ld, g, "block_user_agents", a->scanner_uas[0], CFG_NAME_MAX, CFG_MAX_UAS,
				&a->n_scanner_uas, false) < 0)
			return -1;
	}
	return 0;
}

static int load_identity(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "trusted_networks", "trusted_names", "assert_tel",
		"pai_toward_untrusted", "hide_subject", NULL };
	struct identity_config *id = &cfg->identity;
	const config_setting_t *g = config_lookup(cf, "identity");
	if (!g)
		return 0;
	char pai[16] = "remove";
	if (!config_setting_is_group(g))
		return failf(ld, g, "must be a group { ... }");
	if (check_keys(ld, g, keys) < 0 ||
	    get_nets(ld, g, "trusted_networks", id->trusted_networks, &id->n_trusted_networks) < 0 ||
	    get_bool(ld, g, "assert_tel", &id->assert_tel) < 0 ||
	    get_bool(ld, g, "hide_subject", &id->hide_subject) < 0 ||
	    get_string(ld, g, "pai_toward_untrusted", pai, sizeof(pai), false) < 0)
		return -1;
	if (!strcmp(pai, "keep"))
		id->keep_pai_untrusted = true;
	else if (strcmp(pai, "remove"))
		return failf(ld, config_setting_get_member(g, "pai_toward_untrusted"), "must be remove or keep");
	return get_strings(ld, g, "trusted_names", id->trusted_names[0], CFG_HOST_MAX, CFG_MAX_NAMES,
			   &id->n_trusted_names, true);
}

static void set_defaults(struct gateway_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->domain, sizeof(cfg->domain), "localhost");
	snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
	cfg->limits = (struct limits_config){
		.max_message_size = 65535, .max_headers = 256, .max_vias = 64, .max_connections = 1024,
		.max_outgoing_connections = 256, .max_connections_per_ip = 64, .first_message_timeout_s = 5,
		.peer_retry_min_s = 1, .peer_retry_max_s = 30, .idle_timeout_s = 300,
		.handshake_timeout_s = 10, .message_timeout_s = 10,
		.max_transactions = 200000, .max_calls = 10000, .media_timeout_s = 60,
		.connection_grace_s = 10,
	};
	cfg->timers = (struct timers_config){ .t1_ms = 500, .t2_ms = 4000, .t4_ms = 5000 };
	cfg->auth = (struct auth_config){ .nonce_lifetime_s = 300, .max_users = 100000,
					  .md5 = true, .sha256 = true, .max_failures = 5,
					  .user_max_failures = 5 * AUTH_USER_FAILURES_FACTOR,
					  .lockout_s = 300 };
	cfg->registrar = (struct registrar_config){
		.min_expires_s = 60, .max_expires_s = 3600, .default_expires_s = 3600,
		.max_users = 100000, .max_contacts = 5,
	};
	cfg->abuse = (struct abuse_config){ .default_scanner_uas = true, .ban_window_s = 60,
					    .ban_s = 300, .max_sources = 65536 };
}

bool config_user_name_valid(const char *name)
{
	if (!name[0] || name[0] == '-')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	return true;
}

static int load_root(struct loader *ld, config_t *cf, struct gateway_config *cfg)
{
	static const char *const keys[] = { "domain", "log_level", "user", "listeners", "peers", "legs",
		"routes", "limits", "timers", "auth", "registrar", "abuse", "identity", NULL };
	const config_setting_t *root = config_root_setting(cf);
	if (check_keys(ld, root, keys) < 0 ||
	    get_string(ld, root, "domain", cfg->domain, sizeof(cfg->domain), false) < 0 ||
	    get_string(ld, root, "log_level", cfg->log_level, sizeof(cfg->log_level), false) < 0 ||
	    get_string(ld, root, "user", cfg->user, sizeof(cfg->user), false) < 0)
		return -1;
	if (config_setting_get_member(root, "user") && !config_user_name_valid(cfg->user))
		return failf(ld, config_setting_get_member(root, "user"),
			     "must be a user name (letters, digits, '.', '_', '-'; not starting with '-')");
	if (strcmp(cfg->log_level, "error") && strcmp(cfg->log_level, "warning") &&
	    strcmp(cfg->log_level, "info") && strcmp(cfg->log_level, "debug"))
		return failf(ld, config_setting_get_member(root, "log_level"),
			     "must be error, warning, info or debug");
	if (load_listeners(ld, cf, cfg) < 0 || load_peers(ld, cf, cfg) < 0 ||
	    load_legs(ld, cf, cfg) < 0 || load_routes(ld, cf, cfg) < 0 ||
	    load_limits(ld, cf, cfg) < 0 || load_timers(ld, cf, cfg) < 0 ||
	    load_auth(ld, cf, cfg) < 0 || load_registrar(ld, cf, cfg) < 0 ||
	    load_abuse(ld, cf, cfg) < 0 || load_identity(ld, cf, cfg) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].transport != PC_TP_UDP && cfg->listeners[i].max_connections == 0)
			cfg->listeners[i].max_connections = cfg->limits.max_connections;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->n_legs && !config_leg(cfg, cfg->listeners[i].leg))
			return failf(ld, config_lookup(cf, "listeners"), "listener \"%s\" names no defined leg \"%s\"",
				     cfg->listeners[i].name, cfg->listeners[i].leg);
	return 0;
}

int config_load_string(const char *text, const char *source_name, const char *base_dir,
		       struct gateway_config *cfg, char *errbuf, size_t errlen)
{
	struct loader ld = { source_name, base_dir, errbuf, errlen };
	config_t cf;
	int rc;

	set_defaults(cfg);
	snprintf(cfg->source, sizeof(cfg->source), "%s", source_name);
	config_init(&cf);
	if (!config_read_string(&cf, text)) {
		snprintf(errbuf, errlen, "%s:%d: %s", source_name, config_error_line(&cf),
			 config_error_text(&cf));
		config_destroy(&cf);
		return -1;
	}
	rc = load_root(&ld, &cf, cfg);
	config_destroy(&cf);
	return rc;
}

int config_load(const char *path, struct gateway_config *cfg, char *errbuf, size_t errlen)
{
	if (!path)
		return config_load_string(portcullis_default_conf, "(embedded default)",
					  PORTCULLIS_CERT_DIR, cfg, errbuf, errlen);

	char base[PATH_MAX];
	snprintf(base, sizeof(base), "%s", path);
	char *slash = strrchr(base, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(base, sizeof(base), ".");

	struct loader ld = { path, base, errbuf, errlen };
	config_t cf;
	int rc;

	set_defaults(cfg);
	snprintf(cfg->source, sizeof(cfg->source), "%s", path);
	config_init(&cf);
	if (!config_read_file(&cf, path)) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(errbuf, errlen, "%s: cannot read file", path);
		else
			snprintf(errbuf, errlen, "%s:%d: %s",
				 config_error_file(&cf) ? config_error_file(&cf) : path,
				 config_error_line(&cf), config_error_text(&cf));
		config_destroy(&cf);
		return -1;
	}
	rc = load_root(&ld, &cf, cfg);
	config_destroy(&cf);
	return rc;
}
