#!/bin/bash
# Mutual TLS at the edge, with SIPp phones behind stunnel TLS clients and the
# trunk (SIPp behind stunnel, trusted by trusted_names) answering:
#  (a) leg "tlsphones" (TLS 5062, verify_peer optional, auth = "certificate"):
#      a phone presenting alice's certificate (SAN URI sip:alice@localhost,
#      certs/dev/alice.pem) calls through, and the trunk's INVITE asserts
#      <sip:alice@localhost> (auth_client_certificate_accepted, pai_asserted);
#  (b) on that leg a verified certificate that names no user of the store
#      (the trunk's, or one for sip:alice@example.com: alice of another
#      domain) and no certificate at all get 403, and the trunk gets nothing
#      for them (certs/dev/phone.pem is no such case: it names
#      sip:alice@localhost too, so it authenticates as alice);
#  (c) leg "certonly" (require_client_cert = true, auth none): a TLS client
#      without a certificate gets 403 (requests_refused_client_cert_required),
#      plain TCP on its TCP listener gets 403 (requests_refused_tls_required),
#      and alice's certificate gets through (control).
# Without certificate authentication (a) gets 403 or no asserted identity and
# the counter stays 0; without the leg requirements (b)/(c) would put the
# refused requests through to the trunk, which would see more than the two
# admitted calls.
. "$TESTS/integration/lib.sh"
[ -f "$CERTS/alice.pem" ] || fail "no $CERTS/alice.pem: run certs/mkdev.sh"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
[ -x "$PASSWD" ] || fail "portcullis-passwd not built"
printf 'secret123' | "$PASSWD" alice localhost >"$WORK/users" || fail "passwd: alice"

cat >"$WORK/gw.conf" <<CONF
domain = "localhost";
listeners = (
  $(tls_listener outside-tls outside 5061 required),
  $(tls_listener tlsphones-tls tlsphones 5062 optional),
  $(tls_listener certonly-tls certonly 5063 optional),
  { name = "certonly-tcp"; leg = "certonly"; transport = "tcp"; address = "127.0.0.1"; port = 5064; }
);
peers = ( { name = "trunk"; transport = "tls"; address = "127.0.0.1"; port = 5071;
  sip_domain = "trunk.portcullis.test";
  tls = { certificate = "$CERTS/gateway.crt"; key = "$CERTS/gateway.key"; ca = "$CERTS/ca.crt"; }; } );
legs = (
  { name = "tlsphones"; media = "rtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 22000, 22999 ]; auth = "certificate"; },
  { name = "certonly"; media = "rtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 24000, 24999 ]; require_client_cert = true; },
  { name = "outside"; media = "srtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 30000, 30999 ]; }
);
routes = (
  { from_leg = "tlsphones"; to_leg = "outside"; peer = "trunk"; },
  { from_leg = "certonly"; to_leg = "outside"; peer = "trunk"; }
);
auth = { users = "$WORK/users"; };
identity = { trusted_names = [ "trunk.portcullis.test" ]; };
CONF

# tls_client_as ACCEPT CONNECT [PEM]: stunnel_client, presenting PEM or no
# certificate at all (stunnel_client always presents one).
tls_client_as() {
	cat >"$WORK/stunnel-$1.conf" <<CONF
foreground = yes
pid =
debug = 5
output = $WORK/stunnel-$1.log
[sip]
client = yes
checkHost = localhost
accept = 127.0.0.1:$1
connect = 127.0.0.1:$2
CAfile = $CERTS/ca.crt
verifyChain = yes
${3:+cert = $3}
CONF
	stunnel4 "$WORK/stunnel-$1.conf" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_port tcp "$1"
}
# call NAME TARGET PORT: a call that must go through; $WORK/NAME.invite is the
# INVITE the trunk received for it (the trunk's Nth, N counting these calls).
ncalls=0
call() {
	run_sipp "$WORK/call.xml" "$2" -s 12125550010 -t t1 -p "$3" -d 100 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
		fail "$1: the call failed"; }
	ncalls=$((ncalls + 1))
	for _ in $(seq 40); do [ "$(grep -c '^BYE ' "$WORK/trunk_msg.log")" -ge "$ncalls" ] && break; sleep 0.05; done
	received_msg "$WORK/trunk_msg.log" INVITE "$ncalls" >"$WORK/$1.invite"
	[ -s "$WORK/$1.invite" ] || fail "$1: no INVITE at the trunk"
}
# refused NAME TARGET PORT: the INVITE gets 403.
refused() {
	run_sipp "$WORK/refused.xml" "$2" -s 12125550099 -t t1 -p "$3" || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
		fail "$1: not refused with 403"; }
}
fill_scenario policy_uac_call.xml "$WORK/call.xml" HEADERS ""
fill_scenario policy_uac_refused.xml "$WORK/refused.xml" RURI "sip:[service]@localhost" TO "sip:[service]@localhost" \
	HEADERS "" EXPECT 403 CHECK "^SIP/2.0 403 Forbidden"

start_trunk uas_trunk.xml 2
start_gateway "$WORK/gw.conf"

# (a) alice's certificate authenticates her.
tls_client_as 15062 5062 "$CERTS/alice.pem"
call alice_cert 127.0.0.1:15062 15080
# The 200's Contact is the listener she called in on, not the first TLS one
# (5061, the trunk's leg): her ACK and BYE must come back to this leg.
grep -q "^Contact: <sip:gw@127.0.0.1:5062;transport=tls>" "$WORK/sipp_msg.log" ||
	fail "alice_cert: the 200's Contact does not name the listener of her leg"
expect_log 'TLS established .*peer identity "sip:alice@localhost"'
grep -q "^P-Asserted-Identity: <sip:alice@localhost>" "$WORK/alice_cert.invite" ||
	{ cat "$WORK/alice_cert.invite" >&2; fail "alice_cert: the trunk's INVITE does not assert alice"; }
[ "$(counter auth_client_certificate_accepted)" -ge 1 ] || fail "auth_client_certificate_accepted not counted"
[ "$(counter pai_asserted)" -ge 1 ] || fail "pai_asserted not counted"

# (b) a verified certificate naming no user, and no certificate.
tls_client_as 15063 5062 "$CERTS/trunk.pem"
refused trunk_cert 127.0.0.1:15063 15081
expect_log 'no verified client certificate naming a user \(identity "sip:trunk.portcullis.test"\)'
tls_client_as 15064 5062
refused no_cert 127.0.0.1:15064 15082
expect_log 'no verified client certificate naming a user \(identity ""\)'
# A certificate of the same CA for alice of another domain is not hers.
certtool --generate-privkey --key-type=ecdsa --outfile "$WORK/other.key" 2>/dev/null
printf 'cn = "alice"\nuri = "sip:alice@example.com"\ntls_www_client\nsigning_key\nexpiration_days = 2\n' >"$WORK/other.cfg"
certtool --generate-certificate --load-privkey "$WORK/other.key" --load-ca-certificate "$CERTS/ca.crt" \
	--load-ca-privkey "$CERTS/ca.key" --template "$WORK/other.cfg" --outfile "$WORK/other.crt" 2>/dev/null
cat "$WORK/other.crt" "$WORK/other.key" >"$WORK/other.pem"
[ -s "$WORK/other.crt" ] || fail "could not issue the other domain's certificate"
tls_client_as 15067 5062 "$WORK/other.pem"
refused other_domain 127.0.0.1:15067 15086
expect_log 'no verified client certificate naming a user \(identity "sip:alice@example.com"\)'

# (c) the leg that requires a client certificate (and so TLS).
tls_client_as 15065 5063
refused certonly_no_cert 127.0.0.1:15065 15083
[ "$(counter requests_refused_client_cert_required)" -ge 1 ] || fail "requests_refused_client_cert_required not counted"
refused certonly_tcp 127.0.0.1:5064 15084
[ "$(counter requests_refused_tls_required)" -ge 1 ] || fail "requests_refused_tls_required not counted"
tls_client_as 15066 5063 "$CERTS/alice.pem"
call certonly_cert 127.0.0.1:15066 15085
grep -q "^Contact: <sip:gw@127.0.0.1:5063;transport=tls>" "$WORK/sipp_msg.log" ||
	fail "certonly_cert: the 200's Contact does not name the listener of its leg"

wait_trunk
[ "$(grep -c '^INVITE ' "$WORK/trunk_msg.log")" -eq 2 ] || fail "the trunk did not get exactly the two admitted calls"
grep -q "12125550099" "$WORK/trunk_msg.log" && fail "a refused INVITE reached the trunk"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
