#!/bin/bash
# Per-leg crypto policy with real peers: the operator allows only AEAD suites
# on the outside leg ("anything but AEAD is forbidden", which also forbids
# 32-bit tags).
#  1. The trunk calls in offering only AES-CM suites (80- and 32-bit tags):
#     488 with a Warning naming the leg's requirement, and the phone is never
#     called. Without the suite list the gateway would answer with AES-CM
#     (call_outside_in.sh shows it does).
#  2. The phone calls out: the gateway's offer to the trunk carries AEAD
#     suites only, one fresh key each.
#  3. A trunk offering a 32-bit tag first and an allowed AEAD suite second is
#     answered with the AEAD suite.
. "$TESTS/integration/lib.sh"
OUTSIDE_LEG='crypto = [ "AEAD_AES_256_GCM", "AEAD_AES_128_GCM" ];' call_config "$WORK/gw.conf"
start_phone uas_phone.xml
start_gateway "$WORK/gw.conf"
stunnel_client 15061 5061 trunk

# 1. Only AES-CM offered: 488 to the trunk, which ACKs it.
sed -e '/<recv response="200" rrs="true">/,$d' "$TESTS/integration/sipp/uac_trunk_call.xml" >"$WORK/trunk_cm.xml"
cat >>"$WORK/trunk_cm.xml" <<'XML'
  <recv response="488">
    <action>
      <ereg regexp="Warning: 399 [^ ]+ \"[^\"]*(crypto|SRTP|suite)[^\"]*\"" search_in="msg" check_it="true" assign_to="1"/>
    </action>
  </recv>
  <send>
    <![CDATA[
ACK sip:[service]@localhost SIP/2.0
Via: SIP/2.0/TCP [local_ip]:[local_port];branch=[branch-3]
Max-Forwards: 70
From: <sip:+15550001@trunk.portcullis.test>;tag=[pid]TrunkTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Content-Length: 0

    ]]>
  </send>
  <Reference variables="1"/>
</scenario>
XML
run_sipp "$WORK/trunk_cm.xml" 127.0.0.1:15061 -s 1001 -t t1 -p 15073 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "an AES-CM-only offer on an AEAD-only leg was not refused with 488 and a Warning"; }
expect_log "call [0-9]+ refused: 488"
[ -s "$WORK/phone_msg.log" ] && fail "the phone was called although the offer was refused"

# 3. _32 first, AEAD second: the AEAD line is the one answered.
sed -e 's|^a=crypto:2 AES_CM_128_HMAC_SHA1_32 .*|a=crypto:2 AEAD_AES_128_GCM inline:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+fw==|' \
	-e 's|^a=crypto:1 AES_CM_128_HMAC_SHA1_80 |a=crypto:1 AES_CM_128_HMAC_SHA1_32 |' \
	-e 's|a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" search_in|a=crypto:2 AEAD_AES_128_GCM inline:" search_in|' \
	"$TESTS/integration/sipp/uac_trunk_call.xml" >"$WORK/trunk_mixed.xml"
grep -q 'a=crypto:2 AEAD_AES_128_GCM inline:" search_in' "$WORK/trunk_mixed.xml" || fail "scenario edit failed"
run_sipp "$WORK/trunk_mixed.xml" 127.0.0.1:15061 -s 1001 -t t1 -p 15073 -d 300 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/phone_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "a mixed offer was not answered with its AEAD suite"; }
wait_phone "the phone's scenario failed"
grep -q "AES_CM_128_HMAC_SHA1_32" <(awk '/^SIP\/2.0 200/{f=1} f' "$WORK/sipp_msg.log") &&
	fail "the 32-bit suite was answered"

# 2. Outbound: only AEAD suites offered to the trunk.
start_trunk uas_trunk.xml
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 300 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; fail "call to the trunk failed"; }
wait_trunk
offer=$(awk '/^INVITE /{f=1} f && /^a=crypto:/{print $2} f && /^$/{n++} n==2{exit}' "$WORK/trunk_msg.log")
[ -n "$offer" ] || fail "no crypto offered to the trunk"
bad=$(grep -v '^AEAD_AES_' <<<"$offer")
[ -z "$bad" ] || fail "suites outside the leg's list offered: $bad"
note "offered to the trunk: $(tr '\n' ' ' <<<"$offer")"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
