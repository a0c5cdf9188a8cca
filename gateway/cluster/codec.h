/* The text a user's registrar bindings (and a shared certificate's expiry)
 * take in Redis, and its strict reading back. Redis may be shared with other programs, so what comes back
 * is untrusted input: every field is bounded, checked for its shape and
 * free of control characters before it becomes a reg_binding (fuzzed by
 * tests/fuzz/fuzz_cluster_bindings.c). Pure: no I/O. */
#ifndef PC_CLUSTER_CODEC_H
#define PC_CLUSTER_CODEC_H

#include <stddef.h>

#include "registrar/registrar.h"

/* A value never exceeds this (32 bindings of at most ~1.1 KB each). */
#define CL_VALUE_MAX 65536

/* Writes n bindings as one value; a binding whose node is "" is written
 * with `self`. Returns the length, or -1 when a field cannot be written
 * (a tab or newline in it, or `out` too small). */
int cl_bindings_encode(const struct reg_binding *b, unsigned n, const char *self, char *out,
		       size_t outlen);

/* Reads a value into at most `max` bindings (flow connection id 0, no
 * listener). Returns the count, or -1 when anything in it is malformed:
 * one bad line refuses the whole value. */
int cl_bindings_decode(const char *in, size_t len, struct reg_binding *out, unsigned max);

/* A change notice "<node>\t<user>" (untrusted): 0 with both copied, or
 * -1 when malformed or a part does not fit. */
int cl_notice_decode(const char *in, size_t len, char *node, size_t nodelen, char *user,
		     size_t userlen);

/* A shared STIR certificate's value: "pc1 <expiry, unix seconds>\n" and
 * the certificate bytes (never more than CL_CERT_MAX in all). 0 with the
 * bytes and what is left of its life at `now`, or -1 (malformed, empty,
 * expired). */
#define CL_CERT_MAX (256 * 1024)
#define CL_CERT_VALUE_HEAD "pc1 "
int cl_cert_value_decode(const char *in, size_t len, long now, const char **bytes, size_t *blen,
			 long *ttl_s);

#endif
