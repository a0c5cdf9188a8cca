#!/bin/bash
# Bans and lockouts are kept in Redis as state (hashes portcullis:bans and
# portcullis:lockouts, each entry tagged with the cluster key's MAC), not
# only announced: a node started after they were decided enforces them.
#   - node A alone bans a flooding source (127.0.0.4) and locks out a
#     source (127.0.0.5) and a user (alice) after a wrong password;
#   - a forged entry (no valid tag) banning 127.0.0.7 is put in the hash;
#   - node B starts afterwards: it applies the ban and both lockouts
#     (127.0.0.4 refused as banned, 127.0.0.5 and alice get 403) and
#     refuses the forged entry (counted; 127.0.0.7's call is answered).
# Without the state B never hears of what A decided before it started.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/cluster_lib.inc"
command -v redis-server >/dev/null || fail "redis-server is not installed (quickstart.sh installs it)"

ABUSE='abuse = { request_rate = 5; request_burst = 10; ban_after = 5; ban_window = 10; ban = 60; };'
make_users alice:secret123 bob:bobsecret
start_redis
keyed_pair
for n in a b; do
	sed -i -e 's/{ name = "outside"; rtp_address/{ name = "outside"; auth = "digest"; rtp_address/' "$WORK/$n.conf"
	printf '%s\nauth = { users = "%s"; algorithms = [ "MD5" ]; max_failures = 1; user_max_failures = 1; lockout = 60; };\n' \
		"$ABUSE" "$WORK/users" >>"$WORK/$n.conf"
done
start_node A "$WORK/a.conf"
node_log A "connected as node \"A\""

# A bans 127.0.0.4 and locks out 127.0.0.5 and alice.
python3 "$TESTS/integration/flood.py" --gw 127.0.0.1:5062 --src 127.0.0.4 --port 15098 --count 120 \
	--rate 100 --listen 1 --to-tag nodialog >"$WORK/flood.out" 2>&1 || { cat "$WORK/flood.out" >&2; fail "the flooder failed"; }
node_log A "refused: 403 Forbidden \(source banned after"
fill_scenario policy_uac_auth_refused.xml "$WORK/locked.xml" HEADERS "" EXPECT 403 CHECK "."
run_sipp "$WORK/locked.xml" 127.0.0.1:5062 -au alice -ap wrong -s carol -t u1 -i 127.0.0.5 \
	-auth_uri carol@127.0.0.1:5062 -p 15093 || { cat "$WORK/sipp.out" >&2; fail "A did not lock out the wrong password"; }
for _ in $(seq 20); do [ "$(rcli HLEN portcullis:lockouts)" -ge 2 ] && break; sleep 0.05; done
[ "$(rcli HLEN portcullis:bans)" -ge 1 ] || fail "A's ban is not kept in Redis"
[ "$(rcli HLEN portcullis:lockouts)" -ge 2 ] || fail "A's lockouts are not kept in Redis"
rcli HGET portcullis:bans 4:7f000004 | head -1 | grep -qP '^m1 [0-9a-f]{16} [0-9a-f]{64}$' || fail "the ban kept carries no tag"
rcli HGET portcullis:lockouts u:alice | grep -q . || fail "alice's lockout is not kept"

# A forged ban of 127.0.0.7 for an hour: untagged, and a genuine tag moved.
rcli HSET portcullis:bans 4:7f000007 "$(($(date +%s) * 1000 + 3600000))" >/dev/null
rcli HSET portcullis:bans 6:20010db800000001 "$(rcli HGET portcullis:bans 4:7f000004)" >/dev/null

start_node B "$WORK/b.conf"
node_log B "connected as node \"B\""
for _ in $(seq 40); do [ "$(node_counter B cluster_lockouts_applied)" -ge 2 ] && break; sleep 0.05; done
[ "$(node_counter B cluster_bans_applied)" -eq 1 ] || fail "B applied $(node_counter B cluster_bans_applied) kept bans, not 1"
[ "$(node_counter B cluster_lockouts_applied)" -ge 2 ] || fail "B did not apply the lockouts kept"
[ "$(node_counter B cluster_values_refused)" -ge 2 ] || fail "B did not refuse the forged entries"
node_log B "entries of portcullis:bans in Redis refused"

before=$(node_counter B requests_refused_banned)
python3 "$TESTS/integration/flood.py" --gw 127.0.0.1:6062 --src 127.0.0.4 --port 15099 --count 1 \
	--listen 1 --to-tag nodialog >"$WORK/flood_b.out" 2>&1 || true
[ "$(node_counter B requests_refused_banned)" -gt "$before" ] || fail "B admitted the source A banned before B started"
echo "PASS ban_kept"

fill_scenario policy_uac_refused.xml "$WORK/src_locked.xml" RURI "sip:[service]@[remote_ip]:[remote_port]" \
	TO "sip:[service]@[remote_ip]:[remote_port]" HEADERS "" EXPECT 403 CHECK "."
run_sipp "$WORK/src_locked.xml" 127.0.0.1:6062 -s carol -t u1 -i 127.0.0.5 -p 15094 || {
	cat "$WORK/sipp.out" >&2; fail "B did not refuse the source A locked out before B started"; }
run_sipp "$WORK/locked.xml" 127.0.0.1:6062 -au alice -ap secret123 -s carol -t u1 -i 127.0.0.6 \
	-auth_uri carol@127.0.0.1:6062 -p 15095 || { cat "$WORK/sipp.out" >&2; fail "B did not refuse alice, locked out at A before B started"; }
echo "PASS lockouts_kept"

# The forged ban was not applied: 127.0.0.7 is challenged (407), not refused.
fill_scenario policy_uac_refused.xml "$WORK/challenged.xml" RURI "sip:[service]@[remote_ip]:[remote_port]" \
	TO "sip:[service]@[remote_ip]:[remote_port]" HEADERS "" EXPECT 407 CHECK "."
run_sipp "$WORK/challenged.xml" 127.0.0.1:6062 -s carol -t u1 -i 127.0.0.7 -p 15096 || {
	cat "$WORK/sipp.out" >&2; fail "B refused 127.0.0.7 after a forged ban"; }
echo "PASS forged_entry_refused"
stop_node B
stop_node A
stop_redis
