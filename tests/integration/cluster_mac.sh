#!/bin/bash
# With a cluster key, what nodes share besides the sealed call records is
# authenticated: whoever can write to Redis cannot point a registered
# user's calls elsewhere or ban a source on every node.
#   - carol registers at A: the value in Redis carries A's MAC ("m1 ...")
#     and B, holding the same key, uses it (a call placed at B reaches her);
#   - a well-formed but untagged value pointing carol at another port, and
#     carol's genuine value copied under mallory's key, are refused by B
#     (counted, logged), and a call at B still reaches the real phone;
#   - an untagged ban notice for 127.0.0.1 is refused: B still answers;
#   - a node with another key refuses A's values and notices alike.
# Without the MAC, B would take the forged value and send carol's call to
# port 5999.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

new_key "$WORK/other.key"
start_redis
keyed_pair
start_pair

register_at 5060 120
value=$(rcli GET portcullis:reg:carol)
grep -qP '^m1 [0-9a-f]{16} [0-9a-f]{64}$' <<<"$(head -1 <<<"$value")" || fail "carol's value carries no MAC: $value"
for _ in $(seq 50); do [ "$(node_counter B cluster_bindings_read)" -ge 1 ] && break; sleep 0.1; done
[ "$(node_counter B cluster_bindings_read)" -ge 1 ] || fail "node B never read carol's tagged binding"
call_carol_via 6062
echo "PASS tagged_binding_used"

# Forged: untagged, carol at port 5999; and carol's real value under mallory.
before=$(node_counter B cluster_values_refused)
[ "$(rcli COPY portcullis:reg:carol portcullis:keep:carol)" -eq 1 ] || fail "cannot keep carol's value"
[ "$(rcli COPY portcullis:reg:carol portcullis:reg:mallory)" -eq 1 ] || fail "cannot copy carol's value"
rcli SET portcullis:reg:carol $'pc1\nA\tsip:carol@127.0.0.1:5999\tx\t1\t99999999999\tudp\t127.0.0.1\t5999\t\n' EX 60 >/dev/null
rcli PUBLISH portcullis:reg $'A\tcarol' >/dev/null
rcli PUBLISH portcullis:reg $'A\tmallory' >/dev/null
for _ in $(seq 50); do [ "$(node_counter B cluster_values_refused)" -ge $((before + 2)) ] && break; sleep 0.1; done
[ "$(node_counter B cluster_values_refused)" -ge $((before + 2)) ] || fail "node B did not refuse the forged and the moved value"
node_log B 'value of user "carol" in Redis refused \(not authenticated'
node_log B 'value of user "mallory" in Redis refused \(not authenticated'
call_carol_via 6062 # still the real phone on 5090: the forged binding was not taken
echo "PASS forged_binding_refused"

# A forged ban of 127.0.0.1 (hex 7f000001) for an hour: refused, B answers.
before=$(node_counter B cluster_values_refused)
rcli PUBLISH portcullis:guard $'A\tban\t4\t7f000001\t3600000' >/dev/null
for _ in $(seq 50); do [ "$(node_counter B cluster_values_refused)" -gt "$before" ] && break; sleep 0.1; done
[ "$(node_counter B cluster_values_refused)" -gt "$before" ] || fail "node B did not refuse the untagged ban"
node_log B "notice on portcullis:guard refused \(not authenticated"
[ "$(node_counter B cluster_bans_applied)" -eq 0 ] || fail "node B applied a forged ban"
call_carol_via 6062
echo "PASS forged_ban_refused"

# Another cluster's key: A's genuine values are refused too.
stop_node B
node_config "$WORK/c.conf" C 7060 24000
with_key "$WORK/c.conf" C "$WORK/other.key"
[ "$(rcli COPY portcullis:keep:carol portcullis:reg:carol REPLACE)" -eq 1 ] || fail "cannot put carol's value back"
start_node C "$WORK/c.conf"
node_log C 'value of user "carol" in Redis refused \(not authenticated'
[ "$(node_counter C cluster_bindings_read)" -eq 0 ] || fail "a node with another key took A's binding"
echo "PASS other_key_refused"
stop_node C
stop_node A
stop_redis
