/* TLS credentials and per-connection session set-up with GnuTLS, and the
 * RFC 5922 peer-name check. One tls_ctx per configured TLS listener or peer.
 * Only the transport module's files know GnuTLS exists. */
#ifndef PC_TRANSPORT_TLS_H
#define PC_TRANSPORT_TLS_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct tls_cred;

struct tls_ctx {
	const struct tls_config *cfg; /* owned by the gateway config */
	bool server;
	struct tls_cred *cred;        /* for new sessions; each session holds its own reference */
	gnutls_priority_t priority;
	gnutls_datum_t ticket_key;    /* server: session ticket encryption key */
	gnutls_datum_t resume_data;   /* client: last session, for resumption */
	char label[CFG_NAME_MAX + 16];/* "listener outside-tls" / "peer trunk" */
};

/* Load certificates, CA and priority string. Logs and returns -1 on error. */
int tls_ctx_init(struct tls_ctx *ctx, const struct tls_config *cfg, bool server,
		 const char *label);
void tls_ctx_deinit(struct tls_ctx *ctx);

/* A new non-blocking session on fd, ready for gnutls_handshake(); *held is
 * the credentials it uses, to release with tls_cred_unref after
 * gnutls_deinit. */
int tls_session_new(struct tls_ctx *ctx, int fd, gnutls_session_t *out, struct tls_cred **held);

/* Reload: credentials (certificate chain, CA bundle) read from cfg now;
 * with check_key, a certificate whose public key is not the held private
 * key's is refused. NULL when something does not load (logged with label).
 * tls_ctx_set_cred gives them to ctx for new sessions (ctx takes the
 * reference; sessions made before keep the old ones). */
struct tls_cred *tls_cred_load(const struct tls_config *cfg, const char *label, bool check_key);
void tls_ctx_set_cred(struct tls_ctx *ctx, struct tls_cred *c);
void tls_cred_unref(struct tls_cred *c);

/* After a handshake: the peer's identity for policy ("" when the peer sent
 * no certificate). The first SAN URI, else the first SAN DNS name, else CN. */
void tls_peer_identity(gnutls_session_t session, char *out, size_t len);

/* Does the verified peer certificate of this session name `name` (RFC 5922
 * rules, as tls_cert_matches_name)? False when the peer sent none. */
bool tls_session_peer_matches(gnutls_session_t session, const char *name);

/* For a log line: the name of the alert behind a failed call's rc (GnuTLS's
 * name, or "alert N" for a code it has no name for: the peer picks the
 * code), "" when rc is not an alert. buf holds the number's text. */
const char *tls_alert_text(gnutls_session_t session, int rc, char *buf, size_t len);

/* Save the session for resumption (client side), once a ticket arrived. */
void tls_ctx_save_session(struct tls_ctx *ctx, gnutls_session_t session);

/* RFC 5922 §7.1 name check of a DER/PEM-parsed certificate against one
 * expected name: SAN URI (a sip: URI without user part, core/sipname.h) and SAN DNS entries, exact
 * and case-insensitive, no wildcards; SAN IP for an IP literal; the CN only
 * when the certificate has no SAN at all. Exposed for unit tests. */
bool tls_cert_matches_name(gnutls_x509_crt_t crt, const char *name);

/* Does the certificate's extendedKeyUsage allow the purpose `oid`
 * (GNUTLS_KP_TLS_WWW_SERVER / _CLIENT)? True when it lists that purpose or
 * anyExtendedKeyUsage, or has no extendedKeyUsage at all (RFC 5280: any
 * purpose). Checked on every verified peer: a client must present a client
 * certificate, a server a server certificate. Exposed for unit tests. */
bool tls_cert_allows_purpose(gnutls_x509_crt_t crt, const char *oid);

#endif
