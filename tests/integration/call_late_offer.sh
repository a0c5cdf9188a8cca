#!/bin/bash
# Late offer (RFC 3261 §13.2.1): the phone's INVITE has no SDP; the trunk
# offers SDES-SRTP in its 200, the phone gets a plain offer on the inside
# relay, and its answer in the ACK reaches the trunk as an SRTP answer keyed
# by the gateway. Also ten calls in a row leave no call or relay state.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
timeout 60 sipp -sf "$TESTS/integration/sipp/uas_trunk_late.xml" -t t1 -p 15072 -i 127.0.0.1 -m 1 -nostdin \
	-trace_err -error_file "$WORK/trunk_err.log" >"$WORK/trunk.out" 2>&1 &
TRUNK_PID=$!
PIDS="$PIDS $TRUNK_PID"
wait_port tcp 15072
stunnel_server 5071 15072 trunk
start_gateway "$WORK/gw.conf"
run_sipp uac_late.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; fail "late-offer call failed"; }
for _ in $(seq 100); do kill -0 "$TRUNK_PID" 2>/dev/null || break; sleep 0.1; done
wait "$TRUNK_PID" || { cat "$WORK/trunk.out" "$WORK/trunk_err.log" >&2; fail "the trunk's late-offer scenario failed"; }
expect_log "established \(leg A RTP, leg B SRTP, late offer\)"

# Ten ordinary calls back to back: afterwards nothing is held.
timeout 90 sipp -sf "$TESTS/integration/sipp/uas_trunk.xml" -t t1 -p 15072 -i 127.0.0.1 -m 10 -nostdin \
	-trace_err -error_file "$WORK/trunk10_err.log" >"$WORK/trunk10.out" 2>&1 &
TRUNK_PID=$!
PIDS="$PIDS $TRUNK_PID"
wait_port tcp 15072
timeout 90 sipp -sf "$TESTS/integration/sipp/uac_call.xml" 127.0.0.1:5060 -s 12125550010 -t u1 -p 15091 \
	-m 10 -r 5 -d 200 -timeout 60s -timeout_error -nostdin -trace_err -error_file "$WORK/uac10_err.log" \
	>"$WORK/uac10.out" 2>&1 || { cat "$WORK/uac10.out" "$WORK/uac10_err.log" >&2; fail "ten calls"; }
for _ in $(seq 100); do kill -0 "$TRUNK_PID" 2>/dev/null || break; sleep 0.1; done
wait "$TRUNK_PID" || { cat "$WORK/trunk10_err.log" >&2; fail "the trunk's ten calls"; }
sleep 0.5
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
[ "$(counter media_streams)" -eq 0 ] || fail "relay streams left behind"
stop_gateway
