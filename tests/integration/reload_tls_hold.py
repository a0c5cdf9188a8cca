#!/usr/bin/env python3
"""A TLS connection to the outside listener (127.0.0.1:5061) held across a
reload: connects with the trunk's client certificate, creates PREFIX.ready,
waits for PREFIX.go, then sends an OPTIONS on the same connection and exits
0 only when a 200 comes back. Used by reload.sh."""
import os
import socket
import ssl
import sys
import time

certs, prefix = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
ctx.load_cert_chain(os.path.join(certs, "trunk.crt"), os.path.join(certs, "trunk.key"))
ctx.check_hostname = False
raw = socket.create_connection(("127.0.0.1", 5061), timeout=5)
tls = ctx.wrap_socket(raw)
open(prefix + ".ready", "w").close()
for _ in range(400):
    if os.path.exists(prefix + ".go"):
        break
    time.sleep(0.05)
else:
    sys.exit("never told to go")
port = tls.getsockname()[1]
msg = ("OPTIONS sip:localhost SIP/2.0\r\n"
       f"Via: SIP/2.0/TLS 127.0.0.1:{port};branch=z9hG4bKheld1\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:trunk@trunk.portcullis.test>;tag=held\r\n"
       "To: <sip:localhost>\r\nCall-ID: held@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
       "Content-Length: 0\r\n\r\n")
tls.sendall(msg.encode())
answer = tls.recv(65535).decode(errors="replace")
print(answer.splitlines()[0] if answer else "(nothing)")
sys.exit(0 if answer.startswith("SIP/2.0 200") else 1)
