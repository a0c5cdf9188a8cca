/* sti/repo: the verification service's certificate repository. A call
 * names a certificate by its x5u URL; the repository answers from the cache
 * (stir/cache) when it can, else fetches the URL (http/fetch), checks the
 * chain (stir/cert) and caches it. Calls that name the same URL while it is
 * being fetched wait on that one fetch. A URL that failed is remembered for
 * a short time, so calls naming a dead or hostile URL do not each cost a
 * fetch. Waiters are bounded by the calls in set-up (each call waits once);
 * fetches in flight by the HTTP client's max_fetches. */
#ifndef PC_STI_REPO_H
#define PC_STI_REPO_H

#include <stdbool.h>
#include <stddef.h>

#include "http/fetch.h"
#include "stir/cert.h"
#include "stir/result.h"

struct event_base;
struct sti_repo;
struct sti_wait;

struct sti_repo_config {
	const char *trust_file;
	const char *crl_file;              /* "" or NULL: none */
	unsigned cache_entries;
	unsigned cache_max_age_s;
	unsigned failure_ttl_s;            /* how long a failed URL is remembered */
	size_t max_cert_size;
	unsigned connect_timeout_ms, total_timeout_ms;
	unsigned max_fetches;
	const char *const *http_hosts;     /* plain http allowed for these hosts */
	unsigned n_http_hosts;
	http_addr_fn allow_address;        /* NULL: refuse special-purpose addresses */
	void *allow_arg;
};

/* NULL on error, with why (the trust list does not load, ...). */
struct sti_repo *sti_repo_new(struct event_base *base, const struct sti_repo_config *cfg,
			      char *why, size_t whylen);
void sti_repo_free(struct sti_repo *r);

/* Called once with the outcome for a waiter: STIR_PASSED and the chain
 * (valid during the call only), or the failure. */
typedef void (*sti_cert_fn)(void *arg, enum stir_result r, const struct stir_cert *cert);

/* Looks url up at time `now` (wall clock, seconds). Known (a cached chain or
 * a remembered failure): returns the result, *cert set on STIR_PASSED, and
 * `done` is never called. Unknown: starts or joins the fetch, sets *wait
 * (for sti_wait_cancel) and returns STIR_RESULT__COUNT; `done` is called
 * later from the event loop, exactly once unless cancelled. */
enum stir_result sti_repo_get(struct sti_repo *r, const char *url, long now,
			      const struct stir_cert **cert, sti_cert_fn done, void *arg,
			      struct sti_wait **wait);
/* The same for RFC 4474's Identity-Info: the chain is checked with
 * stir_cert_check_rsa, and cached apart from any x5u chain of the same URL. */
enum stir_result sti_repo_get_rsa(struct sti_repo *r, const char *url, long now,
				  const struct stir_cert **cert, sti_cert_fn done, void *arg,
				  struct sti_wait **wait);
/* The waiter gives up (its call ended): `done` will not be called. */
void sti_wait_cancel(struct sti_wait *w);

/* Cluster mode: certificates shared between nodes (gateway/cluster/). A
 * URL not cached here is looked up there first (`get`, by the SHA-256 of
 * the cache key in hex: the store never sees a URL); what comes back is
 * checked exactly as a fetched chain is, and only a chain that passes is
 * used, else the URL is fetched as usual. A chain fetched and checked here
 * is offered (`put`) for as long as this node caches it. Certificates only:
 * never a result, never a failure. get: 0 and `found` is called once
 * later (bytes NULL: not there), or -1 and `found` is never called. */
typedef void sti_found_fn(void *arg, const void *bytes, size_t len, long ttl_s);
struct sti_shared {
	int (*get)(void *ctx, const char *name, sti_found_fn *found, void *arg);
	void (*put)(void *ctx, const char *name, const void *bytes, size_t len, unsigned ttl_s);
	void *ctx;
};
/* NULL: not shared (again). */
void sti_repo_set_shared(struct sti_repo *r, const struct sti_shared *s);

/* Fetches in flight and chains cached (tests, status). */
unsigned sti_repo_fetching(const struct sti_repo *r);
unsigned sti_repo_cached(const struct sti_repo *r);

#endif
