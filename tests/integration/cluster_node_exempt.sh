#!/bin/bash
# Cluster mode: a node peer (peers[].cluster_node, over TCP here) relays
# the calls of many phones, so the per-source request rate and bans do not
# apply to it; they still apply to any other source on the same listener.
# Node A (request_rate 5, burst 10, ban after 5 overruns) has a node
# listener on TCP 5064 and node B declared as a TCP peer at 127.0.0.9.
#   - 60 OPTIONS in a burst over TCP from 127.0.0.9: none refused for the
#     rate, the source not banned, every one answered;
#   - the same burst from 127.0.0.8 (no node peer): refused for the rate
#     and banned (the burst is enough to trip the limit).
# Without the exemption the node's burst is refused and the node banned.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

start_redis
node_config "$WORK/a.conf" A 5060 20000
sed -i -e "s|^listeners = (|listeners = (\n  { name = \"nodes\"; leg = \"cluster\"; transport = \"tcp\"; address = \"127.0.0.1\"; port = 5064; },|" \
	-e "s|^legs = (|legs = (\n  { name = \"cluster\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 24000, 24999 ]; },|" "$WORK/a.conf"
cat >>"$WORK/a.conf" <<'CONF'
peers = ( { name = "node-B"; transport = "tcp"; address = "127.0.0.9"; port = 6064; cluster_node = "B"; } );
abuse = { request_rate = 5; request_burst = 10; ban_after = 5; ban_window = 10; ban = 60; };
CONF
start_node A "$WORK/a.conf"
node_log A "connected as node \"A\""

# burst SRC: 60 OPTIONS on one TCP connection from SRC; prints the answers.
burst() {
	python3 - "$1" <<'PY'
import socket, sys, time
src = sys.argv[1]
s = socket.socket()
s.bind((src, 0))
s.connect(("127.0.0.1", 5064))
port = s.getsockname()[1]
for i in range(60):
    s.sendall((f"OPTIONS sip:127.0.0.1:5064;transport=tcp SIP/2.0\r\n"
               f"Via: SIP/2.0/TCP {src}:{port};branch=z9hG4bK-burst-{i}\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:node@{src}>;tag=b{i}\r\nTo: <sip:127.0.0.1:5064>\r\n"
               f"Call-ID: burst-{src}-{i}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode())
s.settimeout(1.0)
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    pass
print(data.decode(errors="replace").count("SIP/2.0 200"))
PY
}

answered=$(burst 127.0.0.9)
[ "$(node_counter A requests_refused_rate)" -eq 0 ] || fail "the node peer's burst was rate-limited"
[ "$(node_counter A sources_banned)" -eq 0 ] || fail "the node peer was banned"
[ "$answered" -eq 60 ] || fail "the node peer got $answered of 60 answers"
echo "PASS node_peer_exempt"

burst 127.0.0.8 >/dev/null
[ "$(node_counter A requests_refused_rate)" -gt 0 ] || fail "another source's burst on the node listener was not limited"
[ "$(node_counter A sources_banned)" -ge 1 ] || fail "another source's burst was not banned"
echo "PASS other_source_limited"
stop_node A
stop_redis
