/* srtp_lite: just enough SRTP (RFC 3711, RFC 7714) for the load generator,
 * on nettle: AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM, RTP only, ROC 0
 * (a benchmark run never sends 65,536 packets on one stream). It exists so
 * the generator's crypto costs ~0.2 us a packet whatever the number of
 * streams, leaving the second core free to drive the relay under test; it is
 * checked against libsrtp2 by the relay itself (every packet must
 * authenticate there) and by `media_load --selftest`. Not for production. */
#ifndef BENCH_SRTP_LITE_H
#define BENCH_SRTP_LITE_H

#include <stddef.h>
#include <stdint.h>

enum lite_suite { LITE_AES_CM_80 = 0, LITE_AEAD_GCM_128 = 1 };

struct lite_ctx;

/* suite name as in SDP; key_salt: 30 bytes (AES-CM) or 28 (GCM). */
int lite_suite_from_name(const char *name, enum lite_suite *out);
size_t lite_key_len(enum lite_suite s);
size_t lite_tag_len(enum lite_suite s);
struct lite_ctx *lite_new(enum lite_suite s, const uint8_t *key_salt);
void lite_free(struct lite_ctx *c);
/* Protects pkt (RTP header of 12 bytes, no CSRC/extension) of *len bytes in
 * place, appending the tag; the buffer must have room. */
void lite_protect(struct lite_ctx *c, uint8_t *pkt, int *len);
/* Verifies and decrypts in place; 0 ok, -1 authentication failed. */
int lite_unprotect(struct lite_ctx *c, uint8_t *pkt, int *len);

#endif
