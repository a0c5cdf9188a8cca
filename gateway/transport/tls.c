/* GnuTLS glue. Verification runs inside the handshake (a verify callback), so
 * a peer that fails the chain, name or key-purpose check gets an alert and
 * never reaches the SIP layer. GnuTLS's own hostname check accepts wildcards and falls back
 * to the CN, which RFC 5922 forbids, so names are matched here. */
#include "tls.h"

#include <arpa/inet.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/counters.h"
#include "core/log.h"
#include "core/sipname.h"
#include "keyholder/keyholder.h"

/* Certificates in one chain file: the leaf and its intermediates. */
#define TLS_MAX_CHAIN 16

bool tls_cert_matches_name(gnutls_x509_crt_t crt, const char *name)
{
	unsigned char ipbuf[16];
	size_t iplen = 0;
	bool is_ip = false;
	if (inet_pton(AF_INET, name, ipbuf) == 1) {
		is_ip = true;
		iplen = 4;
	} else if (inet_pton(AF_INET6, name, ipbuf) == 1) {
		is_ip = true;
		iplen = 16;
	}

	bool have_san = false;
	for (unsigned i = 0;; i++) {
		char san[1024];
		size_t len = sizeof(san) - 1;
		unsigned critical = 0;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &len, &critical);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue; /* absurdly long entry: cannot be ours */
		if (type < 0)
			break;
		have_san = true;
		san[len] = '\0';
		switch (type) {
		case GNUTLS_SAN_URI:
			if (!is_ip && sipname_uri_names_domain(san, len, name))
				return true;
			break;
		case GNUTLS_SAN_DNSNAME:
			/* No wildcard matching (RFC 5922 §7.2): '*' is compared literally. */
			if (!is_ip && len == strlen(name) && !strncasecmp(san, name, len))
				return true;
			break;
		case GNUTLS_SAN_IPADDRESS:
			if (is_ip && len == iplen && !memcmp(san, ipbuf, iplen))
				return true;
			break;
		default:
			break;
		}
	}
	if (have_san || is_ip)
		return false;
	char cn[256];
	size_t cnlen = sizeof(cn);
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnlen) < 0)
		return false;
	return !strcasecmp(cn, name);
}

bool tls_cert_allows_purpose(gnutls_x509_crt_t crt, const char *oid)
{
	for (unsigned i = 0;; i++) {
		char kp[128];
		size_t len = sizeof(kp);
		unsigned critical = 0;
		int rc = gnutls_x509_crt_get_key_purpose_oid(crt, i, kp, &len, &critical);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return i == 0; /* no extendedKeyUsage: any purpose (RFC 5280 §4.2.1.12) */
		if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue; /* an OID longer than any we know: not ours */
		if (rc < 0)
			return false; /* unreadable: no purpose can be trusted */
		if (!strcmp(kp, oid) || !strcmp(kp, GNUTLS_KP_ANY))
			return true;
	}
}

static int load_peer_cert(gnutls_session_t session, gnutls_x509_crt_t *crt)
{
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(session, &n);
	if (!chain || n == 0)
		return 1; /* no certificate */
	if (gnutls_x509_crt_init(crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(*crt, &chain[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(*crt);
		return -1;
	}
	return 0;
}

/* Runs during the handshake once the peer's certificate arrived. */
static int verify_peer(gnutls_session_t session)
{
	struct tls_ctx *ctx = gnutls_session_get_ptr(session);
	const struct tls_config *cfg = ctx->cfg;
	gnutls_x509_crt_t crt;
	unsigned status = 0;

	if (cfg->verify_peer == TLS_VERIFY_NONE)
		return 0;
	int have = load_peer_cert(session, &crt);
	if (have == 1) {
		if (cfg->verify_peer == TLS_VERIFY_OPTIONAL && ctx->server)
			return 0;
		log_warnx("%s: peer sent no certificate", ctx->label);
		counter_inc(CNT_TLS_VERIFY_FAILED);
		return -1;
	}
	if (have < 0) {
		log_warnx("%s: peer certificate cannot be parsed", ctx->label);
		counter_inc(CNT_TLS_VERIFY_FAILED);
		return -1;
	}
	if (gnutls_certificate_verify_peers2(session, &status) < 0 || status != 0) {
		gnutls_datum_t why = { NULL, 0 };
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		log_warnx("%s: peer certificate rejected: %s", ctx->label,
			  why.data ? (const char *)why.data : "verification error");
		gnutls_free(why.data);
		gnutls_x509_crt_deinit(crt);
		counter_inc(CNT_TLS_VERIFY_FAILED);
		return -1;
	}
	bool name_ok = cfg->n_peer_names == 0;
	for (unsigned i = 0; i < cfg->n_peer_names && !name_ok; i++)
		name_ok = tls_cert_matches_name(crt, cfg->peer_names[i]);
	/* A client's certificate must be for TLS client authentication, a
	 * server's for TLS server authentication: a phone's client-only
	 * certificate from the same CA cannot stand in for a server. */
	const char *purpose = ctx->server ? GNUTLS_KP_TLS_WWW_CLIENT : GNUTLS_KP_TLS_WWW_SERVER;
	bool purpose_ok = tls_cert_allows_purpose(crt, purpose);
	gnutls_x509_crt_deinit(crt);
	if (!name_ok) {
		log_warnx("%s: peer certificate does not name %s%s", ctx->label,
			  cfg->peer_names[0], cfg->n_peer_names > 1 ? " (or the other expected names)" : "");
		counter_inc(CNT_TLS_VERIFY_FAILED);
		return -1;
	}
	if (!purpose_ok) {
		log_warnx("%s: peer certificate is not for TLS %s authentication (extended key usage)",
			  ctx->label, ctx->server ? "client" : "server");
		counter_inc(CNT_TLS_VERIFY_FAILED);
		return -1;
	}
	return 0;
}

/* Reload: the key holder keeps the key it loaded at start, so a renewed
 * certificate must carry that key's public half. One signature by the
 * holder over a fixed string, checked with the certificate's public key,
 * says so (a certificate for another key would fail every handshake). */
static int key_matches(gnutls_privkey_t key, gnutls_pubkey_t pub)
{
	static const char probe[] = "portcullis reload: does the certificate match the held key?";
	const gnutls_datum_t data = { (unsigned char *)probe, sizeof(probe) - 1 };
	gnutls_datum_t sig = { NULL, 0 };
	int pk = gnutls_pubkey_get_pk_algorithm(pub, NULL);
	gnutls_sign_algorithm_t algo = gnutls_pk_to_sign((gnutls_pk_algorithm_t)pk, GNUTLS_DIG_SHA256);
	int rc = gnutls_privkey_sign_data2(key, algo, 0, &data, &sig);
	if (rc >= 0)
		rc = gnutls_pubkey_verify_data2(pub, algo, 0, &data, &sig);
	gnutls_free(sig.data);
	return rc < 0 ? GNUTLS_E_CERTIFICATE_KEY_MISMATCH : 0;
}

/* The certificate chain is loaded here; the private key stays in the key
 * holder when one runs (the network process never reads the key file) and
 * is read directly only by --check-config and the unit tests. */
static int load_cert_and_key(gnutls_certificate_credentials_t cred, const struct tls_config *cfg,
			     bool check_key)
{
	if (!keyholder_active())
		return gnutls_certificate_set_x509_key_file(cred, cfg->certificate, cfg->key,
							    GNUTLS_X509_FMT_PEM);
	gnutls_pcert_st chain[TLS_MAX_CHAIN];
	unsigned n = TLS_MAX_CHAIN;
	int rc = gnutls_pcert_list_import_x509_file(chain, &n, cfg->certificate, GNUTLS_X509_FMT_PEM,
						    NULL, NULL, 0);
	if (rc < 0)
		return rc;
	gnutls_privkey_t key = NULL;
	rc = keyholder_privkey(cfg->key, chain[0].pubkey, &key);
	if (rc >= 0 && check_key)
		rc = key_matches(key, chain[0].pubkey);
	/* On success the credentials own the chain's contents and the key. */
	if (rc >= 0 && (rc = gnutls_certificate_set_key(cred, NULL, 0, chain, (int)n, key)) >= 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		gnutls_pcert_deinit(&chain[i]);
	if (key)
		gnutls_privkey_deinit(key);
	return rc;
}

/* Credentials are shared by the sessions made with them: each session
 * holds a reference, so a reload can give the context new ones while
 * established connections keep theirs (GnuTLS reads them for the whole
 * session). */
struct tls_cred {
	gnutls_certificate_credentials_t cred;
	unsigned refs;
};

void tls_cred_unref(struct tls_cred *c)
{
	if (!c || --c->refs > 0)
		return;
	gnutls_certificate_free_credentials(c->cred);
	free(c);
}

struct tls_cred *tls_cred_load(const struct tls_config *cfg, const char *label, bool check_key)
{
	struct tls_cred *c = calloc(1, sizeof(*c));
	int rc;
	if (!c || (rc = gnutls_certificate_allocate_credentials(&c->cred)) < 0) {
		log_err("%s: TLS set-up failed: out of memory", label);
		free(c);
		return NULL;
	}
	c->refs = 1;
	if (cfg->certificate[0] && (rc = load_cert_and_key(c->cred, cfg, check_key)) < 0) {
		log_err("%s: cannot load certificate %s / key %s: %s", label, cfg->certificate, cfg->key,
			rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH
				? "the certificate is not for the key the key holder holds (a new key needs a restart)"
				: gnutls_strerror(rc));
		tls_cred_unref(c);
		return NULL;
	}
	if (cfg->ca[0]) {
		rc = gnutls_certificate_set_x509_trust_file(c->cred, cfg->ca, GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			log_err("%s: cannot load CA bundle %s: %s", label, cfg->ca,
				rc < 0 ? gnutls_strerror(rc) : "no certificates in file");
			tls_cred_unref(c);
			return NULL;
		}
	}
	gnutls_certificate_set_verify_function(c->cred, verify_peer);
	return c;
}

void tls_ctx_set_cred(struct tls_ctx *ctx, struct tls_cred *c)
{
	tls_cred_unref(ctx->cred);
	ctx->cred = c;
}

int tls_ctx_init(struct tls_ctx *ctx, const struct tls_config *cfg, bool server, const char *label)
{
	const char *err_pos = NULL;
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->server = server;
	snprintf(ctx->label, sizeof(ctx->label), "%s", label);
	if (!(ctx->cred = tls_cred_load(cfg, label, false)))
		goto fail;
	rc = gnutls_priority_init(&ctx->priority, cfg->priority, &err_pos);
	if (rc < 0) {
		log_err("%s: invalid TLS priority string at \"%s\": %s", label,
			err_pos ? err_pos : "", gnutls_strerror(rc));
		goto fail;
	}
	/* config.c holds every priority string to TLS 1.2; refuse anything
	 * that still enables less rather than trust that. */
	const unsigned *protos = NULL;
	int np = gnutls_priority_protocol_list(ctx->priority, &protos);
	for (int i = 0; i < np; i++) {
		if (protos[i] != GNUTLS_TLS1_2 && protos[i] != GNUTLS_TLS1_3) {
			log_err("%s: the TLS priority string enables %s; only TLS 1.2 and 1.3 are allowed",
				label, gnutls_protocol_get_name((gnutls_protocol_t)protos[i]));
			goto fail;
		}
	}
	if (server && cfg->session_tickets &&
	    (rc = gnutls_session_ticket_key_generate(&ctx->ticket_key)) < 0)
		goto gnutls_fail;
	return 0;
gnutls_fail:
	log_err("%s: TLS set-up failed: %s", label, gnutls_strerror(rc));
fail:
	tls_ctx_deinit(ctx);
	return -1;
}

void tls_ctx_deinit(struct tls_ctx *ctx)
{
	tls_cred_unref(ctx->cred);
	if (ctx->priority)
		gnutls_priority_deinit(ctx->priority);
	if (ctx->ticket_key.data) {
		gnutls_memset(ctx->ticket_key.data, 0, ctx->ticket_key.size);
		gnutls_free(ctx->ticket_key.data);
	}
	if (ctx->resume_data.data)
		gnutls_free(ctx->resume_data.data);
	memset(ctx, 0, sizeof(*ctx));
}

int tls_session_new(struct tls_ctx *ctx, int fd, gnutls_session_t *out, struct tls_cred **held)
{
	gnutls_session_t s;
	unsigned flags = (ctx->server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK;
	int rc = gnutls_init(&s, flags);
	if (rc < 0) {
		log_err("%s: gnutls_init: %s", ctx->label, gnutls_strerror(rc));
		return -1;
	}
	if ((rc = gnutls_priority_set(s, ctx->priority)) < 0 ||
	    (rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, ctx->cred->cred)) < 0)
		goto fail;
	gnutls_session_set_ptr(s, ctx);
	if (ctx->server) {
		gnutls_certificate_server_set_request(s,
			ctx->cfg->verify_peer == TLS_VERIFY_REQUIRED ? GNUTLS_CERT_REQUIRE :
			ctx->cfg->verify_peer == TLS_VERIFY_OPTIONAL ? GNUTLS_CERT_REQUEST :
			GNUTLS_CERT_IGNORE);
		if (ctx->ticket_key.data &&
		    (rc = gnutls_session_ticket_enable_server(s, &ctx->ticket_key)) < 0)
			goto fail;
	} else {
		const char *sni = ctx->cfg->peer_names[0];
		unsigned char ip[16];
		/* SNI carries DNS names only (RFC 6066 §3). */
		if (sni[0] && inet_pton(AF_INET, sni, ip) != 1 && inet_pton(AF_INET6, sni, ip) != 1)
			gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni, strlen(sni));
		if (ctx->resume_data.data)
			gnutls_session_set_data(s, ctx->resume_data.data, ctx->resume_data.size);
	}
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 0); /* our own timer enforces the limit */
	ctx->cred->refs++;
	*held = ctx->cred;
	*out = s;
	return 0;
fail:
	log_err("%s: TLS session set-up: %s", ctx->label, gnutls_strerror(rc));
	gnutls_deinit(s);
	return -1;
}

void tls_peer_identity(gnutls_session_t session, char *out, size_t len)
{
	gnutls_x509_crt_t crt;
	out[0] = '\0';
	/* An identity is something policy may act on (client-certificate
	 * authentication, the trust domain): only a certificate that was
	 * verified during the handshake has one. */
	const struct tls_ctx *ctx = gnutls_session_get_ptr(session);
	if (ctx == NULL || ctx->cfg->verify_peer == TLS_VERIFY_NONE)
		return;
	if (load_peer_cert(session, &crt) != 0)
		return;
	char dns[PC_IDENTITY_MAX] = "";
	for (unsigned i = 0;; i++) {
		char san[PC_IDENTITY_MAX];
		size_t sl = sizeof(san) - 1;
		unsigned critical = 0;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &sl, &critical);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type < 0)
			continue;
		san[sl] = '\0';
		if (type == GNUTLS_SAN_URI) {
			snprintf(out, len, "%s", san);
			gnutls_x509_crt_deinit(crt);
			return;
		}
		if (type == GNUTLS_SAN_DNSNAME && !dns[0])
			snprintf(dns, sizeof(dns), "%s", san);
	}
	if (dns[0]) {
		snprintf(out, len, "%s", dns);
	} else {
		size_t cl = len;
		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out, &cl) < 0)
			out[0] = '\0';
	}
	gnutls_x509_crt_deinit(crt);
}

bool tls_session_peer_matches(gnutls_session_t session, const char *name)
{
	gnutls_x509_crt_t crt;
	if (load_peer_cert(session, &crt) != 0)
		return false;
	bool ok = tls_cert_matches_name(crt, name);
	gnutls_x509_crt_deinit(crt);
	return ok;
}

void tls_ctx_save_session(struct tls_ctx *ctx, gnutls_session_t session)
{
	gnutls_datum_t data;
	if (ctx->server || gnutls_session_get_data2(session, &data) < 0)
		return;
	if (ctx->resume_data.data)
		gnutls_free(ctx->resume_data.data);
	ctx->resume_data = data;
}

const char *tls_alert_text(gnutls_session_t session, int rc, char *buf, size_t len)
{
	if (!session || (rc != GNUTLS_E_WARNING_ALERT_RECEIVED && rc != GNUTLS_E_FATAL_ALERT_RECEIVED))
		return "";
	gnutls_alert_description_t a = gnutls_alert_get(session);
	const char *name = gnutls_alert_get_name(a);
	if (name)
		return name;
	snprintf(buf, len, "alert %u", (unsigned)a);
	return buf;
}
