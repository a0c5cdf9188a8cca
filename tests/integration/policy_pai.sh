#!/bin/bash
# RFC 3325 asserted identity across the gateway, with the trunk (SIPp behind
# stunnel, verified as trunk.portcullis.test) a trusted next hop:
#  (a) a caller on the inside, not authenticated and not in the trust domain,
#      sends P-Asserted-Identity and P-Preferred-Identity naming
#      sip:ceo@example.com: the trunk's INVITE carries neither header and no
#      trace of the spoofed identity (pai_removed_untrusted);
#  (b) control: the same request from a trusted network (127.0.0.1 listed in
#      trusted_networks) has its P-Asserted-Identity passed on, so (a) shows
#      the trust decision, not a B2BUA that drops everything; the
#      P-Preferred-Identity is never forwarded;
#  (c) alice authenticates with digest (her store entry owns
#      sip:alice@localhost and tel:+12125550100, assert_tel = true) and sends
#      the same spoofed headers: the trunk gets exactly her two identities,
#      sip first, and nothing of the spoof (pai_asserted);
#  (d) alice, authenticated, calls with someone else's number as her From
#      user toward a trunk outside the trust domain (where no assertion
#      reaches): the trunk's From is hers, sip:alice@..., not the number
#      (from_replaced_not_owned); before the fix the number went through.
# Without the feature: if P-Asserted-Identity from untrusted hops were passed
# on, (a) finds it at the trunk; if the gateway asserted nothing for
# authenticated callers, (c) finds no P-Asserted-Identity; the counters stay 0.
. "$TESTS/integration/lib.sh"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
[ -x "$PASSWD" ] || fail "portcullis-passwd not built"
printf 'secret123' | "$PASSWD" alice localhost sip:alice@localhost tel:+12125550100 >"$WORK/users" ||
	fail "passwd: alice"
SPOOF='P-Asserted-Identity: "Chief Executive" <sip:ceo@example.com>
P-Preferred-Identity: <sip:ceo@example.com>'
TRUNK_TRUSTED='trusted_names = [ "trunk.portcullis.test" ]; assert_tel = true;'

# call NAME SCENARIO [sipp args]: one call from the inside carrying $SPOOF;
# $WORK/NAME.invite is the INVITE the trunk received.
call() { INSIDE_HEADERS="$SPOOF" inside_call "$@"; }
no_spoof() { # no_spoof NAME: nothing of the spoofed identity at the trunk
	grep -qi "^P-Preferred-Identity:" "$WORK/$1.invite" && fail "$1: P-Preferred-Identity forwarded"
	for leak in "ceo@" "example.com" "Chief Executive"; do
		grep -qiF "$leak" "$WORK/$1.invite" && fail "$1: the spoofed identity reached the trunk ($leak)"
	done
	return 0
}

# (a) untrusted, unauthenticated caller.
call_config "$WORK/gw.conf" "identity = { $TRUNK_TRUSTED };"
start_gateway "$WORK/gw.conf"
call untrusted policy_uac_call.xml
grep -qi "^P-Asserted-Identity:" "$WORK/untrusted.invite" && fail "untrusted: P-Asserted-Identity reached the trunk"
no_spoof untrusted
[ "$(counter pai_removed_untrusted)" -ge 1 ] || fail "untrusted: pai_removed_untrusted not counted"
[ "$(counter pai_asserted)" -eq 0 ] || fail "untrusted: something was asserted for an unauthenticated caller"
expect_log "asserted identity: P-Asserted-Identity from an untrusted hop ignored"
stop_gateway

# (b) control: the caller's network is trusted, its assertion passes.
call_config "$WORK/gw.conf" "identity = { trusted_networks = [ \"127.0.0.1/32\" ]; };"
start_gateway "$WORK/gw.conf"
call trusted policy_uac_call.xml
grep -q "^P-Asserted-Identity: <sip:ceo@example.com>" "$WORK/trusted.invite" ||
	fail "control: a trusted hop's P-Asserted-Identity was not passed on"
grep -qi "^P-Preferred-Identity:" "$WORK/trusted.invite" && fail "control: P-Preferred-Identity forwarded"
[ "$(counter pai_removed_untrusted)" -eq 0 ] || fail "control: a trusted assertion counted as removed"
stop_gateway

# (c) alice authenticated: her own identities are asserted, the spoof is not.
INSIDE_LEG='auth = "digest";' call_config "$WORK/gw.conf" \
	"auth = { users = \"$WORK/users\"; algorithms = [ \"MD5\" ]; }; identity = { $TRUNK_TRUSTED };"
start_gateway "$WORK/gw.conf"
call alice policy_uac_call_auth.xml -au alice -ap secret123 -auth_uri 12125551234@127.0.0.1:5060
grep -q "^SIP/2.0 407 " "$WORK/sipp_msg.log" || fail "alice: the INVITE was not challenged"
grep "^P-Asserted-Identity:" "$WORK/alice.invite" | tr -d '\r' >"$WORK/alice.pai"
printf 'P-Asserted-Identity: <sip:alice@localhost>\nP-Asserted-Identity: <tel:+12125550100>\n' >"$WORK/alice.pai.want"
cmp -s "$WORK/alice.pai" "$WORK/alice.pai.want" || {
	cat "$WORK/alice.invite" >&2; fail "alice: the trunk did not get exactly her sip: and tel: identities, sip first"; }
no_spoof alice
[ "$(counter pai_asserted)" -ge 1 ] || fail "alice: pai_asserted not counted"
[ "$(counter pai_removed_untrusted)" -ge 1 ] || fail "alice: her spoofed assertion was not counted as removed"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway

# (d) an authenticated caller's From names only what she owns, even toward
# an untrusted trunk that gets no P-Asserted-Identity at all.
INSIDE_LEG='auth = "digest";' call_config "$WORK/gw.conf" \
	"auth = { users = \"$WORK/users\"; algorithms = [ \"MD5\" ]; };"
start_gateway "$WORK/gw.conf"
sed 's/<sip:alice@\[local_ip\]/<sip:12125559999@[local_ip]/' "$TESTS/integration/sipp/policy_uac_call_auth.xml" \
	>"$WORK/spoofed_from.tpl.xml"
grep -q "sip:12125559999@" "$WORK/spoofed_from.tpl.xml" || fail "could not write the spoofed From scenario"
call spoofed_from "$WORK/spoofed_from.tpl.xml" -au alice -ap secret123 -auth_uri 12125551234@127.0.0.1:5060
grep -q "^From: <sip:alice@" "$WORK/spoofed_from.invite" || {
	cat "$WORK/spoofed_from.invite" >&2; fail "spoofed_from: the trunk's From is not alice's"; }
grep -q "12125559999" "$WORK/spoofed_from.invite" && fail "spoofed_from: the spoofed number reached the trunk"
[ "$(counter from_replaced_not_owned)" -ge 1 ] || fail "spoofed_from: from_replaced_not_owned not counted"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
