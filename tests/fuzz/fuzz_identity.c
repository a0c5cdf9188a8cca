/* libFuzzer target: the identity and admission decisions on requests as the
 * gateway meets them. The input is the header block (and body) of an INVITE
 * after a fixed request line and Via: whatever From, To, Privacy,
 * P-Asserted-Identity, P-Preferred-Identity, User-Agent and Route an
 * attacker sends. Sofia parses it; privacy, PAI, SIPS and User-Agent
 * decisions run under every trust combination. Nothing may crash, and:
 *  - an identity asserted for the caller is one the caller owns;
 *  - toward an untrusted next hop nothing is asserted when the request asks
 *    for identity privacy, and the Privacy header is never passed on;
 *  - an untrusted previous hop's assertion is never passed on;
 *  - every decision has a reason to log. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/admit.h"
#include "policy/pai.h"
#include "policy/privacy.h"
#include "policy/sips.h"
#include "sip/msg.h"

#define INPUT_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char head[] = "INVITE sip:bob@example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK776asdhds\r\n"
			   "Max-Forwards: 70\r\n"
			   "Call-ID: a84b4c76e66710@10.0.0.5\r\n"
			   "CSeq: 1 INVITE\r\n";

static const char *const owned[] = { "sip:alice@example.com", "tel:+12125550100",
				     "sips:alice@example.org" };

static bool is_owned(const char *uri)
{
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (strcmp(owned[i], uri) == 0)
			return true;
	return false;
}

static void check_pai(const sip_t *sip, bool prev, bool next, bool authenticated, bool tel)
{
	struct pai_ctx ctx = {
		.prev_hop_trusted = prev,
		.next_hop_trusted = next,
		.user = authenticated ? "alice" : NULL,
		.identities = owned,
		.n_identities = sizeof(owned) / sizeof(owned[0]),
		.assert_tel = tel,
		.untrusted_default = PAI_UNTRUSTED_KEEP,
	};
	struct pai_decision d = pai_decide(sip, &ctx);
	if (d.why == NULL || d.count > 2)
		abort();
	for (unsigned i = 0; i < d.count; i++) {
		if (memchr(d.uri[i], '\0', PAI_URI_MAX) == NULL || d.uri[i][0] == '\0')
			abort();
		if (d.source == PAI_SOURCE_USER && !is_owned(d.uri[i]))
			abort(); /* asserted something the caller does not own */
	}
	if (!prev && d.incoming == PAI_IN_PASSED)
		abort(); /* an untrusted hop's assertion passed on */
	if (d.source == PAI_SOURCE_USER && !authenticated)
		abort();
	struct privacy_request rq;
	privacy_parse(sip, &rq);
	if (!next && privacy_identity_of(&rq) == PRIVACY_IDENTITY_WITHHOLD && d.count != 0)
		abort(); /* identity privacy asked, identity sent out of the trust domain */
}

static void check_privacy(const sip_t *sip, bool next)
{
	struct privacy_ctx ctx = { .next_hop_trusted = next, .hide_subject = true };
	struct privacy_decision d = privacy_decide(sip, &ctx);
	if (d.why == NULL)
		abort();
	if (d.verdict.kind == VERDICT_ACCEPT) {
		/* Passed out of the trust domain only when it says none (RFC 3323). */
		if (!next && d.header == PRIVACY_HEADER_PASS && !(d.request.values & PRIVACY_NONE))
			abort();
		if ((d.request.values & (PRIVACY_HEADER | PRIVACY_USER)) && !d.anonymise_from)
			abort();
	} else {
		char phrase[96];
		privacy_reject_phrase(&d, phrase, sizeof(phrase));
		if (memchr(phrase, '\0', sizeof(phrase)) == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		if (sipmsg_init() < 0)
			abort();
		ready = true;
	}
	if (size > INPUT_MAX)
		return 0;
	char buf[sizeof(head) + INPUT_MAX + 1];
	memcpy(buf, head, sizeof(head) - 1);
	memcpy(buf + sizeof(head) - 1, data, size);
	size_t len = sizeof(head) - 1 + size;
	msg_t *m = sipmsg_parse(buf, len);
	if (m == NULL)
		return 0;
	const sip_t *sip = sip_object(m);
	if (sip && sip->sip_request && sip->sip_from && sip->sip_to) {
		for (unsigned k = 0; k < 16; k++)
			check_pai(sip, k & 1, k & 2, k & 4, k & 8);
		check_privacy(sip, false);
		check_privacy(sip, true);
		struct sips_ctx sc = { .in_tls = size & 1, .next_hop_tls = size & 2 };
		struct verdict v = sips_check(sip, &sc);
		if (v.kind != VERDICT_ACCEPT && v.why == NULL)
			abort();
		if (sips_required(sip) && (!sc.in_tls || !sc.next_hop_tls) && v.kind == VERDICT_ACCEPT)
			abort(); /* a SIPS request accepted without TLS on both hops */
		size_t n = 0;
		const char *const *uas = admit_default_scanner_uas(&n);
		(void)admit_ua_check(sip, uas, n);
	}
	msg_destroy(m);
	return 0;
}
