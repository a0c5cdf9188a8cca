/* The key holder's user store (holder_users.c), for holder.c: opening it
 * before the sandbox, the store digest-answer consults, and the four
 * reload operations of proto.h, each a row of holder.c's table. */
#ifndef PC_KEYHOLDER_HOLDER_USERS_H
#define PC_KEYHOLDER_HOLDER_USERS_H

#include <gnutls/gnutls.h>

#include "config/config.h"
#include "policy/users.h"
#include "proto.h"
#include "sandbox/sandbox.h"

/* Before the sandbox, while still root when started as root: opens the
 * store's directory, reads the store through it, and, when the store
 * belongs to root and is readable by its group, adds that group to *user
 * so the holder can read it again after the switch (docs/operations.md,
 * "Reload"). 0, or -1 (logged). */
int kh_store_open(const struct gateway_config *cfg, struct sandbox_user *user);

/* The directory's descriptor for the filter's one openat, -1 when none. */
int kh_store_dirfd(void);

/* The store digest-answer consults (empty before kh_store_open). */
const struct users *kh_store_users(void);

/* Why a user store request is refused before it runs, or NULL. */
const char *kh_store_check(const struct kh_request *req);
int kh_store_load(const struct kh_request *req, gnutls_datum_t *out);
int kh_store_view(const struct kh_request *req, gnutls_datum_t *out);
int kh_store_commit(const struct kh_request *req, gnutls_datum_t *out);
int kh_store_drop(const struct kh_request *req, gnutls_datum_t *out);

/* Wipes and frees both stores, closes the directory. */
void kh_store_free(void);

#endif
