/* http_address_special (gateway/http/addr.c), the SSRF refusal table: both
 * sides of every prefix boundary, IPv4 and IPv6, and the IPv6 forms that
 * embed an IPv4 address (mapped, 6to4) judged by that address, so a URL
 * naming [::ffff:127.0.0.1] or 2002:7f00:1:: cannot reach loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "http/fetch.h"
#include "http/server.h"

static bool special(const char *text)
{
	if (strchr(text, ':')) {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
		assert_int_equal(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
		return http_address_special((struct sockaddr *)&a, sizeof(a));
	}
	struct sockaddr_in a = { .sin_family = AF_INET };
	assert_int_equal(inet_pton(AF_INET, text, &a.sin_addr), 1);
	return http_address_special((struct sockaddr *)&a, sizeof(a));
}

/* Each row: the last public address below a range, its first and last
 * addresses, and the first public address above it. */
struct edge {
	const char *below, *first, *last, *above;
};

static void check_edges(const struct edge *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (e[i].below && special(e[i].below))
			fail_msg("%s should be public", e[i].below);
		if (!special(e[i].first))
			fail_msg("%s should be special", e[i].first);
		if (!special(e[i].last))
			fail_msg("%s should be special", e[i].last);
		if (e[i].above && special(e[i].above))
			fail_msg("%s should be public", e[i].above);
	}
}

static void ipv4_boundaries(void **state)
{
	static const struct edge e[] = {
		{ NULL, "0.0.0.0", "0.255.255.255", "1.0.0.0" },
		{ "9.255.255.255", "10.0.0.0", "10.255.255.255", "11.0.0.0" },
		{ "100.63.255.255", "100.64.0.0", "100.127.255.255", "100.128.0.0" },
		{ "126.255.255.255", "127.0.0.0", "127.255.255.255", "128.0.0.0" },
		{ "169.253.255.255", "169.254.0.0", "169.254.255.255", "169.255.0.0" },
		{ "172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0" },
		{ "191.255.255.255", "192.0.0.0", "192.0.0.255", "192.0.1.0" },
		{ "192.0.1.255", "192.0.2.0", "192.0.2.255", "192.0.3.0" },
		{ "192.88.98.255", "192.88.99.0", "192.88.99.255", "192.88.100.0" },
		{ "192.167.255.255", "192.168.0.0", "192.168.255.255", "192.169.0.0" },
		{ "198.17.255.255", "198.18.0.0", "198.19.255.255", "198.20.0.0" },
		{ "198.51.99.255", "198.51.100.0", "198.51.100.255", "198.51.101.0" },
		{ "203.0.112.255", "203.0.113.0", "203.0.113.255", "203.0.114.0" },
		{ "223.255.255.255", "224.0.0.0", "239.255.255.255", NULL },
		{ NULL, "240.0.0.0", "255.255.255.255", NULL },
	};
	check_edges(e, sizeof(e) / sizeof(e[0]));
	assert_false(special("8.8.8.8"));
	assert_false(special("1.1.1.1"));
}

static void ipv6_boundaries(void **state)
{
	static const struct edge e[] = {
		{ NULL, "::", "::", NULL },
		{ NULL, "::1", "::1", NULL },
		{ "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b::", "64:ff9b::ffff:ffff",
		  "64:ff9b::1:0:0" },
		{ "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "100::", "100::ffff:ffff:ffff:ffff", "100:0:0:1::" },
		{ "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001::", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "2001:200::" },
		{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
		  "2001:db9::" },
		{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "fe00::" },
		{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "fec0::" },
		{ "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  NULL },
	};
	check_edges(e, sizeof(e) / sizeof(e[0]));
	assert_false(special("2606:4700::1111"));
	assert_false(special("2a00:1450:4001:80b::200e"));
}

/* An IPv4 address wrapped in IPv6 is judged as itself. */
static void embedded_ipv4(void **state)
{
	assert_true(special("::ffff:127.0.0.1"));
	assert_true(special("::ffff:10.1.2.3"));
	assert_true(special("::ffff:169.254.169.254"));
	assert_false(special("::ffff:8.8.8.8"));
	assert_false(special("::1:ffff:808:808")); /* just outside ::ffff:0:0/96 and ::/96 */
	assert_true(special("::127.0.0.1"));       /* deprecated IPv4-compatible */
	assert_true(special("::8.8.8.8"));         /* ::/96 is never a destination */
	assert_true(special("2002:7f00:1::"));     /* 6to4 of 127.0.0.1 */
	assert_true(special("2002:a9fe:a9fe::1")); /* 6to4 of 169.254.169.254 */
	assert_true(special("2002:c0a8:101::"));   /* 6to4 of 192.168.1.1 */
	assert_false(special("2002:808:808::1"));  /* 6to4 of 8.8.8.8 */
	assert_false(special("2001:200::1"));      /* above 2001::/23 */
}

static void other_families_are_special(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, "8.8.8.8", &a.sin_addr);
	assert_false(http_address_special((struct sockaddr *)&a, sizeof(a)));
	assert_true(http_address_special((struct sockaddr *)&a, sizeof(a) - 1)); /* short */
	struct sockaddr un = { .sa_family = AF_UNIX };
	assert_true(http_address_special(&un, sizeof(un)));
	assert_true(http_address_special(NULL, 0));
}

/* The HTTP listener's Host header (server.c): the name a browser asked for,
 * which DNS rebinding cannot change, and whether it is an address literal. */
static void host_header(void **state)
{
	(void)state;
	char h[64];
	assert_int_equal(http_host_name("127.0.0.1:8080", h, sizeof(h)), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_true(http_host_is_address(h));
	assert_int_equal(http_host_name("[::1]:8080", h, sizeof(h)), 0);
	assert_string_equal(h, "::1");
	assert_true(http_host_is_address(h));
	assert_int_equal(http_host_name("Evil.Example", h, sizeof(h)), 0);
	assert_string_equal(h, "evil.example");
	assert_false(http_host_is_address(h));
	/* names that merely look numeric are names */
	assert_int_equal(http_host_name("127.0.0.1.evil.example:80", h, sizeof(h)), 0);
	assert_false(http_host_is_address(h));
	assert_int_equal(http_host_name("2130706433", h, sizeof(h)), 0);
	assert_false(http_host_is_address(h));
	const char *bad[] = { "", ":8080", "[::1", "[::1]x", "a:b", "a b", "user@127.0.0.1", "a/b",
			      "127.0.0.1:80:80", "\x01" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(http_host_name(bad[i], h, sizeof(h)), -1);
	char longname[100];
	memset(longname, 'a', 99);
	longname[99] = '\0';
	assert_int_equal(http_host_name(longname, h, sizeof(h)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_header),
		cmocka_unit_test(ipv4_boundaries),
		cmocka_unit_test(ipv6_boundaries),
		cmocka_unit_test(embedded_ipv4),
		cmocka_unit_test(other_families_are_special),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
