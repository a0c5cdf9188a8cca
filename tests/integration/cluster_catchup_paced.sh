#!/bin/bash
# When Redis returns (here restarted empty), a node writes back every user
# it holds a binding of, paced (cluster/drip.c): never more commands in
# flight than cluster.max_pending allows. Node A, with max_pending = 20,
# holds 300 users (600 commands to write them back, 30 times the cap);
# after Redis restarts every one of them must be back in Redis, with
# nothing counted lost. Without the pacing the catch-up asked for all 600
# commands at once and all but the first 20 were refused: 10 users came
# back (and before that, at most 1,024 users were remembered at all).
# The REGISTERs themselves come faster than Redis answers, so some of their
# writes are refused past max_pending too: those users are remembered and
# written by a paced round once there is room, so all 300 are in Redis
# before the restart (without it they waited for Redis's next return).
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"
USERS=300

start_redis
node_config "$WORK/a.conf" A 5060 20000
sed -i 's/retry_max = 1; };/retry_max = 1; max_pending = 20; };/' "$WORK/a.conf"
grep -q "max_pending = 20" "$WORK/a.conf" || fail "the configuration was not written as meant"
start_node A "$WORK/a.conf"
node_log A "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"A\""

# users_in_redis: how many users' keys Redis holds.
users_in_redis() { rcli --scan --pattern 'portcullis:reg:*' | wc -l; }

python3 "$TESTS/integration/register_many.py" 5060 "$USERS" 600 || fail "the registrations failed"
# The REGISTERs come faster than Redis answers: writes past max_pending
# are refused, remembered, and written by the drip once there is room
# (without it they waited for Redis's next return).
for _ in $(seq 50); do [ "$(users_in_redis)" -eq "$USERS" ] && break; sleep 0.1; done
keys=$(users_in_redis)
[ "$keys" -eq "$USERS" ] || fail "$keys of $USERS users in Redis after they registered"

stop_redis
node_log A "unreachable" 5
start_redis
node_log A "cluster: caught up, $USERS of $USERS users written again" 10
for _ in $(seq 50); do [ "$(users_in_redis)" -eq "$USERS" ] && break; sleep 0.1; done
keys=$(users_in_redis)
[ "$keys" -eq "$USERS" ] || fail "$keys of $USERS users written back to Redis"
value=$(rcli GET portcullis:reg:u$((USERS - 1)))
grep -qP "^A\tsip:u$((USERS - 1))@127\.0\.0\.1:" <<<"$value" || fail "a user written back is not A's: $value"
[ "$(node_counter A cluster_catchup_lost)" -eq 0 ] || fail "the catch-up counted writes lost"
[ "$(node_counter A cluster_catchup_writes)" -ge "$USERS" ] || fail "the catch-up writes were not counted"
stop_node A
stop_redis
