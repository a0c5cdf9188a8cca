/* The special-purpose address test of http/fetch.h (http_address_special):
 * what a fetch refuses to connect to by default, against server-side request
 * forgery — a URL from a signed message aimed at the gateway's own host, its
 * private networks or a cloud metadata service. The table follows the IANA
 * special-purpose registries (RFC 6890 and its successors); IPv6 forms that
 * embed an IPv4 address (mapped, 6to4) are judged by that address. */
#include "http/fetch.h"

#include <netinet/in.h>
#include <string.h>

struct prefix {
	uint8_t bytes[16];
	unsigned bits;
};

static const struct prefix special4[] = {
	{ { 0 }, 8 },                 /* "this network" */
	{ { 10 }, 8 },                /* private */
	{ { 100, 64 }, 10 },          /* shared address space (CGN) */
	{ { 127 }, 8 },               /* loopback */
	{ { 169, 254 }, 16 },         /* link-local, cloud metadata */
	{ { 172, 16 }, 12 },          /* private */
	{ { 192, 0, 0 }, 24 },        /* IETF protocol assignments */
	{ { 192, 0, 2 }, 24 },        /* TEST-NET-1 */
	{ { 192, 88, 99 }, 24 },      /* 6to4 relay anycast */
	{ { 192, 168 }, 16 },         /* private */
	{ { 198, 18 }, 15 },          /* benchmarking */
	{ { 198, 51, 100 }, 24 },     /* TEST-NET-2 */
	{ { 203, 0, 113 }, 24 },      /* TEST-NET-3 */
	{ { 224 }, 4 },               /* multicast */
	{ { 240 }, 4 },               /* reserved, limited broadcast included */
};

static const struct prefix special6[] = {
	{ { 0 }, 128 },                                       /* unspecified */
	{ { [15] = 1 }, 128 },                                /* loopback */
	{ { 0x00, 0x64, 0xff, 0x9b }, 96 },                   /* NAT64 well-known */
	{ { 0x01, 0x00 }, 64 },                               /* discard-only */
	{ { 0x20, 0x01 }, 23 },                               /* IETF protocol assignments */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32 },                   /* documentation */
	{ { 0xfc }, 7 },                                      /* unique local */
	{ { 0xfe, 0x80 }, 10 },                               /* link-local */
	{ { 0xff }, 8 },                                      /* multicast */
};

static bool in_prefix(const uint8_t *a, const struct prefix *p)
{
	unsigned whole = p->bits / 8, rest = p->bits % 8;
	if (memcmp(a, p->bytes, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (p->bytes[whole] & mask);
}

static bool special_v4(const uint8_t *a)
{
	for (size_t i = 0; i < sizeof(special4) / sizeof(special4[0]); i++)
		if (in_prefix(a, &special4[i]))
			return true;
	return false;
}

static bool special_v6(const uint8_t *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t compat[12] = { 0 };
	if (memcmp(a, mapped, 12) == 0)
		return special_v4(a + 12); /* ::ffff:a.b.c.d is a.b.c.d */
	if (a[0] == 0x20 && a[1] == 0x02)
		return special_v4(a + 2);  /* 6to4 2002:AABB:CCDD::/48 embeds it */
	if (memcmp(a, compat, 12) == 0)
		return true;               /* ::/96 (deprecated IPv4-compatible) and ::, ::1 */
	for (size_t i = 0; i < sizeof(special6) / sizeof(special6[0]); i++)
		if (in_prefix(a, &special6[i]))
			return true;
	return false;
}

bool http_address_special(const struct sockaddr *sa, socklen_t len)
{
	if (!sa)
		return true;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		return special_v4((const uint8_t *)&in->sin_addr);
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		return special_v6(in6->sin6_addr.s6_addr);
	}
	return true; /* any other family (or a short structure) is never a destination */
}
