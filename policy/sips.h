/* policy/sips: SIPS means TLS on every hop (RFC 5630 §4, which removed RFC
 * 3261's "last-hop exception"), and per-leg transport requirements (TLS, a
 * verified client certificate). Pure: the parsed request and what the
 * transport layer knows come in, a struct verdict goes out; the gateway
 * applies it.
 *
 * Status codes:
 *  - a SIPS request that cannot be handled over TLS on every hop (it arrived
 *    over UDP or TCP, or its next hop is not TLS): 480 Temporarily
 *    Unavailable, with a Warning 380 "SIPS Not Allowed" the gateway adds
 *    (the rows of REFUSAL_SIPS_INBOUND and REFUSAL_SIPS_OUTBOUND in
 *    policy/refusal.c carry SIPS_WARN_CODE). RFC 5630 §5.1.2 (UAS)
 *    and §5.3 (proxy) prescribe exactly 480 + 380 when a SIPS request cannot
 *    be honoured, and §5.1.1/§5.3 forbid the UAC and proxies to retry or
 *    recurse with a sip: URI on it: no silent downgrade on either side. Not
 *    416: 416 says the scheme is unknown (RFC 3261 §21.4.14) and RFC 3261
 *    §8.1.3.5 tells the client to retry with a SIP URI, i.e. to downgrade.
 *  - a leg that requires TLS or a verified client certificate and the request
 *    came without: 403 Forbidden (RFC 3261 §21.4.4, refused by policy and
 *    authorization will not help; §26.2.2 allows devices that "refuse
 *    requests over insecure transports"). */
#ifndef PC_POLICY_SIPS_H
#define PC_POLICY_SIPS_H

#include <stdbool.h>

#include <sofia-sip/sip.h>

#include "policy/verdict.h"

/* Warn-code for the Warning header of every 480 these functions return
 * (RFC 5630 §9: 380 "SIPS Not Allowed"). */
#define SIPS_WARN_CODE 380
#define SIPS_WARN_TEXT "SIPS Not Allowed"

struct sips_ctx {
	bool in_tls;            /* the request arrived over TLS */
	bool in_cert_verified;  /* ... and the peer's client certificate verified */
	bool leg_requires_tls;  /* the inbound leg accepts requests only over TLS */
	bool leg_requires_cert; /* ... only with a verified client certificate */
	bool next_hop_tls;      /* the request (the other leg's copy) leaves over TLS */
};

/* Whether the request must travel over TLS on every hop: its Request-URI is
 * sips:, or its To is, even when the Request-URI is sip:. RFC 3261 §26.4.4
 * (kept by RFC 5630 Appendix A) asks recipients to inspect To for a SIPS URI
 * because a sips→sip change of the Request-URI in transit is the downgrade
 * attack; treating a sips To as binding keeps such a request on TLS rather
 * than finishing the downgrade. False for responses and NULL. */
bool sips_required(const sip_t *sip);

/* The inbound hop, in this order:
 *  1. leg requires TLS, request not over TLS: 403, why = sips_why_leg_tls;
 *  2. leg requires a verified client certificate and there is none: 403,
 *     why = sips_why_leg_cert;
 *  3. SIPS required (sips_required) but not over TLS: 480, why =
 *     sips_why_in_insecure (UDP is never valid for SIPS, RFC 3261 §26.2.2;
 *     TCP is no longer either, RFC 5630 §4);
 *  4. a sips: top Route (the previous hop was told to reach us over TLS:
 *     RFC 5630 §5.1.1, RFC 3263 §4.1) but not over TLS: 480, why =
 *     sips_why_route_insecure;
 * otherwise accept. */
struct verdict sips_check_inbound(const sip_t *sip, const struct sips_ctx *ctx);

/* The outbound hop: SIPS required and the next hop is not TLS: 480, why =
 * sips_why_out_insecure (RFC 5630 §5.3: never forward a SIPS request
 * without TLS); otherwise accept. */
struct verdict sips_check_outbound(const sip_t *sip, const struct sips_ctx *ctx);

/* Inbound, then outbound: the first refusal, or accept. */
struct verdict sips_check(const sip_t *sip, const struct sips_ctx *ctx);

extern const char sips_why_leg_tls[];        /* "leg requires TLS" */
extern const char sips_why_leg_cert[];       /* "leg requires a verified client certificate" */
extern const char sips_why_in_insecure[];    /* "SIPS request arrived without TLS" */
extern const char sips_why_route_insecure[]; /* "sips: Route followed without TLS" */
extern const char sips_why_out_insecure[];   /* "SIPS request cannot leave over TLS" */

#endif
