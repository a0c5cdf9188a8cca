/* Cost of digest verification with the secrets in the key holder against the
 * same steps in-process: per REGISTER, the nonce check and the response
 * check (digest_answer), and per challenge the nonce minting, each way, with
 * a user store of one user. The difference is what moving the HA1s and the
 * nonce secret out of the network process adds to a challenge (one round
 * trip) and to a verification (two).
 *   digest_rtt [N]   (docs/performance.md, "Key holder") */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keyholder/keyholder.h"

#define REALM "example.com"
static const char users_text[] = "alice example.com md5=93dfce8dfebfae8af4a726982429d23a "
				 "sha256=8a76b8adf2eb7492ff78f57bc361a5c93e2f53c6e93f7ee91f68b5382cfea14f\n";
static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static struct users users;

static int l_mint(void *ctx, const char *realm, uint64_t now_s, const uint8_t random[NONCE_RANDOM_LEN],
		  char out[NONCE_BUF_LEN])
{
	return nonce_mint(secret, sizeof(secret), realm, now_s, random, out, NONCE_BUF_LEN);
}

static enum nonce_status l_check(void *ctx, const char *realm, const char *nonce, uint64_t now_s,
				 uint64_t lifetime_s)
{
	return nonce_check(secret, sizeof(secret), realm, nonce, now_s, lifetime_s);
}

static enum digest_answer l_answer(void *ctx, const struct digest_question *q)
{
	return digest_answer(&users, q);
}

static const struct digest_oracle local = { NULL, l_mint, l_check, l_answer };

/* Mean µs of one challenge (mint) and of one verification (check + answer). */
static void run(const struct digest_oracle *o, unsigned n, double *mint_us, double *verify_us)
{
	uint8_t rnd[NONCE_RANDOM_LEN] = { 0 };
	char nonce[NONCE_BUF_LEN];
	struct digest_question q;
	uint8_t ha1[DIGEST_MAX_LEN];
	uint64_t now = (uint64_t)time(NULL);

	double t0 = now_us();
	for (unsigned i = 0; i < n; i++) {
		memcpy(rnd, &i, sizeof(i));
		if (o->mint(o->ctx, REALM, now, rnd, nonce) < 0)
			exit(1);
	}
	*mint_us = (now_us() - t0) / n;
	memset(&q, 0, sizeof(q));
	q.alg = DIGEST_SHA256;
	snprintf(q.username, sizeof(q.username), "alice");
	snprintf(q.realm, sizeof(q.realm), REALM);
	snprintf(q.nonce, sizeof(q.nonce), "%s", nonce);
	snprintf(q.nc, sizeof(q.nc), "00000001");
	snprintf(q.cnonce, sizeof(q.cnonce), "0a4f113b");
	snprintf(q.qop, sizeof(q.qop), "auth");
	digest_ha2(DIGEST_SHA256, "REGISTER", "sip:" REALM, q.ha2);
	digest_ha1(DIGEST_SHA256, "alice", REALM, "wonderland", 10, ha1);
	digest_response_ha2(DIGEST_SHA256, ha1, q.ha2, q.nonce, q.nc, q.cnonce, q.qop, q.response);
	t0 = now_us();
	for (unsigned i = 0; i < n; i++)
		if (o->check_nonce(o->ctx, REALM, nonce, now, 300) != NONCE_VALID ||
		    o->answer(o->ctx, &q) != DIGEST_MATCH)
			exit(1);
	*verify_us = (now_us() - t0) / n;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;
	char path[] = "/tmp/digest_rtt_XXXXXX";
	int fd = mkstemp(path);
	char err[256];
	if (fd < 0 || write(fd, users_text, strlen(users_text)) != (ssize_t)strlen(users_text))
		return 1;
	close(fd);
	if (keyholder_load_users(path, 16, &users, err, sizeof(err)) < 0)
		return 1;
	static struct gateway_config cfg;
	cfg.n_legs = 1;
	cfg.legs[0].digest_auth = true;
	snprintf(cfg.auth.users, sizeof(cfg.auth.users), "%s", path);
	snprintf(cfg.auth.realm, sizeof(cfg.auth.realm), REALM);
	cfg.auth.max_users = 16;
	struct sandbox_user stay = { .drop = false };
	if (keyholder_start(&cfg, &stay) < 0)
		return 1;
	unlink(path);
	const struct digest_oracle *holder = keyholder_digest_oracle();
	double lm, lv, hm, hv, sum_lm = 0, sum_lv = 0, sum_hm = 0, sum_hv = 0;
	run(&local, n / 10 + 1, &lm, &lv); /* warm up */
	run(holder, n / 10 + 1, &hm, &hv);
	/* Alternating rounds, so load from elsewhere on the machine hits both alike. */
	for (int round = 0; round < 10; round++) {
		run(&local, n / 10, &lm, &lv);
		run(holder, n / 10, &hm, &hv);
		sum_lm += lm / 10; sum_lv += lv / 10; sum_hm += hm / 10; sum_hv += hv / 10;
	}
	printf("%u rounds: challenge (nonce mint) in-process %.1f us, through the key holder %.1f us\n",
	       n, sum_lm, sum_hm);
	printf("%u rounds: verification (nonce check + SHA-256 response) in-process %.1f us, "
	       "through the key holder %.1f us, added %.1f us\n", n, sum_lv, sum_hv, sum_hv - sum_lv);
	keyholder_stop();
	users_free(&users);
	return 0;
}
