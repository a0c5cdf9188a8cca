/* The few headers an answer needs, taken from a message refused before its
 * full parse (too many header fields or Via entries, a datagram shorter than
 * its Content-Length): the start line, the first Via entry, From, To, Call-ID
 * and CSeq. Only those lines reach Sofia, so the cost is bounded by the
 * message's size whatever else it holds. */
#ifndef PC_SIP_SALVAGE_H
#define PC_SIP_SALVAGE_H

#include <stddef.h>
#include <sofia-sip/msg.h>

/* A request holding only the headers named above, or NULL when data is not a
 * request or those headers cannot be read. The caller destroys it. */
msg_t *sipmsg_salvage_request(const char *data, size_t len);

#endif
