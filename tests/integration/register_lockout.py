#!/usr/bin/env python3
"""One digest REGISTER attempt from a chosen source address (run by
register_lockout.sh): REGISTER, answer the SHA-256 challenge with PASSWORD,
print the final status of the answered request (or of the first one when it
was not challenged: a locked-out source gets 403 at once).

  register_lockout.py SOURCE_IP USER PASSWORD REALM
"""
import hashlib
import re
import socket
import sys
import uuid

src, user, password, realm = sys.argv[1:5]
gw = ("127.0.0.1", 5060)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((src, 0))
sock.settimeout(3)
port = sock.getsockname()[1]
call_id = uuid.uuid4().hex
ruri = "sip:127.0.0.1:5060"


def send(cseq, authorization=None):
    head = [f"REGISTER {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {src}:{port};branch=z9hG4bK{uuid.uuid4().hex[:10]};rport",
            "Max-Forwards: 70", f"From: <sip:{user}@{realm}>;tag=lk{port}", f"To: <sip:{user}@{realm}>",
            f"Call-ID: {call_id}", f"CSeq: {cseq} REGISTER", f"Contact: <sip:{user}@{src}:{port}>",
            "Expires: 60"] + ([f"Authorization: {authorization}"] if authorization else [])
    sock.sendto(("\r\n".join(head) + "\r\nContent-Length: 0\r\n\r\n").encode(), gw)
    while True:
        text = sock.recv(65535).decode(errors="replace")
        code = int(text.split(" ", 2)[1])
        if code >= 200:
            return code, text


code, text = send(1)
m = re.search(r'WWW-Authenticate: Digest [^\r\n]*nonce="([^"]+)"[^\r\n]*algorithm=SHA-256', text) or \
    re.search(r'WWW-Authenticate: Digest [^\r\n]*algorithm=SHA-256[^\r\n]*nonce="([^"]+)"', text)
if code != 401 or not m:
    print(code)
    sys.exit(0)
nonce = m.group(1)
sha = lambda s: hashlib.sha256(s.encode()).hexdigest()
response = sha(f"{sha(f'{user}:{realm}:{password}')}:{nonce}:00000001:c0ffee:auth:{sha(f'REGISTER:{ruri}')}")
code, _ = send(2, f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{ruri}", '
                  f'algorithm=SHA-256, response="{response}", qop=auth, nc=00000001, cnonce="c0ffee"')
print(code)
