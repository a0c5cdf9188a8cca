# Shared helpers for integration tests (sourced). Each test starts the real
# gateway binary on 127.0.0.1 with a configuration of its own, drives it with
# real peers (SIPp, gnutls-cli, stunnel, raw sockets) and stops only the
# processes it started, by PID. Environment from tests/run:
#   PORTCULLIS_BIN  gateway binary      CERTS  development PKI directory
#   WORK            scratch directory for this test
set -u

PIDS=""
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "  $*" >&2; }

cleanup() {
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $PIDS; do
		# Bounded wait: a process that ignores SIGTERM for 5 s is killed.
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT

# wait_port PROTO PORT: until something listens on 127.0.0.1:PORT (5 s max).
wait_port() {
	local flag=-t
	[ "$1" = udp ] && flag=-u
	for _ in $(seq 100); do
		if ss -ln $flag | awk '{print $4}' | grep -q ":$2\$"; then return 0; fi
		sleep 0.05
	done
	fail "nothing listening on $1 port $2"
}

# start_gateway CONFIG_FILE: starts the gateway, waits for its listeners.
start_gateway() {
	"$PORTCULLIS_BIN" --config "$1" --log-level debug >"$WORK/gateway.log" 2>&1 &
	GW_PID=$!
	PIDS="$PIDS $GW_PID"
	for _ in $(seq 100); do
		grep -q "running with" "$WORK/gateway.log" 2>/dev/null && return 0
		kill -0 "$GW_PID" 2>/dev/null || { cat "$WORK/gateway.log" >&2; fail "gateway exited at start"; }
		sleep 0.05
	done
	fail "gateway did not start"
}

# stop_gateway: SIGTERM, expect a clean exit within 5 s; a sanitizer report fails the test.
stop_gateway() {
	kill -TERM "$GW_PID"
	for _ in $(seq 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$GW_PID" 2>/dev/null; then fail "gateway did not stop on SIGTERM"; fi
	wait "$GW_PID" 2>/dev/null
	local rc=$?
	[ "$rc" -eq 0 ] || { tail -30 "$WORK/gateway.log" >&2; fail "gateway exit status $rc"; }
	if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$WORK/gateway.log"; then
		grep -A20 -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$WORK/gateway.log" >&2
		fail "sanitizer report in the gateway log"
	fi
	grep -q "stopped" "$WORK/gateway.log" || fail "no clean shutdown line"
}

# counter NAME: value from the counters the gateway logs on SIGUSR1.
counter() {
	: >"$WORK/mark"
	local before
	before=$(grep -c "counter open_connections" "$WORK/gateway.log")
	kill -USR1 "$GW_PID"
	for _ in $(seq 50); do
		[ "$(grep -c "counter open_connections" "$WORK/gateway.log")" -gt "$before" ] && break
		sleep 0.05
	done
	awk -v n="$1" '$0 ~ "counter " n " = " { v = $NF } END { print v + 0 }' "$WORK/gateway.log"
}

expect_log() {
	local pattern=$1 seconds=${2:-5}
	for _ in $(seq $((seconds * 20))); do
		grep -qE "$pattern" "$WORK/gateway.log" && return 0
		sleep 0.05
	done
	tail -20 "$WORK/gateway.log" >&2
	fail "gateway log never matched: $pattern"
}

# opts NAME: an OPTIONS to the gateway over TLS, NAME making branch and Call-ID unique.
opts() {
	printf 'OPTIONS sip:localhost SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK%s\r\nMax-Forwards: 70\r\nFrom: <sip:t@localhost>;tag=1\r\nTo: <sip:localhost>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' "$1" "$1"
}

# make_rogue_cert DIR: a CA nobody trusts and a client certificate it signed
# that carries the trunk's names (DIR/peer.crt, DIR/peer.key).
make_rogue_cert() {
	local d=$1
	mkdir -p "$d"
	certtool --generate-privkey --key-type=ecdsa --outfile "$d/ca.key" 2>/dev/null
	printf 'cn = "Rogue CA"\nca\ncert_signing_key\nexpiration_days = 2\n' >"$d/ca.cfg"
	certtool --generate-self-signed --load-privkey "$d/ca.key" --template "$d/ca.cfg" \
		--outfile "$d/ca.crt" 2>/dev/null
	certtool --generate-privkey --key-type=ecdsa --outfile "$d/peer.key" 2>/dev/null
	printf 'cn = "trunk.portcullis.test"\ndns_name = "trunk.portcullis.test"\nuri = "sip:trunk.portcullis.test"\ntls_www_client\nsigning_key\nexpiration_days = 2\n' >"$d/peer.cfg"
	certtool --generate-certificate --load-privkey "$d/peer.key" --load-ca-certificate "$d/ca.crt" \
		--load-ca-privkey "$d/ca.key" --template "$d/peer.cfg" --outfile "$d/peer.crt" 2>/dev/null
	[ -s "$d/peer.crt" ] || fail "could not make the rogue certificate"
}

# tls_listener NAME LEG PORT VERIFY [PEER_NAMES]: a TLS listener entry with
# the gateway's certificate, verifying clients against the development CA.
tls_listener() {
	echo "{ name = \"$1\"; leg = \"$2\"; transport = \"tls\"; address = \"127.0.0.1\"; port = $3;
    tls = { certificate = \"$CERTS/gateway.crt\"; key = \"$CERTS/gateway.key\"; ca = \"$CERTS/ca.crt\";
            verify_peer = \"$4\"; peer_names = [ ${5:-} ]; }; }"
}

# A configuration with the reference listeners and any extra text appended.
# write_config FILE [VERIFY] [PEER_NAMES] [EXTRA]
write_config() {
	cat >"$1" <<CONF
domain = "localhost";
listeners = (
  { name = "inside-udp"; leg = "inside"; transport = "udp"; address = "127.0.0.1"; port = 5060; },
  { name = "inside-tcp"; leg = "inside"; transport = "tcp"; address = "127.0.0.1"; port = 5060; },
  { name = "outside-tls"; leg = "outside"; transport = "tls"; address = "127.0.0.1"; port = 5061;
    tls = { certificate = "$CERTS/gateway.crt"; key = "$CERTS/gateway.key"; ca = "$CERTS/ca.crt";
            verify_peer = "${2:-required}"; peer_names = [ ${3:-} ]; }; }
);
${4:-}
CONF
}

# trunk_peer KEEPALIVE: a configuration fragment naming the trunk peer over
# TLS at 127.0.0.1:5071, pinged with OPTIONS every KEEPALIVE seconds, to which
# the gateway presents its own certificate.
trunk_peer() {
	echo "peers = ( { name = \"trunk\"; transport = \"tls\"; address = \"127.0.0.1\"; port = 5071;
  sip_domain = \"trunk.portcullis.test\"; keepalive_interval = $1;
  tls = { certificate = \"$CERTS/gateway.crt\"; key = \"$CERTS/gateway.key\"; ca = \"$CERTS/ca.crt\"; }; } );"
}

# start_options_uas CALLS: SIPp answering up to CALLS OPTIONS on TCP
# 127.0.0.1:15072 (the trunk behind a stunnel_server on 5071).
start_options_uas() {
	timeout 60 sipp -sf "$TESTS/integration/sipp/options_uas.xml" -t t1 -p 15072 -i 127.0.0.1 -m "$1" -nostdin \
		>"$WORK/uas.out" 2>&1 &
	PIDS="$PIDS $!"
	wait_port tcp 15072
}

# call_config FILE [EXTRA]: the reference scenario for calls (INSIDE_MEDIA and
# OUTSIDE_MEDIA override the legs' media modes, INSIDE_LEG and OUTSIDE_LEG add
# settings to the inside and outside legs, TRUNK_PEER adds settings to the trunk peer, PHONE_ROUTE
# replaces the target of calls from the trunk):
# legs (inside plain RTP, outside SDES-SRTP), the trunk peer over TLS at
# 127.0.0.1:5071 and routes inside -> trunk, outside -> phone at 127.0.0.1:5090.
# kernel_has_io_uring: Linux 6.1 or later with io_uring not disabled, what
# media.io = "auto" needs to use it (media/uring.c).
kernel_has_io_uring() {
	local v; v=$(uname -r)
	local major=${v%%.*} rest=${v#*.}
	local minor=${rest%%[!0-9]*}
	[ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 1 ]; } || return 1
	[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ]
}

call_config() {
	write_config "$1" required "" "peers = ( { name = \"trunk\"; transport = \"tls\"; address = \"127.0.0.1\"; port = 5071;
  sip_domain = \"trunk.portcullis.test\"; ${TRUNK_PEER:-}
  tls = { certificate = \"$CERTS/gateway.crt\"; key = \"$CERTS/gateway.key\"; ca = \"$CERTS/ca.crt\"; }; } );
legs = (
  { name = \"inside\"; media = \"${INSIDE_MEDIA:-rtp}\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 20000, 20999 ]; ${INSIDE_LEG:-} },
  { name = \"outside\"; media = \"${OUTSIDE_MEDIA:-srtp}\"; rtp_address = \"127.0.0.1\"; rtp_ports = [ 30000, 30999 ]; ${OUTSIDE_LEG:-} }
);
routes = (
  { from_leg = \"inside\"; to_leg = \"outside\"; peer = \"trunk\"; },
  { from_leg = \"outside\"; to_leg = \"inside\"; ${PHONE_ROUTE:-transport = \"udp\"; address = \"127.0.0.1\"; port = 5090;} }
);
${2:-}"
}

# start_trunk SCENARIO [CALLS]: SIPp playing the trunk (TCP 127.0.0.1:15072)
# behind stunnel's TLS on 5071 with the trunk's certificate; SCENARIO is a
# file in sipp/ or a path. Traces in $WORK/trunk_{msg,err}.log.
start_trunk() {
	local scn=$1
	[ -f "$scn" ] || scn="$TESTS/integration/sipp/$1"
	timeout 90 sipp -sf "$scn" -t t1 -p 15072 -i 127.0.0.1 -m "${2:-1}" -nostdin \
		-trace_msg -message_file "$WORK/trunk_msg.log" -trace_err -error_file "$WORK/trunk_err.log" \
		>"$WORK/trunk.out" 2>&1 &
	TRUNK_PID=$!
	PIDS="$PIDS $TRUNK_PID"
	wait_port tcp 15072
	[ -f "$WORK/stunnel-5071.conf" ] || stunnel_server 5071 15072 trunk
}

# wait_trunk: the trunk's scenario must finish, successfully, within 10 s.
wait_trunk() {
	for _ in $(seq 100); do kill -0 "$TRUNK_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$TRUNK_PID" || { cat "$WORK/trunk.out" "$WORK/trunk_err.log" >&2; fail "the trunk's scenario failed"; }
}

# start_phone SCENARIO: SIPp as the phone behind the gateway (UDP
# ${PHONE_IP:-127.0.0.1}:5090, where routes from the trunk lead). Traces in
# $WORK/phone_{msg,err}.log.
start_phone() {
	local scn=$1
	[ -f "$scn" ] || scn="$TESTS/integration/sipp/$1"
	timeout 60 sipp -sf "$scn" -t u1 -p 5090 -i "${PHONE_IP:-127.0.0.1}" -m 1 -nostdin \
		-trace_msg -message_file "$WORK/phone_msg.log" -trace_err -error_file "$WORK/phone_err.log" \
		>"$WORK/phone.out" 2>&1 &
	PHONE_PID=$!
	PIDS="$PIDS $PHONE_PID"
	wait_port udp 5090
}

# wait_phone WHAT: the phone's scenario must finish, successfully, within 10 s.
wait_phone() {
	for _ in $(seq 100); do kill -0 "$PHONE_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$PHONE_PID" || { cat "$WORK/phone.out" "$WORK/phone_err.log" >&2; fail "$1"; }
}

# inside_call NAME SCENARIO [sipp args...]: one call from the inside (SIPp on
# UDP 15090 dialling 12125551234, SCENARIO's HEADERS filled with
# $INSIDE_HEADERS, by default none) to the trunk (start_trunk
# uas_trunk.xml); the INVITE the trunk received is saved as
# $WORK/NAME.invite.
inside_call() {
	local name=$1 scn=$2
	shift 2
	start_trunk uas_trunk.xml
	fill_scenario "$scn" "$WORK/$name.xml" HEADERS "${INSIDE_HEADERS:-}"
	run_sipp "$WORK/$name.xml" 127.0.0.1:5060 -s 12125551234 -t u1 -p 15090 -d 100 "$@" || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" "$WORK/trunk_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
		fail "$name: the call failed"; }
	wait_trunk
	received_msg "$WORK/trunk_msg.log" INVITE >"$WORK/$name.invite"
	[ -s "$WORK/$name.invite" ] || fail "$name: no INVITE at the trunk"
	rm -f "$WORK/trunk_msg.log"
}

# trunk_call_marked NAME VERSTAT SCENARIO [sipp args...]: one call from the
# trunk (SIPp on TCP 15073 through a stunnel_client on 15061, or whatever
# $TRUNK_CALL_TARGET names, SCENARIO filled already) to the phone (start_phone uas_phone.xml); the phone's
# INVITE, saved as $WORK/NAME.invite, must carry ;verstat=VERSTAT in its
# From, exactly once.
trunk_call_marked() {
	local name=$1 want=$2 scn=$3 from_line
	shift 3
	start_phone uas_phone.xml
	run_sipp "$scn" "${TRUNK_CALL_TARGET:-127.0.0.1:15061}" -t t1 -p 15073 -d 100 "$@" || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
		fail "$name: the call from the trunk failed"; }
	wait_phone "$name: the phone's scenario failed"
	received_msg "$WORK/phone_msg.log" INVITE >"$WORK/$name.invite"
	from_line=$(grep -i "^From:" "$WORK/$name.invite")
	[ "$(grep -o "verstat=" <<<"$from_line" | wc -l)" -eq 1 ] &&
		grep -q "verstat=$want[;@>]" <<<"$from_line" || {
		cat "$WORK/$name.invite" >&2; tail -20 "$WORK/gateway.log" >&2
		fail "$name: the phone's From does not carry exactly verstat=$want"; }
	rm -f "$WORK/phone_msg.log"
}

# run_sipp SCENARIO TARGET [extra sipp args...]: one call, 20 s max.
run_sipp() {
	local scn=$1 target=$2
	shift 2
	[ -f "$scn" ] || scn="$TESTS/integration/sipp/$scn"
	timeout 30 sipp -sf "$scn" "$target" -m 1 -timeout 20s \
		-timeout_error -nostdin -trace_err -error_file "$WORK/sipp_err.log" \
		-trace_msg -message_file "$WORK/sipp_msg.log" "$@" >"$WORK/sipp.out" 2>&1
}

# stunnel_run client|server ACCEPT_PORT CONNECT_PORT CERT_BASENAME: a TLS
# wrapper for SIPp, which Debian builds without TLS. As client it verifies the
# gateway (chain and name $CHECK_HOST, default localhost); as server it
# demands a client certificate.
stunnel_run() {
	local role_opts
	if [ "$1" = client ]; then
		role_opts=$'client = yes\ncheckHost = '"${CHECK_HOST:-localhost}"
	else
		role_opts="requireCert = yes"
	fi
	cat >"$WORK/stunnel-$2.conf" <<CONF
foreground = yes
pid =
debug = 5
output = $WORK/stunnel-$2.log
[sip]
$role_opts
accept = 127.0.0.1:$2
connect = 127.0.0.1:$3
cert = $CERTS/$4.pem
CAfile = $CERTS/ca.crt
verifyChain = yes
CONF
	stunnel4 "$WORK/stunnel-$2.conf" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_port tcp "$2"
}
stunnel_client() { stunnel_run client "$@"; }
stunnel_server() { stunnel_run server "$@"; }

# relay_ports: once the phone has the gateway's 200 and the trunk its INVITE
# (from the SIPp traces), sets in_port / out_port to the relay ports each
# side was given and offered_key to the gateway's AEAD_AES_256_GCM key
# offered to the trunk (tag 1); fails when any is missing.
relay_ports() {
	for _ in $(seq 100); do
		grep -q "^SIP/2.0 200 OK" "$WORK/sipp_msg.log" 2>/dev/null &&
			grep -q "a=crypto:1" "$WORK/trunk_msg.log" 2>/dev/null && break
		sleep 0.05
	done
	in_port=$(awk '/^SIP\/2.0 200 OK/{f=1} f && /^m=audio/{print $2; exit}' "$WORK/sipp_msg.log")
	out_port=$(awk '/^INVITE /{f=1} f && /^m=audio/{print $2; exit}' "$WORK/trunk_msg.log")
	offered_key=$(grep -m1 -o 'a=crypto:1 AEAD_AES_256_GCM inline:[A-Za-z0-9+/=]*' "$WORK/trunk_msg.log" |
		sed 's/.*inline://')
	[ -n "$in_port" ] && [ -n "$out_port" ] && [ -n "$offered_key" ] || fail "no relay ports or key in the traces"
	note "inside relay $in_port, outside relay $out_port"
}

# fill_scenario TEMPLATE OUT [NAME VALUE]...: a copy of the SIPp scenario
# TEMPLATE (a file in sipp/ or a path) with each @NAME@ replaced by VALUE,
# which may span lines; a line holding only a placeholder whose VALUE is
# empty is removed (an empty line would end the headers). Fails when a
# placeholder is left. In XML attributes (an ereg regexp) write &quot; for ".
fill_scenario() {
	local src=$1 out=$2 text
	shift 2
	[ -f "$src" ] || src="$TESTS/integration/sipp/$src"
	text=$(<"$src")
	while [ $# -ge 2 ]; do
		[ -z "$2" ] && text=${text//$'\n'"@$1@"$'\n'/$'\n'}
		text=${text//"@$1@"/"$2"}
		shift 2
	done
	printf '%s\n' "$text" >"$out"
	! grep -qE '@[A-Z_]+@' "$out" || fail "placeholder left in $out: $(grep -oE '@[A-Z_]+@' "$out" | head -1)"
}

# start_sipp NAME SCENARIO TARGET [sipp args...]: one SIPp call in the
# background (20 s max), traces in $WORK/NAME_{msg,err}.log; wait_sipp NAME
# WHAT: it must end successfully within 20 s, or the test fails with WHAT.
start_sipp() {
	local name=$1 scn=$2 target=$3
	shift 3
	[ -f "$scn" ] || scn="$TESTS/integration/sipp/$scn"
	timeout 30 sipp -sf "$scn" "$target" -m 1 -timeout 20s -timeout_error -nostdin \
		-trace_err -error_file "$WORK/${name}_err.log" -trace_msg -message_file "$WORK/${name}_msg.log" \
		"$@" >"$WORK/$name.out" 2>&1 &
	echo $! >"$WORK/$name.pid"
	PIDS="$PIDS $!"
}
wait_sipp() {
	local pid
	pid=$(cat "$WORK/$1.pid")
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" || { cat "$WORK/$1.out" "$WORK/$1_err.log" >&2; tail -20 "$WORK/gateway.log" >&2; fail "$2"; }
}

# received_msg TRACE START [N]: the Nth (default first) message a SIPp trace
# shows as received whose first line begins with START ("INVITE",
# "SIP/2.0 503"), start line, headers and body.
received_msg() {
	awk -v start="$2" -v want="${3:-1}" '
		/^-----------------------------------------------/ { rcv = 0; first = 0; hit = 0; next }
		/^(UDP|TCP|TLS|SCTP) message received/ { rcv = 1; first = 1; next }
		rcv && first && /^\r?$/ { next }
		rcv && first { first = 0; hit = index($0, start) == 1 && ++n == want }
		hit { print }
	' "$1" 2>/dev/null
}

# scanner_options SRC_PORT: one OPTIONS over UDP from 127.0.0.1:SRC_PORT to
# the gateway's 5060 with a scanner's User-Agent (the built-in list refuses
# it: REFUSAL_SCANNER); prints the answer's status line ("" if none in 2 s).
scanner_options() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(2)
msg = ("OPTIONS sip:gw@127.0.0.1:5060 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:%s;branch=z9hG4bKscan1;rport\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:scan@127.0.0.1>;tag=s1\r\nTo: <sip:gw@127.0.0.1>\r\n"
       "Call-ID: scan-1@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\n"
       "Content-Length: 0\r\n\r\n" % sys.argv[1])
s.sendto(msg.encode(), ("127.0.0.1", 5060))
try:
    print(s.recv(4096).decode(errors="replace").split("\r\n")[0])
except socket.timeout:
    print("")
PY
}

# start_prometheus SCRAPE_CONFIG: a Prometheus server on a free loopback
# port scraping every second with the scrape_configs entry given as YAML
# (indented as a list item); PROM_PID and PROM_PORT are set.
start_prometheus() {
	PROM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf 'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }\nscrape_configs:\n%s\n' \
		"$1" >"$WORK/prometheus.yml"
	mkdir -p "$WORK/prometheus-data"
	prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus-data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
	PROM_PID=$!
	PIDS="$PIDS $PROM_PID"
}

# prom_value EXPR: the value of the first series EXPR gives, waiting up to
# 30 s for one ("" when none came, or Prometheus exited).
prom_value() {
	local got=""
	for _ in $(seq 60); do
		kill -0 "$PROM_PID" 2>/dev/null || break
		got=$(curl -s --max-time 2 -G --data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
			python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null) || true
		[ -n "$got" ] && break
		sleep 0.5
	done
	echo "$got"
}

# hold_connections PORT N [BYTES]: N connections to 127.0.0.1:PORT opened
# without waiting, each sending BYTES (a Python bytes literal) once open,
# and held 4 s in the background (FLOOD is its PID): a connection flood.
hold_connections() {
	python3 - "$1" "$2" "${3:-b\"\"}" >"$WORK/flood.out" 2>&1 <<'PY' &
import ast, socket, sys, time
port, n, data = int(sys.argv[1]), int(sys.argv[2]), ast.literal_eval(sys.argv[3])
held = []
for _ in range(n):
    s = socket.socket(); s.setblocking(False)
    try: s.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    held.append(s)
if data:
    time.sleep(0.5)
    for s in held:
        try: s.send(data)
        except OSError: pass
print("open", len(held), flush=True)
time.sleep(4)
PY
	FLOOD=$!
	PIDS="$PIDS $FLOOD"
}

# flood_gain PID PORT N [BYTES]: how many descriptors PID gained while N
# connections (hold_connections) pressed on PORT, printed once they went.
flood_gain() {
	local before during
	before=$(ls /proc/$1/fd | wc -l)
	hold_connections "$2" "$3" "${4:-b\"\"}"
	sleep 2.5
	during=$(ls /proc/$1/fd | wc -l)
	wait "$FLOOD" 2>/dev/null
	echo $((during - before))
}
