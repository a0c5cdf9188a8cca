/* The message builder (sip/build.c): a request and a response built from
 * structures and printed once, byte for byte as the gateway sends them
 * (a request's headers in the order they are added, a response's in the
 * order of Sofia's classes); a
 * value over the limit refused with a reason; peer text with CR/LF, quotes
 * or characters its grammar forbids never becoming a header of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <sofia-sip/url.h>

#include "sip/build.h"
#include "sip/msg.h"
#include "sip/reply.h"

static msg_t *parse(const char *text)
{
	msg_t *m = sipmsg_parse(text, strlen(text));
	assert_non_null(m);
	return m;
}

static url_t *url(su_home_t *home, const char *text)
{
	url_t *u = url_hdup(home, url_make(home, text));
	assert_non_null(u);
	return u;
}

static void request_built_and_printed_once(void **state)
{
	su_home_t home[1];
	su_home_init(home);
	msg_t *in = parse("INVITE sip:bob@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKin\r\n"
			  "From: <sip:alice@example.com>;tag=f1\r\nTo: <sip:bob@example.com>\r\n"
			  "Call-ID: in@10.0.0.1\r\nCSeq: 1 INVITE\r\nPrivacy: id;header\r\n"
			  "Content-Length: 0\r\n\r\n");
	struct sipmsg_build b;
	sipmsg_build_request(&b, "INVITE", url(home, "sip:bob@10.0.0.2:5070;transport=tcp"));
	sipmsg_build_via(&b, PC_TP_TCP, "[::1]", 5060, "z9hG4bKout", false);
	sipmsg_build_max_forwards(&b, 69);
	sipmsg_build_from(&b, "Anonymous", url(home, "sip:anonymous@anonymous.invalid"), "ft");
	sipmsg_build_to(&b, NULL, url(home, "sip:bob@example.com"), NULL);
	sipmsg_build_call_id(&b, "abc123");
	sipmsg_build_cseq(&b, 2, "INVITE");
	sipmsg_build_contact(&b, url(home, "sip:gw@[::1]:5060;transport=tcp"));
	sipmsg_build_value(&b, sip_allow_class, "INVITE, ACK, CANCEL, OPTIONS, BYE");
	sipmsg_build_route(&b, "<sip:p1.example.com;lr>,<sip:p2.example.com;lr>");
	sipmsg_build_asserted(&b, url(home, "sip:alice@example.com"));
	sipmsg_build_asserted(&b, url(home, "tel:+12125550100"));
	sipmsg_build_copy(&b, sip_object(in)->sip_privacy);
	sipmsg_build_body(&b, "application/sdp", "v=0\r\n", 5);
	msg_t *m = sipmsg_build_done(&b);
	assert_string_equal(b.why, "");
	assert_non_null(m);
	const char *want =
		"INVITE sip:bob@10.0.0.2:5070;transport=tcp SIP/2.0\r\n"
		"Via: SIP/2.0/TCP [::1]:5060;branch=z9hG4bKout;rport\r\n"
		"Max-Forwards: 69\r\n"
		"From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=ft\r\n"
		"To: <sip:bob@example.com>\r\n"
		"Call-ID: abc123\r\n"
		"CSeq: 2 INVITE\r\n"
		"Contact: <sip:gw@[::1]:5060;transport=tcp>\r\n"
		"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n"
		"Route: <sip:p1.example.com;lr>\r\n"
		"Route: <sip:p2.example.com;lr>\r\n"
		"P-Asserted-Identity: <sip:alice@example.com>\r\n"
		"P-Asserted-Identity: <tel:+12125550100>\r\n"
		"Privacy: id;header\r\n"
		"Content-Type: application/sdp\r\n"
		"Content-Length: 5\r\n"
		"\r\n"
		"v=0\r\n";
	size_t len = 0;
	assert_string_equal(sipmsg_print(m, &len), want);
	assert_int_equal(len, strlen(want));
	msg_destroy(m);
	msg_destroy(in);

	/* An extension method keeps its name in the request line and CSeq. */
	sipmsg_build_request(&b, "FOO", url(home, "sip:bob@example.com"));
	sipmsg_build_cseq(&b, 9, "FOO");
	m = sipmsg_build_done(&b);
	assert_non_null(m);
	const char *text = sipmsg_print(m, NULL);
	assert_non_null(strstr(text, "FOO sip:bob@example.com SIP/2.0\r\n"));
	assert_non_null(strstr(text, "CSeq: 9 FOO\r\n"));
	assert_non_null(strstr(text, "Content-Length: 0\r\n"));
	msg_destroy(m);
	su_home_deinit(home);
}

static void response_built_and_printed_once(void **state)
{
	msg_t *req = parse("INVITE sip:bob@example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKin\r\n"
			   "From: <sip:alice@example.com>;tag=f1\r\nTo: <sip:bob@example.com>\r\n"
			   "Call-ID: in@10.0.0.1\r\nCSeq: 1 INVITE\r\nRequire: 100rel, foo\r\n"
			   "Content-Length: 0\r\n\r\n");
	struct sipmsg_build b;
	sipmsg_build_response(&b, req, 488, "Not Acceptable Here", "tt");
	sipmsg_build_warning(&b, 399, "gw.example.com", "no \"acceptable\" a=crypto");
	sipmsg_build_retry_after(&b, 5);
	sipmsg_build_unsupported(&b, sip_object(req)->sip_require);
	msg_t *m = sipmsg_build_done(&b);
	assert_non_null(m);
	const char *want =
		"SIP/2.0 488 Not Acceptable Here\r\n"
		"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKin\r\n"
		"From: <sip:alice@example.com>;tag=f1\r\n"
		"To: <sip:bob@example.com>;tag=tt\r\n"
		"Call-ID: in@10.0.0.1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Retry-After: 5\r\n"
		"Unsupported: 100rel, foo\r\n"
		"Warning: 399 gw.example.com \"no \\\"acceptable\\\" a=crypto\"\r\n"
		"Content-Length: 0\r\n"
		"\r\n";
	assert_string_equal(sipmsg_print(m, NULL), want);
	msg_destroy(m);
	msg_destroy(req);
}

static void too_long_value_is_refused(void **state)
{
	msg_t *req = parse("OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa\r\n"
			   "From: <sip:a@x>;tag=1\r\nTo: <sip:gw>\r\nCall-ID: c\r\n"
			   "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	char text[SIPMSG_VALUE_MAX + 2];
	memset(text, 'w', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	struct sipmsg_build b;
	sipmsg_build_response(&b, req, 500, NULL, "t");
	sipmsg_build_warning(&b, 399, "gw", text);
	assert_null(sipmsg_build_done(&b));
	assert_string_equal(b.why, "Warning text is too long");

	text[SIPMSG_VALUE_MAX] = '\0'; /* exactly the limit: still whole */
	sipmsg_build_response(&b, req, 500, NULL, "t");
	sipmsg_build_warning(&b, 399, "gw", text);
	msg_t *m = sipmsg_build_done(&b);
	assert_non_null(m);
	assert_non_null(strstr(sipmsg_print(m, NULL), text));
	msg_destroy(m);

	/* A URI over the limit is refused, not cut. */
	su_home_t home[1];
	su_home_init(home);
	url_t *u = url(home, "sip:bob@example.com");
	char user[SIPMSG_VALUE_MAX];
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	u->url_user = user;
	sipmsg_build_request(&b, "BYE", u);
	assert_null(sipmsg_build_done(&b));
	assert_string_equal(b.why, "Request-URI is too long");
	su_home_deinit(home);
	msg_destroy(req);
}

/* Each of these carries a peer's text that would, pasted into a header
 * line, have added a header or broken the one it is in. */
static void peer_text_cannot_inject_a_header(void **state)
{
	su_home_t home[1];
	su_home_init(home);
	msg_t *req = parse("OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa\r\n"
			   "From: <sip:a@x>;tag=1\r\nTo: <sip:gw>\r\nCall-ID: c\r\n"
			   "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	url_t *ok = url(home, "sip:bob@example.com");
	struct sipmsg_build b;

	sipmsg_build_request(&b, "BYE", ok);
	sipmsg_build_from(&b, "Eve\r\nVia: SIP/2.0/UDP evil", ok, "t");
	assert_null(sipmsg_build_done(&b));
	assert_string_equal(b.why, "From has a control character");

	sipmsg_build_request(&b, "BYE", ok);
	sipmsg_build_to(&b, NULL, ok, "t;x=\"y\"");
	assert_null(sipmsg_build_done(&b));
	assert_string_equal(b.why, "tag has a character its grammar forbids");

	sipmsg_build_request(&b, "BYE", ok);
	sipmsg_build_call_id(&b, "abc\r\nRoute: <sip:evil>");
	assert_null(sipmsg_build_done(&b));

	url_t *bad = url(home, "sip:bob@example.com");
	bad->url_user = "bob>\r\nX: 1";
	sipmsg_build_request(&b, "BYE", ok);
	sipmsg_build_contact(&b, bad);
	assert_null(sipmsg_build_done(&b));
	bad->url_user = "bob> <sip:evil";
	sipmsg_build_request(&b, "BYE", ok);
	sipmsg_build_asserted(&b, bad);
	assert_null(sipmsg_build_done(&b));
	assert_string_equal(b.why, "P-Asserted-Identity has a character a URI may not carry");

	sipmsg_build_response(&b, req, 480, "Gone\r\nContact: <sip:evil>", "t");
	assert_null(sipmsg_build_done(&b));
	assert_string_equal(b.why, "reason phrase has a control character");

	sipmsg_build_response(&b, req, 200, NULL, "t");
	sipmsg_build_body(&b, "text/plain\r\nX-Evil: 1", "x", 1);
	assert_null(sipmsg_build_done(&b));

	/* Quotes and backslashes in a display name stay inside it. */
	sipmsg_build_request(&b, "BYE", ok);
	sipmsg_build_from(&b, "Mallory\" <sip:ceo@example.com>;tag=x \\", ok, "t");
	sipmsg_build_call_id(&b, "c1");
	sipmsg_build_cseq(&b, 1, "BYE");
	msg_t *m = sipmsg_build_done(&b);
	assert_non_null(m);
	const char *text = sipmsg_print(m, NULL);
	assert_non_null(strstr(text, "From: \"Mallory\\\" <sip:ceo@example.com>;tag=x \\\\\" "
				     "<sip:bob@example.com>;tag=t\r\n"));
	/* Read back (here only, to check): one From, its tag ours. */
	msg_t *back = parse(text);
	sip_t const *sip = sip_object(back);
	assert_null(sip->sip_from->a_next);
	assert_string_equal(sip->sip_from->a_tag, "t");
	assert_string_equal(sip->sip_from->a_url->url_user, "bob");
	msg_destroy(back);
	msg_destroy(m);
	msg_destroy(req);
	su_home_deinit(home);
}

/* Our domain read as a URI, a peer's user placed as a field: the user
 * cannot add a parameter, a header or a second URI. */
static void user_at_our_domain(void **state)
{
	su_home_t home[1];
	su_home_init(home);
	url_t *u = sipmsg_url(home, true, "alice", "gw.example.com:5061");
	assert_non_null(u);
	assert_string_equal(url_as_string(home, u), "sips:alice@gw.example.com:5061");
	assert_null(sipmsg_url(home, false, "bob", "gw.example.com;lr"));
	u = sipmsg_url(home, false, "bob> <sip:evil", "gw.example.com");
	struct sipmsg_build b;
	sipmsg_build_request(&b, "OPTIONS", u);
	assert_null(sipmsg_build_done(&b));
	assert_string_equal(b.why, "Request-URI has a character a URI may not carry");
	su_home_deinit(home);
}

static int setup(void **state) { return sipmsg_init(); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_built_and_printed_once),
		cmocka_unit_test(response_built_and_printed_once),
		cmocka_unit_test(too_long_value_is_refused),
		cmocka_unit_test(peer_text_cannot_inject_a_header),
		cmocka_unit_test(user_at_our_domain),
	};
	return cmocka_run_group_tests_name("sip_build", tests, setup, NULL);
}
