/* The STIR certificate cache shared between nodes: a chain one node
 * fetched and checked is stored as "portcullis:cert:<name>" (name: the
 * SHA-256 of its cache key in hex, given by sti/repo.c, so Redis never
 * holds a URL) for as long as that node caches it; another node missing
 * the URL reads it back before fetching. Certificates only: never a
 * verification result. What is read back is untrusted: the verification
 * service checks it as if it had fetched it. */
#ifndef PC_CLUSTER_SHARED_CERTS_H
#define PC_CLUSTER_SHARED_CERTS_H

#include <stddef.h>

#include "codec.h"
#include "redis.h"

#define CL_CERT_KEY_PREFIX "portcullis:cert:"

typedef void cl_cert_found_fn(void *arg, const void *bytes, size_t len, long ttl_s);
struct cl_mac;

/* With mac on (a cluster key_file), values are written with its tag over
 * the key, the time and the body, and one read back without a valid tag
 * is refused (counted): a writer to Redis cannot plant a chain under a URL
 * it does not serve. mac NULL or off: untagged, as without a key. */
/* found is called once, from the loop (bytes NULL: absent, expired,
 * malformed, not authenticated or Redis failed); -1 when not sent (found
 * is not called). */
int cl_certs_get(struct cl_redis *r, const struct cl_mac *mac, const char *name, cl_cert_found_fn *found,
		 void *arg);
void cl_certs_put(struct cl_redis *r, const struct cl_mac *mac, const char *name, const void *bytes,
		  size_t len, unsigned ttl_s);
#endif
