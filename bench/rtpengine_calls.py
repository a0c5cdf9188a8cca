#!/usr/bin/env python3
"""Sets up N calls on rtpengine through its ng control protocol (bencode over
UDP), each bridging plain RTP/AVP on the inside to SDES RTP/SAVP on the
outside, and writes the same call table media_relay writes, for media_load:
  inside_port outside_port suite key_trunk_protects_with key_rtpengine_protects_with
The inside phone (offerer) and the trunk (answerer) both announce the load
generator's sockets. Bounded: one request in flight, 2 s timeout each, at
most 20,000 calls."""
import argparse
import base64
import os
import re
import socket
import sys


def benc(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(benc(v) for v in x) + b"e"
    if isinstance(x, dict):
        return b"d" + b"".join(benc(k) + benc(v) for k, v in sorted(x.items())) + b"e"
    raise TypeError(type(x))


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        i += 1
        out = [] if c == b"l" else {}
        while b[i:i + 1] != b"e":
            if c == b"l":
                v, i = bdec(b, i)
                out.append(v)
            else:
                k, i = bdec(b, i)
                v, i = bdec(b, i)
                out[k.decode()] = v
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


class Ng:
    def __init__(self, addr):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(2.0)
        self.addr = addr
        self.n = 0

    def cmd(self, d):
        self.n += 1
        cookie = b"%d_%d" % (os.getpid(), self.n)
        self.s.sendto(cookie + b" " + benc(d), self.addr)
        while True:
            data, _ = self.s.recvfrom(65536)
            if data.startswith(cookie + b" "):
                r, _ = bdec(data, len(cookie) + 1)
                if r.get("result") not in (b"ok", b"pong"):
                    raise RuntimeError("rtpengine: %r" % r)
                return r


def sdp(port, proto, extra=""):
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d %s 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n%s" % (port, proto, extra))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, required=True)
    ap.add_argument("--suite", default="AES_CM_128_HMAC_SHA1_80")
    ap.add_argument("--gen-plain", type=int, required=True)
    ap.add_argument("--gen-srtp", type=int, required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--ng", default="127.0.0.1:22222")
    a = ap.parse_args()
    if not 0 < a.calls <= 20000:
        sys.exit("bad --calls")
    host, port = a.ng.rsplit(":", 1)
    ng = Ng((host, int(port)))
    ng.cmd({"command": "ping"})
    keylen = {"AES_CM_128_HMAC_SHA1_80": 30, "AEAD_AES_128_GCM": 28}[a.suite]
    with open(a.table, "w") as f:
        for i in range(a.calls):
            cid, ft, tt = "bench-%d" % i, "in-%d" % i, "out-%d" % i
            r = ng.cmd({"command": "offer", "call-id": cid, "from-tag": ft,
                        "sdp": sdp(a.gen_plain, "RTP/AVP"),
                        "transport-protocol": "RTP/SAVP", "ICE": "remove",
                        "replace": ["origin", "session-connection"]})
            offer = r["sdp"].decode()
            out_port = int(re.search(r"m=audio (\d+) RTP/SAVP", offer).group(1))
            m = re.search(r"a=crypto:(\d+) %s inline:([A-Za-z0-9+/=]+)" % a.suite, offer)
            if not m:
                sys.exit("rtpengine offered no %s:\n%s" % (a.suite, offer))
            tag, their_key = m.group(1), base64.b64decode(m.group(2) + "=" * (-len(m.group(2)) % 4))[:keylen]
            our_key = os.urandom(keylen)
            r = ng.cmd({"command": "answer", "call-id": cid, "from-tag": ft, "to-tag": tt,
                        "sdp": sdp(a.gen_srtp, "RTP/SAVP", "a=crypto:%s %s inline:%s\r\n" % (
                            tag, a.suite, base64.b64encode(our_key).decode())),
                        "ICE": "remove", "replace": ["origin", "session-connection"]})
            in_port = int(re.search(r"m=audio (\d+) RTP/AVP", r["sdp"].decode()).group(1))
            f.write("%d %d %s %s %s\n" % (in_port, out_port, a.suite, our_key.hex(), their_key.hex()))
            if i == 0:
                sys.stderr.write("first offer SDP:\n%s\nfirst answer SDP:\n%s\n" % (offer, r["sdp"].decode()))
    print("ready streams=%d" % a.calls)


if __name__ == "__main__":
    main()
