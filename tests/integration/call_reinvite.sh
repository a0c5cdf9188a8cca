#!/bin/bash
# Inside a call: the phone's hold re-INVITE reaches the trunk with new SDES
# keys (re-keying: the keys offered in the re-INVITE differ from the first
# ones), the trunk's a=recvonly answer comes back to the phone as plain SDP,
# and an INFO (DTMF) crosses with its body unchanged.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
timeout 60 sipp -sf "$TESTS/integration/sipp/uas_trunk_reinvite.xml" -t t1 -p 15072 -i 127.0.0.1 -m 1 -nostdin \
	-trace_msg -message_file "$WORK/trunk_msg.log" -trace_err -error_file "$WORK/trunk_err.log" \
	>"$WORK/trunk.out" 2>&1 &
TRUNK_PID=$!
PIDS="$PIDS $TRUNK_PID"
wait_port tcp 15072
stunnel_server 5071 15072 trunk
start_gateway "$WORK/gw.conf"

run_sipp uac_reinvite.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; fail "call with hold failed"; }
for _ in $(seq 100); do kill -0 "$TRUNK_PID" 2>/dev/null || break; sleep 0.1; done
wait "$TRUNK_PID" || { cat "$WORK/trunk.out" "$WORK/trunk_err.log" >&2; fail "the trunk's scenario failed"; }
keys=$(grep -o 'a=crypto:1 AEAD_AES_256_GCM inline:[^ ]*' "$WORK/trunk_msg.log" | sort -u | wc -l)
[ "$keys" -ge 2 ] || fail "the re-INVITE did not carry a new key (re-keying)"
expect_log "INVITE from leg inside relayed with a new offer \(re-keyed\)"
expect_log "INFO from leg inside relayed"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
