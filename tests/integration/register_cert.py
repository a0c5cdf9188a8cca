#!/usr/bin/env python3
"""REGISTER over mutual TLS (run by register_cert.sh): on a registrar leg
with auth = "certificate" the verified client certificate must name the To
user; on a certificate-or-digest leg anything else gets a digest challenge.
Prints PASS/FAIL per check; exit 1 if any failed.

  register_cert.py CERTS
"""
import socket
import ssl
import sys
import uuid

CERTS = sys.argv[1]
failed = 0


def register(port, cert, user):
    """One REGISTER for USER to 127.0.0.1:PORT over TLS, presenting the
    certificate CERTS/CERT.{crt,key} (None: no certificate); the final status
    line and the whole answer."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(f"{CERTS}/ca.crt")
    if cert:
        ctx.load_cert_chain(f"{CERTS}/{cert}.crt", f"{CERTS}/{cert}.key")
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    lport = s.getsockname()[1]
    branch = "z9hG4bK" + uuid.uuid4().hex[:12]
    msg = (f"REGISTER sip:localhost SIP/2.0\r\n"
           f"Via: SIP/2.0/TLS 127.0.0.1:{lport};branch={branch}\r\n"
           f"Max-Forwards: 70\r\nFrom: <sip:{user}@localhost>;tag={branch[-6:]}\r\n"
           f"To: <sip:{user}@localhost>\r\nCall-ID: {uuid.uuid4().hex}\r\nCSeq: 1 REGISTER\r\n"
           f"Contact: <sip:{user}@127.0.0.1:{lport};transport=tls>\r\nExpires: 300\r\n"
           f"Content-Length: 0\r\n\r\n")
    s.sendall(msg.encode())
    buf = b""
    try:
        while b"\r\n\r\n" not in buf or buf.startswith(b"SIP/2.0 1"):
            chunk = s.recv(65535)
            if not chunk:
                break
            buf += chunk
            if buf.startswith(b"SIP/2.0 1") and b"\r\n\r\n" in buf:
                buf = buf.split(b"\r\n\r\n", 1)[1]
    except (socket.timeout, ssl.SSLError, OSError) as e:
        return "no answer (%s)" % e, ""
    finally:
        s.close()
    text = buf.decode(errors="replace")
    return text.split("\r\n", 1)[0], text


def check(name, port, cert, user, want):
    global failed
    status, text = register(port, cert, user)
    if status.startswith("SIP/2.0 %d " % want):
        print("PASS register_cert.%s" % name)
    else:
        print("FAIL register_cert.%s: expected %d, got %s" % (name, want, status))
        failed += 1
    return text


# Leg "certphones" (5062): auth = "certificate".
check("alice_cert_cannot_register_bob", 5062, "alice", "bob", 403)
check("no_cert_cannot_register_alice", 5062, None, "alice", 403)
check("no_cert_cannot_register_bob", 5062, None, "bob", 403)
check("other_cert_cannot_register_alice", 5062, "trunk", "alice", 403)
ok = check("alice_cert_registers_alice", 5062, "alice", "alice", 200)
if ok and "<sip:alice@127.0.0.1:" not in ok:
    print("FAIL register_cert.alice_contact_listed: the 200 lists no contact of alice")
    failed += 1
# Leg "mixedphones" (5063): auth = "certificate-or-digest": a certificate
# that does not name the To user, or none, gets a challenge, not a binding.
check("mixed_alice_cert_for_bob_challenged", 5063, "alice", "bob", 401)
check("mixed_no_cert_challenged", 5063, None, "alice", 401)
check("mixed_alice_cert_registers_alice", 5063, "alice", "alice", 200)
sys.exit(1 if failed else 0)
