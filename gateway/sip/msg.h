/* SIP message intake and output on top of Sofia-SIP's parser. Owns the message
 * class: Sofia's extended class (P-Asserted-Identity, P-Preferred-Identity,
 * Privacy as structures) plus Identity and Identity-Info (RFC 8224/4474),
 * which Sofia does not know. Every msg_t carries its own su_home; nothing
 * parsed outlives its message. */
#ifndef PC_SIP_MSG_H
#define PC_SIP_MSG_H

#include <stddef.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_status.h>

/* Build the message class; call once before any parse. 0 or -1. */
int sipmsg_init(void);
msg_mclass_t const *sipmsg_mclass(void);

/* Parse one complete message (a datagram, or a stream message already framed).
 * The bytes are copied. NULL when not even a start line could be read. */
msg_t *sipmsg_parse(const char *data, size_t len);

/* Print the message as it stands now; the string lives in the message's home. */
char *sipmsg_print(msg_t *msg, size_t *len);

/* New empty message of our class. */
msg_t *sipmsg_create(void);

/* Insert a header made by a Sofia constructor into a message of our class:
 * its request line and CSeq classes are our own (extension methods, msg.c),
 * and Sofia places a header by its class. 0 or -1 (also when header is NULL). */
int sipmsg_insert(msg_t *msg, void *header);

/* Generic headers Sofia does not know; NULL when absent. */
msg_generic_t *sipmsg_identity(sip_t const *sip);
msg_generic_t *sipmsg_identity_info(sip_t const *sip);

/* A fresh random token of [a-zA-Z0-9], NUL-terminated, len-1 characters long,
 * for tags, branches and Call-IDs. */
void sipmsg_random_token(char *out, size_t len);

#endif
