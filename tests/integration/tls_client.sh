#!/bin/bash
# Outgoing TLS: the gateway pings its trunk with OPTIONS over a TLS connection
# it opens itself, verifying the trunk's certificate against the expected name
# (RFC 5922). A trunk presenting a certificate for another name is refused and
# marked down; the right certificate gives "up" and a 200 from the SIPp UAS.
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf" required "" "timers = { t1 = 100; t2 = 400; t4 = 500; };
$(trunk_peer 1)"
start_options_uas 50

# 1. Impostor: signed by our CA, but for sip:alice@localhost.
stunnel_server 5071 15072 phone
STUNNEL_PID=${PIDS##* }
start_gateway "$WORK/gw.conf"
expect_log "peer trunk: peer certificate does not name trunk.portcullis.test" 10
expect_log "peer trunk is down" 15
grep -q "peer trunk is up" "$WORK/gateway.log" && fail "an impostor trunk was accepted"
kill "$STUNNEL_PID"; wait "$STUNNEL_PID" 2>/dev/null

# 2. The real trunk certificate.
stunnel_server 5071 15072 trunk
expect_log "peer trunk is up \(OPTIONS answered 200\)" 15
expect_log 'tls conn [0-9]+ to 127.0.0.1:5071: TLS established .*peer identity "sip:trunk.portcullis.test"'
stop_gateway
