/* The table of configuration keys: for every group of the file, one entry
 * per key with its type, its place in struct gateway_config, its default
 * and its bounds, in the order the loader (config.c) reads them; then each
 * group's rules that tie its keys together (a registrar leg needs auth, a
 * route names a peer or an address, ...). docs/configuration.md documents
 * these keys and gateway/config/default.conf shows them; keep the three
 * true together. */
#include "loader.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_PRIORITY \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:" \
	"+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:" \
	"+ECDHE-RSA:%SERVER_PRECEDENCE"

/* K_ENUM stores an int: the enums it fills must be int-sized. */
_Static_assert(sizeof(enum tls_verify) == sizeof(int), "K_ENUM stores an int");
_Static_assert(sizeof(enum media_mode) == sizeof(int), "K_ENUM stores an int");
_Static_assert(sizeof(enum media_source_rule) == sizeof(int), "K_ENUM stores an int");
_Static_assert(sizeof(enum identity_verify) == sizeof(int), "K_ENUM stores an int");

/* Word lists in the order of their enum's values. */
static const struct cfg_word verify_words[] = { { "none", TLS_VERIFY_NONE },
	{ "optional", TLS_VERIFY_OPTIONAL }, { "required", TLS_VERIFY_REQUIRED }, { NULL, 0 } };
static const struct cfg_word media_words[] = { { "rtp", MEDIA_MODE_RTP }, { "srtp", MEDIA_MODE_SRTP },
	{ "best-effort", MEDIA_MODE_BEST_EFFORT }, { NULL, 0 } };
/* Strict by default: a phone behind NAT needs the operator to say so,
 * since every looser rule lets more sources in. */
static const struct cfg_word source_words[] = { { "strict", MEDIA_SOURCE_RULE_STRICT },
	{ "signalling-ip", MEDIA_SOURCE_RULE_SIGNALLING_IP }, { "sdp", MEDIA_SOURCE_RULE_SDP },
	{ NULL, 0 } };
#define LEG_DIGEST 1
#define LEG_CERT 2
static const struct cfg_word leg_auth_words[] = { { "none", 0 }, { "digest", LEG_DIGEST },
	{ "certificate", LEG_CERT }, { "certificate-or-digest", LEG_CERT | LEG_DIGEST }, { NULL, 0 } };
static const struct cfg_word id_verify_words[] = { { "off", IDENTITY_VERIFY_OFF },
	{ "mark", IDENTITY_VERIFY_MARK }, { "reject", IDENTITY_VERIFY_REJECT }, { NULL, 0 } };
/* Attestation C for unauthenticated callers, or no signature at all. */
static const struct cfg_word id_unauth_words[] = { { "none", false }, { "c", true }, { NULL, 0 } };
static const struct cfg_word pai_words[] = { { "remove", false }, { "keep", true }, { NULL, 0 } };
static const struct cfg_word level_words[] = { { "error", 0 }, { "warning", 0 }, { "info", 0 },
	{ "debug", 0 }, { NULL, 0 } };
static const struct cfg_word media_io_words[] = { { "auto", CFG_MEDIA_IO_AUTO },
	{ "uring", CFG_MEDIA_IO_URING }, { "epoll", CFG_MEDIA_IO_EPOLL }, { NULL, 0 } };
static const struct cfg_word log_target_words[] = { { "stderr", 0 }, { "syslog", 0 }, { NULL, 0 } };
static const struct cfg_word facility_words[] = { { "daemon", 0 }, { "user", 0 }, { "local0", 0 },
	{ "local1", 0 }, { "local2", 0 }, { "local3", 0 }, { "local4", 0 }, { "local5", 0 },
	{ "local6", 0 }, { "local7", 0 }, { NULL, 0 } };

static cfg_key_check hold_priority_floor, check_user_name;
static cfg_key_reader read_suites, read_rtp_ports, read_leg_auth, read_algorithms;
static cfg_group_check check_tls, check_listener, check_peer, check_leg, check_route, check_limits,
	check_timers, check_auth, check_registrar, check_abuse, check_root;

#define T struct tls_config
static const struct cfg_key tls_keys[] = {
	STR("certificate", certificate, F_SERVER_REQUIRED | F_PATH, NULL),
	STR("key", key, F_SERVER_REQUIRED | F_PATH, NULL),
	STR("ca", ca, F_PATH, NULL),
	{ .name = "priority", .kind = K_STRING, FIELD(T, priority), .def_text = DEFAULT_PRIORITY,
	  .check = hold_priority_floor },
	BOOL("session_tickets", session_tickets, true),
	ENUM("verify_peer", verify_peer, verify_words, TLS_VERIFY_REQUIRED),
	LIST_OF("peer_names", K_NAMES, peer_names, n_peer_names),
};
#undef T
static const struct cfg_section tls_section = SECTION(tls_keys, check_tls);

#define T struct listener_config
static const struct cfg_key listener_keys[] = {
	STR("name", name, F_REQUIRED, NULL),
	STR("leg", leg, F_REQUIRED, NULL),
	TRANSPORT("transport", transport, F_REQUIRED),
	STR("address", address, F_REQUIRED, NULL),
	UINT("port", port, F_REQUIRED, 1, 65535, 0),
	UINT("max_connections", max_connections, 0, 1, 1000000, 0), /* 0: limits.max_connections */
	LATER("tls"),
};
#undef T

#define T struct peer_config
static const struct cfg_key peer_keys[] = {
	STR("name", name, F_REQUIRED, NULL),
	TRANSPORT("transport", transport, F_REQUIRED),
	STR("address", address, F_REQUIRED, NULL),
	UINT("port", port, F_REQUIRED, 1, 65535, 0),
	STR("sip_domain", sip_domain, 0, NULL), /* "": the address */
	UINT("keepalive_interval", keepalive_interval_s, 0, 0, 86400, 0),
	BOOL("identity_legacy", identity_legacy, false),
	STR("cluster_node", cluster_node, 0, NULL),
	LATER("tls"),
};
#undef T

#define T struct leg_config
static const struct cfg_key leg_keys[] = {
	STR("name", name, F_REQUIRED, NULL),
	ENUM("media", media, media_words, MEDIA_MODE_RTP),
	ENUM("media_source", media_source, source_words, MEDIA_SOURCE_RULE_STRICT),
	STR("rtp_address", rtp_address, F_REQUIRED, NULL),
	STR("advertise", advertise, 0, NULL), /* "": rtp_address */
	BOOL("registrar", registrar, false),
	BOOL("allow_unauthenticated_register", open_registrar, false),
	{ .name = "auth", .kind = K_READ, .read = read_leg_auth, .words = leg_auth_words },
	BOOL("require_tls", require_tls, false),
	BOOL("require_client_cert", require_client_cert, false),
	READ("crypto", read_suites),
	READ("rtp_ports", read_rtp_ports),
	BOOL("identity_sign", identity_sign, false),
	ENUM("identity_unauthenticated", identity_sign_unauthenticated, id_unauth_words, false),
	{ .name = "identity_origid", .kind = K_STRING, FIELD(T, identity_origid), .check = cfg_check_uuid },
	ENUM("identity_verify", identity_verify, id_verify_words, IDENTITY_VERIFY_OFF),
};
#undef T

#define T struct route_config
static const struct cfg_key route_keys[] = {
	STR("from_leg", from_leg, F_REQUIRED, NULL),
	STR("user", user, 0, NULL),
	STR("to_leg", to_leg, F_REQUIRED, NULL),
	STR("peer", peer, 0, NULL),
	BOOL("registered", registered, false),
	/* The static contact, read only when the route names neither a peer
	 * nor the registered contacts. */
	TRANSPORT("transport", transport, F_REQUIRED | F_LATER),
	STR("address", address, F_REQUIRED | F_LATER, NULL),
	UINT("port", port, F_REQUIRED | F_LATER, 1, 65535, 0),
};
#undef T

#define T struct limits_config
static const struct cfg_key limits_keys[] = {
	UINT("max_message_size", max_message_size, 0, 1024, 1048576, 65535),
	UINT("max_headers", max_headers, 0, 32, 4096, 256),
	UINT("max_vias", max_vias, 0, 8, 1024, 64),
	UINT("max_connections", max_connections, 0, 1, 1000000, 1024),
	UINT("max_connections_per_ip", max_connections_per_ip, 0, 1, 1000000, 64),
	UINT("max_outgoing_connections", max_outgoing_connections, 0, 1, 1000000, 256),
	UINT("first_message_timeout", first_message_timeout_s, 0, 1, 300, 5),
	UINT("peer_retry_min", peer_retry_min_s, 0, 1, 3600, 1),
	UINT("peer_retry_max", peer_retry_max_s, 0, 1, 3600, 30),
	UINT("idle_timeout", idle_timeout_s, 0, 1, 86400, 300),
	UINT("handshake_timeout", handshake_timeout_s, 0, 1, 300, 10),
	UINT("message_timeout", message_timeout_s, 0, 1, 300, 10),
	UINT("max_transactions", max_transactions, 0, 1, 10000000, 200000),
	UINT("max_calls", max_calls, 0, 0, 1000000, 0), /* 0: what rtp_ports hold (check_leg_ports) */
	UINT("media_timeout", media_timeout_s, 0, 0, 86400, 60),
	UINT("connection_grace", connection_grace_s, 0, 1, 3600, 10),
};
#undef T

#define T struct timers_config
static const struct cfg_key timers_keys[] = {
	UINT("t1", t1_ms, 0, 10, 60000, 500),
	UINT("t2", t2_ms, 0, 10, 600000, 4000),
	UINT("t4", t4_ms, 0, 10, 600000, 5000),
};
#undef T

#define T struct auth_config
static const struct cfg_key auth_keys[] = {
	STR("realm", realm, 0, NULL), /* "": the domain */
	STR("users", users, F_PATH, NULL),
	UINT("nonce_lifetime", nonce_lifetime_s, 0, 10, 86400, 300),
	UINT("max_users", max_users, 0, 1, 10000000, 100000),
	UINT("max_failures", max_failures, 0, 0, 1000, 5),
	UINT("lockout", lockout_s, 0, 1, 86400, 300),
	/* Absent: AUTH_USER_FAILURES_FACTOR times max_failures (check_auth). */
	UINT("user_max_failures", user_max_failures, 0, 0, 100000, 0),
	READ("algorithms", read_algorithms),
};
#undef T

#define T struct registrar_config
static const struct cfg_key registrar_keys[] = {
	STR("store", store, F_PATH, NULL), /* "": memory only */
	UINT("min_expires", min_expires_s, 0, 1, 86400, 60),
	UINT("max_expires", max_expires_s, 0, 1, 604800, 3600),
	UINT("default_expires", default_expires_s, 0, 1, 604800, 3600),
	UINT("max_users", max_users, 0, 1, 10000000, 100000),
	UINT("max_contacts", max_contacts, 0, 1, 32, 5),
};
#undef T

#define T struct abuse_config
static const struct cfg_key abuse_keys[] = {
	LIST_OF("allow", K_NETS, allow, n_allow),
	LIST_OF("deny", K_NETS, deny, n_deny),
	LIST_OF("exempt", K_NETS, exempt, n_exempt),
	UINT("request_rate", request_rate, 0, 0, 1000000, 0),
	UINT("request_burst", request_burst, 0, 0, 1000000, 0), /* 0: twice the rate */
	UINT("ban_after", ban_after, 0, 0, 1000, 0),
	UINT("ban_window", ban_window_s, 0, 1, 86400, 60),
	UINT("ban", ban_s, 0, 1, 604800, 300),
	UINT("max_sources", max_sources, 0, 16, 16000000, 65536),
	UINT("max_calls_in_setup", max_calls_in_setup, 0, 0, 10000000, 0),
	UINT("user_max_calls", user_max_calls, 0, 0, 1000000, 0),
	UINT("user_cps", user_cps, 0, 0, 1000000, 0),
	UINT("trunk_max_calls", trunk_max_calls, 0, 0, 10000000, 0),
	UINT("trunk_cps", trunk_cps, 0, 0, 1000000, 0),
	LIST_OF("block_user_agents", K_STRINGS, scanner_uas, n_scanner_uas), /* absent: built in */
};
#undef T

#define T struct identity_config
static const struct cfg_key identity_keys[] = {
	LIST_OF("trusted_networks", K_NETS, trusted_networks, n_trusted_networks),
	BOOL("assert_tel", assert_tel, false),
	BOOL("hide_subject", hide_subject, false),
	ENUM("pai_toward_untrusted", keep_pai_untrusted, pai_words, false),
	LIST_OF("trusted_names", K_NAMES, trusted_names, n_trusted_names),
};
#undef T

#define T struct records_config
static const struct cfg_key records_keys[] = {
	STR("file", file, F_PATH, NULL),
	STR("sqlite", sqlite, F_PATH, NULL),
	BOOL("keep_private", keep_private, false),
};
#undef T

/* Threads are made once at start: not reloadable (diff.c). Absent, the
 * gateway takes one per CPU it may run on (main.c). */
#define T struct media_config
static const struct cfg_key media_keys[] = {
	UINT("workers", workers, 0, 1, CFG_MAX_MEDIA_WORKERS, 0),
	ENUM("io", io, media_io_words, CFG_MEDIA_IO_AUTO),
};
#undef T

static const struct cfg_section listener_section = SECTION(listener_keys, check_listener,
	.empty_why = "at least one listener is needed");
static const struct cfg_section peer_section = SECTION(peer_keys, check_peer);
static const struct cfg_section leg_section = SECTION(leg_keys, check_leg);
static const struct cfg_section route_section = SECTION(route_keys, check_route);
static const struct cfg_section limits_section = SECTION(limits_keys, check_limits);
static const struct cfg_section timers_section = SECTION(timers_keys, check_timers);
static const struct cfg_section auth_section = SECTION(auth_keys, check_auth);
static const struct cfg_section registrar_section = SECTION(registrar_keys, check_registrar);
static const struct cfg_section abuse_section = SECTION(abuse_keys, check_abuse);
static const struct cfg_section identity_section = SECTION(identity_keys, NULL);
static const struct cfg_section records_section = SECTION(records_keys, NULL);
static const struct cfg_section media_section = SECTION(media_keys, NULL);

/* The top level, in the order it is read: legs before the routes that name
 * them, limits after the listeners that default to them (check_root). */
#define T struct gateway_config
#define GROUP(k, f, sec) { .name = k, .kind = K_GROUP, FIELD(T, f), .sub = &sec }
#define LIST(k, f, n, sec) { .name = k, .kind = K_LIST, ENTRIES(T, f, n), .sub = &sec }
static const struct cfg_key root_keys[] = {
	STR("domain", domain, 0, "localhost"),
	{ .name = "log_level", .kind = K_STRING, FIELD(T, log_level), .def_text = "info",
	  .words = level_words },
	{ .name = "log_target", .kind = K_STRING, FIELD(T, log_target), .def_text = "stderr",
	  .words = log_target_words },
	{ .name = "log_facility", .kind = K_STRING, FIELD(T, log_facility), .def_text = "daemon",
	  .words = facility_words },
	STR("log_syslog_socket", log_syslog_socket, F_PATH, "/dev/log"),
	{ .name = "user", .kind = K_STRING, FIELD(T, user), .check = check_user_name },
	LIST("listeners", listeners, n_listeners, listener_section),
	LIST("peers", peers, n_peers, peer_section),
	LIST("legs", legs, n_legs, leg_section),
	LIST("routes", routes, n_routes, route_section),
	GROUP("limits", limits, limits_section),
	GROUP("timers", timers, timers_section),
	GROUP("auth", auth, auth_section),
	GROUP("registrar", registrar, registrar_section),
	GROUP("abuse", abuse, abuse_section),
	GROUP("identity", identity, identity_section),
	GROUP("stir", stir, cfg_stir_section),     /* after the legs and peers its rules read */
	GROUP("http", http, cfg_http_section),
	GROUP("records", records, records_section),
	GROUP("control", control, cfg_control_section),
	GROUP("cluster", cluster, cfg_cluster_section),
	GROUP("media", media, media_section),
};
#undef T
const struct cfg_section cfg_root_section = SECTION(root_keys, check_root);

const char *tls_verify_name(enum tls_verify v) { return verify_words[v].text; }

/* TLS 1.2 is the floor whatever an operator's priority string says (GnuTLS's
 * NORMAL alone still enables TLS 1.0 and 1.1): the versions below it are
 * removed at its end, where a removal wins over anything before it. A
 * system keyword (@SYSTEM) takes no additions, so it must be written out. */
static int hold_priority_floor(struct cfg_loader *ld, const config_setting_t *s, char *priority,
			       size_t size)
{
	static const char floor[] = ":-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-DTLS-ALL";
	size_t len = strlen(priority);
	if (priority[0] == '@')
		return cfg_fail(ld, s, "a system priority keyword cannot be held to the TLS 1.2 floor; "
				       "write the priority string out");
	if (len == 0 || len + sizeof(floor) > size)
		return cfg_fail(ld, s, "must be a GnuTLS priority string of 1 to %zu characters",
				size - sizeof(floor));
	memcpy(priority + len, floor, sizeof(floor));
	return 0;
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

static int check_user_name(struct cfg_loader *ld, const config_setting_t *s, char *value, size_t size)
{
	if (!config_user_name_valid(value))
		return cfg_fail(ld, s, "must be a user name (letters, digits, '.', '_', '-'; not starting with '-')");
	return 0;
}

static int check_tls(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	const struct tls_config *tls = obj;
	if ((tls->certificate[0] == '\0') != (tls->key[0] == '\0'))
		return cfg_fail(ld, g, "certificate and key go together");
	if (tls->verify_peer != TLS_VERIFY_NONE && tls->ca[0] == '\0')
		return cfg_fail(ld, g, "verify_peer %s needs a \"ca\" bundle", tls_verify_name(tls->verify_peer));
	return 0;
}

/* The "tls" group of a listener (server) or peer (client): only for
 * transport tls, and then required. */
static int load_tls(struct cfg_loader *ld, const config_setting_t *owner, enum pc_transport transport,
		    struct tls_config *tls, bool server)
{
	const config_setting_t *g = cfg_member(owner, "tls");
	if (transport != PC_TP_TLS)
		return g ? cfg_fail(ld, g, "only a tls %s takes TLS settings", server ? "listener" : "peer") : 0;
	memset(tls, 0, sizeof(*tls));
	cfg_apply_defaults(&tls_section, tls);
	if (!g)
		return cfg_fail(ld, owner, "transport tls needs a \"tls\" group");
	if (!config_setting_is_group(g))
		return cfg_fail(ld, g, "must be a group { ... }");
	if (cfg_check_keys(ld, g, &tls_section) < 0 || cfg_read_keys(ld, g, &tls_section, tls, server, false) < 0)
		return -1;
	return check_tls(ld, g, tls, 0);
}

int cfg_read_tls(struct cfg_loader *ld, const config_setting_t *owner, struct tls_config *tls, bool server)
{
	return load_tls(ld, owner, PC_TP_TLS, tls, server);
}

static int check_listener(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	struct listener_config *l = obj;
	if (l->transport == PC_TP_UDP && cfg_member(g, "max_connections"))
		return cfg_fail(ld, cfg_member(g, "max_connections"), "a udp listener has no connections");
	if (load_tls(ld, g, l->transport, &l->tls, true) < 0)
		return -1;
	for (unsigned j = 0; j < index; j++) {
		const struct listener_config *o = &ld->cfg->listeners[j];
		if (!strcmp(o->name, l->name))
			return cfg_fail(ld, g, "duplicate listener name \"%s\"", l->name);
		if (o->port == l->port && !strcmp(o->address, l->address) &&
		    (o->transport == PC_TP_UDP) == (l->transport == PC_TP_UDP))
			return cfg_fail(ld, g, "%s %s:%u is already used by listener \"%s\"",
					pc_transport_name(l->transport), l->address, l->port, o->name);
	}
	return 0;
}

static int check_peer(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	struct peer_config *p = obj;
	if (p->cluster_node[0] && !config_user_name_valid(p->cluster_node))
		return cfg_fail(ld, cfg_member(g, "cluster_node"),
				"must be a node name (letters, digits, '.', '_', '-'; not starting with '-')");
	/* A node peer's requests may carry the internal route to a phone's
	 * flow, trusted by where they come from: a UDP source address can be
	 * forged blind, a TCP one cannot (and TLS proves the node). */
	if (p->cluster_node[0] && p->transport == PC_TP_UDP)
		return cfg_fail(ld, cfg_member(g, "cluster_node"),
				"a node peer must use transport \"tls\" (or \"tcp\" on a private link): over "
				"udp a forged source address would pass for the node");
	if (p->sip_domain[0] == '\0')
		memcpy(p->sip_domain, p->address, sizeof(p->sip_domain));
	if (load_tls(ld, g, p->transport, &p->tls, false) < 0)
		return -1;
	if (p->transport != PC_TP_TLS)
		return 0;
	if (p->tls.verify_peer != TLS_VERIFY_REQUIRED)
		return cfg_fail(ld, cfg_member(g, "tls"), "a TLS client must verify the server: verify_peer = \"required\"");
	if (p->tls.n_peer_names == 0) /* RFC 5922: the name we asked for */
		memcpy(p->tls.peer_names[p->tls.n_peer_names++], p->sip_domain, CFG_HOST_MAX);
	return 0;
}

static int read_suites(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_key *k, void *obj)
{
	struct leg_config *leg = obj;
	const config_setting_t *list = cfg_member(g, k->name);
	leg->n_suites = 0;
	if (!list) {
		/* AEAD first: cheapest per packet and strongest (docs/media.md). */
		static const enum pc_srtp_suite defaults[] = { PC_SRTP_AEAD_AES_256_GCM, PC_SRTP_AEAD_AES_128_GCM,
			PC_SRTP_AES_256_CM_HMAC_SHA1_80, PC_SRTP_AES_CM_128_HMAC_SHA1_80 };
		leg->n_suites = sizeof(defaults) / sizeof(defaults[0]);
		memcpy(leg->suites, defaults, sizeof(defaults));
		return 0;
	}
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return cfg_fail(ld, list, "must be a list of suite names [ \"AEAD_AES_256_GCM\", ... ]");
	int n = config_setting_length(list);
	if (n == 0 || n > PC_SRTP_SUITE__COUNT)
		return cfg_fail(ld, list, "between 1 and %d suites", PC_SRTP_SUITE__COUNT);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : "";
		enum pc_srtp_suite suite;
		if (pc_srtp_suite_from_name(v, strlen(v), &suite) < 0)
			return cfg_fail(ld, list, "unknown SRTP suite \"%s\"", v);
		for (unsigned j = 0; j < leg->n_suites; j++)
			if (leg->suites[j] == suite)
				return cfg_fail(ld, list, "suite \"%s\" listed twice", v);
		leg->suites[leg->n_suites++] = suite;
	}
	return 0;
}

static int read_rtp_ports(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_key *k, void *obj)
{
	struct leg_config *leg = obj;
	const config_setting_t *ports = cfg_member(g, k->name);
	if (!ports || config_setting_length(ports) != 2 ||
	    config_setting_type(config_setting_get_elem(ports, 0)) != CONFIG_TYPE_INT ||
	    config_setting_type(config_setting_get_elem(ports, 1)) != CONFIG_TYPE_INT)
		return cfg_fail(ld, ports ? ports : g, "rtp_ports must be [ first, last ]");
	int lo = config_setting_get_int_elem(ports, 0), hi = config_setting_get_int_elem(ports, 1);
	if (lo < 1024 || hi > 65535 || hi - lo < 3)
		return cfg_fail(ld, ports, "need 1024 <= first, last <= 65535 and room for two port pairs");
	leg->rtp_port_min = (unsigned)lo;
	leg->rtp_port_max = (unsigned)hi;
	return 0;
}

static int read_leg_auth(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_key *k, void *obj)
{
	struct leg_config *leg = obj;
	const config_setting_t *s = cfg_member(g, k->name);
	int how = 0;
	if (s && cfg_read_word(ld, s, k->words, &how) < 0)
		return -1;
	leg->digest_auth = how & LEG_DIGEST;
	leg->cert_auth = how & LEG_CERT;
	return 0;
}

static int check_leg(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	struct leg_config *leg = obj;
	/* A registration takes the user's calls: a registrar that believes
	 * any To is refused unless the operator says every device on the
	 * leg is trusted. */
	if (leg->registrar && !leg->digest_auth && !leg->cert_auth && !leg->open_registrar)
		return cfg_fail(ld, cfg_member(g, "registrar"),
				"a registrar leg needs auth (digest, certificate or "
				"certificate-or-digest): without it anyone registers any user and "
				"gets their calls; allow_unauthenticated_register = true accepts that");
	if (leg->open_registrar && (!leg->registrar || leg->digest_auth || leg->cert_auth))
		return cfg_fail(ld, cfg_member(g, "allow_unauthenticated_register"),
				"only for a registrar leg with auth = \"none\"");
	if (leg->require_client_cert)
		leg->require_tls = true;
	if (!leg->advertise[0])
		memcpy(leg->advertise, leg->rtp_address, sizeof(leg->advertise));
	for (unsigned j = 0; j < index; j++)
		if (!strcmp(ld->cfg->legs[j].name, leg->name))
			return cfg_fail(ld, g, "duplicate leg \"%s\"", leg->name);
	return 0;
}

static int check_route(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	struct route_config *r = obj;
	const struct gateway_config *cfg = ld->cfg;
	if (!config_leg(cfg, r->from_leg))
		return cfg_fail(ld, cfg_member(g, "from_leg"), "no leg \"%s\"", r->from_leg);
	if (!config_leg(cfg, r->to_leg))
		return cfg_fail(ld, cfg_member(g, "to_leg"), "no leg \"%s\"", r->to_leg);
	if (r->registered) {
		if (r->peer[0] || cfg_member(g, "address"))
			return cfg_fail(ld, g, "a route to registered contacts names no peer or address");
		if (!config_leg(cfg, r->to_leg)->registrar)
			return cfg_fail(ld, cfg_member(g, "to_leg"), "leg \"%s\" has no registrar (registrar = true)",
					r->to_leg);
	} else if (r->peer[0]) {
		if (!config_peer(cfg, r->peer))
			return cfg_fail(ld, cfg_member(g, "peer"), "no peer \"%s\"", r->peer);
		if (cfg_member(g, "address"))
			return cfg_fail(ld, g, "a route names either a peer or an address, not both");
	} else {
		if (cfg_read_keys(ld, g, &route_section, r, false, true) < 0)
			return -1;
		if (r->transport == PC_TP_TLS)
			return cfg_fail(ld, g, "TLS targets must be a configured peer (their name is verified)");
	}
	return 0;
}

static int check_limits(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	struct limits_config *l = obj;
	if (l->peer_retry_max_s < l->peer_retry_min_s) {
		const config_setting_t *max = cfg_member(g, "peer_retry_max");
		if (max)
			return cfg_fail(ld, max, "must be at least peer_retry_min (%u)", l->peer_retry_min_s);
		l->peer_retry_max_s = l->peer_retry_min_s;
	}
	return 0;
}

static int check_timers(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	const struct timers_config *t = obj;
	if (t->t2_ms < t->t1_ms)
		return cfg_fail(ld, cfg_member(g, "t2"), "must not be less than t1");
	return 0;
}

static int read_algorithms(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_key *k, void *obj)
{
	struct auth_config *a = obj;
	const config_setting_t *algs = cfg_member(g, k->name);
	if (!algs)
		return 0;
	int n = config_setting_is_array(algs) ? config_setting_length(algs) : -1;
	if (n < 1)
		return cfg_fail(ld, algs, "must be a list of \"SHA-256\" and/or \"MD5\"");
	a->md5 = a->sha256 = false;
	for (int i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(algs, (unsigned)i);
		if (v && !strcmp(v, "MD5"))
			a->md5 = true;
		else if (v && !strcmp(v, "SHA-256"))
			a->sha256 = true;
		else
			return cfg_fail(ld, algs, "unknown algorithm (SHA-256 or MD5)");
	}
	return 0;
}

static int check_auth(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	struct auth_config *a = obj;
	const struct gateway_config *cfg = ld->cfg;
	if (!cfg_member(g, "algorithms"))
		a->md5 = a->sha256 = true;
	/* User-wide: ten sources' worth unless said otherwise (docs/configuration.md). */
	if (!cfg_member(g, "user_max_failures"))
		a->user_max_failures = a->max_failures * AUTH_USER_FAILURES_FACTOR;
	if (!a->realm[0])
		snprintf(a->realm, sizeof(a->realm), "%s", cfg->domain);
	for (unsigned i = 0; i < cfg->n_legs; i++) {
		if ((cfg->legs[i].digest_auth || cfg->legs[i].cert_auth) && !a->users[0])
			return cfg_fail(ld, g ? g : config_lookup(ld->cf, "legs"),
					"leg \"%s\" authenticates users: auth.users must name the user store",
					cfg->legs[i].name);
	}
	return 0;
}

static int check_registrar(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	const struct registrar_config *r = obj;
	if (r->min_expires_s > r->max_expires_s || r->default_expires_s < r->min_expires_s ||
	    r->default_expires_s > r->max_expires_s)
		return cfg_fail(ld, g, "need min_expires <= default_expires <= max_expires");
	return 0;
}

static int check_abuse(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	struct abuse_config *a = obj;
	if (a->request_rate && !a->request_burst)
		a->request_burst = a->request_rate * 2;
	a->default_scanner_uas = !cfg_member(g, "block_user_agents");
	return 0;
}

/* Each call holds a relay port pair on each of its legs, and a pair it
 * released stays in quarantine (media.h) before another call gets it: a
 * leg's range must hold max_calls pairs plus those in quarantine. With
 * max_calls up and calls lasting 10 s or more on average, fewer than a
 * tenth of them end in any one second; shorter calls need more (sizing in
 * configuration.md). */
static unsigned pairs_needed(unsigned max_calls)
{
	return max_calls + (max_calls * CFG_PORT_HEADROOM_PCT + 99) / 100;
}

static unsigned leg_pairs(const struct leg_config *l)
{
	unsigned first = l->rtp_port_min + (l->rtp_port_min & 1u);
	return (l->rtp_port_max - first + 1) / 2;
}

/* max_calls = 0 becomes what every leg's range holds (at most
 * CFG_MAX_CALLS_AUTO); a max_calls set higher than a range holds is refused
 * here, naming the range, rather than found out by the 503s of a busy hour. */
static int check_leg_ports(struct cfg_loader *ld, struct gateway_config *cfg)
{
	unsigned *max_calls = &cfg->limits.max_calls;
	if (*max_calls == 0) {
		*max_calls = CFG_MAX_CALLS_AUTO;
		for (unsigned i = 0; i < cfg->n_legs; i++)
			while (pairs_needed(*max_calls) > leg_pairs(&cfg->legs[i]))
				(*max_calls)--;
		return 0;
	}
	const config_setting_t *legs = config_lookup(ld->cf, "legs");
	unsigned need = pairs_needed(*max_calls);
	for (unsigned i = 0; i < cfg->n_legs; i++) {
		const struct leg_config *l = &cfg->legs[i];
		unsigned pairs = leg_pairs(l);
		if (pairs >= need)
			continue;
		const config_setting_t *g = legs ? config_setting_get_elem(legs, i) : NULL;
		const config_setting_t *s = cfg_member(g, "rtp_ports");
		return cfg_fail(ld, s ? s : g,
				"leg \"%s\": %u-%u holds %u port pairs, but limits.max_calls = %u "
				"needs %u (a pair per call, plus %u %% in quarantine after calls "
				"end): widen rtp_ports to %u ports or lower max_calls",
				l->name, l->rtp_port_min, l->rtp_port_max, pairs, *max_calls, need,
				CFG_PORT_HEADROOM_PCT, 2 * need + (l->rtp_port_min & 1u));
	}
	return 0;
}

static int check_root(struct cfg_loader *ld, const config_setting_t *root, void *obj, unsigned index)
{
	struct gateway_config *cfg = obj;
	if (check_leg_ports(ld, cfg) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].transport != PC_TP_UDP && cfg->listeners[i].max_connections == 0)
			cfg->listeners[i].max_connections = cfg->limits.max_connections;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->n_legs && !config_leg(cfg, cfg->listeners[i].leg))
			return cfg_fail(ld, config_lookup(ld->cf, "listeners"),
					"listener \"%s\" names no defined leg \"%s\"", cfg->listeners[i].name,
					cfg->listeners[i].leg);
	return 0;
}
