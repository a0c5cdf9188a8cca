#!/bin/bash
# Redis with a password (cluster.password_file, and cluster.user for an ACL
# user): a node must authenticate before it shares anything, and a node
# with the wrong password or none is not let in — it goes on with local
# state, as with Redis gone, and says why without printing the password.
#   - a password file others may read stops the start, by name;
#   - the wrong password: "AUTH refused" logged, nothing written, and the
#     node still answers REGISTER 200 from its local state;
#   - no password against a Redis that needs one: nothing written either
#     (every command refused, counted as failed);
#   - the right password for the default user, then for an ACL user with
#     its own password: carol's binding is written;
#   - the password never appears in a log.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

PASS_DEFAULT="s3cret-$RANDOM$RANDOM"
PASS_USER="gw-$RANDOM$RANDOM"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
	--requirepass "$PASS_DEFAULT" --user portcullis on ">$PASS_USER" "~portcullis:*" "&*" "+@all" \
	>"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
PIDS="$PIDS $REDIS_PID"
wait_port tcp "$REDIS_PORT"
rcli() { redis-cli -p "$REDIS_PORT" --no-auth-warning -a "$PASS_DEFAULT" "$@"; }
[ "$(rcli PING)" = PONG ] || fail "redis-server did not take its password"

# with_password CONF FILE [USER]: the node authenticates with FILE's line.
with_password() {
	sed -i "s|node = \"A\";|& password_file = \"$2\";${3:+ user = \"$3\";}|" "$1"
	grep -q password_file "$1" || fail "cannot name the password file"
}

echo "wrong-$RANDOM" >"$WORK/pass.bad"
echo "$PASS_DEFAULT" >"$WORK/pass.default"
echo "$PASS_USER" >"$WORK/pass.user"
chmod 600 "$WORK"/pass.*

# A readable password file is refused at start.
node_config "$WORK/a.conf" A 5060 20000
with_password "$WORK/a.conf" "$WORK/pass.default"
chmod 640 "$WORK/pass.default"
"$PORTCULLIS_BIN" --config "$WORK/a.conf" >"$WORK/A-mode.log" 2>&1 && fail "started with a password file others may read"
grep -q "cluster: password_file $WORK/pass.default: group or others may access it" "$WORK/A-mode.log" ||
	{ cat "$WORK/A-mode.log" >&2; fail "the password file's mode was not named"; }
chmod 600 "$WORK/pass.default"
echo "PASS readable_password_file_refused"

# The wrong password: refused, local service goes on.
node_config "$WORK/a.conf" A 5060 20000
with_password "$WORK/a.conf" "$WORK/pass.bad"
start_node A "$WORK/a.conf"
node_log A "cluster: redis 127.0.0.1:$REDIS_PORT unreachable \(AUTH refused: WRONGPASS"
register_at 5060 120
[ "$(rcli EXISTS portcullis:reg:carol)" -eq 0 ] || fail "a node with the wrong password wrote carol's binding"
grep -q "connected as node" "$WORK/A.log" && fail "a node with the wrong password counted as connected"
stop_node A
echo "PASS wrong_password_refused"

# No password at all: Redis refuses every command.
node_config "$WORK/a.conf" A 5060 20000
start_node A "$WORK/a.conf"
register_at 5060 120
sleep 0.5
[ "$(rcli EXISTS portcullis:reg:carol)" -eq 0 ] || fail "a node without the password wrote carol's binding"
stop_node A
echo "PASS no_password_refused"

# The right password, default user.
node_config "$WORK/a.conf" A 5060 20000
with_password "$WORK/a.conf" "$WORK/pass.default"
start_node A "$WORK/a.conf"
node_log A "connected as node \"A\""
register_at 5060 120
for _ in $(seq 40); do [ "$(rcli EXISTS portcullis:reg:carol)" -eq 1 ] && break; sleep 0.05; done
[ "$(rcli EXISTS portcullis:reg:carol)" -eq 1 ] || fail "carol's binding was not written with the right password"
stop_node A
rcli DEL portcullis:reg:carol >/dev/null
echo "PASS password_accepted"

# An ACL user with its own password.
node_config "$WORK/a.conf" A 5060 20000
with_password "$WORK/a.conf" "$WORK/pass.user" portcullis
start_node A "$WORK/a.conf"
node_log A "connected as node \"A\""
register_at 5060 120
for _ in $(seq 40); do [ "$(rcli EXISTS portcullis:reg:carol)" -eq 1 ] && break; sleep 0.05; done
[ "$(rcli EXISTS portcullis:reg:carol)" -eq 1 ] || fail "carol's binding was not written as the ACL user"
stop_node A
echo "PASS acl_user_accepted"

for p in "$PASS_DEFAULT" "$PASS_USER"; do
	grep -lF -- "$p" "$WORK"/A*.log && fail "a password reached the gateway's log"
done
echo "PASS password_not_logged"
kill "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
