#!/usr/bin/env python3
"""A phone registering with SHA-256 digest (RFC 8760), which Debian's SIPp
cannot do: REGISTER, take the SHA-256 challenge from the 401, answer it
with qop=auth, expect 200 listing our contact. Then prove replay protection:
the same Authorization sent again (same nonce and nc) must not register,
and a wrong password must not either. Prints one line per check and exits
non-zero on the first failure.

  register_sha256.py USER PASSWORD REALM LOCAL_PORT [GATEWAY_PORT]
"""
import hashlib
import re
import socket
import sys

user, password, realm, lport = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
gport = int(sys.argv[5]) if len(sys.argv) > 5 else 5060
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", lport))
sock.settimeout(3)
call_id = "sha256-%d@127.0.0.1" % lport
ruri = "sip:127.0.0.1:%d" % gport


def h(s):
    return hashlib.sha256(s.encode()).hexdigest()


def register(cseq, auth=None):
    lines = ["REGISTER %s SIP/2.0" % ruri,
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-sha-%d;rport" % (lport, cseq),
             "Max-Forwards: 70",
             "From: <sip:%s@%s>;tag=sha%d" % (user, realm, lport),
             "To: <sip:%s@%s>" % (user, realm),
             "Call-ID: " + call_id,
             "CSeq: %d REGISTER" % cseq,
             "Contact: <sip:%s@127.0.0.1:%d>" % (user, lport),
             "Expires: 300"]
    if auth:
        lines.append("Authorization: " + auth)
    lines += ["Content-Length: 0", "", ""]
    sock.sendto("\r\n".join(lines).encode(), ("127.0.0.1", gport))
    while True:
        data = sock.recv(65535).decode(errors="replace")
        status = int(data.split(" ", 2)[1])
        if status >= 200:
            return status, data


def answer(challenge_msg, pw, nc="00000001"):
    m = re.search(r'WWW-Authenticate: Digest ([^\r\n]*algorithm=SHA-256[^\r\n]*)', challenge_msg)
    if not m:
        sys.exit("FAIL: no SHA-256 challenge in the 401")
    nonce = re.search(r'nonce="([^"]+)"', m.group(1)).group(1)
    cnonce = "0a4f113b"
    ha1 = h("%s:%s:%s" % (user, realm, pw))
    ha2 = h("REGISTER:%s" % ruri)
    resp = h("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=SHA-256, '
            'response="%s", qop=auth, nc=%s, cnonce="%s"' % (user, realm, nonce, ruri, resp, nc, cnonce))


status, msg = register(1)
if status != 401:
    sys.exit("FAIL: first REGISTER got %d, not 401" % status)
if msg.find("algorithm=SHA-256") > msg.find("algorithm=MD5") >= 0:
    sys.exit("FAIL: MD5 offered before SHA-256")
print("PASS register_sha256.challenge")

auth = answer(msg, password)
status, ok = register(2, auth)
if status != 200 or ("<sip:%s@127.0.0.1:%d>" % (user, lport)) not in ok:
    sys.exit("FAIL: authenticated REGISTER got %d:\n%s" % (status, ok))
print("PASS register_sha256.registered")

# The very same credentials again (a captured REGISTER replayed, nc reused).
status, _ = register(3, auth)
if status == 200:
    sys.exit("FAIL: a replayed Authorization (same nonce and nc) registered")
print("PASS register_sha256.replay_refused")

status, msg = register(4)
status, _ = register(5, answer(msg, password + "x"))
if status == 200:
    sys.exit("FAIL: a wrong password registered")
print("PASS register_sha256.wrong_password_refused")
