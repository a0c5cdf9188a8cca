/* Unit tests of the call layer (gateway/b2bua/) without SIP sockets or
 * sleeping, in the fake world of call_harness.h: the test plays the caller
 * "A" and the next hop "B" from text and asserts on what each was sent, on
 * the call's state and on the call count. They cover the call's states and
 * the INVITE set-up phases, and the moves only integration tests reached
 * before: CANCEL or BYE crossing B's 200, B's 2xx retransmitted, glare, a
 * failed re-INVITE, no ACK for our 2xx, media timeout, a lost connection,
 * serial forking, and the table of legal moves itself; and which configured
 * peer a request comes from for RFC 4474 (identity_legacy); the call record
 * each closing call hands up (disposition, status, who ended it, times). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "call_harness.h"
#include "heap_count.h"
#include "b2bua/stir_call.h"
#include "record/record.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* 1. INVITE -> 180 -> 200 -> ACK -> BYE: inviting, early, confirmed, ending,
 * closed; each leg gets its own dialog and B's BYE answer closes the call. */
static void basic_call(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "basic-1@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	assert_true(last_taken);
	assert_int_equal(b2bua_call_count(gw), 1);
	struct call *c = the_call();
	assert_int_equal(c->state, CALL_INVITING);
	msg_destroy(take(TO_A, "SIP/2.0 100"));
	msg_t *inv = take(TO_B, "INVITE sip:bob@127.0.0.2:5090 ");
	sip_t const *isip = sip_object(inv);
	/* Leg B is a dialog of its own: not A's Call-ID, with an offer of ours. */
	assert_string_not_equal(isip->sip_call_id->i_id, d.call_id);
	assert_non_null(isip->sip_payload);
	assert_non_null(strstr(isip->sip_payload->pl_data, "c=IN IP4 127.0.0.1"));
	assert_int_equal(isip->sip_max_forwards->mf_count, 69);

	b_answers(inv, 180, NULL);
	assert_int_equal(c->state, CALL_EARLY);
	msg_t *ring = a_gets(&d, "SIP/2.0 180");
	assert_true(has_line(ring, "Contact: <sip:gw@127.0.0.1:5060;transport=udp>"));
	msg_destroy(ring);

	b_answers(inv, 200, sdp_b);
	assert_int_equal(c->state, CALL_CONFIRMED);
	msg_t *ack = take(TO_B, "ACK sip:bob@127.0.0.2:5090 ");
	assert_int_equal(sip_object(ack)->sip_cseq->cs_seq, 1);
	msg_destroy(ack);
	msg_t *ok = a_gets(&d, "SIP/2.0 200");
	assert_non_null(sip_object(ok)->sip_payload);
	msg_destroy(ok);
	assert_int_equal(media_engine_stream_count(media), 1);
	a_ack(&d, 1, NULL);
	assert_null(c->ok.msg); /* our 2xx arrived: no more retransmissions */

	a_request(&d, "BYE", 2, NULL);
	assert_true(last_taken);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	assert_int_equal(c->state, CALL_ENDING);
	msg_t *bye = take(TO_B, "BYE sip:bob@127.0.0.2:5090 ");
	assert_int_equal(sip_object(bye)->sip_cseq->cs_seq, 2);
	assert_string_equal(sip_object(bye)->sip_to->a_tag, "btag");
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	assert_int_equal(b2bua_call_count(gw), 0);
	/* Waiting out its transactions off the live list: walks of the
	 * live calls (/metrics, /calls) do not pay for closed ones. */
	assert_null(gw->calls);
	assert_ptr_equal(gw->closed, c);
	assert_int_equal(waiting(TO_A, ""), 0);
	assert_int_equal(waiting(TO_B, ""), 0);
	msg_destroy(inv);
	settle();
}

/* 1b. Late offer: A's INVITE has no SDP, so B offers in its 2xx, A answers
 * in its ACK, and B gets that answer in our ACK (held until then). */
static void late_offer(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "late@127.0.0.1");
	a_request(&d, "INVITE", 1, NULL);
	msg_t *inv = take(TO_B, "INVITE ");
	assert_null(sip_object(inv)->sip_payload);
	struct call *c = the_call();
	assert_true(c->late_offer);
	b_answers(inv, 200, sdp_b);
	assert_int_equal(c->state, CALL_CONFIRMED);
	assert_int_equal(waiting(TO_B, "ACK "), 0); /* until A's answer */
	msg_t *ok = a_gets(&d, "SIP/2.0 200");
	assert_non_null(sip_object(ok)->sip_payload); /* B's offer, our relay */
	msg_destroy(ok);
	/* B resends its 200 before A's answer came: still ours to ACK later. */
	b_answers(inv, 200, sdp_b);
	assert_int_equal(c->state, CALL_CONFIRMED);
	assert_int_equal(waiting(TO_B, "ACK "), 0);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	a_ack(&d, 1, sdp_a);
	msg_t *ack = take(TO_B, "ACK ");
	assert_non_null(sip_object(ack)->sip_payload);
	assert_non_null(strstr(sip_object(ack)->sip_payload->pl_data, "m=audio"));
	msg_destroy(ack);
	assert_true(c->answered);

	b_request(inv, "BYE", 2, NULL); /* this time B hangs up */
	msg_destroy(take(TO_B, "SIP/2.0 200"));
	msg_t *bye = take(TO_A, "BYE ");
	a_answers(bye, 200);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	msg_destroy(inv);
	settle();
}

/* 1c. B resends its 200 (our ACK was lost): it gets our ACK again and the
 * call stays confirmed; A gets the 200 again, as before the split. */
static void b_200_retransmitted(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "b200@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();
	b_answers(inv, 200, sdp_b);
	msg_destroy(take(TO_B, "ACK "));
	assert_int_equal(c->state, CALL_CONFIRMED);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	a_ack(&d, 1, NULL);
	assert_null(c->ok.msg);
	a_hangs_up(&d, 2, c);
	msg_destroy(inv);
	settle();
}

/* 1c. A closed call's INVITE transactions wait out Timers L and M (32 s
 * after the 2xx) in Accepted; they no longer keep the call, which is freed
 * at once when B's leg is reliable (TCP here): in a churn of calls, the
 * last 32 s of them are not all in memory. Over UDP (basic_call) B's stays
 * the call's, so that a resent 2xx is ACKed again. */
static void closed_call_freed_at_once(void **state)
{
	if (!heap_visible())
		skip();
	cfg.routes[0].transport = PC_TP_TCP;
	peer_b.transport = PC_TP_TCP;
	peer_b.conn_id = 7;
	struct a_dialog d;
	new_dialog(&d, "freed@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();
	a_hangs_up(&d, 2, c);
	assert_true(pc_transport_reliable(c->legs[LEG_B].peer.transport));
	advance(0); /* the reapers: our BYE's transaction (over TCP), then the call */
	advance(0);
	assert_null(gw->closed);
	assert_null(gw->dead);
	/* B resends its 200 (one that crossed our ACK): its transaction still
	 * matches it, and it is dropped, not answered (no ACK, no BYE). */
	take_all();
	b_answers(inv, 200, sdp_b);
	assert_int_equal(waiting(TO_A, ""), 0);
	assert_int_equal(waiting(TO_B, ""), 0);
	msg_destroy(inv);
	long held = heap_in_use();
	settle();
	held -= heap_in_use();
	/* The transactions (keys and timers; A's BYE waits out Timer J over
	 * UDP): about 2 KiB. With the call kept, 3 KiB more. */
	print_message("left after the call closed: %ld bytes\n", held);
	assert_in_range(held, 1, (long)sizeof(struct call));
}

/* 1d. B never answers our INVITE (Timer B): A gets 408, the call closes. */
static void invite_timeout(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "timeout@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_destroy(take(TO_B, "INVITE "));
	advance(64 * cfg.timers.t1_ms - 1);
	assert_int_equal(b2bua_call_count(gw), 1);
	advance(1);
	msg_t *r = take(TO_A, "SIP/2.0 408");
	assert_true(has_line(r, "no answer from the next hop"));
	msg_destroy(r);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(media_engine_stream_count(media), 0);
	settle();
}

/* 1f. B's final answers that do not make a call: a redirect is not
 * followed across legs (480 to A); a 200 without the SDP answer is
 * acknowledged and ended (488 to A, BYE to B). */
static void b_answers_that_fail(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "redirect@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 302, NULL);
	msg_destroy(take(TO_B, "ACK "));
	msg_t *r = take(TO_A, "SIP/2.0 480");
	assert_true(has_line(r, "redirect not followed"));
	msg_destroy(r);
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(inv);

	new_dialog(&d, "nosdp@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	inv = take(TO_B, "INVITE ");
	struct call *c = the_call();
	b_answers(inv, 200, NULL);
	msg_destroy(take(TO_B, "ACK "));
	r = take(TO_A, "SIP/2.0 488");
	assert_true(has_line(r, "the answer carries no SDP"));
	msg_destroy(r);
	assert_int_equal(c->state, CALL_ENDING);
	msg_t *bye = take(TO_B, "BYE ");
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(inv);
	settle();
}

/* 1e. A call to a registered user tries her contacts one after another:
 * the first refuses (486), the next one is tried as a new INVITE in the
 * same leg-B dialog-to-be (same Call-ID, CSeq + 1), and A hears only the
 * outcome of the second. */
static void serial_forking(void **state)
{
	registers(TO_C, "carol");
	registers(TO_D, "carol");
	struct a_dialog d;
	new_dialog(&d, "fork@127.0.0.1");
	d.callee = "carol";
	a_request(&d, "INVITE", 1, sdp_a);
	assert_true(last_taken);
	int first = waiting(TO_C, "INVITE ") ? TO_C : TO_D;
	int second = first == TO_C ? TO_D : TO_C;
	msg_t *inv1 = take(first, "INVITE sip:carol@");
	assert_int_equal(waiting(second, "INVITE "), 0);
	answer(inv1, &peers[first], "xtag", 486, NULL, NULL);
	msg_destroy(take(first, "ACK "));
	msg_t *inv2 = take(second, "INVITE sip:carol@");
	assert_string_equal(sip_object(inv2)->sip_call_id->i_id, sip_object(inv1)->sip_call_id->i_id);
	assert_int_equal(sip_object(inv2)->sip_cseq->cs_seq, sip_object(inv1)->sip_cseq->cs_seq + 1);
	assert_int_equal(waiting(TO_A, "SIP/2.0 486"), 0);
	struct call *c = the_call();
	assert_int_equal(c->state, CALL_INVITING);

	answer(inv2, &peers[second], "ytag", 180, "Contact: <sip:carol@127.0.0.9:5090>", NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 180"));
	answer(inv2, &peers[second], "ytag", 200, "Contact: <sip:carol@127.0.0.9:5090>", sdp_b);
	msg_destroy(take(second, "ACK "));
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	assert_int_equal(c->state, CALL_CONFIRMED);
	a_ack(&d, 1, NULL);

	a_request(&d, "BYE", 2, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	msg_t *bye = take(second, "BYE ");
	assert_string_equal(sip_object(bye)->sip_to->a_tag, "ytag");
	answer(bye, &peers[second], NULL, 200, NULL, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	msg_destroy(inv1);
	msg_destroy(inv2);
	settle();
}

/* 2a. No route from the caller's leg: not the call layer's (the endpoint
 * answers 404). B's leg, outside, has no route. */
static void phase_no_route(void **state)
{
	peer_a.listener = 1;
	struct a_dialog d;
	new_dialog(&d, "noroute@127.0.0.1");
	a_request(&d, "INVITE", 1, NULL);
	assert_false(last_taken);
	msg_destroy(take(TO_A, "SIP/2.0 404"));
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(waiting(TO_B, ""), 0);
	settle();
}

/* 2b. A Call-ID the dialog index could not hold whole. */
static void phase_call_id_too_long(void **state)
{
	char id[300];
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	struct a_dialog d;
	new_dialog(&d, id);
	a_request(&d, "INVITE", 1, NULL);
	assert_true(last_taken);
	msg_t *r = take(TO_A, "SIP/2.0 400 Call-ID or Tag Too Long");
	msg_destroy(r);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(waiting(TO_B, ""), 0);
	settle();
}

/* 2c. max_calls reached: 503 with Retry-After 10, no INVITE onward. */
static void phase_capacity(void **state)
{
	cfg.limits.max_calls = 1;
	struct a_dialog d1, d2;
	new_dialog(&d1, "cap-1@127.0.0.1");
	new_dialog(&d2, "cap-2@127.0.0.1");
	a_request(&d1, "INVITE", 1, NULL);
	msg_t *inv = take(TO_B, "INVITE ");
	a_request(&d2, "INVITE", 1, NULL);
	assert_true(last_taken);
	msg_t *r = take(TO_A, "SIP/2.0 503");
	assert_true(has_line(r, "Retry-After: 10"));
	msg_destroy(r);
	assert_int_equal(waiting(TO_B, "INVITE "), 0);
	assert_int_equal(b2bua_call_count(gw), 1);
	/* The first call still works: B refuses it, A learns why. */
	b_answers(inv, 486, NULL);
	msg_destroy(take(TO_B, "ACK ")); /* the transaction's ACK for a non-2xx */
	msg_destroy(take(TO_A, "SIP/2.0 486"));
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(inv);
	settle();
}

/* 2d. The next hop is backed off after failed connections: 503 with its
 * Retry-After, before any INVITE, relay port or key is spent. */
static void phase_next_hop_backed_off(void **state)
{
	retry_after_s = 17;
	struct a_dialog d;
	new_dialog(&d, "backoff@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	assert_true(last_taken);
	msg_t *r = take(TO_A, "SIP/2.0 503");
	assert_true(has_line(r, "Retry-After: 17"));
	assert_true(has_line(r, "next hop down"));
	msg_destroy(r);
	assert_int_equal(waiting(TO_B, ""), 0);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(media_engine_stream_count(media), 0);
	settle();
}

/* The records the B2BUA handed up, the last one kept. */
static struct call_record last_record;
static unsigned n_records;

static void keep_record(void *ctx, const struct call_record *r)
{
	last_record = *r;
	n_records++;
}

static void record_calls(void)
{
	n_records = 0;
	memset(&last_record, 0, sizeof(last_record));
	b2bua_set_record_sink(gw, keep_record, NULL);
}

/* 3. A cancels while B's 200 is on its way: A gets 200 for the CANCEL and
 * 487, B gets the CANCEL; then B's 200 arrives for a closed call: B gets
 * ACK and BYE, and nothing is left once the transactions end. */
static void cancel_crossing_200(void **state)
{
	struct a_dialog d;
	record_calls();
	new_dialog(&d, "cancel@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 180, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 180"));

	a_request(&d, "CANCEL", 1, NULL);
	msg_t *r = take(TO_A, "SIP/2.0 200");
	assert_int_equal(sip_object(r)->sip_cseq->cs_method, sip_method_cancel);
	msg_destroy(r);
	msg_destroy(take(TO_A, "SIP/2.0 487"));
	msg_t *cancel = take(TO_B, "CANCEL ");
	/* §9.1: the INVITE's branch and CSeq number. */
	assert_string_equal(sip_object(cancel)->sip_via->v_branch, sip_object(inv)->sip_via->v_branch);
	assert_int_equal(sip_object(cancel)->sip_cseq->cs_seq, sip_object(inv)->sip_cseq->cs_seq);
	assert_int_equal(b2bua_call_count(gw), 0);
	assert_int_equal(the_call()->state, CALL_CLOSED);
	/* One record, at the close: cancelled by the caller, 487. */
	assert_int_equal(n_records, 1);
	assert_int_equal(last_record.disposition, RECORD_CANCELLED);
	assert_int_equal(last_record.status, 487);
	assert_int_equal(last_record.ended_by, RECORD_BY_CALLER);
	assert_string_equal(last_record.reason, "cancel");
	assert_int_equal(last_record.answer_ms, 0);
	assert_int_equal(last_record.n_legs, 2);

	b_answers(inv, 200, sdp_b); /* crossed the CANCEL */
	b_answers(cancel, 200, NULL);
	msg_destroy(cancel);
	msg_destroy(take(TO_B, "ACK "));
	msg_t *bye = take(TO_B, "BYE ");
	assert_string_equal(sip_object(bye)->sip_to->a_tag, "btag");
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	a_send(&d, "ACK", 1, NULL, true); /* A's ACK for the 487: absorbed below */
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 0);
	assert_int_equal(waiting(TO_B, "INVITE "), 0);
	msg_destroy(inv);
	settle();
}

/* 3b. A hangs up with BYE while B rings, and B's 200 crosses our BYE to
 * it: A gets 200 and 487, B's 200 is acknowledged, and the call stays
 * ending (it is not answered again) until B answers the BYE. */
static void bye_crossing_200(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "byecross@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 180, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 180"));
	struct call *c = the_call();
	assert_int_equal(c->state, CALL_EARLY);

	a_request(&d, "BYE", 2, NULL);
	msg_t *r = take(TO_A, "SIP/2.0 200");
	assert_int_equal(sip_object(r)->sip_cseq->cs_method, sip_method_bye);
	msg_destroy(r);
	msg_destroy(take(TO_A, "SIP/2.0 487"));
	msg_t *bye = take(TO_B, "BYE ");
	assert_int_equal(c->state, CALL_ENDING);

	b_answers(inv, 200, sdp_b); /* crossed our BYE */
	msg_destroy(take(TO_B, "ACK "));
	assert_int_equal(c->state, CALL_ENDING);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 0);
	b_answers(bye, 200, NULL);
	assert_int_equal(c->state, CALL_CLOSED);
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(bye);
	a_send(&d, "ACK", 1, NULL, true); /* for the 487 */
	msg_destroy(inv);
	settle();
}

/* 4. Glare: B's re-INVITE crosses the one we relayed to it from A (491);
 * A's second request while its first is pending must wait (500 with
 * Retry-After). The first one completes normally afterwards. */
static void glare(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "glare@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();

	a_request(&d, "INVITE", 2, sdp_a);
	msg_t *reinv = take(TO_B, "INVITE ");
	assert_string_equal(sip_object(reinv)->sip_to->a_tag, "btag");
	assert_non_null(c->relay.ct);

	b_request(inv, "INVITE", 2, sdp_b); /* crossing on leg B */
	msg_t *r = take(TO_B, "SIP/2.0 491");
	assert_true(has_line(r, "Retry-After: 1"));
	msg_destroy(r);

	a_request(&d, "INFO", 3, NULL); /* A again, same side, before the answer */
	r = take(TO_A, "SIP/2.0 500");
	assert_true(has_line(r, "Retry-After: 1"));
	assert_true(has_line(r, "a previous request is still pending"));
	msg_destroy(r);
	assert_int_equal(waiting(TO_B, "INFO "), 0);

	b_answers(reinv, 200, sdp_b);
	msg_destroy(take(TO_B, "ACK "));
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	assert_null(c->relay.ct);
	assert_int_equal(c->state, CALL_CONFIRMED);
	a_ack(&d, 2, NULL);
	msg_destroy(reinv);

	a_hangs_up(&d, 4, c);
	msg_destroy(inv);
	settle();
}

/* 4b. What is answered without crossing: PRACK (no reliable provisionals
 * here, 481), a re-INVITE without an offer (488); what crosses: OPTIONS,
 * answered by the other leg. Once the call is ending, a request gets 481. */
static void in_dialog_requests(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "indialog@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();

	a_request(&d, "PRACK", 2, NULL);
	msg_destroy(take(TO_A, "SIP/2.0 481"));
	a_request(&d, "INVITE", 3, NULL);
	msg_t *r = take(TO_A, "SIP/2.0 488");
	assert_true(has_line(r, "a re-INVITE without an offer is not supported"));
	msg_destroy(r);
	assert_int_equal(waiting(TO_B, ""), 0);

	a_request(&d, "OPTIONS", 4, NULL);
	msg_t *opt = take(TO_B, "OPTIONS ");
	assert_int_equal(sip_object(opt)->sip_cseq->cs_seq, 2); /* leg B's own CSeq */
	b_answers(opt, 200, NULL);
	msg_destroy(opt);
	r = a_gets(&d, "SIP/2.0 200");
	assert_int_equal(sip_object(r)->sip_cseq->cs_method, sip_method_options);
	msg_destroy(r);
	assert_null(c->relay.st);

	a_request(&d, "BYE", 5, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	assert_int_equal(c->state, CALL_ENDING);
	b_request(inv, "INFO", 2, NULL);
	msg_destroy(take(TO_B, "SIP/2.0 481"));
	msg_t *bye = take(TO_B, "BYE ");
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	msg_destroy(inv);
	settle();
}

/* 5. A re-INVITE relayed to B gets no answer (Timer B): A gets 408 and,
 * since a failed re-INVITE ends the dialog (RFC 3261 §14.1), both legs get
 * a BYE. */
static void reinvite_timeout(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "reinvite@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();

	a_request(&d, "INVITE", 2, sdp_a);
	msg_destroy(take(TO_B, "INVITE "));
	advance(64 * cfg.timers.t1_ms - 1);
	assert_int_equal(waiting(TO_A, "SIP/2.0 408"), 0);
	assert_int_equal(c->state, CALL_CONFIRMED);
	advance(1);
	msg_t *r = take(TO_A, "SIP/2.0 408");
	assert_int_equal(sip_object(r)->sip_cseq->cs_seq, 2);
	msg_destroy(r);
	assert_int_equal(b2bua_call_count(gw), 1);
	both_legs_get_bye(c);
	msg_destroy(inv);
	settle();
}

/* 5b. A hangs up while its re-INVITE is still out to B, and that re-INVITE
 * then times out: A hears 408 for it, but the closed call is not ended a
 * second time (before the split it was: BYEs again and the call count
 * went below zero, refusing every later call as over capacity). */
static void reinvite_timeout_after_bye(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "late408@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();
	a_request(&d, "INVITE", 2, sdp_a);
	msg_destroy(take(TO_B, "INVITE "));
	a_hangs_up(&d, 3, c);
	take_all();
	advance(64 * cfg.timers.t1_ms);
	msg_destroy(take(TO_A, "SIP/2.0 408"));
	assert_int_equal(waiting(TO_A, "BYE "), 0);
	assert_int_equal(waiting(TO_B, "BYE "), 0);
	assert_int_equal(b2bua_call_count(gw), 0);
	msg_destroy(inv);
	settle();
}

/* 6. No media on any stream for media_timeout: BYE on both legs. */
static void media_timeout(void **state)
{
	cfg.limits.media_timeout_s = 5;
	struct a_dialog d;
	record_calls();
	new_dialog(&d, "media@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();
	uint64_t answered = now_ms;
	/* Watched once a second from the first look on (T1 after the 2xx):
	 * the fifth second of silence after it ends the call. */
	advance(5000);
	assert_int_equal(c->state, CALL_CONFIRMED);
	assert_int_equal(waiting(TO_A, "BYE "), 0);
	advance(1000);
	assert_int_equal(n_records, 0); /* not before the BYEs are answered */
	both_legs_get_bye(c);
	assert_int_equal(media_engine_stream_count(media), 0);
	/* Answered, ended by the gateway for the silence, 6 s after the answer
	 * on the virtual clock; the caller's leg first. */
	assert_int_equal(n_records, 1);
	assert_int_equal(last_record.id, c->id);
	assert_int_equal(last_record.disposition, RECORD_ANSWERED);
	assert_int_equal(last_record.status, 200);
	assert_int_equal(last_record.ended_by, RECORD_BY_GATEWAY);
	assert_string_equal(last_record.reason, "media timeout");
	assert_int_equal(last_record.end_ms - last_record.answer_ms, now_ms - answered);
	assert_true(last_record.start_ms <= last_record.answer_ms);
	assert_true(last_record.legs[0].caller && !last_record.legs[1].caller);
	msg_destroy(inv);
	settle();
}

/* 6b. A leg's TCP connection closed and did not come back within
 * connection_grace: the call ends, with a BYE only on the other leg. */
static void connection_grace(void **state)
{
	peer_a.transport = PC_TP_TCP;
	peer_a.conn_id = 42;
	struct a_dialog d;
	new_dialog(&d, "grace@127.0.0.1");
	msg_t *inv = establish(&d);
	struct call *c = the_call();
	handler.on_inbound_closed(handler.ctx, 41); /* someone else's */
	assert_int_equal(c->legs[LEG_A].conn_lost_ms, 0);
	handler.on_inbound_closed(handler.ctx, 42);
	assert_int_equal(c->legs[LEG_A].conn_lost_ms, now_ms);
	/* The call timer looks once a second (T1 after the 2xx, then 1 s). */
	advance(cfg.limits.connection_grace_s * 1000 - 1000);
	assert_int_equal(c->state, CALL_CONFIRMED);
	advance(2000);
	assert_int_equal(c->state, CALL_ENDING);
	assert_int_equal(waiting(TO_A, "BYE "), 0);
	msg_t *bye = take(TO_B, "BYE ");
	b_answers(bye, 200, NULL);
	assert_int_equal(c->state, CALL_CLOSED);
	msg_destroy(bye);
	msg_destroy(inv);
	settle();
}

/* 7. Our 2xx to A is resent over UDP at T1, 2T1, ... capped at T2, until
 * 64*T1 without an ACK ends the call with a BYE on both legs. */
static void ok_retransmitted_until_no_ack(void **state)
{
	struct a_dialog d;
	new_dialog(&d, "noack@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 200, sdp_b);
	struct call *c = the_call();
	assert_int_equal(c->state, CALL_CONFIRMED);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	take_all();
	/* Resent at 500, 1500, 3500, 7500 ms, then every T2 (4 s). */
	advance(499);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 0);
	advance(1);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 1);
	advance(1000);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 2);
	advance(2000);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 3);
	advance(4000);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 4);
	advance(4000);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 5);
	/* The last retransmission leaves at 31.5 s; the 2xx's transaction ends
	 * at 64*T1 (Timer L) and the next look, at 35.5 s, gives up. */
	advance(35500 - 11500 - 1);
	assert_int_equal(waiting(TO_A, "SIP/2.0 200"), 10);
	assert_int_equal(c->state, CALL_CONFIRMED);
	assert_int_equal(waiting(TO_A, "BYE "), 0);
	advance(1);
	both_legs_get_bye(c);
	msg_destroy(inv);
	settle();
}

/* 7b. The same over a reliable transport: no retransmission, and the ACK
 * is not awaited (the transaction layer's Timer L ends only the
 * transaction). */
static void ok_not_retransmitted_over_tcp(void **state)
{
	peer_a.transport = PC_TP_TCP;
	peer_a.conn_id = 9;
	struct a_dialog d;
	new_dialog(&d, "tcp@127.0.0.1");
	a_request(&d, "INVITE", 1, sdp_a);
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 200, sdp_b);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	take_all();
	advance(40000);
	assert_int_equal(waiting(TO_A, ""), 0);
	assert_int_equal(the_call()->state, CALL_CONFIRMED);
	a_hangs_up(&d, 2, the_call());
	msg_destroy(inv);
	settle();
}

/* 8. The table of legal moves: legal ones change the state; an illegal one
 * is a bug, caught by the assertion in debug builds (run in a child, so
 * the suite goes on) and logged, the state unchanged in meaning, otherwise. */
static void illegal_state_move_is_caught(void **state)
{
	struct call c;
	memset(&c, 0, sizeof(c));
	c.id = 7;
	c.state = CALL_INVITING;
	call_set_state(&c, CALL_EARLY);
	call_set_state(&c, CALL_CONFIRMED);
	call_set_state(&c, CALL_ENDING);
	call_set_state(&c, CALL_ENDING);
	call_set_state(&c, CALL_CLOSED);
	assert_int_equal(c.state, CALL_CLOSED);
	assert_string_equal(call_state_name(CALL_EARLY), "early");

	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		c.state = CALL_ENDING;
		call_set_state(&c, CALL_CONFIRMED); /* ended calls are not answered again */
		_exit(c.state == CALL_CONFIRMED ? 3 : 4);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
#ifdef NDEBUG
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
#else
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#endif
}

/* RFC 4474 is the configuration's choice for a peer, never the sender's:
 * a TLS peer is recognised only by its verified certificate name (its
 * peer_names, else its sip_domain), a plain one by address and transport;
 * a peer without identity_legacy is never one. */
static struct pc_peer source(enum pc_transport tp, const char *ip, const char *identity)
{
	struct pc_peer p;
	memset(&p, 0, sizeof(p));
	p.transport = tp;
	struct sockaddr_in *sin = (struct sockaddr_in *)&p.addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	p.addrlen = sizeof(*sin);
	snprintf(p.identity, sizeof(p.identity), "%s", identity);
	return p;
}

static void legacy_peer_recognised(void **state)
{
	(void)state;
	static struct gateway_config pcfg;
	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.n_peers = 4;
	struct peer_config *named = &pcfg.peers[0], *domain = &pcfg.peers[1], *plain = &pcfg.peers[2],
			   *modern = &pcfg.peers[3];
	*named = (struct peer_config){ .identity_legacy = true, .transport = PC_TP_TLS,
				       .address = "192.0.2.1", .sip_domain = "a.example" };
	named->tls.n_peer_names = 1;
	snprintf(named->tls.peer_names[0], sizeof(named->tls.peer_names[0]), "core.a.example");
	*domain = (struct peer_config){ .identity_legacy = true, .transport = PC_TP_TLS,
					.address = "192.0.2.2", .sip_domain = "b.example" };
	*plain = (struct peer_config){ .identity_legacy = true, .transport = PC_TP_UDP,
				       .address = "192.0.2.3" };
	*modern = (struct peer_config){ .transport = PC_TP_TLS, .address = "192.0.2.4",
					.sip_domain = "c.example" };
	struct pc_peer p = source(PC_TP_TLS, "198.51.100.9", "sip:core.a.example");
	assert_ptr_equal(stir_legacy_peer_from(&pcfg, &p), named);
	p = source(PC_TP_TLS, "192.0.2.1", "sip:a.example"); /* not one of its peer_names */
	assert_null(stir_legacy_peer_from(&pcfg, &p));
	p = source(PC_TP_TLS, "192.0.2.1", ""); /* its address, no verified name */
	assert_null(stir_legacy_peer_from(&pcfg, &p));
	p = source(PC_TP_TLS, "198.51.100.9", "b.example");
	assert_ptr_equal(stir_legacy_peer_from(&pcfg, &p), domain);
	p = source(PC_TP_TLS, "198.51.100.9", "sip:alice@b.example"); /* a user, not the domain */
	assert_null(stir_legacy_peer_from(&pcfg, &p));
	p = source(PC_TP_UDP, "192.0.2.3", "");
	assert_ptr_equal(stir_legacy_peer_from(&pcfg, &p), plain);
	p = source(PC_TP_TCP, "192.0.2.3", ""); /* another transport */
	assert_null(stir_legacy_peer_from(&pcfg, &p));
	p = source(PC_TP_UDP, "192.0.2.33", "");
	assert_null(stir_legacy_peer_from(&pcfg, &p));
	p = source(PC_TP_TLS, "192.0.2.4", "sip:c.example"); /* not configured for it */
	assert_null(stir_legacy_peer_from(&pcfg, &p));

	assert_true(stir_legacy_form("\"c2lnbmF0dXJl\""));
	assert_true(stir_legacy_form(" \t\"x\""));
	assert_false(stir_legacy_form("eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://x/>"));
	assert_false(stir_legacy_form(""));
}

/* The observers' view (call_view.c, /calls): state names, times on the
 * call layer's clock, the legs, and the caller only as privacy allows. */
struct seen {
	unsigned n;
	struct b2bua_call_view v;
	char from[300], to[300];
};

static bool see_call(void *arg, const struct b2bua_call_view *v)
{
	struct seen *s = arg;
	s->n++;
	s->v = *v;
	snprintf(s->from, sizeof(s->from), "%s", v->from ? v->from : "(hidden)");
	snprintf(s->to, sizeof(s->to), "%s", v->to);
	return true;
}

static void invite_from(struct call *c, const char *from, const char *privacy)
{
	char text[1200];
	int n = snprintf(text, sizeof(text),
			 "INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKview\r\n"
			 "From: %s;tag=atag\r\nTo: <sip:bob@127.0.0.1:5060>\r\n"
			 "Call-ID: view@127.0.0.1\r\nCSeq: 1 INVITE\r\n%s"
			 "Content-Length: 0\r\n\r\n", from, privacy);
	msg_t *m = sipmsg_parse(text, (size_t)n);
	assert_non_null(m);
	call_view_keep_from(c, sip_object(m));
	msg_destroy(m);
}

static void observers_view(void **state)
{
	(void)state;
	struct a_dialog d;
	new_dialog(&d, "view-1@127.0.0.1");
	uint64_t t0 = now_ms;
	a_request(&d, "INVITE", 1, sdp_a);
	struct call *c = the_call();
	struct seen s = { 0 };
	b2bua_foreach_call(gw, see_call, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v.state, "setup");
	assert_int_equal(s.v.started_ms, t0);
	assert_int_equal(s.v.answered_ms, 0);
	msg_destroy(take(TO_A, "SIP/2.0 100"));
	msg_t *inv = take(TO_B, "INVITE ");
	b_answers(inv, 180, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 180"));
	b2bua_foreach_call(gw, see_call, &s);
	assert_string_equal(s.v.state, "early");
	advance(1500);
	b_answers(inv, 200, sdp_b);
	msg_destroy(inv);
	msg_destroy(take(TO_B, "ACK "));
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	a_ack(&d, 1, NULL);
	memset(&s, 0, sizeof(s));
	b2bua_foreach_call(gw, see_call, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v.state, "answered");
	assert_int_equal(s.v.answered_ms, t0 + 1500);
	assert_int_equal(s.v.id, c->id);
	assert_string_equal(s.from, "sip:alice@127.0.0.1:5070");
	assert_string_equal(s.to, "sip:bob@127.0.0.1:5060");
	assert_int_equal(s.v.auth_failures, 0);
	assert_string_equal(s.v.legs[0].side, "caller");
	assert_string_equal(s.v.legs[0].leg, "inside");
	assert_string_equal(s.v.legs[1].side, "callee");
	assert_string_equal(s.v.legs[1].leg, "outside");
	assert_int_equal(s.v.legs[0].peer->transport, PC_TP_UDP);
	assert_null(s.v.legs[0].srtp_suite); /* plain RTP both ways */
	assert_int_equal(s.v.n_streams, 1);
	assert_non_null(s.v.streams[0]);
	assert_int_equal(b2bua_calls_started(gw, 0, false), 1);
	assert_int_equal(b2bua_calls_started(gw, 1, true), 1);
	assert_int_equal(b2bua_calls_started(gw, 1, false), 0);
	assert_int_equal(b2bua_calls_started(gw, CFG_MAX_LEGS, false), 0);

	/* Privacy: header, user and id hide the From, and so does an unreadable
	 * Privacy; none shows it, display name and all. */
	const char *hiding[] = { "Privacy: user\r\n", "Privacy: header\r\n", "Privacy: id\r\n",
				 "Privacy: none;user\r\n", "Privacy: ;;\r\n" };
	for (size_t i = 0; i < sizeof(hiding) / sizeof(hiding[0]); i++) {
		invite_from(c, "\"Alice\" <sip:alice@127.0.0.1>", hiding[i]);
		assert_null(c->shown_from);
	}
	invite_from(c, "\"<img src=x>\" <sip:alice@127.0.0.1>", "Privacy: none\r\n");
	assert_string_equal(c->shown_from, "\"<img src=x>\" <sip:alice@127.0.0.1>");
	/* A display name too long is cut, never inside a UTF-8 character. */
	char from[400];
	size_t at = 0;
	from[at++] = '"';
	for (int i = 0; i < 150; i++) {
		from[at++] = '\xc3';
		from[at++] = '\xa9';
	}
	snprintf(from + at, sizeof(from) - at, "\" <sip:alice@127.0.0.1>");
	invite_from(c, from, "");
	assert_non_null(c->shown_from);
	size_t len = strlen(c->shown_from);
	assert_true(len <= 255 && len >= 250);
	assert_int_equal(len % 2, 1); /* the quote and whole two-byte characters */
	/* A URI longer than the buffer is cut text, nothing after it (url_e
	 * left the rest of the buffer as it was), and a password in it is
	 * never shown. */
	char longp[700];
	memset(longp, 'q', 600);
	longp[600] = '\0';
	char from2[800];
	snprintf(from2, sizeof(from2), "<sip:alice:s3cret@127.0.0.1;x=%s>", longp);
	invite_from(c, from2, "");
	assert_non_null(c->shown_from);
	assert_true(strlen(c->shown_from) <= 255);
	assert_null(strstr(c->shown_from, "s3cret"));
	assert_true(strncmp(c->shown_from, "sip:alice@127.0.0.1;x=qqq", 25) == 0);
	for (const char *p = c->shown_from + 23; *p; p++)
		assert_int_equal(*p, 'q');
	char uri[64];
	url_t *u = url_hdup(NULL, (url_t *)URL_STRING_MAKE("sip:bob:pw@example.com;transport=tls")->us_url);
	call_uri_text(uri, sizeof(uri), u);
	assert_string_equal(uri, "sip:bob@example.com;transport=tls");
	call_uri_text(uri, 8, u);
	assert_string_equal(uri, "sip:bob");
	su_free(NULL, u);
	a_hangs_up(&d, 2, c);
	settle();
	memset(&s, 0, sizeof(s));
	b2bua_foreach_call(gw, see_call, &s);
	assert_int_equal(s.n, 0); /* closed calls are not shown */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(basic_call, setup, teardown),
		cmocka_unit_test_setup_teardown(observers_view, setup, teardown),
		cmocka_unit_test_setup_teardown(late_offer, setup, teardown),
		cmocka_unit_test_setup_teardown(b_200_retransmitted, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_call_freed_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(invite_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(b_answers_that_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(serial_forking, setup_registrar, teardown),
		cmocka_unit_test_setup_teardown(phase_no_route, setup, teardown),
		cmocka_unit_test_setup_teardown(phase_call_id_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(phase_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(phase_next_hop_backed_off, setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_crossing_200, setup, teardown),
		cmocka_unit_test_setup_teardown(bye_crossing_200, setup, teardown),
		cmocka_unit_test_setup_teardown(glare, setup, teardown),
		cmocka_unit_test_setup_teardown(in_dialog_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(reinvite_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(reinvite_timeout_after_bye, setup, teardown),
		cmocka_unit_test_setup_teardown(media_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(connection_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(ok_retransmitted_until_no_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(ok_not_retransmitted_over_tcp, setup, teardown),
		cmocka_unit_test(illegal_state_move_is_caught),
		cmocka_unit_test(legacy_peer_recognised),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
