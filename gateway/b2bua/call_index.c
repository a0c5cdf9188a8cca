/* The dialog index: both legs of every live call by Call-ID, so finding the
 * call of an in-dialog message does not grow with the number of calls. A
 * leg is found by its Call-ID and our tag together; closed calls are never
 * found. */
#include "call.h"

#include <stdlib.h>
#include <string.h>

static unsigned index_slot(const struct b2bua *b, const char *call_id)
{
	unsigned h = 2166136261u; /* FNV-1a: Call-IDs are compared byte by byte */
	for (const char *p = call_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % b->index_size;
}

int call_index_init(struct b2bua *b, unsigned size)
{
	b->index_size = size;
	b->index = calloc(size, sizeof(*b->index));
	return b->index ? 0 : -1;
}

void call_index_free(struct b2bua *b)
{
	free(b->index);
	b->index = NULL;
}

void call_index_add(struct b2bua *b, struct leg *l)
{
	unsigned slot = index_slot(b, l->call_id);
	l->hnext = b->index[slot];
	b->index[slot] = l;
	l->indexed = true;
}

void call_index_remove(struct b2bua *b, struct leg *l)
{
	if (!l->indexed)
		return;
	for (struct leg **pp = &b->index[index_slot(b, l->call_id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == l) {
			*pp = l->hnext;
			break;
		}
	}
	l->indexed = false;
}

struct call *call_index_find(struct b2bua *b, const char *call_id, const char *local_tag,
			     int *side)
{
	for (struct leg *l = b->index[index_slot(b, call_id)]; l; l = l->hnext) {
		if (!strcmp(l->call_id, call_id) && !strcmp(l->local_tag, local_tag) &&
		    l->call->state != CALL_CLOSED) {
			*side = l->side;
			return l->call;
		}
	}
	return NULL;
}
