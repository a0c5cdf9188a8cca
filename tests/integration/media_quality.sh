#!/bin/bash
# Per-call media quality. A plain phone (inside, RTP) calls the trunk
# (outside, SRTP + SRTCP, libsrtp2) through the gateway; both send RTP from
# the deterministic generator (tests/tools/rtp_gen) for 4 s:
# - the phone leaves out every 20th packet (exactly 10 of 200, 5 %) and
#   holds every odd packet back 20 ms, so every transit difference is
#   20 ms and RFC 3550's jitter estimate settles near 19 ms (worked out
#   below from the same pattern);
# - both send an SR every 500 ms whose block reports fixed figures (the
#   trunk: fraction 25/256, 12 lost, jitter 160 units; the phone: 0, 0, 80)
#   and answers the other's SR with an LSR whose DLSR is 100 ms short, so
#   the gateway's relay-peer round trip comes out near 100 ms each way.
# The gateway's quality line for each leg when the call ends must show the
# loss exactly, jitter within 30 %, the round trip within 30 %, the
# reported figures exactly, and a MOS within 0.2 of the E-model for that
# loss, jitter and round trip. Attacks: a forged report (fraction 255,
# 99999 lost) on the SRTP leg without valid SRTCP authentication, and one
# in clear on the plain leg from a port the phone's SDP did not name, must
# change none of the figures (and are counted as dropped).
. "$TESTS/integration/lib.sh"
GEN="$(dirname "$PORTCULLIS_BIN")/../tests/tools/rtp_gen"
[ -x "$GEN" ] || fail "rtp_gen not built"
call_config "$WORK/gw.conf"

start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"

run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 8000 &
UAC_PID=$!
PIDS="$PIDS $UAC_PID"
relay_ports

"$GEN" --bind 16000 --to "$in_port" --count 200 --ssrc 1111 --drop-every 20 --hold-ms 20 \
	--report 0:0:80 --rtt-bias 100 --forge-from 16555 >"$WORK/phone_gen.out" 2>&1 &
PHONE_GEN=$!
PIDS="$PIDS $PHONE_GEN"
"$GEN" --bind 17000 --to "$out_port" --count 200 --ssrc 2222 --report 25:12:160 --rtt-bias 100 \
	--forge-unauth \
	--send "AEAD_AES_256_GCM:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw=" \
	--recv "AEAD_AES_256_GCM:$offered_key" >"$WORK/trunk_gen.out" 2>&1 || fail "trunk generator failed"
wait $PHONE_GEN || fail "phone generator failed"
note "phone: $(cat "$WORK/phone_gen.out")"
note "trunk: $(cat "$WORK/trunk_gen.out")"
grep -q "sent=190 dropped=10" "$WORK/phone_gen.out" || fail "the phone's generator did not drop as planned"
wait $UAC_PID || fail "the call did not end cleanly"
expect_log "leg outside: stream 0: rx" 5

inside=$(grep -m1 "leg inside: stream 0: rx" "$WORK/gateway.log")
outside=$(grep -m1 "leg outside: stream 0: rx" "$WORK/gateway.log")
note "inside:  ${inside#*stream 0: }"
note "outside: ${outside#*stream 0: }"

# Each check: the figure, what it must be, how far off it may be.
python3 - "$inside" "$outside" <<'PY' || fail "quality figures out of tolerance"
import re, sys
inside, outside = sys.argv[1], sys.argv[2]

def fig(line, pattern):
    m = re.search(pattern, line)
    if not m:
        sys.exit("no match for %r in %r" % (pattern, line))
    return m.group(1)

# RFC 3550 A.8 over the phone's exact pattern (ideal timing, 8 kHz).
j, prev = 0.0, None
for i in range(200):
    if i % 20 == 10:
        continue
    transit = (i * 20 + (i % 2) * 20) * 8 - i * 160
    if prev is not None:
        j += (abs(transit - prev) - j) / 16
    prev = transit
want_jitter = j / 8  # ms, about 18.9

def emodel(loss_pct, jitter_ms, rtt_ms):
    # G.711 with PLC (G.113 App. I: Ie 0, Bpl 25.1), random loss, the
    # gateway's delay model: RTT/2 + a jitter buffer of twice the jitter.
    d = rtt_ms / 2 + 2 * jitter_ms
    idd = 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0)
    ie = 95 * loss_pct / (loss_pct + 25.1)
    r = 93.2 - idd - ie
    return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6

errors = []
def check(name, got, want, tol):
    ok = abs(got - want) <= tol
    print("  %-22s %8.2f want %8.2f +- %.2f %s" % (name, got, want, tol, "ok" if ok else "FAIL"),
          file=sys.stderr)
    if not ok:
        errors.append(name)

# Inside (the plain phone's leg): its own RTP as the relay saw it.
check("inside rx", int(fig(inside, r"rx (\d+) pkts")), 190, 0)
check("inside lost", int(fig(inside, r"lost (\d+) ")), 10, 0)
check("inside loss %", float(fig(inside, r"lost \d+ \(([\d.]+)%\)")), 5.0, 0.001)
jit = float(fig(inside, r"jitter ([\d.]+) ms, rtt"))
check("inside jitter ms", jit, want_jitter, 0.3 * want_jitter)
rtt = float(fig(inside, r"rtt ([\d.]+) ms"))
check("inside rtt ms", rtt, 100, 30)
check("inside MOS", float(fig(inside, r"MOS ([\d.]+)")), emodel(5.0, want_jitter, 100), 0.2)
# the same with what the gateway measured: its MOS is its E-model's
check("inside MOS (own)", float(fig(inside, r"MOS ([\d.]+)")), emodel(5.0, jit, rtt), 0.01)
# The phone's own report: 0 lost, jitter 80 units = 10 ms (the forged one
# from port 16555 said 255/256 and 99999).
check("inside reported %", float(fig(inside, r"reported loss ([\d.]+)%")), 0.0, 0)
check("inside reported cum", int(fig(inside, r"reported loss [\d.]+% \(cum (-?\d+)\)")), 0, 0)
check("inside reported jit", float(fig(inside, r"reported loss .*jitter ([\d.]+) ms")), 10.0, 0)

# Outside (the SRTP trunk): nothing lost; its SRTCP report believed, the
# unauthenticated forgery not.
check("outside rx", int(fig(outside, r"rx (\d+) pkts")), 200, 0)
check("outside lost", int(fig(outside, r"lost (\d+) ")), 0, 0)
check("outside rtt ms", float(fig(outside, r"rtt ([\d.]+) ms")), 100, 30)
check("outside reported %", float(fig(outside, r"reported loss ([\d.]+)%")), 9.8, 0.05)
check("outside reported cum", int(fig(outside, r"reported loss [\d.]+% \(cum (-?\d+)\)")), 12, 0)
check("outside reported jit", float(fig(outside, r"reported loss .*jitter ([\d.]+) ms")), 20.0, 0)
check("outside MOS", float(fig(outside, r"MOS ([\d.]+)")), emodel(0, 0, 100), 0.2)
sys.exit(1 if errors else 0)
PY

# The forgeries reached the relay and were dropped there.
[ "$(counter media_source_refused_dropped)" -ge 1 ] || fail "the wrong-source RTCP was not counted"
[ "$(counter media_auth_failures)" -ge 1 ] || fail "the forged SRTCP was not counted"
stop_gateway
