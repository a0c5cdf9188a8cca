#!/bin/bash
# SIGHUP reload (issue 11): a call up across a reload that changes a route
# and an ACL keeps its media and ends with BYE over the trunk's TLS
# connection opened before the reload; the new ACL refuses a source that the
# old one admitted; a file with a syntax error is refused with file:line and
# the old configuration keeps serving; a changed listener or certificate is
# reported "restart required" and the running one keeps serving; the log
# level follows the file; 50 reloads in a row leave the descriptor count
# where it was. Under ASan (tests/run's second pass) leaks fail the test.
. "$TESTS/integration/lib.sh"
PROBE="$(dirname "$PORTCULLIS_BIN")/../tests/tools/rtp_probe"
[ -x "$PROBE" ] || fail "rtp_probe not built"

# options SOURCE_IP: the status of a gateway's answer to an OPTIONS sent
# over UDP from SOURCE_IP to 127.0.0.1:5060 ("none" without an answer in 1 s).
options() {
	python3 - "$1" <<'PY'
import socket, sys, os
src = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(1.0)
port = s.getsockname()[1]
tag = os.urandom(4).hex()
msg = ("OPTIONS sip:localhost SIP/2.0\r\n"
       f"Via: SIP/2.0/UDP {src}:{port};branch=z9hG4bK{tag}\r\n"
       "Max-Forwards: 70\r\n"
       f"From: <sip:probe@{src}>;tag={tag}\r\nTo: <sip:localhost>\r\n"
       f"Call-ID: {tag}@{src}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
s.sendto(msg.encode(), ("127.0.0.1", 5060))
try:
    print(s.recv(65535).decode(errors="replace").split()[1])
except socket.timeout:
    print("none")
PY
}

# own_cert: the outside listener presents $WORK/tls.crt (a copy the test may
# replace) rather than the shared development certificate.
own_cert() {
	sed -i "0,\|$CERTS/gateway.crt|s||$WORK/tls.crt|" "$WORK/gw.conf"
}

# served_cert: the first certificate the outside TLS listener presents, PEM.
served_cert() {
	gnutls-cli --x509cafile "$CERTS/ca.crt" --x509certfile "$CERTS/trunk.crt" \
		--x509keyfile "$CERTS/trunk.key" --print-cert -p 5061 127.0.0.1 </dev/null 2>/dev/null |
		awk '/BEGIN CERT/ { on = 1 } on { print } /END CERT/ { exit }'
}
first_cert() { awk '/BEGIN CERT/ { on = 1 } on { print } /END CERT/ { exit }' "$1"; }

# renew OUT [KEY]: a new certificate for the gateway's names signed by the
# development CA, for the gateway's key (or KEY, a new one).
renew() {
	local key=${2:-$CERTS/gateway.key}
	certtool --generate-certificate --load-privkey "$key" --load-ca-certificate "$CERTS/ca.crt" \
		--load-ca-privkey "$CERTS/ca.key" --template "$TESTS/../certs/templates/gateway.cfg" \
		--outfile "$1.tmp" 2>/dev/null || fail "cannot make a certificate"
	mv "$1.tmp" "$1"
}

# reload_and_wait: SIGHUP, then the next "reload:" line (applied or refused).
reload_and_wait() {
	local before
	before=$(grep -c "reload: \|reload refused" "$WORK/gateway.log")
	kill -HUP "$GW_PID"
	for _ in $(seq 100); do
		[ "$(grep -c "reload: \|reload refused" "$WORK/gateway.log")" -gt "$before" ] && return 0
		sleep 0.05
	done
	fail "no reload report after SIGHUP"
}

ABUSE_V1='abuse = { deny = [ "127.0.0.9" ]; };'
ABUSE_V2='abuse = { deny = [ "127.0.0.9", "127.0.0.5" ]; };'
cp "$CERTS/gateway.crt" "$WORK/tls.crt"
call_config "$WORK/gw.conf" "$ABUSE_V1"
own_cert
start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"

[ "$(options 127.0.0.5)" = 200 ] || fail "127.0.0.5 not admitted before the reload"

# A call that stays up 8 s; the reload happens while it is answered.
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 8000 &
UAC_PID=$!
PIDS="$PIDS $UAC_PID"
relay_ports

# The new file: 127.0.0.5 denied, a new route before the old ones (calls
# from inside to user 555 go to a static contact), log level info.
call_config "$WORK/gw.conf" "$ABUSE_V2"
own_cert
sed -i 's/^routes = (/routes = (\n  { from_leg = "inside"; user = "555"; to_leg = "outside"; transport = "udp"; address = "127.0.0.1"; port = 5999; },/' "$WORK/gw.conf"
echo 'log_level = "info";' >>"$WORK/gw.conf"
reload_and_wait
grep -q "reload: applied $WORK/gw.conf\$" "$WORK/gateway.log" || { tail "$WORK/gateway.log" >&2; fail "reload not applied cleanly"; }

# Media still flows both ways through the call set up before the reload.
# The SRTP side goes first: the relay sends to a secure side only once it
# latched to an authenticated packet from there.
"$PROBE" --bind 17000 --to "$out_port" --count 100 --ssrc 2222 \
	--send "AEAD_AES_256_GCM:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw=" \
	--recv "AEAD_AES_256_GCM:$offered_key" >"$WORK/trunk_probe.out" 2>&1 &
TRUNK_PROBE=$!
sleep 0.2
"$PROBE" --bind 16000 --to "$in_port" --count 100 --ssrc 1111 >"$WORK/phone_probe.out" 2>&1 ||
	fail "plain side: no media after the reload"
wait $TRUNK_PROBE || fail "SRTP side: no media after the reload"
# The caller's BYE crosses the gateway and reaches the trunk over the TLS
# connection opened before the reload (stunnel accepted only that one).
wait $UAC_PID || fail "the call did not end cleanly after the reload"
wait_trunk
[ "$(grep -c "accepted connection" "$WORK/stunnel-5071.log")" -eq 1 ] ||
	fail "the trunk's TLS connection did not survive the reload"

# The new ACL applies to new requests; others are still admitted.
[ "$(options 127.0.0.5)" != 200 ] || fail "the reloaded deny list did not refuse 127.0.0.5"
[ "$(options 127.0.0.1)" = 200 ] || fail "127.0.0.1 refused after the reload"
# Debug lines stop: the file's level applies (the test started at debug).
: >"$WORK/mark"
lines_before=$(grep -c " debug: " "$WORK/gateway.log")
options 127.0.0.1 >/dev/null
[ "$(grep -c " debug: " "$WORK/gateway.log")" -eq "$lines_before" ] || fail "log level not reloaded"

# A syntax error: refused, named by file and line, the old configuration serves.
cp "$WORK/gw.conf" "$WORK/gw.good"
printf 'timers = { t1 = 500;\n' >>"$WORK/gw.conf" # no closing brace
reload_and_wait
grep -qE "reload refused.*$WORK/gw.conf:[0-9]+: syntax error" "$WORK/gateway.log" || fail "syntax error not reported with file:line"
[ "$(options 127.0.0.1)" = 200 ] || fail "old configuration not serving after a refused reload"
[ "$(options 127.0.0.5)" != 200 ] || fail "a refused reload changed the deny list"

# A semantic error (a network that does not parse) is refused the same way.
cp "$WORK/gw.good" "$WORK/gw.conf"
sed -i 's/"127.0.0.5"/"127.0.0.500"/' "$WORK/gw.conf"
reload_and_wait
grep -qE "reload refused.*gw.conf:[0-9]+: abuse.deny" "$WORK/gateway.log" || fail "bad network not reported with file:line"
[ "$(options 127.0.0.5)" != 200 ] || fail "a refused reload changed the deny list"

# A changed listener port: restart required, the rest applies, the old
# listener still serves.
cp "$WORK/gw.good" "$WORK/gw.conf"
sed -i 's/port = 5060; },/port = 5062; },/; s/"127.0.0.9", "127.0.0.5"/"127.0.0.9"/' "$WORK/gw.conf"
reload_and_wait
grep -q "restart required: listeners\[inside-udp\], listeners\[inside-tcp\] (running values kept)" \
	"$WORK/gateway.log" || fail "listener changes not reported as restart required"
[ "$(options 127.0.0.1)" = 200 ] || fail "the old listener stopped serving"
[ "$(options 127.0.0.5)" = 200 ] || fail "the rest of a reload with restart-only keys was not applied"
ss -lun | grep -q ":5062 " && fail "a listener was half-applied"

# A certificate renewed in place: new handshakes present it, a TLS
# connection opened before keeps working.
cp "$WORK/gw.good" "$WORK/gw.conf"
[ "$(served_cert)" = "$(first_cert "$CERTS/gateway.crt")" ] || fail "not serving the first certificate"
python3 "$TESTS/integration/reload_tls_hold.py" "$CERTS" "$WORK/held" >"$WORK/held.out" 2>&1 &
HELD=$!
PIDS="$PIDS $HELD"
for _ in $(seq 100); do [ -f "$WORK/held.ready" ] && break; sleep 0.05; done
[ -f "$WORK/held.ready" ] || fail "the held TLS connection did not open"
renew "$WORK/tls.crt"
reload_and_wait
[ "$(served_cert)" = "$(first_cert "$WORK/tls.crt")" ] || fail "new handshakes do not present the renewed certificate"
touch "$WORK/held.go"
wait $HELD || { cat "$WORK/held.out" >&2; fail "the TLS connection opened before the reload did not survive it"; }
# A certificate for another key: the key holder's key cannot change without
# a restart; refused, the renewed one still served.
certtool --generate-privkey --key-type=ecdsa --outfile "$WORK/other.key" 2>/dev/null
cp "$WORK/tls.crt" "$WORK/tls.keep"
renew "$WORK/tls.crt" "$WORK/other.key"
reload_and_wait
grep -q "not for the key the key holder holds" "$WORK/gateway.log" || fail "a certificate for another key was not refused"
[ "$(served_cert)" = "$(first_cert "$WORK/tls.keep")" ] || fail "a refused certificate was served"
mv "$WORK/tls.keep" "$WORK/tls.crt"

# Many reloads: no crash, no descriptor leak.
cp "$WORK/gw.good" "$WORK/gw.conf"
reload_and_wait
fds_before=$(ls /proc/$GW_PID/fd | wc -l)
for _ in $(seq 50); do reload_and_wait; done
fds_after=$(ls /proc/$GW_PID/fd | wc -l)
note "descriptors before $fds_before, after 50 reloads $fds_after"
[ "$fds_after" -le "$fds_before" ] || fail "descriptors grew across reloads ($fds_before -> $fds_after)"
kill -0 "$GW_PID" || fail "gateway died during reloads"
[ "$(options 127.0.0.1)" = 200 ] || fail "not serving after 50 reloads"
stop_gateway
