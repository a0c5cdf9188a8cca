#!/bin/bash
# Connection exhaustion (issue 8, item 8), against the running gateway with
# raw sockets from several 127.0.0.x sources (conn_tool.py):
# 1. idle connections that never send a byte fill the inside TCP and the TLS
#    listener's budgets: a fresh inside TCP client is still answered and the
#    trunk's mutual-TLS client still gets in (the oldest connection that
#    proved nothing is evicted), and a call still reaches the trunk (the
#    gateway's own connection to its trunk is outside every budget);
# 2. a connection that says nothing is closed after first_message_timeout,
#    over TCP and over TLS, while one that sent a valid message stays;
# 3. out of file descriptors, the accept loop pauses (counted) instead of
#    spinning, and accepts again once descriptors are free.
. "$TESTS/integration/lib.sh"
TOOL="python3 $TESTS/integration/conn_tool.py"
rc=0
pass() { echo "PASS conn_limits.$1"; }
failc() { echo "FAIL conn_limits.$1: $2"; rc=1; }

# wait_opened FILE: until the holder in FILE reports its connections (10 s max).
wait_opened() {
	for _ in $(seq 100); do grep -q '^opened' "$1" 2>/dev/null && return 0; sleep 0.1; done
	fail "the connection holder did not finish opening ($1)"
}

# ---- 1: full budgets ----
call_config "$WORK/gw.conf" 'limits = { max_connections = 40; max_connections_per_ip = 8;
  first_message_timeout = 60; handshake_timeout = 60; };'
start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"
$TOOL hold 5060 60 40 10 >"$WORK/hold_tcp.out" & HOLD_TCP=$!; PIDS="$PIDS $HOLD_TCP"
$TOOL hold 5061 60 40 20 >"$WORK/hold_tls.out" & HOLD_TLS=$!; PIDS="$PIDS $HOLD_TLS"
wait_opened "$WORK/hold_tcp.out"
wait_opened "$WORK/hold_tls.out"
note "$(cat "$WORK/hold_tcp.out") to inside TCP, $(cat "$WORK/hold_tls.out") to TLS; budget 40 each"
sleep 0.5

answer=$($TOOL options 5060)
if [[ $answer == "SIP/2.0 200"* ]]; then pass inside_tcp_fresh_client_answered
else failc inside_tcp_fresh_client_answered "inside TCP listener full of idle connections: $answer"; fi

answer=$($TOOL options 5061 tls)
if [[ $answer == "SIP/2.0 200"* ]]; then pass trunk_mtls_client_admitted
else failc trunk_mtls_client_admitted "TLS listener full of idle connections: $answer"; fi

if run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 500 && wait_trunk; then
	pass call_to_trunk_while_listeners_full
else
	failc call_to_trunk_while_listeners_full "the call to the trunk failed: $(grep -m1 -o 'SIP/2.0 5[0-9][0-9][A-Za-z ]*' "$WORK/sipp_msg.log")"
fi
evicted=$(counter connections_evicted)
[ "$evicted" -ge 40 ] || failc eviction_counted "connections_evicted = $evicted, expected >= 40"
kill "$HOLD_TCP" "$HOLD_TLS" 2>/dev/null
stop_gateway

# ---- 2 and 3: first-message timeout, descriptors ----
write_config "$WORK/gw2.conf" required "" 'limits = { first_message_timeout = 2; };'
start_gateway "$WORK/gw2.conf"
$TOOL silent 5060 4 8 >"$WORK/silent_tcp.out" & S1=$!
$TOOL silent 5061 4 8 >"$WORK/silent_tls.out" & S2=$!
$TOOL proven 5060 5 >"$WORK/proven.out" & S3=$!
$TOOL pretend 5060 4 8 >"$WORK/stray_response.out" & S4=$!
PIDS="$PIDS $S1 $S2 $S3 $S4"
wait $S1 $S2 $S3 $S4
# A stray response proves nothing (anyone can send one): such connections
# time out like silent ones.
for f in silent_tcp silent_tls stray_response; do
	lives=$(cat "$WORK/$f.out")
	if [ -n "$lives" ] && awk -v l="$lives" 'BEGIN { n = split(l, a, " "); for (i = 1; i <= n; i++) if (a[i] < 1 || a[i] > 4.5) exit 1 }'; then
		pass "${f}_closed_after_first_message_timeout"
	else
		failc "${f}_closed_after_first_message_timeout" "silent connections lived (s): $lives; expected 1..4.5"
	fi
done
if [ "$(cat "$WORK/proven.out")" = open ]; then pass speaking_connection_kept
else failc speaking_connection_kept "a connection that sent OPTIONS was: $(cat "$WORK/proven.out")"; fi
n=$(counter connections_first_message_timeout)
[ "$n" -ge 8 ] || failc first_message_timeout_counted "connections_first_message_timeout = $n, expected >= 8"

# Out of descriptors: the soft limit is lowered to just above what is open.
# The gateway has dropped to an unprivileged user: only that user may change
# its limits (this sandbox's root lacks CAP_SYS_RESOURCE), so prlimit runs
# as it.
gw_uid=$(awk '/^Uid:/ { print $2 }' "/proc/$GW_PID/status")
gw_gid=$(awk '/^Gid:/ { print $2 }' "/proc/$GW_PID/status")
as_gw() { setpriv --reuid="$gw_uid" --regid="$gw_gid" --clear-groups "$@"; }
read -r soft hard < <(as_gw prlimit --pid "$GW_PID" --nofile --raw --noheadings -o SOFT,HARD)
open_fds=$(ls "/proc/$GW_PID/fd" | wc -l)
as_gw prlimit --pid "$GW_PID" --nofile=$((open_fds + 3)):"$hard"
$TOOL hold 5060 20 4 40 >"$WORK/hold_emfile.out" & HOLD_E=$!; PIDS="$PIDS $HOLD_E"
wait_opened "$WORK/hold_emfile.out"
tck=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' "/proc/$GW_PID/stat")
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$GW_PID/stat")
cpu=$(( (t1 - t0) * 100 / (2 * tck) ))
note "gateway CPU while out of descriptors: ${cpu}%"
paused=$(counter accept_paused_no_descriptors)
if [ "$cpu" -le 30 ] && [ "$paused" -ge 1 ]; then pass accept_pauses_out_of_descriptors
else failc accept_pauses_out_of_descriptors "CPU ${cpu}% over 2 s, accept_paused_no_descriptors = $paused"; fi
kill "$HOLD_E" 2>/dev/null
wait "$HOLD_E" 2>/dev/null
as_gw prlimit --pid "$GW_PID" --nofile="$soft":"$hard"
sleep 0.5
answer=$($TOOL options 5060)
if [[ $answer == "SIP/2.0 200"* ]]; then pass accepts_again_when_descriptors_free
else failc accepts_again_when_descriptors_free "after the descriptors came back: $answer"; fi
stop_gateway
exit $rc
