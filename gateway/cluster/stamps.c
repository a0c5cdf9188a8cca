/* See stamps.h. A keyed hash table (core/hash.h: user names come from
 * phones) of entries allocated one by one up to the bound, on a list in
 * the order they were last stamped, so the one forgotten for room is found
 * in O(1). */
#include "stamps.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "registrar/registrar.h"

struct cl_stamp {
	struct pc_hlink link;
	struct cl_stamp *older, *newer; /* the list by last stamping */
	uint64_t at;
	char user[REG_USER_MAX];
};

struct cl_stamps {
	struct pc_htab users;
	struct cl_stamp *oldest, *newest;
	unsigned n, max;
	uint64_t forgotten;
};

struct cl_stamps *cl_stamps_new(unsigned max, const uint8_t key[16])
{
	if (max == 0 || max > CL_STAMPS_MAX)
		return NULL;
	struct cl_stamps *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->max = max;
	if (pc_htab_init(&s->users, max, key) < 0) {
		pc_htab_fini(&s->users);
		free(s);
		return NULL;
	}
	return s;
}

void cl_stamps_free(struct cl_stamps *s)
{
	if (s == NULL)
		return;
	for (struct cl_stamp *e = s->oldest, *next; e; e = next) {
		next = e->newer;
		free(e);
	}
	pc_htab_fini(&s->users);
	free(s);
}

static struct cl_stamp *find(const struct cl_stamps *s, const char *user)
{
	uint64_t h = pc_htab_hash_str(&s->users, user);
	for (struct pc_hlink *l = pc_htab_first(&s->users, h); l; l = pc_htab_next(l)) {
		struct cl_stamp *e = pc_container_of(l, struct cl_stamp, link);
		if (strcmp(e->user, user) == 0)
			return e;
	}
	return NULL;
}

static void unlist(struct cl_stamps *s, struct cl_stamp *e)
{
	*(e->older ? &e->older->newer : &s->oldest) = e->newer;
	*(e->newer ? &e->newer->older : &s->newest) = e->older;
	e->older = e->newer = NULL;
}

static void list_newest(struct cl_stamps *s, struct cl_stamp *e)
{
	e->older = s->newest;
	e->newer = NULL;
	*(s->newest ? &s->newest->newer : &s->oldest) = e;
	s->newest = e;
}

uint64_t cl_stamps_get(const struct cl_stamps *s, const char *user)
{
	const struct cl_stamp *e = find(s, user);
	return e ? e->at : 0;
}

bool cl_stamps_take(struct cl_stamps *s, const char *user, uint64_t at)
{
	if (strlen(user) >= REG_USER_MAX)
		return false;
	struct cl_stamp *e = find(s, user);
	if (e) {
		if (at < e->at)
			return false;
		e->at = at;
		unlist(s, e);
		list_newest(s, e);
		return true;
	}
	if (s->n >= s->max) { /* room: forget the least recently stamped */
		e = s->oldest;
		unlist(s, e);
		pc_htab_remove(&e->link);
		s->forgotten++;
	} else if ((e = malloc(sizeof(*e))) == NULL) {
		return true; /* unprotected, as without the table; not a reason to refuse */
	} else {
		s->n++;
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->user, user, strlen(user) + 1);
	e->at = at;
	pc_htab_insert(&s->users, &e->link, pc_htab_hash_str(&s->users, e->user));
	list_newest(s, e);
	return true;
}

unsigned cl_stamps_count(const struct cl_stamps *s) { return s->n; }

uint64_t cl_stamps_forgotten(const struct cl_stamps *s) { return s->forgotten; }
