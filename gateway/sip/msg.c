/* Parser set-up and message (de)serialization. The only file that knows how the
 * message class is assembled; callers see Sofia's sip_t. */
#include "msg.h"

#include <string.h>
#include <sys/random.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/msg_mclass_hash.h>
#include <sofia-sip/msg_parser.h>

/* Header classes for RFC 8224 Identity and RFC 4474 Identity-Info, kept as
 * generic strings: their grammar is checked where they are used (identity/). */
static struct msg_hclass_s identity_class[1] = { {
	.hc_parse = msg_generic_d,
	.hc_print = msg_generic_e,
	.hc_dxtra = msg_generic_dup_xtra,
	.hc_dup_one = msg_generic_dup_one,
	.hc_name = "Identity",
	.hc_len = sizeof("Identity") - 1,
	.hc_short = "y", /* RFC 4474 compact form */
	.hc_size = MSG_ALIGN(sizeof(msg_generic_t), sizeof(void *)),
	.hc_kind = msg_kind_append,
} };

static struct msg_hclass_s identity_info_class[1] = { {
	.hc_parse = msg_generic_d,
	.hc_print = msg_generic_e,
	.hc_dxtra = msg_generic_dup_xtra,
	.hc_dup_one = msg_generic_dup_one,
	.hc_name = "Identity-Info",
	.hc_len = sizeof("Identity-Info") - 1,
	.hc_short = "n",
	.hc_size = MSG_ALIGN(sizeof(msg_generic_t), sizeof(void *)),
	.hc_kind = msg_kind_single,
} };

static msg_mclass_t *portcullis_mclass;

int sipmsg_init(void)
{
	if (portcullis_mclass)
		return 0;
	/* sip_extend_mclass(NULL) returns a fresh copy we may extend further. */
	msg_mclass_t *mc = sip_extend_mclass(NULL);
	if (!mc)
		return -1;
	/* Sofia finds a header class by the hash of its name. */
	identity_class->hc_hash = msg_header_name_hash(identity_class->hc_name, NULL);
	identity_info_class->hc_hash = msg_header_name_hash(identity_info_class->hc_name, NULL);
	if (msg_mclass_insert_header(mc, identity_class, 0) < 0 ||
	    msg_mclass_insert_header(mc, identity_info_class, 0) < 0)
		return -1;
	portcullis_mclass = mc;
	return 0;
}

msg_mclass_t const *sipmsg_mclass(void) { return portcullis_mclass; }

msg_t *sipmsg_parse(const char *data, size_t len)
{
	/* msg_make() parses in place and needs a NUL after the data. */
	msg_t *msg = msg_make(portcullis_mclass, 0, data, (issize_t)len);
	if (!msg)
		return NULL;
	sip_t *sip = sip_object(msg);
	if (!sip || (!sip->sip_request && !sip->sip_status)) {
		msg_destroy(msg);
		return NULL;
	}
	return msg;
}

char *sipmsg_print(msg_t *msg, size_t *len)
{
	size_t n = 0;
	sip_t *sip = sip_object(msg);
	/* Messages we build have no empty line after the headers until one is
	 * added; without it a stream peer never sees the message end. */
	if (sip && !sip->sip_separator &&
	    msg_header_insert(msg, (msg_pub_t *)sip,
			      (msg_header_t *)sip_separator_create(msg_home(msg))) < 0)
		return NULL;
	if (msg_serialize(msg, NULL) < 0)
		return NULL;
	char *s = msg_as_string(msg_home(msg), msg, NULL, 0, &n);
	if (len)
		*len = n;
	return s;
}

msg_t *sipmsg_create(void) { return msg_create(portcullis_mclass, 0); }

msg_generic_t *sipmsg_identity(sip_t const *sip)
{
	return (msg_generic_t *)msg_header_access((msg_pub_t const *)sip, identity_class);
}

msg_generic_t *sipmsg_identity_info(sip_t const *sip)
{
	return (msg_generic_t *)msg_header_access((msg_pub_t const *)sip, identity_info_class);
}

void sipmsg_random_token(char *out, size_t len)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char raw[64];

	if (len == 0)
		return;
	size_t n = len - 1;
	if (n > sizeof(raw))
		n = sizeof(raw);
	/* getrandom() on a booted system does not fail for <= 256 bytes. */
	if (getrandom(raw, n, 0) != (ssize_t)n)
		memset(raw, 0x5a, n);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % 62];
	out[n] = '\0';
}
