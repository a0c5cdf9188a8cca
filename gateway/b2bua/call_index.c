/* The dialog index: both legs of every live call by Call-ID, so finding the
 * call of an in-dialog message does not grow with the number of calls. A
 * leg is found by its Call-ID and our tag together; closed calls are never
 * found. Call-IDs on leg A are the caller's choice, so the index is core's
 * keyed hash table: a peer cannot aim many Call-IDs at one chain. */
#include "call.h"

#include <string.h>

int call_index_init(struct b2bua *b, unsigned size)
{
	return pc_htab_init(&b->index, size, NULL);
}

void call_index_free(struct b2bua *b)
{
	pc_htab_fini(&b->index);
}

void call_index_add(struct b2bua *b, struct leg *l)
{
	pc_htab_insert(&b->index, &l->hnext, pc_htab_hash_str(&b->index, l->call_id));
}

void call_index_remove(struct b2bua *b, struct leg *l)
{
	pc_htab_remove(&l->hnext);
}

struct call *call_index_find(struct b2bua *b, const char *call_id, const char *local_tag,
			     int *side)
{
	uint64_t h = pc_htab_hash_str(&b->index, call_id);
	for (struct pc_hlink *e = pc_htab_first(&b->index, h); e; e = pc_htab_next(e)) {
		struct leg *l = pc_container_of(e, struct leg, hnext);
		if (!strcmp(l->call_id, call_id) && !strcmp(l->local_tag, local_tag) &&
		    l->call->state != CALL_CLOSED) {
			*side = l->side;
			return l->call;
		}
	}
	return NULL;
}

size_t call_index_max_chain(const struct b2bua *b)
{
	return pc_htab_max_chain(&b->index);
}
