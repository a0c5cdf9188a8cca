#!/bin/bash
# A best-effort outside leg (RFC 8643 opportunistic SRTP): the gateway offers
# RTP/AVP with a=crypto; a trunk that answers plain RTP/AVP still gets its
# call (plain on that leg), and one that answers with a=crypto gets SRTP.
. "$TESTS/integration/lib.sh"
OUTSIDE_MEDIA=best-effort call_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"
stunnel_server 5071 15072 trunk

# The trunk must see an opportunistic offer: RTP/AVP carrying keys.
sed 's|  <recv request="INVITE"/>|  <recv request="INVITE">\n    <action>\n      <ereg regexp="m=audio 3[0-9]{4} RTP/AVP 0 8 101" search_in="body" check_it="true" assign_to="1"/>\n      <ereg regexp="a=crypto:1 AEAD_AES_256_GCM inline:" search_in="body" check_it="true" assign_to="2"/>\n    </action>\n  </recv>|; s|</scenario>|  <Reference variables="1,2"/>\n</scenario>|' \
	"$TESTS/integration/sipp/uas_trunk_plain.xml" >"$WORK/trunk_plain.xml"
sed 's|a=rtpmap:0 PCMU/8000|a=rtpmap:0 PCMU/8000\na=crypto:1 AEAD_AES_256_GCM inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw=|' \
	"$WORK/trunk_plain.xml" >"$WORK/trunk_keyed.xml"

for kind in plain keyed; do
	timeout 40 sipp -sf "$WORK/trunk_$kind.xml" -t t1 -p 15072 -i 127.0.0.1 -m 1 -nostdin \
		-trace_err -error_file "$WORK/trunk_err_$kind.log" >"$WORK/trunk_$kind.out" 2>&1 &
	TRUNK_PID=$!
	PIDS="$PIDS $TRUNK_PID"
	wait_port tcp 15072
	run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 300 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err_$kind.log" >&2; fail "$kind answer: call failed"; }
	for _ in $(seq 100); do kill -0 "$TRUNK_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$TRUNK_PID" || { cat "$WORK/trunk_$kind.out" "$WORK/trunk_err_$kind.log" >&2; fail "$kind trunk scenario"; }
done
expect_log "established \(leg A RTP, leg B RTP\)"
expect_log "established \(leg A RTP, leg B SRTP\)"
stop_gateway
