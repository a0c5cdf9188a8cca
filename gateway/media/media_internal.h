/* Private interfaces between the media module's files: the port-range
 * allocator (ports.c) and the buffer sizes (time is core/clock.h's). Kept out of
 * media.h so the public contract stays small; the SRTP transform has its own
 * header (srtp.h). */
#ifndef PC_MEDIA_INTERNAL_H
#define PC_MEDIA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "media.h"
#include "srtp.h"

#define MEDIA_MAX_RANGES 16
/* The largest datagram accepted: an Ethernet-MTU RTP packet plus the largest
 * SRTP/SRTCP trailer (tag, MKI, SRTCP index). Anything larger is truncated
 * by the kernel and dropped as malformed. */
#define MEDIA_PKT_IN_MAX (1500 + MSRTP_MAX_TRAILER)
/* Each buffer also has room to append a full trailer to the largest
 * accepted packet when it is protected toward a secure side. */
#define MEDIA_PKT_BUF (MEDIA_PKT_IN_MAX + MSRTP_MAX_TRAILER)
#define MEDIA_BATCH 32

/* --- ports.c ------------------------------------------------------------- */

struct quarantined_pair {
	uint32_t pair;
	uint64_t until_ms;
};

/* One port range. Pair i is ports first_port + 2i (RTP) and + 2i + 1 (RTCP).
 * Free pairs are an unordered set (free_set[0, free_count)) drawn from at
 * random; released pairs first sit in a FIFO quarantine ring (one
 * quarantine_ms per range, so it is ordered by expiry). Both hold at most
 * npairs entries: memory is bounded by the range, not by traffic. */
struct port_range {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char name[64]; /* bind address as text, for log lines */
	unsigned first_port;
	unsigned npairs;
	unsigned quarantine_ms;
	uint32_t *free_set;
	unsigned free_count;
	struct quarantined_pair *quar;
	unsigned quar_head, quar_count;
	bool exhausted_logged;
};

int range_init(struct port_range *r, const char *bind_address, unsigned port_min,
	       unsigned port_max, unsigned quarantine_ms);
void range_fini(struct port_range *r);
/* Takes a pair drawn at random from the free set and opens both sockets
 * bound to it (non-blocking, close-on-exec). 0 on success; -1 when no pair is free (exhausted); -2 on a socket
 * error other than a port taken by someone else (logged). */
int range_take(struct port_range *r, int fds[2], unsigned *pair);
/* Returns a pair; `used` pairs are quarantined, unused ones freed at once. */
void range_release(struct port_range *r, unsigned pair, bool used);
unsigned range_free_pairs(const struct port_range *r);
static inline unsigned range_port(const struct port_range *r, unsigned pair)
{
	return r->first_port + 2 * pair;
}

#endif
