#!/bin/bash
# The verification service against what a hostile trunk can send (review of
# issue 10). Calls come from the trunk (SIPp behind stunnel) with Identity
# headers made by an independent signer (stir_tool.py); certificates are
# served by a test HTTP server here that can answer late (/slow/S/FILE) or
# never (/hang/N).
#  - A certificate whose TNAuthList lists numbers vouches for those alone:
#    signing another calling number is TN-Validation-Failed (orig mismatch).
#  - Forged verstats never reach the phone; a signature for the asserted
#    number marks that identity alone Passed, not a From naming another.
#  - Calls cancelled while their certificate is being fetched: several on
#    one fetch that then times out (3 s), and some on one that then succeeds
#    while another call waits on it too and is verified; the gateway's
#    state is released and, under the sanitizer build, nothing is touched
#    after it is freed.
#  - The gateway stopped while a call waits on a fetch exits cleanly.
# Without the TNAuthList check the first case is marked Passed; without the
# per-identity mark the From of the other_from case is marked Passed.
. "$TESTS/integration/lib.sh"
TOOL="python3 $TESTS/integration/stir_tool.py"
DEST=+12125551234 DEST_TN=12125551234
CERTDIR="$WORK/sti"
mkdir -p "$CERTDIR"
cp "$CERTS/sti-peer.crt" "$CERTDIR/"

# A leaf of the development STI-CA whose TNAuthList holds one number,
# 15559999 ([2] one "15559999"), instead of an SPC.
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$CERTDIR/tnlist.key" 2>/dev/null
printf '%s\n' 'cn = "tnlist"' signing_key 'expiration_days = 30' \
	'add_extension = "1.3.6.1.5.5.7.1.26 0x300ca20a16083135353539393939"' >"$WORK/tnlist.cfg"
certtool --generate-certificate --load-privkey "$CERTDIR/tnlist.key" --load-ca-certificate "$CERTS/sti-ca.crt" \
	--load-ca-privkey "$CERTS/sti-ca.key" --template "$WORK/tnlist.cfg" --outfile "$CERTDIR/tnlist.crt" \
	2>/dev/null || fail "certtool: tnlist"

cat >"$WORK/slow_server.py" <<'PY'
import http.server, os, sys, threading, time
root = sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_GET(self):
        part = self.path.split("/")
        if part[1] == "hang":
            time.sleep(30)
            return
        if part[1] == "slow":
            time.sleep(float(part[2]))
        try:
            body = open(os.path.join(root, os.path.basename(part[-1])), "rb").read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Cache-Control", "max-age=3600")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
srv.daemon_threads = True
threading.Timer(300, srv.shutdown).start()
srv.serve_forever()
PY
python3 "$WORK/slow_server.py" 8082 "$CERTDIR" &
PIDS="$PIDS $!"
wait_port tcp 8082
URL=http://127.0.0.1:8082

# The trunk is trusted (its asserted identity passes), as in the embedded
# default.
STIR="stir = { trust = \"$CERTS/sti-ca.crt\"; fetch_http_hosts = [ \"127.0.0.1\" ];
  fetch_allow_networks = [ \"127.0.0.0/8\" ]; fetch_timeout = 3000; connect_timeout = 500; };
identity = { trusted_names = [ \"trunk.portcullis.test\" ]; };"

# identity KEY X5U ORIG_TN: an Identity header line for a call to DEST.
identity() {
	echo "Identity: $($TOOL sign --key "$1" --x5u "$2" --orig "$3" --dest "$DEST_TN")"
}

# marked NAME VERSTAT HEADERS FROM: one call from the trunk, whose INVITE
# must reach the phone with exactly ;verstat=VERSTAT in its From.
marked() {
	fill_scenario uac_trunk_identity.xml "$WORK/$1.xml" FROM "$4" HEADERS "$3"
	start_phone uas_phone.xml
	run_sipp "$WORK/$1.xml" 127.0.0.1:15061 -s "$DEST" -t t1 -p 15073 -d 100 || {
		cat "$WORK/sipp.out" "$WORK/sipp_err.log" >&2; tail -30 "$WORK/gateway.log" >&2
		fail "$1: the call from the trunk failed"; }
	wait_phone "$1: the phone's scenario failed"
	local from_line
	from_line=$(received_msg "$WORK/phone_msg.log" INVITE | grep -i "^From:")
	[ "$(grep -o "verstat=" <<<"$from_line" | wc -l)" -eq 1 ] && grep -q "verstat=$2[;@>]" <<<"$from_line" || {
		echo "$from_line" >&2; tail -20 "$WORK/gateway.log" >&2
		fail "$1: the phone's From does not carry exactly verstat=$2"; }
	mv "$WORK/phone_msg.log" "$WORK/$1.phone.log"
}

# unforged NAME HEADERS FROM: a call from the trunk without an Identity
# that claims a verstat itself (FROM's user, HEADERS): the phone's INVITE
# carries ours (No-TN-Validation) and no Passed in any header or spelling.
unforged() {
	marked "$1" No-TN-Validation "$2" "$3"
	! received_msg "$WORK/$1.phone.log" INVITE | grep -qi "validation-passed" || {
		received_msg "$WORK/$1.phone.log" INVITE >&2
		fail "$1: a verstat from the trunk reached the phone"; }
}

# cancelled NAME PORT HEADERS: starts a trunk call that is cancelled after
# 300 ms (wait for it with wait_sipp NAME).
cancelled() {
	fill_scenario uac_trunk_identity_cancel.xml "$WORK/$1.xml" FROM +15550001 HEADERS "$3"
	start_sipp "$1" "$WORK/$1.xml" 127.0.0.1:15061 -s "$DEST" -t t1 -p "$2" -d 300
}

OUTSIDE_LEG='identity_verify = "mark";' call_config "$WORK/gw.conf" "$STIR"
start_gateway "$WORK/gw.conf"
stunnel_client 15061 5061 trunk

# TNAuthList of numbers: its own number passes, another does not.
marked tn_own TN-Validation-Passed "$(identity "$CERTDIR/tnlist.key" "$URL/tnlist.crt" 15559999)" +15559999
marked tn_other TN-Validation-Failed "$(identity "$CERTDIR/tnlist.key" "$URL/tnlist.crt" 15550001)" +15550001
[ "$(counter identity_verify_orig_mismatch)" -ge 1 ] || fail "tn_other: not counted as orig mismatch"

# Forged verstats, from a trunk whose asserted identity is trusted: in the
# From user in another case, %-escaped, and in two asserted identities (tel
# and sip, one in capitals).
unforged caps "" "+15550001;VERSTAT=TN-Validation-Passed"
unforged escaped "" "+15550001%3Bverstat=TN-Validation-Passed"
unforged asserted "P-Asserted-Identity: <tel:+15550001;verstat=TN-Validation-Passed>
P-Asserted-Identity: <sip:+15550001;VerStat=TN-Validation-Passed@trunk.portcullis.test;user=phone>" +15550001

# A signature for the asserted number vouches for that number, not for a
# From (or another asserted identity) naming someone else: only the
# identity that was verified is marked Passed.
fill_scenario uac_trunk_identity.xml "$WORK/other_from.xml" FROM +15550002 HEADERS \
	"$(identity "$CERTS/sti-peer.key" "$URL/sti-peer.crt" 15550001)
P-Asserted-Identity: <sip:+15550003@trunk.portcullis.test;user=phone>
P-Asserted-Identity: <tel:+15550001>"
start_phone uas_phone.xml
run_sipp "$WORK/other_from.xml" 127.0.0.1:15061 -s "$DEST" -t t1 -p 15073 -d 100 || {
	tail -30 "$WORK/gateway.log" >&2; fail "other_from: the call from the trunk failed"; }
wait_phone "other_from: the phone's scenario failed"
received_msg "$WORK/phone_msg.log" INVITE >"$WORK/other_from.invite"
# The phone is no trusted hop: it gets no asserted identity, only the From.
grep -qi "^From: <sip:+15550002;verstat=No-TN-Validation@" "$WORK/other_from.invite" &&
	! grep -qi "validation-passed" "$WORK/other_from.invite" || {
	cat "$WORK/other_from.invite" >&2
	fail "other_from: a From the signature does not cover is marked Passed"; }
rm -f "$WORK/phone_msg.log"

# Three calls wait on one fetch that never answers, and are cancelled
# before it times out.
hang="$(identity "$CERTS/sti-peer.key" "$URL/hang/1" 15550001)"
for i in 1 2 3; do cancelled "hang$i" $((15080 + i)) "$hang"; done
for i in 1 2 3; do wait_sipp "hang$i" "hang$i: the cancelled call was not answered 200 and 487"; done
sleep 3.5 # the fetch times out with nobody waiting
[ "$(counter calls)" -eq 0 ] || fail "hang: call state left behind"

# Two calls cancelled and one kept, all waiting on one fetch that succeeds.
# The header is made first: signing takes longer than the calls may.
slow="$(identity "$CERTS/sti-peer.key" "$URL/slow/2/sti-peer.crt" 15550001)"
for i in 1 2; do cancelled "slow$i" $((15090 + i)) "$slow"; done
marked slow_kept TN-Validation-Passed "$slow" +15550001
for i in 1 2; do wait_sipp "slow$i" "slow$i: the cancelled call was not answered 200 and 487"; done
[ "$(counter calls)" -eq 0 ] || fail "slow: call state left behind"

# Stopped while a call waits on a fetch: a clean exit (stop_gateway fails
# on a sanitizer report).
fill_scenario uac_trunk_identity.xml "$WORK/pending.xml" FROM +15550001 \
	HEADERS "$(identity "$CERTS/sti-peer.key" "$URL/hang/2" 15550001)"
start_sipp pending "$WORK/pending.xml" 127.0.0.1:15061 -s "$DEST" -t t1 -p 15099
sleep 0.5
stop_gateway
