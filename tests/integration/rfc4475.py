#!/usr/bin/env python3
"""RFC 4475 torture messages against a running gateway (started by
rfc4475.sh), over UDP or TCP. The byte-exact messages are read from
../shared/rfc4475 relative to the repository, never copied into it.

Each message is sent as it is; the expectation table says what an RFC 3261
endpoint should do with it (../shared/rfc4475/README.md): valid messages are
answered sensibly (a final answer, never 400 unless the RFC allows it),
invalid ones refused with an error or dropped, and every drop must show in a
drop counter. Responses go where RFC 3261 §18.2.2 sends them: over UDP to the
top Via's sent-by port, so each message leaves from a socket bound to that
port; over TCP back on the connection.

Usage: rfc4475.py udp|tcp FILE... (the files of one round: rfc4475.sh splits
the corpus so that no round repeats a server-transaction key). Environment:
GW_PID (for the SIGUSR1 counter dump), GW_LOG, GW_PORT. Prints PASS/FAIL per
message; exit 1 if any failed."""
import os
import re
import signal
import socket
import sys
import threading
import time

GW = ("127.0.0.1", int(os.environ.get("GW_PORT", "5160")))
CALLEE = ("127.0.0.1", int(os.environ.get("CALLEE_PORT", "5170")))
LOG = os.environ.get("GW_LOG", "")
PID = int(os.environ.get("GW_PID", "0"))

# Counters that record a message refused or dropped at intake.
DROP_COUNTERS = ("malformed_requests", "malformed_responses_dropped",
                 "stray_responses_dropped", "stream_framing_errors", "messages_too_large",
                 "messages_refused_too_many_headers", "messages_refused_too_many_vias",
                 "datagrams_refused_content_length", "connections_timeout_closed")

ANY_FINAL = "any"       # any final answer, or a counted drop (liberal)
OK = "ok"               # a final answer other than 400
REFUSE = "refuse"       # an error answer (>= 400) or a counted drop
DROP = "drop"           # no answer, counted

# file: (expectation, allowed codes or None). Codes narrow OK/REFUSE.
CASES = {
    "wsinv.dat": (OK, None),
    "intmeth.dat": (OK, {501}),
    "esc01.dat": (OK, None),
    "escnull.dat": (OK, None),
    "esc02.dat": (OK, {501}),
    "lwsdisp.dat": (OK, None),
    "longreq.dat": (OK, None),
    "dblreq.dat": (OK, None),
    "semiuri.dat": (OK, None),
    "transports.dat": (OK, None),
    "mpart01.dat": (OK, None),
    "unreason.dat": (DROP, None),
    "noreason.dat": (DROP, None),
    "badinv01.dat": (REFUSE, {400}),
    "clerr.dat": (REFUSE, {400}),
    "ncl.dat": (REFUSE, {400}),
    "scalar02.dat": (REFUSE, {400}),
    "scalarlg.dat": (DROP, None),
    "quotbal.dat": (REFUSE, {400}),
    "ltgtruri.dat": (REFUSE, {400, 416}),
    "lwsruri.dat": (REFUSE, {400}),
    "lwsstart.dat": (ANY_FINAL, None),
    "trws.dat": (ANY_FINAL, None),
    "escruri.dat": (ANY_FINAL, None),
    "baddate.dat": (ANY_FINAL, None),
    "regbadct.dat": (ANY_FINAL, None),
    "badaspec.dat": (ANY_FINAL, None),
    "baddn.dat": (ANY_FINAL, None),
    "badvers.dat": (REFUSE, {505, 400}),
    "mismatch01.dat": (REFUSE, {400}),
    "mismatch02.dat": (REFUSE, {501, 400}),
    "bigcode.dat": (DROP, None),
    "badbranch.dat": (ANY_FINAL, None),
    "insuf.dat": (REFUSE, {400}),
    "unkscm.dat": (REFUSE, {416}),
    "novelsc.dat": (REFUSE, {416, 404}),
    "unksm2.dat": (ANY_FINAL, None),
    "bext01.dat": (REFUSE, {420}),
    "invut.dat": (REFUSE, {415}),
    "regaut01.dat": (ANY_FINAL, None),
    "multi01.dat": (REFUSE, {400}),
    "mcl01.dat": (REFUSE, {400}),
    "bcast.dat": (DROP, None),
    "zeromf.dat": (REFUSE, {483, 200}),
    "cparam01.dat": (OK, None),
    "cparam02.dat": (OK, None),
    "regescrt.dat": (OK, None),
    "sdp01.dat": (OK, None),
    "inv2543.dat": (ANY_FINAL, None),
    "test.dat": (REFUSE, {400}),
}

# Over a stream a message without Content-Length, or one whose Content-Length
# promises more than was sent, cannot be framed: the connection is closed
# (counted) instead of the message being answered.
TCP_UNFRAMEABLE = {"inv2543.dat", "clerr.dat", "baddn.dat"}


def counters():
    """Every counter, from the dump the gateway writes on SIGUSR1."""
    with open(LOG, "rb") as f:
        before = f.read().count(b"counter open_connections")
    os.kill(PID, signal.SIGUSR1)
    for _ in range(100):
        with open(LOG, "rb") as f:
            text = f.read()
        if text.count(b"counter open_connections") > before:
            break
        time.sleep(0.02)
    out = {}
    for m in re.finditer(r"counter (\w+) = (\d+)", text.decode(errors="replace")):
        out[m.group(1)] = int(m.group(2))  # later dumps overwrite earlier ones
    return out


def dropped(before, after):
    return sum(after.get(n, 0) - before.get(n, 0) for n in DROP_COUNTERS)


def field(msg, names):
    """The first value of a header (any of `names`), folding undone."""
    head = re.sub(rb"\r\n[ \t]+", b" ", msg.split(b"\r\n\r\n", 1)[0])
    m = re.search(rb"^(?:" + names + rb")[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$", head,
                  re.IGNORECASE | re.MULTILINE)
    return m.group(1) if m else None


def call_id(msg):
    return field(msg, rb"Call-ID|i")


class Callee(threading.Thread):
    """Where the gateway routes new requests: answers each INVITE 486 and
    anything else but ACK 200, so a call attempt ends in a final answer; keeps
    the Call-IDs of the INVITEs it saw."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(CALLEE)
        self.sock.settimeout(0.2)
        self.invites = []
        self.running = True

    def run(self):
        while self.running:
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if data.startswith(b"SIP/") or data.startswith(b"ACK "):
                continue
            head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
            method = head[0].split(b" ", 1)[0]
            if method == b"INVITE":
                self.invites.append(data)
            keep = [h for h in head[1:] if re.match(rb"(?i)(via|from|to|call-id|cseq)\s*:", h)]
            keep = [h + b";tag=callee" if h.lower().startswith(b"to") else h for h in keep]
            status = b"486 Busy Here" if method == b"INVITE" else b"200 OK"
            resp = b"SIP/2.0 " + status + b"\r\n" + b"\r\n".join(keep) + b"\r\nContent-Length: 0\r\n\r\n"
            self.sock.sendto(resp, src)


def via_port(data):
    """The top Via's sent-by port (5060 when absent), for UDP responses."""
    m = re.search(rb"^(?:Via|v)\s*:[^\r\n]*?(?:UDP|TCP|TLS)\s+[^\s;:,]+:(\d+)", data,
                  re.IGNORECASE | re.MULTILINE)
    return int(m.group(1)) if m else 5060


def status_of(msg):
    m = re.match(rb"SIP/2\.0 (\d{3}) ", msg)
    return int(m.group(1)) if m else None


def cseq(msg):
    v = field(msg, rb"CSeq")
    m = re.match(rb"(\d+)\s+(\S+)", v or b"")
    return (int(m.group(1)), m.group(2)) if m else v


def ours(resp, req):
    """A response to this request: not a retransmission left from an earlier
    one, nor (over TCP) an answer to a second message the bytes carried."""
    return call_id(resp) == call_id(req) and cseq(resp) == cseq(req)


def exchange_udp(data, wait):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", via_port(data)))
    s.sendto(data, GW)
    out, end = [], time.time() + wait
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            m = s.recv(65535)
        except socket.timeout:
            break
        if ours(m, data) and m not in out:  # retransmissions are the same bytes
            out.append(m)
            if (status_of(m) or 0) >= 200:
                end = min(end, time.time() + 0.2)
    s.close()
    return out, False


def exchange_tcp(data, wait):
    c = socket.create_connection(GW, timeout=2)
    c.sendall(data)
    buf, end, closed = b"", time.time() + wait, False
    while time.time() < end:
        c.settimeout(max(0.01, end - time.time()))
        try:
            chunk = c.recv(65535)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        buf += chunk
        if re.search(rb"SIP/2\.0 [2-6]\d\d ", buf):
            end = min(end, time.time() + 0.2)
    c.close()
    msgs = []
    while b"\r\n\r\n" in buf:  # the gateway always sends Content-Length
        head, rest = buf.split(b"\r\n\r\n", 1)
        n = int(field(head + b"\r\n\r\n", rb"Content-Length|l") or b"0")
        msgs.append(head + b"\r\n\r\n" + rest[:n])
        buf = rest[n:]
    return [m for m in msgs if ours(m, data)], closed


def judge(name, transport, msgs, closed, drop_delta, invited):
    expect, codes = CASES[name]
    finals = [status_of(m) for m in msgs if status_of(m) and status_of(m) >= 200]
    provisional = [status_of(m) for m in msgs if status_of(m) and status_of(m) < 200]
    if transport == "tcp" and name in TCP_UNFRAMEABLE:
        assert not msgs, f"answered {finals + provisional} a message it cannot frame"
        assert drop_delta > 0, "unframeable message not counted"
        return
    if name == "clerr.dat":
        # RFC 3261 §18.3: never start a call on a truncated datagram.
        assert 100 not in provisional, "a 100 Trying: the truncated INVITE started a call"
        assert not invited, "the truncated INVITE was relayed to the callee"
    if expect == DROP:
        assert not msgs, f"answered {finals + provisional}, should be dropped"
        assert drop_delta > 0, "dropped without a counter"
        return
    if not finals:
        if expect in (REFUSE, ANY_FINAL):
            assert drop_delta > 0, "no answer and no drop counter"
            return
        raise AssertionError(f"no final answer (provisional {provisional})")
    assert len(finals) == 1, f"several final answers {finals}"
    code = finals[0]
    if expect == OK:
        assert code != 400, "a valid message answered 400"
    if expect == REFUSE:
        assert code >= 400, f"an invalid message answered {code}"
    if codes is not None:
        assert code in codes, f"answered {code}, expected one of {sorted(codes)}"


def rounds(names):
    """Split the files so that no round repeats a server-transaction key (top
    Via and method): within 32 s RFC 3261 §17.2.3 would absorb the second."""
    out = []
    for name in names:
        with open(os.path.join(os.environ["RFC4475_DIR"], name), "rb") as f:
            data = f.read()
        via = re.search(rb"^(?:Via|v)\s*:([^\r\n]*)", data, re.IGNORECASE | re.MULTILINE)
        key = (via.group(1).strip() if via else b"", data.split(b" ", 1)[0])
        for r in out:
            if key not in r[0]:
                r[0].add(key)
                r[1].append(name)
                break
        else:
            out.append(({key}, [name]))
    for _, files in out:
        print(" ".join(files))


def main():
    transport = sys.argv[1]
    if transport == "rounds":
        rounds(sorted(CASES))
        return 0
    base = os.path.join(os.environ["RFC4475_DIR"])
    failed = 0
    callee = Callee()
    callee.start()
    for name in sys.argv[2:]:
        with open(os.path.join(base, name), "rb") as f:
            data = f.read()
        before = counters()
        wait = 0.7
        if transport == "tcp" and name in TCP_UNFRAMEABLE:
            wait = 2.5  # until message_timeout closes the connection
        if transport == "udp":
            msgs, closed = exchange_udp(data, wait)
        else:
            msgs, closed = exchange_tcp(data, wait)
        after = counters()
        invited = [m for m in callee.invites if call_id(m) == call_id(data)]
        try:
            judge(name, transport, msgs, closed, dropped(before, after), invited)
            print(f"PASS rfc4475.{transport}.{name}")
        except AssertionError as e:
            failed += 1
            got = [m.split(b"\r\n", 1)[0].decode(errors="replace") for m in msgs]
            print(f"FAIL rfc4475.{transport}.{name}: {e}; got {got}")
    callee.running = False
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
