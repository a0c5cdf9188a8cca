#!/usr/bin/env python3
"""An independent STIR/SHAKEN implementation for the Identity tests, on
python3-cryptography, sharing no code with the gateway:
  sign    make an RFC 8224 Identity header value (ES256 PASSporT, RFC 8225
          canonical JSON, SHAKEN claims), optionally tampered with;
  verify  check one the gateway made: fetch its x5u, check the certificate
          against the STI-CA (signature, validity, TNAuthList present), the
          ES256 signature and the claims;
  claims  print one claim of a token (JSON);
  sign4474    make RFC 4474 Identity and Identity-Info header lines (RSA
              PKCS#1 v1.5 over the digest-string of the fields given);
  verify4474  check an INVITE the gateway sent with them: rebuild its
              digest-string, fetch Identity-Info, check the certificate
              against the STI-CA, that it names the From host, the Date and
              the rsa-sha256 signature;
  serve   an HTTP server for certificates that also misbehaves on demand:
          /hang never answers, /big sends 10 MB, /redirect redirects, a
          missing file is 404."""
import argparse
import base64
import datetime
import http.server
import json
import sys
import threading
import time
import urllib.request
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                            encode_dss_signature)

TNAUTH_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.26")
# Debian 12's python3-cryptography (38) is what CI has: its naive-datetime
# properties are deprecated in later versions, not gone.
warnings.simplefilter("ignore")


def load_chain(pem):
    """Every certificate of a PEM text (38 has no load_pem_x509_certificates)."""
    marker = b"-----END CERTIFICATE-----"
    return [x509.load_pem_x509_certificate(block + marker)
            for block in pem.split(marker) if b"-----BEGIN CERTIFICATE-----" in block]


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def party(value):
    return {"tn": value} if value.isdigit() else {"uri": value}


def load_key(path):
    """certtool writes some EC keys with a 33-byte scalar, which newer
    cryptography releases refuse: openssl re-encodes them."""
    pem = open(path, "rb").read()
    try:
        return serialization.load_pem_private_key(pem, None)
    except ValueError:
        import subprocess
        pem = subprocess.run(["openssl", "pkey", "-in", path], check=True,
                             capture_output=True).stdout
        return serialization.load_pem_private_key(pem, None)


def cmd_sign(a):
    key = load_key(a.key)
    header = {"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": a.x5u}
    claims = {"attest": a.attest, "dest": {k: [v] for k, v in party(a.dest).items()},
              "iat": (a.iat or int(time.time())) + a.iat_offset, "orig": party(a.orig),
              "origid": a.origid}
    if a.compact:  # RFC 8588 SHAKEN needs the full form: a plain PASSporT
        del header["ppt"], claims["attest"], claims["origid"]
    for kv in a.set or []:
        k, v = kv.split("=", 1)
        claims[k] = json.loads(v)
    signing_input = b64u(canon(header)) + "." + b64u(canon(claims))
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if a.flip_signature:
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    token = signing_input + "." + b64u(sig)
    if a.tamper_claims:  # claims changed after signing
        claims["orig"] = party(a.tamper_claims)
        token = b64u(canon(header)) + "." + b64u(canon(claims)) + "." + b64u(sig)
    if a.compact:
        token = ".." + b64u(sig)
    print(f"{token};info=<{a.x5u}>;alg=ES256" + ("" if a.compact else ";ppt=shaken"))


def fail(why):
    print("REFUSED: " + why)
    sys.exit(1)


def cmd_verify(a):
    value = a.header.strip()
    token, _, params = value.partition(";")
    info = [p.split("=", 1)[1] for p in params.split(";") if p.startswith("info=")]
    if not info or not info[0].startswith("<") or not info[0].endswith(">"):
        fail("no info=<url>")
    url = info[0][1:-1]
    h64, c64, s64 = token.split(".")
    header, claims, sig = json.loads(unb64u(h64)), json.loads(unb64u(c64)), unb64u(s64)
    if canon(header) != unb64u(h64) or canon(claims) != unb64u(c64):
        fail("not the canonical JSON of RFC 8225")
    if header != {"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": url}:
        fail(f"header {header}")
    pem = urllib.request.urlopen(url, timeout=5).read()
    certs = load_chain(pem)
    leaf, ca = certs[0], x509.load_pem_x509_certificate(open(a.ca, "rb").read())
    ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes,
                           ec.ECDSA(leaf.signature_hash_algorithm))
    now = datetime.datetime.utcnow()
    if not leaf.not_valid_before <= now <= leaf.not_valid_after:
        fail("certificate not valid now")
    leaf.extensions.get_extension_for_oid(TNAUTH_OID)
    if len(sig) != 64:
        fail("signature is not r||s")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    leaf.public_key().verify(der, (h64 + "." + c64).encode(), ec.ECDSA(hashes.SHA256()))
    if claims.get("orig") != party(a.orig):
        fail(f"orig {claims.get('orig')}")
    if a.dest not in claims.get("dest", {}).get("tn", []) + claims.get("dest", {}).get("uri", []):
        fail(f"dest {claims.get('dest')}")
    if abs(time.time() - claims["iat"]) > 60 or not isinstance(claims["iat"], int):
        fail("iat")
    print(f"OK attest={claims.get('attest')} origid={claims.get('origid')}")


def cmd_claims(a):
    token = a.header.strip().partition(";")[0]
    claims = json.loads(unb64u(token.split(".")[1]))
    print(json.dumps(claims.get(a.get)))


def digest_string(frm, to, call_id, cseq, date, contact, body):
    """RFC 4474 section 9: addr-specs, Call-ID, CSeq, Date, Contact, body."""
    return "|".join([frm, to, call_id, cseq, date, contact]).encode() + b"|" + body


def sip_body(path):
    """A body file written with \\n line ends, as SIPp sends it: CRLF."""
    text = open(path, "rb").read().replace(b"\r\n", b"\n").strip(b"\n")
    return text.replace(b"\n", b"\r\n") + b"\r\n"


def cmd_sign4474(a):
    key = load_key(a.key)
    data = digest_string(a.sip_from, a.to, a.call_id, a.cseq, a.date, a.contact,
                         sip_body(a.body_file))
    hash_alg = hashes.SHA1() if a.alg == "rsa-sha1" else hashes.SHA256()
    sig = key.sign(data, padding.PKCS1v15(), hash_alg)
    print(f'Identity: "{base64.b64encode(sig).decode()}"')
    print(f"Identity-Info: <{a.info}>;alg={a.alg}")


def addr_spec(value):
    if "<" in value:
        return value[value.index("<") + 1:value.index(">")]
    return value.split(";")[0].strip()


def cmd_verify4474(a):
    raw = open(a.invite, "rb").read()
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode().split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    for need in ("identity", "identity-info", "date", "from", "to", "call-id", "cseq"):
        if need not in headers:
            fail(f"no {need}")
    ident = headers["identity"]
    if len(ident) != 1 or not (ident[0].startswith('"') and ident[0].endswith('"')):
        fail(f"Identity is not one RFC 4474 value: {ident}")
    body = body[:int(headers.get("content-length", ["0"])[0])]
    info = headers["identity-info"][0]
    if not info.startswith("<") or info.split(">", 1)[1].replace(" ", "") != ";alg=rsa-sha256":
        fail(f"Identity-Info {info}")
    url = info[1:info.index(">")]
    frm = addr_spec(headers["from"][0])
    contact = addr_spec(headers["contact"][0]) if "contact" in headers else ""
    data = digest_string(frm, addr_spec(headers["to"][0]), headers["call-id"][0],
                         headers["cseq"][0], headers["date"][0], contact, body)
    pem = urllib.request.urlopen(url, timeout=5).read()
    leaf = load_chain(pem)[0]
    ca = x509.load_pem_x509_certificate(open(a.ca, "rb").read())
    ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes,
                           ec.ECDSA(leaf.signature_hash_algorithm))
    now = datetime.datetime.utcnow()
    if not leaf.not_valid_before <= now <= leaf.not_valid_after:
        fail("certificate not valid now")
    host = frm.split("@")[-1].split(";")[0].split(":")[0].lower()
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if host not in [n.lower() for n in names.get_values_for_type(x509.DNSName)]:
        fail(f"certificate does not name the From host {host}")
    when = datetime.datetime.strptime(headers["date"][0], "%a, %d %b %Y %H:%M:%S GMT")
    if abs((now - when).total_seconds()) > 60:
        fail("Date not fresh")
    leaf.public_key().verify(base64.b64decode(ident[0][1:-1], validate=True), data,
                             padding.PKCS1v15(), hashes.SHA256())
    print(f"OK from={frm}")


class Handler(http.server.BaseHTTPRequestHandler):
    root = "."

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/hang":
            time.sleep(30)
            return
        if self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(10 << 20))
            self.end_headers()
            chunk = b"A" * 65536
            try:
                for _ in range(160):
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/sti-peer.crt")
            self.end_headers()
            return
        try:
            body = open(self.root + "/" + self.path.lstrip("/").replace("..", ""), "rb").read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/pem-certificate-chain")
        self.send_header("Cache-Control", "max-age=3600")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def cmd_serve(a):
    Handler.root = a.root
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    threading.Timer(a.lifetime, srv.shutdown).start()
    srv.serve_forever()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sign")
    s.add_argument("--key", required=True)
    s.add_argument("--x5u", required=True)
    s.add_argument("--orig", required=True)
    s.add_argument("--dest", required=True)
    s.add_argument("--attest", default="A")
    s.add_argument("--origid", default="4437c7eb-8f7a-4f0e-a863-f53a0e60251a")
    s.add_argument("--iat-offset", type=int, default=0)
    s.add_argument("--iat", type=int, default=0)
    s.add_argument("--set", action="append")
    s.add_argument("--flip-signature", action="store_true")
    s.add_argument("--tamper-claims")
    s.add_argument("--compact", action="store_true")
    v = sub.add_parser("verify")
    v.add_argument("--header", required=True)
    v.add_argument("--ca", required=True)
    v.add_argument("--orig", required=True)
    v.add_argument("--dest", required=True)
    c = sub.add_parser("claims")
    c.add_argument("--header", required=True)
    c.add_argument("--get", required=True)
    s4 = sub.add_parser("sign4474")
    s4.add_argument("--key", required=True)
    s4.add_argument("--info", required=True)
    s4.add_argument("--alg", default="rsa-sha256", choices=["rsa-sha256", "rsa-sha1"])
    s4.add_argument("--from", dest="sip_from", required=True)
    s4.add_argument("--to", required=True)
    s4.add_argument("--call-id", required=True)
    s4.add_argument("--cseq", default="1 INVITE")
    s4.add_argument("--date", required=True)
    s4.add_argument("--contact", default="")
    s4.add_argument("--body-file", required=True)
    v4 = sub.add_parser("verify4474")
    v4.add_argument("--invite", required=True)
    v4.add_argument("--ca", required=True)
    w = sub.add_parser("serve")
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--root", required=True)
    w.add_argument("--lifetime", type=float, default=120)
    a = p.parse_args()
    {"sign": cmd_sign, "verify": cmd_verify, "claims": cmd_claims, "serve": cmd_serve,
     "sign4474": cmd_sign4474, "verify4474": cmd_verify4474}[a.cmd](a)


if __name__ == "__main__":
    main()
