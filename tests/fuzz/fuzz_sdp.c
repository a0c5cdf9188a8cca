/* libFuzzer target: an SDP body as the B2BUA handles it. Read it; if it is
 * accepted, write the other leg's body from a plan built from it (same
 * ports, the other profile, one key on secure streams) and read that back:
 * whatever pc_sdp_read accepts, pc_sdp_write must turn into a body pc_sdp_read
 * accepts again, with the plan's ports and profiles. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum pc_sdp_proto flip(enum pc_sdp_proto p)
{
	switch (p) {
	case PC_SDP_PROTO_RTP_AVP:
		return PC_SDP_PROTO_RTP_SAVP;
	case PC_SDP_PROTO_RTP_SAVP:
		return PC_SDP_PROTO_RTP_AVP;
	case PC_SDP_PROTO_RTP_AVPF:
		return PC_SDP_PROTO_RTP_SAVPF;
	case PC_SDP_PROTO_RTP_SAVPF:
		return PC_SDP_PROTO_RTP_AVPF;
	case PC_SDP_PROTO_OTHER:
		break;
	}
	return PC_SDP_PROTO_OTHER;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pc_sdp_desc d, back;
	static struct pc_sdp_plan plan;
	char why[128];

	if (pc_sdp_read((const char *)data, size, &d, why, sizeof(why)) < 0)
		return 0;

	memset(&plan, 0, sizeof(plan));
	snprintf(plan.address, sizeof(plan.address), "%s", size & 1 ? "2001:db8::7" : "192.0.2.7");
	plan.session_id = size;
	plan.version = 1;
	plan.n_streams = d.n_streams;
	for (unsigned i = 0; i < d.n_streams; i++) {
		const struct pc_sdp_stream *s = &d.streams[i];
		struct pc_sdp_stream_plan *p = &plan.streams[i];
		p->port = s->port;
		p->proto = flip(s->proto);
		p->rtcp_port = s->rtcp_port;
		p->rtcp_mux = s->rtcp_mux;
		if (pc_sdp_proto_is_secure(p->proto)) {
			p->crypto[0].tag = i + 1;
			p->crypto[0].params.suite = (enum pc_srtp_suite)(i % PC_SRTP_SUITE__COUNT);
			p->crypto[0].params.key_salt_len = pc_srtp_suite_key_salt_len(p->crypto[0].params.suite);
			memset(p->crypto[0].params.key_salt, 0xa5, p->crypto[0].params.key_salt_len);
			p->n_crypto = 1;
		}
	}

	char *out = pc_sdp_write((const char *)data, size, &plan, why, sizeof(why));
	if (!out) {
		fprintf(stderr, "pc_sdp_write refused what pc_sdp_read accepted: %s\n", why);
		abort();
	}
	if (pc_sdp_read(out, strlen(out), &back, why, sizeof(why)) < 0) {
		fprintf(stderr, "pc_sdp_read refused what pc_sdp_write wrote: %s\n%s\n", why, out);
		abort();
	}
	if (back.n_streams != d.n_streams)
		abort();
	for (unsigned i = 0; i < d.n_streams; i++) {
		const struct pc_sdp_stream *s = &back.streams[i];
		const struct pc_sdp_stream_plan *p = &plan.streams[i];
		if (s->port != p->port)
			abort();
		if (p->proto != PC_SDP_PROTO_OTHER && s->proto != p->proto)
			abort();
		if (s->port && (strcmp(s->address, plan.address) != 0 ||
				s->n_crypto != p->n_crypto || s->rtcp_mux != p->rtcp_mux))
			abort();
		if (s->port && p->n_crypto &&
		    !pc_srtp_params_equal(&s->crypto[0].params, &p->crypto[0].params))
			abort();
	}
	free(out);
	pc_sdp_desc_wipe(&d);
	pc_sdp_desc_wipe(&back);
	return 0;
}
