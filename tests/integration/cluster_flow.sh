#!/bin/bash
# Cluster mode: a call to a phone whose TCP connection another node holds
# (nodes A and B, their own redis-server; each has a node-to-node TCP
# listener on the leg "cluster" and the other node as a peer with
# cluster_node):
#  (a) carol registers over TCP at A; a call placed at B reaches her on
#      that very connection: B sends the INVITE to A's node peer with the
#      internal route, A (seeing it from its configured node B) calls her on
#      the flow. The INVITE carol gets comes from A (Via 5060) on her own
#      connection (tcp_phone.py listens on no other); before this change
#      B tried to connect to her address itself, which reaches no phone.
#  (b) the same internal route from a source that is not a node peer
#      (127.0.0.7, on A's outside UDP port and on its node TCP port) is
#      refused 403 and counted (requests_refused_cluster_route): nobody
#      outside reaches a phone's flow through it.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

start_redis
# node_tcp FILE SIP_BASE NODE_RTP_BASE OTHER_NODE OTHER_SIP_BASE
node_tcp() {
	sed -i -e "s|^listeners = (|listeners = (\n  { name = \"inside-tcp\"; leg = \"inside\"; transport = \"tcp\"; address = \"127.0.0.1\"; port = $2; },\n  { name = \"nodes\"; leg = \"cluster\"; transport = \"tcp\"; address = \"127.0.0.1\"; port = $(($2 + 4)); },|" \
		-e "s|^legs = (|legs = (\n  { name = \"cluster\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ $3, $(($3 + 999)) ]; },|" "$1"
	printf 'peers = ( { name = "node-%s"; transport = "tcp"; address = "127.0.0.1"; port = %s; cluster_node = "%s"; } );\n' \
		"$4" "$(($5 + 4))" "$4" >>"$1"
	grep -q '"nodes"' "$1" && grep -q 'name = "cluster"' "$1" || fail "cannot add the node listener to $1"
}
node_config "$WORK/a.conf" A 5060 20000
node_config "$WORK/b.conf" B 6060 22000
node_tcp "$WORK/a.conf" 5060 24000 B 6060
node_tcp "$WORK/b.conf" 6060 26000 A 5060
start_node A "$WORK/a.conf"
start_node B "$WORK/b.conf"
node_log A "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"A\""
node_log B "cluster: redis 127.0.0.1:$REDIS_PORT connected as node \"B\""

# (a) carol over TCP at A, called at B.
python3 "$TESTS/integration/tcp_phone.py" 5060 5090 30 >"$WORK/phone.out" 2>&1 &
PHONE=$!
PIDS="$PIDS $PHONE"
for _ in $(seq 50); do grep -q registered "$WORK/phone.out" && break; sleep 0.1; done
for _ in $(seq 50); do [ "$(node_counter B cluster_bindings_read)" -ge 1 ] && break; sleep 0.1; done
[ "$(node_counter B cluster_bindings_read)" -ge 1 ] || fail "node B never read carol's binding"
rcli GET portcullis:reg:carol | grep -qP '^A\tsip:carol@127\.0\.0\.1:5090;transport=tcp\t' ||
	fail "carol's TCP binding in Redis does not name node A"
run_sipp cluster_caller.xml 127.0.0.1:6062 -s carol -t u1 -i 127.0.0.1 -p 15090 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/phone.out" >&2
	tail -n 20 "$WORK/A.log" "$WORK/B.log" >&2; fail "the call to carol via B failed"; }
wait "$PHONE" || { cat "$WORK/phone.out" >&2; fail "carol's phone did not get the call on her connection"; }
grep -qx "BYE sip:carol@127.0.0.1:5090;transport=tcp SIP/2.0" "$WORK/phone.out" ||
	fail "the BYE did not reach carol on her connection"
via=$(grep -m1 -i "^Via:" "$WORK/phone.out")
grep -q "TCP 127.0.0.1:5060" <<<"$via" || fail "the INVITE did not come from node A: $via"
[ "$(node_counter B cluster_flows_forwarded)" -ge 1 ] || fail "B did not count the call sent through node A"
node_log A 'INVITE from node "B" \(peer node-B\) for the flow of carol'

# (b) the internal route from outside the cluster.
ROUTE="Route: <sip:127.0.0.1:5064;transport=tcp;lr;pc-flow>"
fill_scenario policy_uac_refused.xml "$WORK/forged.xml" RURI "sip:carol@127.0.0.1:5090;transport=tcp" \
	TO "sip:carol@localhost" HEADERS "$ROUTE" EXPECT 403 CHECK "."
run_sipp "$WORK/forged.xml" 127.0.0.1:5062 -t u1 -i 127.0.0.7 -p 15091 || {
	cat "$WORK/sipp.out" >&2; tail -n 20 "$WORK/A.log" >&2; fail "A did not refuse the internal route over its outside leg"; }
run_sipp "$WORK/forged.xml" 127.0.0.1:5064 -t t1 -i 127.0.0.7 -p 15092 || {
	cat "$WORK/sipp.out" >&2; tail -n 20 "$WORK/A.log" >&2; fail "A did not refuse the internal route from a non-node over TCP"; }
[ "$(node_counter A requests_refused_cluster_route)" -ge 2 ] || fail "A did not count the forged internal routes"
node_log A "refused: 403 Forbidden \(the cluster's internal route from outside the cluster\)"
stop_node B
stop_node A
