#!/bin/bash
# Inside a call: the phone's hold re-INVITE reaches the trunk with new SDES
# keys (re-keying: the keys offered in the re-INVITE differ from the first
# ones), the trunk's a=recvonly answer comes back to the phone as plain SDP,
# and an INFO (DTMF) crosses with its body unchanged.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_trunk uas_trunk_reinvite.xml
start_gateway "$WORK/gw.conf"

run_sipp uac_reinvite.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; fail "call with hold failed"; }
wait_trunk
keys=$(grep -o 'a=crypto:1 AEAD_AES_256_GCM inline:[^ ]*' "$WORK/trunk_msg.log" | sort -u | wc -l)
[ "$keys" -ge 2 ] || fail "the re-INVITE did not carry a new key (re-keying)"
expect_log "INVITE from leg inside relayed with a new offer \(re-keyed\)"
expect_log "INFO from leg inside relayed"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
