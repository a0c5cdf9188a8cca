#!/bin/bash
# The SRTP trunk calls in over TLS: the phone (SIPp, UDP on 5090) gets a plain
# RTP/AVP offer, the trunk an answer keyed with a fresh key of the suite it
# offered first (never its own key back); the trunk hangs up and nothing is
# left behind.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_phone uas_phone.xml
start_gateway "$WORK/gw.conf"
stunnel_client 15061 5061 trunk

run_sipp uac_trunk_call.xml 127.0.0.1:15061 -s 1001 -t t1 -p 15073 -d 500 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/phone_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
	fail "call from the trunk failed"; }
wait_phone "the phone's scenario failed"
for leak in TrunkTag TrunkCore "o=trunk" "Trunk Session" 17002 ZWZnaGlq "a=crypto" 15073; do
	grep -qF -- "$leak" "$WORK/phone_msg.log" && fail "outside detail leaked to the phone: $leak"
done
expect_log "call [0-9]+ established \(leg A SRTP, leg B RTP\)"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
