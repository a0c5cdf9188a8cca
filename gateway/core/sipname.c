/* RFC 5922 §7.1 domain identities: the one place that decides whether a
 * certificate name (a SAN URI, or the identity derived from one) stands for
 * a SIP domain. A user's certificate (sip:alice@example.com) and a sips: URI
 * are refused here, so a phone's certificate from the same CA can never pass
 * as its domain's trunk. */
#include "sipname.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

bool sipname_uri_names_domain(const char *uri, size_t len, const char *domain)
{
	const char *end = uri + len;
	if (len <= 4 || strncasecmp(uri, "sip:", 4) != 0)
		return false;
	/* A user part anywhere makes it a user's identity; refusing any '@'
	 * also refuses one hidden in parameters or headers. */
	if (memchr(uri, '@', len) != NULL)
		return false;
	const char *host = uri + 4, *stop = host;
	while (stop < end && *stop != ':' && *stop != ';' && *stop != '>' && *stop != '?')
		stop++;
	size_t n = (size_t)(stop - host);
	return n > 0 && n == strlen(domain) && strncasecmp(host, domain, n) == 0;
}

bool sipname_identity_names_domain(const char *identity, const char *domain)
{
	if (identity == NULL || identity[0] == '\0' || domain == NULL || domain[0] == '\0')
		return false;
	unsigned char ip6[16];
	if (strchr(identity, ':') && inet_pton(AF_INET6, identity, ip6) != 1)
		return sipname_uri_names_domain(identity, strlen(identity), domain);
	return strcasecmp(identity, domain) == 0;
}
