/* See sink.h. The file: O_APPEND so each record lands whole at the end
 * even if another writer appends too, one write() of a line of at most
 * RECORD_LINE_MAX bytes (a regular file takes it at once; a short write is
 * an error like any other). The table: one prepared INSERT, WAL journal
 * and synchronous=NORMAL as the registrar store, so a commit costs a write
 * to the log, not an fsync, on the event loop. */
#include "record/sink.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/counters.h"
#include "core/log.h"

struct record_sinks {
	int fd;                   /* -1: no file */
	char path[PATH_MAX];
	sqlite3 *db;
	sqlite3_stmt *insert;
	char db_path[PATH_MAX];
	unsigned long failures;
	bool failing;             /* the last write failed: logged already */
};

/* The table, one row per call: the record's main fields as columns for
 * queries, and the whole record (legs included) as its JSON line. */
static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS calls ("
	" id INTEGER NOT NULL, start_ms INTEGER NOT NULL, answer_ms INTEGER,"
	" end_ms INTEGER NOT NULL, disposition TEXT NOT NULL, status INTEGER,"
	" ended_by TEXT NOT NULL, reason TEXT, caller TEXT, callee TEXT,"
	" record TEXT NOT NULL);";

/* At start this runs as root: a symbolic link planted at the path (by the
 * user the gateway runs as, if it may write the directory) must not make
 * root create or append to another file; and only a regular file will do. */
static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0640);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static int open_db(struct record_sinks *s, const char *path, char *err, size_t errlen)
{
	snprintf(s->db_path, sizeof(s->db_path), "%s", path);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "INSERT INTO calls VALUES (?,?,?,?,?,?,?,?,?,?,?)", -1,
			       &s->insert, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a usable call record database: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		return -1;
	}
	return 0;
}

struct record_sinks *record_sinks_open(const char *file, const char *sqlite, char *err,
				       size_t errlen)
{
	struct record_sinks *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "call records: out of memory");
		return NULL;
	}
	s->fd = -1;
	if (file && file[0]) {
		snprintf(s->path, sizeof(s->path), "%s", file);
		if ((s->fd = open_file(file)) < 0) {
			snprintf(err, errlen, "%s: cannot open for call records: %s", file,
				 strerror(errno));
			record_sinks_free(s);
			return NULL;
		}
	}
	if (sqlite && sqlite[0] && open_db(s, sqlite, err, errlen) < 0) {
		record_sinks_free(s);
		return NULL;
	}
	return s;
}

/* Counted always, logged when a run of failures starts. */
static void failed(struct record_sinks *s, uint32_t id, const char *where, const char *why)
{
	s->failures++;
	counter_inc(CNT_RECORD_WRITE_FAILED);
	if (!s->failing)
		log_warnx("call %u: call record not written to %s: %s (further failures counted, "
			  "not logged, until one succeeds)", (unsigned)id, where, why);
	s->failing = true;
}

static void write_file(struct record_sinks *s, uint32_t id, const char *line, size_t len)
{
	ssize_t n = write(s->fd, line, len);
	if (n == (ssize_t)len) {
		s->failing = false;
		return;
	}
	failed(s, id, s->path, n < 0 ? strerror(errno) : "short write");
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v && v[0])
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void write_db(struct record_sinks *s, const struct call_record *r, const char *line,
		     size_t len)
{
	sqlite3_stmt *st = s->insert;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->start_ms);
	if (r->answer_ms)
		sqlite3_bind_int64(st, 3, (sqlite3_int64)r->answer_ms);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->end_ms);
	sqlite3_bind_text(st, 5, record_disposition_name(r->disposition), -1, SQLITE_STATIC);
	if (r->status)
		sqlite3_bind_int(st, 6, r->status);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_text(st, 7, record_party_name(r->ended_by), -1, SQLITE_STATIC);
	bind_text(st, 8, r->reason);
	bind_text(st, 9, r->caller);
	bind_text(st, 10, r->callee);
	/* The line without its newline. */
	sqlite3_bind_text(st, 11, line, (int)len - 1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		s->failing = false;
	else
		failed(s, r->id, s->db_path, sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void record_sinks_write(struct record_sinks *s, const struct call_record *r)
{
	if (!s || (s->fd < 0 && !s->db))
		return;
	char line[RECORD_LINE_MAX];
	long n = record_format(r, line, sizeof(line));
	if (n <= 0) {
		failed(s, r->id, "the formatter", "record does not format");
		return;
	}
	if (s->fd >= 0)
		write_file(s, r->id, line, (size_t)n);
	if (s->db)
		write_db(s, r, line, (size_t)n);
}

int record_reopen(struct record_sinks *s)
{
	if (!s || s->fd < 0)
		return 0;
	int fd = open_file(s->path);
	if (fd < 0) {
		log_warn("call records: cannot reopen %s (records go on to the old file)", s->path);
		return -1;
	}
	close(s->fd);
	s->fd = fd;
	log_info("call records: %s reopened", s->path);
	return 0;
}

unsigned long record_sinks_failures(const struct record_sinks *s) { return s ? s->failures : 0; }

void record_sinks_free(struct record_sinks *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	sqlite3_finalize(s->insert);
	if (s->db)
		sqlite3_close(s->db);
	free(s);
}
