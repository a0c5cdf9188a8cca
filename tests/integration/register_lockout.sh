#!/bin/bash
# Password-guessing lockouts that cannot be turned against the user:
# max_failures = 3 per source and per (user, source), user_max_failures = 6
# for the user from everywhere.
#   - an attacker at 127.0.0.2 guesses alice's password three times: that
#     source is locked out (403 even with the right password), but alice at
#     127.0.0.1 still registers with hers (before the fix the third failure
#     locked alice out from every address);
#   - a second attacking address (127.0.0.3) brings alice's failures from
#     everywhere to six: now she is locked out everywhere (403), the slower
#     user-wide limit against guessing from many addresses;
#   - bob, never attacked, registers throughout.
. "$TESTS/integration/lib.sh"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
[ -x "$PASSWD" ] || fail "portcullis-passwd not built"
printf 'secret-a' | "$PASSWD" alice portcullis.test >"$WORK/users" || fail "passwd: alice"
printf 'secret-b' | "$PASSWD" bob portcullis.test >>"$WORK/users" || fail "passwd: bob"
INSIDE_LEG='registrar = true; auth = "digest";' PHONE_ROUTE='registered = true;' \
	call_config "$WORK/gw.conf" "auth = { realm = \"portcullis.test\"; users = \"$WORK/users\";
  max_failures = 3; user_max_failures = 6; lockout = 60; };"
start_gateway "$WORK/gw.conf"
rc=0
attempt() { # attempt NAME EXPECTED SOURCE USER PASSWORD
	local got
	got=$(python3 "$TESTS/integration/register_lockout.py" "$3" "$4" "$5" portcullis.test 2>&1)
	if [ "$got" = "$2" ]; then echo "PASS register_lockout.$1"
	else echo "FAIL register_lockout.$1: expected $2, got $got"; rc=1; fi
}

attempt guess1 401 127.0.0.2 alice wrong1
attempt guess2 401 127.0.0.2 alice wrong2
attempt guess3_locks_source 403 127.0.0.2 alice wrong3
attempt attacker_locked_out 403 127.0.0.2 alice secret-a
attempt alice_not_locked_out_by_one_source 200 127.0.0.1 alice secret-a
attempt second_source_guess1 401 127.0.0.3 alice wrong4
attempt second_source_guess2 401 127.0.0.3 alice wrong5
attempt second_source_guess3 403 127.0.0.3 alice wrong6
attempt alice_locked_out_everywhere 403 127.0.0.1 alice secret-a
attempt bob_unaffected 200 127.0.0.1 bob secret-b
expect_log 'failed logins: locking out .*\[the user everywhere\]'
[ "$(counter auth_refused_locked_out)" -ge 4 ] || fail "lockout refusals not counted"
stop_gateway
exit $rc
