/* The gateway's HTTP listener (http/server.h) on libevent's evhttp: a fixed
 * table of documents registered at start-up, served to GET and HEAD by exact
 * path. Anything a client can make it spend is capped: header and body
 * sizes, and idle connections time out (libevent 2.1 has no connection cap;
 * the listener is for verifiers, not the public, and binds where configured). */
#include "http/server.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define MAX_DOCUMENTS 16
#define MAX_PATH_LEN 256
#define MAX_HEADERS_SIZE 8192   /* a certificate fetch sends a few hundred bytes */
#define MAX_BODY_SIZE 0         /* GET and HEAD carry no body */
#define TIMEOUT_S 10
/* Verifiers cache the STI certificate for as long as this says (RFC 8224
 * §7.2 expects x5u to be cacheable): an hour keeps a busy peer from fetching
 * it per call, and still lets a re-issued certificate spread within the day. */
#define DOCUMENT_MAX_AGE "public, max-age=3600"

struct document {
	char path[MAX_PATH_LEN];
	char content_type[128];
	uint8_t *body;
	size_t len;
};

struct http_server {
	struct evhttp *http;
	struct document docs[MAX_DOCUMENTS];
	unsigned n_docs;
};

static const struct document *find(const struct http_server *s, const char *path)
{
	for (unsigned i = 0; i < s->n_docs; i++)
		if (strcmp(s->docs[i].path, path) == 0)
			return &s->docs[i];
	return NULL;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct http_server *s = arg;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	/* The path alone: a query string does not select another document. */
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const struct document *d = path ? find(s, path) : NULL;
	if (!d) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		/* evhttp_send_error would clear the headers, Allow included. */
		evhttp_add_header(out, "Allow", "GET, HEAD");
		evhttp_add_header(out, "Connection", "close");
		evhttp_send_reply(req, HTTP_BADMETHOD, "Method Not Allowed", NULL);
		return;
	}
	evhttp_add_header(out, "Content-Type", d->content_type);
	evhttp_add_header(out, "Cache-Control", DOCUMENT_MAX_AGE);
	if (cmd == EVHTTP_REQ_HEAD) {
		/* libevent 2.1 sends no Content-Length for HEAD: say it, no body. */
		char n[24];
		snprintf(n, sizeof(n), "%zu", d->len);
		evhttp_add_header(out, "Content-Length", n);
		evhttp_send_reply(req, HTTP_OK, "OK", NULL);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b || evbuffer_add_reference(b, d->body, d->len, NULL, NULL) < 0) {
		if (b)
			evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

struct http_server *http_server_new(struct event_base *base, const char *address, unsigned port,
				    char *why, size_t whylen)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s || !(s->http = evhttp_new(base))) {
		snprintf(why, whylen, "out of memory");
		free(s);
		return NULL;
	}
	if (port > 65535 || evhttp_bind_socket(s->http, address, (uint16_t)port) < 0) {
		snprintf(why, whylen, "cannot listen on %s port %u", address, port);
		http_server_free(s);
		return NULL;
	}
	evhttp_set_max_headers_size(s->http, MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(s->http, MAX_BODY_SIZE);
	evhttp_set_timeout(s->http, TIMEOUT_S);
	/* Every method reaches on_request, which answers 405 with Allow itself
	 * (evhttp's own refusal of a method it was not told about has no Allow). */
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
				   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
				   EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(s->http, on_request, s);
	return s;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	if (s->http)
		evhttp_free(s->http);
	for (unsigned i = 0; i < s->n_docs; i++)
		free(s->docs[i].body);
	free(s);
}

int http_server_add_document(struct http_server *s, const char *path, const uint8_t *body,
			     size_t len, const char *content_type)
{
	if (s->n_docs == MAX_DOCUMENTS || path[0] != '/' || strlen(path) >= MAX_PATH_LEN ||
	    strlen(content_type) >= sizeof(s->docs[0].content_type) || find(s, path)) {
		log_warnx("http server: cannot serve %s (full, bad or repeated path)", path);
		return -1;
	}
	struct document *d = &s->docs[s->n_docs];
	d->body = malloc(len ? len : 1);
	if (!d->body)
		return -1;
	memcpy(d->body, body, len);
	d->len = len;
	snprintf(d->path, sizeof(d->path), "%s", path);
	snprintf(d->content_type, sizeof(d->content_type), "%s", content_type);
	s->n_docs++;
	return 0;
}
