#!/bin/bash
# Where a peer's SDP may point the relay (issue 8, Low), against the running
# gateway: a phone's INVITE whose c= and port name one of the gateway's own
# relay ports, a multicast group or the broadcast address is refused with
# 488; a loopback c= is refused from a phone whose SIP does not come over
# loopback (192.0.2.10, added to lo for the test) and accepted from one that
# does (the reference scenario); c=0.0.0.0 (the old hold) is not refused.
# An accepted offer goes on toward the trunk (absent here: the call then
# fails, but not with 488).
# In a network namespace of its own: the address it adds to lo must never
# touch the host's (CI runs tests as root on the machine itself).
if [ -z "${PC_OWN_NETNS:-}" ]; then
	exec env PC_OWN_NETNS=1 unshare -n sh -c 'ip link set lo up && exec bash "$0"' "$0"
fi
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"

# A second local address for a phone that is not on loopback; removed on exit.
ip addr add 192.0.2.10/32 dev lo 2>/dev/null && trap 'ip addr del 192.0.2.10/32 dev lo 2>/dev/null; cleanup' EXIT
ip -o addr show dev lo | grep -q 192.0.2.10 || fail "cannot add 192.0.2.10 to lo (run in a private network namespace as root)"

# offer NAME FROM_IP C_ADDR PORT EXPECT: EXPECT is 488 or "not488".
offer() {
	/usr/bin/python3 - "$@" <<'PY'
import socket, sys, time
name, src, caddr, port, expect = sys.argv[1:6]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
lport = s.getsockname()[1]
sdp = (f"v=0\r\no=p 1 1 IN IP4 {src}\r\ns=-\r\nc=IN IP4 {caddr}\r\nt=0 0\r\n"
       f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
msg = (f"INVITE sip:12125550001@127.0.0.1 SIP/2.0\r\n"
       f"Via: SIP/2.0/UDP {src}:{lport};branch=z9hG4bK{name}\r\n"
       f"Max-Forwards: 70\r\nFrom: <sip:alice@{src}>;tag={name}\r\n"
       f"To: <sip:12125550001@127.0.0.1>\r\nCall-ID: {name}@test\r\nCSeq: 1 INVITE\r\n"
       f"Contact: <sip:alice@{src}:{lport}>\r\nContent-Type: application/sdp\r\n"
       f"Content-Length: {len(sdp)}\r\n\r\n{sdp}")
s.sendto(msg.encode(), ("127.0.0.1", 5060))
s.settimeout(0.5)
codes = []
end = time.monotonic() + 3
while time.monotonic() < end:
    try:
        data, _ = s.recvfrom(65535)
    except socket.timeout:
        if codes and expect != "488":
            break  # 100 Trying and no 488: the offer was taken
        continue
    code = int(data.split(b" ", 2)[1])
    codes.append(code)
    if code >= 200:
        break
ok = (488 in codes) if expect == "488" else (bool(codes) and 488 not in codes)
print(f"{'PASS' if ok else 'FAIL'} {name} responses={codes}")
PY
}

offer sdp_target_own_relay_port 127.0.0.1 127.0.0.1 30000 488
offer sdp_target_own_relay_port_inside 127.0.0.1 127.0.0.1 20500 488
offer sdp_target_multicast 127.0.0.1 239.1.2.3 16000 488
offer sdp_target_broadcast 127.0.0.1 255.255.255.255 16000 488
offer sdp_target_loopback_from_afar 192.0.2.10 127.0.0.1 16000 488
offer sdp_target_loopback_from_loopback 127.0.0.1 127.0.0.1 16000 not488
offer sdp_target_hold_address 127.0.0.1 0.0.0.0 16000 not488
stop_gateway
