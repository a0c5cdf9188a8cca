#!/bin/bash
# Cluster mode shares registrar bindings through Redis: carol registers at
# node A, and a call placed at node B reaches her, sent by B (its inside
# port 6060 in the INVITE's Via) to the flow A recorded. The value in
# Redis names A as the node holding the flow and expires with the binding.
# What Redis hands back is untrusted: a malformed value announced for
# mallory is refused and counted, and routes nothing.
# A node started later (C) loads the bindings already in Redis.
# Without the sharing B would answer 480 (carol not registered there).
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

start_redis
node_config "$WORK/a.conf" A 5060 20000
node_config "$WORK/b.conf" B 6060 22000
start_node A "$WORK/a.conf"
start_node B "$WORK/b.conf"
node_log A "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"A\""
node_log B "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"B\""

register_at 5060 120
value=$(rcli GET portcullis:reg:carol)
grep -qP '^A\tsip:carol@127\.0\.0\.1:5090\t' <<<"$value" || fail "the binding in Redis does not name node A: $value"
ttl=$(rcli TTL portcullis:reg:carol)
[ "$ttl" -gt 100 ] && [ "$ttl" -le 120 ] || fail "the key's TTL is $ttl, not the binding's expiry"
for _ in $(seq 50); do [ "$(node_counter B cluster_bindings_read)" -ge 1 ] && break; sleep 0.1; done
[ "$(node_counter B cluster_bindings_read)" -ge 1 ] || fail "node B never read carol's binding"

call_carol_via 6062
via=$(grep -m1 -i "^Via:" <(received_msg "$WORK/phone_msg.log" INVITE))
grep -q "127.0.0.1:6060" <<<"$via" || fail "the INVITE did not come from node B: $via"

# A node started after the registration loads what is in Redis (SCAN):
# a call placed at C reaches carol too.
node_config "$WORK/c.conf" C 7060 24000
start_node C "$WORK/c.conf"
for _ in $(seq 50); do [ "$(node_counter C cluster_bindings_read)" -ge 1 ] && break; sleep 0.1; done
[ "$(node_counter C cluster_bindings_read)" -ge 1 ] || fail "node C did not load carol's binding at start"
call_carol_via 7062
stop_node C

# A value another program wrote: refused, counted, not a binding.
before=$(node_counter B cluster_values_refused)
rcli SET portcullis:reg:mallory $'pc1\nA\tsip:mallory@127.0.0.1:5090\tx\t1\t99999999999\tudp\t127.0.0.1\t0\t\n' EX 60 >/dev/null
rcli PUBLISH portcullis:reg $'A\tmallory' >/dev/null
rcli PUBLISH portcullis:reg 'no tab here' >/dev/null
for _ in $(seq 50); do [ "$(node_counter B cluster_values_refused)" -ge $((before + 2)) ] && break; sleep 0.1; done
[ "$(node_counter B cluster_values_refused)" -ge $((before + 2)) ] || fail "node B did not refuse the malformed value and notice"
node_log B 'value of user "mallory" in Redis refused'
sed 's/sip:bob@/sip:mallory@/g; s/response="404"/response="480"/' "$TESTS/integration/sipp/invite_uac_404.xml" >"$WORK/mallory.xml"
grep -q "sip:mallory@" "$WORK/mallory.xml" || fail "cannot address the refusal scenario to mallory"
timeout 30 sipp -sf "$WORK/mallory.xml" 127.0.0.1:6062 -s mallory -t u1 -i 127.0.0.1 \
	-p 15091 -m 1 -nostdin >"$WORK/mallory.out" 2>&1 || { cat "$WORK/mallory.out" >&2; fail "a call to mallory was not refused 480 (not registered)"; }

# Deregistering at A removes the key and B's copy.
register_at 5060 0
[ "$(rcli EXISTS portcullis:reg:carol)" -eq 0 ] || fail "carol's key outlived her deregistration"
stop_node B
stop_node A
stop_redis
