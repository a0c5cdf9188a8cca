/* Response construction. Headers are duplicated into the response's own home,
 * so the response outlives the request it answers. */
#include "reply.h"

#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip_util.h>
#include <string.h>

int sipmsg_add_copy(msg_t *msg, void const *hdr)
{
	if (!hdr)
		return 0;
	return msg_header_add_dup(msg, NULL, (msg_header_t const *)hdr) < 0 ? -1 : 0;
}

msg_t *sipmsg_reply(msg_t *req, int status, const char *phrase, const char *to_tag)
{
	sip_t const *rq = req ? sip_object(req) : NULL;
	msg_t *resp = rq ? sipmsg_create() : NULL;
	if (!resp)
		return NULL;
	su_home_t *home = msg_home(resp);
	sip_t *rs = sip_object(resp);

	if (!phrase)
		phrase = sip_status_phrase(status);
	if (!phrase)
		phrase = "Unknown";
	/* sip_status_create keeps the pointer: a phrase relayed from another
	 * message must live as long as this one (retransmissions print it). */
	phrase = su_strdup(home, phrase);
	sip_status_t *st = phrase ? sip_status_create(home, (unsigned)status, phrase, NULL) : NULL;
	if (!st || msg_header_insert(resp, (msg_pub_t *)rs, (msg_header_t *)st) < 0)
		goto fail;
	if (sipmsg_add_copy(resp, rq->sip_via) < 0 || sipmsg_add_copy(resp, rq->sip_from) < 0 ||
	    sipmsg_add_copy(resp, rq->sip_to) < 0 || sipmsg_add_copy(resp, rq->sip_call_id) < 0 ||
	    sipmsg_add_copy(resp, rq->sip_cseq) < 0)
		goto fail;
	if (to_tag && status > 100 && rs->sip_to && !rs->sip_to->a_tag) {
		if (sip_to_tag(home, rs->sip_to, to_tag) < 0)
			goto fail;
	}
	if (msg_header_insert(resp, (msg_pub_t *)rs,
			      (msg_header_t *)sip_content_length_create(home, 0)) < 0)
		goto fail;
	return resp;
fail:
	msg_destroy(resp);
	return NULL;
}

int sipmsg_add_line(msg_t *msg, const char *line)
{
	msg_mclass_t const *mc = msg_mclass(msg);
	isize_t namelen = 0;
	const char *colon = strchr(line, ':');
	msg_href_t const *hr = msg_find_hclass(mc, line, &namelen);
	if (!colon || !hr || !hr->hr_class)
		return -1;
	/* Known headers are made from their value; unknown ones keep the name. */
	const char *value = line;
	if (hr->hr_class != mc->mc_unknown->hr_class) {
		value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
	}
	return msg_header_add_make(msg, NULL, hr->hr_class, value) < 0 ? -1 : 0;
}

int sipmsg_set_body(msg_t *msg, const char *content_type, const char *body, size_t len)
{
	sip_t *sip = sip_object(msg);
	su_home_t *home = msg_home(msg);
	if (sip->sip_payload)
		msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_payload);
	if (sip->sip_content_type)
		msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_content_type);
	if (body) {
		if (msg_header_insert(msg, (msg_pub_t *)sip,
				      (msg_header_t *)sip_content_type_make(home, content_type)) < 0 ||
		    msg_header_insert(msg, (msg_pub_t *)sip,
				      (msg_header_t *)sip_payload_create(home, body, (isize_t)len)) < 0)
			return -1;
	}
	sip_content_length_t *cl = sip_content_length_create(home, body ? (uint32_t)len : 0);
	if (!cl)
		return -1;
	if (sip->sip_content_length)
		return msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_content_length,
					  (msg_header_t *)cl) < 0 ? -1 : 0;
	return msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)cl) < 0 ? -1 : 0;
}
