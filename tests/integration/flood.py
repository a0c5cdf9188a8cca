#!/usr/bin/env python3
"""A bounded request flood over UDP from one source address, for the intake
guard's tests: sends COUNT requests (each its own Call-ID and branch) at RATE
a second from SRC:PORT to the gateway, keeps listening LISTEN seconds after
the last one, and prints what came back:
  sent N
  answered N          requests that got any response
  silent N            requests that got none
  status CODE N       requests that drew a response with CODE
  packets N           every packet received
  most_per_request N  the most packets one request drew (retransmissions)
  first CODE I        the index of the first request answered CODE
  retry_after CODE V  the Retry-After of that first response ("none")
Exit status 0; the calling test judges the figures."""
import argparse
import collections
import socket
import time
import uuid


def build(method, gw, src, port, call_id, branch, to_tag):
    host, gport = gw
    lines = [
        f"{method} sip:flood@{host}:{gport} SIP/2.0",
        f"Via: SIP/2.0/UDP {src}:{port};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:flood@{src}:{port}>;tag=f{call_id[:8]}",
        f"To: <sip:flood@{host}:{gport}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: 1 {method}",
        f"Contact: <sip:flood@{src}:{port}>",
        "User-Agent: flood-test",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gw", default="127.0.0.1:5060")
    ap.add_argument("--src", default="127.0.0.2")
    ap.add_argument("--port", type=int, default=15096)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--listen", type=float, default=3.0)
    ap.add_argument("--method", default="INVITE")
    ap.add_argument("--to-tag", default="", help="a To tag, so that an admitted request costs no call")
    a = ap.parse_args()
    host, gport = a.gw.rsplit(":", 1)
    gw = (host, int(gport))

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.src, a.port))
    s.setblocking(False)
    per_call = collections.Counter()
    by_status = collections.defaultdict(set)
    first = {}
    packets = 0

    def drain():
        nonlocal packets
        while True:
            try:
                data = s.recv(65535)
            except BlockingIOError:
                return
            packets += 1
            text = data.decode("latin-1")
            if not text.startswith("SIP/2.0 "):
                continue
            code = text.split(" ", 2)[1]
            call_id, retry = None, "none"
            for line in text.split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() in ("call-id", "i"):
                    call_id = value.strip()
                elif name.strip().lower() == "retry-after":
                    retry = value.strip()
            per_call[call_id] += 1
            by_status[code].add(call_id)
            if code not in first and call_id in index:
                first[code] = (index[call_id], retry)

    start = time.monotonic()
    sent = []
    index = {}
    for i in range(a.count):
        due = start + i / a.rate
        while time.monotonic() < due:
            drain()
            time.sleep(min(0.002, max(0.0, due - time.monotonic())))
        call_id = uuid.uuid4().hex
        index[call_id] = len(sent)
        sent.append(call_id)
        s.sendto(build(a.method, gw, a.src, a.port, call_id, "z9hG4bK" + uuid.uuid4().hex[:16],
                       a.to_tag or None), gw)
    end = time.monotonic() + a.listen
    while time.monotonic() < end:
        drain()
        time.sleep(0.01)
    drain()
    answered = sum(1 for c in sent if per_call[c])
    print(f"sent {len(sent)}")
    print(f"answered {answered}")
    print(f"silent {len(sent) - answered}")
    for code, n in sorted(by_status.items()):
        print(f"status {code} {len(n)}")
    print(f"packets {packets}")
    print(f"most_per_request {max((per_call[c] for c in sent), default=0)}")
    for code, (i, retry) in sorted(first.items()):
        print(f"first {code} {i}")
        print(f"retry_after {code} {retry}")


if __name__ == "__main__":
    main()
