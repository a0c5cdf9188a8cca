/* SRTP keying parameters as data: the crypto suites Portcullis supports
 * (RFC 4568, RFC 6188, RFC 7714) and one SDES key set (master key || salt,
 * optional MKI). Shared by sdp/ (which turns them into a=crypto text) and
 * media/ (which turns them into SRTP contexts); neither includes the
 * other. The bytes are secret: never log them; wipe with pc_srtp_params_wipe. */
#ifndef PC_CORE_SRTP_PARAMS_H
#define PC_CORE_SRTP_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pc_srtp_suite {
	PC_SRTP_AES_CM_128_HMAC_SHA1_80 = 0,
	PC_SRTP_AES_CM_128_HMAC_SHA1_32,
	PC_SRTP_AES_256_CM_HMAC_SHA1_80,
	PC_SRTP_AEAD_AES_128_GCM,
	PC_SRTP_AEAD_AES_256_GCM,
	PC_SRTP_SUITE__COUNT
};

#define PC_SRTP_MAX_KEY_SALT 46 /* AES-256-CM: 32-byte key + 14-byte salt */
#define PC_SRTP_MAX_MKI 4

struct pc_srtp_params {
	enum pc_srtp_suite suite;
	uint8_t key_salt[PC_SRTP_MAX_KEY_SALT]; /* master key followed by master salt */
	size_t key_salt_len;                 /* must equal pc_srtp_suite_key_salt_len(suite) */
	uint32_t mki;                        /* valid when mki_len > 0 */
	uint8_t mki_len;                     /* 0..4 bytes on the wire */
	uint64_t lifetime;                   /* 0 = default (2^48 RTP, 2^31 RTCP) */
};

/* RFC 4568 / 6188 / 7714 names: "AES_CM_128_HMAC_SHA1_80", ... */
const char *pc_srtp_suite_name(enum pc_srtp_suite s);
int pc_srtp_suite_from_name(const char *name, size_t len, enum pc_srtp_suite *out);
/* Bytes of master key + master salt: 30 for AES-CM-128, 46 for AES-256-CM,
 * 28 for AEAD-AES-128-GCM, 44 for AEAD-AES-256-GCM. */
size_t pc_srtp_suite_key_salt_len(enum pc_srtp_suite s);
/* Constant-time comparison of two key sets (suite, key, salt, MKI). */
bool pc_srtp_params_equal(const struct pc_srtp_params *a, const struct pc_srtp_params *b);
void pc_srtp_params_wipe(struct pc_srtp_params *p);

#endif
