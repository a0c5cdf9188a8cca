#!/usr/bin/env python3
"""The inside caller of txn_retransmit.sh, on UDP 127.0.0.1:15090, which
retransmits requests the gateway has already answered finally, as a UDP
phone that lost the answer does. The gateway must answer each copy from its
finished transaction with the same bytes, and forward nothing again; the
shell script counts what reached the trunk.

  txn_retransmit.py invite   the trunk refuses (486): INVITE copies after
                             the 486 get the 486 again, after the ACK nothing
  txn_retransmit.py bye      the trunk answers: after the call is set up, a
                             BYE copy after the 200 gets the 200 again

Prints "PASS txn_retransmit.NAME" or "FAIL txn_retransmit.NAME: why" lines;
exit status 1 if any failed."""
import socket
import sys
import time
import uuid

GW = ("127.0.0.1", 5060)
ME = ("127.0.0.1", 15090)
failed = 0


def result(name, ok, why=""):
    global failed
    print(f"PASS txn_retransmit.{name}" if ok else f"FAIL txn_retransmit.{name}: {why}")
    failed += not ok


def status(msg):
    return msg.split(b"\r\n", 1)[0].decode(errors="replace")


def header(msg, name):
    for line in msg.split(b"\r\n"):
        if line.lower().startswith(name.lower().encode() + b":"):
            return line.split(b":", 1)[1].strip().decode()
    return None


def recv_until(s, pred, seconds):
    """Datagrams until one satisfies pred (returned last) or time runs out."""
    out, end = [], time.time() + seconds
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            m = s.recv(65535)
        except socket.timeout:
            break
        out.append(m)
        if pred(m):
            break
    return out


def request(method, uri, branch, call_id, cseq, to="<sip:12125550000@127.0.0.1>", body=""):
    lines = [f"{method} {uri} SIP/2.0",
             f"Via: SIP/2.0/UDP {ME[0]}:{ME[1]};branch={branch}",
             "Max-Forwards: 70",
             f"From: \"Alice Inside\" <sip:alice@{ME[0]}:{ME[1]}>;tag=retx1",
             f"To: {to}", f"Call-ID: {call_id}", f"CSeq: {cseq} {method}",
             f"Contact: <sip:alice@{ME[0]}:{ME[1]}>", "User-Agent: InsidePhone/1.0"]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


SDP = ("v=0\r\no=alice 1111 1111 IN IP4 127.0.0.1\r\ns=Inside Session\r\n"
       "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 16000 RTP/AVP 0 8 101\r\n"
       "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
       "a=sendrecv\r\n")


def is_final(m, method="INVITE"):
    return (not status(m).startswith("SIP/2.0 1") and m.startswith(b"SIP/2.0")
            and method in (header(m, "CSeq") or ""))


def invite(s):
    """INVITE, its final response, and the INVITE's bytes and identifiers."""
    branch, call_id = "z9hG4bK" + uuid.uuid4().hex[:12], uuid.uuid4().hex
    inv = request("INVITE", "sip:12125550000@127.0.0.1:5060", branch, call_id, 1, body=SDP)
    s.sendto(inv, GW)
    msgs = recv_until(s, is_final, 5)
    final = msgs[-1] if msgs and is_final(msgs[-1]) else None
    return inv, branch, call_id, final


def ack(s, branch, call_id, final, uri="sip:12125550000@127.0.0.1:5060"):
    s.sendto(request("ACK", uri, branch, call_id, 1, to=header(final, "To")), GW)


def check_invite(s):
    inv, branch, call_id, final = invite(s)
    if not final or not status(final).startswith("SIP/2.0 486"):
        return result("invite_refused", False, f"final {final and status(final)}")
    # A copy at once (before Timer G's first resend at 500 ms), and one
    # after the layer has let go of the request (its 0-ms timer has run).
    for name, delay in (("invite_copy_gets_same_486", 0), ("invite_late_copy_gets_same_486", 0.2)):
        time.sleep(delay)
        s.sendto(inv, GW)
        again = recv_until(s, is_final, 0.4)
        ok = bool(again) and again[-1] == final
        result(name, ok, f"got {[status(m) for m in again]}, same bytes: {bool(again) and again[-1] == final}")
    ack(s, branch, call_id, final)
    time.sleep(0.2)
    recv_until(s, lambda m: False, 0.3)  # Timer G copies in flight before the ACK
    s.sendto(inv, GW)  # Confirmed: absorbed, no answer
    late = recv_until(s, lambda m: True, 0.6)
    result("invite_copy_after_ack_absorbed", not late, f"got {[status(m) for m in late]}")


def check_bye(s):
    inv, branch, call_id, final = invite(s)
    if not final or not status(final).startswith("SIP/2.0 200"):
        return result("call_answered", False, f"final {final and status(final)}")
    contact = header(final, "Contact").strip("<>").split(">")[0]
    to = header(final, "To")
    ack(s, branch, call_id, final, contact)
    time.sleep(0.3)
    recv_until(s, lambda m: False, 0.2)
    bye = request("BYE", contact, "z9hG4bK" + uuid.uuid4().hex[:12], call_id, 2, to=to)
    s.sendto(bye, GW)
    msgs = recv_until(s, lambda m: is_final(m, "BYE"), 5)
    if not msgs or not is_final(msgs[-1], "BYE"):
        return result("bye_answered", False, f"got {[status(m) for m in msgs]}")
    ok_bye = msgs[-1]
    for name, delay in (("bye_copy_gets_same_200", 0), ("bye_late_copy_gets_same_200", 0.3)):
        time.sleep(delay)
        s.sendto(bye, GW)
        again = recv_until(s, lambda m: is_final(m, "BYE"), 0.5)
        ok = bool(again) and again[-1] == ok_bye
        result(name, ok, f"got {[status(m) for m in again]}")


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(ME)
{"invite": check_invite, "bye": check_bye}[sys.argv[1]](s)
sys.exit(1 if failed else 0)
