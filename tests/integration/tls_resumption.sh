#!/bin/bash
# Session resumption: gnutls-cli --resume reconnects with the ticket the
# gateway issued (server role); the gateway's own OPTIONS keep-alive toward a
# trunk reconnects with its saved session (client role).
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf" required "" "limits = { idle_timeout = 1; };
timers = { t1 = 100; t2 = 400; t4 = 500; };
peers = ( { name = \"trunk\"; transport = \"tls\"; address = \"127.0.0.1\"; port = 5071;
  sip_domain = \"trunk.portcullis.test\"; keepalive_interval = 3;
  tls = { certificate = \"$CERTS/gateway.crt\"; key = \"$CERTS/gateway.key\"; ca = \"$CERTS/ca.crt\"; }; } );"
# The trunk: stunnel (TLS 1.2, so sessions are resumable by ID or ticket) in front of a SIPp UAS.
timeout 60 sipp -sf "$TESTS/integration/sipp/options_uas.xml" -t t1 -p 15072 -i 127.0.0.1 -m 30 -nostdin \
	>"$WORK/uas.out" 2>&1 &
PIDS="$PIDS $!"
wait_port tcp 15072
stunnel_server 5071 15072 trunk
start_gateway "$WORK/gw.conf"

(sleep 2) | timeout 15 gnutls-cli -p 5061 --resume --x509cafile "$CERTS/ca.crt" \
	--x509certfile "$CERTS/trunk.crt" --x509keyfile "$CERTS/trunk.key" localhost >"$WORK/resume.out" 2>&1 || true
grep -q "This is a resumed session" "$WORK/resume.out" || { cat "$WORK/resume.out" >&2; fail "server-side resumption"; }

expect_log "peer trunk is up" 10
# With idle_timeout 1 s and pings every 3 s the gateway's connection to the trunk closes; the next ping reconnects resumed.
expect_log "tls conn [0-9]+ to 127.0.0.1:5071: TLS established .*\(resumed\)" 15
stop_gateway
