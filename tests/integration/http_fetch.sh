#!/bin/bash
# gateway/http/ against a real web server (http_server.py) and real clients
# (curl(1)), through tests/tools/http_probe: what a fetch of an STI
# certificate must refuse and survive, and the document server's limits.
# Fails when: redirects are followed, plain http or another scheme is
# allowed for a host not listed, a loopback or private address is reached
# without the caller's consent, a body over the cap is accepted (with or
# without Content-Length), a hanging server blocks another fetch or is not
# timed out, max_fetches is not enforced, the dev CA is not used (or the
# system's trust accepts it), the sandbox kills or refuses the resolver
# thread (or lets fork through), or the server answers other methods,
# paths or oversized headers.
. "$TESTS/integration/lib.sh"
rc=0
pass() { echo "PASS http_fetch.$1"; }
flunk() { echo "FAIL http_fetch.$1: $2"; rc=1; }
PROBE="$(dirname "$PORTCULLIS_BIN")/../tests/tools/http_probe"
[ -x "$PROBE" ] || fail "http_probe not built"
PORT=18080
H=http://127.0.0.1:$PORT
S=https://localhost:$((PORT + 1))
python3 "$TESTS/integration/http_server.py" $PORT "$CERTS/sti.crt" "$CERTS/gateway.crt" "$CERTS/gateway.key" \
	2>"$WORK/server.log" &
PIDS="$PIDS $!"
wait_port tcp $PORT
wait_port tcp $((PORT + 1))
CERT_LEN=$(stat -c %s "$CERTS/sti.crt")

# probe ARGS...: the probe's output, saved for the log.
probe() { "$PROBE" "$@" 2>>"$WORK/probe.err" | tee -a "$WORK/probe.out"; }
line() { grep -F "$1 status=" <<<"$2"; }
field() { sed -nE "s/.* $1=([^ ]*).*/\1/p" <<<"$2"; }
expect() { # expect NAME OUTPUT URL STATUS [CODE]
	local l
	l=$(line "$3" "$2")
	if [ "$(field status "$l")" = "$4" ] && { [ -z "${5:-}" ] || [ "$(field http_code "$l")" = "$5" ]; }; then
		pass "$1"
	else
		flunk "$1" "wanted $4 ${5:-}, got: ${l:-nothing}"
	fi
}

# 1. Plain http to a listed host, the caller allowing loopback.
out=$(probe --http-host 127.0.0.1 --allow-special "$H/cert.pem" "$H/missing" "$H/redirect")
l=$(line "$H/cert.pem" "$out")
if [ "$(field status "$l")" = ok ] && [ "$(field len "$l")" = "$CERT_LEN" ] && [ "$(field max_age "$l")" = 3600 ]; then
	pass certificate_200_max_age
else flunk certificate_200_max_age "$l"; fi
expect not_found_404 "$out" "$H/missing" http-error 404
expect redirect_not_followed "$out" "$H/redirect" http-error 302

# 2. Size cap: with Content-Length (curl's max file size) and streamed.
out=$(probe --http-host 127.0.0.1 --allow-special --max-bytes 65536 "$H/big" "$H/stream")
expect big_body_refused "$out" "$H/big" too-big
expect streamed_body_refused "$out" "$H/stream" too-big

# 3. A server that never answers times out within the total timeout and
#    does not hold up a good fetch started with it.
out=$(probe --http-host 127.0.0.1 --allow-special --total-ms 1500 "$H/hang" "$H/cert.pem")
hang=$(line "$H/hang" "$out"); good=$(line "$H/cert.pem" "$out")
if [ "$(field status "$hang")" = timeout ] && [ "$(field ms "$hang")" -ge 1400 ] && [ "$(field ms "$hang")" -le 2500 ]; then
	pass hanging_server_times_out
else flunk hanging_server_times_out "$hang"; fi
if [ "$(field status "$good")" = ok ] && [ "$(field ms "$good")" -le 500 ]; then
	pass good_fetch_not_blocked
else flunk good_fetch_not_blocked "$good"; fi

# 4. Scheme rule: http only for listed hosts, nothing but http(s).
out=$(probe --http-host localhost --allow-special "$H/cert.pem" "file:///etc/passwd" \
	"ftp://127.0.0.1/x" "gopher://127.0.0.1/" "https://[::1" "not a url")
expect plain_http_unlisted_host_refused "$out" "$H/cert.pem" refused-url
expect file_scheme_refused "$out" "file:///etc/passwd" refused-url
expect ftp_scheme_refused "$out" "ftp://127.0.0.1/x" refused-url
expect gopher_scheme_refused "$out" "gopher://127.0.0.1/" refused-url
expect bad_url_refused "$out" "https://[::1" refused-url

# A host:port entry allows that port alone: the same host on another port
# (any other local service) stays refused for plain http.
out=$(probe --http-host 127.0.0.1:$PORT --allow-special "$H/cert.pem" "http://127.0.0.1:$((PORT + 7))/x")
expect http_host_port_allowed "$out" "$H/cert.pem" ok 200
expect http_host_other_port_refused "$out" "http://127.0.0.1:$((PORT + 7))/x" refused-url

# 5. SSRF: special-purpose destinations refused by default, after DNS too.
out=$(probe --http-host 127.0.0.1 --ca "$CERTS/ca.crt" "$H/cert.pem" "$S/cert.pem" "https://169.254.169.254/latest/")
expect loopback_refused_by_default "$out" "$H/cert.pem" refused-address
expect name_to_loopback_refused "$out" "$S/cert.pem" refused-address
expect metadata_address_refused "$out" "https://169.254.169.254/latest/" refused-address

# 6. max_fetches: the third fetch is refused at once, not queued.
out=$(probe --http-host 127.0.0.1 --allow-special --max-fetches 2 --total-ms 1000 \
	"$H/hang" "$H/hang?2" "$H/cert.pem")
expect over_max_fetches_busy "$out" "$H/cert.pem" busy
grep -q "in_flight=2" <<<"$out" && pass in_flight_counted || flunk in_flight_counted "$out"

# 7. https against the development CA; the system's trust does not know it.
out=$(probe --allow-special --ca "$CERTS/ca.crt" "$S/cert.pem")
expect https_dev_ca "$out" "$S/cert.pem" ok 200
out=$(probe --allow-special "$S/cert.pem")
expect https_unknown_ca_refused "$out" "$S/cert.pem" network

# 8. Freeing the client ends a running fetch exactly once, as cancelled.
out=$(probe --http-host 127.0.0.1 --allow-special --cancel-ms 300 "$H/hang")
expect free_cancels "$out" "$H/hang" cancelled
[ "$(grep -c "status=" <<<"$out")" = 1 ] && pass cancelled_once || flunk cancelled_once "$out"

# 9. Under the network process's seccomp filter: an IP URL, and a name
#    from the hosts file (libcurl resolves "localhost" itself, so another
#    name, with an IPv4 and an IPv6 address: getaddrinfo in curl's resolver
#    thread, its nscd and netlink sockets refused quietly).
: >"$WORK/probe.err"
name=localhost
if [ "$(id -u)" -eq 0 ] && printf '127.0.0.1 localhost sti.test\n::1 localhost sti.test\n' >"$WORK/hosts" &&
	unshare -m sh -c "mount --bind '$WORK/hosts' /etc/hosts && getent hosts sti.test" >/dev/null 2>&1; then
	name=sti.test
fi
note "name resolved in the sandbox: $name"
out=$(unshare -m sh -c "[ $name = localhost ] || mount --bind '$WORK/hosts' /etc/hosts
	exec '$PROBE' --sandbox --http-host 127.0.0.1 --http-host $name --allow-special \
		'$H/cert.pem' 'http://$name:$PORT/cert.pem'" 2>>"$WORK/probe.err")
echo "$out" >>"$WORK/probe.out"
expect sandbox_ip_url "$out" "$H/cert.pem" ok 200
expect sandbox_resolver_thread "$out" "http://$name:$PORT/cert.pem" ok 200
if grep -q "seccomp refused" "$WORK/probe.err"; then
	flunk sandbox_no_refusals "$(grep "seccomp refused" "$WORK/probe.err" | sort -u | tr '\n' ' ')"
else pass sandbox_no_refusals; fi
out=$("$PROBE" --sandbox --try-thread 2>&1)
grep -q "thread ok" <<<"$out" && pass sandbox_thread_allowed || flunk sandbox_thread_allowed "$out"
"$PROBE" --sandbox --try-fork >"$WORK/fork.out" 2>&1
st=$?
# A sanitizer build leaves clone open (LeakSanitizer stops the world with
# it, gateway/sandbox/sandbox.c): there fork cannot be fatal.
if [ -n "${ASAN_OPTIONS:-}" ]; then pass sandbox_fork_kills
elif [ $st -eq 159 ] && ! grep -q "fork returned" "$WORK/fork.out"; then pass sandbox_fork_kills
else flunk sandbox_fork_kills "exit $st: $(cat "$WORK/fork.out")"
fi

# 10. The document server (itself under the filter): GET, HEAD, other
#     methods, unknown paths, oversized headers.
SP=18090
"$PROBE" --sandbox --serve 127.0.0.1 $SP --doc /sti.pem "$CERTS/sti.crt" application/x-pem-file \
	>"$WORK/serve.out" 2>&1 &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
wait_port tcp $SP
U=http://127.0.0.1:$SP
curl -s -D "$WORK/get.h" -o "$WORK/get.body" "$U/sti.pem"
if cmp -s "$WORK/get.body" "$CERTS/sti.crt" && grep -qi "^content-type: application/x-pem-file" "$WORK/get.h" &&
	grep -qi "^cache-control: .*max-age=3600" "$WORK/get.h"; then
	pass server_get_document
else flunk server_get_document "$(head -c 300 "$WORK/get.h")"; fi
head=$(curl -s -I "$U/sti.pem")
grep -q "^HTTP/1.1 200" <<<"$head" && grep -qi "^content-length: $CERT_LEN" <<<"$head" &&
	pass server_head || flunk server_head "$head"
post=$(curl -s -i -X POST "$U/sti.pem")
grep -q "^HTTP/1.1 405" <<<"$post" && grep -qi "^allow: GET, HEAD" <<<"$post" &&
	pass server_post_405 || flunk server_post_405 "$(head -3 <<<"$post")"
# A body is refused before any handler (no request carries one here).
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data x "$U/sti.pem")
case $code in 405|413) pass server_post_body_refused ;; *) flunk server_post_body_refused "got $code" ;; esac
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$U/sti.pem")
[ "$code" = 405 ] && pass server_delete_405 || flunk server_delete_405 "got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/other.pem")
[ "$code" = 404 ] && pass server_unknown_404 || flunk server_unknown_404 "got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$U/sti.pem")
case $code in 4??|000) pass server_huge_header_refused ;; *) flunk server_huge_header_refused "got $code" ;; esac
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/sti.pem")
[ "$code" = 200 ] && kill -0 $SERVER_PID && pass server_survives || flunk server_survives "got $code"
grep -qi "^connection: close" "$WORK/get.h" && pass server_one_request_per_connection ||
	flunk server_one_request_per_connection "$(cat "$WORK/get.h")"

# 11. A connection flood: 400 idle connections held open. The server keeps at
#     most its cap (128) of them as descriptors, the rest wait in the kernel's
#     backlog; once the flood goes, a GET is served again at once.
fds_before=$(ls /proc/$SERVER_PID/fd | wc -l)
gain=$(flood_gain $SERVER_PID "$SP" 400)
[ "$gain" -le 130 ] && [ "$gain" -ge 100 ] && pass server_connection_cap ||
	flunk server_connection_cap "$gain descriptors more during a flood of 400"
t0=$(date +%s%N)
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$U/sti.pem")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$code" = 200 ] && [ $ms -lt 2000 ] && pass server_recovers_after_flood ||
	flunk server_recovers_after_flood "got $code after $ms ms"
sleep 1
fds_after=$(ls /proc/$SERVER_PID/fd | wc -l)
[ $((fds_after - fds_before)) -le 2 ] && pass server_connections_released ||
	flunk server_connections_released "descriptors $fds_before before, $fds_after after"
grep -q "seccomp refused" "$WORK/serve.out" && flunk server_no_refusals "$(cat "$WORK/serve.out")" ||
	pass server_no_refusals
exit $rc
