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
#include "registrar/registrar.h"

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
/* What the operator asks of a running gateway (operator.c, through
 * portcullisctl). */
/* Ends call `id` (the number of the log lines) on both legs as its state
 * requires, with a Reason saying the operator ended it: BYE on each leg
 * with a dialog once answered; in set-up, 487 to the caller and CANCEL to
 * the callee. 0, or -1 with the reason in `why` (no such call, already
 * ending). */
int b2bua_call_kill(struct b2bua *b, uint32_t id, char *why, size_t whylen);
/* The live registrar bindings, at most `max`: fn per binding (no HA1,
 * nonce or password is in a binding). The number given to fn. */
unsigned b2bua_each_binding(const struct b2bua *b, unsigned max,
			    void (*fn)(void *ctx, const char *user, const struct reg_binding *rb),
			    void *ctx);
/* For --check-config: what b2bua_new would refuse beyond the configuration
 * file itself (the digest user store). 0, or -1 with "file:line: why". */
int b2bua_check_config(const struct gateway_config *cfg, char *err, size_t errlen);

#endif
