#!/bin/bash
# The command line: --version, --check-config on good and bad files (errors
# name file and line, exit 1, also for networks parsed later by policy), a
# missing certificate caught by the check, the
# embedded default printed and accepted, and a clean stop on SIGINT.
. "$TESTS/integration/lib.sh"
"$PORTCULLIS_BIN" --version | grep -qE '^portcullis [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"

write_config "$WORK/good.conf"
out=$("$PORTCULLIS_BIN" --check-config --config "$WORK/good.conf" 2>&1) || fail "good config rejected: $out"
[ "$out" = "$WORK/good.conf: configuration OK" ] || fail "unexpected check output: $out"

printf 'domain = "x";\nlisteners = (\n  { name = "a"; leg = "inside"; transport = "udp"; address = "127.0.0.1"; port = 70000; }\n);\n' >"$WORK/range.conf"
out=$("$PORTCULLIS_BIN" --check-config --config "$WORK/range.conf" 2>&1) && fail "port 70000 accepted"
[[ "$out" == *"$WORK/range.conf:3: port: must be between 1 and 65535"* ]] || fail "range error: $out"

printf 'listeners = ( );\ntimers = { t1 = ; };\n' >"$WORK/syntax.conf"
out=$("$PORTCULLIS_BIN" -n -c "$WORK/syntax.conf" 2>&1) && fail "syntax error accepted"
[[ "$out" == *"$WORK/syntax.conf:2: syntax error"* ]] || fail "syntax error message: $out"

sed "s|$CERTS/gateway.crt|$WORK/missing.crt|" "$WORK/good.conf" >"$WORK/nocert.conf"
out=$("$PORTCULLIS_BIN" --check-config --config "$WORK/nocert.conf" 2>&1) && fail "missing certificate accepted"
[[ "$out" == *"missing.crt"* ]] || fail "missing certificate not named: $out"

# Networks are parsed by policy when the gateway starts: still file and line.
write_config "$WORK/net.conf" required "" $'abuse = {\n  deny = [ "192.0.2.0/24",\n    "10.0.0.1/8" ];\n};'
out=$("$PORTCULLIS_BIN" --check-config --config "$WORK/net.conf" 2>&1) && fail "network with host bits accepted"
line=$(grep -n '"10.0.0.1/8"' "$WORK/net.conf" | cut -d: -f1)
[[ "$out" == *"$WORK/net.conf:$line: abuse.deny: \"10.0.0.1/8\""* ]] || fail "network error: $out"

"$PORTCULLIS_BIN" --print-default-config >"$WORK/default.conf"
grep -q 'port = 5061' "$WORK/default.conf" || fail "default configuration not printed"

# The STIR files are part of the check: the embedded default (its relative
# paths made absolute) passes; a signing key that is not the published
# certificate's key, or a trust list that does not load, fails by name.
sed -E "s#= \"([a-z-]+\.(crt|key|pem))\"#= \"$CERTS/\1\"#" "$WORK/default.conf" >"$WORK/stir.conf"
out=$("$PORTCULLIS_BIN" -n -c "$WORK/stir.conf" 2>&1) || fail "embedded default with absolute paths rejected: $out"
sed "s#$CERTS/sti.key#$CERTS/sti-peer.key#" "$WORK/stir.conf" >"$WORK/stirkey.conf"
out=$("$PORTCULLIS_BIN" -n -c "$WORK/stirkey.conf" 2>&1) && fail "STI key of another certificate accepted"
[[ "$out" == *"sti-peer.key is not the key of the certificate $CERTS/sti.crt"* ]] || fail "key mismatch message: $out"
sed "s#$CERTS/sti-ca.crt#$WORK/missing-ca.crt#" "$WORK/stir.conf" >"$WORK/stirca.conf"
out=$("$PORTCULLIS_BIN" -n -c "$WORK/stirca.conf" 2>&1) && fail "missing STI-CA accepted"
[[ "$out" == *"missing-ca.crt"* ]] || fail "missing STI-CA not named: $out"

"$PORTCULLIS_BIN" --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option not a usage error"

start_gateway "$WORK/good.conf"
kill -INT "$GW_PID"
for _ in $(seq 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$GW_PID" 2>/dev/null && fail "SIGINT did not stop the gateway"
wait "$GW_PID"; [ $? -eq 0 ] || fail "exit status after SIGINT"
grep -q "received SIGINT, shutting down" "$WORK/gateway.log" || fail "no shutdown log line"
