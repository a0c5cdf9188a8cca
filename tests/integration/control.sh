#!/bin/bash
# portcullisctl and the control socket (issue 11), against the real gateway
# running as `daemon` (so that `nobody` is another user):
#   - calls during a live call; `call kill ID` ends it: both SIPp sides get
#     a BYE with a Reason naming the operator, the relay ports close, the
#     call and its media streams are gone; the same ID again, and junk IDs,
#     are clear errors;
#   - counters, peers, log-level (a debug line appears only after
#     `log-level debug`), reload (an unchanged file applies; a broken one is refused with file:line);
#   - registrations lists a phone registered with digest, without its
#     password, HA1 or any nonce;
#   - attacks: a 100 KB request line, control bytes, 50 connections at once
#     (at most 8 served, the rest told "busy"), connections that never send
#     (closed after 5 s), a client of another uid (refused by the socket's
#     mode, and by SO_PEERCRED when the mode is loosened by hand), a member
#     of the socket's group admitted.
. "$TESTS/integration/lib.sh"
CTL="$(dirname "$PORTCULLIS_BIN")/../tools/portcullisctl"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
[ -x "$CTL" ] || fail "portcullisctl not built"
getent passwd daemon >/dev/null || fail "the test needs the system user daemon"
# A directory anyone may traverse (the nobody client must reach the socket
# to be refused by it), short enough for sun_path.
SOCKDIR=$(mktemp -d /tmp/pcctl.XXXXXX)
chmod 755 "$SOCKDIR"
SOCK="$SOCKDIR/control.sock"
trap 'cleanup; rm -rf "$SOCKDIR"' EXIT
ctl() { "$CTL" -s "$SOCK" "$@"; }
as_nobody() { setpriv --reuid=65534 --regid=65534 "$@"; }

CONTROL="user = \"daemon\"; control = { socket = \"$SOCK\"; };"

# placed SCENARIO STATE: the phone's call (SIPp SCENARIO) through the
# gateway, until the log shows "call N STATE"; sets id and phone.
placed() {
	local from
	from=$(($(wc -l <"$WORK/gateway.log") + 1)) # earlier calls' lines do not count
	( run_sipp "$1" 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 ) &
	phone=$!
	for _ in $(seq 100); do
		id=$(tail -n "+$from" "$WORK/gateway.log" | grep -oE "call [0-9]+ $2" | head -1 | awk '{print $2}')
		[ -n "$id" ] && return 0
		sleep 0.1
	done
	fail "no call reached \"$2\""
}
# killed METHOD STATE: `call kill $id` succeeds, both SIPp sides end their
# scenarios (each checks what it got), the trunk's METHOD (BYE, CANCEL)
# carries the operator's Reason and the log names the call's STATE.
killed() {
	local out
	out=$(ctl call kill "$id") || fail "call kill $id: $out"
	[ "$out" = "call $id: ending" ] || fail "call kill output: $out"
	wait "$phone" || { cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "the phone's scenario failed after the kill"; }
	wait_trunk
	grep -A12 "^$1 " "$WORK/trunk_msg.log" | grep -q 'Reason: SIP;cause=200;text="Call ended by the operator"' ||
		fail "the trunk's $1 carries no Reason naming the operator"
	expect_log "call $id: ended by the operator \\(state $2\\)"
}

# ---- calls, call kill, counters, peers, log-level, reload ----
call_config "$WORK/gw.conf" "$CONTROL"
start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"
[ "$(stat -c '%a %U %G' "$SOCK")" = "660 daemon daemon" ] ||
	fail "socket mode/owner: $(stat -c '%a %U %G' "$SOCK")"
echo "PASS control.socket_mode"

placed uac_call_killed.xml established
relay_ports
ctl --json calls >"$WORK/calls.json" || fail "calls failed"
python3 - "$WORK/calls.json" "$id" <<'PY' || fail "calls: not the live call: $(cat "$WORK/calls.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert [c["id"] for c in d["calls"]] == [sys.argv[2]], d
c = d["calls"][0]
assert [l["side"] for l in c["legs"]] == ["caller", "callee"]
assert c["legs"][1]["transport"] == "tls" and c["legs"][1]["srtp_suite"]
text = json.dumps(d).lower()
assert "inline:" not in text and "key" not in text and "nonce" not in text, text
PY
ctl calls | grep -qE "^$id +(answered|early|setup) " || fail "calls (human) does not list call $id: $(ctl calls)"
ctl --json counters >"$WORK/counters.json" || fail "counters failed"
python3 - "$WORK/counters.json" <<'PY' || fail "counters during the call: $(cat "$WORK/counters.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["gauges"]["calls"] == 1 and d["gauges"]["media_streams"] >= 1, d["gauges"]
assert d["counters"]["messages_received"] > 0
PY
echo "PASS control.calls_and_counters_during_a_call"

killed BYE confirmed
expect_log "call $id closed"
for _ in $(seq 50); do ss -lun | grep -qE ":($in_port|$out_port)\b" || break; sleep 0.1; done
ss -lun | grep -qE ":($in_port|$out_port)\b" && fail "relay ports still open after the kill"
ctl --json counters | python3 -c 'import json,sys; g=json.load(sys.stdin)["gauges"]; assert g["calls"] == 0 and g["media_streams"] == 0, g' ||
	fail "the call or its media outlived the kill"
echo "PASS control.call_kill_ends_both_legs"

out=$(ctl call kill "$id" 2>&1) && fail "a second kill of call $id succeeded"
[[ "$out" == *"no call $id"* ]] || fail "second kill: $out"
for junk in abc 0 -1 4294967296 99999999999 0x10 1e3 '%s%n' "$id;1"; do
	out=$(ctl call kill "$junk" 2>&1) && fail "call kill $junk succeeded"
	[[ "$out" == *"not a call number"* ]] || fail "call kill $junk: $out"
done
out=$(ctl call stop "$id" 2>&1) && fail "call stop accepted"
[[ "$out" == *"usage: call kill ID"* ]] || fail "call stop: $out"
out=$(ctl call kill 2>&1) && fail "call kill without ID accepted"
echo "PASS control.call_kill_junk_ids"

# A ringing call: the caller gets 487 with a Warning, the callee a CANCEL
# with the Reason.
start_trunk uas_trunk_ring.xml
placed uac_call_ring_killed.xml "inviting -> early"
killed CANCEL early
echo "PASS control.call_kill_while_ringing"

ctl peers >"$WORK/peers.txt" || fail "peers failed"
grep -qE "^trunk +tls +127\.0\.0\.1 +5071 +0 +not pinged" "$WORK/peers.txt" || fail "peers: $(cat "$WORK/peers.txt")"
echo "PASS control.peers"

options() { # options MARKER: an OPTIONS over UDP whose request line carries MARKER
	python3 - "$1" <<'PY'
import socket, sys
m = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(("OPTIONS sip:%s@localhost SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:15999;branch=z9hG4bK%s\r\n"
          "Max-Forwards: 70\r\nFrom: <sip:t@localhost>;tag=1\r\nTo: <sip:localhost>\r\n"
          "Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % (m, m, m)).encode(),
         ("127.0.0.1", 5060))
try:
    s.recv(4096)  # the answer (routed or refused) does not matter; the log line does
except OSError:
    pass
PY
}
[ "$(ctl log-level)" = "log level: debug" ] || fail "log-level: $(ctl log-level)"
[ "$(ctl log-level info)" = "log level: info (was debug)" ] || fail "log-level info"
options quietmarker || fail "OPTIONS not sent"
sleep 0.5
grep -q "quietmarker" "$WORK/gateway.log" && fail "a debug line was logged at level info"
ctl log-level debug >/dev/null || fail "log-level debug"
options loudmarker || fail "OPTIONS not sent"
expect_log "debug: OPTIONS sip:loudmarker@localhost"
out=$(ctl log-level verbose 2>&1) && fail "log-level verbose accepted"
[[ "$out" == *"unknown log level"* ]] || fail "log-level verbose: $out"
echo "PASS control.log_level"

out=$(ctl reload 2>&1) || fail "reload of an unchanged file: $out"
cp "$WORK/gw.conf" "$WORK/gw.conf.good"
echo 'routes = ( { from_leg = "inside" ' >>"$WORK/gw.conf"
out=$(ctl reload 2>&1) && fail "reload of a broken file succeeded: $out"
[[ "$out" == *"gw.conf:"[0-9]* ]] || fail "a refused reload does not name file:line: $out"
cp "$WORK/gw.conf.good" "$WORK/gw.conf"
[ "$(ctl log-level)" != "" ] || fail "the gateway stopped answering after a refused reload"
out=$(ctl frobnicate 2>&1) && fail "an unknown command succeeded"
[[ "$out" == *"unknown command"* ]] || fail "unknown command: $out"
echo "PASS control.reload_and_unknown_commands"

# ---- attacks on the socket ----
python3 - "$SOCK" <<'PY' || fail "100 KB request line"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(b"counters " + b"A" * 100000 + b"\n")
except OSError:
    pass  # the gateway stopped reading after 512 bytes and closed
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
except OSError:
    pass
assert data == b"" or b"request line too long" in data, data
PY
expect_log "longer than 511 bytes"
printf 'calls\033[2J\n' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
d = s.recv(4096); assert b"not printable" in d, d' "$SOCK" || fail "control bytes in a request accepted"
ctl counters >/dev/null || fail "the control socket does not answer after the long line"
echo "PASS control.long_and_binary_lines_refused"

started=$(date +%s)
python3 - "$SOCK" <<'PY' || fail "50 connections at once"
import socket, sys, time
socks = []
for _ in range(50):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(1)
busy, held = 0, []
for s in socks:
    s.setblocking(False)
    try:
        d = s.recv(4096)
        assert b"busy" in d, d
        busy += 1
    except BlockingIOError:
        held.append(s)
assert len(held) == 8 and busy == 42, (len(held), busy)
# The held ones never send: the gateway closes them after its 5 s.
deadline = time.time() + 8
for s in held:
    s.setblocking(True)
    s.settimeout(max(0.1, deadline - time.time()))
    assert s.recv(4096) == b""
PY
elapsed=$(($(date +%s) - started))
[ "$elapsed" -ge 4 ] || fail "idle control connections closed after ${elapsed}s, before their 5 s"
expect_log "sent no request within 5 s"
ctl counters >/dev/null || fail "the control socket does not answer after the flood"
echo "PASS control.connections_bounded_and_idle_ones_closed"

out=$(as_nobody --clear-groups "$CTL" -s "$SOCK" counters 2>&1) && fail "nobody was let in"
[[ "$out" == *"Permission denied"* ]] || fail "nobody: $out"
as_nobody --groups=1 "$CTL" -s "$SOCK" counters >/dev/null || fail "a member of the socket's group was refused"
chmod 0666 "$SOCK"
out=$(as_nobody --clear-groups "$CTL" -s "$SOCK" counters 2>&1) && fail "nobody was let in through a loosened mode"
[[ "$out" == *"permission denied"* ]] || fail "nobody through 0666: $out"
expect_log "connection from uid 65534 refused"
chmod 0660 "$SOCK"
echo "PASS control.other_users_refused"
stop_gateway

# ---- registrations (a digest registrar; the socket left by the daemon user
# is stale now and replaced) ----
[ -x "$PASSWD" ] || fail "portcullis-passwd not built"
echo "secret123" | "$PASSWD" alice portcullis.test >"$WORK/users" || fail "passwd: alice"
INSIDE_LEG='registrar = true; auth = "digest";' PHONE_ROUTE='registered = true;' \
	call_config "$WORK/gw.conf" "$CONTROL auth = { realm = \"portcullis.test\"; users = \"$WORK/users\"; algorithms = [ \"MD5\" ]; };"
start_gateway "$WORK/gw.conf"
sed -e "s/USER/alice/g" -e "s/PASSWORD/secret123/" -e "s/FINAL/200/" \
	"$TESTS/integration/sipp/uac_register.xml" >"$WORK/register.xml"
run_sipp "$WORK/register.xml" 127.0.0.1:5060 -t u1 -p 5090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "alice did not register"; }
ctl registrations >"$WORK/reg.txt" || fail "registrations failed"
ctl --json registrations >>"$WORK/reg.txt" || fail "registrations --json failed"
grep -qE "^sip:alice@portcullis.test +sip:alice@127\.0\.0\.1:5090 +udp +udp:127\.0\.0\.1:5090 +(29[0-9]|300)$" "$WORK/reg.txt" ||
	fail "registrations: $(cat "$WORK/reg.txt")"
nonce=$(grep -oE 'nonce="[^"]+"' "$WORK/sipp_msg.log" | head -1 | cut -d'"' -f2)
ha1=$(printf 'alice:portcullis.test:secret123' | md5sum | cut -d' ' -f1)
[ -n "$nonce" ] || fail "no nonce in the trace"
for secret in secret123 "$nonce" "$ha1" nonce response; do
	grep -qi -- "$secret" "$WORK/reg.txt" && fail "registrations shows $secret"
done
echo "PASS control.registrations_without_secrets"
stop_gateway
