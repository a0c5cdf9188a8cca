#!/bin/bash
# Cluster mode shares the STIR certificate cache (certificates only) and
# checks what it reads back as if it had fetched it. Nodes A and B verify
# Identity on their outside legs ("mark"); the x5u is served by stir_tool.py
# on 127.0.0.1:8081; the callee +12125551234 is registered at A.
#  (a) a hostile value waits in Redis under the URL's name: a certificate
#      of a rogue CA. B reads it, refuses it (cluster_values_refused), fetches
#      the URL itself, and the call is marked TN-Validation-Passed; B then
#      writes the good chain (cluster_certs_written) for its own cache
#      lifetime (stir.cache_max_age = 600 under the server's max-age 3600).
#  (b) the HTTP server is stopped; A, which never fetched the URL, gets the
#      chain from Redis (cluster_certs_read) and marks the call Passed.
#      Without the sharing A's fetch fails and the mark is not Passed.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"
TOOL="python3 $TESTS/integration/stir_tool.py"
CERTDIR="$WORK/sti"
mkdir -p "$CERTDIR"
cp "$CERTS/sti-peer.crt" "$CERTDIR/"
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$WORK/rogue-ca.key" 2>/dev/null
printf 'cn = "Rogue STI-CA"\nca\ncert_signing_key\nexpiration_days = 30\n' >"$WORK/rogue-ca.cfg"
certtool --generate-self-signed --load-privkey "$WORK/rogue-ca.key" --template "$WORK/rogue-ca.cfg" \
	--outfile "$WORK/rogue-ca.crt" 2>/dev/null || fail "certtool: rogue CA"
$TOOL serve --port 8081 --root "$CERTDIR" --lifetime 300 &
HTTPD=$!
PIDS="$PIDS $HTTPD"
wait_port tcp 8081
URL=http://127.0.0.1:8081/sti-peer.crt

start_redis
node_config "$WORK/a.conf" A 5060 20000
node_config "$WORK/b.conf" B 6060 22000
stir_pair

# call_marked NAME PORT: a call via PORT must be marked TN-Validation-Passed.
call_marked() {
	local v
	v=$(call_identity "$1" "$2" "$URL")
	[ "$v" = "verstat=TN-Validation-Passed" ] || {
		tail -n 20 "$WORK/A.log" "$WORK/B.log" >&2; fail "$1: the call was not marked TN-Validation-Passed ($v)"; }
}

# (a) a rogue certificate under the URL's name.
name=$(printf '%s' "$URL" | sha256sum | cut -d' ' -f1)
{ printf 'pc1 %s\n' "$(($(date +%s) + 300))"; cat "$WORK/rogue-ca.crt"; } | rcli -x SET "portcullis:cert:$name" >/dev/null
call_marked rogue 6062
[ "$(node_counter B cluster_values_refused)" -ge 1 ] || fail "B did not refuse the rogue certificate"
node_log B "a shared certificate in the cluster refused"
for _ in $(seq 20); do [ "$(node_counter B cluster_certs_written)" -ge 1 ] && break; sleep 0.05; done
[ "$(node_counter B cluster_certs_written)" -ge 1 ] || fail "B did not share the chain it fetched"
rcli GET "portcullis:cert:$name" | grep -q "BEGIN CERTIFICATE" || fail "no certificate in Redis"
rcli GET "portcullis:cert:$name" | grep -q "$URL" && fail "the URL itself is in Redis"
ttl=$(rcli TTL "portcullis:cert:$name")
# The server allows an hour (max-age 3600), the cache keeps it 600 s: so does Redis.
[ "$ttl" -gt 500 ] && [ "$ttl" -le 600 ] || fail "the shared certificate's TTL is $ttl, not the cache lifetime (600 s)"

# (b) the x5u server gone: A verifies from the shared copy.
kill "$HTTPD"
wait "$HTTPD" 2>/dev/null || true
call_marked shared 5062
[ "$(node_counter A cluster_certs_read)" -ge 1 ] || fail "A did not read the shared certificate"
stop_node B
stop_node A
