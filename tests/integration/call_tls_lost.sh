#!/bin/bash
# The trunk calls in over TLS, then its connection dies (its TLS wrapper is
# killed) and does not come back: after connection_grace (1 s here) the
# gateway ends the call toward the phone with a BYE and keeps no state.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf" "limits = { connection_grace = 1; };"
start_phone uas_phone.xml
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
wait_phone "the phone did not get the BYE"
sleep 0.3
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
[ "$(counter media_streams)" -eq 0 ] || fail "relay streams left behind"
stop_gateway
