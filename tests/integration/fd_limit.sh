#!/bin/bash
# RLIMIT_NOFILE at start (issue 12): the gateway needs 4 descriptors a call
# (two legs, RTP and RTCP) for max_calls, plus its connection budgets, and
# raises its soft limit to that (and to every relay port of the ranges)
# within the hard limit. Run under prlimit with CAP_SYS_RESOURCE dropped, so
# that the hard limit is what an unprivileged service gets:
#  (a) hard limit below the need: the start is refused, naming the limit,
#      the need and max_calls;
#  (b) hard limit above the need for max_calls but below every relay port:
#      it starts, soft limit raised to the hard limit, with a warning;
#  (c) hard limit high: it starts and /proc/PID/limits shows the soft limit
#      raised to the full need.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf" "limits = { max_calls = 200; };"

# run_limited SOFT HARD: the gateway under those limits, without the
# capability to raise the hard one; sets GW_PID.
run_limited() {
	setpriv --bounding-set=-sys_resource --inh-caps=-sys_resource \
		prlimit --nofile="$1:$2" "$PORTCULLIS_BIN" --config "$WORK/gw.conf" >"$WORK/gateway.log" 2>&1 &
	GW_PID=$!
	PIDS="$PIDS $GW_PID"
}

# started: until "running with" (5 s), else fail with the log.
started() {
	for _ in $(seq 100); do
		grep -q "running with" "$WORK/gateway.log" 2>/dev/null && return 0
		kill -0 "$GW_PID" 2>/dev/null || { cat "$WORK/gateway.log" >&2; fail "$1: the gateway exited at start"; }
		sleep 0.05
	done
	fail "$1: the gateway did not start"
}

# soft_limit: the running gateway's soft RLIMIT_NOFILE.
soft_limit() { awk '/^Max open files/ { print $4 }' "/proc/$GW_PID/limits"; }

# (a) Refused, within 5 s, with a non-zero status and the numbers.
run_limited 256 2048
for _ in $(seq 100); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$GW_PID" 2>/dev/null && fail "(a) the gateway started with a hard limit of 2048"
wait "$GW_PID" && fail "(a) the refused start exited 0"
grep -E "RLIMIT_NOFILE hard limit 2048 is below the [0-9]+ file descriptors needed for limits.max_calls = 200 \(800 relay sockets" \
	"$WORK/gateway.log" || { cat "$WORK/gateway.log" >&2; fail "(a) no refusal naming the limit, the need and max_calls"; }
grep -q "running with" "$WORK/gateway.log" && fail "(a) it ran"
need=$(sed -n 's/.*is below the \([0-9]*\) file descriptors.*/\1/p' "$WORK/gateway.log")
note "need for max_calls = 200: $need descriptors"
echo "PASS low_hard_limit_refused"

# (b) Enough for max_calls, not for every relay port (2,000 here).
hard=$((need + 100))
run_limited 256 "$hard"
started "(b)"
[ "$(soft_limit)" -eq "$hard" ] || fail "(b) soft limit $(soft_limit), expected the hard limit $hard"
grep -q "RLIMIT_NOFILE raised from 256 to its hard limit $hard" "$WORK/gateway.log" ||
	fail "(b) no warning about the relay ports"
stop_gateway
echo "PASS hard_limit_between_starts_with_warning"

# (c) Room for all: the soft limit goes to the whole need, not further.
# The high hard limit is this host's (this sandbox's root cannot raise it).
high=$(ulimit -Hn)
[ "$high" = unlimited ] || [ "$high" -gt 100000 ] && high=100000
[ "$high" -ge 10000 ] || fail "(c) this host's hard limit ($high) is too low for the test"
run_limited 256 "$high"
started "(c)"
want=$(sed -n 's/.*RLIMIT_NOFILE raised from 256 to \([0-9]*\) for the configured limits.*/\1/p' "$WORK/gateway.log")
[ -n "$want" ] || { cat "$WORK/gateway.log" >&2; fail "(c) no line saying the limit was raised"; }
[ "$want" -ge $((need + 1200)) ] || fail "(c) raised to $want, less than the relay ports need"
[ "$(soft_limit)" -eq "$want" ] || fail "(c) /proc/$GW_PID/limits says $(soft_limit), the log $want"
grep "^Max open files" "/proc/$GW_PID/limits" | grep -q " $high " || fail "(c) the hard limit changed"
note "$(grep '^Max open files' "/proc/$GW_PID/limits")"
stop_gateway
echo "PASS soft_limit_raised"
