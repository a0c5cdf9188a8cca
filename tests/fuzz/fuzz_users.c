/* libFuzzer target: the digest user-store parser on arbitrary bytes. A
 * failure must leave the store empty with a "source:line:" message; a
 * success must hold only entries the field checks accept, and every parsed
 * user must be found again by lookup (the sort and the search agree). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/users.h"

#define MAX_USERS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct users u;
	char err[256];

	if (users_parse((const char *)data, size, "fuzz", MAX_USERS, &u, err, sizeof(err)) < 0) {
		if (u.n != 0 || u.v != NULL || strncmp(err, "fuzz:", 5) != 0)
			abort();
		return 0;
	}
	if (u.n > MAX_USERS)
		abort();
	for (size_t i = 0; i < u.n; i++) {
		const struct user_entry *e = &u.v[i];
		if (users_lookup(&u, e->name, e->realm) != e)
			abort();
		if (users_name_problem(e->name, strlen(e->name)) ||
		    users_realm_problem(e->realm, strlen(e->realm)))
			abort();
		if (!e->has_md5 && !e->has_sha256)
			abort();
		if (e->n_ids > USERS_IDS_MAX)
			abort();
		for (size_t k = 0; k < e->n_ids; k++)
			if (users_id_problem(e->ids[k], strlen(e->ids[k])))
				abort();
	}
	users_free(&u);
	return 0;
}
