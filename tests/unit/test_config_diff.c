/* Reload's diff (config/diff.c): which keys a reload applies and which it
 * keeps at their running values and names as needing a restart. The
 * running configuration is the embedded default; each case edits a copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "config/diff.h"

static struct gateway_config run, cand;
static char names[512];

static int setup(void **state)
{
	char err[512];
	assert_int_equal(config_load(NULL, &run, err, sizeof(err)), 0);
	assert_int_equal(config_load(NULL, &cand, err, sizeof(err)), 0);
	names[0] = '\0';
	return 0;
}

static unsigned diff(void) { return config_keep_restart_only(&run, &cand, names, sizeof(names)); }

static void identical_files_change_nothing(void **state)
{
	assert_int_equal(diff(), 0);
	assert_string_equal(names, "");
	assert_memory_equal(&run, &cand, sizeof(run));
}

/* What requests read: applied, nothing reported. */
static void policy_routes_and_level_apply(void **state)
{
	snprintf(cand.routes[0].user, sizeof(cand.routes[0].user), "555");
	cand.n_routes = 1;
	snprintf(cand.abuse.deny[0].text, CFG_NET_MAX, "192.0.2.0/24");
	cand.abuse.n_deny = 1;
	cand.abuse.request_rate = 7;
	snprintf(cand.log_level, sizeof(cand.log_level), "debug");
	cand.identity.hide_subject = !run.identity.hide_subject;
	cand.legs[0].require_tls = !run.legs[0].require_tls;
	cand.legs[1].media = MEDIA_MODE_BEST_EFFORT;
	assert_int_equal(diff(), 0);
	assert_int_equal(cand.n_routes, 1);
	assert_int_equal(cand.abuse.request_rate, 7);
	assert_string_equal(cand.log_level, "debug");
	assert_int_equal(cand.legs[1].media, MEDIA_MODE_BEST_EFFORT);
}

/* A listener's address: reported by name and kept; the rest still applies. */
static void listener_address_needs_restart(void **state)
{
	cand.listeners[0].port = 5062;
	cand.abuse.n_deny = 1;
	snprintf(cand.abuse.deny[0].text, CFG_NET_MAX, "192.0.2.1");
	assert_int_equal(diff(), 1);
	assert_string_equal(names, "listeners[inside-udp]");
	assert_int_equal(cand.listeners[0].port, 5060);
	assert_int_equal(cand.abuse.n_deny, 1);
}

/* The key stays in the key holder: a new key file needs a restart; the
 * certificate, CA and peer names of a TLS listener are reloaded. */
static void tls_key_needs_restart_certificate_does_not(void **state)
{
	snprintf(cand.listeners[2].tls.certificate, PATH_MAX, "/etc/pc/renewed.crt");
	snprintf(cand.listeners[2].tls.ca, PATH_MAX, "/etc/pc/ca2.crt");
	snprintf(cand.peers[0].tls.peer_names[0], CFG_HOST_MAX, "trunk2.example");
	assert_int_equal(diff(), 0);
	assert_string_equal(cand.listeners[2].tls.certificate, "/etc/pc/renewed.crt");
	snprintf(cand.listeners[2].tls.key, PATH_MAX, "/etc/pc/new.key");
	snprintf(cand.peers[0].tls.key, PATH_MAX, "/etc/pc/new.key");
	assert_int_equal(diff(), 2);
	assert_string_equal(names, "listeners[outside-tls].tls.key, peers[trunk].tls.key");
	assert_string_equal(cand.listeners[2].tls.key, run.listeners[2].tls.key);
	assert_string_equal(cand.listeners[2].tls.certificate, "/etc/pc/renewed.crt");
}

/* The http listener's HTTPS: its certificate, CA and what the client must
 * show are reloaded like a TLS listener's; its key, or turning it on, need
 * a restart (and keep the whole running http group). */
static void http_tls_certificate_reloads_key_does_not(void **state)
{
	snprintf(run.http.tls.certificate, PATH_MAX, "/etc/pc/http.crt");
	snprintf(run.http.tls.key, PATH_MAX, "/etc/pc/http.key");
	memcpy(&cand.http.tls, &run.http.tls, sizeof(run.http.tls));
	snprintf(cand.http.tls.certificate, PATH_MAX, "/etc/pc/http-renewed.crt");
	snprintf(cand.http.tls.ca, PATH_MAX, "/etc/pc/scrapers.crt");
	cand.http.tls.verify_peer = TLS_VERIFY_OPTIONAL;
	assert_int_equal(diff(), 0);
	assert_string_equal(cand.http.tls.certificate, "/etc/pc/http-renewed.crt");
	assert_int_equal(cand.http.tls.verify_peer, TLS_VERIFY_OPTIONAL);
	snprintf(cand.http.tls.key, PATH_MAX, "/etc/pc/new.key");
	assert_int_equal(diff(), 1);
	assert_string_equal(names, "http");
	assert_string_equal(cand.http.tls.key, "/etc/pc/http.key");
	assert_string_equal(cand.http.tls.certificate, "/etc/pc/http.crt");
}

static void http_tls_on_needs_restart(void **state)
{
	snprintf(cand.http.tls.certificate, PATH_MAX, "/etc/pc/http.crt");
	snprintf(cand.http.tls.key, PATH_MAX, "/etc/pc/http.key");
	assert_int_equal(diff(), 1);
	assert_string_equal(names, "http");
	assert_string_equal(cand.http.tls.certificate, "");
}

static void listener_count_and_peer_address(void **state)
{
	cand.n_listeners = 2;
	cand.peers[0].port = 5072;
	assert_int_equal(diff(), 2);
	assert_string_equal(names, "listeners (their number), peers[trunk]");
	assert_int_equal(cand.n_listeners, run.n_listeners);
	assert_int_equal(cand.peers[0].port, 5071);
}

/* Calls point at their legs: renaming one keeps every leg as it runs. */
static void leg_rename_keeps_all_legs(void **state)
{
	snprintf(cand.legs[0].name, CFG_NAME_MAX, "indoors");
	cand.legs[1].media = MEDIA_MODE_RTP;
	assert_int_equal(diff(), 1);
	assert_string_equal(names, "legs (their names or order)");
	assert_string_equal(cand.legs[0].name, "inside");
	assert_int_equal(cand.legs[1].media, run.legs[1].media);
}

static void leg_ports_user_store_stir_need_restart(void **state)
{
	cand.legs[0].rtp_port_min = 21000;
	snprintf(cand.auth.users, PATH_MAX, "/etc/pc/other.users");
	snprintf(cand.stir.key, PATH_MAX, "/etc/pc/sti2.key");
	snprintf(cand.user, sizeof(cand.user), "someone");
	assert_int_equal(diff(), 4);
	assert_string_equal(names, "legs[inside].rtp_ports, user, auth.users, stir");
	assert_int_equal(cand.legs[0].rtp_port_min, run.legs[0].rtp_port_min);
	assert_string_equal(cand.auth.users, run.auth.users);
}

/* The media workers' threads start once: a new count waits for a restart. */
static void media_workers_need_restart(void **state)
{
	(void)state;
	cand.media.workers = run.media.workers + 3;
	assert_int_equal(diff(), 1);
	assert_string_equal(names, "media.workers");
	assert_int_equal(cand.media.workers, run.media.workers);
}

/* The user store's contents reload (not a configuration key), and so do
 * the algorithms offered and the nonce lifetime; the realm the key holder
 * mints nonces for, the store's size bound and the lockout limits, sized
 * or handed over at start, do not. */
static void auth_realm_and_lockouts_need_restart_algorithms_do_not(void **state)
{
	cand.auth.md5 = !run.auth.md5;
	cand.auth.nonce_lifetime_s = run.auth.nonce_lifetime_s + 60;
	snprintf(cand.auth.realm, sizeof(cand.auth.realm), "elsewhere.example");
	cand.auth.max_users = run.auth.max_users + 1;
	cand.auth.max_failures = run.auth.max_failures + 1;
	cand.auth.user_max_failures = run.auth.user_max_failures + 1;
	cand.auth.lockout_s = run.auth.lockout_s + 1;
	assert_int_equal(diff(), 5);
	assert_string_equal(names, "auth.realm, auth.max_users, auth.max_failures, "
				   "auth.user_max_failures, auth.lockout");
	assert_string_equal(cand.auth.realm, run.auth.realm);
	assert_int_equal(cand.auth.max_users, run.auth.max_users);
	assert_int_equal(cand.auth.lockout_s, run.auth.lockout_s);
	assert_int_equal(cand.auth.md5, !run.auth.md5);
	assert_int_equal(cand.auth.nonce_lifetime_s, run.auth.nonce_lifetime_s + 60);
}

/* A rate table exists or not from start: turning one off keeps its rules. */
static void rate_table_on_off_needs_restart(void **state)
{
	cand.abuse.request_rate = 0;
	cand.abuse.user_max_calls = 3;
	assert_int_equal(diff(), 1);
	assert_non_null(strstr(names, "abuse.request_rate"));
	assert_int_equal(cand.abuse.request_rate, run.abuse.request_rate);
	assert_int_equal(cand.abuse.user_max_calls, 3);
}

/* A line added above a network list moves it: not a change. */
static void moved_lines_are_not_changes(void **state)
{
	run.http.n_allow = cand.http.n_allow = 1;
	snprintf(run.http.allow[0].text, CFG_NET_MAX, "10.0.0.0/8");
	snprintf(cand.http.allow[0].text, CFG_NET_MAX, "10.0.0.0/8");
	run.http.allow[0].line = 40;
	cand.http.allow[0].line = 41;
	assert_int_equal(diff(), 0);
	snprintf(cand.http.allow[0].text, CFG_NET_MAX, "10.0.0.0/9");
	assert_int_equal(diff(), 1);
	assert_string_equal(names, "http");
}

/* A short buffer: every key still counted, the list cut with "...". */
static void short_buffer_is_cut_not_overrun(void **state)
{
	char small[24];
	memset(small, 'x', sizeof(small));
	cand.listeners[0].port = 1;
	cand.listeners[1].port = 2;
	cand.listeners[2].port = 3;
	cand.timers.t1_ms = 600;
	assert_int_equal(config_keep_restart_only(&run, &cand, small, sizeof(small)), 4);
	assert_non_null(memchr(small, '\0', sizeof(small)));
	assert_non_null(strstr(small, "..."));
	assert_int_equal(cand.timers.t1_ms, run.timers.t1_ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(identical_files_change_nothing, setup),
		cmocka_unit_test_setup(policy_routes_and_level_apply, setup),
		cmocka_unit_test_setup(listener_address_needs_restart, setup),
		cmocka_unit_test_setup(tls_key_needs_restart_certificate_does_not, setup),
		cmocka_unit_test_setup(http_tls_certificate_reloads_key_does_not, setup),
		cmocka_unit_test_setup(http_tls_on_needs_restart, setup),
		cmocka_unit_test_setup(listener_count_and_peer_address, setup),
		cmocka_unit_test_setup(leg_rename_keeps_all_legs, setup),
		cmocka_unit_test_setup(media_workers_need_restart, setup),
		cmocka_unit_test_setup(leg_ports_user_store_stir_need_restart, setup),
		cmocka_unit_test_setup(rate_table_on_off_needs_restart, setup),
		cmocka_unit_test_setup(auth_realm_and_lockouts_need_restart_algorithms_do_not, setup),
		cmocka_unit_test_setup(moved_lines_are_not_changes, setup),
		cmocka_unit_test_setup(short_buffer_is_cut_not_overrun, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
