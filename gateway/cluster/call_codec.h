/* An established call's state (core/call_state.h) as the value another
 * node reads to take the call over: a compact, versioned binary record,
 * sealed with AES-256-GCM under the cluster key, a fresh random nonce per
 * write, and as associated data the node that wrote it, the record's id
 * and the wall-clock second it was sealed (in clear beside the nonce): a
 * value moved under another node's or record's key does not open, and a
 * reader can refuse one older than the copy it holds or than the TTL. Redis never sees it in clear. What comes back
 * is untrusted: opening refuses anything that does not authenticate, and
 * the record inside is still read strictly (bounded strings, known enums,
 * key lengths matching their suite, nothing left over), since a node with
 * the key may be older or buggy. Pure but for the random nonce. */
#ifndef PC_CLUSTER_CALL_CODEC_H
#define PC_CLUSTER_CALL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/call_state.h"

#define CL_CALL_KEY_LEN 32
#define CL_CALL_PLAIN_MAX 12288 /* a full record is about 10 KB */
#define CL_CALL_NONCE_LEN 12
#define CL_CALL_TAG_LEN 16
#define CL_CALL_MAGIC "pcc2"
#define CL_CALL_HEAD (4 + 8 + CL_CALL_NONCE_LEN) /* magic, sealed-at second, nonce */
#define CL_CALL_SEALED_MAX (CL_CALL_HEAD + CL_CALL_PLAIN_MAX + CL_CALL_TAG_LEN)

/* The record in clear (for the seal, tests and the fuzz target): its
 * length, or -1 when a field cannot be carried (a string with a control
 * character or too long, an unknown suite, out too small). */
int cl_call_encode(const struct pc_call_state *s, uint8_t *out, size_t outlen);
/* Reads a record in clear: 0, or -1 (out wiped) on anything malformed. */
int cl_call_decode(const uint8_t *in, size_t len, struct pc_call_state *out);

/* The sealed value node writes at sealed_at_s: magic, that second, nonce,
 * ciphertext, tag; its length, or -1. The clear text is wiped before
 * return. */
int cl_call_seal(const uint8_t key[CL_CALL_KEY_LEN], const char *node, uint64_t sealed_at_s,
		 const struct pc_call_state *s, uint8_t *out, size_t outlen);
/* Opens a sealed value found under node's record id `id`: 0 with the call
 * in out and the second it was sealed in *sealed_at_s, or -1 (out wiped)
 * when it does not authenticate under this key, node, id and second, or
 * what it holds is malformed, or names another id. */
int cl_call_open(const uint8_t key[CL_CALL_KEY_LEN], const char *node, const char *id, const uint8_t *in,
		 size_t len, struct pc_call_state *out, uint64_t *sealed_at_s);

#endif
