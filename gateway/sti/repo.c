/* sti/repo: certificates by x5u URL for the verification service: the cache
 * first, else one fetch per URL shared by every call that names it, the
 * fetched chain checked against the STI-CA trust list before it is cached
 * or handed to anyone. See repo.h for the bounds. An RFC 4474 certificate
 * (sti_repo_get_rsa) is checked as an RSA chain and kept apart: its fetch
 * and cache entry are keyed by "rsa " and the URL (a URL has no space), so
 * a chain checked for one scheme is never handed out for the other. In
 * cluster mode a fetch first asks the other nodes' shared copy (repo.h),
 * and trusts nothing it did not check itself. */
#include "sti/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettle/sha2.h>

#include "core/counters.h"
#include "core/hash.h"
#include "core/log.h"
#include "stir/cache.h"
#include "stir/passport.h"

struct sti_wait {
	struct sti_wait *next;
	struct sti_wait **pprev; /* O(1) cancel: many calls may wait on one URL */
	sti_cert_fn done;
	void *arg;
};

#define RSA_KEY_PREFIX "rsa "

/* One URL being fetched and the calls waiting for it. */
struct fetch {
	struct pc_hlink link;
	struct sti_repo *repo;
	struct sti_wait *waiters;
	bool rsa;                                   /* an RFC 4474 chain */
	char key[sizeof(RSA_KEY_PREFIX) + STIR_URL_MAX]; /* the cache's key */
	const char *url;                            /* in key, after any prefix */
	char name[2 * SHA256_DIGEST_SIZE + 1];      /* the shared copy's: SHA-256 of key */
};

struct sti_repo {
	struct stir_trust *trust;
	struct stir_cache *cache;
	struct http_client *http;
	struct pc_htab fetches; /* by URL: keyed, the URL is the caller's choice */
	unsigned n_fetches;
	unsigned failure_ttl_s;
	unsigned cache_max_age_s;
	size_t max_cert_size;
	struct sti_shared shared; /* cluster mode's, or all NULL */
	bool freeing;
};

static struct fetch *fetch_find(struct sti_repo *r, const char *key)
{
	uint64_t h = pc_htab_hash_str(&r->fetches, key);
	for (struct pc_hlink *l = pc_htab_first(&r->fetches, h); l; l = pc_htab_next(l)) {
		struct fetch *f = pc_container_of(l, struct fetch, link);
		if (strcmp(f->key, key) == 0)
			return f;
	}
	return NULL;
}

/* What a failed fetch means for the call: a URL we would never fetch is
 * refused, anything else could not be reached. */
static enum stir_result fetch_failure(enum http_fetch_status s)
{
	switch (s) {
	case HTTP_FETCH_REFUSED_URL:
	case HTTP_FETCH_REFUSED_ADDR:
		return STIR_INFO_REFUSED;
	default:
		return STIR_INFO_UNREACHABLE;
	}
}

/* Checks a chain (fetched, or read from the shared copy) as this node's
 * own fetch would and caches it for at most max_age (-1: no limit from
 * the source); the result and, on success, the cached chain; `refused`
 * when the chain itself failed its checks. */
static enum stir_result check_and_cache(struct sti_repo *r, struct fetch *f, const void *body,
					size_t len, long max_age, time_t now,
					const struct stir_cert **cert, bool *refused)
{
	struct stir_cert *chain = NULL;
	*cert = NULL;
	*refused = true;
	enum stir_result why = f->rsa ? stir_cert_check_rsa(body, len, r->trust, now, &chain)
				      : stir_cert_check(body, len, r->trust, now, &chain);
	if (why != STIR_PASSED)
		return why;
	*refused = false;
	if (stir_cache_put(r->cache, f->key, chain, max_age, now) < 0)
		return STIR_INFO_UNREACHABLE; /* freed by the cache */
	enum stir_result again = stir_cache_get(r->cache, f->key, now, cert);
	/* max-age 0 or no-store: nothing cached, but this answer still counts
	 * for the calls that waited for it. */
	return again == STIR_PASSED ? STIR_PASSED : STIR_INFO_UNREACHABLE;
}

/* Checks and caches what arrived; returns the result for the waiters and
 * the cached chain on success. */
static enum stir_result fetch_outcome(struct sti_repo *r, struct fetch *f,
				      const struct http_result *res, const struct stir_cert **cert)
{
	time_t now = time(NULL);
	*cert = NULL;
	if (res->status != HTTP_FETCH_OK) {
		enum stir_result why = fetch_failure(res->status);
		log_info("identity: certificate fetch failed (%s, HTTP %ld): %s",
			 http_fetch_status_name(res->status), res->http_code,
			 res->error ? res->error : "");
		/* A busy client says nothing about the URL: not remembered. */
		if (res->status != HTTP_FETCH_BUSY)
			stir_cache_put_failure(r->cache, f->key, why, r->failure_ttl_s, now);
		return why;
	}
	long max_age = res->no_store ? 0 : res->max_age_s;
	bool refused;
	enum stir_result why = check_and_cache(r, f, res->body, res->len, max_age, now, cert, &refused);
	if (why != STIR_PASSED && !refused)
		return why;
	if (why != STIR_PASSED) {
		log_info("identity: certificate refused: %s", stir_result_name(why));
		stir_cache_put_failure(r->cache, f->key, why, r->failure_ttl_s, now);
		return why;
	}
	/* Shared for as long as we cache it ourselves: not when the answer
	 * forbade storing it. */
	if (*cert && r->shared.put && max_age != 0) {
		unsigned ttl = r->cache_max_age_s;
		if (max_age > 0 && (unsigned long)max_age < ttl)
			ttl = (unsigned)max_age;
		r->shared.put(r->shared.ctx, f->name, res->body, res->len, ttl);
	}
	return why;
}

/* The fetch is over: every waiter gets `why` (and the chain). */
static void fetch_end(struct fetch *f, enum stir_result why, const struct stir_cert *cert)
{
	struct sti_repo *r = f->repo;
	pc_htab_remove(&f->link);
	r->n_fetches--;
	/* Unlinked one by one: a waiter's callback may cancel another. */
	while (f->waiters) {
		struct sti_wait *w = f->waiters;
		f->waiters = w->next;
		if (f->waiters)
			f->waiters->pprev = &f->waiters;
		if (!r->freeing)
			w->done(w->arg, why, cert);
		free(w);
	}
	free(f);
}

static void fetch_done(void *arg, const struct http_result *res)
{
	struct fetch *f = arg;
	const struct stir_cert *cert = NULL;
	enum stir_result why = f->repo->freeing ? STIR_INFO_UNREACHABLE
						: fetch_outcome(f->repo, f, res, &cert);
	fetch_end(f, why, cert);
}

/* The shared copy's answer: a chain that passes our own checks ends the
 * fetch; anything else (absent, too long, refused) and the URL is fetched. */
static void on_shared(void *arg, const void *bytes, size_t len, long ttl_s)
{
	struct fetch *f = arg;
	struct sti_repo *r = f->repo;
	if (bytes && !r->freeing) {
		const struct stir_cert *cert = NULL;
		bool refused;
		enum stir_result why = len <= r->max_cert_size
					       ? check_and_cache(r, f, bytes, len, ttl_s, time(NULL), &cert,
								 &refused)
					       : STIR_INFO_REFUSED;
		if (why == STIR_PASSED) {
			counter_inc(CNT_CLUSTER_CERTS_READ);
			fetch_end(f, why, cert);
			return;
		}
		counter_inc(CNT_CLUSTER_VALUES_REFUSED);
		log_warnx("identity: a shared certificate in the cluster refused (%s); fetching it",
			  stir_result_name(why));
	}
	if (r->freeing || http_fetch(r->http, f->url, fetch_done, f) < 0)
		fetch_end(f, STIR_INFO_UNREACHABLE, NULL);
}

void sti_repo_set_shared(struct sti_repo *r, const struct sti_shared *s)
{
	if (r)
		r->shared = s ? *s : (struct sti_shared){ 0 };
}

struct sti_repo *sti_repo_new(struct event_base *base, const struct sti_repo_config *cfg,
			      char *why, size_t whylen)
{
	struct sti_repo *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	r->failure_ttl_s = cfg->failure_ttl_s;
	r->cache_max_age_s = cfg->cache_max_age_s;
	r->max_cert_size = cfg->max_cert_size;
	r->trust = stir_trust_load(cfg->trust_file, cfg->crl_file, why, whylen);
	r->cache = stir_cache_new(cfg->cache_entries, cfg->cache_max_age_s);
	struct http_client_config hc = {
		.max_bytes = cfg->max_cert_size,
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.total_timeout_ms = cfg->total_timeout_ms,
		.max_fetches = cfg->max_fetches,
		.http_hosts = cfg->http_hosts,
		.n_http_hosts = cfg->n_http_hosts,
		.allow_address = cfg->allow_address,
		.allow_arg = cfg->allow_arg,
	};
	r->http = r->trust && r->cache ? http_client_new(base, &hc) : NULL;
	/* Fetches are bounded by max_fetches: as many chains suffice. */
	if (!r->http || pc_htab_init(&r->fetches, cfg->max_fetches ? cfg->max_fetches : 1, NULL) < 0) {
		if (r->trust)
			snprintf(why, whylen, "cannot set up the certificate cache and fetcher");
		sti_repo_free(r);
		return NULL;
	}
	return r;
}

void sti_repo_free(struct sti_repo *r)
{
	if (!r)
		return;
	r->freeing = true;
	http_client_free(r->http); /* each fetch ends, its waiters are freed */
	pc_htab_fini(&r->fetches);
	stir_cache_free(r->cache);
	stir_trust_free(r->trust);
	free(r);
}

static struct fetch *fetch_start(struct sti_repo *r, const char *key, bool rsa)
{
	struct fetch *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->repo = r;
	f->rsa = rsa;
	snprintf(f->key, sizeof(f->key), "%s", key);
	f->url = f->key + (rsa ? strlen(RSA_KEY_PREFIX) : 0);
	struct sha256_ctx h;
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_init(&h);
	sha256_update(&h, strlen(f->key), (const uint8_t *)f->key);
	sha256_digest(&h, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(f->name + 2 * i, 3, "%02x", d[i]);
	/* In the table before the shared copy is asked (it answers from the
	 * loop, never inside get): other calls naming the URL meanwhile join
	 * this fetch. */
	pc_htab_insert(&r->fetches, &f->link, pc_htab_hash_str(&r->fetches, key));
	r->n_fetches++;
	if (r->shared.get && r->shared.get(r->shared.ctx, f->name, on_shared, f) == 0)
		return f;
	if (http_fetch(r->http, f->url, fetch_done, f) < 0) {
		pc_htab_remove(&f->link);
		r->n_fetches--;
		free(f);
		return NULL;
	}
	return f;
}


static enum stir_result repo_get(struct sti_repo *r, const char *url, bool rsa, long now,
				 const struct stir_cert **cert, sti_cert_fn done, void *arg,
				 struct sti_wait **wait)
{
	*cert = NULL;
	*wait = NULL;
	if (strlen(url) >= STIR_URL_MAX || strchr(url, ' '))
		return STIR_INFO_REFUSED;
	char key[sizeof(RSA_KEY_PREFIX) + STIR_URL_MAX];
	snprintf(key, sizeof(key), "%s%s", rsa ? RSA_KEY_PREFIX : "", url);
	enum stir_result known = stir_cache_get(r->cache, key, (time_t)now, cert);
	if (known != STIR_RESULT__COUNT)
		return known;
	struct fetch *f = fetch_find(r, key);
	if (!f && !(f = fetch_start(r, key, rsa)))
		return STIR_INFO_UNREACHABLE;
	struct sti_wait *w = calloc(1, sizeof(*w));
	if (!w)
		return STIR_INFO_UNREACHABLE; /* the fetch still fills the cache */
	*w = (struct sti_wait){ .next = f->waiters, .pprev = &f->waiters, .done = done, .arg = arg };
	if (f->waiters)
		f->waiters->pprev = &w->next;
	f->waiters = w;
	*wait = w;
	return STIR_RESULT__COUNT;
}

enum stir_result sti_repo_get(struct sti_repo *r, const char *url, long now,
			      const struct stir_cert **cert, sti_cert_fn done, void *arg,
			      struct sti_wait **wait)
{
	return repo_get(r, url, false, now, cert, done, arg, wait);
}

enum stir_result sti_repo_get_rsa(struct sti_repo *r, const char *url, long now,
				  const struct stir_cert **cert, sti_cert_fn done, void *arg,
				  struct sti_wait **wait)
{
	return repo_get(r, url, true, now, cert, done, arg, wait);
}

void sti_wait_cancel(struct sti_wait *w)
{
	if (!w)
		return;
	*w->pprev = w->next;
	if (w->next)
		w->next->pprev = w->pprev;
	free(w);
}

unsigned sti_repo_fetching(const struct sti_repo *r)
{
	return r->n_fetches;
}

unsigned sti_repo_cached(const struct sti_repo *r)
{
	return stir_cache_count(r->cache);
}
