#!/bin/bash
# RFC 4475 torture messages over UDP and TCP (rfc4475.py judges each answer).
# The gateway listens on 5160 so that answers to the messages' Via sent-by
# port (5060 by default) reach the test's sockets, not the gateway itself; the
# test source is exempt from the abuse guard; new requests are routed to a
# callee in rfc4475.py that answers them, so valid INVITEs (long tags, odd
# URIs) go the whole way through a call attempt. Messages that share a
# server-transaction key go to a fresh gateway instance (a new round).
. "$TESTS/integration/lib.sh"
export RFC4475_DIR="$TESTS/../../shared/rfc4475"
[ -f "$RFC4475_DIR/README.md" ] || fail "RFC 4475 messages not found in $RFC4475_DIR"
cat >"$WORK/gw.conf" <<CONF
domain = "localhost";
listeners = (
  { name = "inside-udp"; leg = "inside"; transport = "udp"; address = "127.0.0.1"; port = 5160; },
  { name = "inside-tcp"; leg = "inside"; transport = "tcp"; address = "127.0.0.1"; port = 5160; }
);
limits = { message_timeout = 1; };
abuse = { exempt = [ "127.0.0.0/8" ]; };
legs = (
  { name = "inside"; media = "rtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 20000, 20999 ]; },
  { name = "outside"; media = "rtp"; rtp_address = "127.0.0.1"; rtp_ports = [ 30000, 30999 ]; }
);
routes = ( { from_leg = "inside"; to_leg = "outside"; transport = "udp"; address = "127.0.0.1"; port = 5170; } );
CONF
rc=0
export GW_PORT=5160 GW_LOG="$WORK/gateway.log"
for transport in udp tcp; do
	while read -r files; do
		start_gateway "$WORK/gw.conf"
		export GW_PID
		# shellcheck disable=SC2086 # one word per file
		python3 "$TESTS/integration/rfc4475.py" "$transport" $files || rc=1
		stop_gateway
		cat "$WORK/gateway.log" >>"$WORK/gateway-all.log"
	done < <(python3 "$TESTS/integration/rfc4475.py" rounds)
done
exit $rc
