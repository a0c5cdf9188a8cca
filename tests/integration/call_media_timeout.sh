#!/bin/bash
# A call in which no media flows is ended by the gateway after media_timeout
# (2 s here): both legs get a BYE, and the relay ports and call state are
# released.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf" "limits = { media_timeout = 2; };"
timeout 60 sipp -sf "$TESTS/integration/sipp/uas_trunk.xml" -t t1 -p 15072 -i 127.0.0.1 -m 1 -nostdin \
	-trace_err -error_file "$WORK/trunk_err.log" >"$WORK/trunk.out" 2>&1 &
TRUNK_PID=$!
PIDS="$PIDS $TRUNK_PID"
wait_port tcp 15072
stunnel_server 5071 15072 trunk
start_gateway "$WORK/gw.conf"
start=$(date +%s)
run_sipp uac_call_silent.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "the phone did not get the gateway's BYE"; }
elapsed=$(( $(date +%s) - start ))
for _ in $(seq 100); do kill -0 "$TRUNK_PID" 2>/dev/null || break; sleep 0.1; done
wait "$TRUNK_PID" || { cat "$WORK/trunk.out" "$WORK/trunk_err.log" >&2; fail "the trunk did not get the gateway's BYE"; }
[ "$elapsed" -ge 2 ] && [ "$elapsed" -le 8 ] || fail "call ended after ${elapsed}s, expected about media_timeout"
expect_log "no media for 2s, ending the call"
sleep 0.3
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
[ "$(counter media_streams)" -eq 0 ] || fail "relay streams left behind"
stop_gateway
