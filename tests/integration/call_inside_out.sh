#!/bin/bash
# A plain phone (SIPp, UDP) calls through the gateway to the SRTP trunk (SIPp
# behind stunnel, TLS): the trunk must see RTP/SAVP with SDES keys on the
# outside relay, the phone RTP/AVP without crypto on the inside relay, and
# neither side may see anything of the other (Call-ID, tags, addresses,
# ports, User-Agent, SDP origin, keys). Afterwards no call state is left.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"

start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"

run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 500 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
	fail "call from the phone failed"; }
wait_trunk

# What one side sent must not reach the other.
phone_callid=$(grep -m1 -o 'Call-ID: .*' "$WORK/sipp_msg.log" | cut -d' ' -f2 | tr -d '\r')
trunk_callid=$(grep -m1 -o 'Call-ID: .*' "$WORK/trunk_msg.log" | cut -d' ' -f2 | tr -d '\r')
[ -n "$phone_callid" ] && [ -n "$trunk_callid" ] || fail "no Call-IDs in the traces"
[ "$phone_callid" != "$trunk_callid" ] || fail "the same Call-ID on both legs"
for leak in "$phone_callid" 15090 SIPpTag InsidePhone "Alice Inside" "o=alice" "Inside Session" 16000; do
	grep -qF -- "$leak" "$WORK/trunk_msg.log" && fail "inside detail leaked to the trunk: $leak"
done
for leak in "$trunk_callid" 15072 "trunk@" "o=trunk" 17000 AQIDBAUG "a=crypto" "RTP/SAVP"; do
	grep -qF -- "$leak" "$WORK/sipp_msg.log" && fail "outside detail leaked to the phone: $leak"
done
# Codecs and payload types survive both rewrites (the trunk chose 0 and 101).
awk '/^SIP\/2.0 200 OK/{f=1} f' "$WORK/sipp_msg.log" | grep -q "a=rtpmap:101 telephone-event/8000" ||
	fail "telephone-event lost in the answer to the phone"
# The caller's number crosses; the trunk answers AEAD-AES-256-GCM.
grep -q "From: <sip:12125551234@\|From: <sip:alice@" "$WORK/trunk_msg.log" || fail "caller identity missing toward the trunk"
expect_log "call [0-9]+ established \(leg A RTP, leg B SRTP\)"
expect_log "call [0-9]+ closed: BYE"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
