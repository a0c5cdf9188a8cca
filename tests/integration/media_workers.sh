#!/bin/bash
# Media on worker threads (issue 12): `media = { workers = 2; }`, four
# calls at once from four plain phones (SIPp) to a plain trunk (SIPp, one
# media port per call), each carrying real RTP both ways (a peer on each
# side of each call, all in one process). Checks:
#   - every call's audio arrives both ways: each peer gets at least 90 % of
#     what the other side of its call sent, and nothing of another call;
#   - /calls names a worker for each call and both workers have calls; each
#     call's streams are relayed by its worker (its figures, which the
#     worker publishes, count packets on both legs); portcullisctl calls
#     shows the worker column;
#   - teardown under load: the calls end (BYE) while every relay port is
#     flooded with RTP from the peers' own ports; every call ends cleanly,
#     the streams and their ports all come back (media_streams 0), no
#     stream command fails on a worker, and the gateway stops cleanly (and
#     without a sanitizer report under tests/run's ASan build);
#   - the workers relay through io_uring (media.io's default) where the
#     kernel allows it.
# Without the workers (one loop) /calls has no second worker; without the
# published figures the per-leg counts stay 0.
# test-timeout: 120
. "$TESTS/integration/lib.sh"
CTL="$(dirname "$PORTCULLIS_BIN")/../tools/portcullisctl"
[ -x "$CTL" ] || fail "portcullisctl not built"
N=4
H=http://127.0.0.1:8080
SOCK="$WORK/ctl.sock"
OUTSIDE_MEDIA=rtp call_config "$WORK/gw.conf" "media = { workers = 2; };
http = { address = \"127.0.0.1\"; port = 8080; allow = [ \"127.0.0.1/32\" ]; };
control = { socket = \"$SOCK\"; };"
chmod 755 "$WORK"

start_trunk uas_trunk_workers.xml $N
start_gateway "$WORK/gw.conf"
expect_log "media: 2 workers"
# The default media.io: io_uring wherever the kernel allows it.
if kernel_has_io_uring; then
	expect_log "media: 2 workers, io_uring"
else
	note "this kernel refuses io_uring: the workers relay with epoll"
fi

# Phone i: UDP 1509i, its media on 1610i, dialling 1212555000i, on the
# line for 9 s.
UACS=""
for i in $(seq $N); do
	sed "s/m=audio 16000 /m=audio 1610$i /" "$TESTS/integration/sipp/uac_call.xml" >"$WORK/uac$i.xml"
	timeout 40 sipp -sf "$WORK/uac$i.xml" 127.0.0.1:5060 -s "1212555000$i" -t u1 -p "1509$i" \
		-m 1 -d 9000 -timeout 30s -timeout_error -nostdin -trace_err \
		-error_file "$WORK/uac${i}_err.log" -trace_msg -message_file "$WORK/uac${i}_msg.log" \
		>"$WORK/uac$i.out" 2>&1 &
	UACS="$UACS $!"
	PIDS="$PIDS $!"
done

# Each call's relay ports: the phone's from its 200, the trunk's from the
# INVITE that dialled its number (the trunk's k-th call answers from 1710k).
for _ in $(seq 100); do
	n=0
	for i in $(seq $N); do grep -q "^SIP/2.0 200 OK" "$WORK/uac${i}_msg.log" 2>/dev/null && n=$((n + 1)); done
	[ $n -eq $N ] && break
	sleep 0.1
done
[ $n -eq $N ] || { tail -30 "$WORK/gateway.log" >&2; fail "only $n of $N calls were answered"; }
python3 - "$WORK" $N >"$WORK/ports" <<'PY' || fail "no relay ports in the traces"
import re, sys
work, n = sys.argv[1], int(sys.argv[2])
trunk = open(work + "/trunk_msg.log").read()
invites = [m for m in re.split(r"\n(?=INVITE )", trunk) if m.startswith("INVITE ")]
by_number = {}
for k, inv in enumerate(invites, 1):
    num = re.search(r"^INVITE sips?:(\d+)@", inv, re.M).group(1)
    by_number[num] = (re.search(r"^m=audio (\d+)", inv, re.M).group(1), 17100 + k)
for i in range(1, n + 1):
    msg = open("%s/uac%d_msg.log" % (work, i)).read()
    ok = msg[msg.index("SIP/2.0 200 OK"):]
    in_port = re.search(r"^m=audio (\d+)", ok, re.M).group(1)
    out_port, trunk_port = by_number["1212555000%d" % i]
    print(i, in_port, out_port, trunk_port)
PY
cat "$WORK/ports" | while read -r i a b t; do note "call $i: inside relay $a, outside relay $b, trunk media $t"; done

# Audio both ways on every call, all at once, from one process (no start-up
# skew between peers): each peer sends 150 RTP packets 20 ms apart whose
# payload names its call and side, and counts what it receives.
python3 - "$WORK/ports" 150 >"$WORK/talk.out" 2>&1 <<'PY' &
import select, socket, struct, sys, time
count, peers = int(sys.argv[2]), []
for line in open(sys.argv[1]):
    i, in_port, out_port, trunk_port = line.split()
    for side, bind, to in (("phone", 16100 + int(i), int(in_port)), ("trunk", int(trunk_port), int(out_port))):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", bind))
        s.setblocking(False)
        peers.append({"call": i, "side": side, "sock": s, "to": ("127.0.0.1", to), "got": 0, "foreign": 0})
by_fd = {p["sock"].fileno(): p for p in peers}
start = time.time()
sent = 0
while True:
    now = time.time()
    if sent < count and now >= start + sent * 0.02:
        for p in peers:
            payload = ("PCWORKERS call=%s from=%s " % (p["call"], p["side"])).encode().ljust(160, b".")
            p["sock"].sendto(struct.pack("!BBHII", 0x80, 0, sent, sent * 160, 0x1000 + len(p["side"])) + payload, p["to"])
        sent += 1
    if sent >= count and now > start + count * 0.02 + 1.0:
        break
    for fd in select.select(list(by_fd), [], [], 0.005)[0]:
        p = by_fd[fd]
        while True:
            try:
                data = p["sock"].recv(2048)
            except BlockingIOError:
                break
            other = "trunk" if p["side"] == "phone" else "phone"
            want = ("PCWORKERS call=%s from=%s " % (p["call"], other)).encode()
            if data[12:12 + len(want)] == want:
                p["got"] += 1
            else:
                p["foreign"] += 1
bad = False
for p in peers:
    ok = p["got"] >= count * 0.9 and p["foreign"] == 0
    bad |= not ok
    print("call %s %s: received %d of %d, foreign %d%s" % (p["call"], p["side"], p["got"], count, p["foreign"], "" if ok else "  <- FAIL"))
sys.exit(1 if bad else 0)
PY
TALK=$!
PIDS="$PIDS $TALK"

# Mid-call: every call on a worker, both workers busy, figures on both
# legs (polled: the peers take a moment to start on a busy machine).
check_calls() {
	curl -s -f --max-time 2 "$H/calls" -o "$WORK/calls.json" || return 1
	python3 - "$WORK/calls.json" $N 2>"$WORK/calls.check" <<'PY'
import json, sys
calls = json.load(open(sys.argv[1]))["calls"]
n = int(sys.argv[2])
assert len(calls) == n, "%d calls listed" % len(calls)
workers = [c["media_worker"] for c in calls]
assert all(w in (0, 1) for w in workers), workers
assert set(workers) == {0, 1}, "workers used: %s" % workers
for c in calls:
    for leg in c["legs"]:
        assert len(leg["media"]) == 1, leg
        m = leg["media"][0]
        assert m["rx_packets"] > 0 and m["tx_packets"] > 0, (c["id"], leg["side"], m)
print("workers per call:", workers, file=sys.stderr)
PY
}
for _ in $(seq 20); do
	sleep 0.25
	check_calls && break
done
check_calls || { cat "$WORK/calls.json" "$WORK/calls.check" >&2; fail "/calls: calls not spread over the workers, or legs without media"; }
note "$(cat "$WORK/calls.check")"
"$CTL" -s "$SOCK" calls >"$WORK/ctl_calls.out" 2>&1 || { cat "$WORK/ctl_calls.out" >&2; fail "portcullisctl calls failed"; }
head -1 "$WORK/ctl_calls.out" | grep -q "WORKER" || fail "portcullisctl calls has no WORKER column"
for w in 0 1; do
	grep -qE "^[0-9]+ +answered +[0-9]+ +$w " "$WORK/ctl_calls.out" ||
		{ cat "$WORK/ctl_calls.out" >&2; fail "portcullisctl calls shows no call on worker $w"; }
done

wait "$TALK" || { cat "$WORK/talk.out" >&2; fail "audio did not arrive both ways on every call (or crossed calls)"; }
while read -r line; do note "$line"; done <"$WORK/talk.out"

# Teardown under load: from each peer's own port, RTP (about 2,000
# packets/s each) toward its relay port until the calls have ended (the phones hang up at
# 9 s), so the workers detach streams that are busy relaying.
python3 - "$WORK/ports" 20 "$WORK/flood.stop" >"$WORK/flood.out" 2>&1 <<'PY' &
import os, socket, struct, sys, time
socks = []
for line in open(sys.argv[1]):
    i, in_port, out_port, trunk_port = line.split()
    for bind, to in ((16100 + int(i), int(in_port)), (int(trunk_port), int(out_port))):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", bind))
        s.setblocking(False)
        socks.append((s, ("127.0.0.1", to)))
end, seq, sent = time.time() + float(sys.argv[2]), 0, 0
while time.time() < end and not os.path.exists(sys.argv[3]):
    seq = (seq + 1) & 0xffff
    for s, to in socks:
        pkt = struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0x5151) + b"\0" * 160
        try:
            s.sendto(pkt, to)
            sent += 1
        except OSError:
            pass  # the other side's port is closed: ICMP comes back
    time.sleep(0.0005)  # about 16,000 packets/s in all: load, not a CPU hog
print("flood sent", sent)
PY
FLOOD=$!
PIDS="$PIDS $FLOOD"
for u in $UACS; do
	wait "$u" || { cat "$WORK"/uac*_err.log >&2; tail -30 "$WORK/gateway.log" >&2; fail "a call did not end cleanly under load"; }
done
wait_trunk
expect_log "call [0-9]+ closed" 5
touch "$WORK/flood.stop"
wait "$FLOOD" || fail "the flood failed: $(cat "$WORK/flood.out")"
note "$(cat "$WORK/flood.out") during the teardown"
for _ in $(seq 50); do
	streams=$(curl -s --max-time 2 "$H/metrics" | awk '/^portcullis_media_streams /{print $2}')
	[ "$streams" = 0 ] && break
	sleep 0.1
done
[ "$streams" = 0 ] || fail "media streams left after the calls ended: $streams"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
grep -q "stream command .* failed" "$WORK/gateway.log" && fail "a stream command failed on a worker"
stop_gateway
