/* The digest user store: who may authenticate, in which realm, with which
 * HA1 hashes, and which identities each user owns (for P-Preferred-Identity
 * and P-Asserted-Identity later). The store holds H(user:realm:password),
 * never a password. This module parses the file's text (the gateway reads
 * the file) and answers lookups; it never prints a hash.
 *
 * File format, one user a line, '#' starts a comment, blank lines ignored:
 *   USER REALM [md5=<32 hex>] [sha256=<64 hex>] [id=<sip:|sips:|tel: URI>]...
 * with at least one of md5= and sha256=, and at most USERS_IDS_MAX id=.
 * `portcullis-passwd USER REALM [ID...]` writes such a line. */
#ifndef PC_POLICY_USERS_H
#define PC_POLICY_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USERS_NAME_MAX 64   /* bytes of a user name */
#define USERS_REALM_MAX 128 /* bytes of a realm */
#define USERS_IDS_MAX 4     /* id= entries per user */
#define USERS_LINE_MAX 1024 /* bytes of a line, without its line end */

struct user_entry {
	char name[USERS_NAME_MAX + 1];
	char realm[USERS_REALM_MAX + 1];
	bool has_md5;
	bool has_sha256;
	uint8_t ha1_md5[16];
	uint8_t ha1_sha256[32];
	size_t n_ids;
	char *ids[USERS_IDS_MAX]; /* as written in the file; owned by the store */
	size_t line;              /* where it was defined, for messages */
};

/* One id= of one user, for the lookup by identity. */
struct users_id_ref {
	const char *id;
	const struct user_entry *user;
};

struct users {
	struct user_entry *v; /* sorted by realm, then name */
	size_t n;
	struct users_id_ref *by_id; /* every id=, sorted by id, then realm */
	size_t n_by_id;
};

/* Parse the whole text (len bytes, NULs are errors) into out, holding at
 * most max_users users. 0 on success. -1 on any error, with out empty and
 * err set to "source_name:LINE: why" (why never quotes a field that could be
 * a secret typed in the wrong place). out needs no initialisation. */
int users_parse(const char *text, size_t len, const char *source_name, size_t max_users,
		struct users *out, char *err, size_t errlen);

/* The entry for user in realm (both compared exactly), or NULL. */
const struct user_entry *users_lookup(const struct users *u, const char *name, const char *realm);

/* The one user of `realm` that owns identity `id` (an id= entry, compared
 * exactly), or NULL when none or several do: an identity that names two
 * users names nobody. O(log n). */
const struct user_entry *users_lookup_id(const struct users *u, const char *id, const char *realm);

/* Wipes every HA1 and keeps the rest (names, realms, ids, which algorithms
 * a user has): what a process that verifies nothing itself may hold. */
void users_forget_ha1(struct users *u);

/* One user as a line of the store's own format that carries no secret:
 * every HA1 it has written as zeros (so users_parse reads back which
 * algorithms the user has), its ids as they are, a '\n' at the end. What
 * the key holder sends the network process on a reload (keyholder/proto.h).
 * The line's length, or -1 when it does not fit in len bytes with its NUL
 * (USERS_LINE_MAX + 2 always suffices: no longer than the line it came from). */
int users_public_line(const struct user_entry *e, char *buf, size_t len);

/* Wipes the hashes and frees everything; u is empty afterwards. */
void users_free(struct users *u);

/* Field checks the parser applies, for tools that build lines (passwd):
 * NULL when acceptable, else a static reason. A user name is RFC 3261 `user`
 * characters (unreserved, user-unreserved, %HEX HEX), 1 to USERS_NAME_MAX
 * bytes; a realm is 1 to USERS_REALM_MAX visible ASCII characters other than
 * '"' and '\' (it is sent in a quoted string); an id is a sip:, sips: or
 * tel: URI without headers. */
const char *users_name_problem(const char *s, size_t len);
const char *users_realm_problem(const char *s, size_t len);
const char *users_id_problem(const char *s, size_t len);

#endif
