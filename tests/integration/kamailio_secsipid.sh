#!/bin/bash
# Kamailio's secsipid module against the independent STIR tool, without the
# gateway: proves both halves of identity_kamailio.sh's trunk, so a failure
# there is the gateway's. Kamailio (kamailio_stir.inc) as verifier, reached
# over TLS with the gateway's client certificate (SIPp behind stunnel),
# accepts an Identity stir_tool.py signed with sti-peer.key (603 Identity
# Verified) and refuses a flipped signature, a missing Identity, a stale
# iat, claims for another number, an x5u answering 404 and a certificate
# from an unknown CA, each with its own status. As signer it adds an
# Identity to a SIPp call and relays it over TLS to a stand-in for the
# gateway (stunnel with gateway.pem demanding a client certificate, SIPp
# behind it answering 486); stir_tool.py verify accepts what arrived, and
# refuses it when Kamailio points x5u at a certificate whose key did not sign.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/kamailio_stir.inc"
TOOL="python3 $TESTS/integration/stir_tool.py"
ORIG=+15550001 ORIG_TN=15550001 DEST=+12125551234 DEST_TN=12125551234
CERTDIR="$WORK/sti"
mkdir -p "$CERTDIR"
cp "$CERTS/sti-peer.crt" "$CERTS/sti.crt" "$CERTDIR/"
# An STI certificate (P-256, TNAuthList) from a CA nobody trusts.
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$WORK/rogue-ca.key" 2>/dev/null
printf 'cn = "Rogue STI-CA"\nca\ncert_signing_key\nexpiration_days = 2\n' >"$WORK/rogue-ca.cfg"
certtool --generate-self-signed --load-privkey "$WORK/rogue-ca.key" --template "$WORK/rogue-ca.cfg" \
	--outfile "$WORK/rogue-ca.crt" 2>/dev/null || fail "certtool: rogue CA"
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$WORK/rogue-raw.key" 2>/dev/null
# certtool writes a 33-byte private key when its top bit is set, which newer
# python3-cryptography (not Debian 12's) refuses: stir_tool signs with
# OpenSSL's re-encoding of each key.
openssl pkey -in "$WORK/rogue-raw.key" -out "$WORK/rogue.key" || fail "openssl: rogue key"
openssl pkey -in "$CERTS/sti-peer.key" -out "$WORK/sti-peer.key" || fail "openssl: sti-peer key"
printf 'cn = "SHAKEN 9999"\nsigning_key\nexpiration_days = 2\nadd_extension = "1.3.6.1.5.5.7.1.26 0x3008a006160439393939"\n' \
	>"$WORK/rogue.cfg"
certtool --generate-certificate --load-privkey "$WORK/rogue-raw.key" --load-ca-certificate "$WORK/rogue-ca.crt" \
	--load-ca-privkey "$WORK/rogue-ca.key" --template "$WORK/rogue.cfg" --outfile "$CERTDIR/rogue.crt" \
	2>/dev/null || fail "certtool: rogue STI certificate"

start_x5u_server "$CERTDIR"
KAM_RELAY=127.0.0.1:15062 start_kamailio
CHECK_HOST=trunk.portcullis.test stunnel_client 15071 5071 gateway

# verify NAME STATUS REASON_REGEXP [sign args]: a call to Kamailio's
# verifier whose Identity stir_tool.py made with sign args ("" for none).
verify() {
	local name=$1 status=$2 reason=$3 headers=""
	shift 3
	if [ $# -gt 0 ]; then
		headers="Identity: $($TOOL sign "$@")" || fail "$name: stir_tool.py could not sign"
	fi
	fill_scenario uac_identity_fail.xml "$WORK/$name.xml" FROM "$ORIG@trunk.portcullis.test" HEADERS "$headers" \
		EXPECT "$status" REASON "$reason"
	kam_mark
	run_sipp "$WORK/$name.xml" 127.0.0.1:15071 -s "$DEST" -t t1 -p 15073 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/kamailio.log" >&2
		fail "$name: Kamailio did not answer $status $reason"; }
}
PEER=(--key "$WORK/sti-peer.key" --x5u "$KAM_X5U/sti-peer.crt" --dest "$DEST_TN")
verify good 603 "603 Identity Verified" "${PEER[@]}" --orig "$ORIG_TN"
kam_outcome "outcome=verified attest=A orig=$ORIG_TN dest=$DEST_TN origid=4437c7eb-"
verify flipped 438 "438 Invalid Identity Header \(secsipid -2[0-9]{2}\)" "${PEER[@]}" --orig "$ORIG_TN" --flip-signature
verify missing 428 "428 Use Identity Header"
verify stale 438 "438 Invalid Identity Header \(secsipid -232\)" "${PEER[@]}" --orig "$ORIG_TN" --iat-offset -120
verify other_number 438 "438 Invalid Identity Header \(claims\)" "${PEER[@]}" --orig 19995550000
verify not_found 436 "436 Bad Identity Info" --key "$WORK/sti-peer.key" --x5u "$KAM_X5U/missing.crt" \
	--dest "$DEST_TN" --orig "$ORIG_TN"
verify rogue 437 "437 Unsupported Credential" --key "$WORK/rogue.key" --x5u "$KAM_X5U/rogue.crt" \
	--dest "$DEST_TN" --orig "$ORIG_TN"

# The signer: Kamailio -> TLS 15062 (stand-in gateway) -> SIPp on TCP 15092.
stunnel_server 15062 15092 gateway
# signed NAME X_SIGN: one call through Kamailio's signer; $WORK/NAME.identity
# is the Identity the stand-in received.
signed() {
	timeout 30 sipp -sf "$TESTS/integration/sipp/uas_trunk_fail.xml" -t t1 -p 15092 -i 127.0.0.1 -m 1 \
		-nostdin -trace_msg -message_file "$WORK/$1_standin_msg.log" >"$WORK/$1_standin.out" 2>&1 &
	local uas=$!
	PIDS="$PIDS $uas"
	wait_port tcp 15092
	fill_scenario uac_identity_fail.xml "$WORK/$1.xml" FROM "$ORIG@trunk.portcullis.test" HEADERS "X-Sign: $2" \
		EXPECT 486 REASON "486 Busy Here"
	run_sipp "$WORK/$1.xml" 127.0.0.1:15080 -s "$DEST" -t t1 -p 15074 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/kamailio.log" >&2
		fail "$1: the call through Kamailio's signer failed"; }
	wait "$uas" || { cat "$WORK/$1_standin.out" >&2; fail "$1: the stand-in's scenario failed"; }
	received_msg "$WORK/$1_standin_msg.log" INVITE >"$WORK/$1.invite"
	grep -q "^X-Sign" "$WORK/$1.invite" && fail "$1: X-Sign was relayed"
	sed -n 's/^Identity: *//p' "$WORK/$1.invite" | tr -d '\r' >"$WORK/$1.identity"
	[ -s "$WORK/$1.identity" ] || { cat "$WORK/$1.invite" >&2; fail "$1: no Identity relayed"; }
}
signed kam_good good
$TOOL verify --header "$(cat "$WORK/kam_good.identity")" --ca "$CERTS/sti-ca.crt" --orig "$ORIG_TN" \
	--dest "$DEST_TN" >"$WORK/kam_good.verify" 2>&1 || {
	cat "$WORK/kam_good.verify" "$WORK/kam_good.invite" >&2; fail "stir_tool refused Kamailio's Identity"; }
grep -q "^OK attest=A origid=$KAM_ORIGID" "$WORK/kam_good.verify" || {
	cat "$WORK/kam_good.verify" >&2; fail "Kamailio's Identity: not attestation A with its origid"; }
signed kam_other other-cert
if $TOOL verify --header "$(cat "$WORK/kam_other.identity")" --ca "$CERTS/sti-ca.crt" --orig "$ORIG_TN" \
	--dest "$DEST_TN" >"$WORK/kam_other.verify" 2>&1; then
	fail "stir_tool accepted an Identity whose x5u certificate did not sign it"
fi
