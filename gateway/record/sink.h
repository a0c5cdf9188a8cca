/* Where call records go (sink.c): a JSON-lines file, one write() per call
 * on a descriptor opened with O_APPEND, reopened by its path on request so
 * logrotate can move it away (SIGUSR2, and the reload); and optionally a
 * row per call in an SQLite table (schema in docs/operations.md). Both are
 * opened at start-up, before the privilege drop and the seccomp filter. A
 * write that fails is counted (record_write_failed) and logged once until
 * a write succeeds again: a full disk must not flood the log. */
#ifndef PC_RECORD_SINK_H
#define PC_RECORD_SINK_H

#include <stddef.h>

#include "record/record.h"

struct record_sinks;

/* Opens the sinks named: `file` ("" or NULL: none) and `sqlite` ("" or NULL:
 * none). NULL with "path: why" in err when one cannot be opened; with
 * neither named, an empty set that writes nothing. */
struct record_sinks *record_sinks_open(const char *file, const char *sqlite, char *err,
				       size_t errlen);
/* Writes r to every sink. */
void record_sinks_write(struct record_sinks *s, const struct call_record *r);
/* Reopens the file by its path (after logrotate moved it): the next record
 * goes to the new file, nothing written before is lost. 0, or -1 (logged)
 * when the path cannot be opened: records go on to the old descriptor. */
int record_reopen(struct record_sinks *s);
/* Records that could not be written, since start. */
unsigned long record_sinks_failures(const struct record_sinks *s);
void record_sinks_free(struct record_sinks *s);

#endif
