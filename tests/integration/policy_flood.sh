#!/bin/bash
# Abuse protection at intake, with real SIPp peers (abuse: request_rate 5/s,
# burst 10, ban after 5 overruns within 10 s, for 30 s; deny 127.0.0.3):
#  (a) SIPp floods INVITEs from 127.0.0.2 (300 at 100/s): after its burst it
#      gets 503 with Retry-After, then one 403 when the ban starts, then
#      silence: a banned source gets no answer and costs no transaction;
#      meanwhile three normal calls from 127.0.0.1 go through to the trunk;
#      afterwards the banned source is still refused (requests_refused_rate,
#      sources_banned, requests_refused_banned);
#  (b) an INVITE from the denied 127.0.0.3 gets 403 (requests_denied_acl),
#      and a refused UDP request gets exactly one packet back: no 100
#      Trying, no retransmitted refusal (no reflection toward a spoofed source);
#  (c) an INVITE with "User-Agent: friendly-scanner" (the built-in list)
#      gets 403 (requests_refused_scanner_ua);
#  none of these reach the trunk, which sees exactly the three calls;
#  (e) a trunk inside the trust domain is exempt from the per-source rate;
#  (d) "every request" includes OPTIONS: from the denied source, with the
#      scanner's User-Agent (SIPVicious svmap probes with OPTIONS) and from
#      the banned source, OPTIONS must get 403 too, not a 200 that
#      fingerprints the gateway (the endpoint used to answer OPTIONS before
#      the guard ran); from the banned source, no answer at all. Checked last, so that a failure here does not hide
#      the results above.
# Without the feature every flood INVITE would be admitted (481, no 503 or
# 403), the denied and scanner INVITEs would be routed to the trunk (which
# would see more than three INVITEs) and the counters would stay at 0.
. "$TESTS/integration/lib.sh"
python3 -c 'import socket
for a in ("127.0.0.2", "127.0.0.3"): socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind((a, 0))' ||
	fail "cannot bind 127.0.0.2 / 127.0.0.3 on this machine"
call_config "$WORK/gw.conf" 'abuse = { deny = [ "127.0.0.3" ]; request_rate = 5; request_burst = 10;
  ban_after = 5; ban_window = 10; ban = 30; };
identity = { trusted_names = [ "trunk.portcullis.test" ]; };'
start_trunk uas_trunk.xml 3
start_gateway "$WORK/gw.conf"

# refused NAME EXPECT CHECK HEADERS [sipp args]: an INVITE to the trunk's route, refused.
refused() {
	local name=$1 expect=$2 check=$3 headers=$4
	shift 4
	fill_scenario policy_uac_refused.xml "$WORK/$name.xml" RURI "sip:[service]@[remote_ip]:[remote_port]" \
		TO "sip:[service]@[remote_ip]:[remote_port]" HEADERS "$headers" EXPECT "$expect" CHECK "$check"
	run_sipp "$WORK/$name.xml" 127.0.0.1:5060 -s 12125550000 -t u1 "$@" || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
		fail "$name: not refused with $expect"; }
}

# (b) the denied source.
refused denied 403 "^SIP/2.0 403 Forbidden" "" -i 127.0.0.3 -p 15095
[ "$(counter requests_denied_acl)" -ge 1 ] || fail "denied: requests_denied_acl not counted"
# (c) a scanner's User-Agent from an otherwise good source.
refused scanner 403 "^SIP/2.0 403 Forbidden" "User-Agent: friendly-scanner" -i 127.0.0.1 -p 15090
[ "$(counter requests_refused_scanner_ua)" -ge 1 ] || fail "scanner: requests_refused_scanner_ua not counted"

# (a) the flood, bounded in count (300), rate (100/s) and time (3 s + 4 s).
python3 "$TESTS/integration/flood.py" --src 127.0.0.2 --port 15096 --count 300 --rate 100 \
	--listen 4 --to-tag nodialog >"$WORK/flood.out" 2>&1 &
FLOOD_PID=$!
PIDS="$PIDS $FLOOD_PID"
# Once the flooder is banned, and while it goes on, three normal calls.
expect_log "refused: 403 Forbidden \(source banned after" 10 || { tail -20 "$WORK/gateway.log" >&2; fail "flood: never banned"; }
for i in 1 2 3; do
	run_sipp uac_call.xml 127.0.0.1:5060 -s 1212555123$i -t u1 -p 15090 -d 100 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
		fail "normal call $i from 127.0.0.1 failed during the flood"; }
done
kill -0 "$FLOOD_PID" 2>/dev/null || note "the flood ended before the third call (slow machine?)"
wait_trunk
for _ in $(seq 150); do kill -0 "$FLOOD_PID" 2>/dev/null || break; sleep 0.1; done
wait "$FLOOD_PID" || { cat "$WORK/flood.out" >&2; fail "flood: the flooder failed"; }
figure() { awk -v k="$1" -v c="${2:-}" '$1 == k && (c == "" || $2 == c) { print $NF; f = 1 } END { if (!f) print (k == "retry_after" ? "absent" : 0) }' "$WORK/flood.out"; }
n481=$(figure status 481) n503=$(figure status 503) n403=$(figure status 403) silent=$(figure silent)
note "flood: 481 x$n481 (admitted), 503 x$n503 (rate), 403 x$n403 (ban starts), $silent unanswered (banned)"
{ [ "$n481" -ge 1 ] && [ "$n481" -le 20 ]; } || fail "flood: $n481 requests admitted, want the burst (10) and little more"
[ "$n503" -ge 1 ] || fail "flood: no 503 for the rate overruns"
# The ban is announced once with a 403; from then on a banned source is
# dropped in silence: no answer, no transaction, nothing to reflect.
{ [ "$n403" -ge 1 ] && [ "$n403" -le 2 ]; } || fail "flood: $n403 403s, want one when the ban starts"
[ "$silent" -ge 250 ] || fail "flood: only $silent requests dropped in silence once banned"
[ "$(figure status 100)" -le "$n481" ] || fail "flood: a refused INVITE got 100 Trying (a transaction was made for it)"
[ "$(figure first 503)" -lt "$(figure first 403)" ] || fail "flood: banned before any 503"
[ "$(figure retry_after 503)" -ge 1 ] 2>/dev/null || fail "flood: the 503 has no Retry-After"
[ "$(figure retry_after 403)" = none ] || fail "flood: the ban's 403 has a Retry-After"
[ "$(counter requests_refused_rate)" -ge 1 ] || fail "requests_refused_rate not counted"
[ "$(counter sources_banned)" -ge 1 ] || fail "sources_banned not counted"
[ "$(counter requests_refused_banned)" -ge 250 ] || fail "requests_refused_banned not counted"
# No transaction was made for a refused request: of the flood's 300 INVITEs
# only the admitted ones (481, waiting out Timer H) may hold one now.
kill -USR1 "$GW_PID"; sleep 0.3
txns=$(grep -o "transactions = [0-9]*" "$WORK/gateway.log" | tail -1 | awk '{print $3}')
[ "${txns:-999}" -le 25 ] || fail "flood: $txns transactions held after the flood, want only the admitted ones"
# Still banned afterwards, even for a single, slow request: no answer at all.
python3 "$TESTS/integration/flood.py" --src 127.0.0.2 --port 15097 --count 1 --listen 2 >"$WORK/banned.out" 2>&1
grep -qx "silent 1" "$WORK/banned.out" || { cat "$WORK/banned.out" >&2; fail "banned: a request from the banned source was answered"; }
# A message too malformed to screen (no Call-ID) is answered 400 only where
# a well-formed one could be: the good source gets it, the banned and the
# denied ones get nothing (they would learn that something listens).
malformed() { # malformed SRC: prints the status line of the answer, or "none"
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 15099))
s.settimeout(1.5)
s.sendto(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP " + sys.argv[1].encode() +
         b":15099;branch=z9hG4bKmalformed;rport\r\nMax-Forwards: 70\r\nFrom: <sip:m@x>;tag=1\r\n"
         b"To: <sip:127.0.0.1>\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", ("127.0.0.1", 5060))
try:
    print(s.recv(65535).decode("latin-1").split("\r\n", 1)[0])
except socket.timeout:
    print("none")
PY
}
[[ "$(malformed 127.0.0.1)" == "SIP/2.0 400"* ]] || fail "a malformed request from a good source got no 400"
[ "$(malformed 127.0.0.2)" = none ] || fail "the banned source was answered a malformed request"
[ "$(malformed 127.0.0.3)" = none ] || fail "the denied source was answered a malformed request"
# CANCEL and ACK pass the guard too: a CANCEL from the denied network is
# refused, not matched against transactions (it used to get 481 or 200).
python3 "$TESTS/integration/flood.py" --src 127.0.0.3 --port 15098 --method CANCEL --count 1 --listen 1 >"$WORK/cancel.out" 2>&1
grep -qx "status 403 1" "$WORK/cancel.out" || { cat "$WORK/cancel.out" >&2; fail "a CANCEL from a denied network was not refused"; }
# A refusal toward an unverified UDP source is one packet per request: no
# 100 Trying, no Timer G retransmissions (a spoofed source would otherwise
# have the gateway send it a dozen packets for each one it was sent).
python3 "$TESTS/integration/flood.py" --src 127.0.0.3 --port 15098 --count 5 --rate 10 --listen 4 >"$WORK/reflect.out" 2>&1
grep -qx "packets 5" "$WORK/reflect.out" && grep -qx "status 403 5" "$WORK/reflect.out" || {
	cat "$WORK/reflect.out" >&2; fail "reflection: want exactly one 403 per refused request"; }
# The trunk saw exactly the three normal calls.
[ "$(grep -c '^INVITE ' "$WORK/trunk_msg.log")" -eq 3 ] || fail "the trunk did not get exactly the three normal calls"
grep -q "12125550000\|flood@" "$WORK/trunk_msg.log" && fail "a refused INVITE reached the trunk"
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"

# (e) A trunk inside the trust domain (its verified certificate names
# trunk.portcullis.test) is not held to a phone's rate: eight calls from it
# at 20/s (16 requests, over the burst of 10, from 127.0.0.1 whose bucket the
# calls above already used) all reach the phone. Without the exemption the
# trunk would get 503s and then a ban.
rate_before=$(counter requests_refused_rate)
timeout 40 sipp -sf "$TESTS/integration/sipp/uas_phone.xml" -t u1 -p 5090 -i 127.0.0.1 -m 8 -nostdin \
	-trace_msg -message_file "$WORK/phone8_msg.log" -trace_err -error_file "$WORK/phone8_err.log" \
	>"$WORK/phone8.out" 2>&1 &
PHONE8_PID=$!
PIDS="$PIDS $PHONE8_PID"
wait_port udp 5090
stunnel_client 15061 5061 trunk
timeout 40 sipp -sf "$TESTS/integration/sipp/uac_trunk_call.xml" 127.0.0.1:15061 -s 1001 -t t1 -p 15073 \
	-m 8 -r 20 -d 100 -timeout 30s -timeout_error -nostdin -trace_err -error_file "$WORK/trunk8_err.log" \
	>"$WORK/trunk8.out" 2>&1 || {
	cat "$WORK/trunk8.out" "$WORK/trunk8_err.log" >&2; tail -20 "$WORK/gateway.log" >&2
	fail "trusted trunk: its calls were refused"; }
for _ in $(seq 100); do kill -0 "$PHONE8_PID" 2>/dev/null || break; sleep 0.1; done
wait "$PHONE8_PID" || { cat "$WORK/phone8.out" "$WORK/phone8_err.log" >&2; fail "trusted trunk: the phone did not get all eight calls"; }
[ "$(counter requests_refused_rate)" -eq "$rate_before" ] || fail "trusted trunk: rate-limited"

# (d) OPTIONS is a request like any other.
bugs=""
options() { # options NAME UA [sipp args]: an OPTIONS to the gateway must get 403
	local name=$1 ua=$2
	shift 2
	fill_scenario policy_options.xml "$WORK/$name.xml" UA "$ua" EXPECT 403
	run_sipp "$WORK/$name.xml" 127.0.0.1:5060 -t u1 "$@" || {
		bugs="$bugs; $name: $(grep -m1 -o '^SIP/2.0 [0-9]* [A-Za-z ]*' "$WORK/sipp_msg.log" || echo 'no answer')"; }
}
options options_denied probe/1.0 -i 127.0.0.3 -p 15095
options options_scanner friendly-scanner -i 127.0.0.1 -p 15090
python3 "$TESTS/integration/flood.py" --src 127.0.0.2 --port 15097 --method OPTIONS --count 1 --listen 2 >"$WORK/options_banned.out" 2>&1
grep -qx "silent 1" "$WORK/options_banned.out" || bugs="$bugs; options_banned: answered"
[ -z "$bugs" ] || fail "OPTIONS bypasses the intake guard, want 403 (silence when banned), got${bugs#;}"
stop_gateway
