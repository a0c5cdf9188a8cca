#!/bin/bash
# gnutls-cli against the TLS listener: TLS 1.3 accepted and answering SIP;
# TLS 1.1 refused; no client certificate refused when required; a client
# certificate from an unknown CA refused; a certificate that does not carry an
# expected peer name refused (RFC 5922 strict matching); an operator's
# priority string that would enable TLS 1.0/1.1 (GnuTLS's NORMAL) is still
# held to TLS 1.2.
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf" required '"trunk.portcullis.test"'
start_gateway "$WORK/gw.conf"

cli() { # cli NAME [gnutls-cli args...]: send OPTIONS, keep output
	local name=$1; shift
	(opts "$name"; sleep 1) | timeout 10 gnutls-cli -p 5061 --x509cafile "$CERTS/ca.crt" "$@" localhost >"$WORK/$name.out" 2>&1 || true
}

cli tls13 --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' --x509certfile "$CERTS/trunk.crt" --x509keyfile "$CERTS/trunk.key"
grep -q "(TLS1.3" "$WORK/tls13.out" || { cat "$WORK/tls13.out" >&2; fail "TLS 1.3 handshake"; }
grep -q "^SIP/2.0 200 OK" "$WORK/tls13.out" || { cat "$WORK/tls13.out" >&2; fail "no 200 over TLS 1.3"; }

cli tls12 --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' --x509certfile "$CERTS/trunk.crt" --x509keyfile "$CERTS/trunk.key"
grep -q "^SIP/2.0 200 OK" "$WORK/tls12.out" || { cat "$WORK/tls12.out" >&2; fail "no 200 over TLS 1.2"; }

cli tls11 --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0' --x509certfile "$CERTS/trunk.crt" --x509keyfile "$CERTS/trunk.key"
grep -q "^SIP/2.0" "$WORK/tls11.out" && fail "TLS 1.1 was accepted"
grep -qi "handshake has failed\|fatal error\|error" "$WORK/tls11.out" || { cat "$WORK/tls11.out" >&2; fail "TLS 1.1: no failure reported"; }
expect_log "illegal or unsupported version"

# A static-RSA (no forward secrecy, no AEAD) TLS 1.2 suite is not offered.
cli cbc --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA1:+SHA256' --x509certfile "$CERTS/trunk.crt" --x509keyfile "$CERTS/trunk.key"
grep -q "^SIP/2.0" "$WORK/cbc.out" && fail "a CBC cipher suite was accepted"

cli nocert
grep -q "^SIP/2.0" "$WORK/nocert.out" && fail "a client without certificate got an answer"
expect_log "Certificate is required|peer sent no certificate"

# A rogue CA and a client certificate it signed, with the right name.
make_rogue_cert "$WORK/rogue"
cli rogue --x509certfile "$WORK/rogue/peer.crt" --x509keyfile "$WORK/rogue/peer.key"
grep -q "^SIP/2.0" "$WORK/rogue.out" && fail "a certificate from an unknown CA was accepted"
expect_log "peer certificate rejected: .*(not trusted|signer|issuer)"

# Signed by our CA but naming someone else (the phone): wrong name.
cli wrongname --x509certfile "$CERTS/phone.crt" --x509keyfile "$CERTS/phone.key"
grep -q "^SIP/2.0" "$WORK/wrongname.out" && fail "a certificate with the wrong name was accepted"
expect_log "peer certificate does not name trunk.portcullis.test"

[ "$(counter tls_peer_verification_failed)" -ge 2 ] || fail "verification failures not counted"
stop_gateway

# An operator's own priority string: NORMAL alone enables TLS 1.0 and 1.1 in
# GnuTLS; the gateway holds it to TLS 1.2 all the same.
sed 's/verify_peer = "required";/verify_peer = "required"; priority = "NORMAL";/' "$WORK/gw.conf" >"$WORK/normal.conf"
grep -q 'priority = "NORMAL"' "$WORK/normal.conf" || fail "could not write the NORMAL configuration"
start_gateway "$WORK/normal.conf"
cli normal_tls11 --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0' --x509certfile "$CERTS/trunk.crt" --x509keyfile "$CERTS/trunk.key"
grep -q "^SIP/2.0" "$WORK/normal_tls11.out" && fail "TLS 1.1 was accepted under an operator's NORMAL priority"
grep -qi "handshake has failed\|fatal error\|error" "$WORK/normal_tls11.out" || { cat "$WORK/normal_tls11.out" >&2; fail "NORMAL, TLS 1.1: no failure reported"; }
cli normal_tls12 --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' --x509certfile "$CERTS/trunk.crt" --x509keyfile "$CERTS/trunk.key"
grep -q "^SIP/2.0 200 OK" "$WORK/normal_tls12.out" || { cat "$WORK/normal_tls12.out" >&2; fail "NORMAL: no 200 over TLS 1.2"; }
stop_gateway
