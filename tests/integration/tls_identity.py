#!/usr/bin/env python3
"""TLS peers for tls_identity.sh.

  tls_identity.py client PORT CA CRT KEY COUNT
      connects to the gateway at 127.0.0.1:PORT presenting CRT/KEY, sends
      COUNT OPTIONS one after another and prints the status code of each
      answer, or "refused" when the handshake or the connection failed.
  tls_identity.py server PORT CA CRT KEY SECONDS
      a TLS server at 127.0.0.1:PORT presenting CRT/KEY for SECONDS: takes
      the gateway's connections and answers nothing (the gateway's log says
      whether it accepted the certificate).
"""
import socket
import ssl
import sys
import time
import uuid

mode, port, ca, crt, key, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])


def options(lport):
    branch = "z9hG4bK" + uuid.uuid4().hex[:12]
    return (f"OPTIONS sip:localhost SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:{lport};branch={branch}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:probe@localhost>;tag={branch[-6:]}\r\n"
            f"To: <sip:localhost>\r\nCall-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def client():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(crt, key)
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=3),
                            server_hostname="localhost")
        lport = s.getsockname()[1]
        for _ in range(n):
            s.sendall(options(lport))
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65535)
                if not chunk:
                    raise OSError("closed")
                buf += chunk
            print(buf.split(b" ", 2)[1].decode())
        s.close()
    except (OSError, ssl.SSLError) as e:
        print("refused", e, file=sys.stderr)
        print("refused")


def server():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    end = time.time() + n
    while time.time() < end:
        ls.settimeout(max(0.05, end - time.time()))
        try:
            c, _ = ls.accept()
        except socket.timeout:
            break
        c.settimeout(2)
        try:
            s = ctx.wrap_socket(c, server_side=True)
            s.recv(65535)
            s.close()
        except (OSError, ssl.SSLError):
            c.close()


client() if mode == "client" else server()
