/* Cluster mode's hold on established calls in the call layer
 * (b2bua/call_share.c, call_adopt.c), in the fake world of call_harness.h:
 * the state is handed up when the call is answered and again when a
 * re-INVITE is answered, never for the set-up or in-dialog requests that
 * change nothing, and its end removes the same record; a state raised again
 * (as another node would, after this one "died") is a confirmed call on the
 * same relay ports whose BYE from A is answered and goes on to B in B's
 * dialog, ending the call; a state naming a leg not configured here, or
 * raised twice, is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "call_harness.h"
#include "core/call_state.h"

static unsigned writes, removals;
static struct pc_call_state last;
static char gone[PC_CS_ID_MAX];

static void on_share(void *ctx, const struct pc_call_state *s, const char *gone_id)
{
	(void)ctx;
	if (s) {
		writes++;
		last = *s;
	} else {
		removals++;
		snprintf(gone, sizeof(gone), "%s", gone_id);
	}
}

/* A's call in dialog d (Call-ID call_id), established with sharing on:
 * our INVITE to B. */
static msg_t *shared_call(struct a_dialog *d, const char *call_id)
{
	writes = removals = 0;
	b2bua_set_share(gw, on_share, NULL);
	new_dialog(d, call_id);
	return establish(d);
}

static void written_on_changes(void **state)
{
	(void)state;
	struct a_dialog d;
	msg_t *inv = shared_call(&d, "share-1@127.0.0.1");
	struct call *c = the_call();
	assert_int_equal(writes, 1); /* answered: not before (no 180, no INVITE) */
	assert_int_equal(removals, 0);
	assert_string_equal(last.legs[0].call_id, "share-1@127.0.0.1");
	assert_string_equal(last.legs[0].local_tag, d.gw_tag);
	assert_string_equal(last.legs[1].remote_tag, "btag");
	assert_string_equal(last.legs[0].cfg_leg, "inside");
	assert_int_equal(last.n_streams, 1);
	assert_int_equal(last.streams[0].side[0].relay_port, media_stream_port(c->streams[0], MEDIA_SIDE_A));
	assert_int_equal(last.streams[0].side[1].relay_port, media_stream_port(c->streams[0], MEDIA_SIDE_B));
	assert_int_not_equal(last.streams[0].side[0].media.ss_family, 0);
	char id[PC_CS_ID_MAX];
	snprintf(id, sizeof(id), "%s", last.id);

	/* an OPTIONS changes nothing; a re-INVITE's answer writes again */
	a_request(&d, "OPTIONS", 2, NULL);
	msg_t *opt = take(TO_B, "OPTIONS ");
	b_answers(opt, 200, NULL);
	msg_destroy(opt);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	assert_int_equal(writes, 1);
	a_request(&d, "INVITE", 3, sdp_a);
	msg_t *re = take(TO_B, "INVITE ");
	b_answers(re, 200, sdp_b);
	msg_destroy(re);
	msg_destroy(take(TO_B, "ACK "));
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	a_ack(&d, 3, NULL);
	assert_int_equal(writes, 2);
	assert_string_equal(last.id, id); /* the same record, written again */

	a_hangs_up(&d, 4, c);
	assert_int_equal(removals, 1);
	assert_string_equal(gone, id);
	msg_destroy(inv);
	settle();
	b2bua_set_share(gw, NULL, NULL);
}

static void raised_again(void **state)
{
	(void)state;
	struct a_dialog d;
	msg_t *inv = shared_call(&d, "share-2@127.0.0.1");
	struct call *c = the_call();
	static struct pc_call_state s;
	s = last;
	unsigned port_a = media_stream_port(c->streams[0], MEDIA_SIDE_A);
	/* This node "dies": the call goes (its BYEs are not what matters). */
	a_hangs_up(&d, 2, c);
	msg_destroy(inv);
	settle();
	advance(60000); /* the ports leave their quarantine */

	static struct pc_call_state bad;
	bad = s;
	snprintf(bad.legs[1].cfg_leg, sizeof(bad.legs[1].cfg_leg), "nowhere");
	assert_int_equal(b2bua_adopt_call(gw, &bad), -1);
	assert_int_equal(b2bua_call_count(gw), 0);

	assert_int_equal(b2bua_adopt_call(gw, &s), 0);
	assert_int_equal(b2bua_adopt_call(gw, &s), -1); /* not twice */
	assert_int_equal(b2bua_call_count(gw), 1);
	c = the_call();
	assert_int_equal(c->state, CALL_CONFIRMED);
	assert_int_equal(media_stream_port(c->streams[0], MEDIA_SIDE_A), port_a);
	assert_int_equal(writes, 2); /* written again under this node */
	assert_string_not_equal(last.id, s.id);
	for (int i = 0; i < 2; i++) { /* the o= lines carry on */
		assert_true(s.legs[i].sdp_version > 0);
		assert_int_equal(last.legs[i].sdp_id, s.legs[i].sdp_id);
		assert_int_equal(last.legs[i].sdp_version, s.legs[i].sdp_version);
	}

	/* A re-offer after the takeover: B's o= line is the session it knew,
	 * one version on (RFC 3264 §8), not a new session. */
	a_request(&d, "INVITE", 3, sdp_a);
	msg_t *re = take(TO_B, "INVITE ");
	char want[96];
	snprintf(want, sizeof(want), " %llu %llu IN IP", (unsigned long long)s.legs[1].sdp_id,
		 (unsigned long long)s.legs[1].sdp_version + 1);
	const sip_payload_t *pl = sip_object(re)->sip_payload;
	assert_non_null(pl);
	assert_non_null(memmem(pl->pl_data, pl->pl_len, want, strlen(want)));
	b_answers(re, 200, sdp_b);
	msg_destroy(re);
	msg_destroy(take(TO_B, "ACK "));
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	a_ack(&d, 3, NULL);

	/* A's BYE in its old dialog: answered, and B gets ours in B's. */
	a_request(&d, "BYE", 4, NULL);
	msg_destroy(a_gets(&d, "SIP/2.0 200"));
	msg_t *bye = take(TO_B, "BYE ");
	assert_string_equal(sip_object(bye)->sip_call_id->i_id, s.legs[1].call_id);
	assert_string_equal(sip_object(bye)->sip_to->a_tag, "btag");
	assert_int_equal(sip_object(bye)->sip_cseq->cs_seq, s.legs[1].local_cseq + 2);
	b_answers(bye, 200, NULL);
	msg_destroy(bye);
	assert_int_equal(c->state, CALL_CLOSED);
	assert_int_equal(removals, 2);
	settle();
	b2bua_set_share(gw, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(written_on_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(raised_again, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
