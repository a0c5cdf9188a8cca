/* The back-to-back user agent: every call is two dialogs, one per leg, with
 * their own Call-ID, tags, CSeq, Via and Contact, and media anchored on the
 * gateway's relay with fresh SRTP keys per leg and direction. It reaches the
 * floors below only through a struct call_net (endpoint.h), is the
 * endpoint's call handler, and owns every call; a call dies only in
 * call_close(). */
#ifndef PC_B2BUA_B2BUA_H
#define PC_B2BUA_B2BUA_H

#include "config/config.h"
#include "endpoint/endpoint.h"

struct event_base;
struct media_engine;
struct b2bua;

/* `net` is copied; `base` serves the REGISTER service's key-holder client. */
struct b2bua *b2bua_new(struct event_base *base, const struct gateway_config *cfg,
			const struct call_net *net, struct media_engine *media);
/* The handler to give the endpoint (endpoint_set_call_handler). */
void b2bua_call_handler(struct b2bua *b, struct call_handler *out);
void b2bua_free(struct b2bua *b);
unsigned b2bua_call_count(const struct b2bua *b);
/* Live registrar bindings. */
unsigned b2bua_registration_count(const struct b2bua *b);
/* For --check-config: what b2bua_new would refuse beyond the configuration
 * file itself (the digest user store). 0, or -1 with "file:line: why". */
int b2bua_check_config(const struct gateway_config *cfg, char *err, size_t errlen);
/* Reload (gateway/reload.c): whether a candidate configuration's policy
 * builds (its networks parse), and, once the running configuration the
 * B2BUA reads holds it, applying what the B2BUA derived from it at start
 * (the guard's lists and rate rules). Routes, legs' media and TLS
 * requirements and the identity policy are read per request already.
 * 0, or -1 with "file:line: why" in err (nothing changed). */
int b2bua_reload_check(const struct gateway_config *cand, char *err, size_t errlen);
int b2bua_reload_apply(struct b2bua *b, char *err, size_t errlen);

#endif
