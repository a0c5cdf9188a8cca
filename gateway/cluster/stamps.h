/* Replay protection of the binding values (bindings.c): per user, the
 * time stamp under the cluster key's MAC of the last value this node took
 * or wrote. A genuine older value written back into Redis by someone
 * without the key (to bring back a binding the user removed, or an old
 * contact) carries an older stamp and is refused. Pure: no I/O. */
#ifndef PC_CLUSTER_STAMPS_H
#define PC_CLUSTER_STAMPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Users remembered; past it the one least recently stamped is forgotten
 * (a value of that user older than its last becomes acceptable again until
 * its bindings expire). Only values that verified under the cluster key
 * make entries, so whoever lacks the key cannot fill the table. */
#define CL_STAMPS_MAX 100000

struct cl_stamps;

/* max entries (at most CL_STAMPS_MAX); key: the hash table's SipHash key,
 * NULL for the process key (user names are chosen by phones). */
struct cl_stamps *cl_stamps_new(unsigned max, const uint8_t key[16]);
void cl_stamps_free(struct cl_stamps *s);

/* The stamp held for user (ms), 0 when none. */
uint64_t cl_stamps_get(const struct cl_stamps *s, const char *user);
/* A value of user stamped `at`: true (and from now on `at` is held) when
 * at is not older than the stamp held (the same stamp is the same value
 * read again); false when older, nothing changed. A user name too long for
 * the table is refused. */
bool cl_stamps_take(struct cl_stamps *s, const char *user, uint64_t at);
/* How many users are held, and how many were forgotten for room. */
unsigned cl_stamps_count(const struct cl_stamps *s);
uint64_t cl_stamps_forgotten(const struct cl_stamps *s);

#endif
