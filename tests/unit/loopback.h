/* Loopback UDP for the media tests: an IPv4 127.0.0.1 address with a port,
 * and a non-blocking UDP socket bound to a free loopback port (a phone or a
 * trunk's media end). Include after <cmocka.h>: failures assert. */
#ifndef PC_TEST_LOOPBACK_H
#define PC_TEST_LOOPBACK_H

#include <sys/socket.h>

struct sockaddr_storage loopback4(unsigned port);
/* The socket; its port in *port. */
int loopback_udp(unsigned *port);

#endif
