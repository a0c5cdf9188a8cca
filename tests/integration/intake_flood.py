#!/usr/bin/env python3
"""Flood of maximal messages against a running gateway (intake_flood.sh):
one source sends ~60 KB datagrams of thousands of short header lines at the
configured request rate while another source measures OPTIONS round trips.
Before the header cap each such datagram cost Sofia about a quarter second
of CPU (its parse grows with the square of the header count), so the probes
waited seconds; now framing refuses them after one linear pass. Prints PASS/
FAIL lines; exit 1 if any failed. Bounded: RATE x SECONDS datagrams."""
import os
import socket
import statistics
import sys
import threading
import time
import uuid

GW = ("127.0.0.1", 5060)
RATE = int(os.environ.get("FLOOD_RATE", "50"))      # the gateway's abuse.request_rate
SECONDS = float(os.environ.get("FLOOD_SECONDS", "8"))
LIMIT_MS = 10.0


def maximal_datagram(headers=8000):
    branch = "z9hG4bK" + uuid.uuid4().hex[:12]
    head = (f"OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.2:5999;branch={branch}\r\n"
            "From: <sip:flood@127.0.0.2>;tag=f\r\nTo: <sip:127.0.0.1>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n")
    body = "".join(f"X{i % 10}:y\r\n" for i in range(headers))
    msg = (head + body + "Content-Length: 0\r\n\r\n").encode()
    return msg[:65000] if len(msg) > 65000 else msg


def flood(stop, sent, answers):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 5999))
    s.setblocking(False)
    data = maximal_datagram()
    interval = 1.0 / RATE
    start = time.time()
    n = 0
    while not stop.is_set() and time.time() - start < SECONDS:
        s.sendto(data, GW)
        n += 1
        try:
            while True:
                answers.append(s.recv(65535).split(b"\r\n", 1)[0])
        except BlockingIOError:
            pass
        time.sleep(max(0.0, start + n * interval - time.time()))
    sent.append(n)
    s.close()


def probe(until):
    """OPTIONS round trips from another source, in ms; a lost probe counts 1 s."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.3", 0))
    port = s.getsockname()[1]
    out = []
    while time.time() < until:
        branch = "z9hG4bK" + uuid.uuid4().hex[:12]
        req = (f"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.3:{port};branch={branch};rport\r\n"
               "From: <sip:probe@127.0.0.3>;tag=p\r\nTo: <sip:127.0.0.1>\r\n"
               f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n").encode()
        t0 = time.perf_counter()
        s.sendto(req, GW)
        s.settimeout(1.0)
        rtt = 1000.0
        try:
            while True:
                resp = s.recv(65535)
                if branch.encode() in resp and resp.startswith(b"SIP/2.0 200"):
                    rtt = (time.perf_counter() - t0) * 1000
                    break
        except socket.timeout:
            pass
        out.append(rtt)
        time.sleep(0.05)
    s.close()
    return out


def main():
    results = []
    baseline = probe(time.time() + 1.0)
    stop, sent, answers = threading.Event(), [], []
    t = threading.Thread(target=flood, args=(stop, sent, answers))
    t.start()
    time.sleep(0.5)  # the flood is under way
    rtts = probe(time.time() + SECONDS - 1.0)
    stop.set()
    t.join(SECONDS + 5)
    rtts.sort()
    med, p90 = statistics.median(rtts), rtts[int(len(rtts) * 0.9)]
    print(f"  flood: {sent[0] if sent else 0} datagrams of 60 KB at {RATE}/s; "
          f"probe OPTIONS idle median {statistics.median(baseline):.2f} ms, "
          f"under flood median {med:.2f} ms p90 {p90:.2f} ms max {rtts[-1]:.2f} ms "
          f"({len(rtts)} probes)", file=sys.stderr)
    results.append(("intake_flood.options_latency_under_flood",
                    med < LIMIT_MS and p90 < LIMIT_MS,
                    f"median {med:.1f} ms, p90 {p90:.1f} ms (limit {LIMIT_MS} ms)"))
    refused = [a for a in answers if a.startswith(b"SIP/2.0 513")]
    results.append(("intake_flood.maximal_message_answered_513", len(refused) > 0,
                    f"answers to the flood: {set(answers)}"))
    failed = 0
    for name, ok, why in results:
        print(f"PASS {name}" if ok else f"FAIL {name}: {why}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
