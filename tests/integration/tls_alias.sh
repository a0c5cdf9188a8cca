#!/bin/bash
# RFC 5923 connection reuse over TLS: the trunk peer at 127.0.0.1:5098 has no
# listener; the gateway can reach it only over the connection the trunk opened
# with ;alias, and only because the trunk's certificate names its sent-by.
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf" required "" "peers = ( { name = \"trunk\"; transport = \"tls\"; address = \"127.0.0.1\";
  port = 5098; sip_domain = \"trunk.portcullis.test\"; keepalive_interval = 1;
  tls = { certificate = \"$CERTS/gateway.crt\"; key = \"$CERTS/gateway.key\"; ca = \"$CERTS/ca.crt\"; }; } );"
start_gateway "$WORK/gw.conf"
python3 "$TESTS/integration/tls_alias.py" "$CERTS"
rc=$?
expect_log "refusing RFC 5923 alias for trunk.portcullis.test: certificate does not name it"
expect_log "peer trunk is up \(OPTIONS answered 200\)"
stop_gateway
exit $rc
