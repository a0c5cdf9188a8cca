#!/bin/bash
# Plain media before the answer (issue 8, High 2), against the running
# gateway: the SRTP trunk calls in, and the phone starts sending RTP and RTCP
# as soon as the INVITE reaches it, 2 s before it answers (baresip sends
# RTCP at once, many phones early RTP). Standing where the trunk receives
# media (its SDP's RTP and RTCP ports), a capture must see no packet that
# fails SRTP/SRTCP authentication under the key the gateway answered the
# trunk with, and must see the phone's media once the call is answered.
#  (a) the inside leg's default rule (strict): the phone's SDP is not known
#      before its answer, so its early packets are refused at the source;
#  (b) media_source = "signalling-ip": the early packets pass the source
#      rule, and only "nothing toward a side without keys" stops them.
# (A call from the phone needs no such check: the phone cannot know its
# relay port before an answer reaches it, and an answer keys the relay.)
. "$TESTS/integration/lib.sh"
PEER="$TESTS/integration/media_peer.py"
# Debian's interpreter (python3-cryptography): starts in a fraction of a
# second, which matters for a phone that must send while it rings.
PY=/usr/bin/python3
stunnel_client 15061 5061 trunk

# early_call NAME: one call from the trunk with an early-sending phone.
early_call() {
	local name=$1
	rm -f "$WORK/phone_msg.log" "$WORK/sipp_msg.log" "$WORK/phone_offer_port"
	start_gateway "$WORK/gw.conf"
	"$PY" "$PEER" capture --bind 17002 --seconds 7 --out "$WORK/capture.txt" >"$WORK/capture.out" 2>&1 &
	local cap=$!
	PIDS="$PIDS $cap"
	start_phone uas_phone_ring.xml
	run_sipp uac_trunk_call.xml 127.0.0.1:15061 -s 1001 -t t1 -p 15073 -d 2500 &
	local call=$!
	PIDS="$PIDS $call"
	for _ in $(seq 200); do [ -s "$WORK/phone_offer_port" ] && break; sleep 0.02; done
	local in_port
	in_port=$(cat "$WORK/phone_offer_port" 2>/dev/null)
	[ -n "$in_port" ] || fail "$name: the phone got no offer"
	# 2 s of ringing, then 2 s of the call.
	"$PY" "$PEER" send --bind 16002 --to "$in_port" --seconds 4 >"$WORK/phone_send.out" 2>&1 ||
		fail "$name: the phone could not send"
	wait "$call" || fail "$name: the call from the trunk failed"
	wait_phone "$name: the phone's scenario failed"
	wait "$cap"
	local key
	key=$(awk '/^SIP\/2.0 200 OK/{f=1} f && /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/{print; exit}' \
		"$WORK/sipp_msg.log" | sed 's/.*inline://')
	[ -n "$key" ] || fail "$name: no answered key in the trunk's trace"
	"$PY" "$PEER" verify --key "$key" --in "$WORK/capture.txt" --min-rtp 20 --min-rtcp 1 \
		>"$WORK/verify.out" 2>&1
	local rc=$?
	note "$name: $(cat "$WORK/phone_send.out"); at the trunk: $(cat "$WORK/verify.out")"
	[ $rc -eq 0 ] || fail "$name: a packet at the trunk failed SRTP/SRTCP authentication, or the call's media did not arrive"
	note "$name: refused at the source $(counter media_source_refused_dropped), toward unkeyed $(counter media_toward_unkeyed_dropped)"
	echo "PASS $name"
}

call_config "$WORK/gw.conf"
early_call early_media_strict
[ "$(counter media_source_refused_dropped)" -ge 20 ] || fail "early_media_strict: early packets not counted"
stop_gateway

INSIDE_LEG='media_source = "signalling-ip";' call_config "$WORK/gw.conf"
early_call early_media_signalling_ip
[ "$(counter media_toward_unkeyed_dropped)" -ge 20 ] || fail "early_media_signalling_ip: early packets not counted"
stop_gateway
