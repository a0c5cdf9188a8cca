#!/bin/bash
# Cluster mode: what a crashed node leaves behind, lockouts shared, bans
# kept while Redis is away (nodes A and B, their own redis-server, digest
# on the outside legs, one live call per user, heartbeat 1 s):
#  (a) alice's call held at A counts at B (503); A is killed -9 mid-call.
#      Right after, B still refuses her (A's heartbeat has not expired:
#      the refusal is not luck); within the bound (three heartbeats for
#      A's heartbeat to expire, plus one for B's re-read: 4 s, asserted
#      under 6 s) B admits her call again. Before this change A's count
#      lingered in Redis for an hour and B refused her all that time.
#  (b) A restarted: its fields of the crashed life are void (a new life)
#      and deleted by the first reader; /metrics and /health show Redis up.
#  (c) one wrong password from 127.0.0.5 at A (max_failures = 1,
#      user_max_failures = 1) locks out the source and alice everywhere;
#      both lockouts reach B: bob's INVITE from 127.0.0.5 to B gets 403 at
#      once, and alice's right password from 127.0.0.6 at B gets 403.
#  (d) Redis stopped: a flood of B from 127.0.0.4 is banned at B, the ban
#      kept; Redis restarted, A reconnected first (B held with SIGSTOP so
#      the order is known), then B: the ban is published (replayed) and A
#      refuses 127.0.0.4; /health says "down" while Redis is away.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

ABUSE='abuse = { request_rate = 5; request_burst = 10; ban_after = 5; ban_window = 10; ban = 60;
  user_max_calls = 1; };'
make_users alice:secret123 bob:bobsecret
start_redis
node_config "$WORK/a.conf" A 5060 20000
node_config "$WORK/b.conf" B 6060 22000
for n in a b; do
	sed -i -e 's/{ name = "outside"; rtp_address/{ name = "outside"; auth = "digest"; rtp_address/' \
		-e 's/retry_max = 1; }/retry_max = 1; heartbeat = 1; }/' "$WORK/$n.conf"
	grep -q 'heartbeat = 1' "$WORK/$n.conf" || fail "cannot set the heartbeat"
	printf '%s\nauth = { users = "%s"; algorithms = [ "MD5" ]; max_failures = 1; user_max_failures = 1; lockout = 60; };\n' \
		"$ABUSE" "$WORK/users" >>"$WORK/$n.conf"
done
printf 'http = { address = "127.0.0.1"; port = 18080; };\n' >>"$WORK/b.conf"
start_node A "$WORK/a.conf"
start_node B "$WORK/b.conf"
node_log A "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"A\""
node_log B "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"B\""
[ -n "$(rcli GET portcullis:alive:A)" ] || fail "node A's heartbeat is not in Redis"

register_at 5060 120
for _ in $(seq 50); do [ "$(node_counter B cluster_bindings_read)" -ge 1 ] && break; sleep 0.1; done
fill_scenario policy_uac_call_auth.xml "$WORK/call_auth.xml" HEADERS ""
fill_scenario policy_uac_auth_refused.xml "$WORK/limited.xml" HEADERS "" EXPECT 503 CHECK "Retry-After: [1-9]"
AUTH="-au alice -ap secret123 -s carol -t u1"

# (a) the held call, and A's crash.
start_phone
# shellcheck disable=SC2086
timeout 40 sipp -sf "$WORK/call_auth.xml" 127.0.0.1:5062 $AUTH -i 127.0.0.1 \
	-auth_uri carol@127.0.0.1:5062 -p 15090 -m 1 -d 30000 -nostdin >"$WORK/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
node_log A "call [0-9]+ established"
rcli HGETALL portcullis:calls:u:alice | grep -qE '^A/[0-9a-f]{16}$' || fail "alice's call at A is not in Redis"
# shellcheck disable=SC2086
run_sipp "$WORK/limited.xml" 127.0.0.1:6062 $AUTH -i 127.0.0.1 -auth_uri carol@127.0.0.1:6062 -p 15091 || {
	cat "$WORK/sipp.out" >&2; tail -20 "$WORK/B.log" >&2; fail "alice's call via B was not refused while A held one"; }
kill -9 "${NODE_PID[A]}"
wait "${NODE_PID[A]}" 2>/dev/null || true
killed=$(date +%s%N)
kill "$HOLD" "$PHONE" 2>/dev/null || true
wait "$HOLD" "$PHONE" 2>/dev/null || true
# shellcheck disable=SC2086
run_sipp "$WORK/limited.xml" 127.0.0.1:6062 $AUTH -i 127.0.0.1 -auth_uri carol@127.0.0.1:6062 -p 15091 || {
	cat "$WORK/sipp.out" >&2; fail "B admitted alice at once: the crashed node's count was not counted"; }
start_phone
admitted=""
for _ in $(seq 12); do
	# shellcheck disable=SC2086
	if run_sipp "$WORK/call_auth.xml" 127.0.0.1:6062 $AUTH -i 127.0.0.1 -auth_uri carol@127.0.0.1:6062 \
		-p 15092 -d 100; then
		admitted=$(date +%s%N)
		break
	fi
	# Each attempt is 4 requests (INVITE, ACK, INVITE with credentials,
	# BYE): at request_rate 5 a faster poll gets the source itself banned.
	sleep 0.8
done
[ -n "$admitted" ] || { tail -20 "$WORK/B.log" >&2; fail "B never admitted alice after A crashed"; }
ms=$(((admitted - killed) / 1000000))
echo "B admitted alice ${ms} ms after A was killed" >&2
[ "$ms" -lt 6000 ] || fail "B admitted alice only after ${ms} ms (bound: 4 s)"
wait "$PHONE" || fail "carol's phone did not get alice's call via B"
[ "$(node_counter B cluster_calls_dead_fields)" -ge 1 ] || fail "B did not count A's dead field"
rcli HGETALL portcullis:calls:u:alice | grep -q '^A/' && fail "A's dead field was not deleted"

# (b) A again: a new life, and the state on B's /metrics and /health.
old_life=$(rcli GET portcullis:alive:A)
start_node A "$WORK/a.conf"
node_log A "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"A\""
for _ in $(seq 40); do [ "$(rcli GET portcullis:alive:A)" != "$old_life" ] && break; sleep 0.05; done
[ "$(rcli GET portcullis:alive:A)" != "$old_life" ] || fail "node A restarted with its old life"
curl -sf http://127.0.0.1:18080/metrics | grep -qx 'portcullis_cluster_redis_up 1' ||
	fail "/metrics has no cluster_redis_up 1"
curl -sf http://127.0.0.1:18080/health | grep -q '"redis":"up"' || fail "/health does not say Redis is up"

# (c) lockouts at A hold at B.
fill_scenario policy_uac_auth_refused.xml "$WORK/locked.xml" HEADERS "" EXPECT 403 CHECK "."
run_sipp "$WORK/locked.xml" 127.0.0.1:5062 -au alice -ap wrong -s carol -t u1 -i 127.0.0.5 \
	-auth_uri carol@127.0.0.1:5062 -p 15093 || { cat "$WORK/sipp.out" >&2; fail "A did not lock out the wrong password"; }
for _ in $(seq 20); do [ "$(node_counter B cluster_lockouts_applied)" -ge 2 ] && break; sleep 0.05; done
[ "$(node_counter B cluster_lockouts_applied)" -ge 2 ] || fail "B did not get both lockouts within 1 s"
fill_scenario policy_uac_refused.xml "$WORK/src_locked.xml" RURI "sip:[service]@[remote_ip]:[remote_port]" \
	TO "sip:[service]@[remote_ip]:[remote_port]" HEADERS "" EXPECT 403 CHECK "."
run_sipp "$WORK/src_locked.xml" 127.0.0.1:6062 -s carol -t u1 -i 127.0.0.5 -p 15094 || {
	cat "$WORK/sipp.out" >&2; fail "B did not refuse the source A locked out"; }
run_sipp "$WORK/locked.xml" 127.0.0.1:6062 -au alice -ap secret123 -s carol -t u1 -i 127.0.0.6 \
	-auth_uri carol@127.0.0.1:6062 -p 15095 || { cat "$WORK/sipp.out" >&2; fail "B did not refuse alice, locked out at A"; }
node_log B '"alice" is locked out after failed logins'

# (d) a ban while Redis is away, published when it returns.
stop_redis
node_log B "cluster: redis .* unreachable"
curl -sf http://127.0.0.1:18080/health | grep -q '"redis":"down"' || fail "/health does not say Redis is down"
curl -sf http://127.0.0.1:18080/metrics | grep -qx 'portcullis_cluster_redis_up 0' ||
	fail "/metrics has no cluster_redis_up 0"
python3 "$TESTS/integration/flood.py" --gw 127.0.0.1:6062 --src 127.0.0.4 --port 15098 --count 120 \
	--rate 100 --listen 1 --to-tag nodialog >"$WORK/flood.out" 2>&1 || {
	cat "$WORK/flood.out" >&2; fail "the flooder failed"; }
node_log B "refused: 403 Forbidden \(source banned after"
[ "$(node_counter B cluster_bans_sent)" -eq 0 ] || fail "B claims to have sent a ban with Redis down"
kill -STOP "${NODE_PID[B]}"
ups=$(grep -c "connected as node \"A\"" "$WORK/A.log")
start_redis
for _ in $(seq 100); do [ "$(grep -c "connected as node \"A\"" "$WORK/A.log")" -gt "$ups" ] && break; sleep 0.05; done
kill -CONT "${NODE_PID[B]}"
for _ in $(seq 60); do [ "$(node_counter A cluster_bans_applied)" -ge 1 ] && break; sleep 0.05; done
[ "$(node_counter B cluster_bans_replayed)" -ge 1 ] || fail "B did not replay the ban kept while Redis was down"
[ "$(node_counter A cluster_bans_applied)" -ge 1 ] || fail "A did not get the replayed ban"
before=$(node_counter A requests_refused_banned)
python3 "$TESTS/integration/flood.py" --gw 127.0.0.1:5062 --src 127.0.0.4 --port 15099 --count 1 \
	--listen 1 --to-tag nodialog >"$WORK/flood_a.out" 2>&1 || true
[ "$(node_counter A requests_refused_banned)" -gt "$before" ] || fail "A admitted the source B banned while Redis was down"
stop_node B
stop_node A
