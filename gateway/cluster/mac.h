/* Values and notices nodes exchange through Redis, authenticated under the
 * cluster key (mac.c). */
#ifndef PC_CLUSTER_MAC_H
#define PC_CLUSTER_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CL_MAC_KEY_LEN 32
/* "m1 " + 16 hex digits of time + ' ' + 64 hex digits of MAC + '\n' */
#define CL_MAC_OVERHEAD (3 + 16 + 1 + 64 + 1)

struct cl_mac {
	bool on;
	uint8_t key[CL_MAC_KEY_LEN]; /* derived from the cluster key, never it */
};

/* The wall clock in ms: the time in a tag is compared across nodes. */
uint64_t cl_mac_now_ms(void);

/* Derives the MAC key from the cluster key; wipe with cl_mac_wipe. */
void cl_mac_init(struct cl_mac *m, const uint8_t cluster_key[32]);
void cl_mac_wipe(struct cl_mac *m);

/* out = the tag line, then body: the MAC covers the name (the Redis key or
 * channel it travels under), the time in ms and the body. The length, or
 * -1 when out is too small. */
int cl_mac_wrap(const struct cl_mac *m, const char *name, uint64_t now_ms, const char *body, size_t blen,
		char *out, size_t outlen);

/* The body of a wrapped value when its MAC verifies for name and, with
 * max_age_ms > 0, it is no older (and no further ahead) than max_age_ms at
 * now_ms: 0 with *body and *blen set, -1 otherwise (missing, malformed, forged,
 * moved to another name, or stale). */
int cl_mac_unwrap(const struct cl_mac *m, const char *name, uint64_t now_ms, uint64_t max_age_ms,
		  const char *in, size_t inlen, const char **body, size_t *blen);

/* The time (ms) in a wrapped value's tag line, for the replay check of
 * binding values (stamps.h): trust it only once cl_mac_unwrap accepted the
 * value. 0, or -1 when there is no tag line. */
int cl_mac_stamp(const char *in, size_t inlen, uint64_t *at_ms);

#endif
