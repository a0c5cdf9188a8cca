/* stir/cache: checked certificate chains and recent fetch failures by x5u
 * URL, in the gateway's keyed hash table (the URL is the caller's choice),
 * at most max_entries of them, each with the time it is good until. When
 * full, the entry that expires first goes: a failure is remembered for
 * seconds and a chain for hours, so a flood of dead URLs pushes out its own
 * failures, not the chains that live calls use. */
#include "stir/cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "stir/passport.h"

struct cache_entry {
	struct pc_hlink link;
	struct stir_cert *cert;  /* NULL for a remembered failure */
	enum stir_result failure;
	time_t until;            /* good while now <= until */
	char url[];
};

struct stir_cache {
	struct pc_htab tab;
	unsigned max_entries, count;
	unsigned max_age_s;
};

struct stir_cache *stir_cache_new(unsigned max_entries, unsigned max_age_s)
{
	struct stir_cache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	if (pc_htab_init(&c->tab, max_entries ? max_entries : 1, NULL) < 0) {
		pc_htab_fini(&c->tab);
		free(c);
		return NULL;
	}
	c->max_entries = max_entries;
	c->max_age_s = max_age_s;
	return c;
}

static void entry_drop(struct stir_cache *c, struct cache_entry *e)
{
	pc_htab_remove(&e->link);
	stir_cert_free(e->cert);
	free(e);
	c->count--;
}

void stir_cache_free(struct stir_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < pc_htab_buckets(&c->tab); i++) {
		struct pc_hlink *l = pc_htab_chain(&c->tab, i);
		while (l) {
			struct pc_hlink *next = l->next;
			entry_drop(c, pc_container_of(l, struct cache_entry, link));
			l = next;
		}
	}
	pc_htab_fini(&c->tab);
	free(c);
}

static struct cache_entry *entry_find(const struct stir_cache *c, const char *url)
{
	uint64_t h = pc_htab_hash_str(&c->tab, url);
	for (struct pc_hlink *l = pc_htab_first(&c->tab, h); l; l = pc_htab_next(l)) {
		struct cache_entry *e = pc_container_of(l, struct cache_entry, link);
		if (strcmp(e->url, url) == 0)
			return e;
	}
	return NULL;
}

enum stir_result stir_cache_get(struct stir_cache *c, const char *url, time_t now,
				const struct stir_cert **cert)
{
	*cert = NULL;
	struct cache_entry *e = entry_find(c, url);
	if (!e)
		return STIR_RESULT__COUNT;
	if (now > e->until) {
		entry_drop(c, e);
		return STIR_RESULT__COUNT;
	}
	if (!e->cert)
		return e->failure;
	*cert = e->cert;
	return STIR_PASSED;
}

/* Makes room for one more entry: the one expiring first goes (an expired
 * one first of all). A walk of every entry, bounded by max_entries, and run
 * only when the table is full and a fetch has just finished, which costs
 * far more than the walk. */
static void evict_one(struct stir_cache *c)
{
	struct cache_entry *victim = NULL;
	for (size_t i = 0; i < pc_htab_buckets(&c->tab); i++)
		for (struct pc_hlink *l = pc_htab_chain(&c->tab, i); l; l = l->next) {
			struct cache_entry *e = pc_container_of(l, struct cache_entry, link);
			if (!victim || e->until < victim->until)
				victim = e;
		}
	if (victim)
		entry_drop(c, victim);
}

/* Replaces url's entry with a new one good until `until`. NULL when the
 * cache holds nothing (max_entries 0), the URL is too long or memory ran
 * out. */
static struct cache_entry *entry_put(struct stir_cache *c, const char *url, time_t until)
{
	size_t len = strnlen(url, STIR_URL_MAX);
	if (c->max_entries == 0 || len == 0 || len >= STIR_URL_MAX)
		return NULL;
	struct cache_entry *old = entry_find(c, url);
	if (old)
		entry_drop(c, old);
	while (c->count >= c->max_entries)
		evict_one(c);
	struct cache_entry *e = calloc(1, sizeof *e + len + 1);
	if (!e)
		return NULL;
	memcpy(e->url, url, len + 1);
	e->until = until;
	pc_htab_insert(&c->tab, &e->link, pc_htab_hash_str(&c->tab, url));
	c->count++;
	return e;
}

int stir_cache_put(struct stir_cache *c, const char *url, struct stir_cert *cert,
		   long http_max_age_s, time_t now)
{
	time_t until = now + (time_t)c->max_age_s;
	if (http_max_age_s >= 0 && (unsigned long)http_max_age_s < c->max_age_s)
		until = now + (time_t)http_max_age_s;
	if (stir_cert_expires(cert) < until)
		until = stir_cert_expires(cert);
	struct cache_entry *e = entry_put(c, url, until);
	if (!e) {
		stir_cert_free(cert);
		return -1;
	}
	e->cert = cert;
	e->failure = STIR_PASSED;
	return 0;
}

void stir_cache_put_failure(struct stir_cache *c, const char *url, enum stir_result r,
			    unsigned ttl_s, time_t now)
{
	if (r == STIR_PASSED || r >= STIR_RESULT__COUNT)
		return;
	struct cache_entry *e = entry_put(c, url, now + (time_t)ttl_s);
	if (e)
		e->failure = r;
}

unsigned stir_cache_count(const struct stir_cache *c)
{
	return c->count;
}
