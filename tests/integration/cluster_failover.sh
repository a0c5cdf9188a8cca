#!/bin/bash
# Failover that keeps a call up (issue 12), with two real gateways in
# network namespaces of their own sharing a service address, as keepalived
# would move it. This script's namespace is the clients' network: a bridge
# (10.77.0.1) with the phone (SIPp + rtp_probe, plain RTP), the trunk
# (SIPp over UDP + rtp_probe, SDES-SRTP) and redis-server; namespaces A
# (10.77.0.11) and B (10.77.0.12) hang on it by veths, and the service
# address 10.77.0.100 starts on A. A call is set up through A, media flows
# both ways; then A is killed with SIGKILL mid-call, the address is deleted
# from A and added to B, the bridge's neighbour cache flushed, and
# `portcullisctl takeover A` run on B. Checked: the call's record is in
# Redis sealed (no Call-ID, no key in clear) under A, then under B; media
# resumes within 2 s in both directions, the trunk's SRTP authenticating
# under the key A offered, past a rollover A recorded (B installed the
# same contexts with their ROCs, no re-INVITE:
# the trunk's SIPp takes no request but the final BYE); the phone's BYE
# afterwards is answered by B and forwarded to the trunk, and the record
# is gone. With LATE_STANDBY=1 (cluster_failover_late.sh) B starts only
# once the call is up, after its last change: it must read the record from
# Redis when it connects, not wait for the owner's next refresh. Skips
# only when the kernel refuses network namespaces.
# test-timeout: 120
. "$TESTS/integration/lib.sh"
T=${LATE_STANDBY:+cluster_failover_late}
T=${T:-cluster_failover}
. "$TESTS/integration/cluster_lib.inc"
CTL="$(dirname "$PORTCULLIS_BIN")/../tools/portcullisctl"
PROBE="$(dirname "$PORTCULLIS_BIN")/../tests/tools/rtp_probe"
[ -x "$CTL" ] && [ -x "$PROBE" ] || fail "portcullisctl or rtp_probe not built"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh)"

NA="pcfoA$$"
NB="pcfoB$$"
BR="pcfobr$$"
VIP=10.77.0.100
CLIENT=10.77.0.1
if ! ip netns add "$NA" 2>"$WORK/netns.err"; then
	echo "SKIP cluster_failover: the kernel refuses network namespaces ($(cat "$WORK/netns.err"))"
	exit 0
fi
teardown() {
	cleanup
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	ip link del "$BR" 2>/dev/null
	true
}
trap teardown EXIT
ip netns add "$NB" || fail "cannot make namespace $NB"
ip link add "$BR" type bridge || fail "cannot make the bridge"
ip link set "$BR" up
ip addr add "$CLIENT/24" dev "$BR"
n=11
for ns in "$NA" "$NB"; do
	ip link add "v$ns" type veth peer name eth0 netns "$ns" || fail "cannot make a veth into $ns"
	ip link set "v$ns" master "$BR" up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add "10.77.0.$n/24" dev eth0
	# The standby binds the service address before it holds it (as
	# keepalived setups do), so its listeners are ready at takeover.
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_nonlocal_bind=1
	n=$((n + 1))
done
ip -n "$NA" addr add "$VIP/24" dev eth0

redis-server --port "$REDIS_PORT" --bind "$CLIENT" --protected-mode no --save '' --appendonly no --dir "$WORK" \
	>"$WORK/redis.log" 2>&1 &
PIDS="$PIDS $!"
wait_port tcp "$REDIS_PORT"
rcli() { redis-cli -h "$CLIENT" -p "$REDIS_PORT" "$@"; } # cluster_lib's, on the bridge

od -An -tx1 -N32 /dev/urandom | tr -d " \n" >"$WORK/cluster.key"
chmod 600 "$WORK/cluster.key"
# failover_config FILE NODE
failover_config() {
	cat >"$1" <<CONF
domain = "localhost";
listeners = (
  { name = "inside"; leg = "inside"; transport = "udp"; address = "$VIP"; port = 5060; },
  { name = "outside"; leg = "outside"; transport = "udp"; address = "$VIP"; port = 5062; }
);
legs = (
  { name = "inside"; media = "rtp"; rtp_address = "$VIP"; rtp_ports = [ 20000, 20999 ]; },
  { name = "outside"; media = "srtp"; rtp_address = "$VIP"; rtp_ports = [ 30000, 30999 ]; }
);
routes = (
  { from_leg = "inside"; to_leg = "outside"; address = "$CLIENT"; port = 5080; transport = "udp"; }
);
control = { socket = "$WORK/$2.sock"; };
cluster = { redis = "$CLIENT:$REDIS_PORT"; node = "$2"; key_file = "$WORK/cluster.key";
            command_timeout = 200; retry_max = 1; };
CONF
}
NODE_NETNS[A]=$NA
NODE_NETNS[B]=$NB
failover_config "$WORK/A.conf" A
failover_config "$WORK/B.conf" B
start_node A "$WORK/A.conf"
node_log A "cluster: redis .* connected" 5
if [ -z "${LATE_STANDBY:-}" ]; then
	start_node B "$WORK/B.conf"
	node_log B "cluster: redis .* connected" 5
fi

# The scenarios of the plain phone and the SRTP trunk, for these addresses.
sed -e 's/127\\\.0\\\.0\\\.1/10\\.77\\.0\\.100/g' "$TESTS/integration/sipp/uac_call.xml" >"$WORK/phone.xml"
sed -e 's/127\\\.0\\\.0\\\.1/10\\.77\\.0\\.100/g' -e 's/transport=tcp/transport=udp/g' \
	"$TESTS/integration/sipp/uas_trunk.xml" >"$WORK/trunk.xml"
timeout 60 sipp -sf "$WORK/trunk.xml" -t u1 -i "$CLIENT" -p 5080 -m 1 -nostdin \
	-trace_msg -message_file "$WORK/trunk_msg.log" -trace_err -error_file "$WORK/trunk_err.log" \
	>"$WORK/trunk.out" 2>&1 &
TRUNK_PID=$!
PIDS="$PIDS $TRUNK_PID"
# The phone hangs up 9 s after the answer (12 s when B starts late):
# after the failover and the checks that follow it.
PHONE_MS=9000
[ -z "${LATE_STANDBY:-}" ] || PHONE_MS=12000
timeout 60 sipp -sf "$WORK/phone.xml" "$VIP:5060" -s 12125551234 -t u1 -i "$CLIENT" -p 15090 -m 1 \
	-d "$PHONE_MS" -nostdin -trace_msg -message_file "$WORK/sipp_msg.log" -trace_err \
	-error_file "$WORK/sipp_err.log" >"$WORK/sipp.out" 2>&1 &
PHONE_PID=$!
PIDS="$PIDS $PHONE_PID"
relay_ports
node_log A "call [0-9]+ established" 5

# The record: sealed, under A.
for _ in $(seq 40); do [ -n "$(rcli --scan --pattern 'portcullis:call:A:*')" ] && break; sleep 0.05; done
key_a=$(rcli --scan --pattern 'portcullis:call:A:*' | head -1)
[ -n "$key_a" ] || fail "no call record of node A in Redis"
rcli --raw GET "$key_a" >"$WORK/record.bin"
call_id=$(awk '/^INVITE /{f=1} f && /^Call-ID:/{print $2; exit}' "$WORK/trunk_msg.log" | tr -d '\r')
[ -n "$call_id" ] || fail "no Call-ID in the trunk's trace"
! grep -qF "$call_id" "$WORK/record.bin" || fail "the Call-ID is in clear in Redis"
! grep -qF "$offered_key" "$WORK/record.bin" || fail "the SRTP key is in clear in Redis"
head -c 4 "$WORK/record.bin" | grep -q '^pcc2$' || fail "the record is not a sealed call record"
echo "PASS $T.record_sealed"
if [ -n "${LATE_STANDBY:-}" ]; then
	# Nothing of the call changes from now on: B has only Redis to read.
	sleep 0.5
	start_node B "$WORK/B.conf"
	node_log B "cluster: redis .* connected" 5
fi
# B keeps a replica of it (from A's notice, or read at its start).
node_log B "call record [0-9a-f]+ of node \"A\" replicated" 2

# Media both ways for 6 s: the trunk's SRTP under its own key toward the
# gateway, and the gateway's (A's offer, which B must go on using) back.
# The sequence numbers start at 65500, so both SRTP contexts of the trunk's
# side roll over (ROC 1) 0.7 s in, before the failover: A must record the
# ROCs when they move, and B install them, or nothing authenticates after.
"$PROBE" --local "$CLIENT" --remote "$VIP" --bind 16000 --to "$in_port" --count 300 --ssrc 1111 \
	--first-seq 65500 >"$WORK/phone_probe.out" 2>&1 &
PHONE_PROBE=$!
"$PROBE" --local "$CLIENT" --remote "$VIP" --bind 17000 --to "$out_port" --count 300 --ssrc 2222 \
	--first-seq 65500 \
	--send "AEAD_AES_256_GCM:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw=" \
	--recv "AEAD_AES_256_GCM:$offered_key" >"$WORK/trunk_probe.out" 2>&1 &
TRUNK_PROBE=$!
PIDS="$PIDS $PHONE_PROBE $TRUNK_PROBE"
sleep 1.5
# Each rollover wrote A's record again (the trunk's context and ours
# toward it: once each, not per packet), and B has it.
replicas=$(grep -c "call record [0-9a-f]* of node \"A\" replicated" "$WORK/B.log")
[ "$replicas" -ge 2 ] && [ "$replicas" -le 3 ] ||
	fail "B read A's record $replicas times, not 2 or 3 (the answer, the rollovers)"

# The failover: A dies, the address moves, B takes A's calls over.
kill -9 "${NODE_PID[A]}"
t0=$(date +%s%N)
ip -n "$NA" addr del "$VIP/24" dev eth0
ip -n "$NB" addr add "$VIP/24" dev eth0
ip neigh flush dev "$BR"
out=$(ip netns exec "$NB" "$CTL" -s "$WORK/B.sock" takeover A) || fail "takeover on B: $out"
t1=$(date +%s%N)
note "takeover: $out ($(( (t1 - t0) / 1000000 )) ms after the kill)"
[ "$out" = "1 calls taken over, 0 refused" ] || fail "takeover report: $out"
node_log B "call [0-9]+ taken over" 1

wait "$PHONE_PROBE"
phone_rc=$?
wait "$TRUNK_PROBE"
trunk_rc=$?
note "phone: $(cat "$WORK/phone_probe.out")"
note "trunk: $(cat "$WORK/trunk_probe.out")"
[ "$phone_rc" -eq 0 ] || fail "the phone's media did not come through the failover"
[ "$trunk_rc" -eq 0 ] || fail "the trunk's media did not come through the failover or did not authenticate"
for side in phone trunk; do
	gap=$(sed -n 's/.*max_gap_ms=\([0-9]*\).*/\1/p' "$WORK/${side}_probe.out")
	got=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$WORK/${side}_probe.out")
	[ "${gap:-99999}" -le 2000 ] || fail "$side: media stopped for $gap ms across the failover"
	# Packets after the takeover: 300 sent over 6 s, the kill at 1.5 s.
	[ "${got:-0}" -ge 150 ] || fail "$side: only $got packets arrived"
done
echo "PASS $T.media_resumes"

# The record moved to B, A's is gone.
[ -z "$(rcli --scan --pattern 'portcullis:call:A:*')" ] || fail "A's record is still in Redis"
[ -n "$(rcli --scan --pattern 'portcullis:call:B:*')" ] || fail "B wrote no record of the call"

# The phone's BYE (9 s after the answer) ends the call on both legs.
for _ in $(seq 150); do kill -0 "$PHONE_PID" 2>/dev/null || break; sleep 0.1; done
wait "$PHONE_PID" || { cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -20 "$WORK/B.log" >&2; fail "the phone's BYE was not answered"; }
for _ in $(seq 50); do kill -0 "$TRUNK_PID" 2>/dev/null || break; sleep 0.1; done
wait "$TRUNK_PID" || { cat "$WORK/trunk.out" "$WORK/trunk_err.log" >&2; fail "the trunk got no BYE (or a re-INVITE)"; }
node_log B "call [0-9]+ closed" 2
[ "$(grep -c '^INVITE ' "$WORK/trunk_msg.log")" -eq 1 ] || fail "the trunk got a re-INVITE"
for _ in $(seq 20); do [ -z "$(rcli --scan --pattern 'portcullis:call:*')" ] && break; sleep 0.1; done
[ -z "$(rcli --scan --pattern 'portcullis:call:*')" ] || fail "a call record outlived the call"
echo "PASS $T.bye_after_takeover"

# A takeover of a node with nothing shared takes nothing.
out=$(ip netns exec "$NB" "$CTL" -s "$WORK/B.sock" takeover A) || fail "second takeover: $out"
[ "$out" = "0 calls taken over, 0 refused" ] || fail "second takeover: $out"
kill -TERM "${NODE_PID[B]}"
wait "${NODE_PID[B]}" || fail "node B exit status $?"
