/* Relay port ranges: hands out even/odd (RTP, RTCP) port pairs with their
 * sockets already bound, and holds released pairs in quarantine before reuse
 * so late packets of an ended call cannot land in a new one. A pair is drawn
 * uniformly at random from the free set (core/random.h), so the
 * ports of the next call cannot be predicted from the last one's: an
 * attacker who wants to reach a plain side must hit its exact source too,
 * and cannot aim at a call before it exists. The free set is an array with
 * swap-removal (O(1) per draw), the quarantine a FIFO ring; both are sized
 * by the range when it is added, so allocation never grows with traffic and
 * a full range is a clean, countable refusal. A released pair rests in the
 * ring for RANGE_REST_FACTOR times the quarantine before it rejoins the
 * random draw; when nothing in the free set can be had, the oldest resting
 * pair is taken as soon as its quarantine proper is over (ports.h says why
 * the two). */
#include "ports.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"

int range_init(struct port_range *r, const char *bind_address, unsigned port_min,
	       unsigned port_max, unsigned quarantine_ms)
{
	memset(r, 0, sizeof(*r));
	if (bind_address == NULL || port_min == 0 || port_max > 65535 || port_min > port_max) {
		log_warnx("media: invalid port range %u-%u", port_min, port_max);
		return -1;
	}
	/* RTP takes the even port (RFC 3550 §11), RTCP the odd one above it. */
	unsigned first = port_min + (port_min & 1u);
	if (first + 1 > port_max) {
		log_warnx("media: port range %u-%u holds no even/odd pair", port_min, port_max);
		return -1;
	}

	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_DGRAM,
				  .ai_family = AF_UNSPEC };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(bind_address, NULL, &hints, &res);
	if (rc != 0 || res == NULL || res->ai_addrlen > sizeof(r->addr)) {
		log_warnx("media: bind address \"%s\" is not a numeric address", bind_address);
		if (res)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
	r->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(r->name, sizeof(r->name), "%s", bind_address);

	r->first_port = first;
	r->npairs = (port_max - first + 1) / 2;
	r->quarantine_ms = quarantine_ms;
	r->rest_ms = RANGE_REST_FACTOR * quarantine_ms;
	r->free_set = calloc(r->npairs, sizeof(*r->free_set));
	r->quar = calloc(r->npairs, sizeof(*r->quar));
	if (r->free_set == NULL || r->quar == NULL) {
		log_warnx("media: out of memory for port range %u-%u", port_min, port_max);
		range_fini(r);
		return -1;
	}
	for (unsigned i = 0; i < r->npairs; i++)
		r->free_set[i] = i;
	r->free_count = r->npairs;
	return 0;
}

void range_fini(struct port_range *r)
{
	free(r->free_set);
	free(r->quar);
	memset(r, 0, sizeof(*r));
}

static void free_push(struct port_range *r, uint32_t pair)
{
	r->free_set[r->free_count++] = pair;
}

static void free_swap(struct port_range *r, unsigned i, unsigned j)
{
	uint32_t t = r->free_set[i];
	r->free_set[i] = r->free_set[j];
	r->free_set[j] = t;
}

/* A uniform index below n (n <= 32768 pairs): 64 random bits reduced
 * modulo n, whose bias (under 2^-48) no observer can measure. -1 when the
 * generator fails: then no port is handed out at all. */
static long draw_below(unsigned n)
{
	uint64_t v;
	if (pc_random_bytes(&v, sizeof(v)) != 0) {
		log_err("media: the random generator failed");
		return -1;
	}
	return (long)(v % n);
}

/* The oldest resting pair leaves the ring (quar_count > 0). */
static uint32_t quar_pop(struct port_range *r)
{
	uint32_t pair = r->quar[r->quar_head].pair;
	r->quar_head = (r->quar_head + 1) % r->npairs;
	r->quar_count--;
	return pair;
}

/* Released at until_ms - rest_ms: is its quarantine proper over? */
static bool quar_over(const struct port_range *r, unsigned i, uint64_t now)
{
	return r->quar[(r->quar_head + i) % r->npairs].until_ms - r->rest_ms + r->quarantine_ms <= now;
}

/* Moves every pair that has rested long enough to the free set. */
static void mature(struct port_range *r, uint64_t now)
{
	while (r->quar_count > 0 && r->quar[r->quar_head].until_ms <= now)
		free_push(r, quar_pop(r));
}

static int open_bound(const struct port_range *r, unsigned port)
{
	struct sockaddr_storage sa = r->addr;
	if (sa.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
	} else {
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
	}
	int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (sa.ss_family == AF_INET6) {
		/* A v6 relay address must not silently swallow v4 traffic too. */
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	/* No SO_REUSEADDR: if another process holds the port we want to know
	 * and skip it rather than share its traffic. */
	if (bind(fd, (struct sockaddr *)&sa, r->addrlen) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Draws from free_set[0, avail); a pair some other process has bound is
 * swapped to the tail [avail, free_count), where it stays free but is not
 * drawn again by this take, so each free pair is tried at most once and a
 * crowded host cannot make a call spin. As range_take. */
static int draw(struct port_range *r, unsigned avail, int fds[2], unsigned *pair)
{
	for (; avail > 0; avail--) {
		long j = draw_below(avail);
		if (j < 0)
			return -2;
		free_swap(r, (unsigned)j, avail - 1);
		uint32_t p = r->free_set[avail - 1];
		unsigned port = range_port(r, p);
		int rtp = open_bound(r, port);
		int rtcp = rtp >= 0 ? open_bound(r, port + 1) : -1;
		if (rtp >= 0 && rtcp >= 0) {
			free_swap(r, avail - 1, r->free_count - 1);
			r->free_count--;
			fds[0] = rtp;
			fds[1] = rtcp;
			*pair = p;
			return 0;
		}
		int saved = errno;
		if (rtp >= 0)
			close(rtp);
		if (saved != EADDRINUSE) {
			errno = saved;
			log_warn("media: cannot open relay socket on %s port %u", r->name,
				 rtp >= 0 ? port + 1 : port);
			return -2;
		}
		log_debug("media: %s port %u taken by another process, skipped", r->name, port);
	}
	return -1;
}

/* Opens the pair at free_set[0] and takes it out of the free set. As
 * draw() with one candidate, without the random pick. */
static int draw_first(struct port_range *r, int fds[2], unsigned *pair)
{
	uint32_t p = r->free_set[0];
	unsigned port = range_port(r, p);
	int rtp = open_bound(r, port);
	int rtcp = rtp >= 0 ? open_bound(r, port + 1) : -1;
	if (rtp < 0 || rtcp < 0) {
		int saved = errno;
		if (rtp >= 0)
			close(rtp);
		log_warn("media: cannot open relay socket on %s port %u", r->name, rtp >= 0 ? port + 1 : port);
		return saved == EADDRINUSE ? -1 : -2;
	}
	free_swap(r, 0, r->free_count - 1);
	r->free_count--;
	fds[0] = rtp;
	fds[1] = rtcp;
	*pair = p;
	return 0;
}

int range_take(struct port_range *r, int fds[2], unsigned *pair)
{
	uint64_t now = pc_clock_ms();
	mature(r, now);
	int rc = draw(r, r->free_count, fds, pair);
	/* Nothing free could be had: the pair released longest ago comes back
	 * as soon as its quarantine is over, before it has rested, rather than
	 * the call being refused. Each is tried alone (moved to the front). */
	while (rc == -1 && r->quar_count > 0 && quar_over(r, 0, now)) {
		free_push(r, quar_pop(r));
		free_swap(r, 0, r->free_count - 1);
		rc = draw(r, 1, fds, pair);
	}
	return rc;
}

int range_take_port(struct port_range *r, unsigned port, int fds[2], unsigned *pair)
{
	if (port < r->first_port || port >= r->first_port + 2 * r->npairs || (port - r->first_port) % 2)
		return -1;
	uint32_t p = (port - r->first_port) / 2;
	mature(r, pc_clock_ms());
	for (unsigned j = 0; j < r->free_count; j++) {
		if (r->free_set[j] != p)
			continue;
		/* the draw of one, at the place of that pair */
		free_swap(r, j, 0);
		int rc = draw_first(r, fds, pair);
		if (rc == 0)
			return 0;
		return rc == -1 ? -1 : -2;
	}
	return -1; /* in use here, or resting in quarantine */
}

void range_release(struct port_range *r, unsigned pair, bool used)
{
	if (!used || r->quarantine_ms == 0) {
		free_push(r, pair);
		return;
	}
	r->quar[(r->quar_head + r->quar_count) % r->npairs] =
		(struct quarantined_pair){ .pair = pair, .until_ms = pc_clock_ms() + r->rest_ms };
	r->quar_count++;
}

unsigned range_free_pairs(const struct port_range *r)
{
	uint64_t now = pc_clock_ms();
	unsigned n = r->free_count;
	/* Past its quarantine a resting pair is available (taken when the
	 * free set runs out); FIFO: later entries end later still. */
	for (unsigned i = 0; i < r->quar_count && quar_over(r, i, now); i++)
		n++;
	return n;
}
