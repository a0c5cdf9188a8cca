#!/bin/bash
# With a cluster key, the shared STIR certificate cache is authenticated
# like the bindings: a value in Redis without a valid tag (mac.c) is
# refused, so whoever can write to Redis cannot plant a chain under a URL
# it does not serve. Nodes A and B share a key and verify Identity on their
# outside legs ("mark"); the callee +12125551234 is registered at A.
#  (a) the genuine chain of sti-peer, untagged, waits under the URL's name
#      and the URL is not served: B refuses the value (counted, logged),
#      its own fetch fails, the call is not marked Passed. Without the MAC
#      check B takes the planted chain and marks the call Passed;
#  (b) the same with a tag line of the right shape and a wrong MAC, at A;
#  (c) a second URL served: B fetches it and shares it with a tag; the
#      server stopped, A verifies from the tagged copy (Passed).
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"
TOOL="python3 $TESTS/integration/stir_tool.py"
CERTDIR="$WORK/sti"
mkdir -p "$CERTDIR"
cp "$CERTS/sti-peer.crt" "$CERTDIR/sti-peer2.crt"
URL=http://127.0.0.1:8081/sti-peer.crt   # never served
URL2=http://127.0.0.1:8081/sti-peer2.crt

start_redis
keyed_pair
stir_pair

name=$(printf '%s' "$URL" | sha256sum | cut -d' ' -f1)
# (a) the genuine chain, untagged.
{ printf 'pc1 %s\n' "$(($(date +%s) + 300))"; cat "$CERTS/sti-peer.crt"; } | rcli -x SET "portcullis:cert:$name" >/dev/null
v=$(call_identity untagged 6062 "$URL")
[ "$v" != "verstat=TN-Validation-Passed" ] || fail "B took an untagged certificate from Redis"
[ "$(node_counter B cluster_values_refused)" -ge 1 ] || fail "B did not count the untagged certificate"
node_log B "a shared certificate in Redis refused \(not authenticated by the cluster key\)"
echo "PASS untagged_cert_refused"

# (b) a tag line of the right shape with a wrong MAC.
{ printf 'm1 %016x %064d\n' "$(($(date +%s) * 1000))" 0; printf 'pc1 %s\n' "$(($(date +%s) + 300))"
  cat "$CERTS/sti-peer.crt"; } | rcli -x SET "portcullis:cert:$name" >/dev/null
v=$(call_identity forged 5062 "$URL")
[ "$v" != "verstat=TN-Validation-Passed" ] || fail "A took a certificate with a wrong tag from Redis"
[ "$(node_counter A cluster_values_refused)" -ge 1 ] || fail "A did not count the forged certificate"
echo "PASS forged_cert_refused"

# (c) a served URL: shared with a tag, used by the other node.
$TOOL serve --port 8081 --root "$CERTDIR" --lifetime 300 &
HTTPD=$!
PIDS="$PIDS $HTTPD"
wait_port tcp 8081
v=$(call_identity fetched 6062 "$URL2")
[ "$v" = "verstat=TN-Validation-Passed" ] || fail "B did not verify with the served chain ($v)"
name2=$(printf '%s' "$URL2" | sha256sum | cut -d' ' -f1)
for _ in $(seq 20); do [ "$(node_counter B cluster_certs_written)" -ge 1 ] && break; sleep 0.05; done
rcli GET "portcullis:cert:$name2" | head -1 | grep -qP '^m1 [0-9a-f]{16} [0-9a-f]{64}$' ||
	fail "the shared certificate carries no tag"
kill "$HTTPD"
wait "$HTTPD" 2>/dev/null || true
v=$(call_identity shared 5062 "$URL2")
[ "$v" = "verstat=TN-Validation-Passed" ] || fail "A did not verify from the tagged shared copy ($v)"
[ "$(node_counter A cluster_certs_read)" -ge 1 ] || fail "A did not read the shared certificate"
echo "PASS tagged_cert_used"
stop_node B
stop_node A
