/* stir/cert: an STI certificate chain as the verification service needs it
 * (RFC 8224 §6.2.1, RFC 8226, ATIS-1000074): parsed from what an x5u URL
 * returned (PEM, one or more certificates, leaf first; or one DER), chained
 * to the configured STI-CA trust list (and its CRLs), valid now, an EC
 * P-256 leaf key, a TNAuthList extension; then it checks ES256 signatures.
 * The whole chain is kept: a later call verifies against the same chain. */
#ifndef PC_STIR_CERT_H
#define PC_STIR_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "stir/passport.h"
#include "stir/result.h"
#include "stir/tnauth.h"

#define STIR_CERT_MAX_BYTES (64 * 1024) /* what one x5u may return */
#define STIR_CHAIN_MAX 8

struct stir_trust; /* the STI-CA list and CRLs */
struct stir_cert;  /* a checked chain */

/* Loads the trust anchors (a PEM bundle) and optional CRLs (a PEM file,
 * NULL or "" for none). NULL on error, with why. */
struct stir_trust *stir_trust_load(const char *ca_file, const char *crl_file, char *why,
				   size_t whylen);
void stir_trust_free(struct stir_trust *t);

/* Parses and checks a fetched chain at time `now`. On STIR_PASSED *out is
 * a new chain (free with stir_cert_free); else *out is NULL and the result
 * says why (STIR_INFO_NOT_CERT, STIR_CERT_*). Linear in len; len above
 * STIR_CERT_MAX_BYTES or more than STIR_CHAIN_MAX certificates is refused. */
enum stir_result stir_cert_check(const uint8_t *data, size_t len, const struct stir_trust *t,
				 time_t now, struct stir_cert **out);
/* The same checks for RFC 4474's legacy Identity: the leaf's key must be
 * RSA (2048 bits or more) and the TNAuthList, which those certificates
 * predate, is read when present but not required. */
enum stir_result stir_cert_check_rsa(const uint8_t *data, size_t len, const struct stir_trust *t,
				     time_t now, struct stir_cert **out);
void stir_cert_free(struct stir_cert *c);

/* The leaf's notAfter (the earliest notAfter of the chain and its anchor,
 * should one expire before the leaf): a cache never keeps a chain past it. */
time_t stir_cert_expires(const struct stir_cert *c);
/* Whether the chain is still valid at `now` (notBefore/notAfter of each). */
enum stir_result stir_cert_valid_at(const struct stir_cert *c, time_t now);
/* The leaf's TNAuthList, as parsed by stir_cert_check (n == 0 for an
 * RFC 4474 chain without one). */
const struct stir_tnauth *stir_cert_tnauth(const struct stir_cert *c);

/* RFC 4474 §13.4 (and RFC 5922 §7.2): whether a certificate subjectAltName
 * dNSName `san` names the From host `host`: equal ignoring ASCII case, no
 * wildcard, a trailing dot on either side ignored. Pure. */
bool stir_dns_name_matches(const char *san, const char *host);
/* Whether the leaf's subjectAltName holds a dNSName naming `host`: the
 * signer of an RFC 4474 Identity must be authoritative for the From's
 * domain. The subject's CN is not consulted. */
bool stir_cert_names_host(const struct stir_cert *c, const char *host);

/* Verifies an ES256 JWS signature (raw r||s) over `input` with the leaf's
 * key: STIR_PASSED or STIR_SIGNATURE. */
enum stir_result stir_cert_verify_es256(const struct stir_cert *c, const char *input, size_t len,
					const uint8_t sig[STIR_ES256_SIG_LEN]);
/* The same for an RSA leaf (stir_cert_check_rsa) and RFC 4474's rsa-sha256 (or rsa-sha1, when the
 * caller allowed it) over a digest-string. */
enum stir_result stir_cert_verify_rsa(const struct stir_cert *c, const char *input, size_t len,
				      const uint8_t *sig, size_t sig_len, bool sha1);

#endif
