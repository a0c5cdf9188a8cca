#!/usr/bin/env python3
"""CPU per message against the number of header lines, up to and beyond
limits.max_headers (on demand; not part of the test suite).

Starts the gateway (pinned to CPU 0, the driver to CPU 1 when there are two)
on 127.0.0.1:5260 with the guard exempting 127.0.0.0/8, sends OPTIONS with H
short header lines in lockstep (each answered before the next: 200 below the
cap, 513 above) and reads the gateway's CPU time from /proc/PID/task/*/schedstat
(nanoseconds). Run twice: with the default cap (256), and with the cap at its
ceiling (4096) to show the cost the cap removes. Run it in a private network
namespace so it shares no port:

    unshare -rn sh -c 'ip link set lo up; bench/intake_cost.py --bin build/gateway/portcullis'
"""
import argparse
import glob
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

PORT = 5260


def cpu_ns(pid):
    return sum(int(open(f).read().split()[0]) for f in glob.glob(f"/proc/{pid}/task/*/schedstat"))


def message(headers, port):
    branch = "z9hG4bK" + uuid.uuid4().hex[:12]
    head = (f"OPTIONS sip:127.0.0.1:{PORT} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport\r\n"
            "From: <sip:bench@127.0.0.1>;tag=b\r\nTo: <sip:127.0.0.1>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\n")
    # 5 header lines above, Content-Length below: `headers` in all.
    body = "".join(f"X{i % 10}:y\r\n" for i in range(max(0, headers - 6)))
    return (head + body + "Content-Length: 0\r\n\r\n").encode()


def run(binary, max_headers, points, count):
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write(f'''domain = "localhost";
listeners = ( {{ name = "u"; leg = "inside"; transport = "udp"; address = "127.0.0.1"; port = {PORT}; }} );
limits = {{ max_headers = {max_headers}; }};
abuse = {{ exempt = [ "127.0.0.0/8" ]; }};
''')
    conf.close()
    pin = ["taskset", "-c", "0"] if os.cpu_count() and os.cpu_count() > 1 else []
    log = open(conf.name + ".log", "w")
    gw = subprocess.Popen(pin + [binary, "--config", conf.name, "--log-level", "warning"],
                          stdout=log, stderr=log)
    if pin:
        os.sched_setaffinity(0, {1})
    time.sleep(0.5)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    port = s.getsockname()[1]
    rows = []
    try:
        for h in points:
            n = max(20, count // max(1, h // 64)) if h > 1024 else count
            msgs = [message(h, port) for _ in range(n)]
            before = cpu_ns(gw.pid)
            status = None
            for m in msgs:
                s.sendto(m, ("127.0.0.1", PORT))
                status = s.recv(65535).split(b" ", 2)[1].decode()
            used = (cpu_ns(gw.pid) - before) / n / 1000.0
            rows.append((h, len(msgs[0]), status, used))
    finally:
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(5)
        except subprocess.TimeoutExpired:
            gw.kill()
        os.unlink(conf.name)
        os.unlink(conf.name + ".log")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build-bench/gateway/portcullis")
    ap.add_argument("--count", type=int, default=400, help="messages per point")
    a = ap.parse_args()
    points = [16, 32, 64, 128, 256, 257, 512, 1024, 2048, 4096, 8000]
    for cap in (256, 4096):
        print(f"max_headers = {cap}")
        print(f"{'header lines':>12} {'bytes':>7} {'answer':>6} {'CPU us/msg':>10} {'us/line':>8}")
        for h, size, status, us in run(a.bin, cap, points, a.count):
            print(f"{h:>12} {size:>7} {status:>6} {us:>10.1f} {us / h:>8.2f}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
