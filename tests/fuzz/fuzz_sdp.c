/* libFuzzer target: an SDP body as the B2BUA handles it. Read it; if it is
 * accepted, write the other leg's body from a plan built from it (same
 * ports, the other profile, one key on secure streams) and read that back:
 * whatever sdp_read accepts, sdp_write must turn into a body sdp_read
 * accepts again, with the plan's ports and profiles. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum sdp_proto flip(enum sdp_proto p)
{
	switch (p) {
	case SDP_PROTO_RTP_AVP:
		return SDP_PROTO_RTP_SAVP;
	case SDP_PROTO_RTP_SAVP:
		return SDP_PROTO_RTP_AVP;
	case SDP_PROTO_RTP_AVPF:
		return SDP_PROTO_RTP_SAVPF;
	case SDP_PROTO_RTP_SAVPF:
		return SDP_PROTO_RTP_AVPF;
	case SDP_PROTO_OTHER:
		break;
	}
	return SDP_PROTO_OTHER;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sdp_desc d, back;
	static struct sdp_plan plan;
	char why[128];

	if (sdp_read((const char *)data, size, &d, why, sizeof(why)) < 0)
		return 0;

	memset(&plan, 0, sizeof(plan));
	snprintf(plan.address, sizeof(plan.address), "%s", size & 1 ? "2001:db8::7" : "192.0.2.7");
	plan.session_id = size;
	plan.version = 1;
	plan.n_streams = d.n_streams;
	for (unsigned i = 0; i < d.n_streams; i++) {
		const struct sdp_stream *s = &d.streams[i];
		struct sdp_stream_plan *p = &plan.streams[i];
		p->port = s->port;
		p->proto = flip(s->proto);
		p->rtcp_port = s->rtcp_port;
		p->rtcp_mux = s->rtcp_mux;
		if (sdp_proto_is_secure(p->proto)) {
			p->crypto[0].tag = i + 1;
			p->crypto[0].params.suite = (enum srtp_suite)(i % SRTP_SUITE__COUNT);
			p->crypto[0].params.key_salt_len = srtp_suite_key_salt_len(p->crypto[0].params.suite);
			memset(p->crypto[0].params.key_salt, 0xa5, p->crypto[0].params.key_salt_len);
			p->n_crypto = 1;
		}
	}

	char *out = sdp_write((const char *)data, size, &plan, why, sizeof(why));
	if (!out) {
		fprintf(stderr, "sdp_write refused what sdp_read accepted: %s\n", why);
		abort();
	}
	if (sdp_read(out, strlen(out), &back, why, sizeof(why)) < 0) {
		fprintf(stderr, "sdp_read refused what sdp_write wrote: %s\n%s\n", why, out);
		abort();
	}
	if (back.n_streams != d.n_streams)
		abort();
	for (unsigned i = 0; i < d.n_streams; i++) {
		const struct sdp_stream *s = &back.streams[i];
		const struct sdp_stream_plan *p = &plan.streams[i];
		if (s->port != p->port)
			abort();
		if (p->proto != SDP_PROTO_OTHER && s->proto != p->proto)
			abort();
		if (s->port && (strcmp(s->address, plan.address) != 0 ||
				s->n_crypto != p->n_crypto || s->rtcp_mux != p->rtcp_mux))
			abort();
		if (s->port && p->n_crypto &&
		    !srtp_params_equal(&s->crypto[0].params, &p->crypto[0].params))
			abort();
	}
	free(out);
	sdp_desc_wipe(&d);
	sdp_desc_wipe(&back);
	return 0;
}
