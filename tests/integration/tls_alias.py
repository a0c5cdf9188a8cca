#!/usr/bin/env python3
"""RFC 5923 over TLS (run by tls_alias.sh): a trunk that connects with its
certificate and sends ;alias for its own name gets the gateway's requests on
that connection; a client whose certificate names someone else does not."""
import socket
import ssl
import sys
import time
import uuid

CERTS = sys.argv[1]


def connect(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(f"{CERTS}/ca.crt")
    ctx.load_cert_chain(f"{CERTS}/{cert}.crt", f"{CERTS}/{cert}.key")
    raw = socket.create_connection(("127.0.0.1", 5061), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def options_with_alias(sent_by):
    branch = "z9hG4bK" + uuid.uuid4().hex[:12]
    return (f"OPTIONS sip:localhost SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS {sent_by};branch={branch};alias\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:trunk@{sent_by}>;tag=a1\r\nTo: <sip:localhost>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


def read_for(s, seconds):
    buf, end = b"", time.time() + seconds
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            chunk = s.recv(65535)
        except (socket.timeout, ssl.SSLWantReadError):
            break
        if not chunk:
            break
        buf += chunk
    return buf


def answer_options(s, buf):
    """Answer the gateway's OPTIONS so its peer state turns up."""
    req = buf[buf.index(b"OPTIONS sips:"):].split(b"\r\n\r\n", 1)[0].decode()
    keep = [l for l in req.split("\r\n")[1:] if l.split(":")[0] in ("Via", "From", "To", "Call-ID", "CSeq")]
    keep = [l + ";tag=t9" if l.startswith("To:") else l for l in keep]
    s.sendall(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode())


failed = 0

# Impostor first: a valid certificate (the phone's) claiming the trunk's name.
s = connect("phone")
s.sendall(options_with_alias("trunk.portcullis.test:5098"))
got = read_for(s, 3)
if not got.startswith(b"SIP/2.0 200 OK") or b"OPTIONS sip:" in got:
    print("FAIL tls_alias.impostor_not_aliased:", got[:120])
    failed += 1
else:
    print("PASS tls_alias.impostor_not_aliased")
s.close()

# The trunk itself.
s = connect("trunk")
s.sendall(options_with_alias("trunk.portcullis.test:5098"))
got = read_for(s, 4)
if got.startswith(b"SIP/2.0 200 OK") and b"OPTIONS sips:trunk.portcullis.test SIP/2.0" in got:
    answer_options(s, got)
    time.sleep(0.5)
    print("PASS tls_alias.trunk_connection_reused")
else:
    print("FAIL tls_alias.trunk_connection_reused:", got[:300])
    failed += 1
s.close()
sys.exit(1 if failed else 0)
