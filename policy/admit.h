/* policy/admit: the cheap admission decisions taken before anything is
 * allocated for a request: network allow/deny lists, the scanner User-Agent
 * block-list and the global cap on calls in set-up. Pure: configuration
 * strings, addresses and counts in, a struct verdict out; no I/O, no clock.
 *
 * Suggested order in the gateway (it orders the checks, this module only
 * provides them): ACL (a denied source must not even take a slot in the rate
 * tables), then the per-source rate and ban (policy/ratelimit.h), then the
 * scanner User-Agent, then authentication and its lockouts, and only for an
 * authenticated INVITE the set-up cap and the per-user/per-trunk call limits,
 * before any media port, SRTP context or call state exists. */
#ifndef PC_POLICY_ADMIT_H
#define PC_POLICY_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <sofia-sip/sip.h>

#include "policy/verdict.h"

/* One network: a family, a prefix length and the address with every bit past
 * the prefix zero. An IPv4-mapped IPv6 network (::ffff:a.b.c.d/96 and
 * longer) is stored as the IPv4 network it names. */
struct admit_net {
	int family;       /* AF_INET or AF_INET6 */
	unsigned prefix;  /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network address; 4 bytes used for AF_INET */
};

/* Parse "10.0.0.0/8", "2001:db8::/32" or a host "192.0.2.7" (/32, /128).
 * Strict: no blanks, no zone id, no leading zeros or sign in the prefix, no
 * bits set past the prefix ("10.0.0.1/8" is refused: it is almost always a
 * typo for a host or for a wider net). 0, or -1 with *why set to one of the
 * admit_net_err_* strings below (why may be NULL). */
int admit_net_parse(const char *text, struct admit_net *out, const char **why);

extern const char admit_net_err_empty[];
extern const char admit_net_err_address[];
extern const char admit_net_err_prefix[];
extern const char admit_net_err_range[];
extern const char admit_net_err_host_bits[];

/* Whether the address of sa (AF_INET or AF_INET6; the port is ignored) lies
 * in net. An IPv4-mapped IPv6 source (::ffff:a.b.c.d, as a dual-stack socket
 * reports IPv4 peers) is matched as the IPv4 address it carries, and only
 * against IPv4 networks. Any other family matches nothing. */
bool admit_net_match(const struct admit_net *net, const struct sockaddr *sa);

/* Deny list first; then, when an allow list is configured (n_allow > 0), the
 * source must be on it. Both arrays are the caller's. */
struct admit_acl {
	const struct admit_net *deny;
	size_t n_deny;
	const struct admit_net *allow;
	size_t n_allow;
};

/* Accept, or 403 Forbidden (RFC 3261 §21.4.4: refused by policy, and
 * authorization will not help) with why = admit_why_denied or
 * admit_why_not_allowed. A NULL source is on no list. */
struct verdict admit_acl_check(const struct admit_acl *acl, const struct sockaddr *src);

extern const char admit_why_denied[];      /* "source address is on the deny list" */
extern const char admit_why_not_allowed[]; /* "source address is not on the allow list" */

/* The built-in scanner signatures: lower-case substrings of the User-Agent
 * value of well-known SIP attack tools. *n gets their number. See admit.c for
 * why each one is there (and why some popular candidates are not). */
const char *const *admit_default_scanner_uas(size_t *n);

/* Case-insensitive (ASCII) substring match of any of the n tokens in ua.
 * NULL ua or empty tokens never match. */
bool admit_ua_is_scanner(const char *ua, const char *const *tokens, size_t n);

/* Every User-Agent header of the request against the tokens: 403 Forbidden
 * with why = admit_why_scanner on a match, otherwise accept. A request with
 * no User-Agent at all is accepted: the header is optional (RFC 3261 §20.41).
 * For the default list pass admit_default_scanner_uas(). */
struct verdict admit_ua_check(const sip_t *sip, const char *const *tokens, size_t n);

extern const char admit_why_scanner[]; /* "User-Agent of a known SIP scanner" */

/* The global cap on calls in set-up: in_setup is the number of INVITEs
 * currently between arrival and final response, not counting this one; cap 0
 * means no cap. At or over the cap: 503 Service Unavailable with
 * Retry-After ADMIT_SETUP_RETRY_AFTER and why = admit_why_setup_cap. */
struct verdict admit_setup_cap(unsigned in_setup, unsigned cap);

/* 5 s: a call normally leaves set-up within a few seconds (the post-dial
 * delay of a trunk), so by then slots are free again; and a 503 with
 * Retry-After makes an upstream proxy stop sending us *anything* for that
 * long (RFC 3261 §21.5.4), so a long value would turn a short burst into an
 * outage for a whole trunk. Without Retry-After the client would have to
 * treat the 503 as a 500 (same section), which is worse. */
#define ADMIT_SETUP_RETRY_AFTER 5u

extern const char admit_why_setup_cap[]; /* "too many calls in set-up" */

#endif
