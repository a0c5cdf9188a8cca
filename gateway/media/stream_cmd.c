/* Stream operations carried as data to a media worker and applied there
 * (stream_cmd.h): one switch that calls the direct media_stream_*
 * function, so a stream behaves the same on the main loop and on a worker,
 * and the two halves of a stream's life on a worker: its ports on the
 * signalling thread, its attachment on the worker (stream.c). */
#include "stream_cmd.h"

#include <string.h>

#include "media_int.h"

int media_stream_cmd_apply(const struct media_stream_cmd *c)
{
	if (c == NULL || c->s == NULL)
		return -1;
	switch (c->op) {
	case MEDIA_OP_SET_REMOTE:
		return media_stream_set_remote(c->s, c->side,
					       c->u.remote.rtp_addr.ss_family ? &c->u.remote.rtp_addr : NULL,
					       c->u.remote.rtcp_port, c->u.remote.rtcp_mux);
	case MEDIA_OP_SET_SOURCE:
		return media_stream_set_source(c->s, c->side, c->u.source.rule,
					       c->u.source.have_sig ? &c->u.source.sig : NULL);
	case MEDIA_OP_ANSWERED:
		media_stream_answered(c->s);
		return 0;
	case MEDIA_OP_SET_CRYPTO:
		return media_stream_set_crypto(c->s, c->side,
					       c->u.crypto.have_recv ? &c->u.crypto.recv : NULL,
					       c->u.crypto.have_send ? &c->u.crypto.send : NULL);
	case MEDIA_OP_AWAIT_KEYS:
		media_stream_await_keys(c->s, c->side);
		return 0;
	case MEDIA_OP_SET_CODEC:
		return media_stream_set_codec(c->s, c->side, c->u.codec.payload_type,
					      c->u.codec.clock_rate, c->u.codec.codec);
	case MEDIA_OP_SEED_ROC:
		return media_stream_seed_roc(c->s, c->side, c->u.seed.recv_top, c->u.seed.send_top);
	case MEDIA_OP_ATTACH:
		return c->u.engine ? stream_attach(c->u.engine, c->s) : -1;
	case MEDIA_OP_DETACH:
		stream_detach(c->s->e, c->s);
		return 0;
	}
	return -1;
}

struct media_stream *media_stream_ports_new(struct media_engine *ports, int range_a, int range_b)
{
	return stream_ports_take(ports, range_a, range_b);
}

void media_stream_ports_free(struct media_stream *s)
{
	if (s)
		stream_ports_release(s, true);
}

void media_stream_cmd_wipe(struct media_stream_cmd *c)
{
	if (c)
		explicit_bzero(c, sizeof(*c));
}
