/* transport/http_tls: HTTPS for the gateway's own HTTP listener. evhttp
 * (http/server.c) knows no TLS and libevent 2.1 has no GnuTLS bufferevent,
 * so each accepted connection gets a bufferevent made here: evhttp reads
 * and writes plain HTTP on it while a GnuTLS session (tls.c: credentials of
 * http.tls, the private key in the key holder, TLS 1.2+ by the priority
 * string, the client certificate checked inside the handshake) carries it
 * over the socket evhttp hands it. http/ cannot include this module: the
 * composition root passes these functions to http_server_set_tls. */
#ifndef PC_TRANSPORT_HTTP_TLS_H
#define PC_TRANSPORT_HTTP_TLS_H

#include <stdbool.h>

#include "config/config.h"

struct bufferevent;
struct event_base;
struct http_tls;
struct tls_cred;

/* The listener's TLS context from cfg (which must outlive it: the running
 * configuration). NULL when the credentials do not load (logged). */
struct http_tls *http_tls_new(const struct tls_config *cfg);
void http_tls_free(struct http_tls *t);

/* For evhttp's bevcb: a bufferevent that speaks TLS on the socket evhttp
 * will set on it; *link is the connection's handle for the two calls
 * below. NULL without memory. ctx is the struct http_tls. */
struct bufferevent *http_tls_wrap(void *ctx, struct event_base *base, void **link);
/* Whether the connection's client showed a certificate that verified
 * (chain to http.tls.ca, name, key purpose) in a completed handshake. */
bool http_tls_client_verified(void *link);
/* The connection is about to be freed: its events stop. */
void http_tls_release(void *link);

/* Reload: new credentials from cand (the certificate must be for the key
 * the key holder holds), NULL when they do not load (logged); then
 * installed for new handshakes, established ones keep theirs. */
struct tls_cred *http_tls_cred_load(const struct tls_config *cand);
void http_tls_cred_install(struct http_tls *t, struct tls_cred *c);
void http_tls_cred_free(struct tls_cred *c);

#endif
