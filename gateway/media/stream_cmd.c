/* Stream operations carried as data to a media worker and applied there
 * (stream_cmd.h): one switch that calls the direct media_stream_*
 * function, so a stream behaves the same on the main loop and on a worker. */
#include "stream_cmd.h"

#include <string.h>

int media_stream_cmd_apply(const struct media_stream_cmd *c)
{
	if (c == NULL || c->s == NULL)
		return -1;
	switch (c->op) {
	case MEDIA_OP_SET_REMOTE:
		return media_stream_set_remote(c->s, c->side, &c->u.remote.rtp_addr,
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
	}
	return -1;
}

void media_stream_cmd_wipe(struct media_stream_cmd *c)
{
	if (c)
		explicit_bzero(c, sizeof(*c));
}
