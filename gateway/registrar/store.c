/* See store.h. One table, keyed by (user, contact); the flow is kept as
 * transport and address text, which pc_sockaddr_str and getaddrinfo-free
 * parsing turn back into a pc_peer with no connection (conn_id 0): after a
 * restart a stream binding is reached by opening a new connection. A write
 * that fails is logged; the in-memory registrar stays authoritative. */
#include "store.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"

struct reg_store {
	sqlite3 *db;
	sqlite3_stmt *put, *del;
	char path[256];
};

static const char *schema =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS bindings ("
	" user TEXT NOT NULL, contact TEXT NOT NULL, call_id TEXT NOT NULL,"
	" cseq INTEGER NOT NULL, expires_at INTEGER NOT NULL, transport TEXT NOT NULL,"
	" address TEXT NOT NULL, port INTEGER NOT NULL, path TEXT NOT NULL,"
	" PRIMARY KEY (user, contact));";

static void fail(char *err, size_t errlen, const char *path, const char *what, sqlite3 *db)
{
	snprintf(err, errlen, "%s: %s: %s", path, what, db ? sqlite3_errmsg(db) : "out of memory");
}

struct reg_store *reg_store_open(const char *path, char *err, size_t errlen)
{
	struct reg_store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		fail(err, errlen, path, "cannot open", NULL);
		return NULL;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		fail(err, errlen, path, "cannot open", s->db);
		reg_store_close(s);
		return NULL;
	}
	if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT OR REPLACE INTO bindings VALUES (?,?,?,?,?,?,?,?,?)", -1,
			       &s->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM bindings WHERE user = ? AND contact = ?", -1,
			       &s->del, NULL) != SQLITE_OK) {
		fail(err, errlen, path, "not a usable registration store", s->db);
		reg_store_close(s);
		return NULL;
	}
	return s;
}

void reg_store_close(struct reg_store *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->del);
	sqlite3_close(s->db);
	free(s);
}

static void on_put(void *ctx, const char *user, const struct reg_binding *b)
{
	struct reg_store *s = ctx;
	char host[64];
	unsigned port = 0;
	if (pc_sockaddr_str((const struct sockaddr *)&b->flow.addr, host, sizeof(host), &port) < 0)
		host[0] = '\0';
	sqlite3_reset(s->put);
	sqlite3_bind_text(s->put, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->put, 2, b->contact, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->put, 3, b->call_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->put, 4, b->cseq);
	sqlite3_bind_int64(s->put, 5, (sqlite3_int64)b->expires_at);
	sqlite3_bind_text(s->put, 6, pc_transport_name(b->flow.transport), -1, SQLITE_STATIC);
	sqlite3_bind_text(s->put, 7, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s->put, 8, (int)port);
	sqlite3_bind_text(s->put, 9, b->path, -1, SQLITE_STATIC);
	if (sqlite3_step(s->put) != SQLITE_DONE)
		log_warnx("registrar: %s: cannot store a binding of %s: %s", s->path, user,
			  sqlite3_errmsg(s->db));
	sqlite3_reset(s->put);
}

static void on_del(void *ctx, const char *user, const char *contact)
{
	struct reg_store *s = ctx;
	sqlite3_reset(s->del);
	sqlite3_bind_text(s->del, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->del, 2, contact, -1, SQLITE_STATIC);
	if (sqlite3_step(s->del) != SQLITE_DONE)
		log_warnx("registrar: %s: cannot delete a binding of %s: %s", s->path, user,
			  sqlite3_errmsg(s->db));
	sqlite3_reset(s->del);
}

static const struct reg_store_ops store_ops = { on_put, on_del };

/* The flow as stored: transport name, numeric address and port. */
static int flow_from_row(const char *tp, const char *host, int port, struct pc_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->listener = -1;
	if (pc_transport_from_name(tp, &out->transport) < 0 || port <= 0 || port > 65535)
		return -1;
	return pc_sockaddr_numeric(host, (uint16_t)port, &out->addr, &out->addrlen);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

int reg_store_attach(struct reg_store *s, struct registrar *r, uint64_t now, char *err,
		     size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char sql[96];
	snprintf(sql, sizeof(sql), "DELETE FROM bindings WHERE expires_at <= %llu",
		 (unsigned long long)now);
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT user, contact, call_id, cseq, expires_at, transport, address,"
			       " port, path FROM bindings",
			       -1, &st, NULL) != SQLITE_OK) {
		fail(err, errlen, s->path, "cannot read the registration store", s->db);
		return -1;
	}
	int loaded = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_binding b;
		memset(&b, 0, sizeof(b));
		const char *user = col_text(st, 0);
		snprintf(b.contact, sizeof(b.contact), "%s", col_text(st, 1));
		snprintf(b.call_id, sizeof(b.call_id), "%s", col_text(st, 2));
		b.cseq = (uint32_t)sqlite3_column_int64(st, 3);
		b.expires_at = (uint64_t)sqlite3_column_int64(st, 4);
		snprintf(b.path, sizeof(b.path), "%s", col_text(st, 8));
		if (flow_from_row(col_text(st, 5), col_text(st, 6), sqlite3_column_int(st, 7),
				  &b.flow) < 0 ||
		    registrar_restore(r, user, &b, now) < 0) {
			log_warnx("registrar: %s: skipping a stored binding of %s", s->path, user);
			continue;
		}
		loaded++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fail(err, errlen, s->path, "cannot read the registration store", s->db);
		return -1;
	}
	registrar_set_store(r, &store_ops, s);
	return loaded;
}
