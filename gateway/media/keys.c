/* Fresh SDES master keys for the keys we protect with, and fingerprints of
 * the keys peers gave us. Fresh keys come straight from the kernel's CSPRNG
 * (core/random.h) rather than anything seeded by us, because a predictable
 * or repeated SRTP master key voids both confidentiality and authentication
 * of every call that uses it. A peer's key, once retired, must not come
 * back (a new context under it would start a new replay window, so packets
 * recorded under it could be replayed): the relay remembers retired keys by
 * a keyed fingerprint, which holds nothing the key could be recovered from.
 * For a stream on a media worker the signalling thread keeps its own book
 * of the receive keys it sent (issue 12), so that a retired or malformed
 * key gets its SIP error before anything is sent to the worker. */
#include "media_int.h"

#include <pthread.h>
#include <string.h>

#include <nettle/hmac.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"

int media_keys_fresh(enum pc_srtp_suite suite, struct pc_srtp_params *out)
{
	if (out == NULL)
		return -1;
	pc_srtp_params_wipe(out);
	size_t len = pc_srtp_suite_key_salt_len(suite);
	if (len == 0 || len > sizeof(out->key_salt)) {
		log_warnx("media: no key length for SRTP suite %d", (int)suite);
		return -1;
	}
	if (pc_random_bytes(out->key_salt, len) != 0) {
		pc_srtp_params_wipe(out);
		log_err("media: the key generator failed");
		return -1;
	}
	out->suite = suite;
	out->key_salt_len = len;
	out->mki = 0;
	out->mki_len = 0;
	out->lifetime = 0;
	return 0;
}

/* Made once, on first use by any thread (the signalling thread and the
 * media workers both take fingerprints), for the life of the process:
 * fingerprints are compared only with others of the same process. */
static uint8_t fingerprint_secret[32];
static bool fingerprint_ready;
static pthread_once_t fingerprint_once = PTHREAD_ONCE_INIT;

static void fingerprint_init(void)
{
	fingerprint_ready = pc_random_bytes(fingerprint_secret, sizeof(fingerprint_secret)) == 0;
}

int media_key_fingerprint(const struct pc_srtp_params *p, uint64_t *out)
{
	pthread_once(&fingerprint_once, fingerprint_init);
	if (!fingerprint_ready) {
		log_err("media: the key generator failed");
		return -1;
	}
	struct hmac_sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	uint8_t suite = (uint8_t)p->suite;
	hmac_sha256_set_key(&ctx, sizeof(fingerprint_secret), fingerprint_secret);
	hmac_sha256_update(&ctx, 1, &suite);
	hmac_sha256_update(&ctx, p->key_salt_len, p->key_salt);
	hmac_sha256_digest(&ctx, sizeof(digest), digest);
	memcpy(out, digest, sizeof(*out));
	explicit_bzero(&ctx, sizeof(ctx));
	return 0;
}

/* --- the signalling thread's book of a worker stream's receive keys ------ */

static void book_retire(struct key_book *b, uint64_t fp)
{
	b->retired[b->retired_next] = fp;
	b->retired_next = (uint8_t)((b->retired_next + 1) % MEDIA_RETIRED_KEYS);
	if (b->n_retired < MEDIA_RETIRED_KEYS)
		b->n_retired++;
}

/* The previous key's grace ran out: retired, as the worker's timer does. */
static void book_expire(struct key_book *b, uint64_t now)
{
	if (b->have_old && now >= b->old_until_ms) {
		book_retire(b, b->old);
		b->have_old = false;
	}
}

/* The key in grace is retired from the moment its grace ends, whether or
 * not book_expire has moved it yet. */
static bool book_retired(const struct key_book *b, uint64_t fp, uint64_t now)
{
	if (b->have_cur && b->cur == fp)
		return false;
	if (b->have_old && b->old == fp)
		return now >= b->old_until_ms;
	for (unsigned i = 0; i < b->n_retired; i++)
		if (b->retired[i] == fp)
			return true;
	return false;
}

/* The worker's media_stream_set_crypto (rekey.c), step for step, on
 * fingerprints: the same key keeps its place; the key in grace comes back
 * and the current one takes its grace; any other key retires the one in
 * grace and puts the current one in grace (or retires it, without grace);
 * no key retires both. */
static void book_note(struct key_book *b, bool have, uint64_t fp, uint64_t now, unsigned grace_ms)
{
	if (!have) {
		if (b->have_old)
			book_retire(b, b->old);
		if (b->have_cur)
			book_retire(b, b->cur);
		b->have_old = b->have_cur = false;
		return;
	}
	if (b->have_cur && b->cur == fp)
		return;
	if (b->have_old && b->old == fp) {
		b->old = b->cur;
		b->have_old = b->have_cur;
		b->old_until_ms = now + grace_ms;
	} else {
		if (b->have_old)
			book_retire(b, b->old);
		b->have_old = false;
		if (b->have_cur && grace_ms > 0) {
			b->old = b->cur;
			b->have_old = true;
			b->old_until_ms = now + grace_ms;
		} else if (b->have_cur) {
			book_retire(b, b->cur);
		}
	}
	b->cur = fp;
	b->have_cur = true;
}

int key_book_send(struct media_stream *s, enum media_side side, const struct pc_srtp_params *recv,
		  const struct pc_srtp_params *send, unsigned grace_ms)
{
	char c = side == MEDIA_SIDE_A ? 'A' : 'B';
	if ((recv && !msrtp_params_valid(recv)) || (send && !msrtp_params_valid(send))) {
		log_warnx("media: invalid SRTP parameters for side %c", c);
		return -1;
	}
	struct key_book *b = &s->book[side];
	uint64_t fp = 0, now = pc_clock_ms();
	if (recv && media_key_fingerprint(recv, &fp) < 0)
		return -1;
	book_expire(b, now);
	if (recv && book_retired(b, fp, now)) {
		log_warnx("media: side %c offered a receive key it used before; refused", c);
		return -1;
	}
	book_note(b, recv != NULL, fp, now, grace_ms);
	return 0;
}

bool media_stream_key_retired(const struct media_stream *s, enum media_side side,
			      const struct pc_srtp_params *recv)
{
	if (s == NULL || recv == NULL || (unsigned)side > MEDIA_SIDE_B)
		return false;
	if (s->worker < 0)
		return side_key_retired(&s->side[side], recv); /* on this thread */
	uint64_t fp;
	if (media_key_fingerprint(recv, &fp) < 0)
		return false;
	return book_retired(&s->book[side], fp, pc_clock_ms());
}
