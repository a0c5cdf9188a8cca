#!/bin/bash
# A TLS alert record with a description code GnuTLS has no name for, sent
# before any ClientHello (and, in a second form, split so the record header
# and its body arrive in separate segments), to the SIP TLS listener and to
# the HTTPS http listener: the failure is logged as "alert 255", counted,
# and the gateway goes on serving (found by review: the log line read the
# NULL name GnuTLS returns for such a code, and 7 unauthenticated bytes
# crashed the network process). A named code (40) is the control. Fails
# when the gateway dies, stops answering TLS, or logs no failure.
. "$TESTS/integration/lib.sh"
rc=0
pass() { echo "PASS tls_alert.$1"; }
flunk() { echo "FAIL tls_alert.$1: $2"; rc=1; }

PORT=8443
write_config "$WORK/gw.conf" required "" "http = { address = \"127.0.0.1\"; port = $PORT; allow = [ \"127.0.0.1/32\" ];
  tls = { certificate = \"$CERTS/gateway.crt\"; key = \"$CERTS/gateway.key\"; ca = \"$CERTS/ca.crt\";
          verify_peer = \"required\"; }; };"
# alert PORT CODE SPLIT: one plaintext fatal alert record (SPLIT=1: its
# 5-byte header, a pause, then its 2-byte body), then wait for the close.
alert() {
	python3 - "$@" <<'PY'
import socket, sys, time
port, code, split = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rec = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, code])
if split:
    s.sendall(rec[:5]); time.sleep(0.2); s.sendall(rec[5:])
else:
    s.sendall(rec)
try:
    s.recv(100)
except OSError:
    pass
PY
}
# tls_answers PORT: a full handshake still completes (the listener serves).
tls_answers() {
	gnutls-cli --x509cafile "$CERTS/ca.crt" --x509certfile "$CERTS/alice.crt" \
		--x509keyfile "$CERTS/alice.key" -p "$1" localhost </dev/null >/dev/null 2>&1
}

start_gateway "$WORK/gw.conf"
wait_port tcp $PORT
for target in "5061:sip_tls" "$PORT:http"; do
	p=${target%%:*} name=${target#*:}
	for code in 40 255; do
		for split in 0 1; do
			t="${name}_alert_${code}$([ $split = 1 ] && echo _split)"
			alert "$p" "$code" "$split"
			sleep 0.3
			if ! kill -0 "$GW_PID" 2>/dev/null; then
				wait "$GW_PID" 2>/dev/null
				flunk "$t" "the gateway died (status $?) after 7 bytes to port $p: $(tail -2 "$WORK/gateway.log" | tr '\n' ';')"
				exit 1
			fi
			if tls_answers "$p"; then
				pass "$t"
			else
				flunk "$t" "no TLS handshake on port $p after the alert"
			fi
		done
	done
done
if grep -q 'alert 255' "$WORK/gateway.log"; then
	pass unknown_alert_logged_by_number
else
	flunk unknown_alert_logged_by_number "no 'alert 255' in the log: $(grep -i alert "$WORK/gateway.log" | tail -3 | tr '\n' ';')"
fi
stop_gateway
exit $rc
