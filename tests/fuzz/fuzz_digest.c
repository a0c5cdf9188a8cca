/* libFuzzer target: digest credentials as the gateway meets them. The input
 * is the value of an Authorization header (and, since it may hold line
 * breaks, of whatever headers follow) in an otherwise fixed REGISTER; Sofia
 * parses the message and policy/digest parses and verifies the credentials
 * from both header kinds against a fixed user store and nonce-count table.
 * Nothing may crash, and AUTH_OK is a bug: accepting it would take a
 * correct response to one of our nonces, which random input cannot hold. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/digest.h"
#include "sip/msg.h"

#define NOW 1700000000ull
#define INPUT_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Must stay as they are: the committed seeds carry nonces minted with them. */
static const uint8_t secret[32] = "portcullis fuzz secret, 32 bytes";
static const char users_text[] =
	"alice example.com md5=93dfce8dfebfae8af4a726982429d23a "
	"sha256=8a76b8adf2eb7492ff78f57bc361a5c93e2f53c6e93f7ee91f68b5382cfea14f "
	"id=sip:alice@example.com\n"
	"bob example.com md5=37593d991414f52c30246c60c7798431\n";

static const char head[] = "REGISTER sip:example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK776asdhds\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:alice@example.com>;tag=1928301774\r\n"
			   "To: <sip:alice@example.com>\r\n"
			   "Call-ID: a84b4c76e66710@10.0.0.5\r\n"
			   "CSeq: 1 REGISTER\r\n"
			   "Authorization: ";
static const char tail[] = "\r\nContent-Length: 0\r\n\r\n";

static struct users users;
static struct nonce_counts counts;
static struct digest_server srv;

static int init(void)
{
	char err[256];
	if (sipmsg_init() < 0)
		return -1;
	if (users_parse(users_text, strlen(users_text), "fuzz", 8, &users, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	/* Small, so that eviction would be exercised if anything got in. */
	if (nonce_counts_init(&counts, 4, NOW - 3600) < 0)
		abort();
	srv = (struct digest_server){ .realm = "example.com",
				      .secret = secret,
				      .secret_len = sizeof(secret),
				      .nonce_lifetime_s = 300,
				      .users = &users,
				      .counts = &counts };
	return 0;
}

static void check(const sip_t *sip, enum digest_header which)
{
	struct auth_result res;
	enum auth_outcome o = digest_verify(&srv, sip, which, NOW, &res);
	if (o == AUTH_OK || o != res.outcome || !res.reason || res.user)
		abort();
	if (!memchr(res.username, '\0', sizeof(res.username)))
		abort();
	for (const char *p = res.username; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (init() < 0)
			return 0;
		ready = 1;
	}
	if (size > INPUT_MAX)
		return 0;
	size_t len = sizeof(head) - 1 + size + sizeof(tail) - 1;
	char *text = malloc(len + 1);
	if (!text)
		return 0;
	memcpy(text, head, sizeof(head) - 1);
	memcpy(text + sizeof(head) - 1, data, size);
	memcpy(text + sizeof(head) - 1 + size, tail, sizeof(tail));
	msg_t *msg = sipmsg_parse(text, len);
	free(text);
	if (!msg)
		return 0;
	sip_t *sip = sip_object(msg);
	check(sip, DIGEST_AUTHORIZATION);
	check(sip, DIGEST_PROXY_AUTHORIZATION);
	for (const msg_auth_t *a = sip->sip_authorization; a; a = a->au_next) {
		struct digest_credentials c;
		const char *why;
		if (digest_parse_credentials(a, &c, &why) < 0 && !why)
			abort();
	}
	msg_destroy(msg);
	return 0;
}
