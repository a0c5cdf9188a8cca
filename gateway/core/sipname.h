/* Domain identities in certificates (RFC 5922 §7.1): which certificate
 * names stand for a SIP domain. One rule for the TLS name check
 * (transport/tls.c) and for the trust domain (b2bua/identity.c), so the two
 * can never disagree about who a peer is. */
#ifndef PC_CORE_SIPNAME_H
#define PC_CORE_SIPNAME_H

#include <stdbool.h>
#include <stddef.h>

/* Does the subjectAltName URI uri[0..len) name the domain `domain`? Only a
 * `sip:` URI without a user part does (RFC 5922 §7.1): "sip:example.com",
 * also with a port, parameters or headers after the host. A `sips:` URI, a
 * URI with a user part (sip:alice@example.com names alice, not her domain)
 * and any other scheme name no domain. Hosts compare case-insensitively. */
bool sipname_uri_names_domain(const char *uri, size_t len, const char *domain);

/* Does a verified peer identity as transport/tls.c reports it (the first
 * subjectAltName URI, else a DNS name, else the CN; or a configured peer
 * name) name `domain`? A URI (anything with a ':' that is not an IPv6
 * literal) by the rule above, anything else by exact, case-insensitive
 * comparison. */
bool sipname_identity_names_domain(const char *identity, const char *domain);

#endif
