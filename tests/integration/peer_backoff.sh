#!/bin/bash
# A trunk outage (issue 8, low item): where the trunk should be, a socket
# accepts each connection and closes it at once, counting the attempts. A
# burst of 30 calls from the phone in 3 s must cost a bounded number of
# connection attempts (the peer is backed off: 1 s, then 2 s) and each call
# gets 503 with Retry-After; once the real trunk is back and the back-off
# has passed, a call goes through.
. "$TESTS/integration/lib.sh"
TOOL="python3 $TESTS/integration/conn_tool.py"
rc=0
pass() { echo "PASS peer_backoff.$1"; }
failc() { echo "FAIL peer_backoff.$1: $2"; rc=1; }

call_config "$WORK/gw.conf" 'limits = { peer_retry_min = 1; peer_retry_max = 2; };'
$TOOL count_accepts 5071 20 >"$WORK/accepts.out" & COUNTER=$!; PIDS="$PIDS $COUNTER"
wait_port tcp 5071
start_gateway "$WORK/gw.conf"

$TOOL invites 30 10 >"$WORK/invites.out"
kill -TERM "$COUNTER"
wait "$COUNTER"
attempts=$(cat "$WORK/accepts.out")
answered=$(grep -c '^final ' "$WORK/invites.out")
with_503=$(grep -c '^final 503 retry-after=[1-9]' "$WORK/invites.out")
note "30 INVITEs: $answered answered, $with_503 with 503 and Retry-After; $attempts connection attempts reached the trunk"
if [ "$attempts" -ge 1 ] && [ "$attempts" -le 5 ]; then pass bounded_connection_attempts
else failc bounded_connection_attempts "$attempts connection attempts for 30 calls during the outage (at most 5 expected)"; fi
if [ "$answered" -eq 30 ] && [ "$with_503" -eq 30 ]; then pass outage_answered_503_retry_after
else failc outage_answered_503_retry_after "$answered answered, $with_503 with 503 and Retry-After: $(sort "$WORK/invites.out" | uniq -c | head -5 | tr '\n' ';')"; fi
refused=$(counter peer_backoff_refused)
[ "$refused" -ge 20 ] || failc backoff_counted "peer_backoff_refused = $refused, expected >= 20"

# The trunk comes back; after the longest back-off the next call connects.
start_trunk uas_trunk.xml
sleep 2.5
if run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 500 && wait_trunk; then
	pass call_after_trunk_returns
else
	failc call_after_trunk_returns "$(grep -m1 -o 'SIP/2.0 5[0-9][0-9][A-Za-z ]*' "$WORK/sipp_msg.log")"
fi
expect_log "peer trunk is reachable again"
stop_gateway
exit $rc
