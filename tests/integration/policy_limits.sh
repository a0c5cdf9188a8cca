#!/bin/bash
# Call limits, applied to new INVITEs after authentication, with real calls
# through the gateway to the trunk (SIPp behind stunnel):
#  (a) user_max_calls = 1: while alice's first call is up, her second
#      (authenticated) INVITE gets 503 with Retry-After
#      (calls_refused_concurrency_limit); bob's call at the same time goes
#      through (the limit is per user), and once her call ended alice can
#      call again (the slot was released);
#  (b) max_calls_in_setup = 1: while one call rings at the trunk, a second
#      INVITE gets 503 with Retry-After (calls_refused_setup_cap) and the
#      trunk never sees it; after the ringing call is cancelled a new call
#      goes through.
# Without the limits the second INVITEs would be put through to the trunk
# (18x/200 instead of 503) and the counters would stay at 0.
. "$TESTS/integration/lib.sh"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
[ -x "$PASSWD" ] || fail "portcullis-passwd not built"
printf 'secret123' | "$PASSWD" alice localhost >"$WORK/users" || fail "passwd: alice"
printf 's3cret-bob' | "$PASSWD" bob localhost >>"$WORK/users" || fail "passwd: bob"

# (a) per-user concurrency.
INSIDE_LEG='auth = "digest";' call_config "$WORK/gw.conf" \
	"auth = { users = \"$WORK/users\"; algorithms = [ \"MD5\" ]; }; abuse = { user_max_calls = 1; };"
start_trunk uas_trunk.xml 3
start_gateway "$WORK/gw.conf"
fill_scenario policy_uac_call_auth.xml "$WORK/call_auth.xml" HEADERS ""
auth_args() { echo "-au $1 -ap $2 -auth_uri $3@127.0.0.1:5060 -s $3 -t u1"; }
# shellcheck disable=SC2046
start_sipp alice1 "$WORK/call_auth.xml" 127.0.0.1:5060 $(auth_args alice secret123 12125550001) -p 15090 -d 3000
expect_log "call [0-9]+ established"
fill_scenario policy_uac_auth_refused.xml "$WORK/limited.xml" HEADERS "" EXPECT 503 CHECK "Retry-After: [1-9]"
# shellcheck disable=SC2046
run_sipp "$WORK/limited.xml" 127.0.0.1:5060 $(auth_args alice secret123 12125550002) -p 15091 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "alice's second concurrent call did not get 503 with Retry-After"; }
[ "$(counter calls_refused_concurrency_limit)" -ge 1 ] || fail "calls_refused_concurrency_limit not counted"
expect_log "INVITE from leg inside user alice refused: 503 .*concurrent call limit reached"
# shellcheck disable=SC2046
run_sipp "$WORK/call_auth.xml" 127.0.0.1:5060 $(auth_args bob s3cret-bob 12125550003) -p 15092 -d 100 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "bob's call beside alice's failed"; }
kill -0 "$(cat "$WORK/alice1.pid")" 2>/dev/null || fail "alice's first call ended too early to prove anything"
wait_sipp alice1 "alice's first call failed"
# shellcheck disable=SC2046
run_sipp "$WORK/call_auth.xml" 127.0.0.1:5060 $(auth_args alice secret123 12125550004) -p 15091 -d 100 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "alice could not call again after her call ended"; }
wait_trunk
[ "$(grep -c '^INVITE ' "$WORK/trunk_msg.log")" -eq 3 ] || fail "the trunk did not get exactly the three admitted calls"
grep -q "12125550002" "$WORK/trunk_msg.log" && fail "the refused call reached the trunk"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway

# (b) the set-up cap: one call ringing, the next refused.
call_config "$WORK/gw.conf" "abuse = { max_calls_in_setup = 1; };"
start_trunk uas_trunk_ring.xml
start_gateway "$WORK/gw.conf"
start_sipp ringing policy_uac_ring_cancel.xml 127.0.0.1:5060 -s 12125550005 -t u1 -p 15093 -d 2000
for _ in $(seq 100); do grep -q "^SIP/2.0 180" "$WORK/ringing_msg.log" 2>/dev/null && break; sleep 0.05; done
grep -q "^SIP/2.0 180" "$WORK/ringing_msg.log" || fail "the first call never rang"
fill_scenario policy_uac_refused.xml "$WORK/capped.xml" RURI "sip:[service]@[remote_ip]:[remote_port]" \
	TO "sip:[service]@[remote_ip]:[remote_port]" HEADERS "" EXPECT 503 CHECK "Retry-After: [1-9]"
run_sipp "$WORK/capped.xml" 127.0.0.1:5060 -s 12125550006 -t u1 -p 15094 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "a second INVITE during set-up did not get 503 with Retry-After"; }
[ "$(counter calls_refused_setup_cap)" -ge 1 ] || fail "calls_refused_setup_cap not counted"
kill -0 "$(cat "$WORK/ringing.pid")" 2>/dev/null || fail "the first call stopped ringing too early to prove anything"
wait_sipp ringing "the ringing call was not cancelled cleanly"
wait_trunk
[ "$(grep -c '^INVITE ' "$WORK/trunk_msg.log")" -eq 1 ] || fail "the capped INVITE reached the trunk"
# The slot is free again.
start_trunk uas_trunk.xml
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125550007 -t u1 -p 15094 -d 100 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "no call possible after the ringing one was cancelled"; }
wait_trunk
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
