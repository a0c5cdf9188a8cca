#!/bin/bash
# RTP bleed (issue 8, High 1), against the running gateway: while a call
# rings, an attacker on the phones' network sends a 12-byte RTP header to
# every port of the inside relay range, round after round, through the
# ringing and the call. The plain side must take nothing from it (no latch:
# the attacker receives none of the trunk's audio) and pass nothing of it on
# (the trunk receives only the phone's packets), while the call's audio
# flows both ways and authenticates on the SRTP side. Both call directions:
#  (a) the trunk calls in and the phone rings 2 s (its SDP is not known yet);
#  (b) the phone calls out and the trunk rings 2 s (the phone's SDP is known).
# Also: relay ports are not handed out in order (two calls' ports differ by
# more than one pair, most of the time: checked over several calls in the
# unit tests; here only that the second call is not the next pair).
. "$TESTS/integration/lib.sh"
PROBE="$(dirname "$PORTCULLIS_BIN")/../tests/tools/rtp_probe"
PEER="$TESTS/integration/media_peer.py"
# Debian's interpreter (python3-cryptography): starts in a fraction of a
# second, which matters for a phone that must send while it rings.
PY=/usr/bin/python3
[ -x "$PROBE" ] || fail "rtp_probe not built"
call_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"

# wait_for FILE PATTERN: until FILE has a line matching PATTERN (10 s).
wait_for() {
	for _ in $(seq 200); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	fail "never seen in $(basename "$1"): $2"
}

# answer_key TRACE: the gateway's key in its 200 to the trunk's offer.
answer_key() {
	awk '/^SIP\/2.0 200 OK/{f=1} f && /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/{print; exit}' "$1" |
		sed 's/.*inline://'
}

# probes_and_check WHAT PHONE_PORT TRUNK_PORT TRUNK_SEND TRUNK_RECV: 50
# packets each way between the phone's and the trunk's SDP ports and the
# relay ports in_port / out_port; then the attacker must have got nothing,
# both probes must pass, and neither may receive more than the 50 packets
# its peer sent.
probes_and_check() {
	"$PROBE" --bind "$2" --to "$in_port" --count 50 --ssrc 1111 >"$WORK/phone_probe.out" 2>&1 &
	local phone_pid=$!
	"$PROBE" --bind "$3" --to "$out_port" --count 50 --ssrc 2222 --send "$4" --recv "$5" \
		>"$WORK/trunk_probe.out" 2>&1
	local trunk_rc=$?
	wait $phone_pid
	local phone_rc=$?
	wait "$ATTACK_PID"
	note "$1 attacker: $(cat "$WORK/attacker.out")"
	note "$1 phone: $(cat "$WORK/phone_probe.out")"
	note "$1 trunk: $(cat "$WORK/trunk_probe.out")"
	grep -q "received=0 " "$WORK/attacker.out" || fail "$1: the attacker received the call's media"
	[ "$phone_rc" -eq 0 ] || fail "$1: the phone's media did not arrive intact"
	[ "$trunk_rc" -eq 0 ] || fail "$1: the trunk's media did not arrive or did not authenticate"
	local got
	for side in phone trunk; do
		got=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$WORK/${side}_probe.out")
		[ "${got:-0}" -le 50 ] || fail "$1: the attacker injected media toward the $side ($got packets)"
	done
	echo "PASS $1"
}

# (a) The trunk calls in; the phone rings for 2 s, then talks for 6 s.
start_phone uas_phone_ring.xml
stunnel_client 15061 5061 trunk
rm -f "$WORK/phone_offer_port"
run_sipp uac_trunk_call.xml 127.0.0.1:15061 -s 1001 -t t1 -p 15073 -d 6000 &
CALL_PID=$!
PIDS="$PIDS $CALL_PID"
# From the INVITE on: before the offer reaches the phone there is no
# stream, so the rounds that count come while it rings.
"$PY" "$PEER" spray --ports 20000-20999 --seconds 8 >"$WORK/attacker.out" 2>&1 &
ATTACK_PID=$!
PIDS="$PIDS $ATTACK_PID"
wait_for "$WORK/sipp_msg.log" "^SIP/2.0 200 OK"
# The offer reached the phone before its 200 did.
wait_for "$WORK/phone_offer_port" "^[0-9]+$"
in_port=$(cat "$WORK/phone_offer_port")
out_port=$(awk '/^SIP\/2.0 200 OK/{f=1} f && /^m=audio/{print $2; exit}' "$WORK/sipp_msg.log")
gw_key=$(answer_key "$WORK/sipp_msg.log")
[ -n "$in_port" ] && [ -n "$out_port" ] && [ -n "$gw_key" ] || fail "(a) no relay ports or key in the traces"
probes_and_check bleed_trunk_calls_in 16002 17002 \
	"AES_CM_128_HMAC_SHA1_80:ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGC" "AES_CM_128_HMAC_SHA1_80:$gw_key"
wait "$CALL_PID" || fail "(a) the call from the trunk failed"
wait_phone "(a) the phone's scenario failed"
first_in=$in_port

# (b) The phone calls out; the trunk rings for 2 s, then the call lasts 6 s.
sed 's|<send retrans="500">|<pause milliseconds="2000"/>\n  <send retrans="500">|' \
	"$TESTS/integration/sipp/uas_trunk.xml" >"$WORK/uas_trunk_ring2s.xml"
rm -f "$WORK/sipp_msg.log" "$WORK/trunk_msg.log"
start_trunk "$WORK/uas_trunk_ring2s.xml"
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 6000 &
CALL_PID=$!
PIDS="$PIDS $CALL_PID"
"$PY" "$PEER" spray --ports 20000-20999 --seconds 8 >"$WORK/attacker.out" 2>&1 &
ATTACK_PID=$!
PIDS="$PIDS $ATTACK_PID"
relay_ports
probes_and_check bleed_phone_calls_out 16000 17000 \
	"AEAD_AES_256_GCM:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw=" \
	"AEAD_AES_256_GCM:$offered_key"
wait "$CALL_PID" || fail "(b) the phone's call failed"
wait_trunk

[ "$(counter media_source_refused_dropped)" -ge 10 ] || fail "the attacker's packets were not counted"
[ "$(counter media_wrong_source_dropped)" -eq 0 ] || fail "the real phone's packets were refused"
note "inside relay ports of the two calls: $first_in, $in_port"
[ "$in_port" -ne $((first_in + 2)) ] || note "(consecutive ports: possible by chance, 1 in 500)"
stop_gateway
