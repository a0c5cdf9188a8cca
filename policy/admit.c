/* policy/admit: network parsing and matching, allow/deny lists, the scanner
 * User-Agent block-list and the set-up cap. inet_pton is the only library
 * parser used: it is pure (no resolver, no locale) and strict about dotted
 * quads (no octal, no short forms), which is what a security list wants. */
#include "policy/admit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

const char admit_net_err_empty[] = "empty network";
const char admit_net_err_address[] = "not an IPv4 or IPv6 address";
const char admit_net_err_prefix[] = "prefix length is not a decimal number";
const char admit_net_err_range[] = "prefix length out of range for the address family";
const char admit_net_err_host_bits[] = "address has bits set past the prefix length";

const char admit_why_denied[] = "source address is on the deny list";
const char admit_why_not_allowed[] = "source address is not on the allow list";
const char admit_why_scanner[] = "User-Agent of a known SIP scanner";
const char admit_why_setup_cap[] = "too many calls in set-up";

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

/* Whether the bits of addr from bit `prefix` on (of `bits` bits) are zero. */
static bool host_bits_clear(const uint8_t *addr, unsigned prefix, unsigned bits)
{
	for (unsigned i = prefix; i < bits; i++)
		if (addr[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

/* "0".."128": digits only, no sign, no leading zero, at most three. */
static int parse_prefix(const char *s, unsigned *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int admit_net_parse(const char *text, struct admit_net *out, const char **why)
{
	if (!text || !text[0])
		return fail(why, admit_net_err_empty);
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	char abuf[INET6_ADDRSTRLEN + 1];
	if (alen == 0 || alen >= sizeof(abuf))
		return fail(why, admit_net_err_address);
	memcpy(abuf, text, alen);
	abuf[alen] = '\0';

	struct admit_net n = { 0 };
	unsigned bits;
	if (memchr(abuf, ':', alen)) {
		n.family = AF_INET6;
		bits = 128;
	} else {
		n.family = AF_INET;
		bits = 32;
	}
	if (inet_pton(n.family, abuf, n.addr) != 1)
		return fail(why, admit_net_err_address);

	n.prefix = bits;
	if (slash) {
		if (parse_prefix(slash + 1, &n.prefix) != 0)
			return fail(why, admit_net_err_prefix);
		if (n.prefix > bits)
			return fail(why, admit_net_err_range);
	}
	if (!host_bits_clear(n.addr, n.prefix, bits))
		return fail(why, admit_net_err_host_bits);

	/* ::ffff:a.b.c.d/96+ is an IPv4 network written the IPv6 way. */
	if (n.family == AF_INET6 && n.prefix >= 96 &&
	    memcmp(n.addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		uint8_t v4[4];
		memcpy(v4, n.addr + 12, 4);
		memset(n.addr, 0, sizeof(n.addr));
		memcpy(n.addr, v4, 4);
		n.family = AF_INET;
		n.prefix -= 96;
	}
	*out = n;
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool admit_net_match(const struct admit_net *net, const struct sockaddr *sa)
{
	if (!net || !sa)
		return false;
	const uint8_t *addr;
	int family;
	if (sa->sa_family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		addr = a6->s6_addr;
		family = AF_INET6;
		if (memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
			addr += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	if (family != net->family)
		return false;
	return prefix_equal(addr, net->addr, net->prefix);
}

static bool on_list(const struct admit_net *nets, size_t n, const struct sockaddr *sa)
{
	for (size_t i = 0; i < n; i++)
		if (admit_net_match(&nets[i], sa))
			return true;
	return false;
}

struct verdict admit_acl_check(const struct admit_acl *acl, const struct sockaddr *src)
{
	if (!acl)
		return verdict_accept();
	if (on_list(acl->deny, acl->n_deny, src))
		return verdict_refuse(REFUSAL_ACL, admit_why_denied);
	if (acl->n_allow > 0 && !on_list(acl->allow, acl->n_allow, src))
		return verdict_refuse(REFUSAL_ACL, admit_why_not_allowed);
	return verdict_accept();
}

/* The default scanner signatures. Each is the User-Agent an attack tool sends
 * unless told otherwise, and no legitimate product is known to carry it:
 *  - "friendly-scanner": SIPVicious svmap/svwar/svcrack (makeRequest() in
 *    sipvicious/libs/svhelper.py defaults to it); the most common signature
 *    in SIP honeypot logs.
 *  - "sipvicious": the same suite's name, sent by its forks and renamed
 *    builds; no product names itself so.
 *  - "pplsip": the default User-Agent of Pepelux's sippts suite (sipscan,
 *    sipexten, sipcrack, ...).
 *  - "sipcli": the sipcli command-line caller ("sipcli/v1.8") used in mass
 *    INVITE scans for toll fraud.
 *  - "sip-scan", "sundayddr": scanner signatures from mass REGISTER/OPTIONS
 *    sweeps, carried by every public rule set we checked (iptables string
 *    matches, fail2ban/Kamailio examples, netcap's attack-tool list); no
 *    product is known to send either.
 *  - "iwar": the iWar war-dialer (SIP/IAX2 modules).
 * Left out on purpose (an operator can add them): "sipsak" and "Nmap NSE"
 * (legitimate diagnostics and audits), "VaxSIPUserAgent", "PortSIP VoIP SDK"
 * and "ABTO" (commercial SDKs that real softphones ship with, even if
 * fraudsters use them too), "Asterisk PBX" (spoofed by bots, but also real).
 */
static const char *const default_scanners[] = {
	"friendly-scanner", "sipvicious", "pplsip", "sipcli", "sip-scan", "sundayddr", "iwar",
};

const char *const *admit_default_scanner_uas(size_t *n)
{
	if (n)
		*n = sizeof(default_scanners) / sizeof(default_scanners[0]);
	return default_scanners;
}

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t nl = strlen(needle);
	if (nl == 0)
		return false;
	for (const char *h = hay; *h; h++) {
		size_t i = 0;
		while (i < nl && h[i] &&
		       ascii_lower((unsigned char)h[i]) == ascii_lower((unsigned char)needle[i]))
			i++;
		if (i == nl)
			return true;
		if (!h[i])
			return false; /* the rest of hay is shorter than needle */
	}
	return false;
}

bool admit_ua_is_scanner(const char *ua, const char *const *tokens, size_t n)
{
	if (!ua || !tokens)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tokens[i] && contains_nocase(ua, tokens[i]))
			return true;
	return false;
}

struct verdict admit_ua_check(const sip_t *sip, const char *const *tokens, size_t n)
{
	if (!sip)
		return verdict_accept();
	for (const sip_user_agent_t *ua = sip->sip_user_agent; ua; ua = ua->g_next)
		if (admit_ua_is_scanner(ua->g_string, tokens, n))
			return verdict_refuse(REFUSAL_SCANNER, admit_why_scanner);
	return verdict_accept();
}

struct verdict admit_setup_cap(unsigned in_setup, unsigned cap)
{
	if (cap == 0 || in_setup < cap)
		return verdict_accept();
	struct verdict v = verdict_refuse(REFUSAL_SETUP_CAP, admit_why_setup_cap);
	v.retry_after = ADMIT_SETUP_RETRY_AFTER;
	return v;
}
