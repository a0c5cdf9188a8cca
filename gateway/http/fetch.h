/* http/fetch: fetches of small documents (STI certificates for RFC 8224's
 * x5u/info) with libcurl's multi interface on the gateway's libevent loop:
 * never a blocking call. Each fetch is bounded by a size cap, a connect
 * timeout and a total timeout; only https, and http where the client
 * allows it; redirects are not followed; the address connected to (after
 * DNS) is refused when it is special-purpose (loopback, private, link-local,
 * multicast, ... RFC 6890) unless allowed, against SSRF. At most
 * `max_fetches` run at once; more are refused, not queued. */
#ifndef PC_HTTP_FETCH_H
#define PC_HTTP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

struct event_base;
struct http_client;

/* Decides whether a fetch may connect to an address (after DNS, before
 * connect). NULL in the config: every special-purpose address is refused
 * (http_address_special). */
typedef bool (*http_addr_fn)(void *arg, const struct sockaddr *sa, socklen_t len);

struct http_client_config {
	size_t max_bytes;               /* larger bodies fail (HTTP_FETCH_TOO_BIG) */
	unsigned connect_timeout_ms;
	unsigned total_timeout_ms;
	unsigned max_fetches;           /* in flight at once */
	const char *const *http_hosts;  /* hosts (as written in the URL) plain http is
					 * allowed for; every other URL must be https */
	unsigned n_http_hosts;
	http_addr_fn allow_address;     /* NULL: refuse special-purpose addresses */
	void *allow_arg;
	const char *ca_file;            /* trust for https; NULL: the system's */
};

enum http_fetch_status {
	HTTP_FETCH_OK = 0,        /* 2xx, body complete */
	HTTP_FETCH_REFUSED_URL,   /* bad URL, scheme not allowed */
	HTTP_FETCH_REFUSED_ADDR,  /* destination is a special-purpose address */
	HTTP_FETCH_HTTP_ERROR,    /* non-2xx answer (http_code says which) */
	HTTP_FETCH_TOO_BIG,
	HTTP_FETCH_TIMEOUT,
	HTTP_FETCH_NETWORK,       /* DNS, connect, TLS, protocol */
	HTTP_FETCH_BUSY,          /* max_fetches in flight */
	HTTP_FETCH_CANCELLED,     /* the client is being freed */
};

struct http_result {
	enum http_fetch_status status;
	long http_code;
	const uint8_t *body;      /* valid during the callback only */
	size_t len;
	long max_age_s;           /* Cache-Control max-age (or Expires - Date); -1 none */
	bool no_store;            /* Cache-Control no-store/no-cache */
	const char *error;        /* a short text for the log */
};

typedef void (*http_done_fn)(void *arg, const struct http_result *r);

struct http_client *http_client_new(struct event_base *base, const struct http_client_config *cfg);
/* Frees the client; running fetches end with HTTP_FETCH_CANCELLED. */
void http_client_free(struct http_client *c);

/* Starts a GET of url. `done` is called exactly once, never from inside
 * http_fetch (a refusal is delivered from the loop too). 0, or -1 when the
 * fetch could not even be queued (out of memory). */
int http_fetch(struct http_client *c, const char *url, http_done_fn done, void *arg);
unsigned http_client_in_flight(const struct http_client *c);
/* Whether sa is a special-purpose address (RFC 6890 and successors:
 * unspecified, loopback, private, shared, link-local, documentation,
 * benchmarking, multicast, reserved, IPv4-mapped/-compatible/NAT64 forms
 * of those, ULA, ...): what SSRF protection refuses by default. */
bool http_address_special(const struct sockaddr *sa, socklen_t len);
const char *http_fetch_status_name(enum http_fetch_status s);

#endif
