/* Authentication of what nodes exchange through Redis besides the sealed
 * call records: binding values and guard notices. Without it anyone able
 * to write to Redis could point a registered user's calls at an address of
 * their choosing or ban a source on every node. With a cluster key each
 * such value starts with a tag line, "m1 <time> <mac>\n", where the MAC is
 * HMAC-SHA-256 under a key derived from the cluster key (so the sealing
 * key is never used for anything else) over the name the value travels
 * under, the time and the body: a value copied to another user's key, or
 * a notice replayed after max_age, does not verify. Comparison is in
 * constant time; the derived key is wiped with the cluster. */
#include "mac.h"

#include <inttypes.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/hex.h"

uint64_t cl_mac_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char derive_label[] = "portcullis cluster value mac 1";

void cl_mac_init(struct cl_mac *m, const uint8_t cluster_key[32])
{
	struct hmac_sha256_ctx h;
	hmac_sha256_set_key(&h, 32, cluster_key);
	hmac_sha256_update(&h, sizeof(derive_label) - 1, (const uint8_t *)derive_label);
	hmac_sha256_digest(&h, CL_MAC_KEY_LEN, m->key);
	explicit_bzero(&h, sizeof(h));
	m->on = true;
}

void cl_mac_wipe(struct cl_mac *m)
{
	explicit_bzero(m, sizeof(*m));
}

static void compute(const struct cl_mac *m, const char *name, const char *stamp, const char *body, size_t blen,
		    uint8_t out[SHA256_DIGEST_SIZE])
{
	struct hmac_sha256_ctx h;
	hmac_sha256_set_key(&h, CL_MAC_KEY_LEN, m->key);
	hmac_sha256_update(&h, strlen(name) + 1, (const uint8_t *)name); /* with its NUL: a boundary */
	hmac_sha256_update(&h, 16, (const uint8_t *)stamp);
	hmac_sha256_update(&h, blen, (const uint8_t *)body);
	hmac_sha256_digest(&h, SHA256_DIGEST_SIZE, out);
	explicit_bzero(&h, sizeof(h));
}

int cl_mac_wrap(const struct cl_mac *m, const char *name, uint64_t now_ms, const char *body, size_t blen,
		char *out, size_t outlen)
{
	if (outlen < CL_MAC_OVERHEAD + blen + 1)
		return -1;
	char stamp[17];
	snprintf(stamp, sizeof(stamp), "%016" PRIx64, now_ms);
	uint8_t mac[SHA256_DIGEST_SIZE];
	compute(m, name, stamp, body, blen, mac);
	int n = snprintf(out, outlen, "m1 %s ", stamp);
	for (size_t i = 0; i < sizeof(mac); i++)
		n += snprintf(out + n, outlen - (size_t)n, "%02x", mac[i]);
	out[n++] = '\n';
	memcpy(out + n, body, blen);
	out[n + blen] = '\0';
	return n + (int)blen;
}

static uint64_t stamp_of(const uint8_t b[8])
{
	uint64_t at = 0;
	for (int i = 0; i < 8; i++)
		at = at << 8 | b[i];
	return at;
}

int cl_mac_unwrap(const struct cl_mac *m, const char *name, uint64_t now_ms, uint64_t max_age_ms,
		  const char *in, size_t inlen, const char **body, size_t *blen)
{
	if (inlen < CL_MAC_OVERHEAD || memcmp(in, "m1 ", 3) != 0 || in[19] != ' ' ||
	    in[CL_MAC_OVERHEAD - 1] != '\n')
		return -1;
	uint8_t stamp_bytes[8], got[SHA256_DIGEST_SIZE], want[SHA256_DIGEST_SIZE];
	if (!hex_decode(in + 3, 16, stamp_bytes, sizeof(stamp_bytes)) ||
	    !hex_decode(in + 20, 64, got, sizeof(got)))
		return -1;
	compute(m, name, in + 3, in + CL_MAC_OVERHEAD, inlen - CL_MAC_OVERHEAD, want);
	if (!memeql_sec(got, want, sizeof(got)))
		return -1;
	if (max_age_ms > 0) {
		uint64_t at = stamp_of(stamp_bytes);
		uint64_t age = now_ms > at ? now_ms - at : at - now_ms;
		if (age > max_age_ms)
			return -1;
	}
	*body = in + CL_MAC_OVERHEAD;
	*blen = inlen - CL_MAC_OVERHEAD;
	return 0;
}

int cl_mac_stamp(const char *in, size_t inlen, uint64_t *at_ms)
{
	uint8_t b[8];
	if (inlen < CL_MAC_OVERHEAD || memcmp(in, "m1 ", 3) != 0 || !hex_decode(in + 3, 16, b, sizeof(b)))
		return -1;
	*at_ms = stamp_of(b);
	return 0;
}
