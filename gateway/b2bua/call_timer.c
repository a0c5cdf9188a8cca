/* The one timer of a call, started with the first 2xx we send, and the three
 * watches it keeps: the 2xx is resent over UDP until its ACK (RFC 6026 gives
 * that to the transaction user), a leg whose connection was lost gets
 * connection_grace to come back, and an answered call whose media stopped
 * for media_timeout is ended. Each watch is a function of its own; the
 * timer only asks them in turn and re-arms at the earliest next check. */
#include "call.h"

#include "core/clock.h"
#include "core/log.h"

#define MEDIA_CHECK_MS 1000

static void call_timer_fire(void *arg);

/* A leg whose connection did not return in time: the call ends (no BYE can
 * reach the lost leg, so only the other one gets one). True when ended. */
static bool watch_lost_connections(struct call *c)
{
	const struct gateway_config *cfg = c->b2bua->cfg;
	for (int side = LEG_A; side <= LEG_B; side++) {
		struct leg *l = &c->legs[side];
		if (l->conn_lost_ms &&
		    pc_clock_ms() - l->conn_lost_ms >= cfg->limits.connection_grace_s * 1000ull) {
			log_info("call %u: connection of leg %s did not return, ending the call", c->id,
				 l->cfg->name);
			call_end(c, 1u << (1 - side), "connection lost");
			return true;
		}
	}
	return false;
}

/* Resend our 2xx over UDP (T1 doubling up to T2) until 64*T1; then the call
 * ends. True when ended; *next is when to look again. */
static bool watch_2xx(struct call *c, unsigned *next)
{
	const struct gateway_config *cfg = c->b2bua->cfg;
	c->ok.elapsed_ms += c->ok.interval_ms;
	if (c->ok.elapsed_ms >= 64 * cfg->timers.t1_ms) {
		log_info("call %u: no ACK for our 2xx", c->id);
		msg_destroy(c->ok.msg);
		c->ok.msg = NULL;
		c->ok.st = NULL;
		call_end(c, BOTH_LEGS, "no ACK");
		return true;
	}
	if (c->ok.st)
		txn_respond(c->ok.st, msg_dup(c->ok.msg));
	c->ok.interval_ms = c->ok.interval_ms * 2 < cfg->timers.t2_ms ? c->ok.interval_ms * 2
								      : cfg->timers.t2_ms;
	*next = c->ok.interval_ms;
	return false;
}

/* No packet on any stream, either side, for media_timeout: the call ends.
 * True when ended. */
static bool watch_media(struct call *c)
{
	const struct gateway_config *cfg = c->b2bua->cfg;
	uint64_t now = pc_clock_ms();
	uint64_t last = 0;
	bool any = false;
	for (unsigned i = 0; i < PC_SDP_MAX_STREAMS; i++) {
		if (!c->streams[i])
			continue;
		any = true;
		for (int s = 0; s < 2; s++) {
			struct media_side_stats st;
			media_stream_stats(c->streams[i], (enum media_side)s, &st);
			if (st.last_packet_ms > last)
				last = st.last_packet_ms;
		}
	}
	if (!c->media_since)
		c->media_since = now;
	if (any && now - (last > c->media_since ? last : c->media_since) >=
			   (uint64_t)cfg->limits.media_timeout_s * 1000) {
		log_info("call %u: no media for %us, ending the call", c->id,
			 cfg->limits.media_timeout_s);
		call_end(c, BOTH_LEGS, "media timeout");
		return true;
	}
	return false;
}

static bool arm(struct call *c, unsigned ms)
{
	struct b2bua *b = c->b2bua;
	c->timer = b->net.timer_start(b->net.ctx, ms, call_timer_fire, c);
	return c->timer != NULL;
}

static void call_timer_fire(void *arg)
{
	struct call *c = arg;
	unsigned next = MEDIA_CHECK_MS;

	call_timer_stop(c); /* one-shot: released, re-armed below */
	if (watch_lost_connections(c))
		return;
	if (c->ok.msg && c->legs[c->ok.side].peer.transport == PC_TP_UDP) {
		if (watch_2xx(c, &next))
			return;
	} else if (c->state == CALL_CONFIRMED && c->b2bua->cfg->limits.media_timeout_s) {
		if (watch_media(c))
			return;
	}
	if (c->state != CALL_CLOSED && !arm(c, next))
		log_warnx("call %u: no timer: its watches stop", c->id);
}

bool call_timer_start(struct call *c)
{
	c->ok.interval_ms = c->b2bua->cfg->timers.t1_ms;
	return arm(c, c->ok.interval_ms);
}

void call_timer_stop(struct call *c)
{
	if (c->timer) {
		c->b2bua->net.timer_stop(c->b2bua->net.ctx, c->timer);
		c->timer = NULL;
	}
}
