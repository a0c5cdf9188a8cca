/* Implementation of the stateless checks. The order matters: first whether an
 * answer can be built at all (Via and the dialog-identifying headers), then the
 * problems the RFC assigns specific codes to. */
#include "check.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void fail(struct sipcheck_verdict *out, int status, const char *phrase)
{
	out->status = status;
	snprintf(out->phrase, sizeof(out->phrase), "%s", phrase);
}

/* Sofia's error chain links true error fragments (whose class has no name;
 * er_name holds the header name) and also headers of known classes it could
 * not place, such as a second CSeq: those are not msg_error_t at all, and
 * only their class tells their name. */
static const char *error_header_name(sip_error_t const *e)
{
	msg_hclass_t const *hc = e->er_common->h_class;
	if (hc && hc->hc_name && hc->hc_name[0])
		return hc->hc_name;
	return e->er_name;
}

/* The name of the first mandatory header that is absent or failed to parse. */
static const char *broken_mandatory(sip_t const *sip)
{
	for (sip_error_t const *e = sip->sip_error; e; e = e->er_next) {
		const char *n = error_header_name(e);
		if (!n)
			continue;
		if (!strcasecmp(n, "Via") || !strcasecmp(n, "v"))
			return "Via";
		if (!strcasecmp(n, "From") || !strcasecmp(n, "f"))
			return "From";
		if (!strcasecmp(n, "To") || !strcasecmp(n, "t"))
			return "To";
		if (!strcasecmp(n, "Call-ID") || !strcasecmp(n, "i"))
			return "Call-ID";
		if (!strcasecmp(n, "CSeq"))
			return "CSeq";
		if (!strcasecmp(n, "Max-Forwards"))
			return "Max-Forwards";
		if (!strcasecmp(n, "Content-Length") || !strcasecmp(n, "l"))
			return "Content-Length";
	}
	if (!sip->sip_via)
		return "Via";
	if (!sip->sip_from)
		return "From";
	if (!sip->sip_to)
		return "To";
	if (!sip->sip_call_id)
		return "Call-ID";
	if (!sip->sip_cseq)
		return "CSeq";
	return NULL;
}

void sipcheck_request(msg_t *msg, struct sipcheck_verdict *out)
{
	sip_t const *sip = sip_object(msg);
	sip_request_t const *rq = sip->sip_request;

	memset(out, 0, sizeof(*out));
	/* A response needs a Via to find its way back; the other headers are
	 * copied when present, so even a request missing its Call-ID learns why
	 * it was refused. */
	out->can_respond = sip->sip_via != NULL;

	if (!rq || !rq->rq_method_name) {
		fail(out, 400, "Bad Request Line");
		return;
	}
	if (rq->rq_version && strcmp(rq->rq_version, "SIP/2.0") != 0) {
		fail(out, 505, "Version Not Supported");
		return;
	}
	const char *broken = broken_mandatory(sip);
	if (broken) {
		char phrase[64];
		snprintf(phrase, sizeof(phrase), "Missing or Malformed %s Header", broken);
		fail(out, 400, phrase);
		return;
	}
	if (sip->sip_cseq->cs_method != rq->rq_method ||
	    (rq->rq_method == sip_method_unknown &&
	     strcmp(sip->sip_cseq->cs_method_name, rq->rq_method_name) != 0)) {
		fail(out, 400, "CSeq Method Does Not Match Request Line");
		return;
	}
	if (sip->sip_error) {
		char phrase[80];
		const char *n = error_header_name(sip->sip_error);
		if (!n)
			n = "Unnamed";
		snprintf(phrase, sizeof(phrase), "Malformed %.40s Header", n);
		fail(out, 400, phrase);
		return;
	}
	switch (rq->rq_url->url_type) {
	case url_sip:
	case url_sips:
	case url_tel:
		break;
	default:
		fail(out, 416, "Unsupported URI Scheme");
		return;
	}
	if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0 &&
	    rq->rq_method != sip_method_ack && rq->rq_method != sip_method_options) {
		fail(out, 483, "Too Many Hops");
		return;
	}
}

int sipcheck_response(msg_t *msg)
{
	sip_t const *sip = sip_object(msg);
	if (!sip->sip_status || sip->sip_status->st_status < 100 ||
	    sip->sip_status->st_status > 699)
		return -1;
	if (broken_mandatory(sip))
		return -1;
	return 0;
}
