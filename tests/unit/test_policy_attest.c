/* The attestation rules (policy/attest): A only for an authenticated caller
 * that owns the calling number, B for an authenticated caller that does
 * not, C only for an unauthenticated caller on a leg that signs those, and
 * never A or B for an unauthenticated caller, whatever number it claims.
 * Each test fails if one rule is dropped: owning a number without
 * authenticating (the attack: claim a victim's number) must not give A. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy/attest.h"

static const char *const owned[] = { "12125550100", "12125550101" };

static struct attest_in in_of(bool authenticated, const char *calling, bool sign_unauth)
{
	return (struct attest_in){ .authenticated = authenticated,
				   .calling_tn = calling,
				   .owned_tns = owned,
				   .n_owned = 2,
				   .sign_unauthenticated = sign_unauth };
}

static void expect(struct attest_in in, enum attest_level want)
{
	const char *why = NULL;
	assert_int_equal(attest_decide(&in, &why), want);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
}

static void test_authenticated(void **state)
{
	(void)state;
	expect(in_of(true, "12125550100", false), ATTEST_A);
	expect(in_of(true, "12125550101", true), ATTEST_A);
	expect(in_of(true, "12125550199", false), ATTEST_B);
	expect(in_of(true, "12125550199", true), ATTEST_B);
	expect(in_of(true, "1212555010", false), ATTEST_B); /* a prefix is not the number */
	expect(in_of(true, "121255501000", false), ATTEST_B);
	struct attest_in none = in_of(true, "12125550100", false);
	none.n_owned = 0;
	expect(none, ATTEST_B);
	none.owned_tns = NULL;
	none.n_owned = 3;
	expect(none, ATTEST_B);
	const char *const holes[] = { NULL, "12125550100" };
	struct attest_in h = in_of(true, "12125550100", false);
	h.owned_tns = holes;
	expect(h, ATTEST_A);
}

/* The attack: an unauthenticated caller claiming a number the gateway
 * knows as someone's own. */
static void test_unauthenticated(void **state)
{
	(void)state;
	expect(in_of(false, "12125550100", false), ATTEST_NONE);
	expect(in_of(false, "12125550100", true), ATTEST_C);
	expect(in_of(false, "12125550199", true), ATTEST_C);
	expect(in_of(false, "12125550199", false), ATTEST_NONE);
}

static void test_no_number(void **state)
{
	(void)state;
	expect(in_of(true, "", false), ATTEST_NONE);
	expect(in_of(true, NULL, false), ATTEST_NONE);
	expect(in_of(false, NULL, true), ATTEST_NONE);
	struct attest_in in = in_of(true, "12125550100", false);
	assert_int_equal(attest_decide(&in, NULL), ATTEST_A); /* why is optional */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authenticated),
		cmocka_unit_test(test_unauthenticated),
		cmocka_unit_test(test_no_number),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
