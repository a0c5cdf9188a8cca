#!/bin/bash
# SIGTERM while a call is established: the gateway must stop cleanly (exit 0,
# "stopped", no sanitizer report). The call layer's shutdown runs after the
# endpoint is gone; a regression of issue 9's split armed a timer through the
# freed endpoint here and crashed.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"
( run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 6000 >/dev/null 2>&1 ) &
sipp_pid=$!
for _ in $(seq 100); do grep -qE "call [0-9]+ established" "$WORK/gateway.log" && break; sleep 0.1; done
grep -qE "call [0-9]+ established" "$WORK/gateway.log" || fail "no call was established"
stop_gateway
# SIPp outlives the gateway (its BYE goes unanswered): end it, through the
# `timeout` our subshell started, which passes SIGTERM on to SIPp.
kill $(pgrep -P "$sipp_pid") 2>/dev/null
wait "$sipp_pid" 2>/dev/null
echo PASS shutdown_with_a_call_up
