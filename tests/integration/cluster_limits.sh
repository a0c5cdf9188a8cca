#!/bin/bash
# Cluster mode shares the guard's bans and call limits through Redis
# (nodes A and B, their own redis-server; abuse: 5 requests/s, burst 10,
# ban after 5 overruns for 30 s; one live call per user; digest on the
# outside legs):
#  (a) 127.0.0.2 floods node A (120 INVITEs at 100/s, bounded) and is
#      banned there; the ban reaches B (published with its length, bound:
#      B applies it within 1 s of A's decision, checked here), and one
#      request from 127.0.0.2 to B is then refused as banned
#      (requests_refused_banned). Without the sharing B would admit it.
#  (b) alice's call to carol placed at A holds her only slot; while it is
#      up, her call placed at B gets 503 (calls_refused_concurrency_limit
#      on B), and once it ended her call via B goes through again (the slot
#      was given back cluster-wide).
#  (c) hostile notices on the channel are refused and counted, ban nothing.
#  (d) with Redis stopped, a flood of B from 127.0.0.4 is still banned at B
#      (local limits), the loss is logged once and the unsent ban counted.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

ABUSE='abuse = { request_rate = 5; request_burst = 10; ban_after = 5; ban_window = 10; ban = 30;
  user_max_calls = 1; };'
make_users alice:secret123
start_redis
node_config "$WORK/a.conf" A 5060 20000
node_config "$WORK/b.conf" B 6060 22000
for n in a b; do
	sed -i 's/{ name = "outside"; rtp_address/{ name = "outside"; auth = "digest"; rtp_address/' "$WORK/$n.conf"
	grep -q 'auth = "digest"' "$WORK/$n.conf" || fail "cannot require digest on the outside leg"
	printf '%s\nauth = { users = "%s"; algorithms = [ "MD5" ]; };\n' "$ABUSE" "$WORK/users" >>"$WORK/$n.conf"
done
start_node A "$WORK/a.conf"
start_node B "$WORK/b.conf"
node_log A "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"A\""
node_log B "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"B\""

# (a) the flood at A, bounded in count and rate.
python3 "$TESTS/integration/flood.py" --gw 127.0.0.1:5062 --src 127.0.0.2 --port 15096 --count 120 \
	--rate 100 --listen 1 --to-tag nodialog >"$WORK/flood.out" 2>&1 || {
	cat "$WORK/flood.out" >&2; fail "the flooder failed"; }
node_log A "refused: 403 Forbidden \(source banned after"
[ "$(node_counter A cluster_bans_sent)" -ge 1 ] || fail "node A did not publish the ban"
for _ in $(seq 20); do [ "$(node_counter B cluster_bans_applied)" -ge 1 ] && break; sleep 0.05; done
[ "$(node_counter B cluster_bans_applied)" -ge 1 ] || fail "node B did not receive the ban within 1 s"
node_log B 'cluster: source banned for 30000 ms by node "A"'
before=$(node_counter B requests_refused_banned)
python3 "$TESTS/integration/flood.py" --gw 127.0.0.1:6062 --src 127.0.0.2 --port 15097 --count 1 \
	--listen 1 --to-tag nodialog >"$WORK/flood_b.out" 2>&1 || true
[ "$(node_counter B requests_refused_banned)" -gt "$before" ] ||
	{ tail -20 "$WORK/B.log" >&2; fail "node B admitted the source banned at node A"; }

# (b) the trunk's one live call, held at A.
register_at 5060 120
for _ in $(seq 50); do [ "$(node_counter B cluster_bindings_read)" -ge 1 ] && break; sleep 0.1; done
fill_scenario policy_uac_call_auth.xml "$WORK/call_auth.xml" HEADERS ""
AUTH="-au alice -ap secret123 -s carol -t u1 -i 127.0.0.1"
start_phone
# shellcheck disable=SC2086
timeout 30 sipp -sf "$WORK/call_auth.xml" 127.0.0.1:5062 $AUTH -auth_uri carol@127.0.0.1:5062 \
	-p 15090 -m 1 -d 4000 -nostdin >"$WORK/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
node_log A "call [0-9]+ established"
for _ in $(seq 20); do [ "$(node_counter B cluster_calls_read)" -ge 1 ] && break; sleep 0.05; done
rcli HGETALL portcullis:calls:u:alice | tr '\n' ' ' | grep -qE '^A/[0-9a-f]{16} 1 $' ||
	fail "alice's live call at A is not in Redis"
fill_scenario policy_uac_auth_refused.xml "$WORK/limited.xml" HEADERS "" EXPECT 503 CHECK "Retry-After: [1-9]"
# shellcheck disable=SC2086
run_sipp "$WORK/limited.xml" 127.0.0.1:6062 $AUTH -auth_uri carol@127.0.0.1:6062 -p 15091 || {
	cat "$WORK/sipp.out" >&2; tail -20 "$WORK/B.log" >&2
	fail "alice's second call via node B was not refused 503"; }
[ "$(node_counter B calls_refused_concurrency_limit)" -ge 1 ] || fail "node B did not count the refusal"
node_log B "INVITE from leg outside user alice refused: 503 .*concurrent call limit reached"
reads=$(node_counter B cluster_calls_read)
wait "$HOLD" || { cat "$WORK/hold.out" >&2; fail "alice's held call via A failed"; }
wait "$PHONE" || fail "carol's phone did not complete the held call"
[ "$(rcli HLEN portcullis:calls:u:alice)" = 0 ] || fail "node A's count outlived its call"
for _ in $(seq 20); do [ "$(node_counter B cluster_calls_read)" -gt "$reads" ] && break; sleep 0.05; done
start_phone
# shellcheck disable=SC2086
run_sipp "$WORK/call_auth.xml" 127.0.0.1:6062 $AUTH -auth_uri carol@127.0.0.1:6062 -p 15092 -d 100 || {
	cat "$WORK/sipp.out" >&2; tail -20 "$WORK/B.log" >&2; fail "alice could not call via B once her call at A ended"; }
wait "$PHONE" || fail "carol's phone did not get alice's call via B"

# (c) notices another program published: refused, counted, no ban.
before=$(node_counter B cluster_values_refused)
rcli PUBLISH portcullis:guard $'X\tban\t4\t7f000001\t999999999999' >/dev/null
rcli PUBLISH portcullis:guard $'X\tban\t4\t7f00\t1000' >/dev/null
rcli PUBLISH portcullis:guard $'X\tcalls\tu\tbad name' >/dev/null
for _ in $(seq 50); do [ "$(node_counter B cluster_values_refused)" -ge $((before + 3)) ] && break; sleep 0.1; done
[ "$(node_counter B cluster_values_refused)" -ge $((before + 3)) ] || fail "node B did not refuse the hostile notices"
rcli HSET portcullis:calls:u:eve X -5 >/dev/null
rcli PUBLISH portcullis:guard $'X\tcalls\tu\teve' >/dev/null
node_log B 'call counts of "eve" in Redis refused'

# (d) Redis gone: local limits only.
stop_redis
node_log B "cluster: redis .* unreachable"
failed=$(node_counter B cluster_commands_failed)
python3 "$TESTS/integration/flood.py" --gw 127.0.0.1:6062 --src 127.0.0.4 --port 15098 --count 120 \
	--rate 100 --listen 1 --to-tag nodialog >"$WORK/flood_d.out" 2>&1 || {
	cat "$WORK/flood_d.out" >&2; fail "the second flooder failed"; }
[ "$(grep -c 'refused: 403 Forbidden (source banned after' "$WORK/B.log")" -ge 1 ] ||
	fail "node B did not ban the flood locally with Redis down"
[ "$(node_counter B cluster_commands_failed)" -gt "$failed" ] || fail "the unsent ban was not counted"
[ "$(grep -c 'unreachable' "$WORK/B.log")" -eq 1 ] || fail "the loss of Redis was not logged exactly once"
stop_node B
stop_node A
