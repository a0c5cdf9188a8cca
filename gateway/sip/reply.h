/* Build responses to a request (RFC 3261 §8.2.6): Via, From, To, Call-ID and
 * CSeq copied, a To-tag added where the request had none, Content-Length 0.
 * The start of every response build.h makes (sipmsg_build_response). */
#ifndef PC_SIP_REPLY_H
#define PC_SIP_REPLY_H

#include "msg.h"

/* to_tag: tag to put on To when the request's To has none and status > 100;
 * NULL leaves To as it was. Returns NULL on allocation failure. */
msg_t *sipmsg_reply(msg_t *req, int status, const char *phrase, const char *to_tag);

/* Append a copy of header hdr (and the headers chained to it) to msg, in
 * msg's own home. NULL hdr adds nothing. 0 or -1. */
int sipmsg_add_copy(msg_t *msg, void const *hdr);

/* Replace the message body (and Content-Type, Content-Length). A NULL body
 * removes it. 0 or -1. */
int sipmsg_set_body(msg_t *msg, const char *content_type, const char *body, size_t len);

/* Add a header given as a full "Name: value" line. 0 or -1. Only for lines
 * the gateway writes itself (no peer's value: build.h places those as
 * structures); what is left of its use (b2bua/register.c, b2bua/guard.c)
 * moves to build.h with the verdict table. */
int sipmsg_add_line(msg_t *msg, const char *line);

#endif
