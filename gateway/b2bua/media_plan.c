/* The media side of a call: from an offer on one leg (the caller's INVITE, or
 * either side's re-INVITE/UPDATE), decide that leg's security, allocate relay
 * ports once and fresh keys every time, and write the offer for the other
 * leg; from the other leg's answer, check it against what we offered (a leg
 * that requires SRTP refuses a plain answer: no downgrade), key the relay and
 * write the answer for the offerer.
 * Keys never cross legs: A's keys stay on side A of the relay, B's on side B,
 * and every key we send is new from GnuTLS's generator. */
#include "call.h"
#include "call_share.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"


static int leg_range(const struct call *c, const struct leg *l)
{
	const struct gateway_config *cfg = c->b2bua->cfg;
	for (unsigned i = 0; i < cfg->n_legs; i++)
		if (&cfg->legs[i] == l->cfg)
			return c->b2bua->range[i];
	return -1;
}

/* Every change to a relay stream travels as a command (media/pool.h):
 * applied at once with one media worker, carried to the stream's worker
 * otherwise, so the worker is the only thread that touches the stream. */
static void stream_answered(struct call *c, unsigned i)
{
	struct media_stream_cmd m = { .op = MEDIA_OP_ANSWERED, .s = c->streams[i] };
	(void)media_pool_stream_cmd(c->b2bua->pool, &m);
}

static void stream_await_keys(struct call *c, unsigned i, int side)
{
	struct media_stream_cmd m = { .op = MEDIA_OP_AWAIT_KEYS, .s = c->streams[i],
				      .side = (enum media_side)side };
	(void)media_pool_stream_cmd(c->b2bua->pool, &m);
}

/* Tells the relay who a leg's media peer is: the leg's source rule and
 * where its SIP comes from (the rule is moot on a secure side, whose
 * packets must authenticate instead). */
static void set_source(struct call *c, unsigned i, const struct leg *l)
{
	enum media_source rule = MEDIA_SOURCE_STRICT;
	switch (l->cfg->media_source) {
	case MEDIA_SOURCE_RULE_SIGNALLING_IP: rule = MEDIA_SOURCE_SIGNALLING_IP; break;
	case MEDIA_SOURCE_RULE_SDP: rule = MEDIA_SOURCE_SDP; break;
	case MEDIA_SOURCE_RULE_STRICT: break;
	}
	struct media_stream_cmd m = { .op = MEDIA_OP_SET_SOURCE, .s = c->streams[i],
				      .side = (enum media_side)l->side };
	m.u.source.rule = rule;
	m.u.source.have_sig = l->peer.addr.ss_family != 0;
	m.u.source.sig = l->peer.addr;
	(void)media_pool_stream_cmd(c->b2bua->pool, &m);
}

static bool proto_is_rtp(enum pc_sdp_proto p) { return p != PC_SDP_PROTO_OTHER; }

static enum pc_sdp_proto proto_for(enum pc_sdp_proto in, bool secure)
{
	bool feedback = in == PC_SDP_PROTO_RTP_AVPF || in == PC_SDP_PROTO_RTP_SAVPF;
	if (secure)
		return feedback ? PC_SDP_PROTO_RTP_SAVPF : PC_SDP_PROTO_RTP_SAVP;
	return feedback ? PC_SDP_PROTO_RTP_AVPF : PC_SDP_PROTO_RTP_AVP;
}

static int to_sockaddr(const struct pc_sdp_stream *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s->address, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)s->port);
		return 0;
	}
	if (inet_pton(AF_INET6, s->address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)s->port);
		return 0;
	}
	return -1; /* a host name: not resolved on the media path */
}

enum target { TARGET_OK, TARGET_NONE, TARGET_REFUSED };

static bool v4_is(const struct sockaddr_storage *ss, uint32_t net, unsigned bits)
{
	uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
	return ss->ss_family == AF_INET && (a >> (32 - bits)) == (net >> (32 - bits));
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return a->s6_addr[12] == 127;
		return IN6_IS_ADDR_LOOPBACK(a);
	}
	return v4_is(ss, 0x7f000000u, 8);
}

/* A relay port of the gateway's own (any leg's bind or advertised address,
 * inside its port range): media sent there would loop through the relay. */
static bool is_own_relay(const struct gateway_config *cfg, const struct sockaddr_storage *ss)
{
	unsigned port = ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
							: ((const struct sockaddr_in *)ss)->sin_port);
	const void *addr = ss->ss_family == AF_INET6
				   ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
				   : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
	size_t alen = ss->ss_family == AF_INET6 ? 16 : 4;
	for (unsigned i = 0; i < cfg->n_legs; i++) {
		const struct leg_config *l = &cfg->legs[i];
		if (port < l->rtp_port_min || port > l->rtp_port_max)
			continue;
		const char *names[2] = { l->rtp_address, l->advertise };
		for (int k = 0; k < 2; k++) {
			uint8_t mine[16];
			if (inet_pton(ss->ss_family, names[k], mine) == 1 && memcmp(mine, addr, alen) == 0)
				return true;
		}
	}
	return false;
}

/* Where a peer's SDP may ask us to send media (c= and the m= port). Not
 * anywhere: a peer could otherwise aim the relay at the gateway's own
 * services or relay ports, at a multicast group, or at the loopback of a
 * host it does not share. Loopback is fine when the peer itself talks to
 * us over loopback (the reference scenario); an unspecified address (the
 * old c=0.0.0.0 hold) means no destination at all. */
static enum target media_target(const struct call *c, const struct leg *l,
				const struct sockaddr_storage *ss, char *why, size_t whylen)
{
	bool v6 = ss->ss_family == AF_INET6;
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (v6 ? IN6_IS_ADDR_UNSPECIFIED(a6) : v4_is(ss, 0, 8))
		return TARGET_NONE;
	if (v6 ? IN6_IS_ADDR_MULTICAST(a6) : v4_is(ss, 0xe0000000u, 4) || v4_is(ss, 0xffffffffu, 32)) {
		snprintf(why, whylen, "SDP: c= is a multicast or broadcast address");
		return TARGET_REFUSED;
	}
	if (is_loopback(ss) && !is_loopback(&l->peer.addr)) {
		snprintf(why, whylen, "SDP: c= is a loopback address");
		return TARGET_REFUSED;
	}
	if (is_own_relay(c->b2bua->cfg, ss)) {
		snprintf(why, whylen, "SDP: c= and port name one of the gateway's relay ports");
		return TARGET_REFUSED;
	}
	return TARGET_OK;
}

/* The peer's media address from stream `s` of leg l's SDP onto the relay;
 * 0, or 488 with `why` when the address is refused. A host name is not
 * resolved on the media path: like 0.0.0.0, no destination. */
static int apply_remote(struct call *c, unsigned i, const struct leg *l,
			const struct pc_sdp_stream *s, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	enum target t = to_sockaddr(s, &ss) == 0 ? media_target(c, l, &ss, why, whylen) : TARGET_NONE;
	if (t == TARGET_REFUSED)
		return 488;
	struct media_stream_cmd m = { .op = MEDIA_OP_SET_REMOTE, .s = c->streams[i],
				      .side = (enum media_side)l->side };
	if (t == TARGET_OK)
		m.u.remote.rtp_addr = ss; /* else family 0: no destination */
	m.u.remote.rtcp_port = s->rtcp_port;
	call_share_remote(c, i, l->side, t == TARGET_OK ? &ss : NULL, s->rtcp_port);
	(void)media_pool_stream_cmd(c->b2bua->pool, &m);
	return 0;
}

static void wipe_plan(struct pc_sdp_plan *plan)
{
	for (unsigned i = 0; i < PC_SDP_MAX_STREAMS; i++)
		for (unsigned j = 0; j < PC_SDP_MAX_CRYPTO; j++)
			pc_srtp_params_wipe(&plan->streams[i].crypto[j].params);
}

static void plan_header(struct pc_sdp_plan *plan, struct leg *l, unsigned n)
{
	memset(plan, 0, sizeof(*plan));
	/* Addresses are numeric (checked at configuration), so they fit. */
	snprintf(plan->address, sizeof(plan->address), "%.*s", (int)sizeof(plan->address) - 1,
		 l->cfg->advertise);
	plan->session_id = l->sdp_id;
	plan->version = ++l->sdp_version;
	plan->n_streams = n;
}

/* A leg's per-m-line key slots, made when it first offers or is offered
 * SRTP. The number of m-lines is fixed by the call's first offer. */
static int need_keys(struct call *c, struct leg *l)
{
	if (l->keys || c->n_streams == 0)
		return 0;
	l->keys = calloc(c->n_streams, sizeof(*l->keys));
	return l->keys ? 0 : -1;
}

static void free_keys(struct call *c, struct leg *l)
{
	if (l->keys == NULL)
		return;
	explicit_bzero(l->keys, c->n_streams * sizeof(*l->keys));
	free(l->keys);
	l->keys = NULL;
}

static bool stream_keyed(const struct leg *a, const struct pc_sdp_stream *s)
{
	return pc_sdp_proto_is_secure(s->proto) ||
	       (a->cfg->media == MEDIA_MODE_BEST_EFFORT && s->n_crypto > 0);
}

/* The older way of offering SRTP "best effort", before RFC 8643: the same
 * media twice in adjacent m-lines, once RTP/SAVP with a=crypto and once
 * RTP/AVP, for the answerer to accept one and reject the other (port 0).
 * The offering leg's policy picks: the keyed one unless the leg is plain
 * RTP. The other is disabled here, so it goes to the far leg with port 0
 * and its answer to the offerer is port 0 too: the m-line count, which the
 * answer must keep, never changes. */
static void pick_alternatives(const struct leg *a, struct pc_sdp_desc *offer)
{
	for (unsigned i = 0; i + 1 < offer->n_streams; i++) {
		struct pc_sdp_stream *s = &offer->streams[i], *t = &offer->streams[i + 1];
		if (s->port == 0 || t->port == 0 || !proto_is_rtp(s->proto) ||
		    !proto_is_rtp(t->proto) || strcmp(s->media, t->media) != 0 ||
		    stream_keyed(a, s) == stream_keyed(a, t))
			continue;
		struct pc_sdp_stream *keyed = stream_keyed(a, s) ? s : t;
		struct pc_sdp_stream *plain = keyed == s ? t : s;
		/* A best-effort leg falls back to the plain one when none of the
		 * keys is of a suite it allows; an SRTP leg keeps the keyed one
		 * and offer_security refuses it. */
		struct pc_sdp_crypto pick;
		bool usable = pc_sdp_pick_crypto(keyed, a->cfg->suites, a->cfg->n_suites, &pick) == 0;
		pc_srtp_params_wipe(&pick.params);
		bool keep_keyed = a->cfg->media == MEDIA_MODE_SRTP ||
				  (a->cfg->media == MEDIA_MODE_BEST_EFFORT && usable);
		(keep_keyed ? plain : keyed)->port = 0;
		i++; /* a pair: the next m-line is spoken for */
	}
}

/* Is an offer acceptable on the offering leg, and is that leg secure? */
static int offer_security(struct leg *a, const struct pc_sdp_desc *offer, char *why, size_t whylen)
{
	bool any_secure = false, any_plain = false;
	for (unsigned i = 0; i < offer->n_streams; i++) {
		const struct pc_sdp_stream *s = &offer->streams[i];
		if (s->port == 0 || !proto_is_rtp(s->proto))
			continue;
		struct pc_sdp_crypto pick;
		/* RFC 8643: on a best-effort leg, keys on RTP/AVP are taken too. */
		bool usable = stream_keyed(a, s) &&
			      pc_sdp_pick_crypto(s, a->cfg->suites, a->cfg->n_suites, &pick) == 0;
		pc_srtp_params_wipe(&pick.params);
		if (pc_sdp_proto_is_secure(s->proto) && !usable) {
			snprintf(why, whylen, "no acceptable a=crypto in the %s stream", s->media);
			return 488;
		}
		if (usable)
			any_secure = true;
		else
			any_plain = true;
	}
	if (any_secure && a->cfg->media == MEDIA_MODE_RTP) {
		snprintf(why, whylen, "leg %s is configured for plain RTP", a->cfg->name);
		return 488;
	}
	if (any_plain && a->cfg->media == MEDIA_MODE_SRTP) {
		snprintf(why, whylen, "leg %s requires SRTP (RTP/SAVP with a=crypto)", a->cfg->name);
		return 488;
	}
	if (any_secure && any_plain) {
		snprintf(why, whylen, "mixed secure and plain streams are not supported");
		return 488;
	}
	a->secure = any_secure;
	return 0;
}

/* A peer's key for stream i that this leg used before and retired: its
 * replay state is gone, and under a fresh one every packet recorded under
 * that key could be replayed. */
static bool key_reused(struct call *c, unsigned i, int side, const struct pc_srtp_params *p,
		       char *why, size_t whylen)
{
	if (!c->streams[i] || !media_stream_key_retired(c->streams[i], (enum media_side)side, p))
		return false;
	snprintf(why, whylen, "leg %s offered an SRTP key it had retired", c->legs[side].cfg->name);
	return true;
}

/* Our keys for the offer leg B gets on stream i: one fresh key per suite
 * we offer (at most MAX_OFFERED_SUITES); the answer picks one. */
static int offer_b_keys(struct leg *b, unsigned i, struct pc_sdp_stream_plan *sp, char *why,
			size_t whylen)
{
	unsigned n = b->cfg->n_suites < MAX_OFFERED_SUITES ? b->cfg->n_suites : MAX_OFFERED_SUITES;
	for (unsigned k = 0; k < n; k++) {
		struct pc_sdp_crypto *k_off = &b->keys[i].offered[k];
		k_off->tag = k + 1;
		if (media_keys_fresh(b->cfg->suites[k], &k_off->params) < 0) {
			snprintf(why, whylen, "no key material");
			return 500;
		}
		sp->crypto[k] = *k_off;
	}
	b->keys[i].n_offered = n;
	sp->n_crypto = n;
	return 0;
}

/* The offerer's key on stream i and ours for our answer to it: every offer
 * gets a new key from us in the answer (re-keying). */
static int offer_a_keys(struct call *c, unsigned i, int from, const struct pc_sdp_stream *s,
			char *why, size_t whylen)
{
	struct leg *a = &c->legs[from];
	struct stream_keys *ak = &a->keys[i];
	pc_sdp_pick_crypto(s, a->cfg->suites, a->cfg->n_suites, &ak->recv_key);
	if (key_reused(c, i, from, &ak->recv_key.params, why, whylen))
		return 488;
	ak->send_key.tag = ak->recv_key.tag;
	if (media_keys_fresh(ak->recv_key.params.suite, &ak->send_key.params) < 0) {
		snprintf(why, whylen, "no key material");
		return 500;
	}
	return 0;
}

/* Stream i of an offer from leg `from`: its relay (made on the first
 * offer), the offerer's address and key, and what the other leg is offered
 * (our relay port, our keys). 0 or a SIP status. */
static int offer_stream(struct call *c, unsigned i, int from, const struct pc_sdp_stream *s,
			struct pc_sdp_stream_plan *sp, char *why, size_t whylen)
{
	struct leg *a = &c->legs[from], *b = &c->legs[1 - from];
	int rc;
	c->offer_proto[i] = s->proto;
	/* A profile we do not relay keeps its own text (port 0). A best-effort
	 * leg gets RFC 8643 opportunistic SRTP: RTP/AVP with a=crypto, which a
	 * plain peer still accepts. */
	bool opportunistic = b->cfg->media == MEDIA_MODE_BEST_EFFORT;
	sp->proto = proto_is_rtp(s->proto) ? proto_for(s->proto, b->secure && !opportunistic)
					   : PC_SDP_PROTO_OTHER;
	sp->opportunistic = opportunistic;
	if (s->port == 0 || !proto_is_rtp(s->proto))
		return 0; /* rejected on both legs: port 0 (the relay stays for a re-offer) */
	if (!c->streams[i]) {
		/* Every stream of a call on the worker of its first. */
		c->streams[i] = media_pool_stream_new(c->b2bua->pool, leg_range(c, &c->legs[LEG_A]),
						      leg_range(c, &c->legs[LEG_B]), &c->media_worker);
		media_stream_set_owner(c->streams[i], c); /* told of its SRTP rollovers */
		if (!c->streams[i]) {
			snprintf(why, whylen, "no relay ports left");
			return 503;
		}
		/* Until the answer keys them, secure sides forward nothing:
		 * early SRTP must not cross unauthenticated. */
		if (a->secure)
			stream_await_keys(c, i, from);
		if (b->cfg->media != MEDIA_MODE_RTP)
			stream_await_keys(c, i, 1 - from);
	}
	if ((rc = apply_remote(c, i, a, s, why, whylen)) != 0)
		return rc;
	set_source(c, i, a);
	set_source(c, i, b);
	if (a->secure && (rc = offer_a_keys(c, i, from, s, why, whylen)) != 0)
		return rc;
	sp->port = media_stream_port(c->streams[i], (enum media_side)(1 - from));
	sp->rtcp_port = sp->port + 1;
	return b->secure ? offer_b_keys(b, i, sp, why, whylen) : 0;
}

enum pc_refusal plan_refusal(int status)
{
	switch (status) {
	case 503:
		return REFUSAL_MEDIA_EXHAUSTED;
	case 500:
		return REFUSAL_MEDIA_FAILED;
	default:
		return REFUSAL_MEDIA;
	}
}

int plan_offer(struct call *c, int from, const char *body, size_t len, char **out_body,
	       char *why, size_t whylen)
{
	struct leg *a = &c->legs[from], *b = &c->legs[1 - from];
	struct pc_sdp_desc offer;
	struct pc_sdp_plan plan;
	int rc = 0;

	*out_body = NULL;
	memset(&plan, 0, sizeof(plan));
	if (pc_sdp_read(body, len, &offer, why, whylen) < 0)
		return 488;
	if (c->n_streams && offer.n_streams != c->n_streams) {
		snprintf(why, whylen, "changing the number of media streams is not supported");
		rc = 488;
		goto out;
	}
	pick_alternatives(a, &offer);
	if ((rc = offer_security(a, &offer, why, whylen)) != 0)
		goto out;
	b->secure = b->cfg->media != MEDIA_MODE_RTP; /* offered; the answer decides */
	c->n_streams = offer.n_streams;
	if ((a->secure && need_keys(c, a) < 0) || (b->secure && need_keys(c, b) < 0)) {
		snprintf(why, whylen, "out of memory");
		rc = 503;
		goto out;
	}
	plan_header(&plan, b, offer.n_streams);
	for (unsigned i = 0; !rc && i < offer.n_streams; i++)
		rc = offer_stream(c, i, from, &offer.streams[i], &plan.streams[i], why, whylen);
	if (!rc) {
		*out_body = pc_sdp_write(body, len, &plan, why, whylen);
		rc = *out_body ? 0 : 488;
	}
out:
	wipe_plan(&plan);
	pc_sdp_desc_wipe(&offer);
	return rc;
}

/* The answerer's stream i: which of our offered keys it took, and its own. */
static int b_stream_keys(struct leg *b, unsigned i, const struct pc_sdp_stream *as, char *why,
			 size_t whylen)
{
	bool secure = as->n_crypto > 0 && (pc_sdp_proto_is_secure(as->proto) ||
					   b->cfg->media == MEDIA_MODE_BEST_EFFORT);
	if (!secure) {
		if (b->cfg->media == MEDIA_MODE_SRTP) {
			snprintf(why, whylen, "leg %s requires SRTP but the answer has no a=crypto",
				 b->cfg->name);
			return 488;
		}
		return 0;
	}
	struct stream_keys *bk = b->keys ? &b->keys[i] : NULL;
	if (bk == NULL || bk->n_offered == 0 || as->n_crypto != 1) {
		snprintf(why, whylen, "the answer must carry exactly one a=crypto we offered");
		return 488;
	}
	for (unsigned k = 0; k < bk->n_offered; k++) {
		if (bk->offered[k].tag == as->crypto[0].tag &&
		    bk->offered[k].params.suite == as->crypto[0].params.suite) {
			bk->send_key = bk->offered[k];
			bk->recv_key = as->crypto[0];
			return 1;
		}
	}
	snprintf(why, whylen, "the answer's a=crypto matches no offered tag and suite");
	return 488;
}

/* The first pass over an answer from leg `from`: every stream checked
 * (keys, reused keys, media target) before any is applied, so a refused
 * answer (an early one, or one contact's of a fork) leaves the relay as it
 * was. keyed[i] is 1 for an SRTP stream, 0 for plain; *secure says which
 * (mixed is refused). 0 or a SIP status. */
static int answer_check(struct call *c, int from, const struct pc_sdp_desc *answer,
			int keyed[PC_SDP_MAX_STREAMS], bool *secure, char *why, size_t whylen)
{
	struct leg *b = &c->legs[from];
	bool b_secure = false, b_plain = false;
	for (unsigned i = 0; i < answer->n_streams; i++) {
		const struct pc_sdp_stream *as = &answer->streams[i];
		if (!c->streams[i] || c->offer_proto[i] == PC_SDP_PROTO_OTHER || as->port == 0)
			continue;
		int k = b_stream_keys(b, i, as, why, whylen);
		if (k > 1)
			return k;
		if (k == 1 && key_reused(c, i, from, &b->keys[i].recv_key.params, why, whylen))
			return 488;
		struct sockaddr_storage ss;
		if (to_sockaddr(as, &ss) == 0 && media_target(c, b, &ss, why, whylen) == TARGET_REFUSED)
			return 488;
		keyed[i] = k;
		if (k == 1)
			b_secure = true;
		else
			b_plain = true;
	}
	if (b_secure && b_plain) {
		snprintf(why, whylen, "mixed secure and plain streams are not supported");
		return 488;
	}
	*secure = b_secure;
	return 0;
}

/* The answer's first format is the codec in use; the writer keeps payload
 * types as they are, so it is the same number on both legs. */
static void set_codec(struct call *c, unsigned i, const struct pc_sdp_stream *as)
{
	if (!as->has_format)
		return;
	enum media_codec codec = media_codec_from_name(as->format_name);
	for (int side = MEDIA_SIDE_A; side <= MEDIA_SIDE_B; side++) {
		struct media_stream_cmd m = { .op = MEDIA_OP_SET_CODEC, .s = c->streams[i],
					      .side = (enum media_side)side };
		m.u.codec.payload_type = as->format_pt;
		m.u.codec.clock_rate = as->format_rate;
		m.u.codec.codec = codec;
		(void)media_pool_stream_cmd(c->b2bua->pool, &m);
	}
}

/* Keys of one side of stream i (NULL: plain), applied where the stream
 * lives; the command holding them is wiped by the pool. 0 or -1. */
static int stream_set_crypto(struct call *c, unsigned i, int side, const struct pc_srtp_params *recv,
			     const struct pc_srtp_params *send)
{
	struct media_stream_cmd m = { .op = MEDIA_OP_SET_CRYPTO, .s = c->streams[i],
				      .side = (enum media_side)side };
	m.u.crypto.have_recv = recv != NULL;
	m.u.crypto.have_send = send != NULL;
	if (recv)
		m.u.crypto.recv = *recv;
	if (send)
		m.u.crypto.send = *send;
	return media_pool_stream_cmd(c->b2bua->pool, &m);
}

/* The second pass, stream i: the answerer's address and keys applied to the
 * relay, and the offerer's answer (our port, our key). 0 or a SIP status. */
static int answer_stream(struct call *c, unsigned i, int from, const struct pc_sdp_stream *as,
			 int keyed, struct pc_sdp_stream_plan *sp, char *why, size_t whylen)
{
	struct leg *a = &c->legs[1 - from], *b = &c->legs[from];
	int rc;
	/* The answer keeps the offer's profile; keys on RTP/AVP only when the
	 * offerer used RFC 8643 opportunistic SRTP. */
	bool offered_secure = pc_sdp_proto_is_secure(c->offer_proto[i]);
	sp->proto = proto_is_rtp(c->offer_proto[i]) ? proto_for(c->offer_proto[i], offered_secure)
						     : PC_SDP_PROTO_OTHER;
	sp->opportunistic = a->secure && !offered_secure;
	if (!c->streams[i] || c->offer_proto[i] == PC_SDP_PROTO_OTHER)
		return 0;
	if (as->port == 0) { /* the answerer rejected the stream */
		media_pool_stream_free(c->b2bua->pool, c->streams[i]);
		c->streams[i] = NULL;
		return 0;
	}
	if ((rc = apply_remote(c, i, b, as, why, whylen)) != 0)
		return rc;
	/* Again for the answerer: a forked call may have reached another contact
	 * than the one the offer was planned for. */
	set_source(c, i, b);
	if (stream_set_crypto(c, i, from, keyed == 1 ? &b->keys[i].recv_key.params : NULL,
			      keyed == 1 ? &b->keys[i].send_key.params : NULL) < 0 ||
	    stream_set_crypto(c, i, 1 - from, a->secure ? &a->keys[i].recv_key.params : NULL,
			      a->secure ? &a->keys[i].send_key.params : NULL) < 0) {
		snprintf(why, whylen, "cannot key the media relay");
		return 500;
	}
	stream_answered(c, i);
	set_codec(c, i, as);
	sp->port = media_stream_port(c->streams[i], (enum media_side)(1 - from));
	sp->rtcp_port = sp->port + 1;
	if (a->secure) {
		sp->crypto[0] = a->keys[i].send_key;
		sp->n_crypto = 1;
	}
	return 0;
}

int plan_answer(struct call *c, int from, const char *body, size_t len, char **out_body,
		char *why, size_t whylen)
{
	struct leg *a = &c->legs[1 - from], *b = &c->legs[from];
	struct pc_sdp_desc answer;
	struct pc_sdp_plan plan;
	int keyed[PC_SDP_MAX_STREAMS] = { 0 };
	bool b_secure = false;
	int rc = 0;

	*out_body = NULL;
	memset(&plan, 0, sizeof(plan));
	if (pc_sdp_read(body, len, &answer, why, whylen) < 0)
		return 488;
	if (answer.n_streams != c->n_streams) {
		snprintf(why, whylen, "answer has %u m-lines, the offer had %u", answer.n_streams,
			 c->n_streams);
		rc = 488;
		goto out;
	}
	if ((rc = answer_check(c, from, &answer, keyed, &b_secure, why, whylen)) != 0)
		goto out;
	plan_header(&plan, a, answer.n_streams);
	for (unsigned i = 0; !rc && i < answer.n_streams; i++)
		rc = answer_stream(c, i, from, &answer.streams[i], keyed[i], &plan.streams[i], why,
				   whylen);
	if (rc)
		goto out;
	b->secure = b_secure;
	*out_body = pc_sdp_write(body, len, &plan, why, whylen);
	if (!*out_body)
		rc = 488;
	else
		call_share_changed(c); /* a re-key of a confirmed call */
out:
	wipe_plan(&plan);
	pc_sdp_desc_wipe(&answer);
	return rc;
}

void plan_answered(struct call *c)
{
	for (unsigned i = 0; i < c->n_streams; i++)
		if (c->streams[i])
			stream_answered(c, i);
}

void plan_log_quality(const struct call *c)
{
	for (unsigned i = 0; i < PC_SDP_MAX_STREAMS; i++) {
		struct media_quality q[2];
		if (!c->streams[i] || media_stream_quality(c->streams[i], MEDIA_SIDE_A, &q[0]) < 0 ||
		    media_stream_quality(c->streams[i], MEDIA_SIDE_B, &q[1]) < 0)
			continue;
		/* A stream that never carried a packet (a refused or cancelled
		 * call) has nothing to say; one-way media is worth a line. */
		if (q[0].rx_packets + q[1].rx_packets + q[0].tx_packets + q[1].tx_packets == 0)
			continue;
		for (int side = LEG_A; side <= LEG_B; side++) {
			char line[320];
			media_quality_format(&q[side], line, sizeof(line));
			log_info("call %u: leg %s: stream %u: %s", c->id, c->legs[side].cfg->name, i,
				 line);
		}
	}
}

void plan_release(struct call *c)
{
	for (unsigned i = 0; i < PC_SDP_MAX_STREAMS; i++) {
		if (c->streams[i])
			media_pool_stream_free(c->b2bua->pool, c->streams[i]);
		c->streams[i] = NULL;
	}
	for (int l = 0; l < 2; l++)
		free_keys(c, &c->legs[l]);
}

/* One side of stream i of a call taken over: its peer, source rule and
 * keys as the node that ran it had them. */
static int adopt_side(struct call *c, unsigned i, int side, const struct pc_cs_side *d)
{
	struct leg *l = &c->legs[side];
	struct media_stream_cmd m = { .op = MEDIA_OP_SET_REMOTE, .s = c->streams[i],
				      .side = (enum media_side)side };
	m.u.remote.rtp_addr = d->media; /* family 0: no destination yet */
	m.u.remote.rtcp_port = d->rtcp_port;
	m.u.remote.rtcp_mux = d->rtcp_mux;
	(void)media_pool_stream_cmd(c->b2bua->pool, &m);
	call_share_remote(c, i, side, d->media.ss_family ? &d->media : NULL, d->rtcp_port);
	set_source(c, i, l);
	if (!d->has_recv && !d->has_send)
		return 0;
	if (l->keys) { /* a later re-offer checks against them (key_reused) */
		l->keys[i].recv_key = (struct pc_sdp_crypto){ .tag = 1, .params = d->recv };
		l->keys[i].send_key = (struct pc_sdp_crypto){ .tag = 1, .params = d->send };
	}
	if (stream_set_crypto(c, i, side, d->has_recv ? &d->recv : NULL,
			      d->has_send ? &d->send : NULL) < 0)
		return -1;
	/* Each context carries on the index the failed node's had. */
	struct media_stream_cmd seed = { .op = MEDIA_OP_SEED_ROC, .s = c->streams[i],
					 .side = (enum media_side)side };
	seed.u.seed.recv_top = (uint64_t)d->recv_roc << 16 | d->recv_seq;
	seed.u.seed.send_top = (uint64_t)d->send_roc << 16 | d->send_seq;
	call_share_seed(c, i, side, d);
	return media_pool_stream_cmd(c->b2bua->pool, &seed);
}

int plan_adopt(struct call *c, const struct pc_call_state *s)
{
	c->n_streams = s->n_streams;
	for (int side = LEG_A; side <= LEG_B; side++)
		if (c->legs[side].secure && need_keys(c, &c->legs[side]) < 0)
			return -1;
	int ra = leg_range(c, &c->legs[LEG_A]), rb = leg_range(c, &c->legs[LEG_B]);
	for (unsigned i = 0; i < s->n_streams; i++) {
		const struct pc_cs_stream *st = &s->streams[i];
		media_engine_want_ports(c->b2bua->media, st->side[0].relay_port, st->side[1].relay_port);
		c->streams[i] = media_pool_stream_new(c->b2bua->pool, ra, rb, &c->media_worker);
		media_stream_set_owner(c->streams[i], c); /* told of its SRTP rollovers */
		if (c->streams[i] == NULL)
			return -1;
		c->offer_proto[i] = c->legs[LEG_A].secure ? PC_SDP_PROTO_RTP_SAVP : PC_SDP_PROTO_RTP_AVP;
		if (adopt_side(c, i, LEG_A, &st->side[0]) < 0 || adopt_side(c, i, LEG_B, &st->side[1]) < 0)
			return -1;
		stream_answered(c, i);
	}
	c->answered = true;
	return 0;
}
