/* A call another node ran, raised here when this node takes over its
 * calls (cluster mode, issue 12): the call is made directly in its
 * confirmed state from the shared state (core/call_state.h), with both
 * legs' dialogs (Call-ID, tags, URIs, CSeq, route set, peer and its TLS
 * identity) and the relay on the same ports with the same peers and keys
 * (plan_adopt), and indexed so that the next in-dialog request from either
 * side finds it; dialog.c then serves it as any other call (a BYE is
 * answered and sent to the other leg). Nothing is sent to the peers: no
 * re-INVITE, they keep sending where they sent, to the address that moved
 * here. Transactions in flight on the failed node are not taken over. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "call_share.h"
#include "core/clock.h"
#include "core/log.h"

static int adopt_leg(struct call *c, int side, const struct pc_cs_leg *sl)
{
	struct leg *l = &c->legs[side];
	l->peer.transport = sl->transport;
	l->peer.addr = sl->peer;
	l->peer.addrlen = sl->peer.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							 : sizeof(struct sockaddr_in);
	l->peer.conn_id = 0; /* a TCP/TLS peer's connection was the failed node's */
	l->peer.listener = -1;
	snprintf(l->peer.identity, sizeof(l->peer.identity), "%s", sl->identity);
	size_t idn = strlen(sl->call_id), tagn = strlen(sl->local_tag), rtn = strlen(sl->remote_tag);
	if (idn >= sizeof(l->call_id) || tagn >= sizeof(l->local_tag) || rtn >= sizeof(l->remote_tag))
		return -1; /* longer than this node's own legs hold */
	memcpy(l->call_id, sl->call_id, idn + 1);
	memcpy(l->local_tag, sl->local_tag, tagn + 1);
	memcpy(l->remote_tag, sl->remote_tag, rtn + 1);
	if (leg_set_url_text(&l->local_url, sl->local_uri) < 0 ||
	    leg_set_url_text(&l->remote_url, sl->remote_uri) < 0 ||
	    (sl->remote_target[0] && leg_set_url_text(&l->remote_target, sl->remote_target) < 0))
		return -1;
	l->local_cseq = sl->local_cseq;
	l->sdp_id = sl->sdp_id; /* a re-offer from here goes on with the same o= count */
	l->sdp_version = sl->sdp_version;
	l->secure = sl->secure;
	if (l->conn_lost_ms == 0 && pc_transport_reliable(l->peer.transport))
		l->conn_lost_ms = pc_clock_ms(); /* its grace runs: the peer must come back */
	return 0;
}

int b2bua_adopt_call(void *ctx, const struct pc_call_state *s)
{
	struct b2bua *b = ctx;
	const struct leg_config *acfg = config_leg(b->cfg, s->legs[0].cfg_leg),
				*bcfg = config_leg(b->cfg, s->legs[1].cfg_leg);
	int side;
	if (acfg == NULL || bcfg == NULL) {
		log_warnx("cluster: call %s not taken over: leg \"%s\" or \"%s\" is not configured here",
			  s->id, s->legs[0].cfg_leg, s->legs[1].cfg_leg);
		return -1;
	}
	if (call_index_find(b, s->legs[0].call_id, s->legs[0].local_tag, &side) != NULL) {
		log_warnx("cluster: call %s is running here already", s->id);
		return -1;
	}
	struct call *c = call_new(b, NULL, acfg, bcfg, &(struct guard_call){ 0 });
	if (c == NULL)
		return -1;
	c->rec.answer_ms = c->rec.start_ms;
	if (adopt_leg(c, LEG_A, &s->legs[0]) < 0 || adopt_leg(c, LEG_B, &s->legs[1]) < 0 ||
	    (s->legs[1].route[0] && (c->b_path = strdup(s->legs[1].route)) == NULL)) {
		log_warnx("cluster: call %s not taken over: a dialog field does not read", s->id);
		call_close(c, "takeover refused");
		return -1;
	}
	call_index_add(b, &c->legs[LEG_A]);
	call_index_add(b, &c->legs[LEG_B]);
	if (plan_adopt(c, s) < 0) {
		log_warnx("cluster: call %s not taken over: its relay ports or keys", s->id);
		call_close(c, "takeover refused");
		return -1;
	}
	call_set_state(c, CALL_CONFIRMED); /* written under this node's name */
	call_leave_setup(c);
	call_timer_start(c); /* the media watchdog and a lost connection's grace */
	c->media_since = pc_clock_ms();
	log_info("call %u taken over (record %s; leg A %s, leg B %s)", c->id, s->id,
		 c->legs[LEG_A].secure ? "SRTP" : "RTP", c->legs[LEG_B].secure ? "SRTP" : "RTP");
	return 0;
}
