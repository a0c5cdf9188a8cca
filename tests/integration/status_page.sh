#!/bin/bash
# The HTTP listener's /calls and status page (issue 11): two calls from the
# inside to the trunk are held up while /calls is read and the page is
# loaded in headless Chromium, which must show them; a screenshot of the
# page is kept as $WORK/status_page.png (tests/out/normal-status_page/). Fails when: a call is missing from
# /calls or the page, /calls shows a From whose caller asked for privacy
# (Privacy: user), /calls carries key material, the caller's display name
# "<img src=x onerror=...>" becomes markup on the page (an element, or its
# handler runs), the page or its script lacks the Content-Security-Policy,
# or a source outside http.allow gets the page, its script or /calls
# (403 and no data expected).
. "$TESTS/integration/lib.sh"

H=http://127.0.0.1:8080
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

call_config "$WORK/gw.conf" "http = { address = \"127.0.0.1\"; port = 8080; allow = [ \"127.0.0.1/32\" ]; };"
start_trunk uas_trunk.xml 2
start_gateway "$WORK/gw.conf"

# The attack: a display name that is markup, whose handler marks the page.
XSS="<img src=x onerror=document.body.setAttribute('data-pwned','1')>"
fill_scenario policy_uac_call.xml "$WORK/xss.xml" HEADERS ""
sed -i "s|\"Alice Inside\"|\"$XSS\"|g" "$WORK/xss.xml"
fill_scenario policy_uac_call.xml "$WORK/private.xml" HEADERS "Privacy: user"
sed -i "s|\"Alice Inside\"|\"Hidden Harry\"|g; s|sip:alice@|sip:harry@|g" "$WORK/private.xml"
# Both calls are held up for longer than the test needs (a loaded machine
# makes the browser slow) and are stopped with the test, not waited for.
hold_call() { # hold_call NAME SCENARIO PORT
	timeout 150 sipp -sf "$2" 127.0.0.1:5060 -s 12125551234 -t u1 -p "$3" -m 1 -d 120000 \
		-timeout 140s -nostdin -trace_err -error_file "$WORK/$1_err.log" \
		-trace_msg -message_file "$WORK/$1_msg.log" >"$WORK/$1.out" 2>&1 &
	PIDS="$PIDS $!"
}
hold_call xss "$WORK/xss.xml" 15090
hold_call private "$WORK/private.xml" 15091

# Both answered, as /calls says.
for _ in $(seq 100); do
	curl -s -f --max-time 2 "$H/calls" -o "$WORK/calls.json" &&
		[ "$(grep -o '"state":"answered"' "$WORK/calls.json" | wc -l)" = 2 ] && break
	sleep 0.1
done
[ "$(grep -o '"state":"answered"' "$WORK/calls.json" | wc -l)" = 2 ] || {
	cat "$WORK/calls.json" >&2; tail -30 "$WORK/gateway.log" >&2; fail "/calls never showed two answered calls"; }
python3 - "$WORK/calls.json" "$XSS" <<'PY' || { cat "$WORK/calls.json" >&2; fail "/calls is not as it should be"; }
import json, sys, time
doc = json.load(open(sys.argv[1]))
xss = sys.argv[2]
assert doc["truncated"] is False, doc
calls = doc["calls"]
assert len(calls) == 2, calls
shown = [c for c in calls if "from" in c]
hidden = [c for c in calls if "from" not in c]
# The caller who asked for privacy has no From; the other's is as it sent it.
assert len(shown) == 1 and len(hidden) == 1, calls
assert shown[0]["from"].startswith('"' + xss + '" <sip:alice@127.0.0.1:15090>'), shown[0]["from"]
for c in calls:
    assert c["id"].isdigit() and c["state"] == "answered", c
    assert c["to"].startswith("sip:12125551234@"), c
    assert abs(c["started"] - time.time()) < 30 and c["answered"] >= c["started"], c
    assert c["duration_s"] >= 0 and c["auth_failures"] == 0, c
    caller, callee = c["legs"]
    assert caller["side"] == "caller" and caller["leg"] == "inside", caller
    assert caller["transport"] == "udp" and caller["srtp_suite"] is None, caller
    assert callee["side"] == "callee" and callee["leg"] == "outside", callee
    assert callee["transport"] == "tls" and callee["tls_version"] in ("TLS1.2", "TLS1.3"), callee
    assert caller["tls_version"] is None, caller
    # The trunk answered AEAD_AES_256_GCM: the suite we protect toward it.
    assert callee["srtp_suite"] == "AEAD_AES_256_GCM", callee
    for leg in c["legs"]:
        assert len(leg["media"]) == 1, leg
        m = leg["media"][0]
        for k in ("rx_packets", "tx_packets"):
            assert isinstance(m[k], int) and m[k] >= 0, m
        for k in ("codec", "rx_bytes", "tx_bytes", "lost", "fraction_lost", "jitter_ms", "rtt_ms", "mos"):
            assert k in m, m
text = open(sys.argv[1]).read()
assert "Hidden Harry" not in text and "harry" not in text, "the private caller leaks"
PY
# No key material: neither the trunk's answered key nor ours.
for key in $(grep -o 'inline:[A-Za-z0-9+/=]*' "$WORK/trunk_msg.log" | sed 's/inline://' | sort -u); do
	grep -qF "$key" "$WORK/calls.json" && fail "/calls carries an SRTP key"
done
grep -qi "inline:\|nonce\|password\|crypto" "$WORK/calls.json" && fail "/calls carries secret material"
call_ids=$(python3 -c 'import json, sys; print(" ".join(c["id"] for c in json.load(open(sys.argv[1]))["calls"]))' "$WORK/calls.json")

# A refusal for the page's table of reasons.
[ "$(scanner_options 15097)" = "SIP/2.0 403 Forbidden" ] || fail "the scanner's OPTIONS was not refused"

# The page and its files: only this origin, nothing inline.
for p in / /status.js /status.css; do
	hdr=$(curl -s -f -D - -o "$WORK/page.out" --max-time 5 "$H$p") || fail "GET $p failed"
	grep -qi "^Content-Security-Policy: default-src 'self'" <<<"$hdr" || fail "$p without its CSP: $hdr"
	grep -qi "^X-Content-Type-Options: nosniff" <<<"$hdr" || fail "$p without nosniff"
done
curl -s "$H/" | grep -qi "<script>\|onload=\|style=" && fail "the page has inline script or style"
curl -s -I "$H/" | grep -qi "^Content-Type: text/html" || fail "/ is not HTML"

# Outside http.allow: 403 and nothing of the page or the calls.
for p in / /status.js /status.css /calls; do
	code=$(curl -s --interface 127.0.0.2 -o "$WORK/refused" -w '%{http_code}' --max-time 5 "$H$p")
	[ "$code" = 403 ] || fail "$p from 127.0.0.2 (outside http.allow) got $code"
	grep -q "calls\|Portcullis\|fetch" "$WORK/refused" && fail "$p from 127.0.0.2: the refusal carries data"
done

if [ -z "$CHROMIUM" ]; then
	note "chromium not installed: the page was not loaded in a browser (Debian package chromium)"
else
	# Root in CI: no sandbox; a scratch profile; virtual time lets the
	# script poll and draw before the DOM is dumped.
	chrome() {
		timeout 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
			--disable-extensions --disable-background-networking --user-data-dir="$WORK/chromium" \
			--virtual-time-budget=5000 "$@" 2>>"$WORK/chromium.log"
	}
	# The screenshot first, while both calls are still up.
	chrome --screenshot="$WORK/status_page.png" --window-size=1280,900 "$H/" >/dev/null ||
		{ tail -20 "$WORK/chromium.log" >&2; fail "chromium could not take the screenshot"; }
	[ "$(head -c 8 "$WORK/status_page.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		fail "the screenshot is not a PNG"
	[ "$(stat -c %s "$WORK/status_page.png")" -gt 10000 ] || fail "the screenshot is (nearly) empty"
	note "screenshot kept: $WORK/status_page.png"
	chrome --dump-dom "$H/" >"$WORK/page.html" || { tail -20 "$WORK/chromium.log" >&2; fail "chromium could not load the page"; }
	for id in $call_ids; do
		grep -q "data-call-id=\"$id\"" "$WORK/page.html" || {
			cat "$WORK/page.html" >&2; fail "call $id is not on the page"; }
	done
	grep -q "Updated " "$WORK/page.html" || { cat "$WORK/page.html" >&2; fail "the page never updated"; }
	# The display name is on the page as text: escaped in the DOM, no element, no handler run.
	grep -qF '&lt;img src=x onerror=' "$WORK/page.html" || { cat "$WORK/page.html" >&2; fail "the caller's display name is not shown as text"; }
	grep -qi "<img" "$WORK/page.html" && fail "the caller's display name became an element (XSS)"
	grep -q '<body[^>]*data-pwned' "$WORK/page.html" && fail "the caller's display name ran script (XSS)"
	grep -q "(private)" "$WORK/page.html" || fail "the private caller is not shown as private"
	grep -q '<td>scanner</td><td class="num">1</td>' "$WORK/page.html" ||
		fail "the page does not show the refusal by its reason"
	# The calls by leg, from the labelled counters of /metrics.
	grep -q '<td>inside</td><td>in</td><td class="num">2</td>' "$WORK/page.html" &&
		grep -q '<td>outside</td><td>out</td><td class="num">2</td>' "$WORK/page.html" ||
		{ cat "$WORK/page.html" >&2; fail "the page does not count the calls by leg from /metrics"; }
fi

# The gateway stops cleanly with both calls up (SIGTERM ends them).
stop_gateway
