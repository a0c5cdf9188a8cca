/* Configuration loading: the embedded default is valid and describes the
 * reference scenario; every kind of mistake is reported with file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"

static struct gateway_config cfg;
static char err[512];

static int load(const char *text)
{
	err[0] = '\0';
	return config_load_string(text, "test.conf", "/etc/pc", &cfg, err, sizeof(err));
}

static void embedded_default_is_the_reference_scenario(void **state)
{
	assert_int_equal(config_load(NULL, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_listeners, 3);
	assert_int_equal(cfg.listeners[0].transport, PC_TP_UDP);
	assert_int_equal(cfg.listeners[0].port, 5060);
	assert_int_equal(cfg.listeners[2].transport, PC_TP_TLS);
	assert_int_equal(cfg.listeners[2].port, 5061);
	assert_int_equal(cfg.listeners[2].tls.verify_peer, TLS_VERIFY_REQUIRED);
	assert_non_null(strstr(cfg.listeners[2].tls.priority, "-VERS-ALL"));
	assert_null(strstr(cfg.listeners[2].tls.priority, "TLS1.1"));
	assert_int_equal(cfg.n_peers, 1);
	assert_int_equal(cfg.peers[0].port, 5071);
	assert_string_equal(cfg.peers[0].tls.peer_names[0], "trunk.portcullis.test");
	assert_int_equal(cfg.timers.t1_ms, 500);
	/* The trunk side takes TLS only; the trunk is in the trust domain. */
	assert_true(config_leg(&cfg, "outside")->require_tls);
	assert_false(config_leg(&cfg, "inside")->require_tls);
	assert_string_equal(cfg.identity.trusted_names[0], "trunk.portcullis.test");
	assert_true(cfg.abuse.request_rate > 0);
}

#define LISTENER "listeners = ( { name = \"a\"; leg = \"inside\"; transport = \"udp\"; " \
		 "address = \"127.0.0.1\"; port = 5060; } );\n"

static void minimal_file_gets_defaults(void **state)
{
	assert_int_equal(load(LISTENER), 0);
	assert_int_equal(cfg.limits.max_message_size, 65535);
	assert_int_equal(cfg.limits.max_headers, 256);
	assert_int_equal(cfg.limits.max_vias, 64);
	assert_int_equal(cfg.timers.t2_ms, 4000);
}

static void header_caps_are_read_and_bounded(void **state)
{
	assert_int_equal(load(LISTENER "limits = { max_headers = 100; max_vias = 16; };\n"), 0);
	assert_int_equal(cfg.limits.max_headers, 100);
	assert_int_equal(cfg.limits.max_vias, 16);
	/* Below what RFC 4475's valid messages carry (43 headers, 34 Vias). */
	assert_int_equal(load(LISTENER "limits = {\n max_headers = 8; };\n"), -1);
	assert_non_null(strstr(err, ":3: max_headers: must be between"));
	assert_int_equal(load(LISTENER "limits = {\n max_vias = 100000; };\n"), -1);
	assert_non_null(strstr(err, ":3: max_vias: must be between"));
}

static void syntax_error_names_line(void **state)
{
	assert_int_equal(load(LISTENER "\n\ntimers = { t1 = ; };\n"), -1);
	assert_non_null(strstr(err, "test.conf:4:"));
}

static void unknown_key_names_line_and_key(void **state)
{
	assert_int_equal(load(LISTENER "limits = {\n  max_mesage_size = 100;\n};\n"), -1);
	assert_non_null(strstr(err, "test.conf:3: max_mesage_size: unknown key"));
}

static void out_of_range_value(void **state)
{
	assert_int_equal(load(LISTENER "timers = { t1 = 5; };\n"), -1);
	assert_non_null(strstr(err, ":2: t1: must be between"));
}

/* The user to drop to: empty by default (nobody when root, decided at
 * start), a name when given, and a name only. */
static void user_key(void **state)
{
	assert_int_equal(load(LISTENER), 0);
	assert_string_equal(cfg.user, "");
	assert_int_equal(load(LISTENER "user = \"sip-gw\";\n"), 0);
	assert_string_equal(cfg.user, "sip-gw");
	assert_int_equal(load(LISTENER "user = \"-x\";\n"), -1);
	assert_non_null(strstr(err, ":2: user: must be a user name"));
	assert_int_equal(load(LISTENER "user = \"a b\";\n"), -1);
	assert_non_null(strstr(err, ":2: user: must be a user name"));
	assert_int_equal(load(LISTENER "user = 5;\n"), -1);
	assert_non_null(strstr(err, ":2: user: must be a string"));
}

static void bad_transport(void **state)
{
	assert_int_equal(load("listeners = ( { name = \"a\"; leg = \"x\"; transport = \"sctp\";\n"
			      " address = \"::1\"; port = 1; } );\n"), -1);
	assert_non_null(strstr(err, "transport: must be udp, tcp or tls"));
}

static void tls_listener_needs_certificate(void **state)
{
	assert_int_equal(load("listeners = ( { name = \"t\"; leg = \"o\"; transport = \"tls\";\n"
			      " address = \"::1\"; port = 5061; tls = { ca = \"ca.crt\"; }; } );\n"), -1);
	assert_non_null(strstr(err, "missing required key \"certificate\""));
}

static void tls_paths_resolve_against_config_dir(void **state)
{
	assert_int_equal(load("listeners = ( { name = \"t\"; leg = \"o\"; transport = \"tls\";"
			      " address = \"::1\"; port = 5061; tls = { certificate = \"gw.crt\";"
			      " key = \"/abs/gw.key\"; ca = \"ca.crt\"; verify_peer = \"optional\"; }; } );\n"), 0);
	assert_string_equal(cfg.listeners[0].tls.certificate, "/etc/pc/gw.crt");
	assert_string_equal(cfg.listeners[0].tls.key, "/abs/gw.key");
	assert_int_equal(cfg.listeners[0].tls.verify_peer, TLS_VERIFY_OPTIONAL);
}

/* An operator's priority string is held to TLS 1.2: the older versions are
 * removed at its end; a system keyword, which takes no additions, is refused. */
static void tls_priority_floor(void **state)
{
#define PRIO_LISTENER(p) "listeners = ( { name = \"t\"; leg = \"o\"; transport = \"tls\";" \
	" address = \"::1\"; port = 5061;\n tls = { certificate = \"a\"; key = \"b\"; ca = \"c\";\n" \
	" priority = \"" p "\"; }; } );\n"
	assert_int_equal(load(PRIO_LISTENER("NORMAL:+VERS-TLS1.0")), 0);
	assert_string_equal(cfg.listeners[0].tls.priority,
			    "NORMAL:+VERS-TLS1.0:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-DTLS-ALL");
	assert_int_equal(load(PRIO_LISTENER("@SYSTEM")), -1);
	assert_non_null(strstr(err, ":3: priority: a system priority keyword cannot be held"));
	assert_int_equal(load(PRIO_LISTENER("")), -1);
	assert_non_null(strstr(err, ":3: priority: must be a GnuTLS priority string"));
#undef PRIO_LISTENER
}

static void wildcard_peer_name_refused(void **state)
{
	assert_int_equal(load("listeners = ( { name = \"t\"; leg = \"o\"; transport = \"tls\";"
			      " address = \"::1\"; port = 5061; tls = { certificate = \"a\"; key = \"b\";"
			      " ca = \"c\"; peer_names = [ \"*.example.com\" ]; }; } );\n"), -1);
	assert_non_null(strstr(err, "no wildcards"));
}

static void tls_client_must_verify(void **state)
{
	assert_int_equal(load(LISTENER "peers = ( { name = \"p\"; transport = \"tls\"; address = \"127.0.0.1\";"
			      " port = 5071; tls = { ca = \"c\"; verify_peer = \"none\"; }; } );\n"), -1);
	assert_non_null(strstr(err, "must verify the server"));
}

static void duplicate_listener_address(void **state)
{
	assert_int_equal(load("listeners = (\n { name = \"a\"; leg = \"x\"; transport = \"tcp\"; address = \"127.0.0.1\"; port = 1; },\n"
			      " { name = \"b\"; leg = \"x\"; transport = \"tls\"; address = \"127.0.0.1\"; port = 1;"
			      " tls = { certificate = \"a\"; key = \"b\"; ca = \"c\"; }; } );\n"), -1);
	assert_non_null(strstr(err, "test.conf:3:"));
	assert_non_null(strstr(err, "already used"));
}

static void default_has_legs_and_routes(void **state)
{
	assert_int_equal(config_load(NULL, &cfg, err, sizeof(err)), 0);
	const struct leg_config *out = config_leg(&cfg, "outside");
	assert_non_null(out);
	assert_int_equal(out->media, MEDIA_MODE_SRTP);
	assert_int_equal(out->suites[0], PC_SRTP_AEAD_AES_256_GCM);
	assert_int_equal(out->rtp_port_min, 30000);
	assert_int_equal(cfg.n_routes, 2);
	assert_string_equal(cfg.routes[0].peer, "trunk");
	assert_int_equal(cfg.routes[1].port, 5090);
	assert_int_equal(cfg.limits.media_timeout_s, 60);
}

#define LEGS "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 20000, 20099 ]; } );\n"

static void unknown_suite_is_named(void **state)
{
	assert_int_equal(load(LISTENER "legs = ( { name = \"inside\"; media = \"srtp\"; rtp_address = \"::1\";\n"
			      " rtp_ports = [ 20000, 20099 ]; crypto = [ \"AES_CM_128_NULL\" ]; } );\n"), -1);
	assert_non_null(strstr(err, "test.conf:3: crypto: unknown SRTP suite \"AES_CM_128_NULL\""));
}

static void route_to_unknown_leg(void **state)
{
	assert_int_equal(load(LISTENER LEGS "routes = ( { from_leg = \"inside\"; to_leg = \"nowhere\";\n"
			      " transport = \"udp\"; address = \"127.0.0.1\"; port = 5090; } );\n"), -1);
	assert_non_null(strstr(err, "to_leg: no leg \"nowhere\""));
}

static void route_to_tls_address_refused(void **state)
{
	assert_int_equal(load(LISTENER LEGS "routes = ( { from_leg = \"inside\"; to_leg = \"inside\";"
			      " transport = \"tls\"; address = \"127.0.0.1\"; port = 5071; } );\n"), -1);
	assert_non_null(strstr(err, "must be a configured peer"));
}

static void missing_file(void **state)
{
	assert_int_equal(config_load("/nonexistent/portcullis.conf", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/portcullis.conf: cannot read file"));
}

#define RLEGS "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 20000, 20099 ];\n" \
	     "  registrar = true; auth = \"digest\"; },\n" \
	     "  { name = \"outside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 30000, 30099 ]; } );\n"

static void registrar_and_digest(void **state)
{
	assert_int_equal(load(LISTENER RLEGS "auth = { users = \"users.txt\"; algorithms = [ \"MD5\" ]; };\n"
			      "registrar = { store = \"reg.db\"; max_contacts = 3; };\n"
			      "routes = ( { from_leg = \"outside\"; to_leg = \"inside\"; registered = true; } );\n"),
			 0);
	assert_true(cfg.legs[0].registrar);
	assert_true(cfg.legs[0].digest_auth);
	assert_false(cfg.legs[1].registrar);
	assert_string_equal(cfg.auth.users, "/etc/pc/users.txt");
	assert_string_equal(cfg.auth.realm, "localhost"); /* the domain */
	assert_true(cfg.auth.md5);
	assert_false(cfg.auth.sha256);
	assert_string_equal(cfg.registrar.store, "/etc/pc/reg.db");
	assert_int_equal(cfg.registrar.max_contacts, 3);
	assert_int_equal(cfg.registrar.min_expires_s, 60);
	assert_true(cfg.routes[0].registered);
	assert_int_equal(cfg.auth.max_failures, 5);
	assert_int_equal(cfg.auth.user_max_failures, 50); /* ten sources' worth */
	assert_int_equal(cfg.auth.lockout_s, 300);
	assert_int_equal(load(LISTENER RLEGS "auth = { users = \"u\"; max_failures = 3;\n"
			      " user_max_failures = 7; };\n"), 0);
	assert_int_equal(cfg.auth.max_failures, 3);
	assert_int_equal(cfg.auth.user_max_failures, 7);
	assert_int_equal(load(LISTENER RLEGS "auth = { users = \"u\"; max_failures = 4; };\n"), 0);
	assert_int_equal(cfg.auth.user_max_failures, 40);
}

static void digest_without_users_refused(void **state)
{
	assert_int_equal(load(LISTENER RLEGS), -1);
	assert_non_null(strstr(err, "auth.users must name the user store"));
	assert_int_equal(load(LISTENER RLEGS "auth = { users = \"u\";\n algorithms = [ \"SHA-1\" ]; };\n"), -1);
	assert_non_null(strstr(err, ":6: algorithms: unknown algorithm"));
}

static void abuse_and_identity_groups(void **state)
{
	assert_int_equal(load(LISTENER RLEGS "auth = { users = \"u\"; };\n"
			      "abuse = { deny = [ \"10.0.0.0/8\",\n \"192.0.2.7\" ]; request_rate = 20;\n"
			      "  ban_after = 3; user_max_calls = 4; block_user_agents = [ \"evil\" ]; };\n"
			      "identity = { trusted_names = [ \"trunk.example\" ]; assert_tel = true;\n"
			      "  pai_toward_untrusted = \"keep\"; trusted_networks = [ \"2001:db8::/32\" ]; };\n"),
			 0);
	assert_int_equal(cfg.abuse.n_deny, 2);
	assert_string_equal(cfg.abuse.deny[1].text, "192.0.2.7");
	assert_int_equal(cfg.abuse.deny[0].line, 6); /* for errors found when it is parsed */
	assert_int_equal(cfg.abuse.deny[1].line, 7);
	assert_int_equal(cfg.abuse.request_rate, 20);
	assert_int_equal(cfg.abuse.request_burst, 40); /* twice the rate unless set */
	assert_int_equal(cfg.abuse.ban_after, 3);
	assert_int_equal(cfg.abuse.ban_s, 300);
	assert_int_equal(cfg.abuse.user_max_calls, 4);
	assert_false(cfg.abuse.default_scanner_uas);
	assert_int_equal(cfg.abuse.n_scanner_uas, 1);
	assert_string_equal(cfg.abuse.scanner_uas[0], "evil");
	assert_int_equal(cfg.identity.n_trusted_names, 1);
	assert_true(cfg.identity.assert_tel);
	assert_true(cfg.identity.keep_pai_untrusted);
	assert_string_equal(cfg.identity.trusted_networks[0].text, "2001:db8::/32");

	/* Without the groups: nothing limited, the built-in scanner list. */
	assert_int_equal(load(LISTENER), 0);
	assert_int_equal(cfg.abuse.request_rate, 0);
	assert_true(cfg.abuse.default_scanner_uas);
	assert_false(cfg.identity.keep_pai_untrusted);
}

static void abuse_and_identity_mistakes(void **state)
{
	assert_int_equal(load(LISTENER "abuse = {\n deny = [ 10 ]; };\n"), -1);
	assert_non_null(strstr(err, "test.conf:3: deny: entry 1 must be a network"));
	assert_int_equal(load(LISTENER "abuse = { request_rte = 5; };\n"), -1);
	assert_non_null(strstr(err, "request_rte"));
	assert_int_equal(load(LISTENER "identity = {\n pai_toward_untrusted = \"sometimes\"; };\n"), -1);
	assert_non_null(strstr(err, "test.conf:3: pai_toward_untrusted: must be remove or keep"));
	assert_int_equal(load(LISTENER "identity = { trusted_names = [ \"*.example\" ]; };\n"), -1);
	assert_non_null(strstr(err, "no wildcards"));
}

static void leg_auth_and_transport_requirements(void **state)
{
	assert_int_equal(load(LISTENER "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\";\n"
			      "  rtp_ports = [ 20000, 20099 ]; auth = \"certificate\"; require_client_cert = true; },\n"
			      "  { name = \"outside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 30000, 30099 ];\n"
			      "  auth = \"certificate-or-digest\"; } );\n"
			      "auth = { users = \"u\"; };\n"),
			 0);
	assert_true(cfg.legs[0].cert_auth);
	assert_false(cfg.legs[0].digest_auth);
	assert_true(cfg.legs[0].require_client_cert);
	assert_true(cfg.legs[0].require_tls); /* a client certificate implies TLS */
	assert_true(cfg.legs[1].cert_auth);
	assert_true(cfg.legs[1].digest_auth);
	assert_false(cfg.legs[1].require_tls);
	/* Certificate authentication maps to users of the store: it needs one. */
	assert_int_equal(load(LISTENER "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\";\n"
			      "  rtp_ports = [ 20000, 20099 ]; auth = \"certificate\"; } );\n"),
			 -1);
	assert_non_null(strstr(err, "auth.users must name the user store"));
	assert_int_equal(load(LISTENER "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\";\n"
			      "  rtp_ports = [ 20000, 20099 ]; auth = \"tls\"; } );\n"),
			 -1);
	assert_non_null(strstr(err, "must be none, digest, certificate or certificate-or-digest"));
}

/* A plain leg's media source rule: strict unless the operator loosens it
 * for phones behind NAT; anything else is an error on its line. */
static void leg_media_source(void **state)
{
	assert_int_equal(load(LISTENER LEGS), 0);
	assert_int_equal(cfg.legs[0].media_source, MEDIA_SOURCE_RULE_STRICT);
	assert_int_equal(load(LISTENER "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\";\n"
			      "  rtp_ports = [ 20000, 20099 ]; media_source = \"signalling-ip\"; },\n"
			      "  { name = \"outside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 30000, 30099 ];\n"
			      "  media_source = \"sdp\"; } );\n"),
			 0);
	assert_int_equal(cfg.legs[0].media_source, MEDIA_SOURCE_RULE_SIGNALLING_IP);
	assert_int_equal(cfg.legs[1].media_source, MEDIA_SOURCE_RULE_SDP);
	assert_int_equal(load(LISTENER "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\";\n"
			      "  rtp_ports = [ 20000, 20099 ]; media_source = \"any\"; } );\n"),
			 -1);
	assert_non_null(strstr(err, "test.conf:3: media_source: must be strict, signalling-ip or sdp"));
	assert_int_equal(config_load(NULL, &cfg, err, sizeof(err)), 0);
	for (unsigned i = 0; i < cfg.n_legs; i++)
		assert_int_equal(cfg.legs[i].media_source, MEDIA_SOURCE_RULE_STRICT);
}

/* A registrar that believes any To hands every user's calls to whoever
 * asks: refused with file:line unless explicitly allowed. */
static void registrar_without_auth_refused(void **state)
{
#define OPEN_LEG(extra) "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\";\n" \
			"  rtp_ports = [ 20000, 20099 ];\n  registrar = true; " extra " } );\n"
	assert_int_equal(load(LISTENER OPEN_LEG("")), -1);
	assert_non_null(strstr(err, ":4: registrar: a registrar leg needs auth"));
	assert_int_equal(load(LISTENER OPEN_LEG("allow_unauthenticated_register = true;")), 0);
	assert_true(cfg.legs[0].registrar);
	assert_true(cfg.legs[0].open_registrar);
	assert_int_equal(load(LISTENER RLEGS "auth = { users = \"u\"; };\n"), 0);
	assert_false(cfg.legs[0].open_registrar);
	/* Only where it means something: not beside an authentication. */
	assert_int_equal(load(LISTENER OPEN_LEG("auth = \"digest\"; allow_unauthenticated_register = true;")
			      "auth = { users = \"u\"; };\n"), -1);
	assert_non_null(strstr(err, "allow_unauthenticated_register: only for a registrar leg"));
#undef OPEN_LEG
}

static void registered_route_needs_registrar(void **state)
{
	assert_int_equal(load(LISTENER RLEGS "auth = { users = \"u\"; };\n"
			      "routes = ( { from_leg = \"inside\"; to_leg = \"outside\";\n registered = true; } );\n"),
			 -1);
	assert_non_null(strstr(err, "has no registrar"));
	assert_int_equal(load(LISTENER RLEGS "auth = { users = \"u\"; };\n"
			      "registrar = { min_expires = 600; default_expires = 60; };\n"),
			 -1);
	assert_non_null(strstr(err, "min_expires <= default_expires <= max_expires"));
}

/* Connection budgets (issue 8): each stream listener has its own, by default
 * limits.max_connections; outgoing connections another; and the gateway
 * needs a descriptor for every connection and relay port they allow. */
static void connection_budgets(void **state)
{
	assert_int_equal(load("listeners = (\n"
			      "  { name = \"u\"; leg = \"in\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5060; },\n"
			      "  { name = \"t\"; leg = \"in\"; transport = \"tcp\"; address = \"127.0.0.1\"; port = 5060; },\n"
			      "  { name = \"t2\"; leg = \"in\"; transport = \"tcp\"; address = \"127.0.0.1\"; port = 5070;\n"
			      "    max_connections = 10; } );\n"
			      "limits = { max_connections = 100; max_outgoing_connections = 50;\n"
			      "  first_message_timeout = 3; peer_retry_min = 2; peer_retry_max = 16; };\n"), 0);
	assert_int_equal(cfg.listeners[0].max_connections, 0);
	assert_int_equal(cfg.listeners[1].max_connections, 100);
	assert_int_equal(cfg.listeners[2].max_connections, 10);
	assert_int_equal(cfg.limits.max_outgoing_connections, 50);
	assert_int_equal(cfg.limits.first_message_timeout_s, 3);
	assert_int_equal(cfg.limits.peer_retry_min_s, 2);
	assert_int_equal(cfg.limits.peer_retry_max_s, 16);
	/* 64 reserve, 50 outgoing, 3 listeners with 64 each beside 110
	 * connections, 4 for each media worker (as many as 64 when not set). */
	struct cfg_fd_need need;
	config_fd_need(&cfg, &need);
	assert_int_equal(need.connections, 64 + 50 + 3 * 65 + 110 + 4 * 64);
	assert_int_equal(need.relay, 0);
	assert_int_equal(need.calls, 0); /* no legs: no relay sockets */

	assert_int_equal(load(LISTENER "limits = { peer_retry_min = 10; peer_retry_max = 5; };\n"), -1);
	assert_non_null(strstr(err, "peer_retry_max"));
	assert_int_equal(load(LISTENER "limits = { peer_retry_min = 60; };\n"), 0);
	assert_int_equal(cfg.limits.peer_retry_max_s, 60);
	assert_int_equal(load(LISTENER "limits = { first_message_timeout = 0; };\n"), -1);
	assert_int_equal(load("listeners = ( { name = \"a\"; leg = \"in\"; transport = \"udp\"; "
			      "address = \"127.0.0.1\"; port = 5060; max_connections = 5; } );\n"), -1);
	assert_non_null(strstr(err, "max_connections"));

	/* The embedded default: relay ports of both legs are counted. */
	assert_int_equal(config_load(NULL, &cfg, err, sizeof(err)), 0);
	config_fd_need(&cfg, &need);
	assert_true(need.connections > 2 * 1024 + 256);
	assert_int_equal(need.relay, 18000);
	assert_int_equal(need.calls, 4 * 4000);
	assert_int_equal(cfg.limits.first_message_timeout_s, 5);
}

/* Relay ranges against max_calls: every leg's range must hold max_calls
 * pairs plus 10 % for the quarantine, or the file is refused at the range's
 * line, with the numbers; unset, max_calls is what the ranges hold. */
static void relay_ranges_hold_max_calls(void **state)
{
	/* The embedded default is consistent: 4,500 pairs a leg, 4,000 calls. */
	assert_int_equal(config_load(NULL, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.limits.max_calls, 4000);

	/* 50 pairs, 10,000 calls (the old default): refused, naming the line. */
	assert_int_equal(load(LISTENER LEGS "limits = { max_calls = 10000; };\n"), -1);
	assert_non_null(strstr(err, "test.conf:2: rtp_ports: leg \"inside\": 20000-20099 holds 50 "
				    "port pairs, but limits.max_calls = 10000 needs 11000"));
	assert_non_null(strstr(err, "widen rtp_ports to 22000 ports or lower max_calls"));

	/* The second leg is checked too; the boundary: 45 calls need 50 pairs,
	 * 46 need 51. An odd first port loses a port to the pairing. */
	const char *two = LISTENER "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\";\n"
			  "  rtp_ports = [ 20000, 20999 ]; },\n"
			  "  { name = \"outside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 30001, 30101 ]; } );\n"
			  "limits = { max_calls = %u; };\n";
	char text[1024];
	snprintf(text, sizeof(text), two, 45u);
	assert_int_equal(load(text), 0);
	assert_int_equal(cfg.limits.max_calls, 45);
	snprintf(text, sizeof(text), two, 46u);
	assert_int_equal(load(text), -1);
	assert_non_null(strstr(err, "test.conf:4: rtp_ports: leg \"outside\": 30001-30101 holds 50 "
				    "port pairs, but limits.max_calls = 46 needs 51"));
	assert_non_null(strstr(err, "to 103 ports"));

	/* Unset (or 0): the most the smallest range holds, at most 10,000. */
	assert_int_equal(load(LISTENER LEGS), 0);
	assert_int_equal(cfg.limits.max_calls, 45);
	assert_int_equal(load(LISTENER LEGS "limits = { max_calls = 0; };\n"), 0);
	assert_int_equal(cfg.limits.max_calls, 45);
	assert_int_equal(load(LISTENER), 0);
	assert_int_equal(cfg.limits.max_calls, 10000);
	assert_int_equal(load(LISTENER "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\";"
			      " rtp_ports = [ 1024, 65535 ]; } );\n"), 0);
	assert_int_equal(cfg.limits.max_calls, 10000);
}

/* --- STIR (RFC 8224 Identity) ------------------------------------------- */

static void default_signs_to_the_trunk_and_marks_its_calls(void **state)
{
	assert_int_equal(config_load(NULL, &cfg, err, sizeof(err)), 0);
	const struct leg_config *out = config_leg(&cfg, "outside"), *in = config_leg(&cfg, "inside");
	assert_true(out->identity_sign);
	assert_int_equal(out->identity_verify, IDENTITY_VERIFY_MARK);
	assert_false(in->identity_sign);
	assert_false(in->identity_sign_unauthenticated);
	assert_int_equal(in->identity_verify, IDENTITY_VERIFY_OFF);
	assert_int_equal(strlen(in->identity_origid), 36);
	assert_int_equal(strlen(out->identity_origid), 36);
	assert_string_not_equal(in->identity_origid, out->identity_origid);
	assert_false(cfg.peers[0].identity_legacy);
	/* Relative names resolve against the development PKI directory. */
	assert_true(cfg.stir.certificate[0] == '/' && strstr(cfg.stir.certificate, "/sti.crt"));
	assert_true(cfg.stir.key[0] == '/' && strstr(cfg.stir.key, "/sti.key"));
	assert_true(cfg.stir.trust[0] == '/' && strstr(cfg.stir.trust, "/sti-ca.crt"));
	assert_string_equal(cfg.stir.x5u, "http://127.0.0.1:8080/sti.pem");
	assert_int_equal(cfg.stir.n_fetch_http_hosts, 2);
	assert_string_equal(cfg.stir.fetch_http_hosts[0], "127.0.0.1:8080");
	assert_string_equal(cfg.stir.fetch_http_hosts[1], "127.0.0.1:8081");
	assert_int_equal(cfg.stir.n_fetch_allow_networks, 1);
	assert_string_equal(cfg.stir.fetch_allow_networks[0].text, "127.0.0.1/32");
	assert_true(cfg.stir.fetch_allow_networks[0].line > 0);
	assert_string_equal(cfg.http.address, "127.0.0.1");
	assert_int_equal(cfg.http.port, 8080);
	assert_int_equal(cfg.http.n_allow, 0); /* /metrics and /health: loopback */
	assert_false(cfg.stir.legacy_sha1);
	assert_true(config_stir_signs(&cfg) && config_stir_verifies(&cfg) && !config_stir_legacy(&cfg));
}

/* Cluster mode: off without the group, and each mistake named at its line. */
static void cluster_keys(void **state)
{
	(void)state;
	assert_int_equal(load(LISTENER LEGS), 0);
	assert_string_equal(cfg.cluster.redis, "");
	assert_int_equal(load(LISTENER LEGS "cluster = { redis = \"127.0.0.1:6380\"; node = \"a\"; };\n"), 0);
	assert_string_equal(cfg.cluster.host, "127.0.0.1");
	assert_int_equal(cfg.cluster.port, 6380);
	assert_int_equal(cfg.cluster.command_timeout_ms, 250);
	assert_int_equal(load(LISTENER LEGS "cluster = { redis = \"[::1]:7\"; node = \"b\"; key_file = \"k\"; };\n"), 0);
	assert_string_equal(cfg.cluster.host, "::1");
	assert_string_equal(cfg.cluster.key_file, "/etc/pc/k");
	assert_string_equal(cfg.cluster.password_file, "");
	assert_int_equal(load(LISTENER LEGS "cluster = { redis = \"r:1\"; node = \"b\"; user = \"gw\"; password_file = \"p\"; };\n"), 0);
	assert_string_equal(cfg.cluster.user, "gw");
	assert_string_equal(cfg.cluster.password_file, "/etc/pc/p");
	assert_int_equal(load(LISTENER LEGS "cluster = { redis = \"unix:/run/r.sock\"; node = \"b\"; };\n"), 0);
	assert_string_equal(cfg.cluster.unix_path, "/run/r.sock");
	assert_string_equal(cfg.cluster.host, "");
	static const struct { const char *text, *want; } cases[] = {
		{ "cluster = {\n node = \"a\"; };\n", "test.conf:3: cluster: cluster needs redis" },
		{ "cluster = {\n redis = \"r:1\"; };\n", "test.conf:3: cluster: cluster needs node" },
		{ "cluster = { node = \"a\";\n redis = \"r\"; };\n", "test.conf:4: redis: must be \"host:port\"" },
		{ "cluster = { node = \"a\";\n redis = \"r:0\"; };\n", "test.conf:4: redis: the port must be 1-65535" },
		{ "cluster = { node = \"a\";\n redis = \"r:6379x\"; };\n", "test.conf:4: redis: the port" },
		{ "cluster = { node = \"a\";\n redis = \"::1:5\"; };\n", "test.conf:4: redis: must be" },
		{ "cluster = { node = \"a\";\n redis = \"a@b:5\"; };\n", "test.conf:4: redis: the host part" },
		{ "cluster = { node = \"a\";\n redis = \"unix:r.sock\"; };\n", "test.conf:4: redis: a Unix socket path must be absolute" },
		{ "cluster = { redis = \"r:1\";\n node = \"a b\"; };\n", "test.conf:4: node: must be a name" },
		{ "cluster = { redis = \"r:1\"; node = \"a\";\n user = \"x y\"; password_file = \"p\"; };\n", "test.conf:4: user: must be a name" },
		{ "cluster = { redis = \"r:1\"; node = \"a\";\n user = \"gw\"; };\n", "test.conf:4: user: a Redis user needs password_file" },
		{ "cluster = { redis = \"r:1\";\n node = \"a\"; command_timeout = 1; };\n", "test.conf:4: command_timeout: must be between" },
		{ "cluster = { redis = \"r:1\";\n node = \"a\"; nodes = 1; };\n", "test.conf:4: nodes" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[1024];
		snprintf(text, sizeof text, "%s%s%s", LISTENER, LEGS, cases[i].text);
		assert_int_equal(load(text), -1);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
	}
}

/* media.workers: absent is 0 (one per CPU, resolved at start), 1..64, a
 * mistake named at its line; a reload cannot change it (diff.c). */
static void media_keys(void **state)
{
	(void)state;
	assert_int_equal(load(LISTENER LEGS), 0);
	assert_int_equal(cfg.media.workers, 0);
	assert_int_equal(load(LISTENER LEGS "media = { workers = 2; };\n"), 0);
	assert_int_equal(cfg.media.workers, 2);
	struct cfg_fd_need need;
	config_fd_need(&cfg, &need);
	unsigned two = need.connections;
	assert_int_equal(load(LISTENER LEGS "media = { workers = 64; };\n"), 0);
	config_fd_need(&cfg, &need);
	assert_int_equal(need.connections, two + 4 * 62);
	static const struct { const char *text, *want; } cases[] = {
		{ "media = {\n workers = 0; };\n", "test.conf:4: workers: must be between 1 and 64" },
		{ "media = {\n workers = 65; };\n", "test.conf:4: workers: must be between 1 and 64" },
		{ "media = {\n workers = -1; };\n", "test.conf:4: workers" },
		{ "media = {\n workers = \"2\"; };\n", "test.conf:4: workers" },
		{ "media = {\n threads = 2; };\n", "test.conf:4: threads" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[1024];
		snprintf(text, sizeof text, "%s%s%s", LISTENER, LEGS, cases[i].text);
		assert_int_equal(load(text), -1);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
	}
}

static void stir_defaults(void **state)
{
	assert_int_equal(load(LISTENER LEGS), 0);
	const struct stir_config *st = &cfg.stir;
	assert_string_equal(st->country_code, "1");
	assert_int_equal(st->max_age_s, 60);
	assert_int_equal(st->cache_entries, 1000);
	assert_int_equal(st->cache_max_age_s, 86400);
	assert_int_equal(st->fetch_timeout_ms, 2000);
	assert_int_equal(st->connect_timeout_ms, 1000);
	assert_int_equal(st->max_cert_size, 65536);
	assert_int_equal(st->max_fetches, 32);
	assert_int_equal(st->n_fetch_http_hosts, 0); /* https only */
	assert_int_equal(st->n_fetch_allow_networks, 0);
	assert_false(st->legacy_sha1);
	assert_string_equal(st->key, "");
	assert_int_equal(cfg.http.port, 0); /* no HTTP listener */
	assert_false(cfg.legs[0].identity_sign);
	assert_false(cfg.legs[0].identity_sign_unauthenticated);
	assert_int_equal(cfg.legs[0].identity_verify, IDENTITY_VERIFY_OFF);
	assert_string_equal(cfg.legs[0].identity_origid, "");
	assert_false(config_stir_signs(&cfg) || config_stir_verifies(&cfg) || config_stir_legacy(&cfg));
}

#define ORIGID "identity_origid = \"123e4567-e89b-12d3-a456-426614174000\";"
#define SLEGS(in, out) "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 20000, 20099 ];\n" \
	in " },\n  { name = \"outside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 30000, 30099 ];\n" out " } );\n"
#define SROUTES "routes = ( { from_leg = \"inside\"; to_leg = \"outside\"; transport = \"udp\";" \
	" address = \"127.0.0.1\"; port = 5070; } );\n"
#define SIGNER "stir = {\n certificate = \"sti.crt\"; key = \"sti.key\"; x5u = \"https://sti.example.com/sti.pem\";" \
	" trust = \"sti-ca.crt\";\n"

static void stir_signing_leg_loads(void **state)
{
	assert_int_equal(load(LISTENER SLEGS(ORIGID " identity_unauthenticated = \"c\";",
					     "identity_sign = true; identity_verify = \"reject\";")
			      SROUTES SIGNER " fetch_http_hosts = [ \"certs.example.com\" ];\n"
			      " fetch_allow_networks = [ \"10.0.0.0/8\", \"fd00::/8\" ]; max_cert_size = 32768;\n"
			      " country_code = \"44\"; crl = \"/var/sti.crl\"; };\n"
			      "http = { address = \"::1\"; port = 8443;\n"
			      " allow = [ \"192.0.2.0/24\", \"2001:db8::1\" ]; };\n"), 0);
	assert_string_equal(cfg.stir.certificate, "/etc/pc/sti.crt");
	assert_string_equal(cfg.stir.key, "/etc/pc/sti.key");
	assert_string_equal(cfg.stir.crl, "/var/sti.crl");
	assert_string_equal(cfg.stir.country_code, "44");
	assert_int_equal(cfg.stir.max_cert_size, 32768);
	assert_int_equal(cfg.stir.n_fetch_allow_networks, 2);
	assert_int_equal(cfg.stir.fetch_allow_networks[1].line, 10);
	assert_true(cfg.legs[0].identity_sign_unauthenticated);
	assert_int_equal(cfg.legs[1].identity_verify, IDENTITY_VERIFY_REJECT);
	assert_int_equal(cfg.http.port, 8443);
	assert_int_equal(cfg.http.n_allow, 2);
	assert_string_equal(cfg.http.tls.certificate, ""); /* no tls group: plain HTTP */
	assert_string_equal(cfg.http.allow[1].text, "2001:db8::1");
	assert_int_equal(cfg.http.allow[1].line, 13);
}

/* Each rule of the stir group with the line its error names. */
static void stir_mistakes(void **state)
{
	static const struct { const char *text, *want; } cases[] = {
		/* signing without what it signs with */
		{ LISTENER SLEGS(ORIGID, "identity_sign = true;") SROUTES,
		  "legs: a leg signs (identity_sign): stir.certificate, stir.key and stir.x5u are needed" },
		{ LISTENER SLEGS(ORIGID, "identity_sign = true;") SROUTES
		  "stir = {\n certificate = \"a\"; key = \"b\"; };\n",
		  "test.conf:7: stir: a leg signs" },
		{ LISTENER SLEGS(ORIGID, "") "stir = {\n certificate = \"a\"; };\n",
		  "test.conf:6: stir: certificate and key go together" },
		/* verifying without a trust list */
		{ LISTENER SLEGS("identity_verify = \"mark\";", ""),
		  "legs: a leg verifies (identity_verify): stir.trust" },
		{ LISTENER SLEGS("identity_verify = \"maybe\";", ""),
		  "test.conf:3: identity_verify: must be off, mark or reject" },
		{ LISTENER SLEGS("identity_unauthenticated = \"a\";", ""),
		  "test.conf:3: identity_unauthenticated: must be none or c" },
		/* a node peer over UDP: a forged source would pass for the node */
		{ LISTENER "peers = ( { name = \"p\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5;\n"
		  " cluster_node = \"b\"; } );\n",
		  "test.conf:3: cluster_node: a node peer must use transport \"tls\"" },
		/* legacy RFC 4474 without its keys */
		{ LISTENER "peers = ( { name = \"p\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5;\n"
		  " identity_legacy = true; } );\n",
		  "test.conf:2: peers: a peer speaks RFC 4474 (identity_legacy): stir.legacy_certificate" },
		{ LISTENER "peers = ( { name = \"p\"; transport = \"udp\"; address = \"127.0.0.1\"; port = 5;\n"
		  " identity_legacy = true; } );\nstir = { legacy_certificate = \"l.crt\"; legacy_key = \"l.key\";\n"
		  " legacy_info = \"https://x.example/l.crt\"; };\n",
		  "test.conf:4: stir: a peer speaks RFC 4474 (identity_legacy): stir.trust" },
		{ LISTENER "stir = {\n legacy_key = \"l.key\"; };\n",
		  "test.conf:2: stir: legacy_certificate and legacy_key go together" },
		/* URLs a verifier could not fetch, or that break the header */
		{ LISTENER "stir = {\n x5u = \"ftp://example.com/sti.pem\"; };\n",
		  "test.conf:3: x5u: must be an http:// or https:// URL" },
		{ LISTENER "stir = {\n x5u = \"https:///sti.pem\"; };\n", "test.conf:3: x5u: the URL must name a host" },
		{ LISTENER "stir = {\n x5u = \"https://user@example.com/\"; };\n", "x5u: the URL must name a host" },
		{ LISTENER "stir = {\n x5u = \"https://example.com/a b\"; };\n", "test.conf:3: x5u: no spaces" },
		{ LISTENER "stir = {\n x5u = \"https://example.com/>;alg=none\"; };\n", "x5u: no spaces" },
		{ LISTENER "stir = {\n legacy_info = \"example.com/l.crt\"; };\n",
		  "test.conf:3: legacy_info: must be an http:// or https:// URL" },
		/* an origid that is not a UUID, or missing where calls are signed */
		{ LISTENER SLEGS("identity_origid = \"123e4567-e89b-12d3-a456-42661417400\";", ""),
		  "test.conf:3: identity_origid: must be a UUID" },
		{ LISTENER SLEGS("identity_origid = \"123e4567xe89b-12d3-a456-426614174000\";", ""),
		  "identity_origid: must be a UUID" },
		{ LISTENER SLEGS("identity_origid = \"123e4567-e89b-12d3-a456-42661417400g\";", ""),
		  "identity_origid: must be a UUID" },
		{ LISTENER SLEGS("", "identity_sign = true;") SROUTES SIGNER "};\n",
		  "legs: leg \"inside\" needs an identity_origid: its calls go to leg \"outside\"" },
		/* numbers out of bounds */
		{ LISTENER "stir = {\n country_code = \"+1\"; };\n", "test.conf:3: country_code: must be 1 to 3 digits" },
		{ LISTENER "stir = {\n country_code = \"1234\"; };\n", "test.conf:3: country_code: value too long" },
		{ LISTENER "stir = {\n max_age = 0; };\n", "test.conf:3: max_age: must be between 1 and 3600" },
		{ LISTENER "stir = {\n max_cert_size = 65537; };\n", "test.conf:3: max_cert_size: must be between" },
		{ LISTENER "stir = {\n max_fetches = 0; };\n", "test.conf:3: max_fetches: must be between" },
		{ LISTENER "stir = {\n cache_entries = 0; };\n", "test.conf:3: cache_entries: must be between" },
		{ LISTENER "stir = {\n cache_max_age = 0; };\n", "test.conf:3: cache_max_age: must be between" },
		{ LISTENER "stir = {\n fetch_timeout = 50; };\n", "test.conf:3: fetch_timeout: must be between" },
		{ LISTENER "stir = { fetch_timeout = 500;\n connect_timeout = 1000; };\n",
		  "test.conf:3: connect_timeout: must not exceed fetch_timeout (500)" },
		{ LISTENER "stir = {\n fetch_http_hosts = [ \"*.example.com\" ]; };\n",
		  "test.conf:3: fetch_http_hosts: \"*.example.com\" is not a valid name" },
		{ LISTENER "stir = {\n fetch_allow_networks = [ 10 ]; };\n",
		  "test.conf:3: fetch_allow_networks: entry 1 must be a network" },
		{ LISTENER "stir = {\n legacy_sha1 = 1; };\n", "test.conf:3: legacy_sha1: must be true or false" },
		/* the HTTP listener */
		{ LISTENER "http = {\n address = \"127.0.0.1\"; };\n", "test.conf:2: http: missing required key \"port\"" },
		{ LISTENER "http = { address = \"127.0.0.1\";\n port = 70000; };\n", "test.conf:3: port: must be between" },
		{ "listeners = ( { name = \"t\"; leg = \"i\"; transport = \"tcp\"; address = \"127.0.0.1\"; port = 8080; } );\n"
		  "http = { address = \"127.0.0.1\";\n port = 8080; };\n",
		  "test.conf:3: port: 127.0.0.1:8080 is already used by listener \"t\"" },
		/* its HTTPS: a listener's tls group, and a client certificate asked for */
		{ LISTENER "http = { address = \"127.0.0.1\"; port = 8443;\n"
		  " tls = { certificate = \"/a.crt\"; key = \"/a.key\"; ca = \"/c.crt\";\n verify_peer = \"none\"; }; };\n",
		  "test.conf:4: verify_peer: \"none\" would serve no live document" },
		{ LISTENER "http = { address = \"127.0.0.1\"; port = 8443;\n"
		  " tls = { certificate = \"/a.crt\"; key = \"/a.key\"; verify_peer = \"optional\"; }; };\n",
		  "verify_peer optional needs a \"ca\" bundle" },
		{ LISTENER "http = { address = \"127.0.0.1\"; port = 8443;\n tls = { ca = \"/c.crt\"; }; };\n",
		  "missing required key \"certificate\"" },
		{ LISTENER "http = { address = \"127.0.0.1\"; port = 8443;\n tls = 1; };\n",
		  "test.conf:3: tls: must be a group" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (load(cases[i].text) != -1 || !strstr(err, cases[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
	}
}

/* http.tls: a listener's TLS group with its defaults (verify_peer
 * required, the TLS 1.2+ priority) and paths relative to the file. */
static void http_tls_loads(void **state)
{
	assert_int_equal(load(LISTENER "http = { address = \"127.0.0.1\"; port = 8443;\n"
			      " tls = { certificate = \"/a.crt\"; key = \"/a.key\"; ca = \"/c.crt\"; }; };\n"), 0);
	assert_string_equal(cfg.http.tls.certificate, "/a.crt");
	assert_string_equal(cfg.http.tls.key, "/a.key");
	assert_string_equal(cfg.http.tls.ca, "/c.crt");
	assert_int_equal(cfg.http.tls.verify_peer, TLS_VERIFY_REQUIRED);
	assert_non_null(strstr(cfg.http.tls.priority, "-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"));
	assert_int_equal(load(LISTENER "http = { address = \"127.0.0.1\"; port = 8443;\n"
			      " tls = { certificate = \"/a.crt\"; key = \"/a.key\"; ca = \"/c.crt\";"
			      " verify_peer = \"optional\"; }; };\n"), 0);
	assert_int_equal(cfg.http.tls.verify_peer, TLS_VERIFY_OPTIONAL);
}

/* The table of keys knows every group: a key it does not list is an error
 * on its own line in each of them, top level, lists and nested TLS alike.
 * Fails if a group is read without checking its keys against its table. */
static void unknown_key_in_every_group(void **state)
{
	static const char *const files[] = {
		"bogus = 1;\n" LISTENER,
		"listeners = ( { name = \"a\"; leg = \"inside\"; transport = \"udp\";\n bogus = 1;"
		" address = \"127.0.0.1\"; port = 5060; } );\n",
		"listeners = ( { name = \"t\"; leg = \"o\"; transport = \"tls\"; address = \"::1\"; port = 5061;\n"
		" tls = { certificate = \"a\"; key = \"b\"; ca = \"c\"; bogus = 1; }; } );\n",
		LISTENER "peers = ( { name = \"p\"; transport = \"udp\"; address = \"127.0.0.1\";\n bogus = 1; } );\n",
		LISTENER "legs = ( { name = \"inside\"; rtp_address = \"127.0.0.1\";\n bogus = 1; } );\n",
		LISTENER LEGS "routes = ( { from_leg = \"inside\"; to_leg = \"inside\";\n bogus = 1; } );\n",
		LISTENER "limits = {\n bogus = 1; };\n",
		LISTENER "timers = {\n bogus = 1; };\n",
		LISTENER "auth = {\n bogus = 1; };\n",
		LISTENER "registrar = {\n bogus = 1; };\n",
		LISTENER "abuse = {\n bogus = 1; };\n",
		LISTENER "identity = {\n bogus = 1; };\n",
		LISTENER "stir = {\n bogus = 1; };\n",
		LISTENER "http = { address = \"127.0.0.1\"; port = 8080;\n bogus = 1; };\n",
		LISTENER "http = { address = \"127.0.0.1\"; port = 8080;\n"
		" tls = { certificate = \"a\"; key = \"b\"; ca = \"c\";\n bogus = 1; }; };\n",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_int_equal(load(files[i]), -1);
		assert_non_null(strstr(err, "bogus: unknown key"));
		char where[32];
		unsigned line = 1;
		for (const char *c = files[i]; c < strstr(files[i], "bogus"); c++)
			line += *c == '\n';
		snprintf(where, sizeof(where), "test.conf:%u: bogus", line);
		assert_non_null(strstr(err, where));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(embedded_default_is_the_reference_scenario),
		cmocka_unit_test(relay_ranges_hold_max_calls),
		cmocka_unit_test(minimal_file_gets_defaults),
		cmocka_unit_test(header_caps_are_read_and_bounded),
		cmocka_unit_test(syntax_error_names_line),
		cmocka_unit_test(unknown_key_names_line_and_key),
		cmocka_unit_test(out_of_range_value),
		cmocka_unit_test(user_key),
		cmocka_unit_test(bad_transport),
		cmocka_unit_test(tls_listener_needs_certificate),
		cmocka_unit_test(tls_paths_resolve_against_config_dir),
		cmocka_unit_test(wildcard_peer_name_refused),
		cmocka_unit_test(tls_priority_floor),
		cmocka_unit_test(tls_client_must_verify),
		cmocka_unit_test(duplicate_listener_address),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(default_has_legs_and_routes),
		cmocka_unit_test(unknown_suite_is_named),
		cmocka_unit_test(route_to_unknown_leg),
		cmocka_unit_test(route_to_tls_address_refused),
		cmocka_unit_test(registrar_and_digest),
		cmocka_unit_test(digest_without_users_refused),
		cmocka_unit_test(leg_media_source),
		cmocka_unit_test(registered_route_needs_registrar),
		cmocka_unit_test(registrar_without_auth_refused),
		cmocka_unit_test(abuse_and_identity_groups),
		cmocka_unit_test(connection_budgets),
		cmocka_unit_test(abuse_and_identity_mistakes),
		cmocka_unit_test(leg_auth_and_transport_requirements),
		cmocka_unit_test(unknown_key_in_every_group),
		cmocka_unit_test(http_tls_loads),
		cmocka_unit_test(default_signs_to_the_trunk_and_marks_its_calls),
		cmocka_unit_test(cluster_keys),
		cmocka_unit_test(media_keys),
		cmocka_unit_test(stir_defaults),
		cmocka_unit_test(stir_signing_leg_loads),
		cmocka_unit_test(stir_mistakes),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
