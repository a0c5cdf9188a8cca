#!/bin/bash
# REGISTER on legs that authenticate by client certificate, against real TLS
# clients (register_cert.py, Python's ssl with the dev PKI's certificates):
#   - auth = "certificate": alice's certificate cannot register bob, no
#     certificate (or a verified one naming no user) registers nobody, and
#     alice's certificate registers alice;
#   - auth = "certificate-or-digest": a certificate that does not name the
#     To user, or none, gets a 401 challenge; alice's registers alice;
#   - only the two registrations of alice are counted and bound, and a call
#     from the trunk for bob finds no binding;
#   - a registrar leg without any authentication refuses to load, naming the
#     file and line, unless allow_unauthenticated_register = true.
# Before the fix REGISTER on a certificate leg was not authenticated at all:
# every check expecting 403/401 got 200, and bob's calls went to alice.
. "$TESTS/integration/lib.sh"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
[ -x "$PASSWD" ] || fail "portcullis-passwd not built"
printf 'secret-a' | "$PASSWD" alice localhost >"$WORK/users" || fail "passwd: alice"
printf 'secret-b' | "$PASSWD" bob localhost >>"$WORK/users" || fail "passwd: bob"

gateway_conf() { # gateway_conf FILE CERTPHONES_LEG_SETTINGS
	cat >"$1" <<CONF
domain = "localhost";
listeners = (
  $(tls_listener outside-tls outside 5061 required),
  $(tls_listener certphones-tls certphones 5062 optional),
  $(tls_listener mixedphones-tls mixedphones 5063 optional)
);
legs = (
  { name = "certphones"; media = "rtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 22000, 22999 ];
    $2 },
  { name = "mixedphones"; media = "rtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 24000, 24999 ];
    registrar = true; auth = "certificate-or-digest"; },
  { name = "outside"; media = "srtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 30000, 30999 ]; }
);
routes = ( { from_leg = "outside"; to_leg = "certphones"; registered = true; } );
auth = { users = "$WORK/users"; };
CONF
}

# A registrar leg without authentication does not load.
gateway_conf "$WORK/open.conf" 'registrar = true;'
out=$("$PORTCULLIS_BIN" --check-config --config "$WORK/open.conf" 2>&1) &&
	fail "a registrar leg without authentication was accepted"
grep -q "open.conf:15: registrar: a registrar leg needs auth" <<<"$out" ||
	fail "the refusal does not name file and line: $out"
gateway_conf "$WORK/open.conf" 'registrar = true; allow_unauthenticated_register = true;'
out=$("$PORTCULLIS_BIN" --check-config --config "$WORK/open.conf" 2>&1) ||
	fail "allow_unauthenticated_register = true did not allow it: $out"
echo "PASS register_cert.open_registrar_refused_at_load"

gateway_conf "$WORK/gw.conf" 'registrar = true; auth = "certificate";'
start_gateway "$WORK/gw.conf"
python3 "$TESTS/integration/register_cert.py" "$CERTS"
rc=$?
expect_log 'REGISTER: the client certificate of "alice" does not name "bob"'
expect_log 'REGISTER: no verified client certificate naming a user \(identity ""\)'
[ "$(counter registrations_accepted)" -eq 2 ] || fail "not exactly alice's two registrations"
# The trunk calls bob: nobody registered as bob, so 480 and nothing reaches alice.
stunnel_client 15061 5061 trunk
sed -e 's/response="404"/response="480"/' "$TESTS/integration/sipp/invite_uac_404.xml" \
	>"$WORK/bob.xml"
run_sipp "$WORK/bob.xml" 127.0.0.1:15061 -t t1 -p 15074 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "a call to bob did not get 480"; }
echo "PASS register_cert.bob_not_bound"
stop_gateway
exit $rc
