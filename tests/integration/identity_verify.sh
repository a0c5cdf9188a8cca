#!/bin/bash
# The gateway as RFC 8224 verification service on the trunk leg. The trunk
# (SIPp behind stunnel) calls a phone with an Identity header made by an
# independent signer (stir_tool.py on python3-cryptography, key sti-peer of
# the development STI PKI), its certificate served by a test HTTP server
# (127.0.0.1:8081) that also misbehaves on demand.
#  mark mode: every case reaches the phone, whose From carries the verstat
#  ATIS-1000074 defines (TN-Validation-Passed / -Failed / No-TN-Validation)
#  and the case's counter moves: a good token (full and compact form), none,
#  a flipped signature, claims changed after signing, a stale and a future
#  iat, a wrong dest, an x5u that answers 404, hangs (a good call meanwhile
#  completes at once), or sends 10 MB, certificates from an unknown CA,
#  without TNAuthList and expired; a verstat the trunk wrote itself never
#  reaches the phone;
#  reject mode: 428 / 436 / 438 / 403 with Reason: STIR, and a good call
#  still passes.
# Without the feature no verstat reaches the phone (the Passed check fails)
# and no refusal is sent.
. "$TESTS/integration/lib.sh"
TOOL="python3 $TESTS/integration/stir_tool.py"
ORIG=+15550001 ORIG_TN=15550001 DEST=+12125551234 DEST_TN=12125551234
CERTDIR="$WORK/sti"
mkdir -p "$CERTDIR"
cp "$CERTS/sti-peer.crt" "$CERTDIR/"

# bad_cert NAME CA_CRT CA_KEY TEMPLATE_LINES: a leaf certificate for the
# verification failures, written to $CERTDIR/NAME.crt with its key NAME.key.
bad_cert() {
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$CERTDIR/$1.key" 2>/dev/null
	printf '%s\n' "cn = \"$1\"" signing_key "$4" >"$WORK/$1.cfg"
	certtool --generate-certificate --load-privkey "$CERTDIR/$1.key" --load-ca-certificate "$2" \
		--load-ca-privkey "$3" --template "$WORK/$1.cfg" --outfile "$CERTDIR/$1.crt" 2>/dev/null ||
		fail "certtool: $1"
}
TNAUTH='add_extension = "1.3.6.1.5.5.7.1.26 0x3008a006160435363738"'
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$WORK/rogue-ca.key" 2>/dev/null
printf 'cn = "Rogue STI-CA"\nca\ncert_signing_key\nexpiration_days = 30\n' >"$WORK/rogue-ca.cfg"
certtool --generate-self-signed --load-privkey "$WORK/rogue-ca.key" --template "$WORK/rogue-ca.cfg" \
	--outfile "$WORK/rogue-ca.crt" 2>/dev/null || fail "certtool: rogue CA"
bad_cert rogue "$WORK/rogue-ca.crt" "$WORK/rogue-ca.key" "$TNAUTH
expiration_days = 30"
bad_cert notn "$CERTS/sti-ca.crt" "$CERTS/sti-ca.key" "expiration_days = 30"
bad_cert expired "$CERTS/sti-ca.crt" "$CERTS/sti-ca.key" "$TNAUTH
activation_date = \"2020-01-01 00:00:00\"
expiration_date = \"2021-01-01 00:00:00\""

$TOOL serve --port 8081 --root "$CERTDIR" --lifetime 300 &
PIDS="$PIDS $!"
wait_port tcp 8081

STIR="stir = { trust = \"$CERTS/sti-ca.crt\"; fetch_http_hosts = [ \"127.0.0.1\" ];
  fetch_allow_networks = [ \"127.0.0.0/8\" ]; fetch_timeout = 1500; connect_timeout = 500; };"
URL=http://127.0.0.1:8081

# identity [sign args...]: an Identity header line for a call ORIG -> DEST,
# signed with sti-peer unless --key names another.
identity() {
	local key="$CERTS/sti-peer.key" x5u="$URL/sti-peer.crt"
	case "${1:-}" in --key) key=$2 x5u=$3; shift 3 ;; esac
	echo "Identity: $($TOOL sign --key "$key" --x5u "$x5u" --orig "$ORIG_TN" --dest "$DEST_TN" "$@")"
}

# marked NAME VERSTAT HEADERS [FROM]: one call from the trunk with HEADERS;
# the phone's INVITE must carry ;verstat=VERSTAT in its From, once.
marked() {
	fill_scenario uac_trunk_identity.xml "$WORK/$1.xml" FROM "${4:-$ORIG}" HEADERS "$3"
	trunk_call_marked "$1" "$2" "$WORK/$1.xml" -s "$DEST"
}
# counted NAME COUNTER: the counter moved
counted() { [ "$(counter "$2")" -ge 1 ] || { tail -20 "$WORK/gateway.log" >&2; fail "$1: $2 not counted"; }; }

OUTSIDE_LEG='identity_verify = "mark";' call_config "$WORK/gw.conf" "$STIR"
start_gateway "$WORK/gw.conf"
stunnel_client 15061 5061 trunk

marked good TN-Validation-Passed "$(identity)"
counted good identity_verify_passed
now=$(date +%s)
marked compact TN-Validation-Passed "$(identity --compact --iat "$now")
Date: $(LC_ALL=C date -u -d "@$now" '+%a, %d %b %Y %H:%M:%S GMT')"
marked none No-TN-Validation ""
counted none identity_verify_no_identity
marked flipped TN-Validation-Failed "$(identity --flip-signature)"
counted flipped identity_verify_signature
marked tampered TN-Validation-Failed "$(identity --tamper-claims 19995550000)"
marked stale TN-Validation-Failed "$(identity --iat-offset -300)"
counted stale identity_verify_stale
marked future TN-Validation-Failed "$(identity --iat-offset 300)"
marked wrong_dest TN-Validation-Failed "$(identity --set 'dest={"tn":["19998887777"]}')"
counted wrong_dest identity_verify_dest_mismatch
marked not_found TN-Validation-Failed "$(identity --key "$CERTS/sti-peer.key" "$URL/missing.crt")"
counted not_found identity_verify_info_unreachable
marked too_big TN-Validation-Failed "$(identity --key "$CERTS/sti-peer.key" "$URL/big")"
marked rogue TN-Validation-Failed "$(identity --key "$CERTDIR/rogue.key" "$URL/rogue.crt")"
counted rogue identity_verify_cert_untrusted
marked notn TN-Validation-Failed "$(identity --key "$CERTDIR/notn.key" "$URL/notn.crt")"
counted notn identity_verify_cert_no_tnauth
marked expired TN-Validation-Failed "$(identity --key "$CERTDIR/expired.key" "$URL/expired.crt")"
counted expired identity_verify_cert_expired
# A verstat the trunk wrote itself is removed; ours says what we found.
marked forged_verstat TN-Validation-Failed "$(identity --flip-signature)" "$ORIG;verstat=TN-Validation-Passed"
counted forged_verstat identity_verify_passed

# A hanging x5u: its call waits for the fetch's timeout, while a call with a
# cached certificate goes through meanwhile (the loop never blocks).
fill_scenario uac_trunk_identity.xml "$WORK/hang.xml" FROM "$ORIG" HEADERS "$(identity --key "$CERTS/sti-peer.key" "$URL/hang")"
fill_scenario uac_trunk_identity.xml "$WORK/quick.xml" FROM "$ORIG" HEADERS "$(identity)"
timeout 60 sipp -sf "$TESTS/integration/sipp/uas_phone.xml" -t u1 -p 5090 -i 127.0.0.1 -m 2 -nostdin \
	>"$WORK/phone.out" 2>&1 &
PHONE_PID=$!
PIDS="$PIDS $PHONE_PID"
wait_port udp 5090
start_sipp hang "$WORK/hang.xml" 127.0.0.1:15061 -s "$DEST" -t t1 -p 15074 -d 100
sleep 0.3 # the hanging fetch has started
run_sipp "$WORK/quick.xml" 127.0.0.1:15061 -s "$DEST" -t t1 -p 15075 -d 100 ||
	fail "hang: a call with a cached certificate did not complete while another's x5u hung"
kill -0 "$(cat "$WORK/hang.pid")" 2>/dev/null ||
	fail "hang: the call whose x5u hangs was over before the quick call (no hang tested)"
wait_sipp hang "hang: the call whose x5u hangs did not complete after the fetch timeout"
wait_phone "hang: the phone's scenario failed"
[ "$(counter identity_verify_info_unreachable)" -ge 3 ] || fail "hang: the hanging fetch was not counted"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway

# reject mode: the RFC 8224 answers with Reason: STIR.
# refused NAME STATUS HEADERS
refused() {
	fill_scenario uac_trunk_identity_refused.xml "$WORK/$1.xml" FROM "$ORIG" RURI "sip:$DEST@localhost" \
		HEADERS "$3" EXPECT "$2" CHECK "Reason: STIR;cause=$2"
	run_sipp "$WORK/$1.xml" 127.0.0.1:15061 -t t1 -p 15073 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
		fail "$1: not refused with $2 and Reason: STIR"; }
}
OUTSIDE_LEG='identity_verify = "reject";' call_config "$WORK/gw.conf" "$STIR"
start_gateway "$WORK/gw.conf"
refused missing 428 ""
refused bad_signature 438 "$(identity --flip-signature)"
refused bad_info 436 "$(identity --key "$CERTS/sti-peer.key" "$URL/missing.crt")"
refused untrusted 437 "$(identity --key "$CERTDIR/rogue.key" "$URL/rogue.crt")"
refused stale 403 "$(identity --iat-offset -300)"
[ "$(counter identity_calls_rejected)" -eq 5 ] || fail "reject: identity_calls_rejected is not 5"
marked accepted TN-Validation-Passed "$(identity)"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
