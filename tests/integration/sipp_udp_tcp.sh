#!/bin/bash
# SIPp over UDP and TCP against the gateway: OPTIONS health check answered 200
# with Allow and a To-tag; an INVITE gets 100 then 404 and its ACK is absorbed.
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"

run_sipp options_uac.xml 127.0.0.1:5060 -key ruri_host 127.0.0.1:5060 -t u1 -p 15090 || { cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "OPTIONS over UDP"; }
run_sipp options_uac.xml 127.0.0.1:5060 -key ruri_host 127.0.0.1 -t t1 -p 15091 || { cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "OPTIONS over TCP"; }
run_sipp invite_uac_404.xml 127.0.0.1:5060 -t u1 -p 15092 || { cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "INVITE over UDP"; }
run_sipp invite_uac_404.xml 127.0.0.1:5060 -t t1 -p 15093 || { cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "INVITE over TCP"; }
grep -q "SIP/2.0 100 Trying" "$WORK/sipp_msg.log" || fail "no 100 Trying seen by SIPp"
stop_gateway
