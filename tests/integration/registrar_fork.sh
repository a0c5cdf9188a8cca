#!/bin/bash
# A user registered from two phones gets the trunk's call on whichever can
# take it (serial forking, newest registration first), and a binding's Path
# (RFC 3327) is the route set of the INVITE sent toward it:
#   - carol registers from 127.0.0.2:5090, then from 127.0.0.1:5091 through an
#     edge proxy that added Path: <sip:edge.portcullis.test;lr>;
#   - the trunk calls carol: the newest binding (5091) gets the INVITE first,
#     carrying Route: <sip:edge.portcullis.test;lr> and carol's contact as
#     Request-URI, and answers 480; the gateway then tries 5090, which
#     answers, and the trunk's call is established.
#   - each contact is a device of its own: the inside leg offers SRTP best
#     effort (RFC 8643: a=crypto on RTP/AVP), and the second phone must get
#     keys of its own, not the ones the first phone already saw;
#   - and a decision of its own on identity: the trunk asserts the caller
#     with Privacy: id; 127.0.0.1 is inside the trust domain and gets the
#     P-Asserted-Identity, 127.0.0.2 is not and must not.
# Without forking the trunk would get the 480; without Path no Route;
# without a fresh offer per attempt both phones would hold the same keys.
. "$TESTS/integration/lib.sh"
python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.2", 0))' ||
	fail "cannot bind 127.0.0.2 on this machine"
INSIDE_MEDIA=best-effort INSIDE_LEG='registrar = true; allow_unauthenticated_register = true;' PHONE_ROUTE='registered = true;' call_config "$WORK/gw.conf" \
	'identity = { trusted_names = [ "trunk.portcullis.test" ]; trusted_networks = [ "127.0.0.1/32" ]; };' 
start_gateway "$WORK/gw.conf"

# register IP PORT [PATH]: carol's contact at IP:PORT, no authentication on
# this leg (auth = "none").
register() {
	local ip=$1
	shift
	cat >"$WORK/reg-$1.xml" <<XML
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500">
    <![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
Max-Forwards: 70
From: <sip:carol@localhost>;tag=[pid]reg$1
To: <sip:carol@localhost>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:carol@[local_ip]:[local_port]>
${2:+Path: $2
Supported: path
}Expires: 300
Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
XML
	run_sipp "$WORK/reg-$1.xml" 127.0.0.1:5060 -t u1 -i "$ip" -p "$1" || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "REGISTER from port $1 failed"; }
}
register 127.0.0.2 5090
sleep 1.1 # registrations are ordered by time (seconds)
register 127.0.0.1 5091 "<sip:edge.portcullis.test;lr>"

# The newest phone refuses with 480 after checking what it got.
cat >"$WORK/busy.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="phone that cannot take the call">
  <recv request="INVITE">
    <action>
      <ereg regexp="^INVITE sip:carol@127\.0\.0\.1:5091 SIP/2\.0" search_in="msg" check_it="true" assign_to="1"/>
      <ereg regexp="Route: &lt;sip:edge\.portcullis\.test;lr&gt;" search_in="msg" check_it="true" assign_to="2"/>
    </action>
  </recv>
  <send>
    <![CDATA[
SIP/2.0 480 Temporarily Unavailable
[last_Via:]
[last_From:]
[last_To:];tag=[pid]busy
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
  <Reference variables="1,2"/>
</scenario>
XML
timeout 30 sipp -sf "$WORK/busy.xml" -t u1 -p 5091 -i 127.0.0.1 -m 1 -nostdin \
	-trace_msg -message_file "$WORK/busy_msg.log" -trace_err -error_file "$WORK/busy_err.log" \
	>"$WORK/busy.out" 2>&1 &
BUSY_PID=$!
PIDS="$PIDS $BUSY_PID"
wait_port udp 5091
# The older phone: uas_phone.xml, except that a best-effort leg's offer
# carries a=crypto (which it answers without: plain RTP).
sed '/regexp="a=crypto"/d; s/variables="1,2"/variables="1"/' "$TESTS/integration/sipp/uas_phone.xml" >"$WORK/phone.xml"
PHONE_IP=127.0.0.2 start_phone "$WORK/phone.xml"
stunnel_client 15061 5061 trunk

sed 's/^User-Agent: TrunkCore\/9$/&\nP-Asserted-Identity: <sip:+15550001@trunk.portcullis.test>\nPrivacy: id/' \
	"$TESTS/integration/sipp/uac_trunk_call.xml" >"$WORK/trunk_call.xml"
grep -q "^Privacy: id" "$WORK/trunk_call.xml" || fail "cannot add the identity headers to the trunk's INVITE"
run_sipp "$WORK/trunk_call.xml" 127.0.0.1:15061 -s carol -t t1 -p 15073 -d 300 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/busy_err.log" "$WORK/phone_err.log" >&2
	tail -30 "$WORK/gateway.log" >&2; fail "the call to carol did not reach her second phone"; }
wait_phone "the older phone did not get the call"
for _ in $(seq 50); do kill -0 "$BUSY_PID" 2>/dev/null || break; sleep 0.1; done
wait "$BUSY_PID" || { cat "$WORK/busy.out" "$WORK/busy_err.log" >&2; fail "the newest phone did not get the INVITE first, with the Path route"; }
grep -q "^INVITE sip:carol@127.0.0.2:5090 SIP/2.0" "$WORK/phone_msg.log" || fail "the older phone's INVITE has another Request-URI"
grep -q "^Route:" "$WORK/phone_msg.log" && fail "a Route reached the phone registered without Path"
expect_log "call [0-9]+: contact 1 of the callee failed \(480\); trying contact 2"
expect_log "call [0-9]+ established"
keys() { sed -n '/^INVITE /,/^ACK /p' "$1" | grep -o 'inline:[A-Za-z0-9+/=]*' | sort -u; }
keys "$WORK/busy_msg.log" >"$WORK/keys-first"
keys "$WORK/phone_msg.log" >"$WORK/keys-second"
[ -s "$WORK/keys-first" ] && [ -s "$WORK/keys-second" ] || fail "the phones were offered no a=crypto on the best-effort leg"
[ -z "$(comm -12 "$WORK/keys-first" "$WORK/keys-second")" ] || fail "the second contact was offered the keys the first contact saw"
invite_has() { sed -n '/^INVITE /,/^Content-Length/p' "$1" | grep -qi "^$2"; }
invite_has "$WORK/busy_msg.log" "P-Asserted-Identity: <sip:+15550001@" || fail "the trusted contact did not get the asserted identity"
invite_has "$WORK/phone_msg.log" "P-Asserted-Identity" && fail "the untrusted contact got the asserted identity despite Privacy: id"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
