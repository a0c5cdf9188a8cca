/* The table of refusal reasons (policy/refusal.c): every reason has a row
 * that can be put on the wire (a status of 300-699 or a challenge, a
 * phrase, a counter or an explicit none, a consistent Warning), no two
 * rows say the same thing, and each row still answers and counts what the
 * gateway answered and counted before the reasons existed (the statuses,
 * phrases and counter names the integration tests and the documentation
 * rely on), and each has a fixed metrics label of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy/admit.h"
#include "policy/ratelimit.h"
#include "policy/refusal.h"
#include "policy/sips.h"
#include "policy/verdict.h"

static bool same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool same_row(const struct refusal *a, const struct refusal *b)
{
	return a->status == b->status && same_text(a->phrase, b->phrase) &&
	       a->counter == b->counter && a->warn_code == b->warn_code &&
	       same_text(a->warn_text, b->warn_text) && a->why_public == b->why_public &&
	       a->retry_after == b->retry_after && a->silent == b->silent &&
	       a->challenge == b->challenge;
}

static void every_reason_has_a_row_for_the_wire(void **state)
{
	(void)state;
	for (int r = REFUSAL_NONE + 1; r < REFUSAL__COUNT; r++) {
		const struct refusal *row = refusal_get((enum pc_refusal)r);
		assert_non_null(row);
		if (row->challenge)
			assert_true(row->status == 401 || row->status == 407);
		else
			assert_in_range(row->status, 300, 699);
		assert_non_null(row->phrase);
		assert_true(row->phrase[0] != '\0');
		assert_true(row->counter < CNT__COUNT || row->counter == REFUSAL_NO_COUNTER);
		/* A Warning has a text: its own or the why; a public why goes in one. */
		if (row->warn_code) {
			assert_in_range(row->warn_code, 300, 399);
			assert_true(row->warn_text != NULL || row->why_public);
		} else {
			assert_null(row->warn_text);
			assert_false(row->why_public);
		}
		assert_false(row->warn_text && row->why_public);
	}
}

static void no_two_rows_are_the_same(void **state)
{
	(void)state;
	for (int a = REFUSAL_NONE + 1; a < REFUSAL__COUNT; a++)
		for (int b = a + 1; b < REFUSAL__COUNT; b++)
			if (same_row(refusal_get((enum pc_refusal)a), refusal_get((enum pc_refusal)b)))
				fail_msg("reasons %d and %d have the same row: make them one", a, b);
}

static void no_row_outside_the_enum(void **state)
{
	(void)state;
	assert_null(refusal_get(REFUSAL_NONE));
	assert_null(refusal_get(REFUSAL__COUNT));
	assert_null(refusal_get((enum pc_refusal)-1));
}

/* Every reason has a metrics label value of its own, [a-z_]+, and none
 * outside the enum: portcullis_refusals_total{reason} is a fixed set. */
static void every_reason_has_a_distinct_label(void **state)
{
	(void)state;
	for (int r = REFUSAL_NONE + 1; r < REFUSAL__COUNT; r++) {
		const char *n = refusal_name((enum pc_refusal)r);
		assert_non_null(n);
		assert_true(n[0] != '\0');
		assert_int_equal(strspn(n, "abcdefghijklmnopqrstuvwxyz_"), strlen(n));
		for (int q = REFUSAL_NONE + 1; q < r; q++)
			assert_string_not_equal(n, refusal_name((enum pc_refusal)q));
	}
	assert_null(refusal_name(REFUSAL_NONE));
	assert_null(refusal_name(REFUSAL__COUNT));
	assert_string_equal(refusal_name(REFUSAL_ACL), "acl");
}

/* What each reason answered and counted before the table: pinned. */
static void rows_keep_the_wire_and_the_counters(void **state)
{
	(void)state;
	static const struct {
		enum pc_refusal r;
		int status;
		const char *phrase, *counter; /* counter NULL: not counted */
		unsigned warn;
	} want[] = {
		{ REFUSAL_ACL, 403, "Forbidden", "requests_denied_acl", 0 },
		{ REFUSAL_SCANNER, 403, "Forbidden", "requests_refused_scanner_ua", 0 },
		{ REFUSAL_RATE, 503, "Service Unavailable", "requests_refused_rate", 0 },
		{ REFUSAL_BAN_STARTED, 403, "Forbidden", "sources_banned", 0 },
		{ REFUSAL_BANNED, 403, "Forbidden", "requests_refused_banned", 0 },
		{ REFUSAL_RATE_TABLE_FULL, 503, "Service Unavailable", "ratelimit_table_full", 0 },
		{ REFUSAL_LEG_TLS, 403, "Forbidden", "requests_refused_tls_required", 0 },
		{ REFUSAL_LEG_CERT, 403, "Forbidden", "requests_refused_client_cert_required", 0 },
		{ REFUSAL_SIPS_INBOUND, 480, "Temporarily Unavailable", "sips_refused_insecure_inbound",
		  380 },
		{ REFUSAL_SIPS_OUTBOUND, 480, "Temporarily Unavailable", "sips_refused_non_tls_next_hop",
		  380 },
		{ REFUSAL_SETUP_CAP, 503, "Service Unavailable", "calls_refused_setup_cap", 0 },
		{ REFUSAL_CALLS, 503, "Service Unavailable", "calls_refused_concurrency_limit", 0 },
		{ REFUSAL_CPS, 503, "Service Unavailable", "calls_refused_cps_limit", 0 },
		{ REFUSAL_FORBIDDEN, 403, "Forbidden", NULL, 0 },
		{ REFUSAL_CHALLENGE, 401, "Unauthorized", "auth_challenges_sent", 0 },
		{ REFUSAL_PROXY_CHALLENGE, 407, "Proxy Authentication Required", "auth_challenges_sent",
		  0 },
		{ REFUSAL_AUTH_MALFORMED, 400, "Bad Request", "auth_failures", 0 },
		{ REFUSAL_CERT_NO_USER, 403, "Forbidden", "auth_failures", 0 },
		{ REFUSAL_LOCKED_OUT, 403, "Forbidden", "auth_refused_locked_out", 0 },
		{ REFUSAL_AUTH_TABLE_FULL, 503, "Service Unavailable", "auth_refused_locked_out", 0 },
		{ REFUSAL_REGISTER_MALFORMED, 400, "Bad Request", NULL, 0 },
		{ REFUSAL_REGISTER_BRIEF, 423, "Interval Too Brief", NULL, 0 },
		{ REFUSAL_REGISTRAR_FULL, 503, "Service Unavailable", NULL, 0 },
		{ REFUSAL_INTERNAL, 500, "Server Internal Error", NULL, 0 },
		{ REFUSAL_PRIVACY_MALFORMED, 400, "Malformed Privacy Header", "calls_refused_privacy", 0 },
		{ REFUSAL_PRIVACY_CRITICAL, 500, "Privacy Unavailable", "calls_refused_privacy", 0 },
		{ REFUSAL_DIALOG_TOO_LONG, 400, "Call-ID or Tag Too Long", NULL, 0 },
		{ REFUSAL_MAX_CALLS, 503, "Service Unavailable", NULL, 0 },
		{ REFUSAL_NOT_REGISTERED, 480, "Temporarily Unavailable", NULL, 0 },
		{ REFUSAL_CALL_FAILED, 500, "Server Internal Error", NULL, 399 },
		{ REFUSAL_NEXT_HOP_DOWN, 503, "Service Unavailable", "peer_backoff_refused", 399 },
		{ REFUSAL_MEDIA, 488, "Not Acceptable Here", NULL, 399 },
		{ REFUSAL_MEDIA_EXHAUSTED, 503, "Service Unavailable", NULL, 399 },
		{ REFUSAL_MEDIA_FAILED, 500, "Internal Server Error", NULL, 399 },
		{ REFUSAL_DIALOG_IDENTITY, 403, "Forbidden", "dialog_requests_refused_identity", 0 },
		{ REFUSAL_CLUSTER_ROUTE, 403, "Forbidden", "requests_refused_cluster_route", 0 },
		{ REFUSAL_STIR_NO_IDENTITY, 428, "Use Identity Header", "identity_calls_rejected", 0 },
		{ REFUSAL_STIR_BAD_INFO, 436, "Bad Identity Info", "identity_calls_rejected", 0 },
		{ REFUSAL_STIR_CREDENTIAL, 437, "Unsupported Credential", "identity_calls_rejected", 0 },
		{ REFUSAL_STIR_INVALID, 438, "Invalid Identity Header", "identity_calls_rejected", 0 },
		{ REFUSAL_STIR_STALE, 403, "Stale Date", "identity_calls_rejected", 0 },
	};
	bool seen[REFUSAL__COUNT] = { false };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct refusal *row = refusal_get(want[i].r);
		assert_non_null(row);
		assert_int_equal(row->status, want[i].status);
		assert_string_equal(row->phrase, want[i].phrase);
		if (want[i].counter)
			assert_string_equal(counter_name(row->counter), want[i].counter);
		else
			assert_int_equal(row->counter, REFUSAL_NO_COUNTER);
		assert_int_equal(row->warn_code, want[i].warn);
		if (want[i].warn == 380)
			assert_string_equal(row->warn_text, SIPS_WARN_TEXT);
		/* Warning 399 carries the why: the cause of our own refusal. */
		if (want[i].warn == 399)
			assert_true(row->why_public && row->warn_text == NULL);
		seen[want[i].r] = true;
	}
	for (int r = REFUSAL_NONE + 1; r < REFUSAL__COUNT; r++)
		if (!seen[r])
			fail_msg("reason %d is not pinned here: add what it answers and counts", r);
	/* RFC 9410: only the verification service's refusals carry Reason: STIR. */
	for (int r = REFUSAL_NONE + 1; r < REFUSAL__COUNT; r++)
		assert_int_equal(refusal_get((enum pc_refusal)r)->stir_reason,
				 r >= REFUSAL_STIR_NO_IDENTITY && r <= REFUSAL_STIR_STALE);
	/* The Retry-After a call's refusals have always carried. */
	assert_int_equal(refusal_get(REFUSAL_MAX_CALLS)->retry_after, 10);
	assert_int_equal(refusal_get(REFUSAL_CALL_FAILED)->retry_after, 1);
	assert_int_equal(refusal_get(REFUSAL_MEDIA_FAILED)->retry_after, 1);
	assert_int_equal(refusal_get(REFUSAL_PRIVACY_CRITICAL)->retry_after, 1);
	/* Only a banned source goes unanswered. */
	for (int r = REFUSAL_NONE + 1; r < REFUSAL__COUNT; r++)
		assert_int_equal(refusal_get((enum pc_refusal)r)->silent, r == REFUSAL_BANNED);
}

static void verdicts_take_their_row(void **state)
{
	(void)state;
	struct verdict v = verdict_refuse(REFUSAL_SIPS_OUTBOUND, sips_why_out_insecure);
	assert_int_equal(v.kind, VERDICT_REJECT);
	assert_int_equal(v.reason, REFUSAL_SIPS_OUTBOUND);
	assert_int_equal(v.status, 480);
	assert_string_equal(v.phrase, "Temporarily Unavailable");
	assert_ptr_equal(v.why, sips_why_out_insecure);
	assert_int_equal(v.retry_after, 0);
	assert_false(v.counted);

	v = verdict_refuse(REFUSAL_PROXY_CHALLENGE, NULL);
	assert_int_equal(v.kind, VERDICT_CHALLENGE);
	assert_int_equal(v.status, 407);

	/* A reason out of range is refused as our own failure, never accepted. */
	v = verdict_refuse(REFUSAL_NONE, "bug");
	assert_int_equal(v.kind, VERDICT_REJECT);
	assert_int_equal(v.reason, REFUSAL_INTERNAL);
	assert_int_equal(v.status, 500);
}

/* The policy modules name the reasons that count what they decide. */
static void policy_names_its_reasons(void **state)
{
	(void)state;
	assert_int_equal(admit_setup_cap(3, 3).reason, REFUSAL_SETUP_CAP);
	struct admit_net ten;
	assert_int_equal(admit_net_parse("10.0.0.0/8", &ten, NULL), 0);
	struct admit_acl acl = { .allow = &ten, .n_allow = 1 };
	assert_int_equal(admit_acl_check(&acl, NULL).reason, REFUSAL_ACL);
	struct sips_ctx leg_tls = { .leg_requires_tls = true };
	assert_int_equal(sips_check_inbound(NULL, &leg_tls).reason, REFUSAL_LEG_TLS);
	struct rl_table t;
	struct rl_config c = { .auth_fail_max = 1, .auth_window_ms = 1000, .lockout_ms = 1000 };
	uint8_t seed[16] = { 0 };
	struct rl_key k;
	assert_int_equal(rl_table_init(&t, &c, 1, seed), 0);
	assert_int_equal(rl_key_name(&k, "alice"), 0);
	assert_int_equal(rl_auth_failure(&t, &k, 0).reason, REFUSAL_LOCKED_OUT);
	assert_int_equal(rl_auth_check(&t, &k, 1).reason, REFUSAL_LOCKED_OUT);
	/* The only entry is locked out: the next key cannot be counted. */
	struct rl_key other;
	assert_int_equal(rl_key_name(&other, "bob"), 0);
	assert_int_equal(rl_auth_failure(&t, &other, 2).reason, REFUSAL_AUTH_TABLE_FULL);
	assert_int_equal(rl_request(&t, &other, 2).reason, REFUSAL_RATE_TABLE_FULL);
	assert_int_equal(rl_call_start(&t, &other, 2).reason, REFUSAL_RATE_TABLE_FULL);
	rl_table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_reason_has_a_row_for_the_wire),
		cmocka_unit_test(no_two_rows_are_the_same),
		cmocka_unit_test(no_row_outside_the_enum),
		cmocka_unit_test(every_reason_has_a_distinct_label),
		cmocka_unit_test(rows_keep_the_wire_and_the_counters),
		cmocka_unit_test(verdicts_take_their_row),
		cmocka_unit_test(policy_names_its_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
