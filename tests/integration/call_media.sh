#!/bin/bash
# Real media through a call: a plain RTP peer on the phone's side and an SRTP
# peer (libsrtp2, AEAD_AES_256_GCM) on the trunk's side exchange packets via
# the gateway's relay. Both directions must arrive; on the outside every
# packet must authenticate under the key the gateway offered, and the plain
# payload must never be visible there; a tampered and a replayed SRTP packet
# from the trunk must be dropped and counted, not forwarded.
. "$TESTS/integration/lib.sh"
PROBE="$(dirname "$PORTCULLIS_BIN")/../tests/tools/rtp_probe"
[ -x "$PROBE" ] || fail "rtp_probe not built"
call_config "$WORK/gw.conf"

start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"

# The phone calls and stays on the line for 4 s.
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 4000 &
UAC_PID=$!
PIDS="$PIDS $UAC_PID"

# The relay ports and the key the gateway offered, from what the peers saw.
relay_ports

"$PROBE" --bind 16000 --to "$in_port" --count 50 --ssrc 1111 >"$WORK/phone_probe.out" 2>&1 &
PHONE_PROBE=$!
sleep 0.2 # the phone's socket is bound before the trunk's first packet
"$PROBE" --bind 17000 --to "$out_port" --count 50 --ssrc 2222 --tamper --replay \
	--send "AEAD_AES_256_GCM:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw=" \
	--recv "AEAD_AES_256_GCM:$offered_key" >"$WORK/trunk_probe.out" 2>&1
trunk_rc=$?
wait $PHONE_PROBE
phone_rc=$?
note "phone: $(cat "$WORK/phone_probe.out")"
note "trunk: $(cat "$WORK/trunk_probe.out")"
[ $phone_rc -eq 0 ] || fail "plain side: media did not arrive intact"
[ $trunk_rc -eq 0 ] || fail "SRTP side: media did not arrive, did not authenticate, or leaked plaintext"
grep -q "marker_before_decrypt=0" "$WORK/trunk_probe.out" || fail "plaintext visible on the SRTP leg"
wait $UAC_PID || fail "the call did not end cleanly"
[ "$(counter media_auth_failures)" -ge 1 ] || fail "tampered SRTP packet not counted"
[ "$(counter media_replays_dropped)" -ge 1 ] || fail "replayed SRTP packet not counted"
# The phone never gets more than the trunk's 50 good packets: the tampered
# and the replayed one were not forwarded.
phone_got=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$WORK/phone_probe.out")
[ "${phone_got:-0}" -le 50 ] || fail "a bad SRTP packet reached the phone ($phone_got packets)"
stop_gateway
