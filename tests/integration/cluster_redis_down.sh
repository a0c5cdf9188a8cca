#!/bin/bash
# Redis going away is not a hang: node A, in cluster mode, keeps serving
# with its local state while Redis is stopped, logs the loss once, counts
# the failed writes, retries, and when a fresh (empty) Redis comes back on
# the same address writes back the bindings it holds (catch-up), so the
# other nodes can see them again.
#   - carol registers while Redis is up (written);
#   - Redis is stopped: a REGISTER refresh is answered 200 at once, the
#     write fails fast (cluster_commands_failed), "unreachable" is logged
#     exactly once although the node retries several times;
#   - a call to carol placed at A still reaches her (local bindings);
#   - Redis restarts empty: A logs the catch-up and carol's key is back,
#     naming A, with the refreshed expiry.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

start_redis
node_config "$WORK/a.conf" A 5060 20000
# The cluster key: a file others may read is refused at start, by name.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/cluster.key"
[ "$(wc -c <"$WORK/cluster.key")" -eq 64 ] || fail "cannot write a cluster key"
chmod 644 "$WORK/cluster.key"
sed -i "s|node = \"A\";|& key_file = \"$WORK/cluster.key\";|" "$WORK/a.conf"
grep -q key_file "$WORK/a.conf" || fail "cannot name the key file"
"$PORTCULLIS_BIN" --config "$WORK/a.conf" >"$WORK/A-badkey.log" 2>&1 && fail "started with a key file others may read"
grep -q "cluster: key_file $WORK/cluster.key: group or others may access it" "$WORK/A-badkey.log" ||
	{ cat "$WORK/A-badkey.log" >&2; fail "the key file's mode was not named"; }
chmod 600 "$WORK/cluster.key"
start_node A "$WORK/a.conf"
node_log A "connected as node \"A\""
register_at 5060 120
[ "$(rcli EXISTS portcullis:reg:carol)" -eq 1 ] || fail "carol's binding was not written while Redis was up"

stop_redis
node_log A "cluster: redis 127.0.0.1:$REDIS_PORT unreachable"
failed_before=$(node_counter A cluster_commands_failed)
start=$(date +%s%N)
register_at 5060 300
took=$((($(date +%s%N) - start) / 1000000))
[ "$took" -lt 2000 ] || fail "a REGISTER took $took ms with Redis down"
[ "$(node_counter A cluster_commands_failed)" -gt "$failed_before" ] || fail "the failed write was not counted"
[ "$(node_counter A cluster_redis_down)" -eq 1 ] || fail "the loss was not counted once"
call_carol_via 5062
sleep 2 # several retries (retry_max = 1 s)
[ "$(grep -c "unreachable" "$WORK/A.log")" -eq 1 ] || fail "the loss was logged more than once"
[ "$(node_counter A cluster_redis_connect_failures)" -ge 1 ] || fail "no retry was counted"

start_redis
node_log A "cluster: caught up, 1 of 1 users written again" 5
value=$(rcli GET portcullis:reg:carol)
grep -qP '^A\tsip:carol@127\.0\.0\.1:5090\t' <<<"$value" || fail "carol's binding was not written back: $value"
ttl=$(rcli TTL portcullis:reg:carol)
[ "$ttl" -gt 200 ] || fail "the binding written back is not the refreshed one (TTL $ttl)"
[ "$(node_counter A cluster_catchup_writes)" -ge 1 ] || fail "the catch-up was not counted"
stop_node A
stop_redis
