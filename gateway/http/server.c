/* The gateway's HTTP listener (http/server.h) on libevent's evhttp: a fixed
 * table of documents registered at start-up, served to GET and HEAD by exact
 * path; a live one is made into its own buffer at each request, after the
 * access callback admitted the client's address. Anything a client can
 * make it spend is capped: header and body sizes, idle connections time
 * out, every reply closes its connection, and the number of open
 * connections is capped. libevent 2.1 has no connection
 * cap of its own (evhttp_set_max_connections came in 2.2), so the server
 * makes each connection's bufferevent itself (evhttp_set_bevcb) and holds a
 * reference to it: a connection counts until evhttp has freed it (its
 * callbacks cleared by bufferevent_free), found by a sweep every
 * SWEEP_MS; at the cap the listener stops accepting (the kernel's backlog
 * waits) and a connection older than MAX_LIFETIME_S is shut down, so a
 * trickling client cannot hold a slot for ever. With TLS (http_server_set_tls)
 * the bufferevent comes from the TLS layer instead and counts the same way,
 * from accept on, handshake included. */
#include "http/server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"

#define MAX_DOCUMENTS 16
#define MAX_PATH_LEN 256
#define MAX_HEADERS_SIZE 8192   /* a certificate fetch sends a few hundred bytes */
#define MAX_BODY_SIZE 0         /* GET and HEAD carry no body */
#define TIMEOUT_S 10
#define MAX_CONNECTIONS 128     /* open at once; the listener pauses at the cap */
#define MAX_LIFETIME_S 30       /* one request per connection needs far less */
#define SWEEP_MS 200            /* how soon a closed connection's slot frees */
/* A connection's input is read to this and no further until evhttp drains it. */
#define READ_HIGH_WATER (2 * MAX_HEADERS_SIZE)
/* Verifiers cache the STI certificate for as long as this says (RFC 8224
 * §7.2 expects x5u to be cacheable): an hour keeps a busy peer from fetching
 * it per call, and still lets a re-issued certificate spread within the day. */
#define DOCUMENT_MAX_AGE "public, max-age=3600"
/* Every live document's policy: only this origin's own files and fetches. */
#define LIVE_CSP "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct document {
	char path[MAX_PATH_LEN];
	char content_type[128];
	uint8_t *body;
	size_t len;             /* fixed: the body's length; live: the buffer's size */
	http_fill_fn fill;      /* NULL for a fixed document */
	void *fill_ctx;
};

struct connection {
	struct bufferevent *bev;   /* our reference; evhttp holds the other */
	void *tls;                 /* the TLS layer's handle, or NULL */
	time_t opened;
	int shut;                  /* shut down for age, waiting for evhttp */
};

struct http_server {
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *listener;
	struct event *sweep;
	struct connection conns[MAX_CONNECTIONS];
	unsigned n_conns;
	int paused;                 /* listener disabled at the cap */
	struct document docs[MAX_DOCUMENTS];
	unsigned n_docs;
	http_access_fn access;
	void *access_ctx;
	const struct http_tls_ops *tls; /* NULL: plain HTTP */
	void *tls_ctx;
};

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* evhttp frees a connection with bufferevent_free, which clears the
 * callbacks; while evhttp owns it the error callback is always set. */
static int freed_by_evhttp(struct bufferevent *bev)
{
	bufferevent_event_cb eventcb = NULL;
	bufferevent_getcb(bev, NULL, NULL, &eventcb, NULL);
	return eventcb == NULL;
}

static void arm_sweep(struct http_server *s)
{
	struct timeval tv = { 0, SWEEP_MS * 1000 };
	if (s->n_conns > 0 && !evtimer_pending(s->sweep, NULL))
		evtimer_add(s->sweep, &tv);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct http_server *s = arg;
	time_t now = now_s();
	for (unsigned i = 0; i < s->n_conns;) {
		struct connection *c = &s->conns[i];
		if (freed_by_evhttp(c->bev)) {
			if (c->tls)
				s->tls->release(c->tls);
			bufferevent_decref(c->bev); /* the last reference: closes the socket */
			s->conns[i] = s->conns[--s->n_conns];
			continue;
		}
		if (!c->shut && now - c->opened >= MAX_LIFETIME_S) {
			/* evhttp sees end of file and frees the connection itself. */
			evutil_socket_t cfd = bufferevent_getfd(c->bev);
			if (cfd >= 0)
				shutdown(cfd, SHUT_RDWR);
			c->shut = 1;
		}
		i++;
	}
	if (s->paused && s->n_conns < MAX_CONNECTIONS) {
		evconnlistener_enable(s->listener);
		s->paused = 0;
	}
	arm_sweep(s);
}

/* evhttp asks for each accepted connection's bufferevent here. */
static struct bufferevent *on_connection(struct event_base *base, void *arg)
{
	struct http_server *s = arg;
	/* The listener is disabled at the cap, which stops its accept loop, so
	 * a full table is not reached here; if it were, evhttp makes its own. */
	if (s->n_conns == MAX_CONNECTIONS)
		return NULL;
	void *tls = NULL;
	struct bufferevent *bev = s->tls ? s->tls->wrap(s->tls_ctx, base, &tls) :
		bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;
	bufferevent_setwatermark(bev, EV_READ, 0, READ_HIGH_WATER);
	bufferevent_incref(bev);
	s->conns[s->n_conns++] = (struct connection){ .bev = bev, .tls = tls, .opened = now_s() };
	if (s->n_conns == MAX_CONNECTIONS) {
		evconnlistener_disable(s->listener);
		s->paused = 1;
		log_warnx("http server: %u connections open, not accepting more for now",
			  MAX_CONNECTIONS);
	}
	arm_sweep(s);
	return bev;
}

static const struct document *find(const struct http_server *s, const char *path)
{
	for (unsigned i = 0; i < s->n_docs; i++)
		if (strcmp(s->docs[i].path, path) == 0)
			return &s->docs[i];
	return NULL;
}

/* 200 with body (HEAD: its length alone). `copy` when body is a buffer the
 * next request overwrites; a fixed document is sent by reference. */
static void send_body(struct evhttp_request *req, const uint8_t *body, size_t len, int copy)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* libevent 2.1 sends no Content-Length for HEAD: say it, no body. */
		char n[24];
		snprintf(n, sizeof(n), "%zu", len);
		evhttp_add_header(out, "Content-Length", n);
		evhttp_send_reply(req, HTTP_OK, "OK", NULL);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b || (copy ? evbuffer_add(b, body, len) :
			  evbuffer_add_reference(b, body, len, NULL, NULL)) < 0) {
		if (b)
			evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

/* Over TLS, whether the request's connection has a verified client
 * certificate; plain HTTP has none to check. */
static bool client_certified(const struct http_server *s, struct evhttp_connection *conn)
{
	if (!s->tls)
		return true;
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	for (unsigned i = 0; bev && i < s->n_conns; i++)
		if (s->conns[i].bev == bev)
			return s->conns[i].tls && s->tls->verified(s->conns[i].tls);
	return false;
}

/* A live document's answer: 403 to a client the access callback does not
 * admit (evhttp knows the peer's address) or, over TLS, without a verified
 * client certificate, else the fill callback's output, never cached. The
 * fill runs for HEAD too, for its Content-Length. */
static void send_live(struct http_server *s, struct evhttp_request *req, const struct document *d)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const struct sockaddr *from = conn ? evhttp_connection_get_addr(conn) : NULL;
	const char *header = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	char host[256];
	if (header && http_host_name(header, host, sizeof(host)) < 0) {
		evhttp_send_error(req, 400, "Bad Host");
		return;
	}
	if (!from || !s->access || !s->access(s->access_ctx, from, header ? host : NULL) ||
	    !client_certified(s, conn)) {
		evhttp_send_error(req, 403, "Forbidden");
		return;
	}
	long n = d->fill(d->fill_ctx, (char *)d->body, d->len);
	if (n < 0 || (size_t)n > d->len) {
		log_warnx("http server: %s could not be made", d->path);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Content-Type", d->content_type);
	evhttp_add_header(out, "Cache-Control", "no-store");
	/* The status page is a live document: its script, styles and data come
	 * from this listener alone, nothing inline, and no other site frames it
	 * or reads a document as another type. Harmless on text and JSON. */
	evhttp_add_header(out, "Content-Security-Policy", LIVE_CSP);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	send_body(req, d->body, (size_t)n, 1);
}

int http_host_name(const char *header, char *out, size_t outlen)
{
	const char *h = header, *end;
	if (*h == '[') {
		if (!(end = strchr(++h, ']')) || (end[1] && end[1] != ':'))
			return -1;
	} else {
		end = h + strcspn(h, ":");
	}
	const char *port = *end == ']' ? end + 1 : end;
	if (*port == ':')
		for (const char *p = port + 1; *p; p++)
			if (*p < '0' || *p > '9')
				return -1;
	size_t n = (size_t)(end - h);
	if (n == 0 || n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)h[i];
		if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == '@')
			return -1;
		out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	out[n] = '\0';
	return 0;
}

bool http_host_is_address(const char *host)
{
	struct in6_addr a;
	return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
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
		evhttp_send_error(req, HTTP_NOTFOUND, NULL); /* says Connection: close */
		return;
	}
	/* One request per connection: a slot is not held between requests. */
	evhttp_add_header(out, "Connection", "close");
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		/* evhttp_send_error would clear the headers, Allow included. */
		evhttp_add_header(out, "Allow", "GET, HEAD");
		evhttp_send_reply(req, HTTP_BADMETHOD, "Method Not Allowed", NULL);
		return;
	}
	if (d->fill) {
		send_live(s, req, d);
		return;
	}
	evhttp_add_header(out, "Content-Type", d->content_type);
	evhttp_add_header(out, "Cache-Control", DOCUMENT_MAX_AGE);
	send_body(req, d->body, d->len, 0);
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
	s->base = base;
	struct evhttp_bound_socket *bound = port > 65535 ? NULL :
		evhttp_bind_socket_with_handle(s->http, address, (uint16_t)port);
	if (!bound) {
		snprintf(why, whylen, "cannot listen on %s port %u", address, port);
		http_server_free(s);
		return NULL;
	}
	s->listener = evhttp_bound_socket_get_listener(bound);
	if (!(s->sweep = evtimer_new(base, on_sweep, s))) {
		snprintf(why, whylen, "out of memory");
		http_server_free(s);
		return NULL;
	}
	evhttp_set_bevcb(s->http, on_connection, s);
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
		evhttp_free(s->http); /* frees every connection: our references are the last */
	for (unsigned i = 0; i < s->n_conns; i++) {
		if (s->conns[i].tls)
			s->tls->release(s->conns[i].tls);
		bufferevent_decref(s->conns[i].bev);
	}
	if (s->sweep)
		event_free(s->sweep);
	for (unsigned i = 0; i < s->n_docs; i++)
		free(s->docs[i].body);
	free(s);
}

/* A new entry with a buffer of len bytes, not yet counted; NULL (logged). */
static struct document *new_document(struct http_server *s, const char *path, size_t len,
				     const char *content_type)
{
	if (s->n_docs == MAX_DOCUMENTS || path[0] != '/' || strlen(path) >= MAX_PATH_LEN ||
	    strlen(content_type) >= sizeof(s->docs[0].content_type) || find(s, path)) {
		log_warnx("http server: cannot serve %s (full, bad or repeated path)", path);
		return NULL;
	}
	struct document *d = &s->docs[s->n_docs];
	*d = (struct document){ .body = malloc(len ? len : 1), .len = len };
	if (!d->body)
		return NULL;
	snprintf(d->path, sizeof(d->path), "%s", path);
	snprintf(d->content_type, sizeof(d->content_type), "%s", content_type);
	return d;
}

int http_server_add_document(struct http_server *s, const char *path, const uint8_t *body,
			     size_t len, const char *content_type)
{
	struct document *d = new_document(s, path, len, content_type);
	if (!d)
		return -1;
	memcpy(d->body, body, len);
	s->n_docs++;
	return 0;
}

int http_server_add_live(struct http_server *s, const char *path, const char *content_type,
			 size_t max_len, http_fill_fn fill, void *ctx)
{
	struct document *d = new_document(s, path, max_len, content_type);
	if (!d)
		return -1;
	d->fill = fill;
	d->fill_ctx = ctx;
	s->n_docs++;
	return 0;
}

void http_server_set_access(struct http_server *s, http_access_fn access, void *ctx)
{
	s->access = access;
	s->access_ctx = ctx;
}

void http_server_set_tls(struct http_server *s, const struct http_tls_ops *ops, void *ctx)
{
	s->tls = ops;
	s->tls_ctx = ctx;
}
