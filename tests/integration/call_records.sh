#!/bin/bash
# Call records (issue 11): one JSON line per call in records.file and one
# row in records.sqlite, written by the gateway after its privilege drop and
# under its seccomp filter. Real calls through the gateway: answered and
# ended by the caller, answered and ended by the callee, refused by the
# callee (486: failed), refused by the gateway (488, no SRTP in the trunk's
# answer: refused), cancelled. Fails when: a record is missing or says the
# wrong disposition, status or party; a caller who asked for privacy
# (Privacy: id) shows up anywhere in a record (From user, P-Asserted-Identity);
# a hostile From (quotes, backslashes, %-encoded CR/LF and NUL, 4 KB user
# part) makes a record that is not one valid JSON line of printable ASCII
# within 4096 bytes; after the file is moved away and SIGUSR2 sent, the next
# record does not go to a new file at the same path, or any record is lost;
# the database's rows do not match the file's lines; the seccomp filter
# refused any system call on the way; a symbolic link at records.file does
# not stop the start (or its target gets created).
. "$TESTS/integration/lib.sh"

REC=$WORK/rec
mkdir -p "$REC"
chmod 0777 "$REC" # the unprivileged user creates the file again after a rotation
# A symbolic link at records.file (planted to make root, which opens the
# file at start, create or append to another one) stops the start, and the
# file it points to is not made.
ln -s "$WORK/elsewhere" "$REC/link.jsonl"
call_config "$WORK/link.conf" "records = { file = \"$REC/link.jsonl\"; };"
out=$(timeout 20 "$PORTCULLIS_BIN" --config "$WORK/link.conf" 2>&1) && fail "the gateway started with records.file a symbolic link"
grep -q "link.jsonl: cannot open for call records" <<<"$out" || fail "no error naming the linked records.file: $out"
[ -e "$WORK/elsewhere" ] && fail "the symbolic link's target was created"
rm -f "$REC/link.jsonl"

call_config "$WORK/gw.conf" "records = { file = \"$REC/calls.jsonl\"; sqlite = \"$REC/calls.db\"; };"
start_gateway "$WORK/gw.conf"
expect_log "call records to $REC/calls.jsonl and the database"

N=0
# next_record: waits for record N+1 in the current file (5 s), then checks
# the Python expression $1 on it (r: the record); every line of every
# record file must be one valid, bounded, ASCII JSON object.
next_record() {
	N=$((N + 1))
	for _ in $(seq 100); do
		[ "$(cat "$REC"/calls.jsonl* 2>/dev/null | wc -l)" -ge "$N" ] && break
		sleep 0.05
	done
	python3 - "$1" "$N" "$REC"/calls.jsonl.1 "$REC"/calls.jsonl <<'PY' || {
import json, os, sys
expr, n, files = sys.argv[1], int(sys.argv[2]), [f for f in sys.argv[3:] if os.path.exists(f)]
lines = []
for f in files:
    data = open(f, "rb").read()
    assert data.endswith(b"\n"), f"{f}: does not end with a newline"
    for raw in data.split(b"\n")[:-1]:
        assert len(raw) + 1 <= 4096, f"a record of {len(raw) + 1} bytes"
        assert all(0x20 <= b < 0x7f for b in raw), f"not printable ASCII: {raw!r}"
        rec = json.loads(raw)
        assert isinstance(rec, dict)
        lines.append(rec)
assert len(lines) == n, f"{len(lines)} records, {n} expected"
r = lines[-1]
assert int(r["id"]) > 0 and r["start_ms"] <= r["end_ms"], r
assert eval("(" + expr + ")"), f"record {n} fails {expr}: {json.dumps(r)}"
PY
		tail -20 "$WORK/gateway.log" >&2; fail "record $N"; }
}

caller_hangs_up() { # caller_hangs_up NAME SCENARIO
	start_trunk uas_trunk.xml
	run_sipp "$2" 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 200 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
		fail "$1: the call failed"; }
	wait_trunk
}

# 1. Answered, the caller hangs up.
caller_hangs_up answered uac_call.xml
next_record 'r["disposition"] == "answered" and r["status"] == 200 and r["ended_by"] == "caller"
  and r["reason"] == "bye" and r["answer_ms"] and r["start_ms"] <= r["answer_ms"] <= r["end_ms"]
  and r["caller"].startswith("sip:alice@127.0.0.1") and r["callee"].startswith("sip:12125551234@")
  and not r["privacy"] and len(r["legs"]) == 2
  and r["legs"][0]["side"] == "caller" and r["legs"][0]["leg"] == "inside"
  and r["legs"][0]["transport"] == "udp" and r["legs"][0]["srtp_suite"] is None
  and r["legs"][1]["side"] == "callee" and r["legs"][1]["leg"] == "outside"
  and r["legs"][1]["transport"] == "tls" and r["legs"][1]["srtp_suite"] is not None
  and all(l[k] is None for l in r["legs"] for k in ("lost", "jitter_ms", "mos"))
  and r["mos"] is None and r["identity"]["attestation"] is None'

# 2. Answered, the callee hangs up.
start_trunk records_uas_hangup.xml
run_sipp records_uac_hungup.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
	fail "callee hang-up: the call failed"; }
wait_trunk
next_record 'r["disposition"] == "answered" and r["ended_by"] == "callee" and r["reason"] == "bye"'

phone_fail() { # phone_fail STATUS WARNING_REGEXP
	sed "s/@EXPECT@/$1/; s|@WARNING@|$2|" "$TESTS/integration/sipp/uac_call_fail.xml" >"$WORK/uac_$1.xml"
	run_sipp "$WORK/uac_$1.xml" 127.0.0.1:5060 -s 12125550000 -t u1 -p 15090 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "phone expecting $1"; }
}
# 3. The callee refuses (486): failed, ended by the callee.
start_trunk uas_trunk_fail.xml
phone_fail 486 "SIP/2.0 486 Busy Here"
wait_trunk
next_record 'r["disposition"] == "failed" and r["status"] == 486 and r["ended_by"] == "callee"
  and r["answer_ms"] is None'

# 4. The gateway refuses (the trunk's answer drops SRTP): refused, 488.
start_trunk uas_trunk_plain.xml
phone_fail 488 "SIP/2.0 488"
wait_trunk
next_record 'r["disposition"] == "refused" and r["status"] == 488 and r["ended_by"] == "gateway"'

# 5. Cancelled while the trunk rings.
start_trunk uas_trunk_ring.xml
run_sipp uac_call_cancel.xml 127.0.0.1:5060 -s 12125550001 -t u1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "cancelled call"; }
wait_trunk
next_record 'r["disposition"] == "cancelled" and r["status"] == 487 and r["ended_by"] == "caller"
  and r["reason"] == "cancel"'

# 6. Privacy: neither the From user nor the asserted identity is recorded.
fill_scenario records_uac.xml "$WORK/private.xml" FROM '"Secret Sam" <sip:secretsam@[local_ip]:[local_port]>' \
	HEADERS $'Privacy: id\r\nP-Asserted-Identity: <sip:secretpai@example.com>'
caller_hangs_up privacy "$WORK/private.xml"
next_record 'r["disposition"] == "answered" and r["privacy"] and r["caller"] is None'
grep -qi "secret" "$REC/calls.jsonl" && fail "a private caller's identity is in the record file"
[ "$(sqlite3 "$REC/calls.db" "SELECT count(*) FROM calls WHERE record LIKE '%secret%' OR caller IS NOT NULL AND caller LIKE '%secret%';")" = 0 ] ||
	fail "a private caller's identity is in the record database"

# 7. A hostile From: quotes and backslashes in the display name, escapes
# of CR, LF, NUL and a quote in the user part, 4 KB of user part.
long=$(head -c 4000 /dev/zero | tr '\0' 'x')
fill_scenario records_uac.xml "$WORK/hostile.xml" FROM "\"Eve \\\"the\\\" \\\\ q\" <sip:ev%0d%0a%00%22il@[local_ip]:[local_port]>" HEADERS ""
caller_hangs_up hostile "$WORK/hostile.xml"
next_record 'r["caller"].lower().startswith("sip:ev%0d%0a%00%22il@") and "Eve" not in json.dumps(r)'
fill_scenario records_uac.xml "$WORK/long.xml" FROM "<sip:$long@[local_ip]:[local_port]>" HEADERS ""
caller_hangs_up long "$WORK/long.xml"
next_record 'len(r["caller"]) == 255 and r["caller"].startswith("sip:xxxx")'

# 8. logrotate: the file is moved away, SIGUSR2, the next record is in a
# new file at the same path (made by the unprivileged user), nothing lost.
mv "$REC/calls.jsonl" "$REC/calls.jsonl.1"
kill -USR2 "$GW_PID"
expect_log "call records: $REC/calls.jsonl reopened"
[ -e "$REC/calls.jsonl" ] || fail "SIGUSR2 did not make a new record file"
caller_hangs_up rotated uac_call.xml
next_record 'r["disposition"] == "answered"'
[ "$(wc -l <"$REC/calls.jsonl")" = 1 ] || fail "the record after the rotation is not alone in the new file"
[ "$(wc -l <"$REC/calls.jsonl.1")" = $((N - 1)) ] || fail "records before the rotation lost"

# The database has the same calls as the files, field for field.
[ "$(sqlite3 "$REC/calls.db" 'SELECT count(*) FROM calls;')" = "$N" ] || fail "database rows differ from records"
[ "$(sqlite3 "$REC/calls.db" "SELECT group_concat(disposition || ':' || ifnull(status, '-') || ':' || ended_by, ',') FROM (SELECT * FROM calls ORDER BY id);")" = \
	"answered:200:caller,answered:200:callee,failed:486:callee,refused:488:gateway,cancelled:487:caller,answered:200:caller,answered:200:caller,answered:200:caller,answered:200:caller" ] ||
	fail "database rows: $(sqlite3 "$REC/calls.db" 'SELECT id, disposition, status, ended_by FROM calls;')"
python3 - "$REC/calls.db" "$REC/calls.jsonl.1" "$REC/calls.jsonl" <<'PY' || fail "a database row's record differs from the file's line"
import json, sqlite3, sys
rows = [r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT record FROM calls ORDER BY rowid")]
lines = [l for f in sys.argv[2:] for l in open(f).read().splitlines()]
assert rows == lines, (rows, lines)
PY
[ "$(counter call_record_write_failures)" = 0 ] || fail "record writes failed"
# File, reopen and SQLite all ran under the network process's filter: the
# allowlist (gateway/sandbox/sandbox.c) must have refused none of their calls.
! grep "seccomp refused" "$WORK/gateway.log" || fail "the seccomp filter refused a call records' system call"
expect_log "under seccomp"
stop_gateway
