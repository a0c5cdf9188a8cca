#!/usr/bin/env python3
"""A phone over one TCP connection (cluster_flow.sh): connects from
127.0.0.1:LOCAL_PORT to the gateway, registers carol (open registrar,
120 s), then answers the first INVITE that arrives on that connection
with plain RTP, takes the ACK and the BYE. Prints each request line it
received and the topmost Via of the INVITE; exit 0 when the call went
through. Bounded: SECONDS in all.

  tcp_phone.py GATEWAY_PORT LOCAL_PORT SECONDS
"""
import re
import socket
import sys
import time
import uuid

gw_port, local_port, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + seconds
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", local_port))
sock.connect(("127.0.0.1", gw_port))
buf = b""


def read_message():
    """One SIP message from the stream (headers and Content-Length body)."""
    global buf
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode(errors="replace")
            m = re.search(r"^(?:Content-Length|l):\s*(\d+)", head, re.I | re.M)
            total = end + 4 + (int(m.group(1)) if m else 0)
            if len(buf) >= total:
                msg, buf = buf[:total].decode(errors="replace"), buf[total:]
                if msg.strip():
                    return msg
                continue
        left = deadline - time.monotonic()
        if left <= 0:
            sys.exit("timed out")
        sock.settimeout(left)
        data = sock.recv(65535)
        if not data:
            sys.exit("the gateway closed the connection")
        buf += data


def header(msg, name):
    return [line for line in msg.split("\r\n") if line.lower().startswith(name.lower() + ":")]


def answer(req, code, extra="", body=""):
    lines = [f"SIP/2.0 {code}"] + header(req, "Via") + header(req, "From")
    to = header(req, "To")[0]
    if ";tag=" not in to and code.startswith("200") and "INVITE" in header(req, "CSeq")[0]:
        to += ";tag=carolphone"
    lines += [to] + header(req, "Call-ID") + header(req, "CSeq")
    if extra:
        lines.append(extra)
    lines.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n" + body).encode())


contact = f"<sip:carol@127.0.0.1:{local_port};transport=tcp>"
sock.sendall((f"REGISTER sip:127.0.0.1:{gw_port} SIP/2.0\r\n"
              f"Via: SIP/2.0/TCP 127.0.0.1:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
              "Max-Forwards: 70\r\nFrom: <sip:carol@localhost>;tag=reg1\r\nTo: <sip:carol@localhost>\r\n"
              f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 REGISTER\r\nContact: {contact}\r\n"
              "Expires: 120\r\nContent-Length: 0\r\n\r\n").encode())
reply = read_message()
if not reply.startswith("SIP/2.0 200"):
    sys.exit("REGISTER: " + reply.split("\r\n", 1)[0])
print("registered", flush=True)
sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 17000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
while True:
    msg = read_message()
    if msg.startswith("SIP/2.0"):
        continue
    print(msg.split("\r\n", 1)[0], flush=True)
    method = msg.split(" ", 1)[0]
    if method == "INVITE":
        print(header(msg, "Via")[0], flush=True)
        answer(msg, "200 OK", f"Contact: {contact}\r\nContent-Type: application/sdp", sdp)
    elif method == "BYE":
        answer(msg, "200 OK")
        sys.exit(0)
    elif method != "ACK":
        answer(msg, "200 OK")
