#!/usr/bin/env python3
"""A call in which someone else speaks for the caller's leg (run by
dialog_identity.sh). Alice calls over mutual TLS with her certificate; once
the call is up, a second TLS client with another certificate of the same CA
(certs/dev/impostor) sends a BYE carrying alice's Call-ID and tags on a new
connection. It must get 403, the call must stay up, and alice's own BYE
must end it. Prints PASS/FAIL per check; exit 1 if any failed.

  dialog_identity.py CERTS
"""
import socket
import ssl
import sys
import uuid

CERTS = sys.argv[1]
failed = 0


def connect(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(f"{CERTS}/ca.crt")
    ctx.load_cert_chain(f"{CERTS}/{cert}.crt", f"{CERTS}/{cert}.key")
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", 5062), timeout=5),
                           server_hostname="localhost")


def final(s):
    """The next final response on s (provisional ones skipped)."""
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65535)
            if not chunk:
                return "closed", ""
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        text = head.decode(errors="replace")
        clen = 0
        for line in text.split("\r\n"):
            if line.lower().startswith("content-length:"):
                clen = int(line.split(":", 1)[1])
        while len(rest) < clen:
            rest += s.recv(65535)
        buf = rest[clen:]
        status = text.split(" ", 2)[1]
        if not status.startswith("1"):
            return status, text


def check(name, ok, why=""):
    global failed
    print(("PASS dialog_identity.%s" if ok else "FAIL dialog_identity.%s: " + why) % name)
    failed += 0 if ok else 1


def request(s, method, cseq, to_tag=None, body=""):
    lport = s.getsockname()[1]
    branch = "z9hG4bK" + uuid.uuid4().hex[:12]
    to = "<sip:12125550010@localhost>" + (f";tag={to_tag}" if to_tag else "")
    extra = "Content-Type: application/sdp\r\n" if body else ""
    s.sendall((f"{method} sip:12125550010@localhost SIP/2.0\r\n"
               f"Via: SIP/2.0/TLS 127.0.0.1:{lport};branch={branch}\r\nMax-Forwards: 70\r\n"
               f"From: <sip:alice@localhost>;tag=alice1\r\nTo: {to}\r\nCall-ID: {call_id}\r\n"
               f"CSeq: {cseq} {method}\r\nContact: <sip:alice@127.0.0.1:{lport};transport=tls>\r\n"
               f"{extra}Content-Length: {len(body)}\r\n\r\n{body}").encode())


call_id = uuid.uuid4().hex
sdp = ("v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 16000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
       "a=rtpmap:101 telephone-event/8000\r\n")
alice = connect("alice")
request(alice, "INVITE", 1, body=sdp)
status, ok = final(alice)
if status != "200":
    check("call_up", False, "INVITE got " + status)
    sys.exit(1)
to_tag = [l for l in ok.split("\r\n") if l.lower().startswith("to:")][0].split("tag=")[1].split(";")[0]
request(alice, "ACK", 1, to_tag)

impostor = connect("impostor")
request(impostor, "BYE", 2, to_tag)
status, _ = final(impostor)
check("foreign_bye_refused", status == "403", "the impostor's BYE got " + status)
impostor.close()

request(alice, "BYE", 3, to_tag)
status, _ = final(alice)
check("own_bye_accepted", status == "200", "alice's BYE got " + status)
alice.close()
sys.exit(1 if failed else 0)
