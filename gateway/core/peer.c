/* Printing and naming helpers for struct pc_peer. */
#include "peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const tp_names[] = { "udp", "tcp", "tls" };

const char *pc_transport_name(enum pc_transport tp) { return tp_names[tp]; }

int pc_transport_from_name(const char *name, enum pc_transport *out)
{
	for (unsigned i = 0; i < 3; i++) {
		if (strcasecmp(name, tp_names[i]) == 0) {
			*out = (enum pc_transport)i;
			return 0;
		}
	}
	return -1;
}

int pc_sockaddr_numeric(const char *host, uint16_t port, struct sockaddr_storage *out,
			socklen_t *outlen)
{
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		*outlen = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		*outlen = sizeof(*v6);
	} else {
		return -1;
	}
	return 0;
}

int pc_sockaddr_str(const struct sockaddr *sa, char *host, unsigned hostlen, unsigned *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, hostlen);
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, hostlen);
		*port = ntohs(in6->sin6_port);
		return 0;
	}
	snprintf(host, hostlen, "?");
	*port = 0;
	return -1;
}

const char *pc_peer_str(const struct pc_peer *peer, char *buf, unsigned len)
{
	char host[64];
	unsigned port;
	pc_sockaddr_str((const struct sockaddr *)&peer->addr, host, sizeof(host), &port);
	if (peer->addr.ss_family == AF_INET6)
		snprintf(buf, len, "%s:[%s]:%u", tp_names[peer->transport], host, port);
	else
		snprintf(buf, len, "%s:%s:%u", tp_names[peer->transport], host, port);
	return buf;
}

bool pc_sockaddr_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
	return false;
}

bool pc_sockaddr_same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family == AF_INET6 && b->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr, 8);
	return pc_sockaddr_same_ip(a, b);
}

bool pc_sockaddr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (!pc_sockaddr_same_ip(a, b))
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_port ==
		       ((const struct sockaddr_in *)b)->sin_port;
	return ((const struct sockaddr_in6 *)a)->sin6_port ==
	       ((const struct sockaddr_in6 *)b)->sin6_port;
}
