#!/bin/bash
# Reload of the digest user store (issue 11): SIGHUP and `portcullisctl
# reload` have the key holder re-read the store (renamed over by an editor
# or portcullis-passwd) while the network process, which cannot read it,
# gets only the users' names and identities back:
#   - alice's changed password: the old one fails (401), the new one
#     registers; bob removed: he can no longer register; carol added: she
#     can; alice's registration from before the reload is still listed and
#     her authenticated call, up across the reload, ends cleanly;
#   - a store that does not parse (a SIGHUP, then portcullisctl reload):
#     refused with file:line, never quoting the bad field, and the running
#     users keep working; a symbolic link in the store's place is refused;
#   - the store is root:daemon 0640: the network process's credentials
#     cannot read it, the key holder carries group daemon for it;
#   - after the reloads the new HA1s, binary and hex, are in the key
#     holder's memory and not in the network process's (memscan, as
#     privsep.sh); no system call was refused by either filter.
# Fails when the store is not re-read, when the old store keeps answering,
# when a broken store replaces the running one, or when HA1s reach the
# network process.
. "$TESTS/integration/lib.sh"
CTL="$(dirname "$PORTCULLIS_BIN")/../tools/portcullisctl"
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
[ -x "$CTL" ] || fail "portcullisctl not built"
[ -x "$PASSWD" ] || fail "portcullis-passwd not built"
ROOT=false
[ "$(id -u)" -eq 0 ] && getent group daemon >/dev/null && ROOT=true
SOCKDIR=$(mktemp -d /tmp/pcusers.XXXXXX)
SOCK="$SOCKDIR/control.sock"
trap 'cleanup; rm -rf "$SOCKDIR"' EXIT
ctl() { "$CTL" -s "$SOCK" "$@"; }
REALM=portcullis.test

# store LINES...: the user store replaced as an editor does it: a new file,
# given its owner and mode, renamed over the old one.
store() {
	: >"$WORK/users.new"
	local spec user pw ids
	for spec in "$@"; do
		IFS=: read -r user pw ids <<<"$spec"
		if [ "$pw" = BROKEN ]; then
			echo "$user $REALM md5=not-a-hash-$user" >>"$WORK/users.new"
		else
			# shellcheck disable=SC2086
			echo "$pw" | "$PASSWD" "$user" "$REALM" $ids >>"$WORK/users.new" || fail "passwd $user"
		fi
	done
	if $ROOT; then chgrp daemon "$WORK/users.new"; fi
	chmod 0640 "$WORK/users.new"
	mv "$WORK/users.new" "$WORK/users"
}

# reg USER PASSWORD PORT: a REGISTER answered with MD5 digest for PASSWORD
# (the gateway offers MD5 alone, for SIPp's call); prints the final status
# after the one answer to a challenge.
reg() {
	python3 - "$@" <<'PY'
import hashlib, re, socket, sys
user, pw, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
realm, ruri = "portcullis.test", "sip:127.0.0.1:5060"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port)); s.settimeout(3)
def send(cseq, auth=""):
    s.sendto((f"REGISTER {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKru{port}x{cseq}\r\n"
              f"Max-Forwards: 70\r\nFrom: <sip:{user}@{realm}>;tag={port}\r\nTo: <sip:{user}@{realm}>\r\n"
              f"Call-ID: reload-users-{user}-{port}\r\nCSeq: {cseq} REGISTER\r\n"
              f"Contact: <sip:{user}@127.0.0.1:{port}>\r\nExpires: 300\r\n{auth}Content-Length: 0\r\n\r\n").encode(),
             ("127.0.0.1", 5060))
    while True:
        data = s.recv(65535).decode(errors="replace")
        if int(data.split(" ", 2)[1]) >= 200:
            return data
first = send(1)
m = re.search(r'WWW-Authenticate: Digest [^\r\n]*nonce="([^"]+)"[^\r\n]*algorithm=MD5', first)
if not m:
    print(first.split("\r\n")[0].split(" ", 2)[1]); sys.exit(0)
h = lambda t: hashlib.md5(t.encode()).hexdigest()
resp = h(f"{h(f'{user}:{realm}:{pw}')}:{m.group(1)}:00000001:c0ffee:auth:{h('REGISTER:' + ruri)}")
print(send(2, f'Authorization: Digest username="{user}", realm="{realm}", nonce="{m.group(1)}", '
              f'uri="{ruri}", response="{resp}", algorithm=MD5, qop=auth, nc=00000001, '
              'cnonce="c0ffee"\r\n').split("\r\n")[0].split(" ", 2)[1])
PY
}
# expect_reg USER PASSWORD PORT STATUS WHY
expect_reg() {
	local got
	got=$(reg "$1" "$2" "$3")
	[ "$got" = "$4" ] || { tail -5 "$WORK/gateway.log" >&2; fail "$5 (REGISTER of $1 got $got, want $4)"; }
}
# hup: SIGHUP, then the next reload report line.
hup() {
	local before
	before=$(grep -c "reload: applied\|reload refused" "$WORK/gateway.log")
	kill -HUP "$GW_PID"
	for _ in $(seq 100); do
		[ "$(grep -c "reload: applied\|reload refused" "$WORK/gateway.log")" -gt "$before" ] && return 0
		sleep 0.05
	done
	fail "no reload report after SIGHUP"
}

# alice's password is SIPp's (sipp/uac_call_auth.xml).
store "alice:secret123:sip:alice@$REALM" "bob:bobs-pass"
# No lockout: this test makes wrong guesses on purpose.
INSIDE_LEG='registrar = true; auth = "digest";' PHONE_ROUTE='registered = true;' \
	call_config "$WORK/gw.conf" "auth = { realm = \"$REALM\"; users = \"$WORK/users\"; algorithms = [ \"MD5\" ];
  max_failures = 0; user_max_failures = 0; };
control = { socket = \"$SOCK\"; };"
start_gateway "$WORK/gw.conf"
KH_PID=$(awk '{ print $1 }' "/proc/$GW_PID/task/$GW_PID/children")
[ -n "$KH_PID" ] || fail "no key holder"

expect_reg alice secret123 5190 200 "alice before any reload"
expect_reg bob bobs-pass 5191 200 "bob before any reload"
# alice's authenticated call, up across the reload that changes her password.
start_trunk uas_trunk.xml
run_sipp uac_call_auth.xml 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 4000 \
	-auth_uri 12125551234@127.0.0.1:5060 &
CALL_PID=$!
PIDS="$PIDS $CALL_PID"
expect_log "call [0-9]+ established" 10

# 1. A changed password, a user removed, a user added; SIGHUP.
store "alice:new-pass-2:sip:alice@$REALM" "carol:carols-pass"
hup
grep -q "reload: applied $WORK/gw.conf and the user store\$" "$WORK/gateway.log" ||
	{ tail -5 "$WORK/gateway.log" >&2; fail "the user store was not reloaded"; }
expect_log "reload: user store $WORK/users: 2 users"
expect_reg alice secret123 5192 401 "alice's old password still works after the reload"
expect_reg alice new-pass-2 5193 200 "alice's new password does not work after the reload"
expect_reg bob bobs-pass 5194 401 "bob was removed but still registers"
expect_reg carol carols-pass 5195 200 "carol was added but cannot register"
regs=$(ctl registrations 2>&1) || fail "registrations: $regs"
grep -q "127.0.0.1:5190" <<<"$regs" || fail "alice's registration from before the reload is gone: $regs"
wait "$CALL_PID" || { cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; fail "alice's call did not survive the reload"; }
wait_trunk
echo "PASS reload_users.sighup_changes_who_authenticates"

# 2. A broken store (line 2): refused with file:line, the running users work.
store "alice:newer-pass-3:sip:alice@$REALM" "dave:BROKEN"
hup
grep -q "reload refused, the running configuration stays: $WORK/users:2: " "$WORK/gateway.log" ||
	{ tail -5 "$WORK/gateway.log" >&2; fail "a broken store was not refused with file:line"; }
grep -q "not-a-hash" "$WORK/gateway.log" && fail "the bad field was quoted in the log"
out=$(ctl reload 2>&1) && fail "portcullisctl reload applied a broken store: $out"
[[ "$out" == *"$WORK/users:2: "* ]] || fail "portcullisctl reload does not name file:line: $out"
expect_reg alice newer-pass-3 5196 401 "the broken store's password works"
expect_reg alice new-pass-2 5197 200 "the running store stopped working after a refused reload"
expect_reg carol carols-pass 5198 200 "carol lost after a refused reload"
# A symbolic link in the store's place is not followed.
mv "$WORK/users" "$WORK/users.real"
ln -s "$WORK/users.real" "$WORK/users"
out=$(ctl reload 2>&1) && fail "a symbolic link was followed: $out"
[[ "$out" == *"symbolic link"* ]] || fail "the symbolic link's refusal: $out"
rm "$WORK/users"; mv "$WORK/users.real" "$WORK/users"
echo "PASS reload_users.broken_store_refused"

# 3. The same through portcullisctl: a fixed store applies.
store "alice:newer-pass-3:sip:alice@$REALM" "carol:carols-pass" "erin:erins-pass:tel:+15550100"
out=$(ctl reload 2>&1) || fail "portcullisctl reload of a good store: $out"
[[ "$out" == *"and the user store"* ]] || fail "portcullisctl reload output: $out"
expect_reg alice new-pass-2 5199 401 "alice's previous password works after portcullisctl reload"
expect_reg alice newer-pass-3 5200 200 "alice's new password fails after portcullisctl reload"
expect_reg erin erins-pass 5201 200 "erin, added, cannot register"
echo "PASS reload_users.portcullisctl_reload"

# 4. Who can read the store, and where its HA1s are.
if $ROOT; then
	read -r _ ruid _ < <(awk '$1 == "Uid:"' "/proc/$GW_PID/status")
	read -r _ rgid _ < <(awk '$1 == "Gid:"' "/proc/$GW_PID/status")
	setpriv --reuid="$ruid" --regid="$rgid" --clear-groups cat "$WORK/users" >/dev/null 2>&1 &&
		fail "the network process's user can read the store"
	awk '$1 == "Groups:"' "/proc/$GW_PID/status" | grep -qw "$(getent group daemon | cut -d: -f3)" &&
		fail "the network process has the store's group"
	awk '$1 == "Groups:"' "/proc/$KH_PID/status" | grep -qw "$(getent group daemon | cut -d: -f3)" ||
		fail "the key holder lacks the store's group: $(grep Groups "/proc/$KH_PID/status")"
	for u in alice carol erin; do
		python3 "$TESTS/integration/memscan.py" --ha1 "$WORK/users" "$u" "$GW_PID" >"$WORK/ha1-network-$u.txt" 2>&1
		python3 "$TESTS/integration/memscan.py" --ha1 "$WORK/users" "$u" "$KH_PID" >"$WORK/ha1-keyholder-$u.txt" 2>&1
		grep -qx "hits 0" "$WORK/ha1-network-$u.txt" ||
			fail "$u's reloaded HA1 is in the network process: $(head -3 "$WORK/ha1-network-$u.txt" | tr '\n' ';')"
		grep -qE "^ha1 (md5|sha256) in" "$WORK/ha1-keyholder-$u.txt" ||
			fail "the scan found $u's HA1 nowhere in the key holder: $(tail -1 "$WORK/ha1-keyholder-$u.txt")"
	done
	echo "PASS reload_users.ha1_only_in_key_holder"
else
	note "not root: the store's group and the processes' memory are not checked"
fi
grep -q "seccomp refused" "$WORK/gateway.log" &&
	fail "a filter refused a call: $(grep -m3 'seccomp refused' "$WORK/gateway.log" | tr '\n' ';')"
stop_gateway
