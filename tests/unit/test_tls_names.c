/* RFC 5922 name matching on real X.509 certificates built in memory: SAN URI
 * and DNS exact matches, no wildcards, CN only without any SAN, IP SANs; only
 * a sip: URI without a user part names a domain (core/sipname.c, shared with
 * the trust domain); and the extendedKeyUsage check on peer certificates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <arpa/inet.h>
#include <time.h>

#include "core/sipname.h"
#include "transport/tls.h"

static gnutls_x509_privkey_t key;

struct san { int type; const char *value; };

/* A certificate with these names and, when kp is not NULL, an
 * extendedKeyUsage listing the NULL-terminated purposes kp. */
static gnutls_x509_crt_t make_cert_kp(const char *cn, const struct san *sans, unsigned n,
				      const char *const *kp)
{
	gnutls_x509_crt_t crt;
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, "\x01", 1);
	gnutls_x509_crt_set_activation_time(crt, time(NULL) - 60);
	gnutls_x509_crt_set_expiration_time(crt, time(NULL) + 3600);
	if (cn)
		gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
	for (unsigned i = 0; i < n; i++) {
		if (sans[i].type == GNUTLS_SAN_IPADDRESS) {
			unsigned char ip[16];
			int len = 4;
			if (inet_pton(AF_INET, sans[i].value, ip) != 1) {
				inet_pton(AF_INET6, sans[i].value, ip);
				len = 16;
			}
			assert_int_equal(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
						ip, (unsigned)len, GNUTLS_FSAN_APPEND), 0);
		} else {
			assert_int_equal(gnutls_x509_crt_set_subject_alt_name(crt, sans[i].type,
						sans[i].value, (unsigned)strlen(sans[i].value),
						GNUTLS_FSAN_APPEND), 0);
		}
	}
	for (unsigned i = 0; kp && kp[i]; i++)
		assert_int_equal(gnutls_x509_crt_set_key_purpose_oid(crt, kp[i], 0), 0);
	gnutls_x509_crt_set_key(crt, key);
	assert_int_equal(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);
	/* Round-trip through DER, as a certificate arrives from a peer: GnuTLS
	 * reads extensions back only from an imported certificate. */
	gnutls_datum_t der;
	assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), 0);
	gnutls_x509_crt_deinit(crt);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER), 0);
	gnutls_free(der.data);
	return crt;
}

static gnutls_x509_crt_t make_cert(const char *cn, const struct san *sans, unsigned n)
{
	return make_cert_kp(cn, sans, n, NULL);
}

static void san_uri_matches_domain(void **state)
{
	struct san s[] = { { GNUTLS_SAN_URI, "sip:example.com" } };
	gnutls_x509_crt_t c = make_cert("other", s, 1);
	assert_true(tls_cert_matches_name(c, "example.com"));
	assert_true(tls_cert_matches_name(c, "EXAMPLE.com"));
	assert_false(tls_cert_matches_name(c, "other")); /* CN ignored: a SAN exists */
	assert_false(tls_cert_matches_name(c, "sub.example.com"));
	gnutls_x509_crt_deinit(c);
}

/* RFC 5922 §7.1: a URI with a user part is a user's identity, and a sips:
 * URI is no domain identity either: a phone's certificate for
 * sip:alice@trunk.example.com from the trunk's CA is not the trunk. */
static void san_uri_with_user_names_no_domain(void **state)
{
	struct san s[] = { { GNUTLS_SAN_URI, "sips:alice@example.org;transport=tls" },
			   { GNUTLS_SAN_URI, "sip:alice@trunk.example.com" } };
	gnutls_x509_crt_t c = make_cert(NULL, s, 2);
	assert_false(tls_cert_matches_name(c, "example.org"));
	assert_false(tls_cert_matches_name(c, "trunk.example.com"));
	assert_false(tls_cert_matches_name(c, "alice"));
	gnutls_x509_crt_deinit(c);
}

static void sips_uri_names_no_domain(void **state)
{
	struct san s[] = { { GNUTLS_SAN_URI, "sips:example.com" },
			   { GNUTLS_SAN_URI, "SIP:proxy.example.net:5061;transport=tls" } };
	gnutls_x509_crt_t c = make_cert(NULL, s, 2);
	assert_false(tls_cert_matches_name(c, "example.com"));
	assert_true(tls_cert_matches_name(c, "proxy.example.net")); /* port and parameters */
	gnutls_x509_crt_deinit(c);
}

/* The one rule the trust domain (b2bua/identity.c) applies to the identity
 * transport/tls.c reports. */
static void identity_names_domain(void **state)
{
	assert_true(sipname_identity_names_domain("sip:trunk.example.com", "trunk.example.com"));
	assert_true(sipname_identity_names_domain("trunk.example.com", "TRUNK.example.com"));
	assert_false(sipname_identity_names_domain("sip:alice@trunk.example.com", "trunk.example.com"));
	assert_false(sipname_identity_names_domain("sips:trunk.example.com", "trunk.example.com"));
	assert_false(sipname_identity_names_domain("sip:trunk.example.com;x=a@b", "trunk.example.com"));
	assert_false(sipname_identity_names_domain("https://trunk.example.com/", "trunk.example.com"));
	assert_false(sipname_identity_names_domain("sip:", ""));
	assert_false(sipname_identity_names_domain("", "trunk.example.com"));
	assert_false(sipname_identity_names_domain("trunk.example.co", "trunk.example.com"));
	assert_true(sipname_identity_names_domain("::1", "::1")); /* an IPv6 literal is no URI */
}

/* Key purpose (RFC 5280 §4.2.1.12): listed, any, or no extension at all. */
static void key_purposes(void **state)
{
	struct san s[] = { { GNUTLS_SAN_URI, "sip:trunk.example.com" } };
	const char *client[] = { GNUTLS_KP_TLS_WWW_CLIENT, NULL };
	const char *both[] = { GNUTLS_KP_TLS_WWW_SERVER, GNUTLS_KP_TLS_WWW_CLIENT, NULL };
	const char *any[] = { GNUTLS_KP_ANY, NULL };
	const char *code[] = { GNUTLS_KP_CODE_SIGNING, NULL };
	gnutls_x509_crt_t c = make_cert_kp(NULL, s, 1, client);
	assert_true(tls_cert_allows_purpose(c, GNUTLS_KP_TLS_WWW_CLIENT));
	assert_false(tls_cert_allows_purpose(c, GNUTLS_KP_TLS_WWW_SERVER));
	gnutls_x509_crt_deinit(c);
	c = make_cert_kp(NULL, s, 1, both);
	assert_true(tls_cert_allows_purpose(c, GNUTLS_KP_TLS_WWW_CLIENT));
	assert_true(tls_cert_allows_purpose(c, GNUTLS_KP_TLS_WWW_SERVER));
	gnutls_x509_crt_deinit(c);
	c = make_cert_kp(NULL, s, 1, any);
	assert_true(tls_cert_allows_purpose(c, GNUTLS_KP_TLS_WWW_SERVER));
	gnutls_x509_crt_deinit(c);
	c = make_cert_kp(NULL, s, 1, code);
	assert_false(tls_cert_allows_purpose(c, GNUTLS_KP_TLS_WWW_SERVER));
	assert_false(tls_cert_allows_purpose(c, GNUTLS_KP_TLS_WWW_CLIENT));
	gnutls_x509_crt_deinit(c);
	c = make_cert(NULL, s, 1); /* no extendedKeyUsage: any purpose */
	assert_true(tls_cert_allows_purpose(c, GNUTLS_KP_TLS_WWW_SERVER));
	assert_true(tls_cert_allows_purpose(c, GNUTLS_KP_TLS_WWW_CLIENT));
	gnutls_x509_crt_deinit(c);
}

static void non_sip_uri_does_not_count(void **state)
{
	struct san s[] = { { GNUTLS_SAN_URI, "https://example.com/" } };
	gnutls_x509_crt_t c = make_cert(NULL, s, 1);
	assert_false(tls_cert_matches_name(c, "example.com"));
	gnutls_x509_crt_deinit(c);
}

static void dns_san_exact_only(void **state)
{
	struct san s[] = { { GNUTLS_SAN_DNSNAME, "*.example.com" },
			   { GNUTLS_SAN_DNSNAME, "proxy.example.net" } };
	gnutls_x509_crt_t c = make_cert(NULL, s, 2);
	assert_false(tls_cert_matches_name(c, "a.example.com")); /* no wildcards */
	assert_true(tls_cert_matches_name(c, "proxy.example.net"));
	assert_false(tls_cert_matches_name(c, "proxy.example.ne"));
	assert_false(tls_cert_matches_name(c, "xproxy.example.net"));
	gnutls_x509_crt_deinit(c);
}

static void cn_only_without_san(void **state)
{
	gnutls_x509_crt_t c = make_cert("legacy.example.com", NULL, 0);
	assert_true(tls_cert_matches_name(c, "legacy.example.com"));
	assert_false(tls_cert_matches_name(c, "example.com"));
	gnutls_x509_crt_deinit(c);
}

static void ip_address_san(void **state)
{
	struct san s[] = { { GNUTLS_SAN_IPADDRESS, "127.0.0.1" }, { GNUTLS_SAN_IPADDRESS, "::1" },
			   { GNUTLS_SAN_DNSNAME, "localhost" } };
	gnutls_x509_crt_t c = make_cert("127.0.0.2", s, 3);
	assert_true(tls_cert_matches_name(c, "127.0.0.1"));
	assert_true(tls_cert_matches_name(c, "::1"));
	assert_false(tls_cert_matches_name(c, "127.0.0.2"));
	assert_true(tls_cert_matches_name(c, "localhost"));
	gnutls_x509_crt_deinit(c);
}

static int setup(void **state)
{
	if (gnutls_global_init() < 0 || gnutls_x509_privkey_init(&key) < 0)
		return -1;
	return gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	gnutls_x509_privkey_deinit(key);
	gnutls_global_deinit();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(san_uri_matches_domain),
		cmocka_unit_test(san_uri_with_user_names_no_domain),
		cmocka_unit_test(sips_uri_names_no_domain),
		cmocka_unit_test(identity_names_domain),
		cmocka_unit_test(key_purposes),
		cmocka_unit_test(non_sip_uri_does_not_count),
		cmocka_unit_test(dns_san_exact_only),
		cmocka_unit_test(cn_only_without_san),
		cmocka_unit_test(ip_address_san),
	};
	return cmocka_run_group_tests_name("tls_names", tests, setup, teardown);
}
