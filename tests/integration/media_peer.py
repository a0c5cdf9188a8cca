#!/usr/bin/env python3
"""Raw media peers for the media security tests (issue 8): an attacker that
sprays a relay port range, a phone that sends RTP and RTCP on its own, a
capture socket standing where a trunk receives media, and an offline check
that every captured packet authenticates as SRTP/SRTCP under a given
AES_CM_128_HMAC_SHA1_80 key (RFC 3711: key derivation and HMAC-SHA1-80 tags
of RTP and RTCP; a packet protected under any other key, or not at all,
fails). Every loop is bounded in time and count.

  media_peer.py spray --ports LO-HI --seconds S      -> "attacker sent=N received=M"
  media_peer.py send --bind PORT --to PORT --seconds S   (RTP from PORT, RTCP from PORT+1)
  media_peer.py capture --bind PORT --seconds S --out FILE   (PORT and PORT+1)
  media_peer.py verify --key BASE64 --in FILE [--min-rtp N] [--min-rtcp N]
"""
import argparse
import base64
import hashlib
import hmac
import select
import socket
import struct
import sys
import time

HOST = "127.0.0.1"


def rtp(seq, ssrc, payload=b""):
    return struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, ssrc) + payload


def rtcp_rr(ssrc):
    # An empty receiver report: V=2, PT=201, length 1 (8 bytes).
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


def spray(a):
    lo, hi = (int(x) for x in a.ports.split("-"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.setblocking(False)
    sent = received = 0
    sources = set()
    end = time.monotonic() + a.seconds
    seq = 1
    # One 12-byte RTP header to every port per round (the attack of the
    # issue), rounds 0.25 s apart, listening all the time.
    while time.monotonic() < end:
        for port in range(lo, hi + 1):
            try:
                s.sendto(rtp(seq, 0xBAD0BAD0), (HOST, port))
                sent += 1
            except OSError:
                pass
        seq += 1
        round_end = time.monotonic() + 0.25
        while True:
            left = round_end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if r:
                try:
                    _, src = s.recvfrom(4096)
                    received += 1
                    sources.add(src[1])
                except OSError:
                    pass
    print(f"attacker sent={sent} received={received} from={sorted(sources)[:10]}")


def send(a):
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind((HOST, a.bind))
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.bind((HOST, a.bind + 1))
    n = 0
    end = time.monotonic() + a.seconds
    while time.monotonic() < end and n < 2000:
        r.sendto(rtp(1000 + n, 0x5EED0001, b"EARLY-PHONE-AUDIO" + bytes(143)), (HOST, a.to))
        if n % 10 == 0:
            c.sendto(rtcp_rr(0x5EED0001), (HOST, a.to + 1))
        n += 1
        time.sleep(0.02)
    print(f"phone sent rtp={n}")


def capture(a):
    socks = []
    for port in (a.bind, a.bind + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, port))
        socks.append((s, port))
    end = time.monotonic() + a.seconds
    n = 0
    with open(a.out, "w") as f:
        while time.monotonic() < end and n < 5000:
            r, _, _ = select.select([s for s, _ in socks], [], [], max(0, end - time.monotonic()))
            for s, port in socks:
                if s in r:
                    data, _ = s.recvfrom(4096)
                    f.write(f"{port} {data.hex()}\n")
                    f.flush()
                    n += 1
    print(f"captured {n}")


def kdf(master_key, master_salt, label, n):
    """RFC 3711 §4.3.1 with kdr 0: AES-CM keystream under the master key
    from IV = (salt XOR label << 48) || 0x0000."""
    # Imported here: the senders must start fast, and need no AES.
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    x = bytearray(master_salt)
    x[7] ^= label
    enc = Cipher(algorithms.AES(master_key), modes.ECB()).encryptor()
    out = b""
    ctr = 0
    while len(out) < n:
        out += enc.update(bytes(x) + struct.pack("!H", ctr))
        ctr += 1
    return out[:n]


def verify(a):
    ks = base64.b64decode(a.key)
    mk, salt = ks[:16], ks[16:30]
    rtp_auth = kdf(mk, salt, 1, 20)
    rtcp_auth = kdf(mk, salt, 4, 20)
    ok_rtp = ok_rtcp = bad = 0
    with open(a.inp) as f:
        for line in f:
            port, hexdata = line.split()
            p = bytes.fromhex(hexdata)
            is_rtcp = int(port) % 2 == 1
            if len(p) < (8 + 4 + 10 if is_rtcp else 12 + 10):
                bad += 1
                continue
            body, tag = p[:-10], p[-10:]
            if is_rtcp:
                want = hmac.new(rtcp_auth, body, hashlib.sha1).digest()[:10]
                good = hmac.compare_digest(want, tag) and body[-4] & 0x80
            else:
                # ROC 0: a test call never wraps the sequence number.
                want = hmac.new(rtp_auth, body + bytes(4), hashlib.sha1).digest()[:10]
                good = hmac.compare_digest(want, tag)
            if not good:
                bad += 1
            elif is_rtcp:
                ok_rtcp += 1
            else:
                ok_rtp += 1
    print(f"srtp={ok_rtp} srtcp={ok_rtcp} failed_auth={bad}")
    sys.exit(0 if bad == 0 and ok_rtp >= a.min_rtp and ok_rtcp >= a.min_rtcp else 1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("spray")
    s.add_argument("--ports", required=True)
    s.add_argument("--seconds", type=float, required=True)
    s = sub.add_parser("send")
    s.add_argument("--bind", type=int, required=True)
    s.add_argument("--to", type=int, required=True)
    s.add_argument("--seconds", type=float, required=True)
    s = sub.add_parser("capture")
    s.add_argument("--bind", type=int, required=True)
    s.add_argument("--seconds", type=float, required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("verify")
    s.add_argument("--key", required=True)
    s.add_argument("--in", dest="inp", required=True)
    s.add_argument("--min-rtp", type=int, default=1)
    s.add_argument("--min-rtcp", type=int, default=1)
    a = p.parse_args()
    {"spray": spray, "send": send, "capture": capture, "verify": verify}[a.cmd](a)


if __name__ == "__main__":
    main()
