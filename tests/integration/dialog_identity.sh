#!/bin/bash
# Requests inside a call from a peer that proved a certificate identity
# must come with that identity: alice calls the trunk over mutual TLS (leg
# auth = "certificate"); a client with another certificate of the same CA,
# knowing the dialog's Call-ID and tags, sends a BYE on a new connection and
# gets 403 (dialog_requests_refused_identity), the call stays up, and the
# trunk's BYE comes from alice's own hang-up. Before the fix the impostor's
# BYE ended the call (200) and the dialog was re-bound to its connection.
. "$TESTS/integration/lib.sh"
[ -f "$CERTS/impostor.crt" ] || fail "no $CERTS/impostor.crt: run certs/mkdev.sh"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
printf 'secret123' | "$PASSWD" alice localhost >"$WORK/users" || fail "passwd: alice"
cat >"$WORK/gw.conf" <<CONF
domain = "localhost";
listeners = (
  $(tls_listener outside-tls outside 5061 required),
  $(tls_listener phones-tls phones 5062 optional)
);
peers = ( { name = "trunk"; transport = "tls"; address = "127.0.0.1"; port = 5071;
  sip_domain = "trunk.portcullis.test";
  tls = { certificate = "$CERTS/gateway.crt"; key = "$CERTS/gateway.key"; ca = "$CERTS/ca.crt"; }; } );
legs = (
  { name = "phones"; media = "rtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 22000, 22999 ]; auth = "certificate"; },
  { name = "outside"; media = "srtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 30000, 30999 ]; }
);
routes = ( { from_leg = "phones"; to_leg = "outside"; peer = "trunk"; } );
auth = { users = "$WORK/users"; };
CONF
start_trunk uas_trunk.xml 1
start_gateway "$WORK/gw.conf"
python3 "$TESTS/integration/dialog_identity.py" "$CERTS"
rc=$?
wait_trunk
[ "$(counter dialog_requests_refused_identity)" -ge 1 ] || fail "dialog_requests_refused_identity not counted"
expect_log 'BYE for leg phones from tls:127.0.0.1:[0-9]+ .*refused: identity "sip:alice@trunk.portcullis.test", not the leg.s "sip:alice@localhost"'
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
exit $rc
