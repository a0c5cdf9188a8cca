#!/usr/bin/env python3
"""Call set-up time through the gateway with microsecond resolution (SIPp's
response-time trace counts in its clock ticks, 4 ms here): one call at a
time over UDP, INVITE sent -> 200 received, then ACK and BYE; meant to run
beside a SIPp load so the figure is the set-up time under that load.

  setup_probe.py --calls N [--identity HEADER] [--from USER] [--port P]

Prints one line: n, mean, p50, p90, p99, max in milliseconds. Exits 1 when
any call fails. Bounded: N calls, each at most 5 s."""
import argparse
import random
import socket
import sys
import time

GATEWAY = ("127.0.0.1", 5060)
SDP = ("v=0\r\no=probe 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 9004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")


def header(msg, name):
    for line in msg.split("\r\n")[1:]:
        if not line:
            break
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def request(method, uri, a, call_id, from_tag, to, cseq, extra="", body=""):
    branch = "z9hG4bK-probe-%x" % random.getrandbits(48)
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\nMax-Forwards: 70\r\n"
            "From: <sip:%s@127.0.0.1:%d>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
            "Contact: <sip:%s@127.0.0.1:%d>\r\n%s%sContent-Length: %d\r\n\r\n%s" % (
                method, uri, a.port, branch, a.from_user, a.port, from_tag, to, call_id, cseq, method,
                a.from_user, a.port, extra, "Content-Type: application/sdp\r\n" if body else "",
                len(body), body)).encode()


def wait_final(sock, call_id, method, deadline):
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        data = sock.recv(65535).decode(errors="replace")
        if header(data, "Call-ID") != call_id or not data.startswith("SIP/2.0 "):
            continue
        if method not in (header(data, "CSeq") or ""):
            continue
        code = int(data.split()[1])
        if code >= 200:
            return code, data


def one_call(sock, a, i):
    call_id = "probe-%d-%x@127.0.0.1" % (i, random.getrandbits(32))
    tag = "%x" % random.getrandbits(32)
    uri = "sip:%s@127.0.0.1:5060" % a.to_user
    to = "<%s>" % uri
    extra = ("Identity: %s\r\n" % a.identity) if a.identity else ""
    t0 = time.perf_counter()
    sock.sendto(request("INVITE", uri, a, call_id, tag, to, 1, extra, SDP), GATEWAY)
    code, resp = wait_final(sock, call_id, "INVITE", time.monotonic() + 5)
    dt = time.perf_counter() - t0
    to_hdr = header(resp, "To")
    contact = (header(resp, "Contact") or "<%s>" % uri).strip("<>").split(">")[0]
    if code != 200:
        sock.sendto(request("ACK", uri, a, call_id, tag, to_hdr, 1), GATEWAY)
        raise RuntimeError("INVITE answered %d" % code)
    sock.sendto(request("ACK", contact, a, call_id, tag, to_hdr, 1), GATEWAY)
    sock.sendto(request("BYE", contact, a, call_id, tag, to_hdr, 2), GATEWAY)
    code, _ = wait_final(sock, call_id, "BYE", time.monotonic() + 5)
    if code != 200:
        raise RuntimeError("BYE answered %d" % code)
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--identity", default="")
    ap.add_argument("--from-user", default="+15550001")
    ap.add_argument("--to-user", default="12125551234")
    ap.add_argument("--port", type=int, default=15096)
    a = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", a.port))
    times = []
    for i in range(a.calls):
        try:
            times.append(one_call(sock, a, i))
        except (socket.timeout, RuntimeError) as e:
            print("call %d failed: %s" % (i, e), file=sys.stderr)
            return 1
        time.sleep(0.01)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1e3
    print("n=%d mean=%.3f p50=%.3f p90=%.3f p99=%.3f max=%.3f" % (
        len(times), sum(times) / len(times) * 1e3, pick(0.5), pick(0.9), pick(0.99), times[-1] * 1e3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
