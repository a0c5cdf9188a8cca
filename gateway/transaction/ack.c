/* The ACK a client INVITE transaction sends for a non-2xx final response
 * (RFC 3261 §17.1.1.3). It belongs to the INVITE's transaction, so it must
 * reach the same hop with the same branch: Request-URI, Call-ID, From, top Via
 * and Route come from the request, To (with the tag the server chose) from
 * the response. Headers are duplicated into the ACK's own home so it can be
 * resent after the request and response have changed hands. */
#include "table.h"

#include "sip/reply.h"

#include <sofia-sip/msg_header.h>


msg_t *txn_ack_build(msg_t *req, msg_t *resp)
{
	sip_t const *rq = sip_object(req);
	sip_t const *rs = sip_object(resp);
	msg_t *ack = sipmsg_create();
	if (!ack)
		return NULL;
	su_home_t *home = msg_home(ack);
	sip_t *sip = sip_object(ack);

	if (sipmsg_insert(ack, sip_request_create(home, SIP_METHOD_ACK,
						(url_string_t const *)rq->sip_request->rq_url,
						NULL)) < 0 ||
	    sipmsg_insert(ack, msg_header_dup_one(home, (msg_header_t const *)rq->sip_via)) < 0)
		goto fail;
	if (rq->sip_route && sipmsg_add_copy(ack, rq->sip_route) < 0)
		goto fail;
	if (msg_header_add_make(ack, (msg_pub_t *)sip, sip_max_forwards_class, "70") < 0 ||
	    sipmsg_add_copy(ack, rq->sip_from) < 0 || sipmsg_add_copy(ack, rs->sip_to) < 0 ||
	    sipmsg_add_copy(ack, rq->sip_call_id) < 0 ||
	    sipmsg_insert(ack, sip_cseq_create(home, rq->sip_cseq->cs_seq, SIP_METHOD_ACK)) < 0 ||
	    sipmsg_insert(ack, sip_content_length_create(home, 0)) < 0)
		goto fail;
	return ack;
fail:
	msg_destroy(ack);
	return NULL;
}
