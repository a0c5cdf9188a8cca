#!/bin/bash
# Interoperability with a second STIR/SHAKEN implementation: Kamailio's
# secsipid module (kamailio_stir.inc) plays the trunk in both directions.
#  (a) the gateway signs: an unauthenticated inside caller (+15550001, a leg
#      signing such calls with C) calls +12125551234; the gateway's INVITE to
#      the trunk reaches Kamailio over mutual TLS, which fetches the gateway's
#      certificate from its x5u (127.0.0.1:8080/sti.pem), checks it against
#      the STI-CA, checks signature, iat and orig/dest, and answers
#      603 Identity Verified (anything else is a refusal with its reason);
#      stir_tool.py verify accepts the same header;
#  (b) Kamailio signs: a call sent through Kamailio gets its Identity
#      (sti-peer.key, x5u on a test server at 127.0.0.1:8081) and reaches the
#      gateway's trunk leg over mutual TLS with trunk.crt; the phone's From
#      carries verstat=TN-Validation-Passed; with x5u naming a certificate
#      whose key did not sign, TN-Validation-Failed; unsigned,
#      No-TN-Validation.
# kamailio_secsipid.sh proves the Kamailio halves without the gateway.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/kamailio_stir.inc"
TOOL="python3 $TESTS/integration/stir_tool.py"
ORIG=+15550001 ORIG_TN=15550001 DEST=+12125551234 DEST_TN=12125551234
ORIGID=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
CERTDIR="$WORK/sti"
mkdir -p "$CERTDIR"
cp "$CERTS/sti-peer.crt" "$CERTS/sti.crt" "$CERTDIR/"
start_x5u_server "$CERTDIR"
start_kamailio

STIR="stir = { certificate = \"$CERTS/sti.crt\"; key = \"$CERTS/sti.key\";
  x5u = \"http://127.0.0.1:8080/sti.pem\"; trust = \"$CERTS/sti-ca.crt\";
  fetch_http_hosts = [ \"127.0.0.1\" ]; fetch_allow_networks = [ \"127.0.0.0/8\" ]; };
http = { address = \"127.0.0.1\"; port = 8080; };"
INSIDE_LEG="identity_unauthenticated = \"c\"; identity_origid = \"$ORIGID\";" \
	OUTSIDE_LEG='identity_sign = true; identity_verify = "mark";' call_config "$WORK/gw.conf" "$STIR"
start_gateway "$WORK/gw.conf"

# (a) Portcullis signs, Kamailio verifies.
fill_scenario uac_identity_fail.xml "$WORK/signed.xml" FROM "$ORIG@localhost" HEADERS "" \
	EXPECT 603 REASON "SIP/2.0 603 "
kam_mark
run_sipp "$WORK/signed.xml" 127.0.0.1:5060 -s "$DEST" -t u1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; grep "STIR-" "$WORK/kamailio.log" | tail -3 >&2
	tail -30 "$WORK/gateway.log" >&2; fail "(a) Kamailio did not verify the gateway's Identity (603 expected)"; }
kam_outcome "outcome=verified attest=C orig=$ORIG_TN dest=$DEST_TN origid=$ORIGID code=603"
sed -n 's/.*STIR-IDENTITY //p' "$WORK/kamailio.log" | tail -1 >"$WORK/signed.identity"
$TOOL verify --header "$(cat "$WORK/signed.identity")" --ca "$CERTS/sti-ca.crt" --orig "$ORIG_TN" \
	--dest "$DEST_TN" >"$WORK/signed.verify" 2>&1 || {
	cat "$WORK/signed.verify" >&2; fail "(a) stir_tool.py refused the Identity Kamailio accepted"; }

# (b) Kamailio signs, Portcullis verifies. marked NAME X_SIGN VERSTAT: one
# call through Kamailio; the phone's From carries ;verstat=VERSTAT, once.
marked() {
	fill_scenario uac_trunk_identity.xml "$WORK/$1.xml" FROM "$ORIG" HEADERS "X-Sign: $2"
	TRUNK_CALL_TARGET=127.0.0.1:15080 trunk_call_marked "$1" "$3" "$WORK/$1.xml" -s "$DEST"
}
marked kamailio_signed good TN-Validation-Passed
marked other_cert other-cert TN-Validation-Failed
marked unsigned none No-TN-Validation
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
