/* libFuzzer target: message intake as the gateway does it for every datagram
 * or framed stream message: parse, stateless checks, and for a request that
 * can be answered, build and print the response; and the salvage of the
 * headers an answer needs, as for a message framing refused. */
#include <stddef.h>
#include <stdint.h>

#include "sip/check.h"
#include "sip/msg.h"
#include "sip/reply.h"
#include "sip/salvage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (sipmsg_init() < 0)
			return 0;
		ready = 1;
	}
	msg_t *salvaged = sipmsg_salvage_request((const char *)data, size);
	if (salvaged) {
		msg_t *resp = sipmsg_reply(salvaged, 513, "Too Many Header Fields", "fuzztag");
		if (resp) {
			(void)sipmsg_print(resp, NULL);
			msg_destroy(resp);
		}
		msg_destroy(salvaged);
	}
	msg_t *msg = sipmsg_parse((const char *)data, size);
	if (!msg)
		return 0;
	sip_t *sip = sip_object(msg);
	if (sip->sip_status) {
		(void)sipcheck_response(msg);
	} else {
		struct sipcheck_verdict v;
		sipcheck_request(msg, &v);
		if (v.can_respond) {
			msg_t *resp = sipmsg_reply(msg, v.status ? v.status : 200,
						     v.status ? v.phrase : NULL, "fuzztag");
			if (resp) {
				(void)sipmsg_print(resp, NULL);
				msg_destroy(resp);
			}
		}
		(void)sipmsg_identity(sip);
		(void)sipmsg_print(msg, NULL);
	}
	msg_destroy(msg);
	return 0;
}
