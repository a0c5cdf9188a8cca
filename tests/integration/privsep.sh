#!/bin/bash
# Privilege separation (docs/security-model.md): the process that parses
# network input holds no private key, cannot read the key files, runs as an
# unprivileged user with no new privileges under a seccomp filter and cannot
# dump core; neither the STI signing key of RFC 8224 Identity (held by the
# key holder only when a leg signs) nor any HA1 of the digest user store is
# in its memory either, while
# digest registration works through the key holder; the key holder does the TLS private-key operations for both the
# inbound listener and the outgoing client-certificate connection; neither
# process outlives the other.
# Fails when: the key holder is bypassed (a TLS or STI key's secret numbers, or a
# user's HA1 in binary or hex, are found in the network process's memory), the user switch is removed (Uid, key
# readable), NO_NEW_PRIVS or the filter is removed (status), core dumps stay
# possible (limits, /proc ownership of a non-dumpable process), a call the
# gateway needs is missing from the allowlist ("seccomp refused" in the log),
# or the holder is not watched (orphans), or a reload of the user store puts
# its new HA1s in the network process or is not admitted by the holder's filter.
. "$TESTS/integration/lib.sh"
rc=0
pass() { echo "PASS privsep.$1"; }
flunk() { echo "FAIL privsep.$1: $2"; rc=1; }
check() { # check NAME WHY COMMAND...: PASS when COMMAND succeeds
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else flunk "$name" "$why"; fi
}
status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
uids() { awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status"; }
keyholder_of() { awk '{ print $1 }' "/proc/$1/task/$1/children"; }
gone_within() { # gone_within PID SECONDS
	for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}
# An OPTIONS over TLS with a client certificate: the gateway's answer.
tls_options() {
	opts "privsep$1" | timeout 10 gnutls-cli --priority "$2" --x509cafile "$CERTS/ca.crt" \
		--x509certfile "$CERTS/phone.crt" --x509keyfile "$CERTS/phone.key" \
		--sni-hostname localhost -p 5061 127.0.0.1 2>&1
}

# The outside leg signs: the key holder also holds the STI key.
write_config "$WORK/gw.conf" required "" "timers = { t1 = 100; t2 = 400; t4 = 500; };
$(trunk_peer 1)
legs = (
  { name = \"inside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 20000, 20999 ];
    identity_origid = \"2a7c3b1e-5d4f-4e0a-9b6c-8f1d2e3a4b5c\"; },
  { name = \"outside\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 30000, 30999 ]; identity_sign = true; }
);
stir = { certificate = \"$CERTS/sti.crt\"; key = \"$CERTS/sti.key\"; x5u = \"http://127.0.0.1:8080/sti.pem\"; };"
start_options_uas 50
stunnel_server 5071 15072 trunk

start_gateway "$WORK/gw.conf"
KH_PID=$(keyholder_of "$GW_PID")
[ -n "$KH_PID" ] && [ "$(cat "/proc/$KH_PID/comm")" = pc-keyholder ] || fail "no key holder child"
note "network process $GW_PID, key holder $KH_PID"
check keyholder_holds_sti_key "$(grep -m1 'key holder' "$WORK/gateway.log")" \
	grep -q "key holder [0-9]* holds 2 private keys" "$WORK/gateway.log"

# 1. TLS with keys held elsewhere: client side (the trunk demands our
#    certificate) and server side, TLS 1.3 and 1.2.
expect_log "peer trunk is up \(OPTIONS answered 200\)" 15
pass tls_client_certificate
check tls_server_13 "no 200 over TLS 1.3" grep -q "^SIP/2.0 200" <<<"$(tls_options 13 'NORMAL:-VERS-ALL:+VERS-TLS1.3')"
check tls_server_12 "no 200 over TLS 1.2" grep -q "^SIP/2.0 200" <<<"$(tls_options 12 'NORMAL:-VERS-ALL:+VERS-TLS1.2')"

# 2. Who the processes are.
if [ "$(id -u)" -eq 0 ]; then
	nobody=$(id -u nobody)
	check network_uid "network process uids $(uids "$GW_PID")" [ "$(uids "$GW_PID")" = "$nobody $nobody $nobody $nobody" ]
	check keyholder_uid "key holder uids $(uids "$KH_PID")" [ "$(uids "$KH_PID")" = "$nobody $nobody $nobody $nobody" ]
	# The key file, read with the network process's own credentials: refused.
	read -r _ ruid _ < <(awk '$1 == "Uid:"' "/proc/$GW_PID/status")
	read -r _ rgid _ < <(awk '$1 == "Gid:"' "/proc/$GW_PID/status")
	for key in gateway sti; do
		if setpriv --reuid="$ruid" --regid="$rgid" --clear-groups cat "$CERTS/$key.key" >/dev/null 2>&1; then
			flunk "${key}_key_file_unreadable" "uid $ruid can read $CERTS/$key.key"
		else
			pass "${key}_key_file_unreadable"
		fi
	done
else
	note "not root: the user switch is not tested (the gateway keeps uid $(id -u))"
fi
check no_key_fd "a descriptor of the network process names the key file" \
	bash -c "! ls -l /proc/$GW_PID/fd /proc/$KH_PID/fd 2>/dev/null | grep -qE '(gateway|sti).key'"

# 3. No new privileges, seccomp filter mode, for both processes.
for who in network:$GW_PID keyholder:$KH_PID; do
	p=${who#*:}
	check "${who%%:*}_no_new_privs" "NoNewPrivs $(status_field "$p" NoNewPrivs)" [ "$(status_field "$p" NoNewPrivs)" = 1 ]
	check "${who%%:*}_seccomp" "Seccomp $(status_field "$p" Seccomp)" [ "$(status_field "$p" Seccomp)" = 2 ]
	# Every thread, those started before the filter (the media workers)
	# included: a filter loaded on one thread alone leaves the others bare.
	bare=$(grep -lE '^(Seccomp:[[:space:]]+[01]|NoNewPrivs:[[:space:]]+0)$' /proc/"$p"/task/*/status 2>/dev/null | tr '\n' ' ')
	check "${who%%:*}_every_thread_filtered" "threads without the filter or NoNewPrivs: $bare" [ -z "$bare" ]
	# No core: a zero core limit, and non-dumpable (the kernel then gives
	# the process's /proc files to root, whatever the process's user).
	check "${who%%:*}_core_limit" "core limit not 0" \
		bash -c "grep -E '^Max core file size +0 +0 ' /proc/$p/limits >/dev/null"
	if [ "$(uids "$p" | cut -d' ' -f1)" != 0 ]; then
		check "${who%%:*}_not_dumpable" "/proc/$p/environ belongs to uid $(stat -c %u "/proc/$p/environ")" \
			[ "$(stat -c %u "/proc/$p/environ")" = 0 ]
	fi
done

# 4. The private keys' secret numbers (the TLS key, and the STI key's
#    scalar): absent from the network process, present in the key holder
#    (which proves the scan finds them).
if [ "$(id -u)" -eq 0 ]; then
	for key in gateway sti; do
		n=; [ "$key" = sti ] && n=_sti
		python3 "$TESTS/integration/memscan.py" "$CERTS/$key.key" "$GW_PID" >"$WORK/scan-network-$key.txt" 2>&1
		python3 "$TESTS/integration/memscan.py" "$CERTS/$key.key" "$KH_PID" >"$WORK/scan-keyholder-$key.txt" 2>&1
		check "network_memory_has_no${n}_key" "$(grep -v '^hits' "$WORK/scan-network-$key.txt" | head -3 | tr '\n' ';')" \
			grep -qx "hits 0" "$WORK/scan-network-$key.txt"
		check "keyholder_memory_has${n}_key" "the scan found nothing in the key holder: $(tail -1 "$WORK/scan-keyholder-$key.txt")" \
			grep -qE "^private key(\s|$| \(reversed\))" "$WORK/scan-keyholder-$key.txt"
	done
else
	note "not root: another process's memory cannot be scanned"
fi

# 5. Normal work made no call outside the allowlist.
kill -USR1 "$GW_PID"; sleep 0.3
check allowlist_complete "$(grep -m3 'seccomp refused' "$WORK/gateway.log" | tr '\n' ';')" \
	bash -c "! grep -q 'seccomp refused' '$WORK/gateway.log'"

# 6. A clean stop takes the key holder with it.
stop_gateway
check keyholder_ends_with_gateway "key holder $KH_PID still alive after the gateway stopped" gone_within "$KH_PID" 3

# 7. A configured user; the key holder killed: the gateway stops (status 1).
if [ "$(id -u)" -eq 0 ] && id daemon >/dev/null 2>&1; then
	write_config "$WORK/user.conf" required "" "user = \"daemon\";"
	start_gateway "$WORK/user.conf"
	check configured_user "uids $(uids "$GW_PID")" [ "$(uids "$GW_PID" | cut -d' ' -f1)" = "$(id -u daemon)" ]
else
	start_gateway "$WORK/gw.conf"
fi
KH_PID=$(keyholder_of "$GW_PID")
kill -9 "$KH_PID"
if gone_within "$GW_PID" 5; then
	wait "$GW_PID"; st=$?
	check gateway_ends_with_keyholder "exit status $st, want 1" [ "$st" = 1 ]
	check keyholder_death_logged "no log line" grep -q "the key holder exited" "$WORK/gateway.log"
else
	flunk gateway_ends_with_keyholder "the gateway runs on without its key holder"
	kill "$GW_PID"; gone_within "$GW_PID" 5 || kill -9 "$GW_PID"; wait "$GW_PID" 2>/dev/null
fi

# 8. The network process killed outright: no orphaned key holder.
start_gateway "$WORK/gw.conf"
KH_PID=$(keyholder_of "$GW_PID")
kill -9 "$GW_PID"; wait "$GW_PID" 2>/dev/null
check keyholder_not_orphaned "key holder $KH_PID outlived a killed gateway" gone_within "$KH_PID" 3

# 9. An RSA key (RSA-PSS in TLS 1.3, PKCS#1 in TLS 1.2) through the holder.
certtool --generate-privkey --key-type=rsa --bits=2048 --outfile "$WORK/rsa.key" 2>/dev/null
printf 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nsigning_key\nexpiration_days = 2\n' >"$WORK/rsa.cfg"
certtool --generate-certificate --load-privkey "$WORK/rsa.key" --load-ca-certificate "$CERTS/ca.crt" \
	--load-ca-privkey "$CERTS/ca.key" --template "$WORK/rsa.cfg" --outfile "$WORK/rsa.crt" 2>/dev/null
sed "s|$CERTS/gateway.crt|$WORK/rsa.crt|; s|$CERTS/gateway.key|$WORK/rsa.key|" "$WORK/gw.conf" >"$WORK/rsa.conf"
start_gateway "$WORK/rsa.conf"
check rsa_tls_13 "no 200 over TLS 1.3 with an RSA key" grep -q "^SIP/2.0 200" <<<"$(tls_options rsa13 'NORMAL:-VERS-ALL:+VERS-TLS1.3')"
check rsa_tls_12 "no 200 over TLS 1.2 with an RSA key" grep -q "^SIP/2.0 200" <<<"$(tls_options rsa12 'NORMAL:-VERS-ALL:+VERS-TLS1.2')"
stop_gateway

# 10. Files written after the switch: the SQLite registrar store, opened by
#    root before it, keeps taking bindings (a guard, not an attack: SQLite
#    writes through the descriptors it opened at start).
INSIDE_LEG='registrar = true; allow_unauthenticated_register = true;' call_config "$WORK/reg.conf" "registrar = { store = \"$WORK/bindings.db\"; };"
start_gateway "$WORK/reg.conf"
reply=$(python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); s.settimeout(5)
port = s.getsockname()[1]
s.sendto((f"REGISTER sip:localhost SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKprivsepreg\r\n"
          "Max-Forwards: 70\r\nFrom: <sip:carol@localhost>;tag=1\r\nTo: <sip:carol@localhost>\r\n"
          f"Call-ID: privsep-reg\r\nCSeq: 1 REGISTER\r\nContact: <sip:carol@127.0.0.1:{port}>\r\n"
          "Expires: 300\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", 5060))
print(s.recv(4096).decode(errors="replace").split("\r\n")[0])
PY
)
stop_gateway
check registrar_store_written "REGISTER answered \"$reply\"; bindings: $(sqlite3 "$WORK/bindings.db" 'select user from bindings' 2>&1)" \
	[ "$(sqlite3 "$WORK/bindings.db" 'select user from bindings' 2>&1)" = carol ]

# 11. A user that does not exist is a start-up error naming it.
out=$(timeout 5 "$PORTCULLIS_BIN" --config "$WORK/gw.conf" --user no-such-user-x 2>&1) && flunk unknown_user "started"
[[ "$out" == *'user "no-such-user-x"'* ]] && pass unknown_user || flunk unknown_user "message: $out"
# 12. Digest: the user store's HA1s, binary and hex, are in the key holder
#     only, also after registrations (SHA-256 and MD5, so both verification
#     paths ran) and a wrong password.
PASSWD="$(dirname "$PORTCULLIS_BIN")/portcullis-passwd"
echo "privsep-pw-1" | "$PASSWD" dave portcullis.test sip:dave@portcullis.test >"$WORK/users" || fail "passwd: dave"
echo "privsep-pw-2" | "$PASSWD" erin portcullis.test >>"$WORK/users" || fail "passwd: erin"
INSIDE_LEG='registrar = true; auth = "digest";' PHONE_ROUTE='registered = true;' \
	call_config "$WORK/digest.conf" "auth = { realm = \"portcullis.test\"; users = \"$WORK/users\"; };"
start_gateway "$WORK/digest.conf"
KH_PID=$(keyholder_of "$GW_PID")
check digest_register_sha256 "$(tail -3 "$WORK/gateway.log" | tr '\n' ';')" \
	python3 "$TESTS/integration/register_sha256.py" dave privsep-pw-1 portcullis.test 5093
md5_reply=$(python3 - <<'PY'
import hashlib, re, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); s.settimeout(5)
port = s.getsockname()[1]
def send(cseq, auth=""):
    s.sendto((f"REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKps{cseq}\r\n"
              "Max-Forwards: 70\r\nFrom: <sip:erin@portcullis.test>;tag=1\r\nTo: <sip:erin@portcullis.test>\r\n"
              f"Call-ID: privsep-md5\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:erin@127.0.0.1:{port}>\r\n"
              f"Expires: 300\r\n{auth}Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", 5060))
    return s.recv(4096).decode(errors="replace")
nonce = re.search(r'nonce="([^"]+)", algorithm=MD5', send(1)).group(1)
md5 = lambda t: hashlib.md5(t.encode()).hexdigest()
ha2 = md5("REGISTER:sip:127.0.0.1:5060")
resp = md5(f"{md5('erin:portcullis.test:privsep-pw-2')}:{nonce}:00000001:c0ffee:auth:{ha2}")
print(send(2, f'Authorization: Digest username="erin", realm="portcullis.test", nonce="{nonce}", '
              f'uri="sip:127.0.0.1:5060", response="{resp}", algorithm=MD5, qop=auth, nc=00000001, '
              'cnonce="c0ffee"\r\n').split("\r\n")[0])
PY
)
check digest_register_md5 "the MD5 REGISTER got \"$md5_reply\"" [ "$md5_reply" = "SIP/2.0 200 OK" ]
if [ "$(id -u)" -eq 0 ]; then
	for u in dave erin; do
		python3 "$TESTS/integration/memscan.py" --ha1 "$WORK/users" "$u" "$GW_PID" >"$WORK/ha1-network-$u.txt" 2>&1
		python3 "$TESTS/integration/memscan.py" --ha1 "$WORK/users" "$u" "$KH_PID" >"$WORK/ha1-keyholder-$u.txt" 2>&1
		check "network_memory_has_no_ha1_$u" "$(grep -v '^hits' "$WORK/ha1-network-$u.txt" | head -3 | tr '\n' ';')" \
			grep -qx "hits 0" "$WORK/ha1-network-$u.txt"
		check "keyholder_memory_has_ha1_$u" "the scan found nothing in the key holder: $(tail -1 "$WORK/ha1-keyholder-$u.txt")" \
			grep -qE "^ha1 (md5|sha256) in" "$WORK/ha1-keyholder-$u.txt"
	done
else
	note "not root: another process's memory cannot be scanned"
fi
check digest_through_keyholder "keyholder_requests $(counter keyholder_requests)" [ "$(counter keyholder_requests)" -ge 4 ]
# 13. A reload: the key holder re-reads the store (a new file renamed over
#     the old, under the holder's filter), dave's new password registers,
#     and his new HA1s too are in the key holder only.
echo "privsep-pw-3" | "$PASSWD" dave portcullis.test sip:dave@portcullis.test >"$WORK/users.new"
echo "privsep-pw-2" | "$PASSWD" erin portcullis.test >>"$WORK/users.new"
mv "$WORK/users.new" "$WORK/users"
kill -HUP "$GW_PID"
reloaded() {
	for _ in $(seq 100); do
		grep -q "reload: user store $WORK/users: 2 users" "$WORK/gateway.log" && return 0
		sleep 0.05
	done
	return 1
}
check digest_store_reloaded "$(grep -m2 'reload' "$WORK/gateway.log" | tr '\n' ';')" reloaded
check digest_register_after_reload "$(tail -3 "$WORK/gateway.log" | tr '\n' ';')" \
	python3 "$TESTS/integration/register_sha256.py" dave privsep-pw-3 portcullis.test 5094
if [ "$(id -u)" -eq 0 ]; then
	python3 "$TESTS/integration/memscan.py" --ha1 "$WORK/users" dave "$GW_PID" >"$WORK/ha1-network-reload.txt" 2>&1
	python3 "$TESTS/integration/memscan.py" --ha1 "$WORK/users" dave "$KH_PID" >"$WORK/ha1-keyholder-reload.txt" 2>&1
	check network_memory_has_no_reloaded_ha1 "$(grep -v '^hits' "$WORK/ha1-network-reload.txt" | head -3 | tr '\n' ';')" \
		grep -qx "hits 0" "$WORK/ha1-network-reload.txt"
	check keyholder_memory_has_reloaded_ha1 "the scan found nothing in the key holder: $(tail -1 "$WORK/ha1-keyholder-reload.txt")" \
		grep -qE "^ha1 (md5|sha256) in" "$WORK/ha1-keyholder-reload.txt"
fi
stop_gateway
check digest_allowlist_complete "$(grep -m3 'seccomp refused' "$WORK/gateway.log" | tr '\n' ';')" \
	bash -c "! grep -q 'seccomp refused' '$WORK/gateway.log'"
exit $rc
