/* Identity throughput on one core (docs/performance.md, "Identity"): how
 * many PASSporTs per second the gateway's own code signs through the key
 * holder (as a call does: canonical JSON, SHA-256, ES256 in the holder, the
 * Identity header), and how many it verifies with the certificate chain
 * already cached (header and token parse, claim checks, the ES256
 * signature), plus the cost of checking a freshly fetched chain (parse,
 * chain to the STI-CA, TNAuthList), which a cache hit skips.
 *   stir_rate STI_CRT STI_KEY STI_CA [SECONDS]   (each measure runs SECONDS) */
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keyholder/keyholder.h"
#include "sti/sign.h"
#include "stir/cert.h"
#include "stir/identity_hdr.h"
#include "stir/verify.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds of another process (the key holder), from /proc. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	/* after the name: state and 10 fields, then utime and stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int holder_es256(void *arg, const uint8_t hash[32], uint8_t sig[STIR_ES256_SIG_LEN])
{
	(void)arg;
	return keyholder_sign_es256(hash, sig) == 0 ? 0 : -1;
}

static void claims_of(struct stir_claims *c, int64_t iat)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->x5u, sizeof(c->x5u), "http://127.0.0.1:8080/sti.pem");
	c->attest = STIR_ATTEST_A;
	snprintf(c->orig.value, sizeof(c->orig.value), "15550001");
	snprintf(c->dest[0].value, sizeof(c->dest[0].value), "12125551234");
	c->n_dest = 1;
	c->iat = iat;
	snprintf(c->origid, sizeof(c->origid), "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	c->shaken = true;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	static char buf[STIR_CERT_MAX_BYTES];
	*len = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	return *len ? buf : NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: stir_rate STI_CRT STI_KEY STI_CA [SECONDS]\n");
		return 2;
	}
	double seconds = argc > 4 ? atof(argv[4]) : 3.0;
	static struct gateway_config cfg;
	cfg.n_legs = 1;
	cfg.legs[0].identity_sign = true;
	snprintf(cfg.stir.certificate, sizeof(cfg.stir.certificate), "%s", argv[1]);
	snprintf(cfg.stir.key, sizeof(cfg.stir.key), "%s", argv[2]);
	snprintf(cfg.stir.x5u, sizeof(cfg.stir.x5u), "http://127.0.0.1:8080/sti.pem");
	struct sandbox_user stay = { .drop = false };
	if (keyholder_start(&cfg, &stay) < 0 || !keyholder_sti_active()) {
		fprintf(stderr, "the key holder did not start with the STI key\n");
		return 1;
	}
	char why[256];
	struct stir_trust *trust = stir_trust_load(argv[3], NULL, why, sizeof(why));
	size_t chain_len;
	const char *chain = read_file(argv[1], &chain_len);
	if (!trust || !chain) {
		fprintf(stderr, "trust or chain: %s\n", trust ? "cannot read the chain" : why);
		return 1;
	}
	int64_t now = (int64_t)time(NULL);
	struct stir_claims c;
	char identity[STIR_TOKEN_MAX + 1024];

	/* Signing: what attempt_sign does per call. */
	unsigned signs = 0;
	double h0 = proc_cpu_s(keyholder_pid());
	double w0 = now_s(), c0 = cpu_s();
	while (now_s() - w0 < seconds) {
		claims_of(&c, now);
		if (sti_sign(&c, holder_es256, NULL, identity, sizeof(identity)) == 0) {
			fprintf(stderr, "signing failed\n");
			return 1;
		}
		signs++;
	}
	double sign_wall = now_s() - w0, sign_cpu = cpu_s() - c0;
	double holder_cpu = proc_cpu_s(keyholder_pid()) - h0;

	/* Verification with a cached chain: what a call costs on a cache hit. */
	struct stir_cert *cert = NULL;
	if (stir_cert_check((const uint8_t *)chain, chain_len, trust, (time_t)now, &cert) != STIR_PASSED) {
		fprintf(stderr, "the STI certificate does not check against the CA\n");
		return 1;
	}
	claims_of(&c, now);
	size_t id_len = sti_sign(&c, holder_es256, NULL, identity, sizeof(identity));
	struct stir_expect e = { .orig = c.orig, .dest = c.dest[0], .now = now, .date = now,
				 .max_age_s = 3600 };
	unsigned verifies = 0;
	w0 = now_s(), c0 = cpu_s();
	while (now_s() - w0 < seconds) {
		struct stir_identity id;
		if (stir_identity_parse(identity, id_len, &id) != STIR_PASSED ||
		    stir_cert_valid_at(cert, (time_t)now) != STIR_PASSED ||
		    stir_cert_verify_es256(cert, id.token.input, id.token.input_len, id.token.sig) !=
			    STIR_PASSED ||
		    stir_verify_claims(&id.token.claims, &e) != STIR_PASSED) {
			fprintf(stderr, "verification failed\n");
			return 1;
		}
		verifies++;
	}
	double verify_wall = now_s() - w0, verify_cpu = cpu_s() - c0;

	/* A fetched chain's check (a cache miss adds this to the fetch). */
	unsigned checks = 0;
	w0 = now_s(), c0 = cpu_s();
	while (now_s() - w0 < seconds / 2) {
		struct stir_cert *fresh = NULL;
		if (stir_cert_check((const uint8_t *)chain, chain_len, trust, (time_t)now, &fresh) !=
		    STIR_PASSED)
			return 1;
		stir_cert_free(fresh);
		checks++;
	}
	double check_wall = now_s() - w0, check_cpu = cpu_s() - c0;

	printf("sign (through the key holder): %u in %.1f s = %.0f/s; per signature %.1f us wall, "
	       "%.1f us CPU here + %.1f us in the holder = %.0f/s per core\n",
	       signs, sign_wall, signs / sign_wall, sign_wall * 1e6 / signs, sign_cpu * 1e6 / signs,
	       holder_cpu * 1e6 / signs, signs / (sign_cpu + holder_cpu));
	printf("verify (cached chain): %u in %.1f s = %.0f/s per core; %.1f us CPU per verification\n",
	       verifies, verify_wall, verifies / verify_wall, verify_cpu * 1e6 / verifies);
	printf("chain check (cache miss): %u in %.1f s = %.0f/s; %.1f us CPU per check\n", checks,
	       check_wall, checks / check_wall, check_cpu * 1e6 / checks);
	stir_cert_free(cert);
	stir_trust_free(trust);
	keyholder_stop();
	return 0;
}
