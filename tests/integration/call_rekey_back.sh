#!/bin/bash
# A peer may not go back to an SRTP key it retired. The trunk calls with key
# K1, re-keys to K2, and once K1's re-key grace (2 s) is over offers K1
# again: under a new context K1 would start a fresh replay window, and every
# packet recorded under it could be replayed toward the phone. The gateway
# refuses that re-INVITE with 488 before the phone sees it, and the call goes
# on under K2. Without the check the phone would get a third INVITE (its
# scenario fails) and the trunk a 200 instead of 488. With two media
# workers (issue 12) the refusal comes from the fingerprints the signalling
# thread kept of the keys it sent, not from the worker's stream (unit
# tests cover the one-worker path, where the stream answers directly).
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf" "media = { workers = 2; };"
start_phone uas_phone_reinvite.xml
start_gateway "$WORK/gw.conf"
stunnel_client 15061 5061 trunk

run_sipp uac_trunk_rekey_back.xml 127.0.0.1:15061 -s 1001 -t t1 -p 15073 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/phone_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
	fail "the trunk's return to a retired key was not refused with 488"; }
wait_phone "the phone saw other than one call and one re-INVITE"
expect_log "offered an SRTP key it had retired"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
stop_gateway
