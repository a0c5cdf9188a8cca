/* Cost of a TLS private-key operation through the key holder against the
 * same operation on a key held in-process: N ECDSA/RSA signatures of a
 * TLS 1.3 CertificateVerify-sized input each way, reported per operation.
 * The difference is what privilege separation adds to a handshake (one
 * signature per handshake on each side that authenticates).
 *   keyholder_rtt CERT KEY [N]   (docs/performance.md, "Key holder") */
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyholder/keyholder.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double time_signs(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, unsigned n)
{
	unsigned char input[130];
	memset(input, 0x20, sizeof(input));
	const gnutls_datum_t data = { input, sizeof(input) };
	double t0 = now_us();
	for (unsigned i = 0; i < n; i++) {
		gnutls_datum_t sig;
		if (gnutls_privkey_sign_data2(key, algo, 0, &data, &sig) < 0) {
			fprintf(stderr, "signature %u failed\n", i);
			exit(1);
		}
		gnutls_free(sig.data);
	}
	return (now_us() - t0) / n;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: keyholder_rtt CERT KEY [N]\n");
		return 2;
	}
	unsigned n = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 2000;
	static struct gateway_config cfg;
	cfg.n_listeners = 1;
	cfg.listeners[0].transport = PC_TP_TLS;
	snprintf(cfg.listeners[0].tls.certificate, sizeof(cfg.listeners[0].tls.certificate), "%s", argv[1]);
	snprintf(cfg.listeners[0].tls.key, sizeof(cfg.listeners[0].tls.key), "%s", argv[2]);
	struct sandbox_user stay = { .drop = false };
	if (keyholder_start(&cfg, &stay) < 0 || gnutls_global_init() < 0)
		return 1;

	gnutls_pcert_st pcert;
	gnutls_datum_t pem;
	gnutls_privkey_t local, remote;
	if (gnutls_load_file(argv[1], &pem) < 0 ||
	    gnutls_pcert_import_x509_raw(&pcert, &pem, GNUTLS_X509_FMT_PEM, 0) < 0)
		return 1;
	gnutls_free(pem.data);
	if (gnutls_load_file(argv[2], &pem) < 0 || gnutls_privkey_init(&local) < 0 ||
	    gnutls_privkey_import_x509_raw(local, &pem, GNUTLS_X509_FMT_PEM, NULL, 0) < 0 ||
	    keyholder_privkey(argv[2], pcert.pubkey, &remote) < 0)
		return 1;
	gnutls_free(pem.data);
	int pk = gnutls_privkey_get_pk_algorithm(local, NULL);
	gnutls_sign_algorithm_t algo = pk == GNUTLS_PK_RSA ? GNUTLS_SIGN_RSA_PSS_RSAE_SHA256 :
				       GNUTLS_SIGN_ECDSA_SHA256;
	time_signs(local, algo, n / 10 + 1); /* warm up */
	time_signs(remote, algo, n / 10 + 1);
	/* Alternating rounds, so load from elsewhere on the machine hits both alike. */
	double in_process = 0, holder = 0;
	for (int round = 0; round < 10; round++) {
		in_process += time_signs(local, algo, n / 10) / 10;
		holder += time_signs(remote, algo, n / 10) / 10;
	}
	printf("%s, %u signatures: in-process %.1f us, through the key holder %.1f us, added %.1f us per operation\n",
	       gnutls_sign_get_name(algo), n, in_process, holder, holder - in_process);
	gnutls_privkey_deinit(remote);
	gnutls_privkey_deinit(local);
	gnutls_pcert_deinit(&pcert);
	keyholder_stop();
	gnutls_global_deinit();
	return 0;
}
