#!/bin/bash
# Glare (RFC 3261 §14.2): while the trunk's hold re-INVITE is being relayed to
# the phone, the phone sends a re-INVITE of its own; the gateway refuses it
# with 491 and the trunk's re-INVITE still completes.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_phone uas_phone_glare.xml
start_gateway "$WORK/gw.conf"
stunnel_client 15061 5061 trunk
run_sipp uac_trunk_hold.xml 127.0.0.1:15061 -s 1001 -t t1 -p 15073 -d 300 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/phone_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "the trunk's call with hold failed"; }
wait_phone "the phone's glare scenario failed"
grep -q "^SIP/2.0 491 Request Pending" "$WORK/phone_msg.log" || fail "no 491 for the crossing re-INVITE"
expect_log "INVITE from leg outside relayed with a new offer"
# The phone's ACK for the 491 matched its transaction (no retransmissions).
expect_log "Completed -> Confirmed"
grep -q "retransmitting" "$WORK/gateway.log" && fail "the 491 was retransmitted: its ACK did not match"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
