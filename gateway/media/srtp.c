/* The libsrtp2 side of the relay: turns one srtp_params into one libsrtp2
 * session (one direction of one side) with the RTP and RTCP policies of its
 * suite, and wraps protect/unprotect so media.c need not care about MKI.
 * Key bytes pass through a stack copy that is wiped before returning; libsrtp
 * keeps only the derived session keys, inside the context we dealloc. */
#include "media_internal.h"

#include <string.h>

#include "core/log.h"

/* libsrtp2 has one global crypto kernel; srtp_init is not reference counted,
 * so we call it once per process and never shut it down (other code in the
 * process, such as tests, may also use it). The event loop is single
 * threaded, so a plain flag is enough. */
static bool srtp_ready;

static void on_srtp_log(srtp_log_level_t level, const char *msg, void *data)
{
	/* libsrtp only prints key material with its debug modules enabled,
	 * which we never do. */
	if (level == srtp_log_level_error)
		log_warnx("media: libsrtp: %s", msg);
	else
		log_debug("media: libsrtp: %s", msg);
}

static void on_srtp_event(srtp_event_data_t *ev)
{
	switch (ev->event) {
	case event_key_soft_limit:
		log_warnx("media: SRTP key for SSRC %08x near its usage limit: re-key soon", ev->ssrc);
		break;
	case event_key_hard_limit:
		log_warnx("media: SRTP key for SSRC %08x expired: packets dropped until re-keyed",
			  ev->ssrc);
		break;
	case event_packet_index_limit:
		log_warnx("media: SRTP stream SSRC %08x reached 2^48 packets", ev->ssrc);
		break;
	case event_ssrc_collision:
		log_debug("media: SRTP SSRC collision on %08x", ev->ssrc);
		break;
	}
}

int msrtp_global_init(void)
{
	if (srtp_ready)
		return 0;
	if (srtp_init() != srtp_err_status_ok) {
		log_err("media: libsrtp initialisation failed");
		return -1;
	}
	srtp_install_log_handler(on_srtp_log, NULL);
	srtp_install_event_handler(on_srtp_event);
	srtp_ready = true;
	return 0;
}

bool msrtp_params_valid(const struct srtp_params *p)
{
	if ((unsigned)p->suite >= SRTP_SUITE__COUNT)
		return false;
	if (p->key_salt_len != srtp_suite_key_salt_len(p->suite))
		return false;
	if (p->mki_len > SRTP_MAX_MKI)
		return false;
	if (p->mki_len > 0 && p->mki_len < 4 && (p->mki >> (8 * p->mki_len)) != 0)
		return false; /* the MKI value must fit its declared length */
	return true;
}

static void set_policies(srtp_policy_t *pol, enum srtp_suite suite)
{
	switch (suite) {
	case SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		break;
	case SRTP_AES_CM_128_HMAC_SHA1_32:
		/* RFC 4568 §6.2.2: the _32 suite shortens only the SRTP tag;
		 * SRTCP keeps the 80-bit tag. */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		break;
	case SRTP_AES_256_CM_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtcp);
		break;
	case SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
		break;
	case SRTP_AEAD_AES_256_GCM:
	default:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtcp);
		break;
	}
}

static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

int msrtp_create(struct msrtp *out, const struct srtp_params *p, bool inbound)
{
	out->ctx = NULL;
	out->mki = false;
	if (!msrtp_params_valid(p)) {
		log_warnx("media: invalid SRTP parameters (suite %s)", srtp_suite_name(p->suite));
		return -1;
	}

	/* libsrtp takes non-const key pointers; give it a copy we wipe. */
	unsigned char key[SRTP_MAX_KEY_SALT];
	unsigned char mki_id[SRTP_MAX_MKI];
	memcpy(key, p->key_salt, p->key_salt_len);

	srtp_policy_t pol;
	memset(&pol, 0, sizeof(pol));
	set_policies(&pol, p->suite);
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	/* A window of 1024 tolerates the reordering of long jittery paths; the
	 * default 128 drops packets that arrive a few frames late. */
	pol.window_size = 1024;
	/* Never let our send side emit the same index twice: a repeat under
	 * the same key would reuse keystream. */
	pol.allow_repeat_tx = 0;

	srtp_master_key_t mk;
	srtp_master_key_t *keys[1] = { &mk };
	if (p->mki_len > 0) {
		/* RFC 4568 §6.1: the MKI value is carried big-endian in
		 * mki_len bytes at the end of every packet. */
		for (unsigned i = 0; i < p->mki_len; i++)
			mki_id[i] = (unsigned char)(p->mki >> (8 * (p->mki_len - 1 - i)));
		mk.key = key;
		mk.mki_id = mki_id;
		mk.mki_size = p->mki_len;
		pol.key = NULL;
		pol.keys = keys;
		pol.num_master_keys = 1;
	} else {
		pol.key = key;
	}

	srtp_err_status_t st = srtp_create(&out->ctx, &pol);
	wipe(key, sizeof(key));
	wipe(&mk, sizeof(mk));
	if (st != srtp_err_status_ok) {
		log_warnx("media: cannot create SRTP context (%s, libsrtp status %d)",
			  srtp_suite_name(p->suite), (int)st);
		out->ctx = NULL;
		return -1;
	}
	out->mki = p->mki_len > 0;
	return 0;
}

void msrtp_free(struct msrtp *m)
{
	if (m->ctx)
		srtp_dealloc(m->ctx);
	m->ctx = NULL;
	m->mki = false;
}

srtp_err_status_t msrtp_unprotect(const struct msrtp *m, uint8_t *pkt, int *len, bool rtcp)
{
	if (m->mki)
		return rtcp ? srtp_unprotect_rtcp_mki(m->ctx, pkt, len, 1)
			    : srtp_unprotect_mki(m->ctx, pkt, len, 1);
	return rtcp ? srtp_unprotect_rtcp(m->ctx, pkt, len) : srtp_unprotect(m->ctx, pkt, len);
}

srtp_err_status_t msrtp_protect(const struct msrtp *m, uint8_t *pkt, int *len, bool rtcp)
{
	if (m->mki)
		return rtcp ? srtp_protect_rtcp_mki(m->ctx, pkt, len, 1, 0)
			    : srtp_protect_mki(m->ctx, pkt, len, 1, 0);
	return rtcp ? srtp_protect_rtcp(m->ctx, pkt, len) : srtp_protect(m->ctx, pkt, len);
}
