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
#include "core/srtp_params.h"

#define CFG_MAX_LISTENERS 16
#define CFG_MAX_PEERS 16
#define CFG_MAX_LEGS 8
#define CFG_MAX_ROUTES 64
#define CFG_MAX_NAMES 8
#define CFG_NAME_MAX 64
#define CFG_HOST_MAX 256
#define CFG_PRIORITY_MAX 512
#define CFG_MAX_NETS 64
#define CFG_NET_MAX 64
#define CFG_MAX_UAS 32
#define CFG_URL_MAX 512      /* an x5u / Identity-Info URL, with its NUL (stir/passport.h's STIR_URL_MAX) */
#define CFG_UUID_MAX 37      /* a UUID, 8-4-4-4-12 hex, with its NUL */
#define CFG_COUNTRY_CODE_MAX 4 /* an E.164 country code: 1 to 3 digits */

/* A network as written ("10.0.0.0/8", "192.0.2.7") and the line it is on:
 * policy/admit.c parses it when the gateway starts, and its errors name this
 * line (the configuration layer stays below policy). */
struct cfg_net {
	char text[CFG_NET_MAX];
	unsigned line;
};

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
	unsigned max_connections; /* inbound connections at once (stream listeners) */
	struct tls_config tls; /* transport == tls only */
};

/* A next hop the gateway connects to itself (trunks, proxies). */
struct peer_config {
	bool identity_legacy; /* RFC 4474 Identity/Identity-Info toward it and from it */
	char name[CFG_NAME_MAX];
	enum pc_transport transport;
	char address[CFG_HOST_MAX];
	unsigned port;
	char sip_domain[CFG_HOST_MAX]; /* name used in Request-URIs toward it */
	unsigned keepalive_interval_s; /* OPTIONS ping period; 0 = off */
	struct tls_config tls; /* client side; peer_names = expected server names */
	/* Cluster mode: the node this peer is (cluster.node there), "" = none.
	 * Calls to a TCP/TLS flow held by that node go to it through this
	 * peer, and only a request from such a peer may carry the internal
	 * route (gateway/b2bua/route.c). */
	char cluster_node[64];
};

enum media_mode {
	MEDIA_MODE_RTP,         /* plain RTP/AVP only */
	MEDIA_MODE_SRTP,        /* SDES-SRTP required: RTP/SAVP with a=crypto, else 488 */
	MEDIA_MODE_BEST_EFFORT, /* offer SRTP, accept plain (RFC 8643 style) */
};

/* Which sources a plain (unauthenticated) media side of a leg accepts and
 * may latch to (docs/media.md, "Plain-side sources"). */
enum media_source_rule {
	MEDIA_SOURCE_RULE_STRICT,        /* the SDP's address and port exactly (default) */
	MEDIA_SOURCE_RULE_SIGNALLING_IP, /* the address the leg's SIP came from, any port */
	MEDIA_SOURCE_RULE_SDP,           /* the SDP's address, any port */
};

/* What the verification service does with calls arriving on a leg. */
enum identity_verify {
	IDENTITY_VERIFY_OFF,    /* nothing checked; a verstat from outside is still removed */
	IDENTITY_VERIFY_MARK,   /* the call goes on with verstat=... on the identity passed in */
	IDENTITY_VERIFY_REJECT, /* a failed check refuses the call (RFC 8224 §6.2.2) */
};

/* A leg: one security domain (inside phones, the outside trunk). */
struct leg_config {
	char name[CFG_NAME_MAX];
	enum media_mode media;
	enum media_source_rule media_source;
	enum pc_srtp_suite suites[PC_SRTP_SUITE__COUNT]; /* allowed, in order of preference */
	unsigned n_suites;
	char rtp_address[CFG_HOST_MAX];  /* where relay ports are bound */
	char advertise[CFG_HOST_MAX];    /* the address written into SDP */
	unsigned rtp_port_min, rtp_port_max;
	bool registrar;                  /* REGISTER accepted from this leg */
	bool open_registrar;             /* ... without authentication (explicitly allowed) */
	bool digest_auth;                /* its requests may authenticate by digest */
	bool cert_auth;                  /* ... or by a verified client certificate naming a user */
	bool require_tls;                /* requests only over TLS (else 403) */
	bool require_client_cert;        /* ... only with a verified client certificate */
	/* RFC 8224 Identity (docs/configuration.md, "stir"). */
	bool identity_sign;              /* INVITEs the gateway sends on this leg are signed */
	bool identity_sign_unauthenticated; /* identity_unauthenticated = "c": its unauthenticated
					     * callers are signed with attestation C */
	char identity_origid[CFG_UUID_MAX]; /* origid of calls arriving here; "" only when never signed */
	enum identity_verify identity_verify; /* calls arriving here */
};

/* Where a new call goes: from a leg (optionally only for one Request-URI
 * user) either to a configured peer or to a static contact. */
struct route_config {
	char from_leg[CFG_NAME_MAX];
	char user[CFG_NAME_MAX];         /* "" = any user */
	char to_leg[CFG_NAME_MAX];
	char peer[CFG_NAME_MAX];         /* a peers entry, or "" for the static contact */
	enum pc_transport transport;     /* static contact */
	char address[CFG_HOST_MAX];
	unsigned port;
	bool registered;                 /* to the Request-URI user's registered contacts */
	/* Never from the file: a route made for the cluster's internal route
	 * (gateway/b2bua/route.c), 1 + the index of the binding held here
	 * that it names; 0 for every configured route. */
	unsigned flow;
};

/* Digest authentication (RFC 3261, RFC 8760): the realm and the user store
 * of HA1 hashes (policy/users.h format, made with portcullis-passwd). */
/* auth.user_max_failures defaults to this many times auth.max_failures:
 * locking a user out everywhere then takes that many sources. */
#define AUTH_USER_FAILURES_FACTOR 10

struct auth_config {
	char realm[CFG_HOST_MAX];        /* "" = the domain */
	char users[PATH_MAX];            /* user store file; required when a leg uses digest */
	unsigned nonce_lifetime_s;
	unsigned max_users;
	bool md5, sha256;                /* algorithms offered and accepted (RFC 8760) */
	unsigned max_failures;           /* per source and per (user, source), then locked out; 0 = never */
	unsigned user_max_failures;      /* per user from all sources together; 0 = never */
	unsigned lockout_s;              /* lockout length, also the window failures count in */
};

/* The registrar for phones on legs with `registrar = true`. */
struct registrar_config {
	char store[PATH_MAX];            /* SQLite file for the bindings; "" = memory only */
	unsigned min_expires_s, max_expires_s, default_expires_s;
	unsigned max_users, max_contacts;
};

/* Abuse control (SPIT and floods): every number 0 = that limit is off. */
struct abuse_config {
	struct cfg_net allow[CFG_MAX_NETS]; /* when not empty, only these sources */
	unsigned n_allow;
	struct cfg_net deny[CFG_MAX_NETS];
	unsigned n_deny;
	struct cfg_net exempt[CFG_MAX_NETS]; /* never rate-limited (trunks, own proxies) */
	unsigned n_exempt;
	char scanner_uas[CFG_MAX_UAS][CFG_NAME_MAX]; /* User-Agent substrings refused */
	unsigned n_scanner_uas;
	bool default_scanner_uas;        /* the built-in list (block_user_agents not set) */
	unsigned request_rate;           /* requests per second per source */
	unsigned request_burst;
	unsigned ban_after;              /* rate overruns within ban_window that start a ban */
	unsigned ban_window_s, ban_s;
	unsigned max_sources;            /* sources tracked at once */
	unsigned max_calls_in_setup;     /* global: INVITEs not yet answered */
	unsigned user_max_calls, user_cps; /* per authenticated user */
	unsigned trunk_max_calls, trunk_cps; /* per unauthenticated inbound leg and per peer */
};

/* The trust domain of RFC 3325 (Spec(T)) and what the gateway does with
 * asserted identities and privacy at its edge. */
struct identity_config {
	struct cfg_net trusted_networks[CFG_MAX_NETS];
	unsigned n_trusted_networks;
	char trusted_names[CFG_MAX_NAMES][CFG_HOST_MAX]; /* verified certificate identities */
	unsigned n_trusted_names;
	bool assert_tel;                 /* assert the caller's tel: identity too */
	bool keep_pai_untrusted;         /* pai_toward_untrusted = "keep" (default "remove") */
	bool hide_subject;               /* header privacy also removes Subject */
};

/* STIR (RFC 8224/8225/8588): the authentication service's certificate and
 * key, the verification service's trust list and fetch limits, and the
 * legacy RFC 4474 signer. The keys are read only by the key holder. */
struct stir_config {
	/* signing */
	char certificate[PATH_MAX];      /* PEM chain served at x5u */
	char key[PATH_MAX];              /* EC P-256; loaded by the key holder only */
	char x5u[CFG_URL_MAX];           /* http(s) URL with a host */
	char country_code[CFG_COUNTRY_CODE_MAX]; /* for national numbers; "" leaves them */
	/* verification */
	char trust[PATH_MAX];            /* STI-CA PEM bundle */
	char crl[PATH_MAX];              /* "" = none */
	unsigned max_age_s;              /* iat freshness */
	unsigned cache_entries;
	unsigned cache_max_age_s;
	unsigned fetch_timeout_ms, connect_timeout_ms;
	size_t max_cert_size;            /* bytes one x5u may return */
	unsigned max_fetches;            /* in flight at once */
	char fetch_http_hosts[CFG_MAX_NAMES][CFG_HOST_MAX]; /* plain http allowed; else https only */
	unsigned n_fetch_http_hosts;
	struct cfg_net fetch_allow_networks[CFG_MAX_NETS]; /* exempt from the special-purpose refusal */
	unsigned n_fetch_allow_networks;
	/* legacy RFC 4474 (peers with identity_legacy) */
	char legacy_certificate[PATH_MAX];
	char legacy_key[PATH_MAX];       /* RSA; key holder only */
	char legacy_info[CFG_URL_MAX];   /* the Identity-Info URL */
	bool legacy_sha1;                /* rsa-sha1 too (weak: SHA-1) */
};

/* The gateway's own HTTP listener (the x5u document, metrics, health);
 * port 0 = none. */
struct http_config {
	char address[CFG_HOST_MAX];
	unsigned port;
	/* Sources that may read /metrics and /health; empty = loopback only
	 * (127.0.0.0/8, ::1). The x5u document is open to any source. */
	struct cfg_net allow[CFG_MAX_NETS];
	unsigned n_allow;
	/* Host names (besides address literals and localhost) the live
	 * documents may be asked for by (the Host header): DNS rebinding. */
	char hostnames[CFG_MAX_NAMES][CFG_HOST_MAX];
	unsigned n_hostnames;
	/* HTTPS only when certificate is set (http { tls { } }): a listener's
	 * TLS settings; live documents then also need a client certificate
	 * that verified against tls.ca. */
	struct tls_config tls;
};

/* Call records (records { }): one JSON line per call to `file`, a row per
 * call in the SQLite database `sqlite`; "" = that sink off (the default). */
struct records_config {
	char file[PATH_MAX];
	char sqlite[PATH_MAX];
	/* A caller who asked for privacy (RFC 3323) is named in its record all
	 * the same; off by default: the record leaves it out. */
	bool keep_private;
};

/* The control socket of portcullisctl(8) (gateway/control/): a Unix stream
 * socket at `socket` ("" = none), mode 0660, owned by the gateway's user
 * and `group` ("" = that user's group), whose members may connect. */
#define CFG_SOCKET_MAX 108 /* sizeof(sockaddr_un.sun_path), with its NUL */
struct control_config {
	char socket[CFG_SOCKET_MAX];
	char group[64];
};

/* Cluster mode (gateway/cluster/): several gateways sharing state in
 * Redis. Off when the group is absent (redis = ""): the embedded default
 * needs no server. `redis` is "host:port" or "unix:/path", read into
 * host/port or unix_path; `node` names this gateway to the others;
 * `key_file` holds the cluster key that will encrypt call state written
 * to Redis; `password_file` (and `user`, for a Redis 6 ACL user) what the
 * connection sends in AUTH. All of it is read at start (restart-only). */
#define CFG_NODE_MAX 64
struct cluster_config {
	char redis[PATH_MAX];
	char host[256];      /* from redis: "" for a Unix socket */
	unsigned port;
	char unix_path[CFG_SOCKET_MAX];
	char node[CFG_NODE_MAX];
	char key_file[PATH_MAX];
	char user[CFG_NODE_MAX];      /* Redis ACL user, "" = the default user */
	char password_file[PATH_MAX]; /* "" = no AUTH */
	unsigned command_timeout_ms; /* a command not answered by then has failed */
	unsigned max_pending;        /* commands in flight; beyond it they fail at once */
	unsigned retry_max_s;        /* ceiling of the reconnect backoff */
	unsigned heartbeat_s;        /* liveness refresh; a node is gone after three */
};

/* The media relay (docs/architecture.md, "Media workers"): `workers`
 * threads relay the calls' media, each call's streams on one of them;
 * 0 = as many as the CPUs the gateway may run on (media_pool_default_workers),
 * at most CFG_MAX_MEDIA_WORKERS. Read at start only. */
#define CFG_MAX_MEDIA_WORKERS 64u
/* media.io: how the relay reads and sends (media/pool.h). */
enum cfg_media_io { CFG_MEDIA_IO_AUTO, CFG_MEDIA_IO_URING, CFG_MEDIA_IO_EPOLL };

struct media_config {
	unsigned workers;
	enum cfg_media_io io;
};

struct limits_config {
	size_t max_message_size;
	unsigned max_headers; /* header lines per message, counted before the parse */
	unsigned max_vias;    /* Via entries per message */
	/* Separate budgets, so outsiders filling one cannot starve another: each
	 * stream listener's inbound connections (its max_connections, default
	 * this), and the connections the gateway opens itself; connections to a
	 * configured peer come from neither and are always possible. */
	unsigned max_connections;
	unsigned max_outgoing_connections;
	unsigned max_connections_per_ip; /* inbound, per IPv4 address or IPv6 /64 */
	unsigned first_message_timeout_s; /* a new inbound connection must prove itself within this */
	unsigned peer_retry_min_s, peer_retry_max_s; /* back-off after a configured peer fails */
	unsigned idle_timeout_s;
	unsigned handshake_timeout_s;
	unsigned message_timeout_s; /* a started message must complete within this */
	unsigned max_transactions;
	unsigned max_calls;
	unsigned media_timeout_s; /* no RTP from either side this long ends the call; 0 = off */
	unsigned connection_grace_s; /* a call leg whose peer's connection closed waits this long for it to return */
};

struct timers_config {
	unsigned t1_ms, t2_ms, t4_ms;
};

struct gateway_config {
	char source[PATH_MAX]; /* file name, or "(embedded default)" */
	char domain[CFG_HOST_MAX];
	char log_level[16];
	/* Where log lines go (core/log.h): "stderr" or "syslog", the syslog
	 * facility, and the datagram socket syslog lines are sent to. */
	char log_target[8];
	char log_facility[8];
	char log_syslog_socket[PATH_MAX];
	/* The unprivileged user the network process and the key holder run as
	 * (sandbox_resolve_user: empty means "nobody" when started as root). */
	char user[64];
	struct listener_config listeners[CFG_MAX_LISTENERS];
	unsigned n_listeners;
	struct peer_config peers[CFG_MAX_PEERS];
	unsigned n_peers;
	struct leg_config legs[CFG_MAX_LEGS];
	unsigned n_legs;
	struct route_config routes[CFG_MAX_ROUTES];
	unsigned n_routes;
	struct limits_config limits;
	struct timers_config timers;
	struct auth_config auth;
	struct registrar_config registrar;
	struct abuse_config abuse;
	struct identity_config identity;
	struct stir_config stir;
	struct http_config http;
	struct records_config records;
	struct control_config control;
	struct cluster_config cluster;
	struct media_config media;
};

/* The leg named `name`, or NULL. */
const struct leg_config *config_leg(const struct gateway_config *cfg, const char *name);
const struct peer_config *config_peer(const struct gateway_config *cfg, const char *name);

/* Load a file (path != NULL) or the embedded default (path == NULL). Errors
 * are written to errbuf as "file:line: key: why". 0 or -1. */
int config_load(const char *path, struct gateway_config *cfg, char *errbuf, size_t errlen);
int config_load_string(const char *text, const char *source_name, const char *base_dir,
		       struct gateway_config *cfg, char *errbuf, size_t errlen);
const char *config_embedded_default(void);
const char *tls_verify_name(enum tls_verify v);
/* Room each leg's rtp_ports must have beyond max_calls pairs, in percent
 * of max_calls: the pairs in quarantine after calls end (keys.c says why). */
#define CFG_PORT_HEADROOM_PCT 10u
/* limits.max_calls when not set: what the legs' ranges hold, at most this. */
#define CFG_MAX_CALLS_AUTO 10000u
/* Relay sockets of one call at the ceiling: an audio stream on each of its
 * two legs, RTP and RTCP. */
#define CFG_FDS_PER_CALL 4u
/* File descriptors the configuration can need at once: `connections` for the
 * listeners, every connection budget and a reserve for files and the event
 * loop; `calls` for the relay sockets of max_calls audio calls, at most
 * `relay` (with `connections`, what the gateway must have); `relay` for
 * every relay port of the ranges (what video m-lines on top can take). */
struct cfg_fd_need {
	unsigned long connections;
	unsigned long calls;
	unsigned long relay;
};
void config_fd_need(const struct gateway_config *cfg, struct cfg_fd_need *need);
/* Whether any leg signs (identity_sign), verifies (identity_verify), or
 * any peer speaks RFC 4474 (identity_legacy): what needs the STIR keys. */
bool config_stir_signs(const struct gateway_config *cfg);
bool config_stir_verifies(const struct gateway_config *cfg);
bool config_stir_legacy(const struct gateway_config *cfg);
/* A name the `user` key and --user accept (letters, digits, . _ -). */
bool config_user_name_valid(const char *name);

#endif
