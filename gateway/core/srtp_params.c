/* Names and sizes of the supported SRTP suites; key comparison and wiping
 * that the compiler may not optimise away. */
#include "srtp_params.h"

#include <string.h>

static const struct {
	const char *name;
	size_t key_salt_len;
} suites[PC_SRTP_SUITE__COUNT] = {
	[PC_SRTP_AES_CM_128_HMAC_SHA1_80] = { "AES_CM_128_HMAC_SHA1_80", 30 },
	[PC_SRTP_AES_CM_128_HMAC_SHA1_32] = { "AES_CM_128_HMAC_SHA1_32", 30 },
	[PC_SRTP_AES_256_CM_HMAC_SHA1_80] = { "AES_256_CM_HMAC_SHA1_80", 46 },
	[PC_SRTP_AEAD_AES_128_GCM] = { "AEAD_AES_128_GCM", 28 },
	[PC_SRTP_AEAD_AES_256_GCM] = { "AEAD_AES_256_GCM", 44 },
};

const char *pc_srtp_suite_name(enum pc_srtp_suite s)
{
	return (unsigned)s < PC_SRTP_SUITE__COUNT ? suites[s].name : "unknown";
}

int pc_srtp_suite_from_name(const char *name, size_t len, enum pc_srtp_suite *out)
{
	for (unsigned i = 0; i < PC_SRTP_SUITE__COUNT; i++) {
		if (strlen(suites[i].name) == len && memcmp(suites[i].name, name, len) == 0) {
			*out = (enum pc_srtp_suite)i;
			return 0;
		}
	}
	return -1;
}

size_t pc_srtp_suite_key_salt_len(enum pc_srtp_suite s)
{
	return (unsigned)s < PC_SRTP_SUITE__COUNT ? suites[s].key_salt_len : 0;
}

bool pc_srtp_params_equal(const struct pc_srtp_params *a, const struct pc_srtp_params *b)
{
	volatile uint8_t diff = 0;
	diff |= (uint8_t)(a->suite != b->suite);
	diff |= (uint8_t)(a->key_salt_len != b->key_salt_len);
	diff |= (uint8_t)(a->mki_len != b->mki_len);
	diff |= (uint8_t)(a->mki != b->mki);
	for (size_t i = 0; i < PC_SRTP_MAX_KEY_SALT; i++)
		diff |= a->key_salt[i] ^ b->key_salt[i];
	return diff == 0;
}

void pc_srtp_params_wipe(struct pc_srtp_params *p)
{
	explicit_bzero(p, sizeof(*p));
}
