#!/bin/bash
# With a cluster key, a genuine but older binding value written back into
# Redis is refused: each node holds, per user, the MAC'd time stamp of the
# last value it took or wrote, and a value stamped earlier is a replay.
#   - carol registers at A from port 5090; her value (V1) is kept aside;
#   - she unregisters: A writes a tagged empty value (a tombstone, not a
#     DEL) whose stamp outdates V1; she registers again from port 5091;
#   - V1 is put back under her key and announced as A would: B refuses it
#     (counted, logged) and a call placed at B reaches the phone on 5091;
#   - she unregisters again and V1 is replayed once more: refused again.
# Without the stamps B takes V1 and sends carol's call to port 5090, where
# nobody answers.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

start_redis
keyed_pair
start_pair

# wait_read N: B has read carol's value N times.
wait_read() {
	for _ in $(seq 50); do [ "$(node_counter B cluster_bindings_read)" -ge "$1" ] && break; sleep 0.1; done
	[ "$(node_counter B cluster_bindings_read)" -ge "$1" ] || fail "node B did not read carol's value ($1)"
}
# replay: V1 back under carol's key, announced the way the gateway does.
replay() {
	local before
	before=$(node_counter B cluster_values_refused)
	[ "$(rcli COPY portcullis:keep:carol portcullis:reg:carol REPLACE)" -eq 1 ] || fail "cannot put V1 back"
	rcli PUBLISH portcullis:reg $'A\tcarol' >/dev/null
	for _ in $(seq 50); do [ "$(node_counter B cluster_values_refused)" -gt "$before" ] && break; sleep 0.1; done
	[ "$(node_counter B cluster_values_refused)" -gt "$before" ] || {
		tail -5 "$WORK/B.log" >&2; fail "node B took the replayed value $1"; }
}

register_at 5060 120 5090
wait_read 1
[ "$(rcli COPY portcullis:reg:carol portcullis:keep:carol)" -eq 1 ] || fail "cannot keep carol's value"
register_at 5060 0 5090
wait_read 2
value=$(rcli GET portcullis:reg:carol)
[ "$(sed -n 2,9p <<<"$value")" = "pc1" ] || fail "no tombstone after carol's last binding went: $value"
[ "$(rcli TTL portcullis:reg:carol)" -gt 600000 ] || fail "the tombstone does not outlive the longest binding"
register_at 5060 120 5091
wait_read 3
replay "after a new registration"
node_log B 'value of user "carol" in Redis refused \(older than the one taken before: a replay\)'
call_carol_via 6062 5091
echo "PASS replay_refused"

register_at 5060 0 5091
wait_read 4
replay "after the unregistration"
echo "PASS replay_after_tombstone_refused"
stop_node B
stop_node A
stop_redis
