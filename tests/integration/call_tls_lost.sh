#!/bin/bash
# The trunk calls in over TLS, then its connection dies (its TLS wrapper is
# killed) and does not come back: after connection_grace (1 s here) the
# gateway ends the call toward the phone with a BYE and keeps no state.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf" "limits = { connection_grace = 1; };"
timeout 60 sipp -sf "$TESTS/integration/sipp/uas_phone.xml" -t u1 -p 5090 -i 127.0.0.1 -m 1 -nostdin \
	-trace_err -error_file "$WORK/phone_err.log" >"$WORK/phone.out" 2>&1 &
PHONE_PID=$!
PIDS="$PIDS $PHONE_PID"
wait_port udp 5090
start_gateway "$WORK/gw.conf"
stunnel_client 15061 5061 trunk
STUNNEL_PID=${PIDS##* }

# The trunk stays on the line for 20 s: longer than the test waits.
run_sipp uac_trunk_call.xml 127.0.0.1:15061 -s 1001 -t t1 -p 15073 -d 20000 &
UAC_PID=$!
PIDS="$PIDS $UAC_PID"
expect_log "call [0-9]+ established \(leg A SRTP, leg B RTP\)" 10
kill "$STUNNEL_PID"
expect_log "call [0-9]+: connection of leg outside lost; waiting 1s for it" 5
expect_log "call [0-9]+: connection of leg outside did not return, ending the call" 5
for _ in $(seq 100); do kill -0 "$PHONE_PID" 2>/dev/null || break; sleep 0.1; done
wait "$PHONE_PID" || { cat "$WORK/phone.out" "$WORK/phone_err.log" >&2; fail "the phone did not get the BYE"; }
sleep 0.3
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
[ "$(counter media_streams)" -eq 0 ] || fail "relay streams left behind"
stop_gateway
