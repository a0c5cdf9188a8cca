/* http/server: the gateway's own HTTP listener (libevent's evhttp), which
 * serves fixed documents registered at start-up: the STI certificate chain
 * at the path of the configured x5u URL (RFC 8224 §7.2). Later handlers
 * (metrics) are registered the same way. GET and HEAD only; everything
 * else 405; unknown paths 404; requests and headers are size-capped, and
 * connections time out. */
#ifndef PC_HTTP_SERVER_H
#define PC_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_server;

/* Binds address:port. NULL on error with why. */
struct http_server *http_server_new(struct event_base *base, const char *address, unsigned port,
				    char *why, size_t whylen);
void http_server_free(struct http_server *s);

/* Serves a copy of body at `path` ("/sti.pem") with content_type. 0 or -1. */
int http_server_add_document(struct http_server *s, const char *path, const uint8_t *body,
			     size_t len, const char *content_type);

#endif
