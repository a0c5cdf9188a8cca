/* The pure parts of the connection limits (issue 8): per-source accounting
 * keys an IPv6 source by its /64, and the back-off from a failing peer
 * doubles from its minimum up to its cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/peer.h"
#include "transport/backoff.h"

static struct sockaddr_storage addr(const char *text, unsigned port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
	}
	return ss;
}

static void ipv6_sources_are_counted_per_64(void **state)
{
	struct sockaddr_storage a = addr("2001:db8:1:2::1", 5060);
	struct sockaddr_storage b = addr("2001:db8:1:2:ffff:ffff:ffff:fffe", 40000);
	struct sockaddr_storage c = addr("2001:db8:1:3::1", 5060);
	assert_true(pc_sockaddr_same_source(&a, &b));
	assert_false(pc_sockaddr_same_ip(&a, &b));
	assert_false(pc_sockaddr_same_source(&a, &c));
}

static void ipv4_sources_are_counted_per_address(void **state)
{
	struct sockaddr_storage a = addr("192.0.2.1", 5060);
	struct sockaddr_storage b = addr("192.0.2.1", 5070);
	struct sockaddr_storage c = addr("192.0.2.2", 5060);
	struct sockaddr_storage v6 = addr("::ffff:192.0.2.1", 5060);
	assert_true(pc_sockaddr_same_source(&a, &b));
	assert_false(pc_sockaddr_same_source(&a, &c));
	assert_false(pc_sockaddr_same_source(&a, &v6));
}

static void backoff_doubles_up_to_its_cap(void **state)
{
	assert_int_equal(backoff_delay_s(1, 30, 1), 1);
	assert_int_equal(backoff_delay_s(1, 30, 2), 2);
	assert_int_equal(backoff_delay_s(1, 30, 5), 16);
	assert_int_equal(backoff_delay_s(1, 30, 6), 30);
	assert_int_equal(backoff_delay_s(1, 30, 1000000), 30);
	assert_int_equal(backoff_delay_s(3, 10, 2), 6);
	assert_int_equal(backoff_delay_s(3, 10, 3), 10);
	assert_int_equal(backoff_delay_s(5, 5, 4), 5);
	assert_int_equal(backoff_delay_s(3000, 3600, 40), 3600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipv6_sources_are_counted_per_64),
		cmocka_unit_test(ipv4_sources_are_counted_per_address),
		cmocka_unit_test(backoff_doubles_up_to_its_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
