/* The gateway's configuration: a libconfig file (or the embedded default)
 * read into plain structs, with every error reported as "file:line: key: why".
 * Relative file paths are resolved against the directory of the file that
 * names them (for the embedded default: the development PKI directory). */
#ifndef PC_CONFIG_CONFIG_H
#define PC_CONFIG_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/peer.h"

#define CFG_MAX_LISTENERS 16
#define CFG_MAX_PEERS 16
#define CFG_MAX_NAMES 8
#define CFG_NAME_MAX 64
#define CFG_HOST_MAX 256
#define CFG_PRIORITY_MAX 512

enum tls_verify { TLS_VERIFY_NONE, TLS_VERIFY_OPTIONAL, TLS_VERIFY_REQUIRED };

struct tls_config {
	char certificate[PATH_MAX];
	char key[PATH_MAX];
	char ca[PATH_MAX];
	enum tls_verify verify_peer;
	/* Names the peer certificate must carry (RFC 5922): any one matches.
	 * Empty means any certificate that chains to the CA. */
	char peer_names[CFG_MAX_NAMES][CFG_HOST_MAX];
	unsigned n_peer_names;
	char priority[CFG_PRIORITY_MAX];
	bool session_tickets;
};

struct listener_config {
	char name[CFG_NAME_MAX];
	char leg[CFG_NAME_MAX];
	enum pc_transport transport;
	char address[CFG_HOST_MAX];
	unsigned port;
	struct tls_config tls; /* transport == tls only */
};

/* A next hop the gateway connects to itself (trunks, proxies). */
struct peer_config {
	char name[CFG_NAME_MAX];
	enum pc_transport transport;
	char address[CFG_HOST_MAX];
	unsigned port;
	char sip_domain[CFG_HOST_MAX]; /* name used in Request-URIs toward it */
	unsigned keepalive_interval_s; /* OPTIONS ping period; 0 = off */
	struct tls_config tls; /* client side; peer_names = expected server names */
};

struct limits_config {
	size_t max_message_size;
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned idle_timeout_s;
	unsigned handshake_timeout_s;
	unsigned message_timeout_s; /* a started message must complete within this */
	unsigned max_transactions;
};

struct timers_config {
	unsigned t1_ms, t2_ms, t4_ms;
};

struct gateway_config {
	char source[PATH_MAX]; /* file name, or "(embedded default)" */
	char domain[CFG_HOST_MAX];
	char log_level[16];
	struct listener_config listeners[CFG_MAX_LISTENERS];
	unsigned n_listeners;
	struct peer_config peers[CFG_MAX_PEERS];
	unsigned n_peers;
	struct limits_config limits;
	struct timers_config timers;
};

/* Load a file (path != NULL) or the embedded default (path == NULL). Errors
 * are written to errbuf as "file:line: key: why". 0 or -1. */
int config_load(const char *path, struct gateway_config *cfg, char *errbuf, size_t errlen);
int config_load_string(const char *text, const char *source_name, const char *base_dir,
		       struct gateway_config *cfg, char *errbuf, size_t errlen);
const char *config_embedded_default(void);
const char *tls_verify_name(enum tls_verify v);

#endif
