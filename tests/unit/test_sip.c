/* The SIP message module: stateless request checks (each refusal code and
 * phrase), response construction, and the extended message class (PAI, PPI,
 * Privacy, Identity parsed as known headers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sip/check.h"
#include "sip/msg.h"
#include "sip/reply.h"

#define HDRS "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKabc\r\n" \
	     "From: <sip:alice@example.com>;tag=f1\r\n" \
	     "To: <sip:bob@example.com>\r\n" \
	     "Call-ID: c1@10.0.0.1\r\n"

static msg_t *parse(const char *text)
{
	msg_t *m = sipmsg_parse(text, strlen(text));
	assert_non_null(m);
	return m;
}

static void expect(const char *text, int status, const char *phrase_part)
{
	msg_t *m = parse(text);
	struct sipcheck_verdict v;
	sipcheck_request(m, &v);
	assert_int_equal(v.status, status);
	if (phrase_part)
		assert_non_null(strstr(v.phrase, phrase_part));
	msg_destroy(m);
}

static void valid_request_passes(void **state)
{
	expect("INVITE sip:bob@example.com SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n"
	       "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", 0, NULL);
}

static void missing_call_id_is_400_naming_it(void **state)
{
	expect("INVITE sip:bob@example.com SIP/2.0\r\n"
	       "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKabc\r\nFrom: <sip:a@b>;tag=1\r\n"
	       "To: <sip:b@c>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	       400, "Call-ID");
}

static void malformed_cseq_is_400(void **state)
{
	expect("INVITE sip:bob@example.com SIP/2.0\r\n" HDRS "CSeq: one INVITE\r\n"
	       "Content-Length: 0\r\n\r\n", 400, "CSeq");
}

/* Found by fuzz_sip: Sofia chains a duplicate CSeq onto the error list as a
 * CSeq structure, not an error fragment. */
static void duplicate_cseq_is_400_naming_it(void **state)
{
	expect("OPTIONS sip:gw SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\nRe\nCSeq: 1 OPTIONS\r\n"
	       "Content-Length: 0\r\n\r\n", 400, "CSeq");
}

static void cseq_method_mismatch_is_400(void **state)
{
	expect("INVITE sip:bob@example.com SIP/2.0\r\n" HDRS "CSeq: 1 BYE\r\n"
	       "Content-Length: 0\r\n\r\n", 400, "CSeq Method");
}

static void max_forwards_zero_is_483(void **state)
{
	expect("INVITE sip:bob@example.com SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n"
	       "Max-Forwards: 0\r\nContent-Length: 0\r\n\r\n", 483, "Too Many Hops");
}

static void unsupported_scheme_is_416(void **state)
{
	expect("INVITE http://example.com/ SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n"
	       "Content-Length: 0\r\n\r\n", 416, "Unsupported URI Scheme");
}

static void wrong_version_is_505(void **state)
{
	expect("INVITE sip:bob@example.com SIP/3.0\r\n" HDRS "CSeq: 1 INVITE\r\n"
	       "Content-Length: 0\r\n\r\n", 505, NULL);
}

static void no_via_cannot_be_answered(void **state)
{
	msg_t *m = parse("OPTIONS sip:gw SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:gw>\r\n"
			 "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	struct sipcheck_verdict v;
	sipcheck_request(m, &v);
	assert_int_equal(v.status, 400);
	assert_false(v.can_respond);
	msg_destroy(m);
}

static void malformed_response_is_dropped(void **state)
{
	msg_t *m = parse("SIP/2.0 200 OK\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\n"
			 "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(sipcheck_response(m), -1);
	msg_destroy(m);
	m = parse("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
		  "To: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(sipcheck_response(m), 0);
	msg_destroy(m);
}

static void garbage_does_not_parse(void **state)
{
	assert_null(sipmsg_parse("\x01\x02garbage\r\n\r\n", 13));
	assert_null(sipmsg_parse("", 0));
}

static void reply_copies_headers_and_adds_tag(void **state)
{
	msg_t *req = parse("OPTIONS sip:gw SIP/2.0\r\n" HDRS
			   "Via: SIP/2.0/TCP 10.0.0.2;branch=z9hG4bKdef\r\nCSeq: 7 OPTIONS\r\n"
			   "Content-Length: 0\r\n\r\n");
	msg_t *resp = sipmsg_reply(req, 404, "No Route", "t123");
	assert_non_null(resp);
	assert_int_equal(sipmsg_add_line(resp, "Allow: INVITE, ACK"), 0);
	assert_int_equal(sipmsg_add_line(resp, "X-Custom: yes"), 0);
	char *text = sipmsg_print(resp, NULL);
	assert_non_null(strstr(text, "SIP/2.0 404 No Route\r\n"));
	assert_non_null(strstr(text, "To: <sip:bob@example.com>;tag=t123\r\n"));
	assert_non_null(strstr(text, "CSeq: 7 OPTIONS\r\n"));
	assert_non_null(strstr(text, "branch=z9hG4bKdef"));
	assert_non_null(strstr(text, "Allow: INVITE, ACK\r\n"));
	assert_non_null(strstr(text, "X-Custom: yes\r\n"));
	assert_non_null(strstr(text, "Content-Length: 0\r\n"));
	/* The empty line that ends the headers, which stream peers wait for. */
	assert_string_equal(text + strlen(text) - 4, "\r\n\r\n");
	msg_destroy(resp);
	resp = sipmsg_reply(req, 100, NULL, "t123"); /* 100 Trying: no tag */
	text = sipmsg_print(resp, NULL);
	assert_null(strstr(text, "tag=t123"));
	msg_destroy(resp);
	msg_destroy(req);
}

static void identity_headers_are_structured(void **state)
{
	msg_t *m = parse("INVITE sip:bob@example.com SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n"
			 "P-Asserted-Identity: <sip:alice@example.com>\r\n"
			 "P-Preferred-Identity: <sip:alice2@example.com>\r\n"
			 "Privacy: id;header\r\n"
			 "Identity: eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://cert.example/x.pem>\r\n"
			 "Content-Length: 0\r\n\r\n");
	sip_t *sip = sip_object(m);
	assert_non_null(sip_p_asserted_identity(sip));
	assert_non_null(sip_p_preferred_identity(sip));
	assert_non_null(sip->sip_privacy);
	msg_generic_t *id = sipmsg_identity(sip);
	assert_non_null(id);
	assert_non_null(strstr(id->g_string, "eyJhbGciOiJFUzI1NiJ9"));
	assert_null(sip->sip_unknown);
	msg_destroy(m);
}

static void random_tokens_differ(void **state)
{
	char a[24], b[24];
	sipmsg_random_token(a, sizeof(a));
	sipmsg_random_token(b, sizeof(b));
	assert_int_equal(strlen(a), 23);
	assert_string_not_equal(a, b);
}

static int setup(void **state) { return sipmsg_init(); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_request_passes),
		cmocka_unit_test(missing_call_id_is_400_naming_it),
		cmocka_unit_test(malformed_cseq_is_400),
		cmocka_unit_test(duplicate_cseq_is_400_naming_it),
		cmocka_unit_test(cseq_method_mismatch_is_400),
		cmocka_unit_test(max_forwards_zero_is_483),
		cmocka_unit_test(unsupported_scheme_is_416),
		cmocka_unit_test(wrong_version_is_505),
		cmocka_unit_test(no_via_cannot_be_answered),
		cmocka_unit_test(malformed_response_is_dropped),
		cmocka_unit_test(garbage_does_not_parse),
		cmocka_unit_test(reply_copies_headers_and_adds_tag),
		cmocka_unit_test(identity_headers_are_structured),
		cmocka_unit_test(random_tokens_differ),
	};
	return cmocka_run_group_tests_name("sip", tests, setup, NULL);
}
