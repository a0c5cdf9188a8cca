#!/bin/bash
# Session resumption: gnutls-cli --resume reconnects with the ticket the
# gateway issued (server role); the gateway's own OPTIONS keep-alive toward a
# trunk reconnects with its saved session (client role).
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf" required "" "limits = { idle_timeout = 1; };
timers = { t1 = 100; t2 = 400; t4 = 500; };
$(trunk_peer 3)"
# The trunk: stunnel (TLS 1.2, so sessions are resumable by ID or ticket) in front of a SIPp UAS.
start_options_uas 30
stunnel_server 5071 15072 trunk
start_gateway "$WORK/gw.conf"

(sleep 2) | timeout 15 gnutls-cli -p 5061 --resume --x509cafile "$CERTS/ca.crt" \
	--x509certfile "$CERTS/trunk.crt" --x509keyfile "$CERTS/trunk.key" localhost >"$WORK/resume.out" 2>&1 || true
grep -q "This is a resumed session" "$WORK/resume.out" || { cat "$WORK/resume.out" >&2; fail "server-side resumption"; }

expect_log "peer trunk is up" 10
# With idle_timeout 1 s and pings every 3 s the gateway's connection to the trunk closes; the next ping reconnects resumed.
expect_log "tls conn [0-9]+ to 127.0.0.1:5071: TLS established .*\(resumed\)" 15
stop_gateway
