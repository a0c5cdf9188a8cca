#!/bin/bash
# RFC 3323 privacy with the gateway as privacy service; alice calls from the
# inside with digest authentication, the trunk (SIPp behind stunnel) answers:
#  trunk NOT trusted, pai_toward_untrusted = "keep":
#  (a) control: without Privacy the trunk gets her P-Asserted-Identity;
#      with "Privacy: id" it gets neither P-Asserted-Identity nor Privacy;
#  (b) with "Privacy: header" the trunk's From is "Anonymous"
#      <sip:anonymous@anonymous.invalid> and nothing names her (user name,
#      display name, asserted identity) or repeats her User-Agent, Call-Info,
#      Organization or Subject (from_anonymised);
#  (d) "Privacy: foo;critical" gets 500 naming foo, and the live trunk gets
#      nothing for it (calls_refused_privacy);
#  trunk trusted (trusted_names):
#  (c) "Privacy: id" is passed on with her asserted identity.
# Without the feature: the asserted identity would reach the untrusted trunk
# despite Privacy: id (a), the From would name alice (b), the Privacy header
# would not reach the trusted trunk (c) and the critical request would be
# put through instead of refused (d).
. "$TESTS/integration/lib.sh"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
[ -x "$PASSWD" ] || fail "portcullis-passwd not built"
printf 'secret123' | "$PASSWD" alice localhost sip:alice@localhost >"$WORK/users" || fail "passwd: alice"
AUTH="auth = { users = \"$WORK/users\"; algorithms = [ \"MD5\" ]; };"
ALICE=(-au alice -ap secret123 -auth_uri 12125551234@127.0.0.1:5060 -s 12125551234 -t u1 -p 15090)

# call NAME HEADERS: alice's authenticated call with HEADERS on her INVITE;
# $WORK/NAME.invite is the INVITE the trunk received (the trunk must have
# been started).
call() {
	fill_scenario policy_uac_call_auth.xml "$WORK/$1.xml" HEADERS "$2"
	run_sipp "$WORK/$1.xml" 127.0.0.1:5060 "${ALICE[@]}" -d 200 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
		fail "$1: the call failed"; }
	wait_trunk
	received_msg "$WORK/trunk_msg.log" INVITE >"$WORK/$1.invite"
	[ -s "$WORK/$1.invite" ] || fail "$1: no INVITE at the trunk"
}
has() { grep -q "$2" "$WORK/$1.invite" || { cat "$WORK/$1.invite" >&2; fail "$1: no \"$2\" at the trunk"; }; }
lacks() { ! grep -qi "$2" "$WORK/$1.invite" || { cat "$WORK/$1.invite" >&2; fail "$1: \"$2\" reached the trunk"; }; }

INSIDE_LEG='auth = "digest";' call_config "$WORK/gw.conf" "$AUTH identity = { pai_toward_untrusted = \"keep\"; };"
start_gateway "$WORK/gw.conf"

# (a) control, then Privacy: id toward the untrusted trunk.
start_trunk uas_trunk.xml
call no_privacy ""
has no_privacy "^P-Asserted-Identity: <sip:alice@localhost>"
lacks no_privacy "^Privacy:"
start_trunk uas_trunk.xml
call privacy_id "Privacy: id"
lacks privacy_id "^P-Asserted-Identity:"
lacks privacy_id "^Privacy:"

# (d) critical with a value nobody knows: 500, nothing at the trunk, whose
# only INVITE is then the next call's.
start_trunk uas_trunk.xml
fill_scenario policy_uac_auth_refused.xml "$WORK/critical.xml" HEADERS "Privacy: foo;critical" \
	EXPECT 500 CHECK "^SIP/2.0 500 Privacy Unavailable: foo"
run_sipp "$WORK/critical.xml" 127.0.0.1:5060 "${ALICE[@]}" || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "critical: no 500 naming the unsupported priv-value"; }
[ "$(counter calls_refused_privacy)" -ge 1 ] || fail "critical: calls_refused_privacy not counted"

# (b) header privacy: an anonymous From, nothing that names alice.
call privacy_header "Privacy: header
User-Agent: InsidePhone/1.0 (alice's desk)
Call-Info: <http://photos.example.org/alice.jpg>;purpose=icon
Organization: Acme Secret Org
Subject: Quarterly numbers"
[ "$(grep -c '^INVITE ' "$WORK/trunk_msg.log")" -eq 1 ] || fail "critical: the refused INVITE reached the trunk"
has privacy_header '^From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag='
for leak in alice "Alice Inside" InsidePhone photos.example.org "Acme Secret Org" "Quarterly numbers" \
	"^P-Asserted-Identity:" "^Privacy:" "^User-Agent:" "^Call-Info:" "^Organization:" "^Subject:"; do
	lacks privacy_header "$leak"
done
[ "$(counter from_anonymised)" -ge 1 ] || fail "header: from_anonymised not counted"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway

# (c) the trunk is trusted: Privacy passes with the asserted identity.
INSIDE_LEG='auth = "digest";' call_config "$WORK/gw.conf" \
	"$AUTH identity = { trusted_names = [ \"trunk.portcullis.test\" ]; };"
start_gateway "$WORK/gw.conf"
start_trunk uas_trunk.xml
call trusted_id "Privacy: id"
has trusted_id "^Privacy: id"
has trusted_id "^P-Asserted-Identity: <sip:alice@localhost>"
stop_gateway
