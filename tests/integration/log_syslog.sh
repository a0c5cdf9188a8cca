#!/bin/bash
# log_target = "syslog": lines reach a syslog datagram socket (here a
# listener the test owns, at log_syslog_socket) as "<PRI>portcullis[PID]: level: text"
# with the configured facility, also once the network process runs under
# its seccomp filter (the counters logged on SIGUSR1), and again after the
# daemon restarts on the same path (the filter refuses new Unix sockets: the
# gateway reconnects the one it opened before). Nothing goes to stderr.
. "$TESTS/integration/lib.sh"

# listen: a datagram listener at $WORK/log.sock appending each line to $WORK/syslog.txt.
listen() {
	rm -f "$WORK/log.sock"
	python3 -u - "$WORK/log.sock" "$WORK/syslog.txt" <<'PY' &
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)  # as /dev/log: the gateway sends as its unprivileged user
with open(out, "a") as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace") + "\n")
        f.flush()
PY
	LISTENER=$!
	PIDS="$PIDS $LISTENER"
	for _ in $(seq 100); do [ -S "$WORK/log.sock" ] && return 0; sleep 0.05; done
	fail "the syslog listener did not start"
}

expect_syslog() {
	for _ in $(seq 100); do grep -qE "$1" "$WORK/syslog.txt" 2>/dev/null && return 0; sleep 0.05; done
	cat "$WORK/syslog.txt" >&2 2>/dev/null
	fail "no syslog line matched: $1"
}

write_config "$WORK/gw.conf" required "" "log_target = \"syslog\";
log_facility = \"local3\";
log_syslog_socket = \"$WORK/log.sock\";"
: >"$WORK/syslog.txt"
listen
"$PORTCULLIS_BIN" --config "$WORK/gw.conf" >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
PIDS="$PIDS $GW_PID"
# local3 (19) * 8 + info (6) = 158.
expect_syslog "^<158>portcullis\[$GW_PID\]: info: portcullis .* running with $WORK/gw.conf\$"
expect_syslog "under seccomp"
kill -USR1 "$GW_PID"
expect_syslog "^<158>portcullis\[$GW_PID\]: info: counter open_connections = "

# The daemon restarts: a new socket at the same path.
kill "$LISTENER"
wait "$LISTENER" 2>/dev/null
: >"$WORK/syslog.txt"
listen
kill -USR1 "$GW_PID"
expect_syslog "^<158>portcullis\[$GW_PID\]: info: counter open_connections = "
kill -0 "$GW_PID" || fail "the gateway died sending to a restarted syslog daemon"

kill -TERM "$GW_PID"
wait "$GW_PID" || fail "gateway exit status $?"
expect_syslog "^<158>portcullis\[$GW_PID\]: info: stopped\$"
# A sanitizer's report would be on stderr; nothing else may be.
grep -v "^$" "$WORK/gateway.log" | grep -q . && { cat "$WORK/gateway.log" >&2; fail "lines on stderr with log_target syslog"; }

# A socket nobody listens on: the gateway refuses to start, naming it.
write_config "$WORK/gw2.conf" required "" "log_target = \"syslog\"; log_syslog_socket = \"$WORK/none.sock\";"
"$PORTCULLIS_BIN" --config "$WORK/gw2.conf" >"$WORK/gateway2.log" 2>&1 && fail "started without its syslog socket"
grep -q "log_target syslog: cannot connect to $WORK/none.sock" "$WORK/gateway2.log" || fail "the missing syslog socket was not named"
exit 0
