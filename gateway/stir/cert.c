/* stir/cert: parses the certificate chain an x5u URL returned (PEM, leaf
 * first, or one DER), verifies it with GnuTLS against the STI-CA trust list
 * and its CRLs, checks every certificate's validity at the caller's `now`
 * (GnuTLS would use the wall clock, so its own time checks are off and the
 * times are compared here), the leaf's key (EC P-256, or RSA for RFC 4474),
 * its role (an end entity that may sign) and its TNAuthList; keeps the
 * whole chain and the leaf's public key, and verifies ES256 and RSA
 * signatures with that key. For RFC 4474 it also answers whether the
 * leaf names a domain (subjectAltName dNSName). */
#include "stir/cert.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* CRLs a trusted STI-CA did not sign: an intermediate's, which can only be
 * checked once a chain brings the intermediate (at most this many). */
#define MAX_CHAIN_CRLS 64

struct stir_trust {
	gnutls_x509_trust_list_t list;
	gnutls_x509_crl_t *chain_crls;
	unsigned n_chain_crls;
};

struct stir_cert {
	gnutls_x509_crt_t crt[STIR_CHAIN_MAX];
	unsigned n;
	gnutls_pubkey_t key; /* the leaf's */
	gnutls_pk_algorithm_t pk;
	time_t not_before; /* the latest notBefore of the chain and its anchor */
	time_t not_after;  /* the earliest notAfter */
	struct stir_tnauth tnauth;
};

enum cert_profile { PROFILE_SHAKEN, PROFILE_4474 };

/* RFC 4474 keys below this are too weak to accept from anyone. */
#define RSA_MIN_BITS 2048

/* The CRL file: the CRLs a trusted STI-CA signed go into the trust list
 * (GNUTLS_TL_VERIFY_CRL), which applies them to the certificates that
 * STI-CA issued; every CRL is also kept for the intermediates, whose CRLs
 * GnuTLS would drop here (they are not anchors) and which are checked
 * against a chain's own intermediate (chain_revoked). Their dates are not
 * judged by the wall clock here. A file that yields no CRL is a mistake,
 * not an empty revocation list. */
static int load_crls(struct stir_trust *t, const char *crl_file, char *why, size_t whylen)
{
	gnutls_datum_t pem = { NULL, 0 };
	int r = gnutls_load_file(crl_file, &pem);
	if (r >= 0)
		r = gnutls_x509_crl_list_import2(&t->chain_crls, &t->n_chain_crls, &pem,
						 GNUTLS_X509_FMT_PEM, 0);
	gnutls_free(pem.data);
	if (r < 0 || t->n_chain_crls == 0 || t->n_chain_crls > MAX_CHAIN_CRLS) {
		snprintf(why, whylen, "CRL file %s: %s", crl_file,
			 r < 0 ? gnutls_strerror(r)
			       : t->n_chain_crls ? "too many CRLs" : "no CRL in it");
		return -1;
	}
	r = gnutls_x509_trust_list_add_trust_file(t->list, NULL, crl_file, GNUTLS_X509_FMT_PEM,
						  GNUTLS_TL_VERIFY_CRL,
						  GNUTLS_VERIFY_DISABLE_TIME_CHECKS);
	if (r < 0) {
		snprintf(why, whylen, "CRL file %s: %s", crl_file, gnutls_strerror(r));
		return -1;
	}
	return 0;
}

struct stir_trust *stir_trust_load(const char *ca_file, const char *crl_file, char *why,
				   size_t whylen)
{
	struct stir_trust *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	int r = gnutls_x509_trust_list_init(&t->list, 0);
	if (r < 0) {
		snprintf(why, whylen, "trust list: %s", gnutls_strerror(r));
		free(t);
		return NULL;
	}
	r = gnutls_x509_trust_list_add_trust_file(t->list, ca_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
	if (r <= 0) {
		snprintf(why, whylen, "STI-CA file %s: %s", ca_file,
			 r < 0 ? gnutls_strerror(r) : "no certificate in it");
		stir_trust_free(t);
		return NULL;
	}
	if (crl_file && *crl_file && load_crls(t, crl_file, why, whylen) < 0) {
		stir_trust_free(t);
		return NULL;
	}
	return t;
}

void stir_trust_free(struct stir_trust *t)
{
	if (!t)
		return;
	gnutls_x509_trust_list_deinit(t->list, 1);
	for (unsigned i = 0; i < t->n_chain_crls; i++)
		gnutls_x509_crl_deinit(t->chain_crls[i]);
	gnutls_free(t->chain_crls);
	free(t);
}

void stir_cert_free(struct stir_cert *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->n; i++)
		gnutls_x509_crt_deinit(c->crt[i]);
	if (c->key)
		gnutls_pubkey_deinit(c->key);
	free(c);
}

/* Narrows [not_before, not_after] to crt's validity. False when crt's
 * dates cannot be read. */
static bool narrow_validity(struct stir_cert *c, gnutls_x509_crt_t crt)
{
	time_t nb = gnutls_x509_crt_get_activation_time(crt);
	time_t na = gnutls_x509_crt_get_expiration_time(crt);
	if (nb == (time_t)-1 || na == (time_t)-1)
		return false;
	if (nb > c->not_before)
		c->not_before = nb;
	if (na < c->not_after)
		c->not_after = na;
	return true;
}

/* PEM when the body holds a PEM certificate header, else one DER
 * certificate. At most STIR_CHAIN_MAX: more is refused, not truncated. */
static bool import_chain(struct stir_cert *c, const uint8_t *data, size_t len)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----";
	bool is_pem = memmem(data, len, pem, sizeof pem - 1) != NULL;
	gnutls_datum_t d = { (unsigned char *)data, (unsigned)len };
	unsigned n = STIR_CHAIN_MAX;
	int r = gnutls_x509_crt_list_import(c->crt, &n, &d,
					    is_pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER,
					    GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED);
	if (r <= 0)
		return false;
	c->n = (unsigned)r;
	return true;
}

/* Whether a certificate of the chain is revoked by a CRL that another
 * certificate of the (already verified) chain issued and signed: an
 * intermediate's CRL. One the issuer did not sign is no revocation. */
static bool chain_revoked(const struct stir_cert *c, const struct stir_trust *t)
{
	for (unsigned k = 0; k < t->n_chain_crls; k++)
		for (unsigned i = 0; i < c->n; i++) {
			unsigned status = 0;
			if (!gnutls_x509_crl_check_issuer(t->chain_crls[k], c->crt[i]) ||
			    gnutls_x509_crl_verify(t->chain_crls[k], &c->crt[i], 1, 0, &status) < 0 ||
			    status != 0)
				continue;
			for (unsigned j = 0; j < c->n; j++)
				if (j != i && gnutls_x509_crt_check_issuer(c->crt[j], c->crt[i]) &&
				    gnutls_x509_crt_check_revocation(c->crt[j], &t->chain_crls[k], 1) == 1)
					return true;
		}
	return false;
}

/* Chains to the trust list (signatures, CA constraints, the STI-CA's and
 * the intermediates' CRLs; no dates), then the dates of every certificate
 * and of the anchor at `now`. */
static enum stir_result check_chain(struct stir_cert *c, const struct stir_trust *t, time_t now)
{
	unsigned status = 0;
	int r = gnutls_x509_trust_list_verify_crt2(
		t->list, c->crt, c->n, NULL, 0,
		GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
		&status, NULL);
	if (r < 0 || status != 0 || chain_revoked(c, t))
		return STIR_CERT_UNTRUSTED;
	c->not_before = 0;
	c->not_after = (time_t)INT64_MAX;
	for (unsigned i = 0; i < c->n; i++)
		if (!narrow_validity(c, c->crt[i]))
			return STIR_CERT_EXPIRED;
	/* The anchor the chain ends at (not to be freed: the list owns it);
	 * none when the chain's last certificate is itself the anchor. */
	gnutls_x509_crt_t anchor = NULL;
	if (gnutls_x509_trust_list_get_issuer(t->list, c->crt[c->n - 1], &anchor, 0) == 0 &&
	    anchor && !narrow_validity(c, anchor))
		return STIR_CERT_EXPIRED;
	return stir_cert_valid_at(c, now);
}

/* The leaf's key: EC P-256 for SHAKEN, RSA of RSA_MIN_BITS for RFC 4474. */
static enum stir_result check_key(struct stir_cert *c, enum cert_profile profile)
{
	unsigned bits = 0;
	c->pk = (gnutls_pk_algorithm_t)gnutls_x509_crt_get_pk_algorithm(c->crt[0], &bits);
	if (profile == PROFILE_SHAKEN) {
		if (c->pk != GNUTLS_PK_ECDSA)
			return STIR_CERT_KEY;
		gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
		gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
		int r = gnutls_x509_crt_get_pk_ecc_raw(c->crt[0], &curve, &x, &y);
		gnutls_free(x.data);
		gnutls_free(y.data);
		if (r < 0 || curve != GNUTLS_ECC_CURVE_SECP256R1)
			return STIR_CERT_KEY;
	} else if (c->pk != GNUTLS_PK_RSA || bits < RSA_MIN_BITS) {
		return STIR_CERT_KEY;
	}
	if (gnutls_pubkey_init(&c->key) < 0 || gnutls_pubkey_import_x509(c->key, c->crt[0], 0) < 0)
		return STIR_CERT_KEY;
	return STIR_PASSED;
}

/* The leaf signs PASSporTs, so it must be an end entity allowed to sign
 * (ATIS-1000080's certificate profile, RFC 5280 §4.2.1.3 and §4.2.1.9):
 * not a CA, and when it lists key usages, digitalSignature among them.
 * GnuTLS judges only the issuers' roles, not the leaf's. */
static enum stir_result check_leaf_role(gnutls_x509_crt_t leaf)
{
	unsigned critical = 0, ca = 0, usage = 0;
	int r = gnutls_x509_crt_get_basic_constraints(leaf, &critical, &ca, NULL);
	if ((r >= 0 && ca) || (r < 0 && r != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE))
		return STIR_CERT_KEY;
	r = gnutls_x509_crt_get_key_usage(leaf, &usage, &critical);
	if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return STIR_PASSED;
	return r >= 0 && (usage & GNUTLS_KEY_DIGITAL_SIGNATURE) ? STIR_PASSED : STIR_CERT_KEY;
}

/* The leaf's TNAuthList: exactly one, and valid. RFC 4474 certificates
 * predate it, so there it is read when present but not required. */
static enum stir_result check_tnauth(struct stir_cert *c, enum cert_profile profile)
{
	gnutls_datum_t ext = { NULL, 0 }, extra = { NULL, 0 };
	unsigned critical = 0;
	int r = gnutls_x509_crt_get_extension_by_oid2(c->crt[0], STIR_TNAUTH_OID, 0, &ext,
						      &critical);
	if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE && profile == PROFILE_4474)
		return STIR_PASSED;
	if (r < 0)
		return STIR_CERT_NO_TNAUTH;
	bool twice = gnutls_x509_crt_get_extension_by_oid2(c->crt[0], STIR_TNAUTH_OID, 1, &extra,
							   &critical) >= 0;
	gnutls_free(extra.data);
	bool ok = !twice && stir_tnauth_parse(ext.data, ext.size, &c->tnauth);
	gnutls_free(ext.data);
	return ok ? STIR_PASSED : STIR_CERT_NO_TNAUTH;
}

static enum stir_result cert_check(const uint8_t *data, size_t len, const struct stir_trust *t,
				   time_t now, enum cert_profile profile, struct stir_cert **out)
{
	*out = NULL;
	if (!data || len == 0 || len > STIR_CERT_MAX_BYTES || !t)
		return STIR_INFO_NOT_CERT;
	struct stir_cert *c = calloc(1, sizeof *c);
	if (!c)
		return STIR_INFO_NOT_CERT;
	enum stir_result r = STIR_INFO_NOT_CERT;
	if (!import_chain(c, data, len))
		goto fail;
	if ((r = check_chain(c, t, now)) != STIR_PASSED)
		goto fail;
	if ((r = check_key(c, profile)) != STIR_PASSED)
		goto fail;
	if ((r = check_leaf_role(c->crt[0])) != STIR_PASSED)
		goto fail;
	if ((r = check_tnauth(c, profile)) != STIR_PASSED)
		goto fail;
	*out = c;
	return STIR_PASSED;
fail:
	stir_cert_free(c);
	return r;
}

enum stir_result stir_cert_check(const uint8_t *data, size_t len, const struct stir_trust *t,
				 time_t now, struct stir_cert **out)
{
	return cert_check(data, len, t, now, PROFILE_SHAKEN, out);
}

enum stir_result stir_cert_check_rsa(const uint8_t *data, size_t len, const struct stir_trust *t,
				     time_t now, struct stir_cert **out)
{
	return cert_check(data, len, t, now, PROFILE_4474, out);
}

time_t stir_cert_expires(const struct stir_cert *c)
{
	return c->not_after;
}

enum stir_result stir_cert_valid_at(const struct stir_cert *c, time_t now)
{
	return now < c->not_before || now > c->not_after ? STIR_CERT_EXPIRED : STIR_PASSED;
}

const struct stir_tnauth *stir_cert_tnauth(const struct stir_cert *c)
{
	return &c->tnauth;
}

/* A host's length without one trailing dot (the root label). */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

bool stir_dns_name_matches(const char *san, const char *host)
{
	if (!san || !host)
		return false;
	size_t n = name_len(san);
	/* No wildcard (RFC 5922 §7.2): "*.example.com" names nothing. */
	if (n == 0 || n != name_len(host) || memchr(san, '*', n))
		return false;
	return strncasecmp(san, host, n) == 0;
}

bool stir_cert_names_host(const struct stir_cert *c, const char *host)
{
	if (!c || c->n == 0 || !host || !host[0])
		return false;
	for (unsigned i = 0;; i++) {
		char san[256];
		size_t len = sizeof(san) - 1;
		int type = gnutls_x509_crt_get_subject_alt_name(c->crt[0], i, san, &len, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return false;
		if (type != GNUTLS_SAN_DNSNAME || len >= sizeof(san))
			continue; /* another kind, or a name too long to be a host */
		san[len] = '\0';
		/* An embedded NUL would let "host\0.evil" pass as "host". */
		if (strlen(san) == len && stir_dns_name_matches(san, host))
			return true;
	}
}

enum stir_result stir_cert_verify_es256(const struct stir_cert *c, const char *input, size_t len,
					const uint8_t sig[STIR_ES256_SIG_LEN])
{
	if (!c || c->pk != GNUTLS_PK_ECDSA || !input)
		return STIR_SIGNATURE;
	/* JWS carries r || s (RFC 7518 §3.4); GnuTLS takes the DER
	 * Ecdsa-Sig-Value, which gnutls_encode_rs_value builds from the two
	 * unsigned big-endian halves. */
	const gnutls_datum_t r = { (unsigned char *)sig, STIR_ES256_SIG_LEN / 2 };
	const gnutls_datum_t s = { (unsigned char *)sig + STIR_ES256_SIG_LEN / 2,
				   STIR_ES256_SIG_LEN / 2 };
	gnutls_datum_t der = { NULL, 0 };
	if (gnutls_encode_rs_value(&der, &r, &s) < 0)
		return STIR_SIGNATURE;
	const gnutls_datum_t data = { (unsigned char *)input, (unsigned)len };
	int ret = gnutls_pubkey_verify_data2(c->key, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &der);
	gnutls_free(der.data);
	return ret >= 0 ? STIR_PASSED : STIR_SIGNATURE;
}

enum stir_result stir_cert_verify_rsa(const struct stir_cert *c, const char *input, size_t len,
				      const uint8_t *sig, size_t sig_len, bool sha1)
{
	if (!c || c->pk != GNUTLS_PK_RSA || !input || !sig || sig_len == 0 || sig_len > 1024)
		return STIR_SIGNATURE;
	/* GnuTLS refuses SHA-1 signatures as broken unless told otherwise; the
	 * caller only asks for rsa-sha1 where a peer is configured for it. */
	unsigned flags = sha1 ? GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 : 0;
	const gnutls_datum_t data = { (unsigned char *)input, (unsigned)len };
	const gnutls_datum_t sd = { (unsigned char *)sig, (unsigned)sig_len };
	int ret = gnutls_pubkey_verify_data2(c->key, sha1 ? GNUTLS_SIGN_RSA_SHA1 : GNUTLS_SIGN_RSA_SHA256,
					     flags, &data, &sd);
	return ret >= 0 ? STIR_PASSED : STIR_SIGNATURE;
}
