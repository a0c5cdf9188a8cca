/* The network process's side of digest authentication in the key holder: a
 * digest oracle (policy/digest.h) whose nonce minting, nonce checking and
 * response verification are blocking round trips to the holder, which alone
 * has the nonce secret and the HA1s. A round trip costs tens of microseconds
 * (docs/performance.md), one per challenge and two per verification. A holder
 * that does not answer makes the nonce invalid and the answer
 * DIGEST_UNANSWERED: authentication fails closed. */
#include "keyholder.h"

#include <string.h>

#include "core/log.h"
#include "proto.h"

static struct kh_request req;
static struct kh_reply rep;

/* One digest request; its status, or -1 when there was no answer. */
static int32_t ask(enum kh_op op, const void *data, size_t len)
{
	int32_t status = -1;
	req = (struct kh_request){ .op = (uint16_t)op, .len = (uint32_t)len };
	memcpy(req.data, data, len);
	rep.status = -1;
	if (kh_exchange(&req, &rep) == 0)
		status = rep.status;
	return status;
}

static void wipe(void)
{
	explicit_bzero(&req, sizeof(req));
	explicit_bzero(&rep, sizeof(rep));
}

static int mint(void *ctx, const char *realm, uint64_t now_s, const uint8_t random[NONCE_RANDOM_LEN],
		char out[NONCE_BUF_LEN])
{
	struct kh_nonce_request nr;
	memset(&nr, 0, sizeof(nr));
	nr.now_s = now_s;
	memcpy(nr.random, random, NONCE_RANDOM_LEN);
	if (strlen(realm) >= sizeof(nr.realm))
		return -1;
	memcpy(nr.realm, realm, strlen(realm));
	int rc = -1;
	if (ask(KH_OP_NONCE_MINT, &nr, sizeof(nr)) == 0 && rep.len == NONCE_TEXT_LEN) {
		memcpy(out, rep.data, NONCE_TEXT_LEN);
		out[NONCE_TEXT_LEN] = '\0';
		rc = 0;
	} else {
		log_warnx("keyholder: no nonce minted");
	}
	wipe();
	return rc;
}

static enum nonce_status check_nonce(void *ctx, const char *realm, const char *nonce,
				     uint64_t now_s, uint64_t lifetime_s)
{
	struct kh_nonce_request nr;
	memset(&nr, 0, sizeof(nr));
	nr.now_s = now_s;
	nr.lifetime_s = lifetime_s;
	if (strlen(realm) >= sizeof(nr.realm) || strlen(nonce) >= sizeof(nr.nonce))
		return NONCE_INVALID;
	memcpy(nr.realm, realm, strlen(realm));
	memcpy(nr.nonce, nonce, strlen(nonce));
	int32_t st = ask(KH_OP_NONCE_CHECK, &nr, sizeof(nr));
	wipe();
	return st == NONCE_VALID || st == NONCE_STALE ? (enum nonce_status)st : NONCE_INVALID;
}

static enum digest_answer answer(void *ctx, const struct digest_question *q)
{
	int32_t st = ask(KH_OP_DIGEST_ANSWER, q, sizeof(*q));
	wipe();
	if (st < DIGEST_MATCH || st > DIGEST_NO_HA1)
		return DIGEST_UNANSWERED; /* no answer, or the question was refused */
	return (enum digest_answer)st;
}

static const struct digest_oracle oracle = { NULL, mint, check_nonce, answer };

const struct digest_oracle *keyholder_digest_oracle(void)
{
	return keyholder_digest_active() ? &oracle : NULL;
}
