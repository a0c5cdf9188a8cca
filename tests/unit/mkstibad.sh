#!/bin/sh
# Makes the STI certificates test_stir_cert refuses, at test time, beside
# the development STI PKI (certs/mkdev.sh) whose STI-CA issues most of them:
# an expired leaf, a not-yet-valid leaf, a leaf of an unknown CA, a leaf
# without TNAuthList, one with a malformed TNAuthList, an RSA leaf (and its
# RSA-without-TNAuthList sibling for RFC 4474, naming example.com), a chain through an
# intermediate CA, a revoked leaf with the STI-CA's CRL naming it (and the
# intermediate's CRL naming its leaf, and a forgery of that one), a leaf
# that is itself a CA, one without digitalSignature, a TNAuthList only in
# the intermediate, and a leaf whose TNAuthList lists numbers, not an SPC.
# Usage: mkstibad.sh DEVDIR OUTDIR (OUTDIR is emptied first).
set -eu
dev=$(cd "$1" && pwd) out=$2
rm -rf "$out"
mkdir -p "$out"
cd "$out"
tn='add_extension = "1.3.6.1.5.5.7.1.26 0x3008a006160431323334"'

ec() { certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1.key" 2>/dev/null; }
# leaf NAME CA TEMPLATE-LINES...: NAME.crt issued by CA (CA.crt/CA.key)
leaf() {
	name=$1 ca=$2; shift 2
	printf 'cn = "%s"\nsigning_key\n' "$name" > "$name.cfg"
	for line in "$@"; do printf '%s\n' "$line" >> "$name.cfg"; done
	certtool --generate-certificate --load-privkey "$name.key" \
		--load-ca-certificate "$ca.crt" --load-ca-privkey "$ca.key" \
		--template "$name.cfg" --outfile "$name.crt" 2>/dev/null
}
cp "$dev/sti-ca.crt" "$dev/sti-ca.key" .

ec expired; leaf expired sti-ca "$tn" 'activation_date = "2020-01-01 00:00:00"' \
	'expiration_date = "2021-01-01 00:00:00"'
ec future; leaf future sti-ca "$tn" 'activation_date = "2090-01-01 00:00:00"' \
	'expiration_date = "2091-01-01 00:00:00"'
ec notn; leaf notn sti-ca 'expiration_days = 30'
ec badtn; leaf badtn sti-ca 'expiration_days = 30' \
	'add_extension = "1.3.6.1.5.5.7.1.26 0x3008a306160431323334"'
certtool --generate-privkey --key-type=rsa --bits=2048 --outfile rsa.key 2>/dev/null
leaf rsa sti-ca "$tn" 'expiration_days = 30'
cp rsa.key rsa4474.key; leaf rsa4474 sti-ca 'expiration_days = 30' 'dns_name = "uri.example"' \
	'uri = "sip:example.com"' 'dns_name = "Example.COM"'

# An STI-CA nobody trusts, and its leaf.
ec other-ca
printf 'cn = "Unknown STI-CA"\nca\ncert_signing_key\nexpiration_days = 30\n' > other-ca.cfg
certtool --generate-self-signed --load-privkey other-ca.key --template other-ca.cfg \
	--outfile other-ca.crt 2>/dev/null
ec unknown; leaf unknown other-ca "$tn" 'expiration_days = 30'

# An intermediate under the STI-CA, its leaf, and the chain as an x5u serves
# it. The intermediate expires before its leaf: a chain that kept only the
# leaf would outlive it.
ec inter
printf 'cn = "STI intermediate"\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 20\n' > inter.cfg
certtool --generate-certificate --load-privkey inter.key --load-ca-certificate sti-ca.crt \
	--load-ca-privkey sti-ca.key --template inter.cfg --outfile inter.crt 2>/dev/null
ec via-inter; leaf via-inter inter "$tn" 'expiration_days = 30'
cat via-inter.crt inter.crt > chain.pem

# Leaves that must not sign: a CA, one whose key usage leaves out
# digitalSignature; an intermediate carrying the TNAuthList its leaf lacks.
ec caleaf; leaf caleaf sti-ca "$tn" 'expiration_days = 30' 'ca' 'cert_signing_key'
# certtool adds digitalSignature to every EC leaf, so OpenSSL makes this
# one (skipped where it is not installed: the test then skips the case).
if command -v openssl >/dev/null 2>&1; then
	ec nodsig
	printf '%s\n' 'keyUsage = critical, keyAgreement' 'basicConstraints = critical, CA:FALSE' \
		'1.3.6.1.5.5.7.1.26 = DER:30:08:a0:06:16:04:31:32:33:34' > nodsig.ext
	openssl req -new -key nodsig.key -subj /CN=nodsig -out nodsig.csr 2>/dev/null
	openssl x509 -req -in nodsig.csr -CA sti-ca.crt -CAkey sti-ca.key -CAcreateserial \
		-days 30 -extfile nodsig.ext -out nodsig.crt 2>/dev/null
fi
ec intertn
printf 'cn = "STI intermediate with TN"\nca\ncert_signing_key\nexpiration_days = 20\n%s\n' "$tn" > intertn.cfg
certtool --generate-certificate --load-privkey intertn.key --load-ca-certificate sti-ca.crt \
	--load-ca-privkey sti-ca.key --template intertn.cfg --outfile intertn.crt 2>/dev/null
ec via-intertn; leaf via-intertn intertn 'expiration_days = 30'
cat via-intertn.crt intertn.crt > chaintn.pem
# A TNAuthList of numbers: [2] one "15550001", [1] range { "15550100", 10 }.
ec tnlist; leaf tnlist sti-ca 'expiration_days = 30' \
	'add_extension = "1.3.6.1.5.5.7.1.26 0x301da20a16083135353530303031a10f300d1608313535353031303002010a"'

# A leaf the STI-CA revoked.
ec revoked; leaf revoked sti-ca "$tn" 'expiration_days = 30'
printf 'crl_next_update = 30\ncrl_number = 1\n' > crl.cfg
certtool --generate-crl --load-ca-privkey sti-ca.key --load-ca-certificate sti-ca.crt \
	--load-certificate revoked.crt --template crl.cfg --outfile crl.pem 2>/dev/null
# The intermediate's own CRL naming its leaf, beside the STI-CA's; and one
# that claims to be the intermediate's but another key signed.
certtool --generate-crl --load-ca-privkey inter.key --load-ca-certificate inter.crt \
	--load-certificate via-inter.crt --template crl.cfg --outfile inter-crl.pem 2>/dev/null
cat crl.pem inter-crl.pem > both-crl.pem
certtool --generate-crl --load-ca-privkey other-ca.key --load-ca-certificate inter.crt \
	--load-certificate via-inter.crt --template crl.cfg --outfile forged-crl.pem 2>/dev/null
rm -f sti-ca.key
