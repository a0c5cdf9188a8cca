/* What a reload may change: the keys that cannot change while the gateway
 * runs (listeners, peers, relay ports, the key holder's keys and the user
 * store's path and realm, the user, budgets sized at start) compared between the running
 * configuration and a candidate read from the file. Pure: no I/O. */
#ifndef PC_CONFIG_DIFF_H
#define PC_CONFIG_DIFF_H

#include <stddef.h>

#include "config.h"

/* For every restart-only key whose value differs, its name ("listeners[sip-tls]",
 * "legs[inside].rtp_port_min", "auth.users") is appended to `names` (comma
 * separated, truncated with "..." when len is short) and the running value
 * is copied into `cand`, so that applying `cand` changes none of them.
 * Returns how many keys differed. */
unsigned config_keep_restart_only(const struct gateway_config *run, struct gateway_config *cand,
				  char *names, size_t len);

#endif
