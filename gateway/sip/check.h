/* Stateless sanity checks run on every message before any state is created
 * (RFC 3261 §8.2.1-8.2.2, §16.3): a request that fails gets the response code
 * and a reason phrase naming the problem; a response that fails is dropped. */
#ifndef PC_SIP_CHECK_H
#define PC_SIP_CHECK_H

#include <stdbool.h>
#include "msg.h"

struct sipcheck_verdict {
	int status;         /* 0 when the message passed; else the error status */
	char phrase[96];    /* reason phrase for that status */
	bool can_respond;   /* false: no Via to send an answer to */
};

/* Checks a request. Max-Forwards 0 gets 483, except on an ACK (which is
 * never answered) and an OPTIONS (which the gateway may answer itself,
 * RFC 3261 §11.2). */
void sipcheck_request(msg_t *msg, struct sipcheck_verdict *out);
/* 0 when the response can be matched to a transaction, -1 to drop it. */
int sipcheck_response(msg_t *msg);

#endif
