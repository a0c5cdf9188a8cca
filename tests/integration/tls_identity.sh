#!/bin/bash
# TLS peer identity (RFC 5922 §7.1, RFC 5280 key purposes), with real
# certificates of the development CA:
#   1. the trunk's listener (peer_names = trunk.portcullis.test) refuses a
#      user's client certificate in the trunk's domain (certs/dev/impostor:
#      SAN sip:alice@trunk.portcullis.test): a URI with a user part names
#      the user, not the domain; the trunk's own certificate gets 200;
#   2. the trust domain (trusted_names = trunk.portcullis.test) does not
#      take a certificate for sips:trunk.portcullis.test as the trunk: the
#      trunk is exempt from the request rate, that client is not (503);
#   3. toward its trunk peer the gateway refuses a server presenting the
#      impostor certificate (name) and one presenting a client-only
#      certificate that does name the trunk (extended key usage).
# Before the fix 1 got 200, 2 was exempt as the trunk, 3 established TLS.
. "$TESTS/integration/lib.sh"
[ -f "$CERTS/impostor.crt" ] || fail "no $CERTS/impostor.crt: run certs/mkdev.sh"
PY="$TESTS/integration/tls_identity.py"
# issue NAME TEMPLATE_LINES: a certificate of the development CA in $WORK.
issue() {
	certtool --generate-privkey --key-type=ecdsa --outfile "$WORK/$1.key" 2>/dev/null
	printf '%s\nexpiration_days = 2\nsigning_key\n' "$2" >"$WORK/$1.cfg"
	certtool --generate-certificate --load-privkey "$WORK/$1.key" --load-ca-certificate "$CERTS/ca.crt" \
		--load-ca-privkey "$CERTS/ca.key" --template "$WORK/$1.cfg" --outfile "$WORK/$1.crt" 2>/dev/null
	[ -s "$WORK/$1.crt" ] || fail "could not issue $1"
}
issue sips 'cn = "trunk.portcullis.test"
uri = "sips:trunk.portcullis.test"
tls_www_client'
issue clientonly 'cn = "trunk.portcullis.test"
dns_name = "trunk.portcullis.test"
uri = "sip:trunk.portcullis.test"
tls_www_client'

# logged NAME PATTERN: the gateway logs PATTERN within 10 s.
logged() {
	if (expect_log "$2" 10) 2>/dev/null; then echo "PASS tls_identity.$1"
	else echo "FAIL tls_identity.$1: the log never matched $2"; rc=1; fi
}
# check NAME EXPECTED GOT
check() {
	if [ "$2" = "$3" ]; then echo "PASS tls_identity.$1"; else echo "FAIL tls_identity.$1: expected $2, got $3"; rc=1; fi
}
rc=0

cat >"$WORK/gw.conf" <<CONF
domain = "localhost";
listeners = (
  $(tls_listener outside-tls outside 5061 required '"trunk.portcullis.test"'),
  $(tls_listener phones-tls phones 5062 required)
);
peers = ( { name = "trunk"; transport = "tls"; address = "127.0.0.1"; port = 5071;
  sip_domain = "trunk.portcullis.test"; keepalive_interval = 1;
  tls = { certificate = "$CERTS/gateway.crt"; key = "$CERTS/gateway.key"; ca = "$CERTS/ca.crt"; }; } );
timers = { t1 = 100; t2 = 400; t4 = 500; };
abuse = { request_rate = 1; request_burst = 1; };
identity = { trusted_names = [ "trunk.portcullis.test" ]; };
# Part 3 swaps the trunk's server between failed handshakes: the back-off
# after each failure must not outlast the test's wait for the next attempt.
limits = { peer_retry_min = 1; peer_retry_max = 1; };
CONF
start_gateway "$WORK/gw.conf"
client() { # client PORT CERT_BASE COUNT: the status codes, space-separated
	python3 "$PY" client "$1" "$CERTS/ca.crt" "$2.crt" "$2.key" "$3" 2>>"$WORK/client.err" | tr '\n' ' ' | sed 's/ $//'
}

# 1. The trunk's listener: the impostor is refused in the handshake.
check impostor_refused_as_trunk refused "$(client 5061 "$CERTS/impostor" 1)"
logged impostor_refused_by_name 'listener outside-tls: peer certificate does not name trunk.portcullis.test'
check trunk_accepted 200 "$(client 5061 "$CERTS/trunk" 1)"

# 2. The trust domain: the trunk is exempt from the request rate (burst 1),
# a sips: certificate for its name is not.
check trunk_trusted "200 200 200 200" "$(client 5062 "$CERTS/trunk" 4)"
got=$(client 5062 "$WORK/sips" 4)
[[ "$got" == *503* ]] && got=limited
check sips_identity_not_trusted limited "$got"

# 3. Toward the trunk peer: a server with the impostor's certificate, then
# one with a client-only certificate naming the trunk.
timeout 20 python3 "$PY" server 5071 "$CERTS/ca.crt" "$CERTS/impostor.crt" "$CERTS/impostor.key" 4 &
srv=$!; PIDS="$PIDS $srv"
logged impostor_server_refused 'peer trunk: peer certificate does not name trunk.portcullis.test'
wait "$srv"
timeout 20 python3 "$PY" server 5071 "$CERTS/ca.crt" "$WORK/clientonly.crt" "$WORK/clientonly.key" 4 &
srv=$!; PIDS="$PIDS $srv"
logged client_only_server_refused 'peer trunk: peer certificate is not for TLS server authentication'
wait "$srv"
if grep -q 'to 127.0.0.1:5071: TLS established' "$WORK/gateway.log"; then
	echo "FAIL tls_identity.no_tls_to_false_trunk: the gateway established TLS with a false trunk"; rc=1
else
	echo "PASS tls_identity.no_tls_to_false_trunk"
fi
stop_gateway
exit $rc
