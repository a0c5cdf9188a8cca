#!/usr/bin/env python3
"""Test web server for http_fetch.sh: the documents a certificate fetcher
meets, good and bad. Serves plain HTTP on PORT and HTTPS (the development
CA's gateway certificate) on PORT+1, both on 127.0.0.1.
  /cert.pem   200, Cache-Control max-age=3600, the file given
  /missing    404
  /big        10 MB with Content-Length
  /stream     10 MB without Content-Length (chunked)
  /hang       accepts the request and never answers
  /redirect   302 to /cert.pem (must not be followed)
usage: http_server.py PORT CERT_FILE TLS_CERT TLS_KEY"""
import http.server
import ssl
import sys
import threading
import time

BIG = 10 * 1024 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def route(self):
        if self.path == "/cert.pem":
            self.send_body(200, CERT, [("Content-Type", "application/x-pem-file"),
                                       ("Cache-Control", "public, max-age=3600")])
        elif self.path == "/big":
            self.send_body(200, b"x" * BIG)
        elif self.path == "/stream":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"y" * 65536
            for _ in range(BIG // len(chunk)):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/hang":
            time.sleep(60)
        elif self.path == "/redirect":
            self.send_body(302, b"", [("Location", "/cert.pem")])
        else:
            self.send_body(404, b"not here\n")


def serve(port, tls):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    port = int(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        CERT = f.read()
    threading.Thread(target=serve, args=(port + 1, True), daemon=True).start()
    serve(port, False)
