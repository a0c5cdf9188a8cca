#!/bin/bash
# The gateway as RFC 8224 authentication service toward the trunk: calls
# from the inside leave with an Identity header (ES256 PASSporT, SHAKEN)
# signed by the key holder with certs/dev/sti.key, and a Date. An
# independent verifier (stir_tool.py on python3-cryptography) fetches the
# certificate from the gateway's own HTTP listener (the x5u,
# 127.0.0.1:8080/sti.pem), checks it against the STI-CA and checks the
# signature and the claims:
#  (a) alice authenticates by digest and owns tel:+12125550100, which the
#      trusted trunk is told (P-Asserted-Identity): attestation A, orig her
#      number, dest the dialled number, origid the inside leg's;
#  (b) toward an untrusted trunk her From is sip:alice@... (no number): a
#      SHAKEN PASSporT needs a calling number, so the call is not signed
#      (attestation B, a number she does not own, is policy/attest.c's unit
#      test: From replacement keeps it from arising here);
#  (c) an unauthenticated caller on a leg that signs such calls with C: C;
#  (d) an unauthenticated caller on a leg that does not: no Identity at all
#      (identity_not_signed_unauthenticated).
# Without the feature the trunk finds no Identity in (a)-(c).
. "$TESTS/integration/lib.sh"
TOOL="python3 $TESTS/integration/stir_tool.py"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
printf 'secret123' | "$PASSWD" alice localhost sip:alice@localhost tel:+12125550100 >"$WORK/users" ||
	fail "passwd: alice"
ORIGID=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
STIR="stir = { certificate = \"$CERTS/sti.crt\"; key = \"$CERTS/sti.key\";
  x5u = \"http://127.0.0.1:8080/sti.pem\"; country_code = \"\"; };
http = { address = \"127.0.0.1\"; port = 8080; };"
AUTH="auth = { users = \"$WORK/users\"; algorithms = [ \"MD5\" ]; };"
TRUSTED='identity = { trusted_names = [ "trunk.portcullis.test" ]; assert_tel = true; };'

# call NAME SCENARIO [sipp args]: one call from the inside; $WORK/NAME.identity
# is the Identity the trunk received ("" when none).
call() {
	inside_call "$@"
	sed -n 's/^Identity: *//p' "$WORK/$1.invite" | tr -d '\r' >"$WORK/$1.identity"
}
# verified NAME ORIG ATTEST: the independent verifier accepts NAME's Identity
verified() {
	[ -s "$WORK/$1.identity" ] || { cat "$WORK/$1.invite" >&2; fail "$1: no Identity at the trunk"; }
	grep -q "^Date: " "$WORK/$1.invite" || fail "$1: signed without a Date header"
	$TOOL verify --header "$(cat "$WORK/$1.identity")" --ca "$CERTS/sti-ca.crt" --orig "$2" \
		--dest 12125551234 >"$WORK/$1.verify" 2>&1 || {
		cat "$WORK/$1.verify" "$WORK/$1.invite" >&2; fail "$1: the independent verifier refused it"; }
	grep -q "^OK attest=$3 origid=$ORIGID" "$WORK/$1.verify" || {
		cat "$WORK/$1.verify" >&2; fail "$1: not attestation $3 with the leg's origid"; }
}

# (a) + (b): alice, authenticated.
INSIDE_LEG="auth = \"digest\"; identity_origid = \"$ORIGID\";" OUTSIDE_LEG='identity_sign = true;' \
	call_config "$WORK/gw.conf" "$AUTH $TRUSTED $STIR"
start_gateway "$WORK/gw.conf"
call owned policy_uac_call_auth.xml -au alice -ap secret123 -auth_uri 12125551234@127.0.0.1:5060
verified owned 12125550100 A
[ "$(counter identity_signed)" -eq 1 ] || fail "owned: identity_signed is not 1"
stop_gateway
INSIDE_LEG="auth = \"digest\"; identity_origid = \"$ORIGID\";" OUTSIDE_LEG='identity_sign = true;' \
	call_config "$WORK/gw.conf" "$AUTH $STIR"
start_gateway "$WORK/gw.conf"
call not_a_number policy_uac_call_auth.xml -au alice -ap secret123 -auth_uri 12125551234@127.0.0.1:5060
[ -s "$WORK/not_a_number.identity" ] && fail "not_a_number: a call without a calling number was signed"
expect_log "call [0-9]+: not signed: no calling number"
stop_gateway

# (c) unauthenticated callers signed with C; (d) not signed.
INSIDE_LEG="identity_unauthenticated = \"c\"; identity_origid = \"$ORIGID\";" OUTSIDE_LEG='identity_sign = true;' \
	call_config "$WORK/gw.conf" "$STIR"
start_gateway "$WORK/gw.conf"
sed 's/<sip:alice@\[local_ip\]:\[local_port\]>/<sip:+12125550111@[local_ip]:[local_port]>/' \
	"$TESTS/integration/sipp/policy_uac_call.xml" >"$WORK/anon.tpl.xml"
call unauthenticated "$WORK/anon.tpl.xml"
verified unauthenticated 12125550111 C
stop_gateway
INSIDE_LEG="identity_origid = \"$ORIGID\";" OUTSIDE_LEG='identity_sign = true;' call_config "$WORK/gw.conf" "$STIR"
start_gateway "$WORK/gw.conf"
call unsigned "$WORK/anon.tpl.xml"
[ -s "$WORK/unsigned.identity" ] && fail "unsigned: an unauthenticated call was signed"
[ "$(counter identity_not_signed_unauthenticated)" -eq 1 ] || fail "unsigned: not counted"
[ "$(counter identity_signed)" -eq 0 ] || fail "unsigned: counted as signed"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
