#!/bin/bash
# How calls end badly, with real peers on both legs: the trunk's 486 reaches
# the phone; a trunk that strips SDES from its answer on the SRTP-required leg
# gets ACK + BYE and the phone a 488 whose Warning says why (no downgrade);
# the phone's CANCEL while the trunk rings is propagated and ends in 487.
# Afterwards no call, no relay stream and no transaction is left.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"
stunnel_server 5071 15072 trunk

trunk() { # trunk SCENARIO: one call's worth of trunk in the background
	timeout 40 sipp -sf "$TESTS/integration/sipp/$1" -t t1 -p 15072 -i 127.0.0.1 -m 1 -nostdin \
		-trace_err -error_file "$WORK/trunk_err_$1.log" >"$WORK/trunk_$1.out" 2>&1 &
	TRUNK_PID=$!
	PIDS="$PIDS $TRUNK_PID"
	wait_port tcp 15072
}
trunk_done() {
	for _ in $(seq 100); do kill -0 "$TRUNK_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$TRUNK_PID" || { cat "$WORK/trunk_$1.out" "$WORK/trunk_err_$1.log" >&2; fail "trunk scenario $1"; }
}
phone_fail() { # phone_fail STATUS WARNING_REGEXP
	sed "s/@EXPECT@/$1/; s|@WARNING@|$2|" "$TESTS/integration/sipp/uac_call_fail.xml" >"$WORK/uac_$1.xml"
	timeout 30 sipp -sf "$WORK/uac_$1.xml" 127.0.0.1:5060 -s 12125550000 -t u1 -p 15090 -m 1 \
		-timeout 20s -timeout_error -nostdin -trace_err -error_file "$WORK/phone_err_$1.log" \
		>"$WORK/phone_$1.out" 2>&1 || { cat "$WORK/phone_$1.out" "$WORK/phone_err_$1.log" >&2; fail "phone expecting $1"; }
}

trunk uas_trunk_fail.xml
phone_fail 486 "SIP/2.0 486 Busy Here"
trunk_done uas_trunk_fail.xml

trunk uas_trunk_plain.xml
phone_fail 488 "Warning: 399 localhost \"leg outside requires SRTP but the answer has no a=crypto\""
trunk_done uas_trunk_plain.xml
expect_log "refusing B's answer: leg outside requires SRTP"

trunk uas_trunk_ring.xml
timeout 30 sipp -sf "$TESTS/integration/sipp/uac_call_cancel.xml" 127.0.0.1:5060 -s 12125550001 -t u1 \
	-p 15091 -m 1 -timeout 20s -timeout_error -nostdin -trace_err -error_file "$WORK/cancel_err.log" \
	>"$WORK/cancel.out" 2>&1 || { cat "$WORK/cancel.out" "$WORK/cancel_err.log" >&2; fail "cancelled call"; }
trunk_done uas_trunk_ring.xml
expect_log "closed: cancelled by the caller"

sleep 0.5
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
[ "$(counter media_streams)" -eq 0 ] || fail "relay streams left behind"
stop_gateway
