/* SRTP keying parameters as data: the crypto suites Portcullis supports
 * (RFC 4568, RFC 6188, RFC 7714) and one SDES key set (master key || salt,
 * optional MKI). Shared by sdp/ (which turns them into a=crypto text) and
 * media/ (which turns them into SRTP contexts); neither includes the
 * other. The bytes are secret: never log them; wipe with srtp_params_wipe. */
#ifndef PC_CORE_SRTP_PARAMS_H
#define PC_CORE_SRTP_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum srtp_suite {
	SRTP_AES_CM_128_HMAC_SHA1_80 = 0,
	SRTP_AES_CM_128_HMAC_SHA1_32,
	SRTP_AES_256_CM_HMAC_SHA1_80,
	SRTP_AEAD_AES_128_GCM,
	SRTP_AEAD_AES_256_GCM,
	SRTP_SUITE__COUNT
};

#define SRTP_MAX_KEY_SALT 46 /* AES-256-CM: 32-byte key + 14-byte salt */
#define SRTP_MAX_MKI 4

struct srtp_params {
	enum srtp_suite suite;
	uint8_t key_salt[SRTP_MAX_KEY_SALT]; /* master key followed by master salt */
	size_t key_salt_len;                 /* must equal srtp_suite_key_salt_len(suite) */
	uint32_t mki;                        /* valid when mki_len > 0 */
	uint8_t mki_len;                     /* 0..4 bytes on the wire */
	uint64_t lifetime;                   /* 0 = default (2^48 RTP, 2^31 RTCP) */
};

/* RFC 4568 / 6188 / 7714 names: "AES_CM_128_HMAC_SHA1_80", ... */
const char *srtp_suite_name(enum srtp_suite s);
int srtp_suite_from_name(const char *name, size_t len, enum srtp_suite *out);
/* Bytes of master key + master salt: 30 for AES-CM-128, 46 for AES-256-CM,
 * 28 for AEAD-AES-128-GCM, 44 for AEAD-AES-256-GCM. */
size_t srtp_suite_key_salt_len(enum srtp_suite s);
/* Constant-time comparison of two key sets (suite, key, salt, MKI). */
bool srtp_params_equal(const struct srtp_params *a, const struct srtp_params *b);
void srtp_params_wipe(struct srtp_params *p);

#endif
