#!/bin/bash
# A call in which no media flows is ended by the gateway after media_timeout
# (2 s here): both legs get a BYE, and the relay ports and call state are
# released.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf" "limits = { media_timeout = 2; };"
start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"
start=$(date +%s)
run_sipp uac_call_silent.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "the phone did not get the gateway's BYE"; }
elapsed=$(( $(date +%s) - start ))
wait_trunk
[ "$elapsed" -ge 2 ] && [ "$elapsed" -le 8 ] || fail "call ended after ${elapsed}s, expected about media_timeout"
expect_log "no media for 2s, ending the call"
sleep 0.3
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
[ "$(counter media_streams)" -eq 0 ] || fail "relay streams left behind"
stop_gateway
