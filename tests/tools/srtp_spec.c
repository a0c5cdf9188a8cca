/* Implementation of srtp_spec.h for the test tools (not the gateway, whose
 * own mapping lives in gateway/media/srtp.c: the tools must stay an
 * independent check of it). */
#include "srtp_spec.h"

#include <stdio.h>
#include <string.h>

#include <sofia-sip/base64.h>

static int suite_policy(const char *name, srtp_policy_t *p, size_t *keylen)
{
	memset(p, 0, sizeof(*p));
	if (!strcmp(name, "AES_CM_128_HMAC_SHA1_80")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		*keylen = 30;
	} else if (!strcmp(name, "AES_CM_128_HMAC_SHA1_32")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		*keylen = 30;
	} else if (!strcmp(name, "AES_256_CM_HMAC_SHA1_80")) {
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtcp);
		*keylen = 46;
	} else if (!strcmp(name, "AES_256_CM_HMAC_SHA1_32")) {
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtcp);
		*keylen = 46;
	} else if (!strcmp(name, "AEAD_AES_128_GCM")) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		*keylen = 28;
	} else if (!strcmp(name, "AEAD_AES_256_GCM")) {
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
		*keylen = 44;
	} else {
		return -1;
	}
	return 0;
}

int srtp_spec_session(const char *prog, const char *spec, bool inbound, srtp_t *session)
{
	unsigned char material[64];
	char suite[64], b64[128];
	const char *colon = strchr(spec, ':');
	srtp_policy_t pol;
	size_t keylen;

	if (!colon || (size_t)(colon - spec) >= sizeof(suite))
		return -1;
	memcpy(suite, spec, (size_t)(colon - spec));
	suite[colon - spec] = '\0';
	if (suite_policy(suite, &pol, &keylen) < 0) {
		fprintf(stderr, "%s: unknown suite %s\n", prog, suite);
		return -1;
	}
	size_t n = strcspn(colon + 1, "|"); /* drop |lifetime|MKI */
	if (n >= sizeof(b64))
		return -1;
	memcpy(b64, colon + 1, n);
	b64[n] = '\0';
	isize_t got = base64_d((char *)material, sizeof(material), b64);
	if (got != (isize_t)keylen) {
		fprintf(stderr, "%s: key for %s is %ld bytes, expected %zu\n", prog, suite, (long)got,
			keylen);
		return -1;
	}
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.key = material; /* copied by srtp_create */
	pol.window_size = 1024;
	int rc = srtp_create(session, &pol) == srtp_err_status_ok ? 0 : -1;
	memset(material, 0, sizeof(material));
	return rc;
}
