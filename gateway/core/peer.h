/* Where a message came from or goes to: transport, address, the stream
 * connection it rode on and the peer's verified TLS identity. It travels with
 * every message so responses return on the same connection (RFC 3261 §18.2.2)
 * and policy can see who the peer proved to be. */
#ifndef PC_CORE_PEER_H
#define PC_CORE_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum pc_transport { PC_TP_UDP = 0, PC_TP_TCP, PC_TP_TLS };

#define PC_IDENTITY_MAX 256

struct pc_peer {
	enum pc_transport transport;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t conn_id;   /* stream connection id, 0 for UDP */
	int listener;       /* index of the receiving listener, -1 if outgoing */
	char identity[PC_IDENTITY_MAX]; /* verified TLS peer identity, "" if none */
};

static inline bool pc_transport_reliable(enum pc_transport tp) { return tp != PC_TP_UDP; }
const char *pc_transport_name(enum pc_transport tp);
int pc_transport_from_name(const char *name, enum pc_transport *out);
/* "udp:127.0.0.1:5060" style text for logs. */
const char *pc_peer_str(const struct pc_peer *peer, char *buf, unsigned len);
/* Same family, address and port. */
bool pc_sockaddr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* Same family and address, any port. */
bool pc_sockaddr_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* The same source for per-source limits: the same IPv4 address, or the same
 * IPv6 /64 (one host is given a whole /64 and could otherwise rotate through
 * it to dodge every per-address limit). */
bool pc_sockaddr_same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* A numeric IPv4 or IPv6 address and a port into *out (no name lookup).
 * 0, or -1 when `host` is not a numeric address. */
int pc_sockaddr_numeric(const char *host, uint16_t port, struct sockaddr_storage *out,
			socklen_t *outlen);
int pc_sockaddr_str(const struct sockaddr *sa, char *host, unsigned hostlen, unsigned *port);

#endif
