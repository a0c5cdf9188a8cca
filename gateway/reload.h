/* Reload (SIGHUP, and the control socket's "reload"): re-read the
 * configuration file and apply what may change while calls run, all or
 * nothing. docs/operations.md, "Reload", says what changes. */
#ifndef PC_RELOAD_H
#define PC_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct b2bua;
struct http_tls;
struct transport;

/* What gateway_reload's ctx points to; main.c owns it. */
struct reload_ctx {
	struct gateway_config *cfg; /* the running configuration, rewritten in place */
	const char *path;           /* the file (NULL: the embedded default) */
	bool user_override;         /* --user given: the file's user is not compared */
	struct b2bua *b2bua;
	struct transport *transport; /* its TLS credentials are re-read */
	struct http_tls *http_tls;   /* the http listener's too (NULL: no HTTPS) */
};

/* 0 when the file's configuration now runs (keys that need a restart keep
 * their running values and are named in the report), -1 when it was
 * refused (it does not load or validate: the error, with file:line, is in
 * the report and logged) and the running configuration is unchanged.
 * `report` gets one human-readable line. */
int gateway_reload(void *ctx, char *report, size_t len);

#endif
