/* policy/privacy and policy/pai: every RFC 3323 priv-value, alone and together,
 * and every RFC 3325 trust case, decided from whole SIP requests parsed with
 * the gateway's own message class. Each test checks the exact decision fields,
 * so a changed rule fails the test that states it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "policy/pai.h"
#include "policy/privacy.h"
#include "sip/msg.h"

/* An INVITE as a desk phone sends it to the gateway, up to the caller's
 * extra headers; the body is a plain offer. */
#define INVITE_HEAD                                                                     \
	"INVITE sip:+15557654321@trunk.example.net SIP/2.0\r\n"                         \
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"            \
	"Max-Forwards: 70\r\n"                                                          \
	"From: \"Alice Smith\" <sip:alice@pbx.example.com>;tag=1928301774\r\n"         \
	"To: <sip:+15557654321@trunk.example.net>\r\n"                                  \
	"Call-ID: a84b4c76e66710@192.0.2.10\r\n"                                        \
	"CSeq: 314159 INVITE\r\n"                                                       \
	"Contact: <sip:alice@192.0.2.10:5060;transport=udp>\r\n"                        \
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r\n"                     \
	"User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"                                   \
	"Organization: Example Corp\r\n"                                                \
	"Subject: Quarterly numbers\r\n"                                                \
	"Call-Info: <http://www.example.com/alice/photo.jpg>;purpose=icon\r\n"

static const char sdp[] = "v=0\r\n"
			  "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
			  "s=-\r\n"
			  "c=IN IP4 192.0.2.10\r\n"
			  "t=0 0\r\n"
			  "m=audio 49170 RTP/AVP 0 8 101\r\n"
			  "a=rtpmap:101 telephone-event/8000\r\n";

static msg_t *invite(const char *extra)
{
	char text[4096];
	int n = snprintf(text, sizeof(text),
			 INVITE_HEAD "%sContent-Type: application/sdp\r\n"
				     "Content-Length: %zu\r\n\r\n%s",
			 extra, strlen(sdp), sdp);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	msg_t *m = sipmsg_parse(text, (size_t)n);
	assert_non_null(m);
	return m;
}

static struct privacy_decision privacy_for(const char *extra, bool next_trusted, bool subject)
{
	msg_t *m = invite(extra);
	struct privacy_ctx ctx = { .next_hop_trusted = next_trusted, .hide_subject = subject };
	struct privacy_decision d = privacy_decide(sip_object(m), &ctx);
	msg_destroy(m);
	return d;
}

static void assert_accept(const struct privacy_decision *d)
{
	assert_int_equal(d->verdict.kind, VERDICT_ACCEPT);
	assert_non_null(d->why);
}

/* ---- RFC 3323 Privacy ---------------------------------------------------- */

static void no_privacy_header_no_service(void **state)
{
	struct privacy_decision d = privacy_for("", false, true);
	assert_accept(&d);
	assert_int_equal(d.request.fields, 0);
	assert_int_equal(d.request.values, 0);
	assert_false(d.anonymise_from);
	assert_int_equal(d.drop, 0);
	assert_false(d.session);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_UNSPECIFIED);
	assert_int_equal(d.header, PRIVACY_HEADER_ABSENT);
}

static void header_anonymises_from_and_drops_caller_headers(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: header\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_HEADER);
	assert_true(d.anonymise_from);
	assert_int_equal(d.drop, PRIVACY_DROP_CALL_INFO | PRIVACY_DROP_USER_AGENT |
					 PRIVACY_DROP_ORGANIZATION | PRIVACY_DROP_REPLY_TO |
					 PRIVACY_DROP_IN_REPLY_TO | PRIVACY_DROP_WARNING);
	assert_int_equal(d.drop & PRIVACY_DROP_SUBJECT, 0); /* policy keeps Subject */
	assert_false(d.session);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
	assert_string_equal(PRIVACY_ANON_DISPLAY, "Anonymous");
	assert_string_equal(PRIVACY_ANON_URI, "sip:anonymous@anonymous.invalid");
}

static void header_drops_subject_when_policy_says(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: header\r\n", false, true);
	assert_accept(&d);
	assert_int_equal(d.drop, PRIVACY_DROP_CALLER | PRIVACY_DROP_SUBJECT);
}

static void session_is_recorded_and_honoured_by_anchoring(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: session\r\n", false, true);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_SESSION);
	assert_true(d.session);
	assert_false(d.anonymise_from);
	assert_int_equal(d.drop, 0);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_UNSPECIFIED);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
}

static void user_is_honoured_with_the_user_level_functions(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: user\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_USER);
	assert_true(d.anonymise_from);
	assert_int_equal(d.drop, PRIVACY_DROP_CALLER);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
}

static void id_alone_withholds_identity_only(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: id\r\n", false, true);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_ID);
	assert_false(d.anonymise_from);
	assert_int_equal(d.drop, 0);
	assert_false(d.session);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
}

static void none_performs_nothing_and_passes_header(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: none\r\n", false, true);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_NONE);
	assert_false(d.anonymise_from);
	assert_int_equal(d.drop, 0);
	assert_false(d.session);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_PRESERVE);
	/* MUST NOT remove or alter, even toward an untrusted hop (RFC 3323 §4.2). */
	assert_int_equal(d.header, PRIVACY_HEADER_PASS);
}

static void none_with_other_values_still_gets_their_privacy(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: none;id;header\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_NONE | PRIVACY_ID | PRIVACY_HEADER);
	assert_true(d.anonymise_from);
	assert_int_equal(d.drop, PRIVACY_DROP_CALLER);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
	assert_int_equal(d.header, PRIVACY_HEADER_PASS);
	assert_non_null(strstr(d.why, "none"));
}

static void header_and_id_together(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: header;id\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_HEADER | PRIVACY_ID);
	assert_true(d.anonymise_from);
	assert_int_equal(d.drop, PRIVACY_DROP_CALLER);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
}

static void all_values_together(void **state)
{
	struct privacy_decision d =
		privacy_for("Privacy: header;session;user;id;critical\r\n", false, true);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_HEADER | PRIVACY_SESSION | PRIVACY_USER |
						   PRIVACY_ID | PRIVACY_CRITICAL);
	assert_true(d.anonymise_from);
	assert_int_equal(d.drop, PRIVACY_DROP_CALLER | PRIVACY_DROP_SUBJECT);
	assert_true(d.session);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
}

static void critical_with_unknown_value_is_500(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: id;geo;critical\r\n", false, false);
	assert_int_equal(d.verdict.kind, VERDICT_REJECT);
	assert_int_equal(d.verdict.status, 500);
	assert_string_equal(d.verdict.phrase, "Privacy Unavailable");
	assert_ptr_equal(d.verdict.why, d.why);
	assert_int_equal(d.request.values, PRIVACY_ID | PRIVACY_UNKNOWN | PRIVACY_CRITICAL);
	assert_string_equal(d.request.unsupported, "geo");
	char phrase[96];
	assert_string_equal(privacy_reject_phrase(&d, phrase, sizeof(phrase)),
			    "Privacy Unavailable: geo");
	/* Nothing is performed for a refused request. */
	assert_false(d.anonymise_from);
	assert_int_equal(d.drop, 0);
	assert_int_equal(d.header, PRIVACY_HEADER_ABSENT);
}

static void critical_names_every_unsupported_value(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: critical;foo;Bar%x\r\n", true, false);
	assert_int_equal(d.verdict.status, 500);
	/* '%' may not stand bare in a Reason-Phrase. */
	assert_string_equal(d.request.unsupported, "foo Bar?x");
	char phrase[96];
	assert_string_equal(privacy_reject_phrase(&d, phrase, sizeof(phrase)),
			    "Privacy Unavailable: foo Bar?x");
	/* A short buffer is cut and still terminated. */
	char tiny[8];
	assert_string_equal(privacy_reject_phrase(&d, tiny, sizeof(tiny)), "Privacy");
}

static void critical_with_what_we_provide_is_accepted(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: header;critical\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_HEADER | PRIVACY_CRITICAL);
	assert_true(d.anonymise_from);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
	char phrase[64];
	assert_string_equal(privacy_reject_phrase(&d, phrase, sizeof(phrase)),
			    "Server Internal Error");
}

static void critical_alone_asks_nothing(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: critical\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_CRITICAL);
	assert_false(d.anonymise_from);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_UNSPECIFIED);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
}

static void history_is_honoured_by_construction(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: history;critical\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_HISTORY | PRIVACY_CRITICAL);
	assert_false(d.anonymise_from);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_UNSPECIFIED);
}

static void unknown_value_without_critical_is_ignored(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: id;x-carrier-hide\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_ID | PRIVACY_UNKNOWN);
	assert_string_equal(d.request.unsupported, "x-carrier-hide");
	assert_false(d.anonymise_from);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
	assert_non_null(strstr(d.why, "unknown"));
}

static void values_compare_without_case(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: ID ; Header;CRITICAL\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_ID | PRIVACY_HEADER | PRIVACY_CRITICAL);
	assert_string_equal(d.request.unsupported, "");
	assert_true(d.anonymise_from);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
}

static void multiple_privacy_headers_are_joined(void **state)
{
	struct privacy_decision d =
		privacy_for("Privacy: id\r\nPrivacy: header\r\nPrivacy: session\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.fields, 3);
	assert_int_equal(d.request.values, PRIVACY_ID | PRIVACY_HEADER | PRIVACY_SESSION);
	assert_true(d.anonymise_from);
	assert_true(d.session);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
}

static void critical_in_a_second_header_still_counts(void **state)
{
	struct privacy_decision d =
		privacy_for("Privacy: id;foo\r\nPrivacy: critical\r\n", false, false);
	assert_int_equal(d.verdict.status, 500);
	assert_int_equal(d.request.fields, 2);
}

static void comma_separated_values_are_read(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: id, user\r\n", false, false);
	assert_accept(&d);
	assert_int_equal(d.request.values, PRIVACY_ID | PRIVACY_USER);
}

static void trusted_next_hop_gets_the_header_passed(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: header;id\r\n", true, false);
	assert_accept(&d);
	assert_true(d.anonymise_from);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
	assert_int_equal(d.header, PRIVACY_HEADER_PASS);
}

static void malformed_privacy_is_400(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: @@@\r\n", false, false);
	assert_int_equal(d.verdict.kind, VERDICT_REJECT);
	assert_int_equal(d.verdict.status, 400);
	assert_string_equal(d.verdict.phrase, "Malformed Privacy Header");
	assert_true(d.request.malformed);
	assert_int_equal(d.identity, PRIVACY_IDENTITY_WITHHOLD);
	assert_false(d.anonymise_from);
}

static void empty_privacy_is_400(void **state)
{
	struct privacy_decision d = privacy_for("Privacy: \r\n", false, false);
	assert_int_equal(d.verdict.status, 400);
	assert_true(d.request.malformed);
}

static void null_request_and_context(void **state)
{
	struct privacy_decision d = privacy_decide(NULL, NULL);
	assert_accept(&d);
	assert_int_equal(d.header, PRIVACY_HEADER_ABSENT);
	/* A NULL context is an untrusted next hop. */
	msg_t *m = invite("Privacy: id\r\n");
	d = privacy_decide(sip_object(m), NULL);
	assert_int_equal(d.header, PRIVACY_HEADER_CONSUME);
	msg_destroy(m);
}

/* ---- RFC 3325 P-Asserted-Identity ----------------------------------------- */

static const char *const alice_ids[] = {
	"sip:alice@pbx.example.com",
	"sip:sales@pbx.example.com",
	"tel:+15551230001",
	"tel:+15551230099",
};

static struct pai_ctx alice_ctx(bool prev_trusted, bool next_trusted)
{
	return (struct pai_ctx){ .prev_hop_trusted = prev_trusted,
				 .next_hop_trusted = next_trusted,
				 .user = "alice",
				 .identities = alice_ids,
				 .n_identities = 4,
				 .assert_tel = true,
				 .untrusted_default = PAI_UNTRUSTED_REMOVE };
}

static struct pai_decision pai_for(const char *extra, const struct pai_ctx *ctx)
{
	msg_t *m = invite(extra);
	struct pai_decision d = pai_decide(sip_object(m), ctx);
	msg_destroy(m);
	return d;
}

static void assert_uris(const struct pai_decision *d, const char *first, const char *second)
{
	unsigned want = (first ? 1u : 0u) + (second ? 1u : 0u);
	assert_int_equal(d->count, want);
	assert_string_equal(d->uri[0], first ? first : "");
	assert_string_equal(d->uri[1], second ? second : "");
	assert_non_null(d->why);
}

#define TRUNK_PAI "P-Asserted-Identity: <sip:+15559870000@carrier.example.org;user=phone>\r\n"

static void untrusted_prev_hop_pai_is_ignored(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = false, .next_hop_trusted = true };
	struct pai_decision d = pai_for(TRUNK_PAI, &ctx);
	assert_uris(&d, NULL, NULL);
	assert_int_equal(d.incoming, PAI_IN_UNTRUSTED);
	assert_int_equal(d.source, PAI_SOURCE_NONE);
	assert_int_equal(d.outgoing, PAI_OUT_NOTHING);
	assert_int_equal(d.preferred, PAI_PPI_ABSENT);
}

static void trusted_prev_hop_pai_passes_to_trusted_next_hop(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = true, .next_hop_trusted = true };
	struct pai_decision d = pai_for(TRUNK_PAI, &ctx);
	assert_uris(&d, "sip:+15559870000@carrier.example.org;user=phone", NULL);
	assert_int_equal(d.incoming, PAI_IN_PASSED);
	assert_int_equal(d.source, PAI_SOURCE_TRUSTED_PEER);
	assert_int_equal(d.outgoing, PAI_OUT_ASSERTED);
}

static void trusted_pai_withheld_from_untrusted_hop_on_privacy_id(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = true, .next_hop_trusted = false,
			       .untrusted_default = PAI_UNTRUSTED_KEEP };
	struct pai_decision d = pai_for(TRUNK_PAI "Privacy: id\r\n", &ctx);
	assert_uris(&d, NULL, NULL);
	assert_int_equal(d.incoming, PAI_IN_PASSED);
	assert_int_equal(d.source, PAI_SOURCE_TRUSTED_PEER);
	assert_int_equal(d.outgoing, PAI_OUT_WITHHELD_PRIVACY);
}

static void untrusted_next_hop_without_privacy_follows_policy(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = true, .next_hop_trusted = false,
			       .untrusted_default = PAI_UNTRUSTED_REMOVE };
	struct pai_decision d = pai_for(TRUNK_PAI, &ctx);
	assert_uris(&d, NULL, NULL);
	assert_int_equal(d.outgoing, PAI_OUT_WITHHELD_POLICY);

	ctx.untrusted_default = PAI_UNTRUSTED_KEEP;
	d = pai_for(TRUNK_PAI, &ctx);
	assert_uris(&d, "sip:+15559870000@carrier.example.org;user=phone", NULL);
	assert_int_equal(d.outgoing, PAI_OUT_ASSERTED);
}

static void privacy_none_keeps_pai_toward_untrusted_hop(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = true, .next_hop_trusted = false,
			       .untrusted_default = PAI_UNTRUSTED_REMOVE };
	struct pai_decision d = pai_for(TRUNK_PAI "Privacy: none\r\n", &ctx);
	assert_uris(&d, "sip:+15559870000@carrier.example.org;user=phone", NULL);
	assert_int_equal(d.outgoing, PAI_OUT_ASSERTED);
	assert_non_null(strstr(d.why, "none"));
}

static void privacy_header_and_user_withhold_too(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = true, .next_hop_trusted = false,
			       .untrusted_default = PAI_UNTRUSTED_KEEP };
	struct pai_decision d = pai_for(TRUNK_PAI "Privacy: header\r\n", &ctx);
	assert_int_equal(d.outgoing, PAI_OUT_WITHHELD_PRIVACY);
	assert_int_equal(d.count, 0);
	d = pai_for(TRUNK_PAI "Privacy: user\r\n", &ctx);
	assert_int_equal(d.outgoing, PAI_OUT_WITHHELD_PRIVACY);
	/* session asks nothing of the identity: the policy decides. */
	d = pai_for(TRUNK_PAI "Privacy: session\r\n", &ctx);
	assert_int_equal(d.outgoing, PAI_OUT_ASSERTED);
	assert_int_equal(d.count, 1);
}

static void privacy_id_toward_trusted_hop_keeps_pai(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, true);
	struct pai_decision d = pai_for("Privacy: id\r\n", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.outgoing, PAI_OUT_ASSERTED);
}

static void two_values_from_trusted_peer_sip_first(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = true, .next_hop_trusted = true };
	struct pai_decision d = pai_for("P-Asserted-Identity: <tel:+15559870000>\r\n"
					"P-Asserted-Identity: \"Carrier Caller\" "
					"<sips:caller@carrier.example.org>\r\n",
					&ctx);
	assert_uris(&d, "sips:caller@carrier.example.org", "tel:+15559870000");
	assert_int_equal(d.incoming, PAI_IN_PASSED);

	d = pai_for("P-Asserted-Identity: <sip:caller@carrier.example.org>, <tel:+15559870000>\r\n",
		    &ctx);
	assert_uris(&d, "sip:caller@carrier.example.org", "tel:+15559870000");
}

static void malformed_pai_from_trusted_peer_is_ignored(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = true, .next_hop_trusted = true };
	/* Does not parse. */
	struct pai_decision d = pai_for("P-Asserted-Identity: <sip:caller@carrier.example.org\r\n",
					&ctx);
	assert_uris(&d, NULL, NULL);
	assert_int_equal(d.incoming, PAI_IN_MALFORMED);
	assert_int_equal(d.outgoing, PAI_OUT_NOTHING);
	/* Parses, but not RFC 3325 §9.1: two sip URIs; a mailto; three values;
	 * no scheme at all. */
	const char *bad[] = {
		"P-Asserted-Identity: <sip:a@carrier.example.org>, <sip:b@carrier.example.org>\r\n",
		"P-Asserted-Identity: <mailto:caller@carrier.example.org>\r\n",
		"P-Asserted-Identity: <sip:a@c.example.org>, <tel:+1555>, <tel:+1556>\r\n",
		"P-Asserted-Identity: garbage\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = pai_for(bad[i], &ctx);
		assert_int_equal(d.incoming, PAI_IN_MALFORMED);
		assert_int_equal(d.count, 0);
	}
}

static void overlong_pai_is_refused_not_cut(void **state)
{
	char extra[512];
	char user[300];
	memset(user, 'a', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	snprintf(extra, sizeof(extra), "P-Asserted-Identity: <sip:%s@carrier.example.org>\r\n",
		 user);
	struct pai_ctx ctx = { .prev_hop_trusted = true, .next_hop_trusted = true };
	struct pai_decision d = pai_for(extra, &ctx);
	assert_int_equal(d.incoming, PAI_IN_MALFORMED);
	assert_uris(&d, NULL, NULL);
}

static void authenticated_caller_without_ppi_gets_default(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, true);
	struct pai_decision d = pai_for("", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.source, PAI_SOURCE_USER);
	assert_int_equal(d.preferred, PAI_PPI_ABSENT);
	assert_int_equal(d.incoming, PAI_IN_ABSENT);
	assert_int_equal(d.outgoing, PAI_OUT_ASSERTED);

	ctx.assert_tel = false;
	d = pai_for("", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", NULL);
}

static void ppi_naming_owned_sip_identity_is_honoured(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, true);
	/* Host case and URI parameters do not make another identity. */
	struct pai_decision d =
		pai_for("P-Preferred-Identity: \"Sales\" <sip:sales@PBX.Example.com;user=ip>\r\n",
			&ctx);
	assert_uris(&d, "sip:sales@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.preferred, PAI_PPI_HONOURED);
	assert_int_equal(d.source, PAI_SOURCE_USER);
}

static void ppi_naming_owned_tel_identity_is_honoured(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, true);
	/* Visual separators are not part of the number (RFC 3966). */
	struct pai_decision d = pai_for("P-Preferred-Identity: <tel:+1-555-123-0099>\r\n", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230099");
	assert_int_equal(d.preferred, PAI_PPI_HONOURED);

	/* Separators in the configured number do not matter either. */
	const char *ids[] = { "sip:desk@pbx.example.com", "tel:+1-555-123-0042" };
	struct pai_ctx desk = { .next_hop_trusted = true, .user = "desk", .identities = ids,
				.n_identities = 2, .assert_tel = true };
	d = pai_for("P-Preferred-Identity: <tel:+15551230042>\r\n", &desk);
	assert_uris(&d, "sip:desk@pbx.example.com", "tel:+1-555-123-0042");
	assert_int_equal(d.preferred, PAI_PPI_HONOURED);

	/* Without assert_tel, the tel preference has nothing to choose. */
	ctx.assert_tel = false;
	d = pai_for("P-Preferred-Identity: <tel:+1-555-123-0099>\r\n", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", NULL);
	assert_int_equal(d.preferred, PAI_PPI_UNUSED);
}

static void ppi_naming_foreign_identity_is_ignored(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, true);
	struct pai_decision d =
		pai_for("P-Preferred-Identity: <sip:ceo@pbx.example.com>\r\n", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.preferred, PAI_PPI_FOREIGN);
	assert_int_equal(d.source, PAI_SOURCE_USER);

	/* Same user, other scheme: sips is not the sip identity owned. */
	d = pai_for("P-Preferred-Identity: <sips:sales@pbx.example.com>\r\n", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.preferred, PAI_PPI_FOREIGN);

	/* Another port, or a local number in some other context, is another
	 * identity (RFC 3261 §19.1.4, RFC 3966 §5.1.5). */
	d = pai_for("P-Preferred-Identity: <sip:sales@pbx.example.com:5070>\r\n", &ctx);
	assert_int_equal(d.preferred, PAI_PPI_FOREIGN);
	d = pai_for("P-Preferred-Identity: <tel:+15551230099;phone-context=evil.example>\r\n",
		    &ctx);
	assert_int_equal(d.preferred, PAI_PPI_FOREIGN);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230001");

	/* A foreign tel beside an owned sip: the sip one chosen, the tel ignored. */
	d = pai_for("P-Preferred-Identity: <sip:sales@pbx.example.com>, <tel:+15550000000>\r\n",
		    &ctx);
	assert_uris(&d, "sip:sales@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.preferred, PAI_PPI_FOREIGN);
}

static void malformed_ppi_is_ignored(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, true);
	struct pai_decision d = pai_for("P-Preferred-Identity: <sip:sales@pbx.example.com>, "
					"<sip:alice@pbx.example.com>\r\n",
					&ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.preferred, PAI_PPI_MALFORMED);
}

static void caller_spoofed_pai_replaced_by_authenticated_identity(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, true);
	struct pai_decision d = pai_for("P-Asserted-Identity: <sip:ceo@pbx.example.com>\r\n", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.incoming, PAI_IN_UNTRUSTED);
	assert_int_equal(d.source, PAI_SOURCE_USER);
}

static void authenticated_caller_toward_untrusted_hop(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, false);
	struct pai_decision d = pai_for("Privacy: id\r\n", &ctx);
	assert_uris(&d, NULL, NULL);
	assert_int_equal(d.source, PAI_SOURCE_USER);
	assert_int_equal(d.outgoing, PAI_OUT_WITHHELD_PRIVACY);

	d = pai_for("", &ctx);
	assert_int_equal(d.outgoing, PAI_OUT_WITHHELD_POLICY);

	ctx.untrusted_default = PAI_UNTRUSTED_KEEP;
	d = pai_for("", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.outgoing, PAI_OUT_ASSERTED);
}

static void trusted_assertion_wins_over_ppi(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = true, .next_hop_trusted = true };
	struct pai_decision d =
		pai_for(TRUNK_PAI "P-Preferred-Identity: <sip:other@carrier.example.org>\r\n",
			&ctx);
	assert_uris(&d, "sip:+15559870000@carrier.example.org;user=phone", NULL);
	assert_int_equal(d.preferred, PAI_PPI_UNUSED);
}

/* A trusted hop that is also the authenticated party (a PBX with a client
 * certificate): its assertion names the caller behind it and is passed on. */
static void trusted_assertion_wins_over_authenticated_peer(void **state)
{
	struct pai_ctx ctx = alice_ctx(true, true);
	struct pai_decision d = pai_for(TRUNK_PAI, &ctx);
	assert_uris(&d, "sip:+15559870000@carrier.example.org;user=phone", NULL);
	assert_int_equal(d.source, PAI_SOURCE_TRUSTED_PEER);
	assert_int_equal(d.incoming, PAI_IN_PASSED);
	/* Without one, the gateway asserts for it. */
	d = pai_for("", &ctx);
	assert_uris(&d, "sip:alice@pbx.example.com", "tel:+15551230001");
	assert_int_equal(d.source, PAI_SOURCE_USER);
}

static void unauthenticated_caller_gets_nothing(void **state)
{
	struct pai_ctx ctx = { .prev_hop_trusted = false, .next_hop_trusted = true,
			       .identities = alice_ids, .n_identities = 4, .assert_tel = true };
	struct pai_decision d =
		pai_for("P-Preferred-Identity: <sip:alice@pbx.example.com>\r\n", &ctx);
	assert_uris(&d, NULL, NULL);
	assert_int_equal(d.source, PAI_SOURCE_NONE);
	assert_int_equal(d.preferred, PAI_PPI_UNUSED);
	assert_int_equal(d.outgoing, PAI_OUT_NOTHING);
}

static void invalid_owned_identities_are_skipped(void **state)
{
	char overlong[PAI_URI_MAX + 16];
	memcpy(overlong, "sip:", 4);
	memset(overlong + 4, 'b', sizeof(overlong) - 4 - 13);
	memcpy(overlong + sizeof(overlong) - 13, "@example.com", 13);
	const char *ids[] = { overlong, "mailto:bob@example.com", "sip:", NULL,
			      "sips:bob@pbx.example.com", "tel:+15551239999" };
	struct pai_ctx ctx = { .prev_hop_trusted = false, .next_hop_trusted = true, .user = "bob",
			       .identities = ids, .n_identities = 6, .assert_tel = true };
	struct pai_decision d = pai_for("", &ctx);
	assert_uris(&d, "sips:bob@pbx.example.com", "tel:+15551239999");

	/* Nothing usable: nothing asserted. */
	ctx.n_identities = 4;
	d = pai_for("", &ctx);
	assert_uris(&d, NULL, NULL);
	assert_int_equal(d.source, PAI_SOURCE_NONE);
	assert_int_equal(d.outgoing, PAI_OUT_NOTHING);
}

static void tel_only_user_asserts_tel(void **state)
{
	const char *ids[] = { "tel:+15551230042" };
	struct pai_ctx ctx = { .prev_hop_trusted = false, .next_hop_trusted = true, .user = "lobby",
			       .identities = ids, .n_identities = 1, .assert_tel = true };
	struct pai_decision d = pai_for("", &ctx);
	assert_uris(&d, "tel:+15551230042", NULL);
	assert_int_equal(d.source, PAI_SOURCE_USER);
}

static void malformed_privacy_withholds_pai_fail_closed(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, false);
	ctx.untrusted_default = PAI_UNTRUSTED_KEEP;
	struct pai_decision d = pai_for("Privacy: @@@\r\n", &ctx);
	assert_int_equal(d.outgoing, PAI_OUT_WITHHELD_PRIVACY);
	assert_int_equal(d.count, 0);
}

static void null_pai_context_fails_closed(void **state)
{
	msg_t *m = invite(TRUNK_PAI);
	struct pai_decision d = pai_decide(sip_object(m), NULL);
	assert_uris(&d, NULL, NULL);
	assert_int_equal(d.incoming, PAI_IN_UNTRUSTED);
	msg_destroy(m);
}

/* The privacy decision and the PAI decision read the same request the same way. */
static void privacy_and_pai_agree_on_identity(void **state)
{
	const char *cases[] = { "", "Privacy: id\r\n", "Privacy: none\r\n", "Privacy: session\r\n",
				"Privacy: header\r\n", "Privacy: none;user\r\n" };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct privacy_decision p = privacy_for(cases[i], false, false);
		struct pai_ctx ctx = alice_ctx(false, false);
		struct pai_decision d = pai_for(cases[i], &ctx);
		bool withheld = d.outgoing == PAI_OUT_WITHHELD_PRIVACY;
		assert_int_equal(withheld, p.identity == PRIVACY_IDENTITY_WITHHOLD);
		if (p.identity == PRIVACY_IDENTITY_PRESERVE)
			assert_int_equal(d.outgoing, PAI_OUT_ASSERTED);
	}
}

/* ---- the From user toward the next hop ----------------------------------- */

static struct pai_from from_for(const char *from_uri, const struct pai_ctx *ctx)
{
	char text[1024];
	int n = snprintf(text, sizeof(text),
			 "INVITE sip:+15557654321@trunk.example.net SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n"
			 "Max-Forwards: 70\r\nFrom: <%s>;tag=1\r\n"
			 "To: <sip:+15557654321@trunk.example.net>\r\nCall-ID: f1@192.0.2.10\r\n"
			 "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
			 from_uri);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	msg_t *m = sipmsg_parse(text, (size_t)n);
	assert_non_null(m);
	struct pai_from f = pai_from_user(sip_object(m), ctx);
	msg_destroy(m);
	return f;
}

/* An authenticated caller's From names what it owns, or it is replaced by
 * its default identity's user: no caller-ID spoofing where no assertion
 * reaches. */
static void from_user_must_be_owned(void **state)
{
	struct pai_ctx ctx = alice_ctx(false, false);
	struct pai_from f = from_for("sip:alice@pbx.example.com", &ctx);
	assert_string_equal(f.user, "alice");
	assert_false(f.replaced);
	f = from_for("sip:sales@elsewhere.example", &ctx); /* owned user part */
	assert_string_equal(f.user, "sales");
	assert_false(f.replaced);
	f = from_for("sip:+1-555-123-0099@pbx.example.com", &ctx); /* owned tel, separators */
	assert_string_equal(f.user, "+1-555-123-0099");
	assert_false(f.replaced);
	f = from_for("sip:anonymous@anonymous.invalid", &ctx);
	assert_string_equal(f.user, "anonymous");
	assert_false(f.replaced);
	f = from_for("sip:+15559990000@pbx.example.com", &ctx); /* the CEO's number */
	assert_string_equal(f.user, "alice"); /* default sip identity's user */
	assert_true(f.replaced);
	f = from_for("sip:pbx.example.com", &ctx); /* no user at all */
	assert_string_equal(f.user, "alice");
	assert_true(f.replaced);
	/* Only a tel identity: its number; none at all: the user name. */
	const char *tel_only[] = { "tel:+15551230001" };
	ctx.identities = tel_only;
	ctx.n_identities = 1;
	assert_string_equal(from_for("sip:bob@x.example", &ctx).user, "+15551230001");
	ctx.n_identities = 0;
	assert_string_equal(from_for("sip:bob@x.example", &ctx).user, "alice");
	/* Nobody authenticated: nothing to hold the From to. */
	assert_string_equal(from_for("sip:bob@x.example", NULL).user, "bob");
	ctx.user = NULL;
	f = from_for("sip:bob@x.example", &ctx);
	assert_string_equal(f.user, "bob");
	assert_false(f.replaced);
}

int main(void)
{
	if (sipmsg_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_privacy_header_no_service),
		cmocka_unit_test(header_anonymises_from_and_drops_caller_headers),
		cmocka_unit_test(header_drops_subject_when_policy_says),
		cmocka_unit_test(session_is_recorded_and_honoured_by_anchoring),
		cmocka_unit_test(user_is_honoured_with_the_user_level_functions),
		cmocka_unit_test(id_alone_withholds_identity_only),
		cmocka_unit_test(none_performs_nothing_and_passes_header),
		cmocka_unit_test(none_with_other_values_still_gets_their_privacy),
		cmocka_unit_test(header_and_id_together),
		cmocka_unit_test(all_values_together),
		cmocka_unit_test(critical_with_unknown_value_is_500),
		cmocka_unit_test(critical_names_every_unsupported_value),
		cmocka_unit_test(critical_with_what_we_provide_is_accepted),
		cmocka_unit_test(critical_alone_asks_nothing),
		cmocka_unit_test(history_is_honoured_by_construction),
		cmocka_unit_test(unknown_value_without_critical_is_ignored),
		cmocka_unit_test(values_compare_without_case),
		cmocka_unit_test(multiple_privacy_headers_are_joined),
		cmocka_unit_test(critical_in_a_second_header_still_counts),
		cmocka_unit_test(comma_separated_values_are_read),
		cmocka_unit_test(trusted_next_hop_gets_the_header_passed),
		cmocka_unit_test(malformed_privacy_is_400),
		cmocka_unit_test(empty_privacy_is_400),
		cmocka_unit_test(null_request_and_context),
		cmocka_unit_test(untrusted_prev_hop_pai_is_ignored),
		cmocka_unit_test(trusted_prev_hop_pai_passes_to_trusted_next_hop),
		cmocka_unit_test(trusted_pai_withheld_from_untrusted_hop_on_privacy_id),
		cmocka_unit_test(untrusted_next_hop_without_privacy_follows_policy),
		cmocka_unit_test(privacy_none_keeps_pai_toward_untrusted_hop),
		cmocka_unit_test(privacy_header_and_user_withhold_too),
		cmocka_unit_test(privacy_id_toward_trusted_hop_keeps_pai),
		cmocka_unit_test(from_user_must_be_owned),
		cmocka_unit_test(two_values_from_trusted_peer_sip_first),
		cmocka_unit_test(malformed_pai_from_trusted_peer_is_ignored),
		cmocka_unit_test(overlong_pai_is_refused_not_cut),
		cmocka_unit_test(authenticated_caller_without_ppi_gets_default),
		cmocka_unit_test(ppi_naming_owned_sip_identity_is_honoured),
		cmocka_unit_test(ppi_naming_owned_tel_identity_is_honoured),
		cmocka_unit_test(ppi_naming_foreign_identity_is_ignored),
		cmocka_unit_test(malformed_ppi_is_ignored),
		cmocka_unit_test(caller_spoofed_pai_replaced_by_authenticated_identity),
		cmocka_unit_test(authenticated_caller_toward_untrusted_hop),
		cmocka_unit_test(trusted_assertion_wins_over_ppi),
		cmocka_unit_test(trusted_assertion_wins_over_authenticated_peer),
		cmocka_unit_test(unauthenticated_caller_gets_nothing),
		cmocka_unit_test(invalid_owned_identities_are_skipped),
		cmocka_unit_test(tel_only_user_asserts_tel),
		cmocka_unit_test(malformed_privacy_withholds_pai_fail_closed),
		cmocka_unit_test(null_pai_context_fails_closed),
		cmocka_unit_test(privacy_and_pai_agree_on_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
