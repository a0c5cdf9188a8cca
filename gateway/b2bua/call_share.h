/* Internal to b2bua/: the points where a call tells cluster mode its state
 * changed (call_share.c). Each is a no-op unless the layer above asked for
 * it with b2bua_set_share. */
#ifndef PC_B2BUA_CALL_SHARE_H
#define PC_B2BUA_CALL_SHARE_H

#include <sys/socket.h>

struct call;

/* Stream i's peer on `side` is now at ss (NULL: no destination), RTCP at
 * rtcp_port (0: RTP + 1); media_plan.c, as it tells the relay. */
void call_share_remote(struct call *c, unsigned i, int side, const struct sockaddr_storage *ss,
		       unsigned rtcp_port);
/* Stream i's side of a call taken over starts its SRTP indices where the
 * record `d` says (media_stream_seed_roc): recorded again as they are
 * until the relay publishes its own, which a media worker does when it
 * applies the seed, after the call's first write here. */
struct pc_cs_side;
void call_share_seed(struct call *c, unsigned i, int side, const struct pc_cs_side *d);
/* The call's shared state changed (answered, re-keyed): written again
 * when the call is confirmed. */
void call_share_changed(struct call *c);
/* The call is ending: its record is removed (once). */
void call_share_gone(struct call *c);
/* call_close: gone, and the side record freed. */
void call_share_free(struct call *c);

#endif
