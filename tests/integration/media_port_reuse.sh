#!/bin/bash
# Relay port quarantine against late packets (issue 12), with the gateway,
# SIPp and real RTP/SRTP: a phone's call ends while the phone (or an
# attacker who learnt the port) goes on sending RTP to the call's inside
# relay port from the same address and port its SDP named. The inside range
# has two pairs and the test holds the other one (a foreign process bound
# on it, which the allocator skips), so the released pair is the only one:
#  (a) a call placed at once, inside the quarantine, gets a clean 503 (no
#      crash, counted media_ports_exhausted) instead of that pair, while
#      the late packets flow; without the quarantine it would get the pair
#      and the late packets would cross to its trunk (same source: even
#      the strict source rule takes them);
#  (b) once the quarantine is over (1 s) the next call gets that pair, and
#      its trunk receives the phone's 50 packets and nothing of the old
#      stream's.
. "$TESTS/integration/lib.sh"
PROBE="$(dirname "$PORTCULLIS_BIN")/../tests/tools/rtp_probe"
[ -x "$PROBE" ] || fail "rtp_probe not built"
call_config "$WORK/gw.conf"
sed -i 's/rtp_ports = \[ 20000, 20999 \]/rtp_ports = [ 20000, 20003 ]/' "$WORK/gw.conf"
grep -q "20000, 20003" "$WORK/gw.conf" || fail "could not narrow the inside range"
start_gateway "$WORK/gw.conf"

# Call 1: the phone calls out and talks for 1 s; X is its inside relay port.
start_trunk uas_trunk.xml
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 1000 &
CALL_PID=$!
PIDS="$PIDS $CALL_PID"
relay_ports
x=$in_port
# The other pair is held while call 1 still talks, so that the refused call
# of (a) follows call 1's end at once: the quarantine is only 1 s, and a
# slow machine (ASan, a busy CI) must not spend it on set-up.
other=$((x == 20000 ? 20002 : 20000))
/usr/bin/python3 -c '
import socket, sys, time
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for i, x in enumerate(s):
    x.bind(("127.0.0.1", int(sys.argv[1]) + i))
print("held", flush=True)
time.sleep(30)' "$other" >"$WORK/holder.out" 2>&1 &
HOLDER_PID=$!
PIDS="$PIDS $HOLDER_PID"
for _ in $(seq 250); do grep -q held "$WORK/holder.out" && break; sleep 0.02; done
grep -q held "$WORK/holder.out" || fail "could not hold pair $other"
before=$(counter media_ports_exhausted)
wait "$CALL_PID" || fail "call 1 failed"
# The late packets: the old call's phone port 16000 to X, 20 ms apart, for
# 0.6 s from the end of the call, well inside the 1 s quarantine.
"$PROBE" --bind 16000 --to "$x" --count 30 --ssrc 3333 >"$WORK/late.out" 2>&1 &
LATE_PID=$!
PIDS="$PIDS $LATE_PID"

# (a) Inside the quarantine: refused with 503, not X.
rm -f "$WORK/sipp_msg.log"
run_sipp uac_call_503.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 || {
	grep -m1 -A3 "^SIP/2.0" "$WORK/sipp_msg.log" >&2
	fail "(a) a call inside the quarantine was not refused with 503 (the released port was reused?)"; }
[ "$(counter media_ports_exhausted)" -gt "$before" ] || fail "(a) the refusal was not counted"
kill -0 "$GW_PID" || fail "(a) the gateway died"
echo "PASS quarantine_refuses_released_port"
wait_trunk

# (b) After the quarantine and the late packets: the next call gets X, and
# its trunk hears the phone's packets only.
wait "$LATE_PID"
sleep 0.6
rm -f "$WORK/sipp_msg.log" "$WORK/trunk_msg.log"
start_trunk uas_trunk.xml
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 3000 &
CALL_PID=$!
PIDS="$PIDS $CALL_PID"
relay_ports
[ "$in_port" -eq "$x" ] || fail "(b) after the quarantine the call got $in_port, not the released $x"
"$PROBE" --bind 16000 --to "$in_port" --count 50 --ssrc 1111 >"$WORK/phone_probe.out" 2>&1 &
phone_pid=$!
"$PROBE" --bind 17000 --to "$out_port" --count 50 --ssrc 2222 \
	--send "AEAD_AES_256_GCM:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw=" \
	--recv "AEAD_AES_256_GCM:$offered_key" >"$WORK/trunk_probe.out" 2>&1 || {
	cat "$WORK/trunk_probe.out" >&2; fail "(b) the trunk's media did not arrive or did not authenticate"; }
wait $phone_pid || { cat "$WORK/phone_probe.out" >&2; fail "(b) the phone's media did not arrive"; }
got=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$WORK/trunk_probe.out")
note "late sender: $(cat "$WORK/late.out")"
note "trunk: $(cat "$WORK/trunk_probe.out")"
[ "${got:-0}" -le 50 ] || fail "(b) the old call's late packets reached the new call's trunk ($got packets)"
wait "$CALL_PID" || fail "(b) the call failed"
wait_trunk
echo "PASS port_reused_after_quarantine_clean"
kill "$HOLDER_PID" 2>/dev/null
stop_gateway
