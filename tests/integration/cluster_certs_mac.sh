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
ORIG=+15550001 DEST=+12125551234 DEST_TN=12125551234 ORIG_TN=15550001
CERTDIR="$WORK/sti"
mkdir -p "$CERTDIR"
cp "$CERTS/sti-peer.crt" "$CERTDIR/sti-peer2.crt"
URL=http://127.0.0.1:8081/sti-peer.crt   # never served
URL2=http://127.0.0.1:8081/sti-peer2.crt

new_key "$WORK/cluster.key"
start_redis
STIR="stir = { trust = \"$CERTS/sti-ca.crt\"; fetch_http_hosts = [ \"127.0.0.1\" ];
  fetch_allow_networks = [ \"127.0.0.0/8\" ]; fetch_timeout = 1500; connect_timeout = 500;
  cache_max_age = 600; };"
node_config "$WORK/a.conf" A 5060 20000
node_config "$WORK/b.conf" B 6060 22000
for n in a b; do
	sed -i 's/{ name = "outside"; rtp_address/{ name = "outside"; identity_verify = "mark"; rtp_address/' "$WORK/$n.conf"
	grep -q 'identity_verify = "mark"' "$WORK/$n.conf" || fail "cannot turn verification on"
	printf '%s\n' "$STIR" >>"$WORK/$n.conf"
	with_key "$WORK/$n.conf" "${n^^}" "$WORK/cluster.key"
done
start_node A "$WORK/a.conf"
start_node B "$WORK/b.conf"
node_log A "connected as node \"A\""
node_log B "connected as node \"B\""

sed 's/<sip:carol@localhost>/<sip:+12125551234@localhost>/g' "$TESTS/integration/sipp/cluster_register.xml" \
	>"$WORK/reg_tn.xml"
fill_scenario "$WORK/reg_tn.xml" "$WORK/register.xml" EXPIRES 120
run_sipp "$WORK/register.xml" 127.0.0.1:5060 -t u1 -i 127.0.0.1 -p 5090 || fail "REGISTER failed"
for _ in $(seq 50); do [ "$(node_counter B cluster_bindings_read)" -ge 1 ] && break; sleep 0.1; done

# call NAME PORT X5U: a call from ORIG to DEST placed at PORT with a fresh
# Identity naming X5U; prints the verstat the phone saw.
call() {
	local identity
	identity=$($TOOL sign --key "$CERTS/sti-peer.key" --x5u "$3" --orig "$ORIG_TN" --dest "$DEST_TN")
	sed -e "s/From: <sip:dave@/From: <sip:$ORIG@/" \
		-e "0,/^Contact: /s|^Contact: |Identity: $identity\nContact: |" \
		"$TESTS/integration/sipp/cluster_caller.xml" >"$WORK/$1.xml"
	timeout 30 sipp -sf "$TESTS/integration/sipp/cluster_phone.xml" -t u1 -i 127.0.0.1 -p 5090 -m 1 \
		-nostdin -trace_msg -message_file "$WORK/$1_phone.log" >"$WORK/phone.out" 2>&1 &
	local phone=$!
	PIDS="$PIDS $phone"
	wait_port udp 5090
	run_sipp "$WORK/$1.xml" "127.0.0.1:$2" -s "$DEST" -t u1 -i 127.0.0.1 -p 15090 || {
		cat "$WORK/sipp.out" >&2; tail -n 20 "$WORK/A.log" "$WORK/B.log" >&2; fail "$1: the call failed"; }
	wait "$phone" || fail "$1: the phone did not get the call"
	received_msg "$WORK/$1_phone.log" INVITE | grep -i "^From:" | grep -o "verstat=[A-Za-z-]*"
}

name=$(printf '%s' "$URL" | sha256sum | cut -d' ' -f1)
# (a) the genuine chain, untagged.
{ printf 'pc1 %s\n' "$(($(date +%s) + 300))"; cat "$CERTS/sti-peer.crt"; } | rcli -x SET "portcullis:cert:$name" >/dev/null
v=$(call untagged 6062 "$URL")
[ "$v" != "verstat=TN-Validation-Passed" ] || fail "B took an untagged certificate from Redis"
[ "$(node_counter B cluster_values_refused)" -ge 1 ] || fail "B did not count the untagged certificate"
node_log B "a shared certificate in Redis refused \(not authenticated by the cluster key\)"
echo "PASS untagged_cert_refused"

# (b) a tag line of the right shape with a wrong MAC.
{ printf 'm1 %016x %064d\n' "$(($(date +%s) * 1000))" 0; printf 'pc1 %s\n' "$(($(date +%s) + 300))"
  cat "$CERTS/sti-peer.crt"; } | rcli -x SET "portcullis:cert:$name" >/dev/null
v=$(call forged 5062 "$URL")
[ "$v" != "verstat=TN-Validation-Passed" ] || fail "A took a certificate with a wrong tag from Redis"
[ "$(node_counter A cluster_values_refused)" -ge 1 ] || fail "A did not count the forged certificate"
echo "PASS forged_cert_refused"

# (c) a served URL: shared with a tag, used by the other node.
$TOOL serve --port 8081 --root "$CERTDIR" --lifetime 300 &
HTTPD=$!
PIDS="$PIDS $HTTPD"
wait_port tcp 8081
v=$(call fetched 6062 "$URL2")
[ "$v" = "verstat=TN-Validation-Passed" ] || fail "B did not verify with the served chain ($v)"
name2=$(printf '%s' "$URL2" | sha256sum | cut -d' ' -f1)
for _ in $(seq 20); do [ "$(node_counter B cluster_certs_written)" -ge 1 ] && break; sleep 0.05; done
rcli GET "portcullis:cert:$name2" | head -1 | grep -qP '^m1 [0-9a-f]{16} [0-9a-f]{64}$' ||
	fail "the shared certificate carries no tag"
kill "$HTTPD"
wait "$HTTPD" 2>/dev/null || true
v=$(call shared 5062 "$URL2")
[ "$v" = "verstat=TN-Validation-Passed" ] || fail "A did not verify from the tagged shared copy ($v)"
[ "$(node_counter A cluster_certs_read)" -ge 1 ] || fail "A did not read the shared certificate"
echo "PASS tagged_cert_used"
stop_node B
stop_node A
