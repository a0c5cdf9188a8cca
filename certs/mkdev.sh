#!/bin/sh
# Creates the development PKI with GnuTLS certtool: a CA, the gateway's
# certificate, the trunk peer's, a phone's and user alice's client
# certificates, and an impostor's (a user's client-only certificate in the
# trunk's domain, for the tests that it never passes as the trunk); and a
# development STI PKI for RFC 8224 Identity: its own STI-CA (sti-ca), the
# gateway's signing certificate (sti) and a second signer (sti-peer), EC
# P-256 with a TNAuthList; and the RFC 4474 signers under that STI-CA, RSA
# 2048 without TNAuthList: the gateway's legacy certificate (legacy, naming
# the reference domain) and a legacy trunk's (legacy-peer). Idempotent: existing files are kept unless
# --force is given; a certificate missing beside an existing CA (one added
# to this script later) is issued by that CA, the others are left alone.
# Usage: mkdev.sh [--force] [DIR]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
out=${1:-"$here/dev"}

command -v certtool >/dev/null 2>&1 || {
	echo "mkdev.sh: certtool not found (Debian package gnutls-bin)" >&2; exit 1; }

mkdir -p "$out"
umask 077
# RFC 4474 signs with RSA (rsa-sha256); everything else is EC P-256.
key() {
	case $1 in
	*/legacy*.key) certtool --generate-privkey --key-type=rsa --bits=2048 --outfile "$1" 2>/dev/null ;;
	*) certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1" 2>/dev/null ;;
	esac
}

# issue CA NAMES...: makes CA (unless present and not forced) and every NAME
# missing beside it (all of them with --force), each signed by CA.
issue() {
	ca=$1; shift
	names=""
	if [ "$force" -eq 0 ] && [ -f "$out/$ca.crt" ] && [ -f "$out/$ca.key" ]; then
		for name in "$@"; do [ -f "$out/$name.crt" ] || names="$names $name"; done
	else
		key "$out/$ca.key"
		certtool --generate-self-signed --load-privkey "$out/$ca.key" \
			--template "$here/templates/$ca.cfg" --outfile "$out/$ca.crt" 2>/dev/null
		names="$*"
	fi
	for name in $names; do
		key "$out/$name.key"
		certtool --generate-certificate --load-privkey "$out/$name.key" \
			--load-ca-certificate "$out/$ca.crt" --load-ca-privkey "$out/$ca.key" \
			--template "$here/templates/$name.cfg" --outfile "$out/$name.crt" 2>/dev/null
		# Key and certificate in one file, for peers such as stunnel.
		cat "$out/$name.crt" "$out/$name.key" > "$out/$name.pem"
		made=1
	done
}

made=0
issue ca gateway trunk phone alice impostor
issue sti-ca sti sti-peer legacy legacy-peer
chmod 644 "$out"/*.crt
if [ "$made" -eq 1 ]; then
	echo "development PKI written to $out"
else
	echo "development PKI already present in $out"
fi
