#!/bin/bash
# Older "best effort SRTP" offers: the same audio twice, RTP/SAVP with
# a=crypto and RTP/AVP, for the answerer to take one and reject the other
# with port 0. The inside leg's policy picks: a best-effort leg keeps the
# keyed m-line, a plain leg the RTP/AVP one. The trunk gets both m-lines,
# the unused one with port 0 and nothing of the phone's key; its answer
# keeps the count, and the phone's answer rejects exactly the m-line the
# gateway did not use.
. "$TESTS/integration/lib.sh"

PHONE_KEY="WVNfX19WZXJ5X1NlY3JldF9QaG9uZV9LZXlfXzEy"

# phone_scenario FILE CHECKS VARS: the phone's dual offer; CHECKS are the
# <ereg> lines the gateway's 200 must satisfy, VARS the variables they set.
phone_scenario() {
	cat >"$1" <<EOF
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="dual m-line phone">
  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
Max-Forwards: 70
From: "Alice Inside" <sip:alice@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:alice@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=alice 1111 1111 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio 16000 RTP/SAVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$PHONE_KEY
m=audio 16002 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
$2
    </action>
  </recv>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
Max-Forwards: 70
From: "Alice Inside" <sip:alice@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="200"/>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
Max-Forwards: 70
From: "Alice Inside" <sip:alice@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
  <Reference variables="$3"/>
</scenario>
EOF
}

# trunk_scenario FILE CHECKS M1 M2: CHECKS (setting variables 1 and 2) on the
# INVITE; M1/M2 the answer's two m-line blocks.
trunk_scenario() {
	cat >"$1" <<EOF
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="SRTP trunk answering a two m-line offer">
  <recv request="INVITE">
    <action>
      <ereg regexp="$PHONE_KEY" search_in="msg" check_it_inverse="true" assign_to="9"/>
$2
    </action>
  </recv>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]trunk[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:trunk@[local_ip]:[local_port];transport=tcp>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=trunk 2222 2222 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
$3
$4

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <Reference variables="1,2,9"/>
</scenario>
EOF
}

ereg() { # ereg VAR REGEX [inverse]
	local how=check_it
	[ "${3:-}" = inverse ] && how=check_it_inverse
	echo "      <ereg regexp=\"$2\" search_in=\"body\" $how=\"true\" assign_to=\"$1\"/>"
}
KEYED_ANSWER="m=audio 17000 RTP/SAVP 0 101
a=rtpmap:0 PCMU/8000
a=crypto:1 AEAD_AES_256_GCM inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw="
REJECTED_ANSWER="m=audio 0 RTP/SAVP 0"

# case NAME INSIDE_MODE: one call; the scenarios are already written.
one_call() {
	INSIDE_MEDIA=$2 call_config "$WORK/gw-$1.conf"
	start_gateway "$WORK/gw-$1.conf"
	start_trunk "$WORK/trunk-$1.xml"
	run_sipp "$WORK/phone-$1.xml" 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; fail "$1: call failed"; }
	wait_trunk
	expect_log "$3"
	[ "$(counter calls)" = 0 ] || fail "$1: a call was left behind"
	stop_gateway
	rm -f "$WORK/stunnel-5071.conf" # the next case starts its own trunk wrapper
}

# A best-effort inside leg keeps the keyed m-line: SRTP on both legs.
phone_scenario "$WORK/phone-best.xml" "$(ereg 1 'm=audio 2[0-9]{4} RTP/SAVP 0( 101)?[[:space:]]')
$(ereg 2 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:')
$(ereg 3 'm=audio 0 RTP/AVP')
$(ereg 4 "$PHONE_KEY" inverse)" 1,2,3,4
trunk_scenario "$WORK/trunk-best.xml" "$(ereg 1 'm=audio 3[0-9]{4} RTP/SAVP 0 101[[:space:]]+(a=[^\r\n]*[[:space:]]+)*m=audio 0 RTP/SAVP')
$(ereg 2 'a=crypto:1 AEAD_AES_256_GCM inline:')" "$KEYED_ANSWER" "$REJECTED_ANSWER"
one_call best best-effort "established \(leg A SRTP, leg B SRTP\)"

# A plain inside leg keeps the RTP/AVP m-line.
phone_scenario "$WORK/phone-plain.xml" "$(ereg 1 'm=audio 0 RTP/SAVP')
$(ereg 2 'm=audio 2[0-9]{4} RTP/AVP 0( 101)?[[:space:]]')
$(ereg 3 'a=crypto' inverse)" 1,2,3
trunk_scenario "$WORK/trunk-plain.xml" "$(ereg 1 'm=audio 0 RTP/SAVP[^\r\n]*[[:space:]]+(a=[^\r\n]*[[:space:]]+)*m=audio 3[0-9]{4} RTP/SAVP 0 101')
$(ereg 2 'a=crypto:1 AEAD_AES_256_GCM inline:')" "$REJECTED_ANSWER" "$KEYED_ANSWER"
one_call plain rtp "established \(leg A RTP, leg B SRTP\)"
