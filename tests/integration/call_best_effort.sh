#!/bin/bash
# A best-effort outside leg (RFC 8643 opportunistic SRTP): the gateway offers
# RTP/AVP with a=crypto; a trunk that answers plain RTP/AVP still gets its
# call (plain on that leg), and one that answers with a=crypto gets SRTP.
. "$TESTS/integration/lib.sh"
OUTSIDE_MEDIA=best-effort call_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"

# The trunk must see an opportunistic offer: RTP/AVP carrying keys.
sed 's|  <recv request="INVITE"/>|  <recv request="INVITE">\n    <action>\n      <ereg regexp="m=audio 3[0-9]{4} RTP/AVP 0 8 101" search_in="body" check_it="true" assign_to="1"/>\n      <ereg regexp="a=crypto:1 AEAD_AES_256_GCM inline:" search_in="body" check_it="true" assign_to="2"/>\n    </action>\n  </recv>|; s|</scenario>|  <Reference variables="1,2"/>\n</scenario>|' \
	"$TESTS/integration/sipp/uas_trunk_plain.xml" >"$WORK/trunk_plain.xml"
sed 's|a=rtpmap:0 PCMU/8000|a=rtpmap:0 PCMU/8000\na=crypto:1 AEAD_AES_256_GCM inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw=|' \
	"$WORK/trunk_plain.xml" >"$WORK/trunk_keyed.xml"

for kind in plain keyed; do
	start_trunk "$WORK/trunk_$kind.xml"
	run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 300 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; fail "$kind answer: call failed"; }
	wait_trunk
done
expect_log "established \(leg A RTP, leg B RTP\)"
expect_log "established \(leg A RTP, leg B SRTP\)"
stop_gateway
