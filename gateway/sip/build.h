/* The one way the gateway writes a SIP message: requests and responses are
 * assembled from Sofia header structures (url_t copies, sip_*_create,
 * header duplicates) in the message's own home, printed once when sent and
 * never printed and parsed again. A value that comes from a peer is placed
 * in a structure field, never pasted into header text, and every value is
 * checked where it enters: a line break, a character its grammar forbids
 * or a length over SIPMSG_VALUE_MAX refuses the whole message with a
 * reason instead of sending a truncated or injected one. */
#ifndef PC_SIP_BUILD_H
#define PC_SIP_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/peer.h"
#include "msg.h"

/* The longest value (URI, phrase, text, token) a built message carries. */
#define SIPMSG_VALUE_MAX 1024
/* ... and the longest extension header value (an RFC 8224 Identity: a
 * PASSporT and its info URL). */
#define SIPMSG_EXTENSION_MAX 8192

/* A message being built. The first refusal sticks: later calls do nothing
 * and sipmsg_build_done() returns NULL with `why` saying what was refused. */
struct sipmsg_build {
	msg_t *msg;
	char why[128]; /* "" while nothing was refused */
};

/* Start a request: request line `method` (a token, extension methods
 * included) to `ruri`. */
void sipmsg_build_request(struct sipmsg_build *b, const char *method, const url_t *ruri);
/* Start a response to `req` (sip/reply.c, RFC 3261 §8.2.6): Via, From,
 * To, Call-ID and CSeq copied, `to_tag` on a To without one when status >
 * 100 (NULL: none). `phrase` NULL takes the standard one. */
void sipmsg_build_response(struct sipmsg_build *b, msg_t *req, int status, const char *phrase,
			   const char *to_tag);

/* Our Via: SIP/2.0/<tp> host[:port];branch=...;rport[;alias]. `host` is an
 * IPv6 reference in brackets, a name or an IPv4 address; port 0 leaves it out. */
void sipmsg_build_via(struct sipmsg_build *b, enum pc_transport tp, const char *host,
		      unsigned port, const char *branch, bool alias);
void sipmsg_build_max_forwards(struct sipmsg_build *b, unsigned count);
/* From and To as <url> with an optional display name (written as a quoted
 * string, escaped here) and tag (NULL or "" for none). */
void sipmsg_build_from(struct sipmsg_build *b, const char *display, const url_t *url,
		       const char *tag);
void sipmsg_build_to(struct sipmsg_build *b, const char *display, const url_t *url,
		     const char *tag);
void sipmsg_build_call_id(struct sipmsg_build *b, const char *call_id);
void sipmsg_build_cseq(struct sipmsg_build *b, uint32_t seq, const char *method);
void sipmsg_build_contact(struct sipmsg_build *b, const url_t *url);
/* Route from a route set kept as data: comma-separated name-addrs, as a
 * registrar stores a binding's Path (RFC 3327). NULL or "" adds none. */
void sipmsg_build_route(struct sipmsg_build *b, const char *route_set);
/* P-Asserted-Identity: <url>, one header per call. */
void sipmsg_build_asserted(struct sipmsg_build *b, const url_t *url);
/* An extension header Sofia has no class for (Identity): `name` a token,
 * `value` our own text (up to SIPMSG_EXTENSION_MAX, no control characters). */
void sipmsg_build_extension(struct sipmsg_build *b, const char *name, const char *value);
/* Date (RFC 3261 §20.17) at Unix time `when`. */
void sipmsg_build_date(struct sipmsg_build *b, long when);
/* A copy of a header (and those chained to it) taken from a parsed message,
 * e.g. a Privacy passed on; NULL adds nothing. */
void sipmsg_build_copy(struct sipmsg_build *b, const void *header);
/* Unsupported listing the option tags of a request's Require (RFC 3261 §8.2.2.3). */
void sipmsg_build_unsupported(struct sipmsg_build *b, const sip_require_t *require);
/* Warning: code host "text" (the text is quoted and escaped here). */
void sipmsg_build_warning(struct sipmsg_build *b, unsigned code, const char *host,
			  const char *text);
void sipmsg_build_retry_after(struct sipmsg_build *b, unsigned seconds);
/* A header of ours whose value is a constant of the gateway (Allow, Accept,
 * ...), made by its class's parser. Never for a peer's value. */
void sipmsg_build_value(struct sipmsg_build *b, msg_hclass_t *hc, const char *value);
/* The body with its Content-Type: `type` is "type/subtype" (a peer's type
 * is checked like any other value; its parameters never cross). */
void sipmsg_build_body(struct sipmsg_build *b, const char *type, const void *body, size_t len);

/* sip:user@domain (sips: when `sips`) in `home`: `domain` is a host[:port]
 * of our own configuration, read as a URI; `user` (NULL: none), which may
 * be a peer's, is placed as a field, not copied (the builder copies the URL
 * it is given). NULL when `domain` is not a host. */
url_t *sipmsg_url(su_home_t *home, bool sips, const char *user, const char *domain);

/* The message, with Content-Length when no body set one; or NULL when a
 * value was refused or memory ran out (`why` says which). */
msg_t *sipmsg_build_done(struct sipmsg_build *b);
/* Refuse from the caller's side (the builder's rules are not the only ones). */
void sipmsg_build_refuse(struct sipmsg_build *b, const char *what, const char *why);

#endif
