#!/bin/bash
# Real SRTP end to end with real user agents: a plain baresip phone on the
# inside (UDP, RTP/AVP) calls through the gateway to a baresip trunk on the
# outside (TLS, SDES-SRTP mandatory, auto-answer); each sends a tone from a
# WAV file made here (440 Hz from the phone, 1000 Hz from the trunk) for about
# 6 s. tcpdump records both relay legs. The call passes when:
#   - both baresips decoded the other's tone (sndfile dumps), so media flowed
#     both ways and baresip's own SRTP stack accepted the gateway's packets;
#   - in the capture, each direction of the outside leg has packets that all
#     authenticate under the key its sender put in the SDP (from baresip's SIP
#     trace), no piece of any plain payload of the inside leg is visible in
#     them, and each one decrypts to a payload the inside leg carried
#     (tests/tools/srtp_check); the inside leg has packets both ways, and
#     every packet the phone received is the plaintext of an outside packet
#     that authenticated (nothing unverified crossed, even before the answer);
#   - the gateway counted no SRTP authentication failure and left no call.
# Plain RTP on the outside leg, or no media, fails the test.
. "$TESTS/integration/lib.sh"
CHECK="$(dirname "$PORTCULLIS_BIN")/../tests/tools/srtp_check"
B="$TESTS/integration/baresip"
[ -x "$CHECK" ] || fail "srtp_check not built"
command -v baresip >/dev/null || fail "baresip not installed (Debian package baresip-core)"
command -v tcpdump >/dev/null || fail "tcpdump not installed"
[ -e /usr/lib/baresip/modules/srtp.so ] || fail "baresip has no srtp module"

call_config "$WORK/gw.conf"
for ua in trunk phone; do
	mkdir -p "$WORK/$ua" "$WORK/rec-$ua"
	sed -e "s|@WORK@|$WORK|g" -e "s|@CERTS@|$CERTS|g" "$B/$ua.config" >"$WORK/$ua/config"
	cp "$B/$ua.accounts" "$WORK/$ua/accounts"
done
python3 "$B/audio.py" make "$WORK/phone.wav" 440 1 || fail "cannot write phone.wav"
python3 "$B/audio.py" make "$WORK/trunk.wav" 1000 2 || fail "cannot write trunk.wav"

# Both relay legs, from before the call to after it. -Z root: tcpdump would
# otherwise open the file as its own user, which cannot write in $WORK.
tcpdump -i lo -n -U -Z root -w "$WORK/media.pcap" \
	'udp and (portrange 20000-20999 or portrange 30000-30999)' 2>"$WORK/tcpdump.log" &
CAP_PID=$!
PIDS="$PIDS $CAP_PID"
for _ in $(seq 100); do grep -q "listening on" "$WORK/tcpdump.log" && break; sleep 0.05; done
grep -q "listening on" "$WORK/tcpdump.log" || { cat "$WORK/tcpdump.log" >&2; fail "tcpdump did not start"; }

# The trunk (SIP trace on, quits by itself after 40 s at the latest).
timeout 50 baresip -f "$WORK/trunk" -s -t 40 </dev/null >"$WORK/trunk.log" 2>&1 &
TRUNK_PID=$!
PIDS="$PIDS $TRUNK_PID"
wait_port tcp 5071
start_gateway "$WORK/gw.conf"

# The phone dials at once and hangs up when it quits after 7 s.
timeout 20 baresip -f "$WORK/phone" -s -t 7 -e "/dial sip:12125551234@127.0.0.1:5060" \
	</dev/null >"$WORK/phone.log" 2>&1 &
PHONE_PID=$!
PIDS="$PIDS $PHONE_PID"
wait "$PHONE_PID"
# The BYE reaches the trunk through the gateway; then the trunk may go.
for _ in $(seq 100); do grep -q "terminated" "$WORK/trunk.log" && break; sleep 0.05; done
kill "$TRUNK_PID" 2>/dev/null
for _ in $(seq 100); do kill -0 "$TRUNK_PID" 2>/dev/null || break; sleep 0.05; done
sleep 0.2 # the last relayed packets reach the capture
kill "$CAP_PID"
wait "$CAP_PID" 2>/dev/null

# Traces without colours; what each side sent and received in SIP.
sed 's/\x1b\[[0-9;]*m//g' "$WORK/trunk.log" >"$WORK/trunk.trace"
sed 's/\x1b\[[0-9;]*m//g' "$WORK/phone.log" >"$WORK/phone.trace"
grep -q "Call established" "$WORK/phone.trace" || {
	tail -40 "$WORK/phone.trace" >&2; tail -20 "$WORK/gateway.log" >&2; fail "the phone's call was not established"; }
grep -q "Call established" "$WORK/trunk.trace" || { tail -40 "$WORK/trunk.trace" >&2; fail "the trunk never answered"; }
expect_log "call [0-9]+ established \(leg A RTP, leg B SRTP\)"
expect_log "call [0-9]+ closed: BYE"

# sdp_field TRACE START_REGEX AWK_REGEX: first match of AWK_REGEX in the first
# message starting with START_REGEX.
sdp_field() {
	awk -v s="$2" -v r="$3" '$0 ~ s { f = 1 } f && $0 ~ r { print; exit }' "$1" | tr -d '\r'
}
out_gw=$(sdp_field "$WORK/trunk.trace" '^INVITE ' '^m=audio' | awk '{print $2}')
trunk_rtp=$(sdp_field "$WORK/trunk.trace" '^SIP/2.0 200' '^m=audio' | awk '{print $2}')
phone_rtp=$(sdp_field "$WORK/phone.trace" '^INVITE ' '^m=audio' | awk '{print $2}')
in_gw=$(sdp_field "$WORK/phone.trace" '^SIP/2.0 200' '^m=audio' | awk '{print $2}')
answer=$(sdp_field "$WORK/trunk.trace" '^SIP/2.0 200' '^a=crypto:')
[ -n "$out_gw" ] && [ -n "$trunk_rtp" ] && [ -n "$phone_rtp" ] && [ -n "$in_gw" ] && [ -n "$answer" ] ||
	fail "ports or crypto answer missing from the SIP traces"
grep -q "RTP/SAVP" <<<"$(sdp_field "$WORK/trunk.trace" '^INVITE ' '^m=audio')" || fail "the trunk was not offered RTP/SAVP"
if grep -qE "a=crypto|RTP/SAVP" "$WORK/phone.trace"; then fail "SRTP details reached the plain phone"; fi
# a=crypto:TAG SUITE inline:KEY[|...]: the trunk's key, and the gateway's key
# offered under the tag the trunk accepted.
tag=$(sed -E 's/^a=crypto:([0-9]+) .*/\1/' <<<"$answer")
suite=$(awk '{print $2}' <<<"$answer")
trunk_key=$(sed -E 's/.* inline:([^ ]*).*/\1/' <<<"$answer")
offer=$(sdp_field "$WORK/trunk.trace" '^INVITE ' "^a=crypto:$tag ")
[ "$(awk '{print $2}' <<<"$offer")" = "$suite" ] || fail "answered suite $suite not offered under tag $tag"
gw_key=$(sed -E 's/.* inline:([^ ]*).*/\1/' <<<"$offer")
[ -n "$gw_key" ] && [ -n "$trunk_key" ] || fail "no keys in the SDP"
note "suite $suite (tag $tag); phone $phone_rtp <-> $in_gw gateway $out_gw <-> $trunk_rtp trunk"
grep -q "SRTP is Enabled (cryptosuite=$suite)" "$WORK/trunk.trace" || fail "the trunk did not enable SRTP"
if grep -q "srtp: failed to decrypt" "$WORK/trunk.trace"; then fail "the trunk could not decrypt the gateway's SRTP"; fi

# Outside leg, each direction: real SRTP under the sender's key, plaintext of
# the inside leg (same direction) never visible, the same media inside. Toward
# the phone the inside leg is the relay's output: every packet the phone got
# must be the plaintext of an outside packet that authenticated (--derived).
"$CHECK" --pcap "$WORK/media.pcap" --min 100 --flow "$out_gw:$trunk_rtp" --key "$suite:$gw_key" \
	--plain "$phone_rtp:$in_gw" >"$WORK/check_to_trunk.out" 2>&1
rc_to_trunk=$?
"$CHECK" --pcap "$WORK/media.pcap" --min 100 --flow "$trunk_rtp:$out_gw" --key "$suite:$trunk_key" \
	--plain "$in_gw:$phone_rtp" --derived >"$WORK/check_to_phone.out" 2>&1
rc_to_phone=$?
note "to trunk: $(cat "$WORK/check_to_trunk.out")"
note "to phone: $(cat "$WORK/check_to_phone.out")"
[ $rc_to_trunk -eq 0 ] || fail "phone -> trunk: outside packets missing, not SRTP under the offered key, or plaintext visible"
if grep -q "not_from_authenticated=[1-9]" "$WORK/check_to_phone.out"; then
	fail "the gateway forwarded to the phone packets that never authenticated on the SRTP leg"
fi
[ $rc_to_phone -eq 0 ] || fail "trunk -> phone: outside packets missing, not SRTP under the answered key, or plaintext visible"

# What each user agent heard (sndfile's dump of its decoder output): the
# other one's tone.
heard() { local f=("$WORK/rec-$1"/dump-*-dec.wav); echo "${f[0]}"; }
python3 "$B/audio.py" tone "$(heard phone)" 1000 440 >&2 || fail "the phone did not hear the trunk's 1000 Hz tone"
python3 "$B/audio.py" tone "$(heard trunk)" 440 1000 >&2 || fail "the trunk did not hear the phone's 440 Hz tone"

# The relay refuses nothing of the call. The one exception is baresip's own:
# when it tears a call down it sends its RTCP BYE after its SRTP state is gone,
# in plain (seen in captures: 68 bytes, SDES CNAME and "Adjo" in clear, no
# SRTCP trailer), and the relay rightly drops that. So every refusal must be
# an SRTCP one logged after the BYE reached the gateway, and each counted
# failure must be one of those logged lines.
bye_at=$(grep -n "call [0-9]*: BYE from leg" "$WORK/gateway.log" | head -1 | cut -d: -f1)
[ -n "$bye_at" ] || fail "no BYE in the gateway log"
early=$(awk -v b="$bye_at" 'NR < b && /media: stream .* refused \(status/' "$WORK/gateway.log")
[ -z "$early" ] || { echo "$early" >&2; fail "the gateway rejected some of the trunk's media during the call"; }
late_rtp=$(awk -v b="$bye_at" 'NR >= b && /media: stream .* SRTP refused \(status/' "$WORK/gateway.log")
[ -z "$late_rtp" ] || { echo "$late_rtp" >&2; fail "the gateway rejected some of the trunk's SRTP"; }
late_rtcp=$(awk -v b="$bye_at" 'NR >= b && /media: stream .* SRTCP refused \(status 2,/' "$WORK/gateway.log" | wc -l)
[ "$(counter media_auth_failures)" -le "$late_rtcp" ] || fail "the gateway rejected some of the trunk's SRTP"
[ "$late_rtcp" -eq 0 ] || note "$late_rtcp unprotected RTCP packet(s) from baresip's teardown dropped"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
