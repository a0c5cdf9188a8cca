/* http/server: the gateway's own HTTP listener (libevent's evhttp), which
 * serves documents registered at start-up: fixed ones (the STI certificate
 * chain at the path of the configured x5u URL, RFC 8224 §7.2), open to
 * anyone who reaches the listener, and live ones (metrics, health) made by
 * a callback at each request, only for sources the access callback admits
 * (403 to others). GET and HEAD only; everything else 405; unknown paths
 * 404; requests and headers are size-capped, and connections time out.
 * Plain HTTP, or HTTPS through a TLS layer given by http_server_set_tls. */
#ifndef PC_HTTP_SERVER_H
#define PC_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sockaddr;
struct http_server;

/* Binds address:port. NULL on error with why. */
struct http_server *http_server_new(struct event_base *base, const char *address, unsigned port,
				    char *why, size_t whylen);
void http_server_free(struct http_server *s);

/* Serves a copy of body at `path` ("/sti.pem") with content_type. 0 or -1. */
int http_server_add_document(struct http_server *s, const char *path, const uint8_t *body,
			     size_t len, const char *content_type);

/* Makes a live document: writes at most len bytes into buf and returns the
 * length, or -1 (the client gets 500). Runs on the event loop: keep it cheap. */
typedef long (*http_fill_fn)(void *ctx, char *buf, size_t len);
/* Whether the client at `from`, which asked for the host name `host` (the
 * Host header without its port; NULL when the request had none), may have
 * live documents. */
typedef bool (*http_access_fn)(void *ctx, const struct sockaddr *from, const char *host);
/* The host part of a Host header value ("127.0.0.1:8080" -> "127.0.0.1",
 * "[::1]:8080" -> "::1", "Name" -> "name"), lower-cased into out; -1 when
 * it does not fit or is not a host[:port]. */
int http_host_name(const char *header, char *out, size_t outlen);
/* Whether host (http_host_name's) is an IPv4 or IPv6 address literal:
 * a browser reaching the listener by a literal address is not following a
 * DNS name someone else controls (DNS rebinding). */
bool http_host_is_address(const char *host);

/* Serves what fill makes (at most max_len bytes) at `path`, never cached,
 * to clients `access` admits; before any access callback is set, to none.
 * Sent with a Content-Security-Policy allowing this origin only (no inline
 * script or style), nosniff and no Referer. */
int http_server_add_live(struct http_server *s, const char *path, const char *content_type,
			 size_t max_len, http_fill_fn fill, void *ctx);
void http_server_set_access(struct http_server *s, http_access_fn access, void *ctx);

/* HTTPS (http.tls): the listener speaks only TLS, through bufferevents the
 * composition root's functions make (transport/http_tls.h; http/ knows no
 * TLS library). wrap makes one for each accepted connection (evhttp sets
 * the socket on it) and its handle; verified says whether that
 * connection's client showed a certificate that verified; release comes
 * just before the connection is freed. With these set, a live document
 * also needs a verified client certificate (403 without); fixed documents
 * (the x5u chain) go to any client that completed the handshake. Set
 * before the loop runs. */
struct bufferevent;
struct http_tls_ops {
	struct bufferevent *(*wrap)(void *ctx, struct event_base *base, void **link);
	bool (*verified)(void *link);
	void (*release)(void *link);
};
void http_server_set_tls(struct http_server *s, const struct http_tls_ops *ops, void *ctx);

#endif
