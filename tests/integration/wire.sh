#!/bin/bash
# Runs wire.py against a gateway with tight limits (so limits are reachable in
# a test) and an IPv6 listener, then checks the drop counters it caused.
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf" required "" '
limits = { max_message_size = 8192; max_connections_per_ip = 4; message_timeout = 2;
           handshake_timeout = 2; };
peers = ( { name = "aliased"; transport = "tcp"; address = "127.0.0.1"; port = 5098; keepalive_interval = 1; } );'
sed -i 's|^listeners = (|listeners = (\n  { name = "v6-udp"; leg = "inside"; transport = "udp"; address = "::1"; port = 5062; },\n  { name = "v6-tcp"; leg = "inside"; transport = "tcp"; address = "::1"; port = 5062; },|' "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"
python3 "$TESTS/integration/wire.py"
rc=$?
[ "$(counter malformed_requests)" -ge 3 ] || { echo "FAIL wire.counters: malformed requests not counted"; rc=1; }
[ "$(counter malformed_responses_dropped)" -ge 1 ] || { echo "FAIL wire.counters: malformed response not counted"; rc=1; }
[ "$(counter stream_framing_errors)" -ge 2 ] || { echo "FAIL wire.counters: framing errors not counted"; rc=1; }
[ "$(counter connections_refused_limit)" -ge 1 ] || { echo "FAIL wire.counters: connection refusal not counted"; rc=1; }
[ "$(counter retransmissions_absorbed)" -ge 1 ] || { echo "FAIL wire.counters: absorbed retransmissions not counted"; rc=1; }
[ "$(counter messages_refused_bare_cr)" -ge 1 ] || { echo "FAIL wire.counters: headers hidden behind bare CRs not refused before the parse"; rc=1; }
[ "$(counter keepalive_pings_answered)" -ge 1 ] || { echo "FAIL wire.counters: keep-alive not counted"; rc=1; }
stop_gateway
exit $rc
