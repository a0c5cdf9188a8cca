#!/bin/bash
# HTTPS on the HTTP listener (issue 11, http.tls): with verify_peer
# "required" a client with the development client certificate reads
# /metrics (promtool-valid) and a real Prometheus server scrapes it with the
# documented tls_config; a client without a certificate, one with a
# certificate of another CA and plain HTTP all fail before any document;
# TLS 1.3 is negotiated and TLS 1.1 refused; a certified client outside
# http.allow still gets 403; 200 connections that never finish the handshake
# hold at most the cap of 128 and the listener serves once they go; a
# renewed certificate is served to new connections after SIGHUP. With
# verify_peer "optional" a client without a certificate gets the x5u
# document but 403 for live documents. Fails when any of these does not
# hold, or a failed handshake is not counted.
. "$TESTS/integration/lib.sh"
rc=0
pass() { echo "PASS http_tls.$1"; }
flunk() { echo "FAIL http_tls.$1: $2"; rc=1; }

PORT=8443
H=https://localhost:$PORT
# curl_tls [CURL ARGS...]: the HTTP status of a request over TLS to the
# listener, trusting the development CA ("000": no HTTP answer at all).
curl_tls() {
	curl -s --max-time 5 --resolve localhost:$PORT:127.0.0.1 --cacert "$CERTS/ca.crt" \
		-o "$WORK/body" -w '%{http_code}' "$@"
}
CLIENT=(--cert "$CERTS/alice.crt" --key "$CERTS/alice.key")
# served_cert: the first certificate the listener presents, PEM.
served_cert() {
	gnutls-cli --x509cafile "$CERTS/ca.crt" --x509certfile "$CERTS/alice.crt" \
		--x509keyfile "$CERTS/alice.key" --print-cert -p $PORT localhost </dev/null 2>/dev/null |
		awk '/BEGIN CERT/ { on = 1 } on { print } /END CERT/ { exit }'
}
first_cert() { awk '/BEGIN CERT/ { on = 1 } on { print } /END CERT/ { exit }' "$1"; }

cp "$CERTS/gateway.crt" "$WORK/http.crt"
cp "$CERTS/gateway.key" "$WORK/http.key"
# http_config VERIFY: the gateway's configuration with HTTPS on the listener.
http_config() {
	write_config "$WORK/gw.conf" required "" "stir = { certificate = \"$CERTS/sti.crt\"; key = \"$CERTS/sti.key\";
  x5u = \"https://localhost:$PORT/sti.pem\"; country_code = \"\"; };
http = { address = \"127.0.0.1\"; port = $PORT; allow = [ \"127.0.0.1/32\" ];
  tls = { certificate = \"$WORK/http.crt\"; key = \"$WORK/http.key\"; ca = \"$CERTS/ca.crt\";
          verify_peer = \"$1\"; }; };"
}

# verify_peer "none" would serve no live document: refused by --check-config.
http_config none
out=$("$PORTCULLIS_BIN" --check-config --config "$WORK/gw.conf" 2>&1) &&
	flunk verify_none_refused "--check-config accepted http.tls.verify_peer none" ||
	{ grep -q "http.tls.verify_peer\|verify_peer" <<<"$out" && pass verify_none_refused ||
		flunk verify_none_refused "$out"; }

http_config required
"$PORTCULLIS_BIN" --check-config --config "$WORK/gw.conf" >"$WORK/check.out" 2>&1 &&
	pass check_config || flunk check_config "$(cat "$WORK/check.out")"
start_gateway "$WORK/gw.conf"
wait_port tcp $PORT
# The key holder read the key at start; the network process never reads it
# (the reload below loads the renewed certificate without it).
rm "$WORK/http.key"

# A client that starts a handshake and never finishes it: closed by the
# 10 s idle timeout (checked at the end of the first run).
python3 - $PORT >"$WORK/stall.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03")
t0 = time.monotonic()
s.settimeout(30)
try:
    while s.recv(4096): pass
except OSError: pass
print("closed after %.1f" % (time.monotonic() - t0), flush=True)
PY
STALL=$!
PIDS="$PIDS $STALL"

# 1. The client certificate of the development CA reads the live documents.
code=$(curl_tls "${CLIENT[@]}" "$H/metrics")
if [ "$code" = 200 ] && grep -q '^portcullis_messages_received_total ' "$WORK/body"; then
	pass metrics_with_client_cert
	cp "$WORK/body" "$WORK/metrics.txt"
	if command -v promtool >/dev/null; then
		promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 &&
			pass promtool_valid || flunk promtool_valid "$(cat "$WORK/promtool.out")"
	else
		note "promtool not installed (Debian package prometheus)"
	fi
else
	flunk metrics_with_client_cert "got $code: $(head -c 300 "$WORK/body")"
fi
for p in /health /calls; do
	code=$(curl_tls "${CLIENT[@]}" "$H$p")
	[ "$code" = 200 ] && pass "live_doc${p//\//_}" || flunk "live_doc${p//\//_}" "got $code"
done

# 2. No client certificate: refused in the handshake, no HTTP answer.
failed0=$(counter http_tls_failures)
code=$(curl_tls "$H/metrics")
[ "$code" = 000 ] && ! grep -q portcullis_ "$WORK/body" && pass no_client_cert_refused ||
	flunk no_client_cert_refused "got $code"
code=$(curl_tls "$H/sti.pem")
[ "$code" = 000 ] && pass no_client_cert_no_x5u || flunk no_client_cert_no_x5u "got $code"

# 3. A client certificate of a CA the listener does not trust.
make_rogue_cert "$WORK/rogue"
code=$(curl_tls --cert "$WORK/rogue/peer.crt" --key "$WORK/rogue/peer.key" "$H/metrics")
[ "$code" = 000 ] && pass other_ca_refused || flunk other_ca_refused "got $code"
# The STI signer's certificate chains to the STI-CA, not to http.tls.ca.
code=$(curl_tls --cert "$CERTS/sti-peer.crt" --key "$CERTS/sti-peer.key" "$H/metrics")
[ "$code" = 000 ] && pass sti_ca_refused || flunk sti_ca_refused "got $code"

# 4. Plain HTTP to the HTTPS port: no document, the connection closed.
code=$(curl -s --max-time 5 -o "$WORK/plain" -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")
[ "$code" = 000 ] && ! grep -q portcullis_ "$WORK/plain" && pass plain_http_refused ||
	flunk plain_http_refused "got $code: $(head -c 200 "$WORK/plain")"
failed1=$(counter http_tls_failures)
[ $((failed1 - failed0)) -ge 4 ] && pass handshake_failures_counted ||
	flunk handshake_failures_counted "http_tls_failures $failed0 -> $failed1"

# 5. TLS 1.3 by default, 1.2 allowed, 1.1 refused (the SIP listeners' priority).
gnutls-cli --x509cafile "$CERTS/ca.crt" --x509certfile "$CERTS/alice.crt" --x509keyfile "$CERTS/alice.key" \
	-p $PORT localhost </dev/null >"$WORK/cli13.out" 2>&1
grep -q "Description: (TLS1.3" "$WORK/cli13.out" && pass tls13 || flunk tls13 "$(grep -i "description\|error" "$WORK/cli13.out")"
gnutls-cli --x509cafile "$CERTS/ca.crt" --x509certfile "$CERTS/alice.crt" --x509keyfile "$CERTS/alice.key" \
	--priority "NORMAL:-VERS-ALL:+VERS-TLS1.2" -p $PORT localhost </dev/null >"$WORK/cli12.out" 2>&1
grep -q "Description: (TLS1.2" "$WORK/cli12.out" && pass tls12 || flunk tls12 "$(grep -i "description\|error" "$WORK/cli12.out")"
if gnutls-cli --x509cafile "$CERTS/ca.crt" --x509certfile "$CERTS/alice.crt" --x509keyfile "$CERTS/alice.key" \
	--priority "NORMAL:-VERS-ALL:+VERS-TLS1.1:%VERIFY_ALLOW_SHA1" -p $PORT localhost </dev/null \
	>"$WORK/cli11.out" 2>&1 && grep -q "Handshake was completed" "$WORK/cli11.out"; then
	flunk tls11_refused "$(grep -i version "$WORK/cli11.out")"
else pass tls11_refused; fi

# 6. A certified client outside http.allow: 403 and no figure; the x5u
#    document still answers it.
code=$(curl_tls --interface 127.0.0.2 "${CLIENT[@]}" "$H/metrics")
[ "$code" = 403 ] && ! grep -q portcullis_ "$WORK/body" && pass outside_allow_403 ||
	flunk outside_allow_403 "got $code"
code=$(curl_tls --interface 127.0.0.2 "${CLIENT[@]}" "$H/sti.pem")
[ "$code" = 200 ] && cmp -s "$WORK/body" "$CERTS/sti.crt" && pass x5u_with_cert || flunk x5u_with_cert "got $code"

# 7. A real Prometheus server scrapes over TLS with the client certificate
#    (the scrape_config of docs/operations.md).
if command -v prometheus >/dev/null; then
	start_prometheus "  - job_name: portcullis
    scheme: https
    tls_config: { ca_file: $CERTS/ca.crt, cert_file: $CERTS/alice.crt, key_file: $CERTS/alice.key,
                  server_name: localhost }
    static_configs: [ { targets: [ \"127.0.0.1:$PORT\" ] } ]"
	got=$(prom_value 'portcullis_http_tls_failures_total')
	up=$(prom_value up)
	[ -n "$got" ] && [ "$up" = 1 ] && pass prometheus_scrapes_over_tls ||
		flunk prometheus_scrapes_over_tls "up=$up: $(tail -5 "$WORK/prometheus.log")"
	kill "$PROM_PID" 2>/dev/null
else
	note "prometheus not installed: real-server scrape skipped (Debian package prometheus)"
fi

# 8. 200 connections that send half a ClientHello and wait: the server holds
#    at most its cap of them; once they go, a client is served at once.
fds_before=$(ls /proc/$GW_PID/fd | wc -l)
gain=$(flood_gain $GW_PID $PORT 200 'b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03"')
[ "$gain" -le 130 ] && [ "$gain" -ge 100 ] && pass connection_cap_with_tls ||
	flunk connection_cap_with_tls "$gain descriptors more during a flood of 200"
t0=$(date +%s%N)
code=$(curl_tls "${CLIENT[@]}" "$H/health")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$code" = 200 ] && [ $ms -lt 2000 ] && pass recovers_after_flood ||
	flunk recovers_after_flood "got $code after $ms ms"
sleep 1
fds_after=$(ls /proc/$GW_PID/fd | wc -l)
[ $((fds_after - fds_before)) -le 2 ] && pass connections_released ||
	flunk connections_released "descriptors $fds_before before, $fds_after after"

# 9. A large reply arrives whole (the last records are written before evhttp
#    closes): /metrics three times, each body as long as its Content-Length.
for i in 1 2 3; do
	curl -s --max-time 5 --resolve localhost:$PORT:127.0.0.1 --cacert "$CERTS/ca.crt" "${CLIENT[@]}" \
		-D "$WORK/h$i" -o "$WORK/m$i" "$H/metrics"
	len=$(sed -n 's/^[Cc]ontent-[Ll]ength: *\([0-9]*\).*/\1/p' "$WORK/h$i")
	[ -n "$len" ] && [ "$(stat -c %s "$WORK/m$i")" = "$len" ] || { flunk whole_replies "reply $i: ${len:-no length}, $(stat -c %s "$WORK/m$i") bytes"; break; }
	[ $i = 3 ] && pass whole_replies
done

# 10. Reload: a renewed certificate (same key) is served to new connections;
#     the key file is gone, so only the key holder's copy of the key is used.
old=$(served_cert)
certtool --generate-certificate --load-privkey "$CERTS/gateway.key" --load-ca-certificate "$CERTS/ca.crt" \
	--load-ca-privkey "$CERTS/ca.key" --template "$TESTS/../certs/templates/gateway.cfg" \
	--outfile "$WORK/http.crt.new" 2>/dev/null || fail "cannot make a certificate"
mv "$WORK/http.crt.new" "$WORK/http.crt"
kill -HUP "$GW_PID"
for _ in $(seq 50); do grep -q "reload: applied" "$WORK/gateway.log" && break; sleep 0.1; done
new=$(served_cert)
if grep -q "reload: applied" "$WORK/gateway.log" && [ -n "$new" ] && [ "$new" != "$old" ] &&
	[ "$new" = "$(first_cert "$WORK/http.crt")" ]; then
	pass reload_renewed_certificate
else flunk reload_renewed_certificate "$(grep reload "$WORK/gateway.log" | tail -3)"; fi
code=$(curl_tls "${CLIENT[@]}" "$H/metrics")
[ "$code" = 200 ] && pass serves_after_reload || flunk serves_after_reload "got $code"
wait $STALL 2>/dev/null
secs=$(sed -n 's/^closed after \([0-9]*\)\..*/\1/p' "$WORK/stall.out")
[ -n "$secs" ] && [ "$secs" -ge 9 ] && [ "$secs" -le 12 ] && pass stalled_handshake_closed ||
	flunk stalled_handshake_closed "$(cat "$WORK/stall.out")"
stop_gateway

# 11. verify_peer "optional": the handshake passes without a certificate, the
#     x5u document is served, live documents are not.
http_config optional
cp "$CERTS/gateway.key" "$WORK/http.key"
start_gateway "$WORK/gw.conf"
wait_port tcp $PORT
code=$(curl_tls "$H/sti.pem")
[ "$code" = 200 ] && cmp -s "$WORK/body" "$CERTS/sti.crt" && pass optional_x5u_public ||
	flunk optional_x5u_public "got $code"
for p in /metrics /health /calls /; do
	code=$(curl_tls "$H$p")
	[ "$code" = 403 ] && ! grep -q "portcullis_\|status\|calls" "$WORK/body" &&
		pass "optional_no_cert_403${p//\//_}" || flunk "optional_no_cert_403${p//\//_}" "got $code"
done
code=$(curl_tls "${CLIENT[@]}" "$H/metrics")
[ "$code" = 200 ] && pass optional_with_cert || flunk optional_with_cert "got $code"
code=$(curl_tls --cert "$WORK/rogue/peer.crt" --key "$WORK/rogue/peer.key" "$H/sti.pem")
[ "$code" = 000 ] && pass optional_bad_cert_refused || flunk optional_bad_cert_refused "got $code"
stop_gateway
exit $rc
