#!/bin/bash
# The HTTP listener's /metrics and /health (issue 11): one call through the
# gateway moves its counters and the set-up time histogram in the
# Prometheus text, which promtool accepts
# and a real Prometheus server scrapes and answers queries about; /health
# answers JSON. Fails when: a counter does not move, the text does not
# parse, Prometheus cannot read it, a source outside http.allow gets the
# metrics or health (it must get 403, and no figure), a method other than
# GET/HEAD or a path variant reaches them, the x5u document stops being
# served to every source, a bad http.allow passes --check-config, or a
# provoked refusal is not counted under its reason (labelled families).
. "$TESTS/integration/lib.sh"

STIR="stir = { certificate = \"$CERTS/sti.crt\"; key = \"$CERTS/sti.key\";
  x5u = \"http://127.0.0.1:8080/sti.pem\"; country_code = \"\"; };"
H=http://127.0.0.1:8080

# A network list error names its file and line, like abuse.allow's.
call_config "$WORK/bad.conf" "$STIR
http = { address = \"127.0.0.1\"; port = 8080;
  allow = [ \"127.0.0.1/32\", \"10.0.0.1/8\" ]; };"
line=$(grep -n '10.0.0.1/8' "$WORK/bad.conf" | cut -d: -f1)
out=$("$PORTCULLIS_BIN" --check-config --config "$WORK/bad.conf" 2>&1) && fail "--check-config accepted http.allow 10.0.0.1/8"
grep -qF "bad.conf:$line: http.allow: \"10.0.0.1/8\"" <<<"$out" || fail "no file:line for a bad http.allow: $out"

call_config "$WORK/gw.conf" "$STIR
http = { address = \"127.0.0.1\"; port = 8080; allow = [ \"127.0.0.1/32\" ];
  hostnames = [ \"gw1.example\" ]; };"
start_trunk uas_trunk.xml
start_gateway "$WORK/gw.conf"

# metric NAME FILE: the sample's value (empty when absent).
metric() { awk -v n="$1" '$1 == n { print $2 }' "$2"; }
scrape() { curl -s -f --max-time 5 "$H/metrics" -o "$1" || fail "GET /metrics failed"; }

scrape "$WORK/before.txt"
before=$(metric portcullis_messages_received_total "$WORK/before.txt")
[ -n "$before" ] || fail "no portcullis_messages_received_total in /metrics"
run_sipp uac_call.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 500 || {
	cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
	fail "call from the phone failed"; }
wait_trunk
scrape "$WORK/after.txt"
after=$(metric portcullis_messages_received_total "$WORK/after.txt")
[ "$after" -gt "$before" ] || fail "messages_received did not move ($before -> $after)"
[ "$(metric portcullis_transactions_created_total "$WORK/after.txt")" -ge 2 ] || fail "transactions_created did not move"
[ "$(metric portcullis_calls "$WORK/after.txt")" = 0 ] || fail "calls gauge not back to 0"
grep -qx "# TYPE portcullis_calls gauge" "$WORK/after.txt" || fail "calls is not a gauge"
# The set-up time histogram counted the call (none before it), in a bucket
# under 5 s; the MOS histogram is there with what was measured.
[ "$(metric portcullis_call_setup_seconds_count "$WORK/before.txt")" = 0 ] || fail "set-up time counted before any call"
[ "$(metric portcullis_call_setup_seconds_count "$WORK/after.txt")" = 1 ] || fail "set-up time histogram did not count the call"
[ "$(metric 'portcullis_call_setup_seconds_bucket{le="+Inf"}' "$WORK/after.txt")" = 1 ] || fail "no +Inf bucket"
[ "$(metric 'portcullis_call_setup_seconds_bucket{le="5"}' "$WORK/after.txt")" = 1 ] || fail "set-up time over 5 s"
grep -qx "# TYPE portcullis_call_setup_seconds histogram" "$WORK/after.txt" || fail "set-up time is not a histogram"
grep -qx "# TYPE portcullis_call_mos histogram" "$WORK/after.txt" || fail "no MOS histogram"
[ -n "$(metric portcullis_call_mos_count "$WORK/after.txt")" ] || fail "no MOS count"
grep -qx "# TYPE portcullis_messages_received_total counter" "$WORK/after.txt" || fail "no counter TYPE line"
# The same figure as the SIGUSR1 log (nothing received between the two).
[ "$(counter messages_received)" = "$after" ] || fail "/metrics and the counter log disagree"

# Labelled families: a refusal under its reason's name, the call under its
# legs, every label value from a fixed set (no peer-chosen text).
[ "$(scanner_options 15097)" = "SIP/2.0 403 Forbidden" ] || fail "the scanner's OPTIONS was not refused"
scrape "$WORK/labels.txt"
[ "$(metric 'portcullis_refusals_total{reason="scanner"}' "$WORK/labels.txt")" = 1 ] ||
	fail "the scanner refusal is not counted under its reason: $(grep refusals_total "$WORK/labels.txt" | grep -v ' 0$')"
[ "$(metric 'portcullis_refusals_total{reason="acl"}' "$WORK/labels.txt")" = 0 ] || fail "refusals_total{reason=acl} moved"
[ "$(metric 'portcullis_calls_started_total{leg="inside",direction="in"}' "$WORK/labels.txt")" = 1 ] &&
	[ "$(metric 'portcullis_calls_started_total{leg="outside",direction="out"}' "$WORK/labels.txt")" = 1 ] &&
	[ "$(metric 'portcullis_calls_started_total{leg="outside",direction="in"}' "$WORK/labels.txt")" = 0 ] ||
	fail "the call is not counted under its legs: $(grep calls_started_total "$WORK/labels.txt")"
# The call went in over UDP and out over TLS (the trunk).
[ "$(metric 'portcullis_sip_messages_total{transport="udp",direction="in"}' "$WORK/labels.txt")" -ge 3 ] &&
	[ "$(metric 'portcullis_sip_messages_total{transport="tls",direction="out"}' "$WORK/labels.txt")" -ge 3 ] &&
	[ "$(metric 'portcullis_sip_messages_total{transport="tcp",direction="in"}' "$WORK/labels.txt")" = 0 ] ||
	fail "messages not counted by transport: $(grep sip_messages_total "$WORK/labels.txt")"
grep -qx '# TYPE portcullis_call_legs gauge' "$WORK/labels.txt" &&
	[ "$(metric 'portcullis_call_legs{transport="tls",suite="AEAD_AES_256_GCM"}' "$WORK/labels.txt")" = 0 ] ||
	fail "no call_legs gauge by transport and suite"
# Label values come only from the fixed sets: scanner, the legs, transports,
# suites, and the histograms' bucket bounds.
grep -o '{[^}]*}' "$WORK/labels.txt" | grep -vE '^\{(le="([0-9.]+|\+Inf)"|reason="[a-z_]+"|leg="(inside|outside)",direction="(in|out)"|transport="(udp|tcp|tls)",(suite="([A-Z0-9_]+|none)"|direction="(in|out)"))\}$' &&
	fail "a label value outside the fixed sets"
cp "$WORK/labels.txt" "$WORK/after.txt" # promtool checks the labelled text below

hdr=$(curl -s -D - -o /dev/null --max-time 5 "$H/metrics")
grep -qi "^Content-Type: text/plain; version=0.0.4" <<<"$hdr" || fail "wrong Content-Type: $hdr"
grep -qi "^Cache-Control: no-store" <<<"$hdr" || fail "metrics may be cached: $hdr"

if command -v promtool >/dev/null; then
	promtool check metrics <"$WORK/after.txt" >"$WORK/promtool.out" 2>&1 || {
		cat "$WORK/promtool.out" >&2; fail "promtool check metrics reported problems"; }
else
	note "promtool not installed: exposition not linted (Debian package prometheus)"
fi

health=$(curl -s -f --max-time 5 "$H/health") || fail "GET /health failed"
python3 -c 'import json, sys
h = json.loads(sys.argv[1])
assert h["status"] == "ok" and h["listeners"] == 3 and h["calls"] == 0, h' "$health" ||
	fail "unexpected /health: $health"

# Outside http.allow: 403, and not one figure in the answer.
for p in /metrics /health; do
	code=$(curl -s --interface 127.0.0.2 -o "$WORK/refused" -w '%{http_code}' --max-time 5 "$H$p")
	[ "$code" = 403 ] || fail "$p from 127.0.0.2 (outside http.allow) got $code"
	grep -q "portcullis_\|status" "$WORK/refused" && fail "$p from 127.0.0.2: the refusal carries data"
	code=$(curl -s --interface 127.0.0.2 -I -o /dev/null -w '%{http_code}' --max-time 5 "$H$p")
	[ "$code" = 403 ] || fail "HEAD $p from 127.0.0.2 got $code"
done
# DNS rebinding: a page whose name now points at 127.0.0.1, read by a
# browser on this machine, comes from loopback with its own name in Host:
# 403 for the live documents; a literal address and localhost are fine.
for p in /metrics /calls /health /; do
	code=$(curl -s -H 'Host: rebind.example:8080' -o "$WORK/rebind" -w '%{http_code}' --max-time 5 "$H$p")
	[ "$code" = 403 ] || fail "$p asked for as rebind.example got $code"
	grep -q "portcullis_\|status\|calls" "$WORK/rebind" && fail "$p for rebind.example: the refusal carries data"
done
for host in localhost:8080 LOCALHOST '[::1]:8080' 127.0.0.1 GW1.example:8080; do
	code=$(curl -s -H "Host: $host" -o /dev/null -w '%{http_code}' --max-time 5 "$H/metrics")
	[ "$code" = 200 ] || fail "/metrics asked for as $host got $code"
done
code=$(curl -s -H 'Host: a b' -o /dev/null -w '%{http_code}' --max-time 5 "$H/metrics")
[ "$code" = 400 ] || fail "/metrics with a malformed Host got $code"
code=$(curl -s -H 'Host: rebind.example' -o /dev/null -w '%{http_code}' --max-time 5 "$H/sti.pem")
[ "$code" = 200 ] || fail "the x5u document for any Host got $code"
# The x5u document stays open to every source: verifiers fetch it.
code=$(curl -s --interface 127.0.0.2 -o "$WORK/x5u.pem" -w '%{http_code}' --max-time 5 "$H/sti.pem")
[ "$code" = 200 ] && cmp -s "$WORK/x5u.pem" "$CERTS/sti.crt" || fail "x5u from 127.0.0.2 got $code"
# Only GET and HEAD, only the exact path.
for m in POST PUT DELETE; do
	code=$(curl -s -X $m -o /dev/null -w '%{http_code}' --max-time 5 "$H/metrics")
	[ "$code" = 405 ] || fail "$m /metrics got $code"
done
for p in /metrics/ /Metrics /metrics%00 /metrics/../health; do
	code=$(curl -s --path-as-is -o "$WORK/variant" -w '%{http_code}' --max-time 5 "$H$p")
	[ "$code" = 404 ] || fail "$p got $code"
done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$H/metrics?name=x")
[ "$code" = 200 ] || fail "/metrics with a query string got $code"
[ "$(curl -s -I --max-time 5 "$H/metrics" | grep -ci '^content-length: [1-9]')" = 1 ] ||
	fail "HEAD /metrics without its length"

# A real Prometheus server scrapes the gateway every second; a value comes
# back through its query API.
if command -v prometheus >/dev/null; then
	start_prometheus '  - job_name: portcullis
    static_configs: [ { targets: [ "127.0.0.1:8080" ] } ]'
	got=$(prom_value portcullis_messages_received_total)
	[ -n "$got" ] || { tail -20 "$WORK/prometheus.log" >&2; fail "prometheus never returned portcullis_messages_received_total"; }
	[ "$got" -ge "$after" ] || fail "prometheus read messages_received $got, below the $after scraped"
	[ "$(prom_value up)" = 1 ] || fail "prometheus says the gateway target is down"
	kill "$PROM_PID"
	note "prometheus read portcullis_messages_received_total = $got"
else
	note "prometheus not installed: real-server scrape skipped (Debian package prometheus)"
fi
stop_gateway
