#!/usr/bin/env python3
"""Scan a process's readable memory for a private key's secret numbers.

Usage: memscan.py KEYFILE PID
       memscan.py --ha1 USERSFILE USER PID
The secret numbers (EC private scalar; RSA private exponent and primes) are
taken from `certtool --key-info` of KEYFILE; each is searched in every
readable mapping of PID (/proc/PID/maps, /proc/PID/mem) both big-endian (as
in DER) and byte-reversed (as in GMP/nettle limbs on a little-endian host),
together with the second base64 line of the PEM body. Prints one line per hit
and "hits N"; exit 0 when the scan itself worked (reading another user's
non-dumpable process needs root).
With --ha1 the patterns are USER's HA1s from the digest user store
(md5= and sha256=), each both as the raw digest and as its hex text.
"""
import re
import subprocess
import sys

MAX_REGION = 1 << 30
SECRET_LABELS = ("private key", "private exponent", "prime1", "prime2")


def secrets(keyfile):
    out = subprocess.run(["certtool", "--key-info", "--infile", keyfile],
                         capture_output=True, text=True, check=True).stdout
    found, label, hexdigits = {}, None, []
    for line in out.splitlines() + ["end:"]:
        head = re.match(r"^([a-z][a-z0-9 ]*):", line)
        if head:
            if label in SECRET_LABELS and hexdigits:
                found[label] = bytes.fromhex("".join(hexdigits)).lstrip(b"\0")
            label, hexdigits = head.group(1), []
            continue
        if label:
            hexdigits += re.findall(r"[0-9a-f]{2}", line)
    # The PEM body's second line: the first starts with an ASN.1 prefix
    # every key of that type shares (and certtool writes text before it).
    with open(keyfile) as f:
        text = f.read()
    block = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\n(.*?)-----END", text, re.S)
    body = block.group(1).split() if block else []
    if len(body) > 1:
        found["pem text"] = body[1].encode()
    return found


def scan(pid, patterns):
    hits = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            # Sanitizer shadow memory: terabytes of reserved zero pages
            # that hold no data of the program.
            if hi - lo > MAX_REGION:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:
                continue
            for name, pat in patterns.items():
                if pat in data:
                    hits.append(f"{name} in {fields[0]} {fields[5] if len(fields) > 5 else ''}")
    return hits


def ha1s(usersfile, user):
    found = {}
    with open(usersfile) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0] != user:
                continue
            for field in fields[2:]:
                key, _, value = field.partition("=")
                if key in ("md5", "sha256"):
                    found[f"ha1 {key}"] = bytes.fromhex(value)
                    found[f"ha1 {key} (hex)"] = value.lower().encode()
    return found


def main():
    if sys.argv[1] == "--ha1":
        patterns = ha1s(sys.argv[2], sys.argv[3])
        if not patterns:
            print("no HA1 of that user in the store", file=sys.stderr)
            return 2
        hits = scan(sys.argv[4], patterns)
        for h in hits:
            print(h)
        print(f"hits {len(hits)}")
        return 0
    keyfile, pid = sys.argv[1], sys.argv[2]
    patterns = {}
    for label, value in secrets(keyfile).items():
        patterns[label] = value
        if label != "pem text":
            patterns[label + " (reversed)"] = value[::-1]
    if not any(l != "pem text" for l in secrets(keyfile)):
        print("no secret numbers found in certtool's output", file=sys.stderr)
        return 2
    hits = scan(pid, patterns)
    for h in hits:
        print(h)
    print(f"hits {len(hits)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
