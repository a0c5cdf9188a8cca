#!/bin/bash
# SIPp over TLS (through stunnel, as Debian's SIPp has no TLS) against the
# default outside listener: mutual TLS with the trunk's certificate; OPTIONS
# gets 200 and an INVITE 100/404 on the TLS connection.
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"
stunnel_client 15061 5061 trunk

run_sipp options_uac.xml 127.0.0.1:15061 -key ruri_host localhost -t t1 -p 15094 || { cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/stunnel-15061.log" >&2; fail "OPTIONS over TLS"; }
run_sipp invite_uac_404.xml 127.0.0.1:15061 -t t1 -p 15095 || { cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "INVITE over TLS"; }
expect_log 'TLS established .*TLS1\.[23].*peer identity "sip:trunk.portcullis.test"'
# The verified identity travels with each request received on the connection.
expect_log 'INVITE sip:bob@127.0.0.1:15061 SIP/2.0 from tls:127.0.0.1:[0-9]+ \(identity "sip:trunk.portcullis.test"\)'
[ "$(counter tls_handshakes_ok)" -ge 1 ] || fail "no TLS handshake counted"
stop_gateway
