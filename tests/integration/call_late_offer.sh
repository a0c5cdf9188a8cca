#!/bin/bash
# Late offer (RFC 3261 §13.2.1): the phone's INVITE has no SDP; the trunk
# offers SDES-SRTP in its 200, the phone gets a plain offer on the inside
# relay, and its answer in the ACK reaches the trunk as an SRTP answer keyed
# by the gateway. Also ten calls in a row leave no call or relay state.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_trunk uas_trunk_late.xml
start_gateway "$WORK/gw.conf"
run_sipp uac_late.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; fail "late-offer call failed"; }
wait_trunk
expect_log "established \(leg A RTP, leg B SRTP, late offer\)"

# Ten ordinary calls back to back: afterwards nothing is held.
start_trunk uas_trunk.xml 10
timeout 90 sipp -sf "$TESTS/integration/sipp/uac_call.xml" 127.0.0.1:5060 -s 12125550010 -t u1 -p 15091 \
	-m 10 -r 5 -d 200 -timeout 60s -timeout_error -nostdin -trace_err -error_file "$WORK/uac10_err.log" \
	>"$WORK/uac10.out" 2>&1 || { cat "$WORK/uac10.out" "$WORK/uac10_err.log" >&2; fail "ten calls"; }
wait_trunk
sleep 0.5
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
[ "$(counter media_streams)" -eq 0 ] || fail "relay streams left behind"
stop_gateway
