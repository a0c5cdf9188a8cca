/* See srtp_lite.h. */
#include "srtp_lite.h"

#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/gcm.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <stdlib.h>
#include <string.h>

struct lite_ctx {
	enum lite_suite suite;
	uint8_t salt[14];
	union {
		struct {
			struct aes128_ctx aes;
			struct hmac_sha1_ctx mac;
		} cm;
		struct gcm_aes128_ctx gcm;
	} u;
};

int lite_suite_from_name(const char *name, enum lite_suite *out)
{
	if (!strcmp(name, "AES_CM_128_HMAC_SHA1_80"))
		*out = LITE_AES_CM_80;
	else if (!strcmp(name, "AEAD_AES_128_GCM"))
		*out = LITE_AEAD_GCM_128;
	else
		return -1;
	return 0;
}

size_t lite_key_len(enum lite_suite s) { return s == LITE_AES_CM_80 ? 30 : 28; }
size_t lite_tag_len(enum lite_suite s) { return s == LITE_AES_CM_80 ? 10 : 16; }

/* RFC 3711 4.3.1 with the AES-CM PRF and kdr 0: the master salt (zero-padded
 * to 112 bits for GCM, as libsrtp2 does) with the label XORed into byte 7. */
static void kdf(const uint8_t *mkey, const uint8_t salt14[14], uint8_t label, uint8_t *out,
		size_t n)
{
	struct aes128_ctx k;
	uint8_t iv[16] = { 0 };
	memcpy(iv, salt14, 14);
	iv[7] ^= label;
	aes128_set_encrypt_key(&k, mkey);
	memset(out, 0, n);
	ctr_crypt(&k, (nettle_cipher_func *)aes128_encrypt, AES_BLOCK_SIZE, iv, n, out, out);
}

struct lite_ctx *lite_new(enum lite_suite s, const uint8_t *key_salt)
{
	struct lite_ctx *c = calloc(1, sizeof(*c));
	uint8_t msalt[14] = { 0 }, ek[16], ak[20];
	if (c == NULL)
		return NULL;
	c->suite = s;
	memcpy(msalt, key_salt + 16, s == LITE_AES_CM_80 ? 14 : 12);
	kdf(key_salt, msalt, 0x00, ek, 16);
	kdf(key_salt, msalt, 0x02, c->salt, s == LITE_AES_CM_80 ? 14 : 12);
	if (s == LITE_AES_CM_80) {
		kdf(key_salt, msalt, 0x01, ak, 20);
		aes128_set_encrypt_key(&c->u.cm.aes, ek);
		hmac_sha1_set_key(&c->u.cm.mac, 20, ak);
	} else {
		gcm_aes128_set_key(&c->u.gcm, ek);
	}
	return c;
}

void lite_free(struct lite_ctx *c) { free(c); }

static void cm_iv(const struct lite_ctx *c, const uint8_t *pkt, uint8_t iv[16])
{
	memset(iv, 0, 16);
	memcpy(iv, c->salt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= pkt[8 + i]; /* SSRC */
	iv[12] ^= pkt[2];                /* index = ROC(0) || SEQ */
	iv[13] ^= pkt[3];
}

static void gcm_iv(const struct lite_ctx *c, const uint8_t *pkt, uint8_t iv[12])
{
	memcpy(iv, c->salt, 12);
	for (int i = 0; i < 4; i++)
		iv[2 + i] ^= pkt[8 + i]; /* SSRC; ROC 0 in 6..9 */
	iv[10] ^= pkt[2];
	iv[11] ^= pkt[3];
}

static const uint8_t roc0[4];

void lite_protect(struct lite_ctx *c, uint8_t *pkt, int *len)
{
	size_t n = (size_t)*len;
	if (c->suite == LITE_AES_CM_80) {
		uint8_t iv[16];
		cm_iv(c, pkt, iv);
		ctr_crypt(&c->u.cm.aes, (nettle_cipher_func *)aes128_encrypt, AES_BLOCK_SIZE, iv,
			  n - 12, pkt + 12, pkt + 12);
		hmac_sha1_update(&c->u.cm.mac, n, pkt);
		hmac_sha1_update(&c->u.cm.mac, 4, roc0);
		hmac_sha1_digest(&c->u.cm.mac, 10, pkt + n);
		*len = (int)n + 10;
	} else {
		uint8_t iv[12];
		gcm_iv(c, pkt, iv);
		gcm_aes128_set_iv(&c->u.gcm, 12, iv);
		gcm_aes128_update(&c->u.gcm, 12, pkt);
		gcm_aes128_encrypt(&c->u.gcm, n - 12, pkt + 12, pkt + 12);
		gcm_aes128_digest(&c->u.gcm, 16, pkt + n);
		*len = (int)n + 16;
	}
}

int lite_unprotect(struct lite_ctx *c, uint8_t *pkt, int *len)
{
	size_t n = (size_t)*len, t = lite_tag_len(c->suite);
	if (n < 12 + t)
		return -1;
	n -= t;
	if (c->suite == LITE_AES_CM_80) {
		uint8_t tag[10], iv[16];
		hmac_sha1_update(&c->u.cm.mac, n, pkt);
		hmac_sha1_update(&c->u.cm.mac, 4, roc0);
		hmac_sha1_digest(&c->u.cm.mac, 10, tag);
		if (!memeql_sec(tag, pkt + n, 10))
			return -1;
		cm_iv(c, pkt, iv);
		ctr_crypt(&c->u.cm.aes, (nettle_cipher_func *)aes128_encrypt, AES_BLOCK_SIZE, iv,
			  n - 12, pkt + 12, pkt + 12);
	} else {
		uint8_t tag[16], iv[12];
		gcm_iv(c, pkt, iv);
		gcm_aes128_set_iv(&c->u.gcm, 12, iv);
		gcm_aes128_update(&c->u.gcm, 12, pkt);
		gcm_aes128_decrypt(&c->u.gcm, n - 12, pkt + 12, pkt + 12);
		gcm_aes128_digest(&c->u.gcm, 16, tag);
		if (!memeql_sec(tag, pkt + n, 16))
			return -1;
	}
	*len = (int)n;
	return 0;
}
