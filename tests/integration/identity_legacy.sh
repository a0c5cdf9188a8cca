#!/bin/bash
# Legacy RFC 4474 Identity/Identity-Info with a peer configured for it
# (identity_legacy = true), against an independent implementation
# (stir_tool.py on python3-cryptography) with the development STI PKI's RSA
# certificates: legacy (the gateway's, naming localhost) and legacy-peer
# (the trunk's, naming trunk.portcullis.test).
#  (a) signing: alice (digest-authenticated, owns tel:+12125550100) calls
#      the trunk: the INVITE carries Identity "<rsa-sha256 signature>" and
#      Identity-Info <legacy_info>;alg=rsa-sha256 and no PASSporT; the
#      independent verifier rebuilds the digest-string from the INVITE as
#      received, fetches the certificate from the gateway's HTTP listener,
#      checks it against the STI-CA and that it names the From host, and
#      verifies the signature. An unauthenticated caller (attestation C) is
#      not signed for the legacy peer (B is policy/attest.c's unit test:
#      From replacement keeps it from arising here).
#  (b) verification: calls from the trunk signed by the independent signer
#      reach the phone with verstat=TN-Validation-Passed; a tampered body,
#      a changed From, a changed Date, a stale Date, rsa-sha1 (not allowed),
#      a certificate naming another domain and an Identity-Info that
#      answers 404 are TN-Validation-Failed (mark) and refused with the
#      RFC's 4xx and Reason: STIR (reject); a PASSporT from the same peer is
#      still verified as RFC 8224; the same legacy form from a peer not
#      configured for it is never Passed; rsa-sha1 passes only with
#      stir.legacy_sha1 = true.
# Without the feature the trunk sees a PASSporT in (a) and no call is
# Passed or refused for its RFC 4474 Identity in (b).
. "$TESTS/integration/lib.sh"
TOOL="python3 $TESTS/integration/stir_tool.py"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
printf 'secret123' | "$PASSWD" alice localhost sip:alice@localhost tel:+12125550100 >"$WORK/users" ||
	fail "passwd: alice"
ORIGID=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
LEGACY="legacy_certificate = \"$CERTS/legacy.crt\"; legacy_key = \"$CERTS/legacy.key\";
  legacy_info = \"http://127.0.0.1:8080/legacy.pem\";"
STIR="stir = { certificate = \"$CERTS/sti.crt\"; key = \"$CERTS/sti.key\";
  x5u = \"http://127.0.0.1:8080/sti.pem\"; country_code = \"\"; trust = \"$CERTS/sti-ca.crt\"; $LEGACY };
http = { address = \"127.0.0.1\"; port = 8080; };"
AUTH="auth = { users = \"$WORK/users\"; algorithms = [ \"MD5\" ]; };"
TRUSTED='identity = { trusted_names = [ "trunk.portcullis.test" ]; assert_tel = true; };'

# ---- (a) the gateway signs toward the legacy peer ----

TRUNK_PEER='identity_legacy = true;' INSIDE_LEG="auth = \"digest\"; identity_origid = \"$ORIGID\";" \
	OUTSIDE_LEG='identity_sign = true;' call_config "$WORK/gw.conf" "$AUTH $TRUSTED $STIR"
start_gateway "$WORK/gw.conf"
inside_call owned policy_uac_call_auth.xml -au alice -ap secret123 -auth_uri 12125551234@127.0.0.1:5060
grep -q '^Identity: "[A-Za-z0-9+/]*=*"' "$WORK/owned.invite" || {
	cat "$WORK/owned.invite" >&2; fail "owned: no RFC 4474 Identity at the legacy trunk"; }
[ "$(grep -c '^Identity:' "$WORK/owned.invite")" -eq 1 ] || fail "owned: more than one Identity (a PASSporT too?)"
grep -q '^Identity-Info: <http://127.0.0.1:8080/legacy.pem>;alg=rsa-sha256' "$WORK/owned.invite" ||
	fail "owned: no Identity-Info naming legacy_info with rsa-sha256"
$TOOL verify4474 --invite "$WORK/owned.invite" --ca "$CERTS/sti-ca.crt" >"$WORK/owned.verify" 2>&1 || {
	cat "$WORK/owned.verify" "$WORK/owned.invite" >&2; fail "owned: the independent verifier refused it"; }
[ "$(counter identity_legacy_signed)" -eq 1 ] || fail "owned: identity_legacy_signed is not 1"
stop_gateway

TRUNK_PEER='identity_legacy = true;' INSIDE_LEG="identity_unauthenticated = \"c\"; identity_origid = \"$ORIGID\";" \
	OUTSIDE_LEG='identity_sign = true;' call_config "$WORK/gw.conf" "$STIR"
start_gateway "$WORK/gw.conf"
sed 's/<sip:alice@\[local_ip\]:\[local_port\]>/<sip:+12125550111@[local_ip]:[local_port]>/' \
	"$TESTS/integration/sipp/policy_uac_call.xml" >"$WORK/anon.tpl.xml"
inside_call attest_c "$WORK/anon.tpl.xml"
grep -qi '^Identity' "$WORK/attest_c.invite" && {
	cat "$WORK/attest_c.invite" >&2; fail "attest_c: an attestation C call was signed for the legacy peer"; }
[ "$(counter identity_legacy_not_signed)" -eq 1 ] || fail "attest_c: identity_legacy_not_signed is not 1"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway

# ---- (b) the gateway verifies the legacy peer's calls ----

CERTDIR="$WORK/certs"
mkdir -p "$CERTDIR"
cp "$CERTS/legacy-peer.crt" "$CERTS/legacy.crt" "$CERTS/sti-peer.crt" "$CERTDIR/"
$TOOL serve --port 8081 --root "$CERTDIR" --lifetime 300 &
PIDS="$PIDS $!"
wait_port tcp 8081
URL=http://127.0.0.1:8081
VSTIR="stir = { trust = \"$CERTS/sti-ca.crt\"; fetch_http_hosts = [ \"127.0.0.1\" ];
  fetch_allow_networks = [ \"127.0.0.1/32\" ]; $LEGACY };"
ORIG=+15550001 DEST=+12125551234
FROM="sip:$ORIG@trunk.portcullis.test" TO="sip:$DEST@localhost"
CONTACT="sip:trunk@127.0.0.1:15073;transport=tcp"
printf '%s\n' 'v=0' 'o=trunk 3333 3333 IN IP4 127.0.0.1' 's=Trunk Session' 'c=IN IP4 127.0.0.1' 't=0 0' \
	'm=audio 17002 RTP/SAVP 8 0' 'a=rtpmap:8 PCMA/8000' 'a=rtpmap:0 PCMU/8000' \
	'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGC' >"$WORK/body"
sed 's/^s=Trunk Session/s=Trunk Sessioo/' "$WORK/body" >"$WORK/other_body"
httpdate() { LC_ALL=C date -u -d "@$1" '+%a, %d %b %Y %H:%M:%S GMT'; }

# signed NAME [--date-sent D] [sign4474 args...]: HEADERS for a call named
# NAME (its Call-ID) signed by the legacy trunk over the fields sent, unless
# an argument overrides one; the Date sent is now unless --date-sent.
signed() {
	local name=$1 sent
	sent=$(httpdate "$(date +%s)")
	shift
	case "${1:-}" in --date-sent) sent=$2; shift 2 ;; esac
	echo "Date: $sent"
	$TOOL sign4474 --key "$CERTS/legacy-peer.key" --info "$URL/legacy-peer.crt" --from "$FROM" \
		--to "$TO" --call-id "legacy-$name@trunk" --date "$sent" --contact "$CONTACT" \
		--body-file "$WORK/body" "$@" || fail "$name: sign4474"
}

# marked NAME VERSTAT HEADERS [REASON]: the trunk's call reaches the phone
# with ;verstat=VERSTAT in its From, once; with REASON, the gateway logged
# this call's check as failed for it (stir_result_name).
marked() {
	local name=$1 reason=${4:-} before=0
	[ -n "$reason" ] && before=$(grep -c "identity not verified: $reason (" "$WORK/gateway.log")
	fill_scenario uac_trunk_legacy.xml "$WORK/$name.xml" FROM "$ORIG" TO "$TO" \
		HEADERS "$3" BODY "$(cat "$WORK/body")"
	trunk_call_marked "$name" "$2" "$WORK/$name.xml" -cid_str "legacy-$name@trunk"
	[ -z "$reason" ] || [ "$(grep -c "identity not verified: $reason (" "$WORK/gateway.log")" -gt "$before" ] || {
		tail -20 "$WORK/gateway.log" >&2; fail "$name: not refused for $reason"; }
}

now=$(date +%s)
OUTSIDE_LEG='identity_verify = "mark";' TRUNK_PEER='identity_legacy = true;' \
	call_config "$WORK/gw.conf" "$VSTIR"
start_gateway "$WORK/gw.conf"
stunnel_client 15061 5061 trunk
marked good TN-Validation-Passed "$(signed good)"
[ "$(counter identity_legacy_verified)" -eq 1 ] || fail "good: identity_legacy_verified is not 1"
marked body TN-Validation-Failed "$(signed body --body-file "$WORK/other_body")" signature
marked from TN-Validation-Failed "$(signed from --from "sip:+15550002@trunk.portcullis.test")" signature
marked date TN-Validation-Failed "$(signed date --date-sent "$(httpdate $((now - 1)))" --date "$(httpdate "$now")")" signature
marked stale TN-Validation-Failed "$(signed stale --date-sent "$(httpdate $((now - 300)))" --date "$(httpdate $((now - 300)))")" stale
marked sha1 TN-Validation-Failed "$(signed sha1 --alg rsa-sha1)" weak_alg
marked other_domain TN-Validation-Failed "$(signed other_domain --key "$CERTS/legacy.key" --info "$URL/legacy.crt")" orig_mismatch
marked not_found TN-Validation-Failed "$(signed not_found --info "$URL/missing.crt")" info_unreachable
# The same peer's PASSporT is RFC 8224's business, as before.
marked passport TN-Validation-Passed "Identity: $($TOOL sign --key "$CERTS/sti-peer.key" \
	--x5u "$URL/sti-peer.crt" --orig 15550001 --dest 12125551234)"
[ "$(counter identity_legacy_verified)" -eq 1 ] || fail "the PASSporT was counted as RFC 4474"
stop_gateway

# reject mode: the RFC's answers with Reason: STIR.
refused() {
	fill_scenario uac_trunk_legacy_refused.xml "$WORK/$1.xml" FROM "$ORIG" RURI "$TO" \
		HEADERS "$3" BODY "$(cat "$WORK/body")" EXPECT "$2" CHECK "Reason: STIR;cause=$2"
	run_sipp "$WORK/$1.xml" 127.0.0.1:15061 -t t1 -p 15073 -cid_str "legacy-$1@trunk" || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
		fail "$1: not refused with $2 and Reason: STIR"; }
}
OUTSIDE_LEG='identity_verify = "reject";' TRUNK_PEER='identity_legacy = true;' \
	call_config "$WORK/gw.conf" "$VSTIR"
start_gateway "$WORK/gw.conf"
now=$(date +%s)
refused r_missing 428 ""
refused r_body 438 "$(signed r_body --body-file "$WORK/other_body")"
refused r_stale 403 "$(signed r_stale --date-sent "$(httpdate $((now - 300)))" --date "$(httpdate $((now - 300)))")"
refused r_sha1 437 "$(signed r_sha1 --alg rsa-sha1)"
refused r_domain 438 "$(signed r_domain --key "$CERTS/legacy.key" --info "$URL/legacy.crt")"
refused r_not_found 436 "$(signed r_not_found --info "$URL/missing.crt")"
[ "$(counter identity_calls_rejected)" -eq 6 ] || fail "reject: identity_calls_rejected is not 6"
marked accepted TN-Validation-Passed "$(signed accepted)"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway

# A peer not configured for RFC 4474 cannot have its calls checked that way.
OUTSIDE_LEG='identity_verify = "mark";' call_config "$WORK/gw.conf" "$VSTIR"
start_gateway "$WORK/gw.conf"
marked not_legacy TN-Validation-Failed "$(signed not_legacy)" malformed
[ "$(counter identity_legacy_verified)" -eq 0 ] || fail "not_legacy: verified as RFC 4474"
stop_gateway

# stir.legacy_sha1 = true: rsa-sha1 (weak) is accepted where configured.
OUTSIDE_LEG='identity_verify = "mark";' TRUNK_PEER='identity_legacy = true;' \
	call_config "$WORK/gw.conf" "${VSTIR%\};} legacy_sha1 = true; };"
start_gateway "$WORK/gw.conf"
marked sha1_allowed TN-Validation-Passed "$(signed sha1_allowed --alg rsa-sha1)"
stop_gateway
