/* Addresses the transport hands out or checks: the numeric address of a
 * listener or configured peer, the sent-by (address and port) to put in a Via
 * or Contact toward a peer, and whether a host:port is one of our listeners.
 * It knows listeners only; which of them belong together (a B2BUA leg) is the
 * caller's to say. */
#include "transport_int.h"

#include <stdio.h>
#include <string.h>

int parse_address(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int transport_peer_address(const struct peer_config *pc, struct pc_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->transport = pc->transport;
	out->listener = -1;
	return parse_address(pc->address, pc->port, &out->addr, &out->addrlen);
}

static bool serves(const struct listener *l, const struct pc_peer *to)
{
	return l->cfg->transport == to->transport && l->addr.ss_family == to->addr.ss_family;
}

int transport_sent_by(struct transport *tp, const struct pc_peer *to, uint32_t prefer,
		      char *host, size_t hostlen, unsigned *port)
{
	const struct listener *pick = NULL;
	if (to->listener >= 0 && (unsigned)to->listener < tp->n_listeners &&
	    serves(&tp->listeners[to->listener], to))
		pick = &tp->listeners[to->listener];
	for (unsigned i = 0; i < tp->n_listeners && !pick && prefer; i++)
		if (serves(&tp->listeners[i], to) && (prefer & (UINT32_C(1) << i)))
			pick = &tp->listeners[i];
	for (unsigned i = 0; i < tp->n_listeners && !pick; i++)
		if (serves(&tp->listeners[i], to))
			pick = &tp->listeners[i];
	if (!pick)
		return -1;
	snprintf(host, hostlen, "%s", pick->cfg->address);
	*port = pick->cfg->port;
	return 0;
}

int transport_is_local(struct transport *tp, const char *host, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	for (unsigned i = 0; i < tp->n_listeners; i++) {
		const struct listener *l = &tp->listeners[i];
		if (parse_address(host, l->cfg->port, &ss, &sl) < 0)
			return 0;
		if (pc_sockaddr_same_ip(&ss, &l->addr) && (port == 0 || port == l->cfg->port))
			return 1;
	}
	return 0;
}
