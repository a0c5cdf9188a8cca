#!/bin/bash
# verify_peer = "optional": a client without a certificate is served (and has
# no identity); a client that presents a certificate must still pass
# verification. Also the idle timeout closes a quiet connection.
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf" optional "" "limits = { idle_timeout = 2; };"
start_gateway "$WORK/gw.conf"

(opts anon; sleep 1) | timeout 10 gnutls-cli -p 5061 --x509cafile "$CERTS/ca.crt" localhost >"$WORK/anon.out" 2>&1
grep -q "^SIP/2.0 200 OK" "$WORK/anon.out" || { cat "$WORK/anon.out" >&2; fail "anonymous client not served with verify_peer optional"; }
expect_log 'OPTIONS sip:localhost SIP/2.0 from tls:127.0.0.1:[0-9]+$'

make_rogue_cert "$WORK/rogue"
(opts rogue; sleep 1) | timeout 10 gnutls-cli -p 5061 --x509cafile "$CERTS/ca.crt" \
	--x509certfile "$WORK/rogue/peer.crt" --x509keyfile "$WORK/rogue/peer.key" localhost >"$WORK/rogue.out" 2>&1
grep -q "^SIP/2.0" "$WORK/rogue.out" && fail "an unverifiable certificate was accepted under optional"
expect_log "peer certificate rejected"

# Idle timeout: a TCP connection that goes quiet is closed within idle_timeout + the 1 s sweep.
exec 3<>/dev/tcp/127.0.0.1/5060
start=$(date +%s)
timeout 6 cat <&3 >/dev/null
elapsed=$(( $(date +%s) - start ))
exec 3<&-
[ "$elapsed" -ge 1 ] && [ "$elapsed" -le 4 ] || fail "idle connection closed after ${elapsed}s (expected about 2-3)"
[ "$(counter connections_idle_closed)" -ge 1 ] || fail "idle close not counted"
stop_gateway
