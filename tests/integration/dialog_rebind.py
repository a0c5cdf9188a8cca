#!/usr/bin/env python3
"""An outsider on the phone's leg but another transport (run by
dialog_rebind.sh): with the Call-ID and tags of the gateway's dialog toward
the UDP phone (read from the phone's INVITE and 200), it sends a PRACK in
that dialog over a new TCP connection to the inside listener, which the
gateway answers itself (481), then listens 4 s. Prints "BYE" when the
gateway's BYE for the phone came to this connection (the leg was re-bound),
"nothing" otherwise.

  dialog_rebind.py CALL_ID GATEWAY_TAG PHONE_TAG
"""
import socket
import sys
import time

call_id, gw_tag, phone_tag = sys.argv[1:4]
s = socket.create_connection(("127.0.0.1", 5060), timeout=1)
lport = s.getsockname()[1]
s.sendall((f"PRACK sip:gw@127.0.0.1:5060;transport=tcp SIP/2.0\r\n"
           f"Via: SIP/2.0/TCP 127.0.0.1:{lport};branch=z9hG4bKrebind{lport}\r\nMax-Forwards: 70\r\n"
           f"From: <sip:phone@127.0.0.1:5090>;tag={phone_tag}\r\nTo: <sip:gw@127.0.0.1>;tag={gw_tag}\r\n"
           f"Call-ID: {call_id}\r\nCSeq: 9 PRACK\r\nRAck: 1 1 INVITE\r\nContent-Length: 0\r\n\r\n").encode())
buf, end = b"", time.time() + 4
while time.time() < end:
    try:
        chunk = s.recv(65535)
    except socket.timeout:
        continue
    if not chunk:
        break
    buf += chunk
print("answered", buf.split(b"\r\n", 1)[0].decode(errors="replace"), file=sys.stderr)
print("BYE" if b"\r\nBYE " in b"\r\n" + buf or buf.startswith(b"BYE ") else "nothing")
