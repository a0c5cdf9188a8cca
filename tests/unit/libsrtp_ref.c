/* See libsrtp_ref.h. The suite table is written here from RFC 4568/6188/7714
 * on purpose, not shared with gateway/media/srtp.c. */
#include "libsrtp_ref.h"

#include <string.h>

static void set_suite(srtp_policy_t *pol, enum pc_srtp_suite suite)
{
	switch (suite) {
	case PC_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		break;
	case PC_SRTP_AES_CM_128_HMAC_SHA1_32:
		/* RFC 4568 §6.2.2: SRTCP keeps the 80-bit tag. */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		break;
	case PC_SRTP_AES_256_CM_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtcp);
		break;
	case PC_SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
		break;
	default:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtcp);
		break;
	}
}

srtp_t libsrtp_ref_new(const struct pc_srtp_params *p, bool inbound, bool rtcp_auth_only)
{
	srtp_policy_t pol;
	memset(&pol, 0, sizeof(pol));
	set_suite(&pol, p->suite);
	if (rtcp_auth_only)
		pol.rtcp.sec_serv = sec_serv_auth;
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.window_size = 1024;
	pol.allow_repeat_tx = 0;
	unsigned char key[PC_SRTP_MAX_KEY_SALT], mki[PC_SRTP_MAX_MKI];
	memcpy(key, p->key_salt, p->key_salt_len);
	srtp_master_key_t mk = { key, mki, p->mki_len };
	srtp_master_key_t *keys[1] = { &mk };
	if (p->mki_len) {
		/* RFC 4568 §6.1: the MKI value big-endian in mki_len bytes. */
		for (unsigned i = 0; i < p->mki_len; i++)
			mki[i] = (unsigned char)(p->mki >> (8 * (p->mki_len - 1 - i)));
		pol.keys = keys;
		pol.num_master_keys = 1;
	} else {
		pol.key = key;
	}
	srtp_t s = NULL;
	if (srtp_create(&s, &pol) != srtp_err_status_ok)
		return NULL;
	return s;
}
