#!/bin/bash
# How calls end badly, with real peers on both legs: the trunk's 486 reaches
# the phone; a trunk that strips SDES from its answer on the SRTP-required leg
# gets ACK + BYE and the phone a 488 whose Warning says why (no downgrade);
# the phone's CANCEL while the trunk rings is propagated and ends in 487.
# Afterwards no call, no relay stream and no transaction is left.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"

phone_fail() { # phone_fail STATUS WARNING_REGEXP
	sed "s/@EXPECT@/$1/; s|@WARNING@|$2|" "$TESTS/integration/sipp/uac_call_fail.xml" >"$WORK/uac_$1.xml"
	timeout 30 sipp -sf "$WORK/uac_$1.xml" 127.0.0.1:5060 -s 12125550000 -t u1 -p 15090 -m 1 \
		-timeout 20s -timeout_error -nostdin -trace_err -error_file "$WORK/phone_err_$1.log" \
		>"$WORK/phone_$1.out" 2>&1 || { cat "$WORK/phone_$1.out" "$WORK/phone_err_$1.log" >&2; fail "phone expecting $1"; }
}

start_trunk uas_trunk_fail.xml
phone_fail 486 "SIP/2.0 486 Busy Here"
wait_trunk

start_trunk uas_trunk_plain.xml
phone_fail 488 "Warning: 399 localhost \"leg outside requires SRTP but the answer has no a=crypto\""
wait_trunk
expect_log "refusing B's answer: leg outside requires SRTP"

start_trunk uas_trunk_ring.xml
timeout 30 sipp -sf "$TESTS/integration/sipp/uac_call_cancel.xml" 127.0.0.1:5060 -s 12125550001 -t u1 \
	-p 15091 -m 1 -timeout 20s -timeout_error -nostdin -trace_err -error_file "$WORK/cancel_err.log" \
	>"$WORK/cancel.out" 2>&1 || { cat "$WORK/cancel.out" "$WORK/cancel_err.log" >&2; fail "cancelled call"; }
wait_trunk
expect_log "closed: cancelled by the caller"

# A Call-ID the dialog could not be found again by is refused, not truncated.
python3 - <<'PY' || fail "an over-long Call-ID was not refused with 400"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(2)
port = s.getsockname()[1]
cid = "x" * 300
s.sendto((f"INVITE sip:12125550002@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKlong1\r\n"
          f"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: {cid}\r\n"
          "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", 5060))
while True:
    m = s.recv(65535).decode()
    if not m.startswith("SIP/2.0 100"):
        raise SystemExit(0 if m.startswith("SIP/2.0 400 Call-ID or Tag Too Long") else 1)
PY

sleep 0.5
[ "$(counter calls)" -eq 0 ] || fail "call state left behind"
[ "$(counter media_streams)" -eq 0 ] || fail "relay streams left behind"
stop_gateway
