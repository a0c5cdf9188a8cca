/* The fetcher of http/fetch.h: libcurl's multi interface driven by the
 * gateway's libevent loop (curl tells us which sockets to watch and when its
 * timer is due; we tell it what happened with curl_multi_socket_action), so
 * no fetch ever blocks the loop. Each transfer is locked down before it
 * starts: the URL parsed and its scheme checked against the client's rules,
 * no redirects, no proxy from the environment, no cookies, a size cap on the
 * body, timeouts, and a check of every address after DNS (opensocket
 * callback) so a name that resolves to an internal address is refused. */
#include "http/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "http/cache.h"

/* Response headers looked at per transfer (curl caps each line itself). */
#define MAX_HEADER_LINES 100

struct xfer {
	struct http_client *c;
	struct xfer *prev, *next;
	CURL *easy;                  /* NULL: a refusal waiting for the loop */
	CURLU *url;
	struct event *later;         /* a refusal's zero-timeout event */
	http_done_fn done;
	void *arg;
	enum http_fetch_status refusal;
	const char *refusal_text;
	uint8_t *body;
	size_t len, cap;
	bool too_big, refused_addr;
	unsigned header_lines;
	struct http_cache_info cache;
	char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct http_client_config cfg;
	char **http_hosts;           /* copies of cfg.http_hosts */
	char *ca_file;
	struct xfer *xfers;
	struct watch *watches;       /* freed at the end if curl has not */
	unsigned in_flight;          /* transfers in curl (refusals not counted) */
	unsigned dispatching;        /* inside a done callback */
	bool free_pending;           /* http_client_free was called from one */
};

/* Per-socket state curl asked us to watch (curl_multi_assign). */
struct watch {
	struct watch *prev, *next;
	struct event *ev;
};

const char *http_fetch_status_name(enum http_fetch_status s)
{
	switch (s) {
	case HTTP_FETCH_OK: return "ok";
	case HTTP_FETCH_REFUSED_URL: return "refused-url";
	case HTTP_FETCH_REFUSED_ADDR: return "refused-address";
	case HTTP_FETCH_HTTP_ERROR: return "http-error";
	case HTTP_FETCH_TOO_BIG: return "too-big";
	case HTTP_FETCH_TIMEOUT: return "timeout";
	case HTTP_FETCH_NETWORK: return "network";
	case HTTP_FETCH_BUSY: return "busy";
	case HTTP_FETCH_CANCELLED: return "cancelled";
	}
	return "?";
}

unsigned http_client_in_flight(const struct http_client *c) { return c->in_flight; }

static void unlink_xfer(struct xfer *x)
{
	struct http_client *c = x->c;
	if (x->prev)
		x->prev->next = x->next;
	else if (c->xfers == x)
		c->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

static void free_xfer(struct xfer *x)
{
	if (x->easy) {
		curl_multi_remove_handle(x->c->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->c->in_flight--;
	}
	if (x->later)
		event_free(x->later);
	curl_url_cleanup(x->url);
	free(x->body);
	free(x);
}

static void client_destroy(struct http_client *c);

/* Ends x: out of the list first (the callback may start other fetches or
 * free the client), one call of done, then the memory. */
static void finish(struct xfer *x, struct http_result *r)
{
	struct http_client *c = x->c;
	unlink_xfer(x);
	r->body = x->body;
	if (!r->error)
		r->error = x->errbuf[0] ? x->errbuf : http_fetch_status_name(r->status);
	c->dispatching++;
	x->done(x->arg, r);
	c->dispatching--;
	free_xfer(x);
}

static void finish_status(struct xfer *x, enum http_fetch_status st, const char *why)
{
	struct http_result r = { .status = st, .max_age_s = -1, .error = why };
	finish(x, &r);
}

static enum http_fetch_status status_of(const struct xfer *x, CURLcode rc, long code)
{
	if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return HTTP_FETCH_TOO_BIG;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return HTTP_FETCH_TIMEOUT;
	if (rc != CURLE_OK)
		return x->refused_addr ? HTTP_FETCH_REFUSED_ADDR : HTTP_FETCH_NETWORK;
	return code >= 200 && code <= 299 ? HTTP_FETCH_OK : HTTP_FETCH_HTTP_ERROR;
}

/* Hands every transfer curl has finished to its caller. */
static void reap(struct http_client *c)
{
	CURLMsg *m;
	int left;
	while (!c->free_pending && (m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		CURLcode rc = m->data.result; /* m is invalid once the handle is removed */
		struct http_result r = { .max_age_s = -1 };
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.http_code);
		r.status = status_of(x, rc, r.http_code);
		r.len = r.status == HTTP_FETCH_OK || r.status == HTTP_FETCH_HTTP_ERROR ? x->len : 0;
		r.max_age_s = http_cache_lifetime(&x->cache, time(NULL));
		r.no_store = x->cache.no_store;
		if (r.status == HTTP_FETCH_REFUSED_ADDR)
			r.error = "destination is a special-purpose address";
		else if (r.status == HTTP_FETCH_TOO_BIG)
			r.error = "body over the size limit";
		else if (rc == CURLE_OK)
			r.error = http_fetch_status_name(r.status);
		finish(x, &r);
	}
	if (c->free_pending && !c->dispatching)
		client_destroy(c);
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	reap(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int running;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	reap(c);
}

static void drop_watch(struct http_client *c, struct watch *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		c->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	if (w->ev)
		event_free(w->ev);
	free(w);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl wants, or stop. */
static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct watch *w = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (w) {
			curl_multi_assign(c->multi, s, NULL);
			drop_watch(c, w);
		}
		return 0;
	}
	short ev = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
			   (what & CURL_POLL_OUT ? EV_WRITE : 0));
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -1;
		w->next = c->watches;
		if (c->watches)
			c->watches->prev = w;
		c->watches = w;
		curl_multi_assign(c->multi, s, w);
	} else if (w->ev) {
		event_free(w->ev);
	}
	w->ev = event_new(c->base, s, ev, on_socket_event, c);
	if (!w->ev || event_add(w->ev, NULL) < 0) {
		log_warnx("http: cannot watch a socket");
		return -1;
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl's one timer (-1 stops it). */
static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	if (timeout_ms < 0)
		return event_del(c->timer);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	return event_add(c->timer, &tv);
}

/* CURLOPT_WRITEFUNCTION: the body, up to max_bytes. Returning less than
 * asked stops the transfer (CURLE_WRITE_ERROR, reported as too big). */
static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t max = x->c->cfg.max_bytes;
	if (n > max - x->len) {
		x->too_big = true;
		return 0;
	}
	if (x->len + n > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		while (cap < x->len + n)
			cap = cap > max / 2 ? max : cap * 2;
		uint8_t *b = realloc(x->body, cap);
		if (!b)
			return 0;
		x->body = b;
		x->cap = cap;
	}
	memcpy(x->body + x->len, data, n);
	x->len += n;
	return n;
}

/* CURLOPT_HEADERFUNCTION: freshness headers of the final response; an
 * interim (1xx) response's headers start over with the next status line. */
static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		http_cache_reset(&x->cache);
		x->header_lines = 0;
	} else if (x->header_lines++ < MAX_HEADER_LINES) {
		http_cache_header(&x->cache, data, n);
	}
	return n;
}

/* CURLOPT_OPENSOCKETFUNCTION: every address curl is about to connect to,
 * after DNS: the SSRF check. A refused address makes curl try the next. */
static curl_socket_t open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = arg;
	const struct http_client_config *cfg = &x->c->cfg;
	bool ok = (a->family == AF_INET || a->family == AF_INET6) &&
		  (cfg->allow_address ? cfg->allow_address(cfg->allow_arg, &a->addr, a->addrlen)
				      : !http_address_special(&a->addr, a->addrlen));
	if (!ok) {
		x->refused_addr = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
	struct xfer *x = arg;
	struct http_client *c = x->c;
	finish_status(x, x->refusal, x->refusal_text);
	if (c->free_pending && !c->dispatching)
		client_destroy(c);
}

/* A refusal, delivered from the loop (never from inside http_fetch). */
static int refuse_later(struct xfer *x, enum http_fetch_status st, const char *why)
{
	x->refusal = st;
	x->refusal_text = why;
	x->later = evtimer_new(x->c->base, on_later, x);
	static const struct timeval zero = { 0, 0 };
	if (!x->later || evtimer_add(x->later, &zero) < 0)
		return -1;
	return 0;
}

/* Whether plain http may reach host:port. An entry "host" allows any port
 * of the host; "host:port" ("[v6]:port") only that port, so a loopback
 * entry need not open every local service to an attacker's x5u. */
static bool http_allowed(const struct http_client *c, const char *host, const char *port)
{
	size_t hlen = strlen(host);
	for (unsigned i = 0; i < c->cfg.n_http_hosts; i++) {
		const char *e = c->http_hosts[i];
		if (strcasecmp(e, host) == 0)
			return true;
		if (strncasecmp(e, host, hlen) == 0 && e[hlen] == ':' && port &&
		    strcmp(e + hlen + 1, port) == 0)
			return true;
	}
	return false;
}

/* The scheme rule on the parsed URL: https always, http only for the hosts
 * the client names. NULL when allowed, else why not; *plain is set for http. */
static const char *check_url(const struct http_client *c, CURLU *u, const char *url, bool *plain)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	const char *why = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		return "unparsable URL";
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		why = "URL without a scheme or host";
	else if (strcasecmp(scheme, "https") == 0)
		*plain = false;
	else if (strcasecmp(scheme, "http") == 0 &&
		 curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
		 http_allowed(c, host, port))
		*plain = true;
	else
		why = "scheme not allowed for this host";
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return why;
}

static int setup_easy(struct http_client *c, struct xfer *x, bool plain)
{
	CURL *e = x->easy;
	const struct http_client_config *cfg = &c->cfg;
	CURLcode rc = CURLE_OK;
#define SET(opt, val) if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
	SET(CURLOPT_CURLU, x->url);
	SET(CURLOPT_PROTOCOLS_STR, plain ? "http,https" : "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROXY, "");          /* never a proxy from http_proxy/https_proxy */
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, (long)cfg->total_timeout_ms);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cfg->max_bytes);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_cb);
	SET(CURLOPT_OPENSOCKETDATA, x);
	SET(CURLOPT_PRIVATE, x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_USERAGENT, "portcullis");
	if (c->ca_file)
		SET(CURLOPT_CAINFO, c->ca_file);
#undef SET
	if (rc != CURLE_OK) {
		log_warnx("http: setting up a transfer: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

int http_fetch(struct http_client *c, const char *url, http_done_fn done, void *arg)
{
	if (c->free_pending)
		return -1; /* a done callback of a client being freed */
	struct xfer *x = calloc(1, sizeof(*x));
	if (!x)
		return -1;
	x->c = c;
	x->done = done;
	x->arg = arg;
	http_cache_reset(&x->cache);
	x->url = curl_url();
	if (!x->url) {
		free(x);
		return -1;
	}
	bool plain = false;
	const char *why = check_url(c, x->url, url, &plain);
	int rc;
	if (why)
		rc = refuse_later(x, HTTP_FETCH_REFUSED_URL, why);
	else if (c->in_flight >= c->cfg.max_fetches)
		rc = refuse_later(x, HTTP_FETCH_BUSY, "too many fetches in flight");
	else if (!(x->easy = curl_easy_init()))
		rc = -1;
	else {
		c->in_flight++;
		rc = setup_easy(c, x, plain);
		if (rc == 0 && curl_multi_add_handle(c->multi, x->easy) != CURLM_OK)
			rc = -1;
	}
	if (rc < 0) {
		free_xfer(x);
		return -1;
	}
	x->next = c->xfers;
	if (c->xfers)
		c->xfers->prev = x;
	c->xfers = x;
	return 0;
}

struct http_client *http_client_new(struct event_base *base, const struct http_client_config *cfg)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("http: curl_global_init failed");
		return NULL;
	}
	struct http_client *c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->base = base;
	c->cfg = *cfg;
	c->cfg.http_hosts = NULL;
	c->cfg.ca_file = NULL;
	if (cfg->n_http_hosts && !(c->http_hosts = calloc(cfg->n_http_hosts, sizeof(char *))))
		goto fail;
	for (unsigned i = 0; i < cfg->n_http_hosts; i++)
		if (!(c->http_hosts[i] = strdup(cfg->http_hosts[i])))
			goto fail;
	if (cfg->ca_file && !(c->ca_file = strdup(cfg->ca_file)))
		goto fail;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (!c->multi || !c->timer)
		goto fail;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)(cfg->max_fetches ? cfg->max_fetches : 1));
	return c;
fail:
	log_warnx("http: cannot create the fetch client (out of memory)");
	if (c)
		client_destroy(c);
	else
		curl_global_cleanup();
	return NULL;
}

/* Ends every fetch with HTTP_FETCH_CANCELLED, then frees the client. */
static void client_destroy(struct http_client *c)
{
	c->free_pending = true;
	c->dispatching++; /* a callback calling http_client_free again only re-marks */
	while (c->xfers)
		finish_status(c->xfers, HTTP_FETCH_CANCELLED, "client freed");
	c->dispatching--;
	if (c->timer)
		event_free(c->timer);
	/* Cleaning the multi handle closes its cached connections; whatever
	 * socket it did not say CURL_POLL_REMOVE for is unwatched here. */
	if (c->multi)
		curl_multi_cleanup(c->multi);
	while (c->watches)
		drop_watch(c, c->watches);
	for (unsigned i = 0; c->http_hosts && i < c->cfg.n_http_hosts; i++)
		free(c->http_hosts[i]);
	free(c->http_hosts);
	free(c->ca_file);
	free(c);
	curl_global_cleanup();
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->dispatching) {
		/* From inside a done callback: finish after it returns. */
		c->free_pending = true;
		return;
	}
	client_destroy(c);
}
