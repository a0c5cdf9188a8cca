#!/bin/bash
# A leg follows its peer to a new connection only when the request comes on
# the same leg's listener over the same transport (and, see dialog_identity,
# with the same certificate identity). The trunk calls the UDP phone; during
# the call an outsider sends a PRACK inside the phone's dialog over TCP to
# the inside listener (answered 481 by the gateway itself). The trunk's BYE
# must still reach the phone over UDP, not the outsider's TCP connection.
# Before the fix the leg was re-bound to that connection: the outsider got
# the BYE and the phone never did.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"
start_phone uas_phone.xml
stunnel_client 15061 5061 trunk
run_sipp uac_trunk_call.xml 127.0.0.1:15061 -s 1001 -t t1 -p 15073 -d 3000 &
TRUNK_CALL=$!
PIDS="$PIDS $TRUNK_CALL"
for _ in $(seq 100); do grep -q "^ACK " "$WORK/phone_msg.log" 2>/dev/null && break; sleep 0.05; done
invite=$(received_msg "$WORK/phone_msg.log" INVITE)
call_id=$(sed -n 's/^Call-ID: *\([^\r]*\).*/\1/p' <<<"$invite" | head -1)
gw_tag=$(sed -n 's/^From:.*;tag=\([^;\r]*\).*/\1/p' <<<"$invite" | head -1)
phone_tag=$(awk '/^SIP\/2.0 200/{f=1} f && /^To:/{print; exit}' "$WORK/phone_msg.log" | sed -n 's/.*;tag=\([^;\r]*\).*/\1/p')
[ -n "$call_id" ] && [ -n "$gw_tag" ] && [ -n "$phone_tag" ] || fail "no dialog identifiers in the phone's trace"
got=$(python3 "$TESTS/integration/dialog_rebind.py" "$call_id" "$gw_tag" "$phone_tag" 2>"$WORK/outsider.err")
rc=0
if [ "$got" = nothing ]; then echo "PASS dialog_rebind.outsider_gets_no_bye"
else echo "FAIL dialog_rebind.outsider_gets_no_bye: the phone's BYE went to the outsider's TCP connection"; rc=1; fi
wait "$TRUNK_CALL" || { cat "$WORK/sipp.out" >&2; echo "FAIL dialog_rebind.trunk_call: the trunk's call failed"; rc=1; }
for _ in $(seq 100); do kill -0 "$PHONE_PID" 2>/dev/null || break; sleep 0.1; done
if wait "$PHONE_PID"; then echo "PASS dialog_rebind.phone_gets_bye"
else echo "FAIL dialog_rebind.phone_gets_bye: the phone never got the BYE"; rc=1; fi
stop_gateway
exit $rc
