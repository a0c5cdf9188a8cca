#!/bin/bash
# Phones register with digest authentication and get calls from the trunk:
#   - MD5 with SIPp (Debian's SIPp 3.6 answers only the first challenge and
#     knows only MD5, so that gateway offers MD5 alone: auth.algorithms);
#   - SHA-256 (RFC 8760) with register_sha256.py against the default
#     configuration, which challenges SHA-256 first, then MD5;
#   - a wrong password, a replayed Authorization and registering another
#     user's address are refused and counted; the third failure from one
#     source locks it out (403), even for the right password;
#   - a phone's INVITE is challenged with 407 and goes through with
#     credentials; without them nothing is allocated;
#   - the trunk's call to the registered user reaches the phone at the
#     address its REGISTER came from, with the registered contact as the
#     Request-URI; a call to a user with no registration gets 480.
. "$TESTS/integration/lib.sh"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
[ -x "$PASSWD" ] || fail "portcullis-passwd not built"
echo "secret123" | "$PASSWD" alice portcullis.test sip:alice@portcullis.test >"$WORK/users" || fail "passwd: alice"
printf 's3cret-bob\n' | "$PASSWD" bob portcullis.test >>"$WORK/users" || fail "passwd: bob"
grep -q "secret" "$WORK/users" && fail "a password reached the user store"

# gateway_with ALGORITHMS: the reference scenario, the inside leg a digest
# registrar, calls from the trunk routed to registered phones.
gateway_with() {
	INSIDE_LEG='registrar = true; auth = "digest";' PHONE_ROUTE='registered = true;' \
		call_config "$WORK/gw.conf" "auth = { realm = \"portcullis.test\"; users = \"$WORK/users\"; $1 };"
	start_gateway "$WORK/gw.conf"
}
# register USER PASSWORD FINAL: SIPp's MD5 REGISTER from the phone's port 5090.
register() {
	sed -e "s/USER/$1/g" -e "s/PASSWORD/$2/" -e "s/FINAL/$3/" "$TESTS/integration/sipp/uac_register.xml" \
		>"$WORK/register.xml"
	run_sipp "$WORK/register.xml" 127.0.0.1:5060 -t u1 -p 5090 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
		fail "REGISTER of $1 did not end in $3"; }
}

# SHA-256, default algorithms.
gateway_with ""
python3 "$TESTS/integration/register_sha256.py" bob s3cret-bob portcullis.test 5092 || fail "SHA-256 registration"
[ "$(counter registrations_accepted)" -eq 1 ] || fail "SHA-256: one registration expected"
[ "$(counter auth_failures)" -ge 2 ] || fail "the replay and the wrong password were not counted"
stop_gateway

# MD5 with SIPp, then calls.
gateway_with 'algorithms = [ "MD5" ]; max_failures = 3; lockout = 60;'
register alice wrong-password 401
[ "$(counter auth_failures)" -ge 1 ] || fail "a wrong MD5 password was not counted"
register alice secret123 200
grep -q "^Contact: <sip:alice@127.0.0.1:5090>;expires=300" "$WORK/sipp_msg.log" ||
	fail "the 200 does not list the registered contact with its expiry"
# bob's password cannot register alice's address.
sed -e "s/USER/alice/g" -e "s/username=alice/username=bob/" -e "s/PASSWORD/s3cret-bob/" -e "s/FINAL/403/" \
	"$TESTS/integration/sipp/uac_register.xml" >"$WORK/register.xml"
run_sipp "$WORK/register.xml" 127.0.0.1:5060 -t u1 -p 5091 || fail "bob registered alice's address"

# alice calls out: her INVITE is challenged (407) and goes through with her
# credentials; a phone without them gets nothing but challenges. (SIPp
# answers with uri="sip:host:port" unless told the Request-URI: -auth_uri.
# The gateway insists on the Request-URI, RFC 7616 §3.4.6.)
start_trunk uas_trunk.xml
run_sipp uac_call_auth.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 200 \
	-auth_uri 12125551234@127.0.0.1:5060 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
	fail "alice's authenticated call failed"; }
wait_trunk
grep -q "^SIP/2.0 407 Proxy Authentication Required" "$WORK/sipp_msg.log" || fail "the INVITE was not challenged"
grep -q "^Proxy-Authenticate: Digest realm=\"portcullis.test\"" "$WORK/sipp_msg.log" ||
	fail "the 407 carries no Proxy-Authenticate"
expect_log "call [0-9]+ established"
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 200 &&
	fail "an INVITE without credentials got through"
grep -q "^SIP/2.0 407" "$WORK/sipp_msg.log" || fail "the unauthenticated INVITE was not challenged"
[ "$(counter calls)" -eq 0 ] || fail "state left for an unauthenticated INVITE"

# The trunk calls alice: the call reaches the phone that registered.
start_phone uas_phone.xml
stunnel_client 15061 5061 trunk
run_sipp uac_trunk_call.xml 127.0.0.1:15061 -s alice -t t1 -p 15073 -d 300 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/phone_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
	fail "call from the trunk to the registered phone failed"; }
wait_phone "the phone's scenario failed"
grep -q "^INVITE sip:alice@127.0.0.1:5090 SIP/2.0" "$WORK/phone_msg.log" ||
	fail "the phone's INVITE does not carry the registered contact"
# Nobody registered as carol: 480, with nothing allocated for the call.
sed -e 's/bob@/carol@/g' -e 's/response="404"/response="480"/' "$TESTS/integration/sipp/invite_uac_404.xml" \
	>"$WORK/carol.xml"
run_sipp "$WORK/carol.xml" 127.0.0.1:15061 -t t1 -p 15074 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "a call to an unregistered user did not get 480"; }
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"

# Password guessing: the third failure from this source within the window
# locks it out (403), after which even the right password is refused
# before any challenge.
register alice wrong-again 401
register alice wrong-thrice 403
sed -e 's/USER/alice/g' -e '/<recv response="401"/,$d' "$TESTS/integration/sipp/uac_register.xml" >"$WORK/locked.xml"
printf '  <recv response="403"/>\n</scenario>\n' >>"$WORK/locked.xml"
run_sipp "$WORK/locked.xml" 127.0.0.1:5060 -t u1 -p 5090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "a locked-out source was still challenged"; }
[ "$(counter auth_refused_locked_out)" -ge 2 ] || fail "lockout refusals not counted"
stop_gateway
