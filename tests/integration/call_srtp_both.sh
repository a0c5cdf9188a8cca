#!/bin/bash
# SRTP on both legs: the inside leg is configured `srtp` too, so the phone
# offers RTP/SAVP with its own key. The gateway must still re-encrypt: real
# SRTP packets (libsrtp2 peers) cross in both directions, each leg under its
# own keys: what the phone sends authenticates only under the phone's key,
# what reaches the trunk only under the key the gateway offered the trunk,
# and no key of one leg appears on the other. It runs the relay with
# `media.io = "epoll"` (every other media test runs the default, io_uring
# where the kernel has it), so both packet paths carry real SRTP.
. "$TESTS/integration/lib.sh"
PROBE="$(dirname "$PORTCULLIS_BIN")/../tests/tools/rtp_probe"
[ -x "$PROBE" ] || fail "rtp_probe not built"
PHONE_KEY="UGhvbmVLZXlfUGhvbmVLZXlfUGhvbmVLZXlfUGhv"
TRUNK_KEY="AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw="
INSIDE_MEDIA=srtp call_config "$WORK/gw.conf" 'media = { io = "epoll"; };'

# The phone offers RTP/SAVP with an AES_CM_128_HMAC_SHA1_80 key and wants
# RTP/SAVP with one key of that suite back.
sed -e "s|^m=audio 16000 RTP/AVP 0 8 101|m=audio 16000 RTP/SAVP 0 8 101\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$PHONE_KEY|" \
	-e 's|m=audio 2\[0-9\]{4} RTP/AVP 0( 101)?\[\[:space:\]\]|m=audio 2[0-9]{4} RTP/SAVP 0( 101)?[[:space:]]|' \
	-e 's|<ereg regexp="a=crypto" search_in="body" check_it_inverse="true" assign_to="3"/>|<ereg regexp="a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" search_in="body" check_it="true" assign_to="3"/>|' \
	"$TESTS/integration/sipp/uac_call.xml" >"$WORK/phone.xml"
grep -q "RTP/SAVP 0( 101)" "$WORK/phone.xml" && grep -q "check_it=\"true\" assign_to=\"3\"" "$WORK/phone.xml" ||
	fail "could not derive the SRTP phone scenario"

start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"
expect_log "media: [0-9]+ workers?, epoll"
run_sipp "$WORK/phone.xml" 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 4000 &
UAC_PID=$!
PIDS="$PIDS $UAC_PID"

relay_ports
out_key=$offered_key
# The gateway's key toward the phone, in its answer.
in_key=$(awk '/^SIP\/2.0 200 OK/{f=1} f' "$WORK/sipp_msg.log" | grep -m1 -o 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/=]*' | sed 's/.*inline://')
[ -n "$in_key" ] || fail "no key in the gateway's answer to the phone"
[ "$in_key" != "$PHONE_KEY" ] || fail "the gateway answered the phone with the phone's own key"
if grep -q "$PHONE_KEY" "$WORK/trunk_msg.log"; then fail "the phone's key reached the trunk"; fi
if grep -q "$TRUNK_KEY" "$WORK/sipp_msg.log"; then fail "the trunk's key reached the phone"; fi
if grep -q "$in_key" "$WORK/trunk_msg.log"; then fail "the inside leg's gateway key reached the trunk"; fi

# Both peers send SRTP under their own keys and must receive SRTP that
# authenticates under the key the gateway gave them; the trunk also sends a
# tampered and a replayed packet, which must not reach the phone.
"$PROBE" --bind 16000 --to "$in_port" --count 50 --ssrc 1111 \
	--send "AES_CM_128_HMAC_SHA1_80:$PHONE_KEY" --recv "AES_CM_128_HMAC_SHA1_80:$in_key" \
	>"$WORK/phone_probe.out" 2>&1 &
PHONE_PROBE=$!
sleep 0.2
"$PROBE" --bind 17000 --to "$out_port" --count 50 --ssrc 2222 --tamper --replay \
	--send "AEAD_AES_256_GCM:$TRUNK_KEY" --recv "AEAD_AES_256_GCM:$out_key" >"$WORK/trunk_probe.out" 2>&1
trunk_rc=$?
wait $PHONE_PROBE
phone_rc=$?
note "phone: $(cat "$WORK/phone_probe.out")"
note "trunk: $(cat "$WORK/trunk_probe.out")"
[ $phone_rc -eq 0 ] || fail "inside SRTP: media did not arrive or did not authenticate under the gateway's key"
[ $trunk_rc -eq 0 ] || fail "outside SRTP: media did not arrive or did not authenticate under the gateway's key"
grep -q "marker_before_decrypt=0" "$WORK/trunk_probe.out" || fail "plaintext visible on the outside leg"
grep -q "marker_before_decrypt=0" "$WORK/phone_probe.out" || fail "plaintext visible on the inside leg"
wait $UAC_PID || fail "the call did not end cleanly"
expect_log "established \(leg A SRTP, leg B SRTP\)"
[ "$(counter media_auth_failures)" -ge 1 ] || fail "tampered SRTP packet not counted"
[ "$(counter media_replays_dropped)" -ge 1 ] || fail "replayed SRTP packet not counted"
phone_got=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$WORK/phone_probe.out")
[ "${phone_got:-0}" -le 50 ] || fail "a bad SRTP packet reached the phone ($phone_got packets)"
stop_gateway
