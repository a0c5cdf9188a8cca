#!/bin/bash
# SIPS means TLS on every hop (RFC 5630): with real SIPp peers on both legs,
#  (a) an INVITE from the inside whose Request-URI is sips:, over UDP and over
#      TCP, gets 480 with "Warning: 380 localhost "SIPS Not Allowed"" and the
#      trunk gets nothing (sips_refused_insecure_inbound);
#  (b) so does one with a sip: Request-URI but a sips: To (the downgrade
#      RFC 3261 §26.4.4 warns about);
#  (c) the trunk's INVITE over TLS to a sips: URI that the route sends to the
#      phone over UDP gets 480 + the same Warning, and the phone gets nothing
#      (sips_refused_non_tls_next_hop);
#  (d) controls: a plain sip: call from the inside reaches the trunk, and one
#      from the trunk reaches the phone, through the same gateway.
# Without the SIPS checks (policy/sips.c applied by guard.c and new_call) the
# gateway routes these INVITEs like any other: the callers get 18x/200
# instead of 480, the trunk and the phone receive the INVITEs, and the
# counters stay at 0, so every assertion of (a)-(c) fails.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_trunk uas_trunk.xml
start_phone uas_phone.xml
start_gateway "$WORK/gw.conf"
WARN='Warning: 380 localhost "SIPS Not Allowed"'

# refused NAME RURI TO TARGET [sipp args]: the INVITE must end in 480 + Warning 380.
refused() {
	local name=$1 ruri=$2 to=$3 target=$4
	shift 4
	fill_scenario policy_uac_refused.xml "$WORK/$name.xml" RURI "$ruri" TO "$to" HEADERS "" \
		EXPECT 480 CHECK 'Warning: 380 localhost &quot;SIPS Not Allowed&quot;'
	run_sipp "$WORK/$name.xml" "$target" -s 12125550000 "$@" || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
		fail "$name: no 480 with the SIPS Warning"; }
	grep -q "^SIP/2.0 480 " "$WORK/sipp_msg.log" || fail "$name: no 480 in the trace"
	grep -qF "$WARN" "$WORK/sipp_msg.log" || fail "$name: the 480 lacks the 380 Warning"
}

# (a) sips: Request-URI from the inside, over UDP and TCP.
refused sips_ruri_udp "sips:12125550000@[remote_ip]:[remote_port]" "sip:12125550000@[remote_ip]:[remote_port]" \
	127.0.0.1:5060 -t u1 -p 15090
refused sips_ruri_tcp "sips:12125550000@[remote_ip]:[remote_port]" "sip:12125550000@[remote_ip]:[remote_port]" \
	127.0.0.1:5060 -t t1 -p 15091
# (b) sip: Request-URI, sips: To.
refused sips_to_udp "sip:12125550000@[remote_ip]:[remote_port]" "sips:12125550000@[remote_ip]:[remote_port]" \
	127.0.0.1:5060 -t u1 -p 15092
[ "$(counter sips_refused_insecure_inbound)" -ge 3 ] || fail "the inbound SIPS refusals were not counted"
[ "$(counter calls)" -eq 0 ] || fail "a refused SIPS INVITE left call state"
expect_log "INVITE from udp:127\.0\.0\.1:15090 refused: 480 .*SIPS request arrived without TLS"

# (d) control: a plain call from the inside is the trunk's first and only INVITE.
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15093 -d 200 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
	fail "the plain call from the inside failed"; }
wait_trunk
[ "$(grep -c '^INVITE ' "$WORK/trunk_msg.log")" -eq 1 ] || fail "the trunk did not get exactly the one plain INVITE"
received_msg "$WORK/trunk_msg.log" INVITE | grep -q "12125551234" || fail "the trunk's INVITE is not the plain call"
grep -q "12125550000" "$WORK/trunk_msg.log" && fail "a refused SIPS INVITE reached the trunk"

# (c) the trunk calls sips:1001@localhost over TLS; the route leads to the
# phone over UDP, so the request cannot stay on TLS.
stunnel_client 15061 5061 trunk
refused sips_out "sips:1001@localhost" "sips:1001@localhost" 127.0.0.1:15061 -t t1 -p 15073
[ "$(counter sips_refused_non_tls_next_hop)" -ge 1 ] || fail "the outbound SIPS refusal was not counted"
expect_log "INVITE from leg outside refused: 480 .*SIPS request cannot leave over TLS"
[ -s "$WORK/phone_msg.log" ] && fail "the phone received something for the SIPS INVITE"

# (d) control: the trunk's plain sip: call reaches the phone.
run_sipp uac_trunk_call.xml 127.0.0.1:15061 -s 1001 -t t1 -p 15074 -d 200 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/phone_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
	fail "the plain call from the trunk failed"; }
wait_phone "the phone's scenario failed"
[ "$(grep -c '^INVITE ' "$WORK/phone_msg.log")" -eq 1 ] || fail "the phone did not get exactly the one plain INVITE"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
