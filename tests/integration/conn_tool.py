#!/usr/bin/env python3
"""Raw-socket tools for conn_limits.sh and peer_backoff.sh (issue 8, item 8).

  hold PORT COUNT SECONDS FIRST_HOST
      open COUNT idle TCP connections to 127.0.0.1:PORT that never send a
      byte, PER_SOURCE from each of 127.0.0.FIRST_HOST, FIRST_HOST+1, ...;
      print "opened N" when done, keep them SECONDS, then exit.
  options PORT [tls]
      a fresh client from 127.0.0.1 sends OPTIONS (over TLS with the trunk's
      certificate); print the status line of the answer or "none".
  silent PORT COUNT SECONDS
      open COUNT silent connections and print how many seconds each lived
      (SECONDS when still open then).
  pretend PORT COUNT SECONDS
      as silent, but each connection first sends an unsolicited response
      (a response proves nothing about its sender).
  proven PORT SECONDS
      send one OPTIONS, then stay silent: print "open" when the connection
      is still open after SECONDS, else "closed".
  count_accepts PORT SECONDS
      listen on 127.0.0.1:PORT, accept and close at once; print the number
      of connections accepted, when SECONDS have passed or on SIGTERM.
  invites COUNT RATE
      COUNT INVITEs (UDP, one per Call-ID) to 127.0.0.1:5060 at RATE per
      second; print "final STATUS retry-after=VALUE" for each final answer.
Every loop is bounded in count and time.
"""
import os
import select
import signal
import socket
import ssl
import sys
import time

PER_SOURCE = 8
CERTS = os.environ.get("CERTS", "certs/dev")


def options(transport, n=0):
    return (f"OPTIONS sip:localhost SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} 127.0.0.1:5999;branch=z9hG4bKct{os.getpid()}x{n}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:t@localhost>;tag=1\r\nTo: <sip:localhost>\r\n"
            f"Call-ID: ct{os.getpid()}x{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


def connect_from(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    return s


def read_status(s, seconds):
    buf, end = b"", time.time() + seconds
    while time.time() < end and b"\r\n" not in buf:
        s.settimeout(max(0.01, end - time.time()))
        try:
            chunk = s.recv(4096)
        except (socket.timeout, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\r\n")[0].decode(errors="replace") if buf else "none"


def closed(s):
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return False
        return s.recv(1) == b""
    except OSError:
        return True


def hold(port, count, seconds, first):
    conns = []
    for i in range(count):
        host = f"127.0.0.{first + i // PER_SOURCE}"
        try:
            conns.append(connect_from(host, port))
        except OSError:
            pass
    print(f"opened {len(conns)}", flush=True)
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(0.2)


def fresh_options(port, tls):
    try:
        s = connect_from("127.0.0.1", port)
        if tls:
            ctx = ssl.create_default_context(cafile=f"{CERTS}/ca.crt")
            ctx.check_hostname = False
            ctx.load_cert_chain(f"{CERTS}/trunk.crt", f"{CERTS}/trunk.key")
            s = ctx.wrap_socket(s, server_hostname="localhost")
        s.sendall(options("TLS" if tls else "TCP"))
        print(read_status(s, 3))
    except OSError as e:
        print(f"none ({e})")


STRAY_200 = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKstray\r\n"
             b"From: <sip:t@localhost>;tag=1\r\nTo: <sip:localhost>;tag=2\r\n"
             b"Call-ID: stray@ct\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


def silent(port, count, seconds, first=b""):
    conns = [connect_from(f"127.0.0.{30 + i // PER_SOURCE}", port) for i in range(count)]
    for s in conns:
        if first:
            s.sendall(first)
    start, lived = time.time(), [None] * count
    while time.time() - start < seconds and None in lived:
        for i, s in enumerate(conns):
            if lived[i] is None and closed(s):
                lived[i] = time.time() - start
        time.sleep(0.05)
    print(" ".join(f"{x if x is not None else seconds:.1f}" for x in lived))


def proven(port, seconds):
    s = connect_from("127.0.0.1", port)
    s.sendall(options("TCP"))
    if not read_status(s, 3).startswith("SIP/2.0 200"):
        print("no answer")
        return
    end = time.time() + seconds
    while time.time() < end:
        if closed(s):
            print("closed")
            return
        time.sleep(0.1)
    print("open")


def count_accepts(port, seconds):
    n = 0
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    end = time.time() + seconds
    while time.time() < end and not stop:
        r, _, _ = select.select([ls], [], [], 0.1)
        if r:
            c, _ = ls.accept()
            n += 1
            c.close()
    print(n, flush=True)


def invites(count, rate):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio 16000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    finals = {}
    sent = 0
    next_send = time.time()
    end = time.time() + count / rate + 3
    while time.time() < end and len(finals) < count:
        if sent < count and time.time() >= next_send:
            cid = f"bk{os.getpid()}x{sent}"
            msg = (f"INVITE sip:12125550000@localhost SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{cid};rport\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:12125551234@localhost>;tag=t{cid}\r\n"
                   f"To: <sip:12125550000@localhost>\r\nCall-ID: {cid}\r\nCSeq: 1 INVITE\r\n"
                   f"Contact: <sip:phone@127.0.0.1:{port}>\r\nContent-Type: application/sdp\r\n"
                   f"Content-Length: {len(sdp)}\r\n\r\n{sdp}")
            s.sendto(msg.encode(), ("127.0.0.1", 5060))
            sent += 1
            next_send += 1.0 / rate
        r, _, _ = select.select([s], [], [], 0.02)
        if not r:
            continue
        data = s.recv(65535).decode(errors="replace")
        lines = data.split("\r\n")
        status = lines[0].split(" ")[1] if lines[0].startswith("SIP/2.0 ") else ""
        cid = next((l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("call-id:")), "")
        if not status or int(status) < 200 or cid in finals:
            continue
        ra = next((l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("retry-after:")), "none")
        finals[cid] = (status, ra)
        # ACK the final answer so it is not retransmitted.
        via = next(l for l in lines if l.lower().startswith("via:"))
        to = next(l for l in lines if l.lower().startswith("to:"))
        frm = next(l for l in lines if l.lower().startswith("from:"))
        ack = (f"ACK sip:12125550000@localhost SIP/2.0\r\n{via}\r\nMax-Forwards: 70\r\n{frm}\r\n"
               f"{to}\r\nCall-ID: {cid}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
        s.sendto(ack.encode(), ("127.0.0.1", 5060))
    for cid, (status, ra) in finals.items():
        print(f"final {status} retry-after={ra}")
    print(f"sent {sent} answered {len(finals)}")


cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "hold":
    hold(int(args[0]), int(args[1]), float(args[2]), int(args[3]))
elif cmd == "options":
    fresh_options(int(args[0]), len(args) > 1 and args[1] == "tls")
elif cmd == "silent":
    silent(int(args[0]), int(args[1]), float(args[2]))
elif cmd == "pretend":
    silent(int(args[0]), int(args[1]), float(args[2]), STRAY_200)
elif cmd == "proven":
    proven(int(args[0]), float(args[1]))
elif cmd == "count_accepts":
    count_accepts(int(args[0]), float(args[1]))
elif cmd == "invites":
    invites(int(args[0]), float(args[1]))
else:
    sys.exit(f"unknown command {cmd}")
