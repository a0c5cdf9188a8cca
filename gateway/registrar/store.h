/* The registrar's optional on-disk store: an SQLite database file (Debian's
 * libsqlite3), so bindings survive a restart. SQLite rather than a file of
 * our own format: atomic updates, crash safety and a schema an operator can
 * inspect with the sqlite3 shell come with a library Debian keeps. Every
 * change the registrar reports is written through at once in WAL mode
 * without an fsync per write (synchronous=NORMAL): a crash may lose the
 * last moments of registrations, which the phones' next refresh restores,
 * but never corrupts the file. The connection a binding came on does not
 * survive a restart; its address does. */
#ifndef PC_REGISTRAR_STORE_H
#define PC_REGISTRAR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "registrar.h"

struct reg_store;

/* Opens (creating if needed) the database at `path`. NULL with `err` set. */
struct reg_store *reg_store_open(const char *path, char *err, size_t errlen);
void reg_store_close(struct reg_store *s);

/* Loads every binding still valid at `now` into `r` (expired ones are
 * deleted from the file), then attaches the store so later changes are
 * written through. Returns the number loaded, or -1 with `err` set. */
int reg_store_attach(struct reg_store *s, struct registrar *r, uint64_t now, char *err,
		     size_t errlen);

#endif
