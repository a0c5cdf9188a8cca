#!/usr/bin/env python3
"""Registers COUNT users (u0, u1, ...) at a node's open registrar, one
REGISTER after the other from one UDP socket, each answered before the next
(run by cluster_catchup_paced.sh). Exit 1 unless every one got 200.

  register_many.py PORT COUNT EXPIRES
"""
import socket
import sys
import uuid

port, count, expires = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
gw = ("127.0.0.1", port)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
sock.settimeout(3)
me = sock.getsockname()[1]
for i in range(count):
    user = f"u{i}"
    branch = uuid.uuid4().hex[:12]
    head = [f"REGISTER sip:localhost SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{branch};rport",
            "Max-Forwards: 70", f"From: <sip:{user}@localhost>;tag=m{i}", f"To: <sip:{user}@localhost>",
            f"Call-ID: {uuid.uuid4().hex}", "CSeq: 1 REGISTER", f"Contact: <sip:{user}@127.0.0.1:{me}>",
            f"Expires: {expires}"]
    sock.sendto(("\r\n".join(head) + "\r\nContent-Length: 0\r\n\r\n").encode(), gw)
    while True:
        text = sock.recv(65535).decode(errors="replace")
        if branch not in text:
            continue
        code = int(text.split(" ", 2)[1])
        if code >= 200:
            break
    if code != 200:
        print(f"REGISTER of {user} answered {code}", file=sys.stderr)
        sys.exit(1)
