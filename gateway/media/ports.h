/* The relay's port ranges (ports.c): even/odd (RTP, RTCP) port pairs handed
 * out with their sockets already bound, drawn at random from a range's free
 * pairs, and held in quarantine after release before reuse. Knows nothing of
 * streams or packets: the engine asks for a pair and gives it back. */
#ifndef PC_MEDIA_PORTS_H
#define PC_MEDIA_PORTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

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
	unsigned quarantine_ms; /* hard: no reuse before (MEDIA_PORT_QUARANTINE_MS) */
	unsigned rest_ms;       /* soft: back in the random draw after */
	uint32_t *free_set;
	unsigned free_count;
	struct quarantined_pair *quar;
	unsigned quar_head, quar_count;
	bool exhausted_logged;
};

/* How long a released pair rests, in quarantines, before it rejoins the
 * random draw. Resting longer than the quarantine costs nothing while the
 * range has free pairs (and keeps very late packets, from a peer whose BYE
 * was lost twice or a satellite hop, away from new calls); under load the
 * oldest resting pair is reused as soon as its quarantine is over, so the
 * range sustains calls/s x (hold + quarantine) pairs, not x (hold + rest). */
#define RANGE_REST_FACTOR 4u

/* A range of the even/odd pairs within [port_min, port_max] on bind_address
 * (numeric IPv4/IPv6). 0, or -1 (logged). */
int range_init(struct port_range *r, const char *bind_address, unsigned port_min,
	       unsigned port_max, unsigned quarantine_ms);
void range_fini(struct port_range *r);
/* Takes a pair drawn at random from the free set and opens both sockets
 * bound to it (non-blocking, close-on-exec). 0 on success; -1 when no pair
 * is free (exhausted); -2 on a socket error other than a port taken by
 * someone else (logged). */
int range_take(struct port_range *r, int fds[2], unsigned *pair);
/* Takes the pair whose RTP port is `port`, as a node taking over another's
 * calls must (cluster mode): the same results as range_take, -1 also when
 * that pair is not free here (in use or in quarantine). */
int range_take_port(struct port_range *r, unsigned port, int fds[2], unsigned *pair);
/* Returns a pair; `used` pairs are quarantined, unused ones freed at once. */
void range_release(struct port_range *r, unsigned pair, bool used);
/* Pairs a take could get now: free ones and those past their quarantine. */
unsigned range_free_pairs(const struct port_range *r);
static inline unsigned range_port(const struct port_range *r, unsigned pair)
{
	return r->first_port + 2 * pair;
}

#endif
