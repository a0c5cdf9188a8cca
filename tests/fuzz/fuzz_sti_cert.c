/* libFuzzer target: the body an x5u URL returned, as stir_cert_check meets
 * it: PEM (one or more certificates) or DER, against a fixed STI-CA at a
 * fixed time. The CA is this file's own (made once with certtool for the
 * fuzzer; its key was not kept), not the development one: certs/mkdev.sh
 * makes a new STI-CA per machine, and the committed seeds (a leaf with an
 * SPC, a chain through an intermediate with a number and a range) must
 * chain to it to reach the key and TNAuthList checks. Nothing may crash or
 * leak; a passed chain must answer its accessors and refuse a zero
 * signature. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stir/cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2030-01-01, inside the fixed certificates' 2025-2045. */
#define NOW ((time_t)1893456000)

static const char fuzz_ca[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBhjCCASygAwIBAgIUI5zl0Kp8lpdc5ERsooohfAcd5LMwCgYIKoZIzj0EAwIw\n"
	"ITEfMB0GA1UEAxMWUG9ydGN1bGxpcyBmdXp6IFNUSS1DQTAeFw0yNTAxMDEwMDAw\n"
	"MDBaFw00NTAxMDEwMDAwMDBaMCExHzAdBgNVBAMTFlBvcnRjdWxsaXMgZnV6eiBT\n"
	"VEktQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAS7BK+IvU0jRChdFGzOF4L1\n"
	"VF63SyKb7+B6zaSsF7GNMS/MjfFKAq7+1y6AFgApPDiw38YhC7cVkQ3kXa90CA2p\n"
	"o0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwICBDAdBgNVHQ4EFgQU\n"
	"1C86rqcfXKksB4ZGPmc+yey8KSwwCgYIKoZIzj0EAwIDSAAwRQIhANZspQBx2MI1\n"
	"WBmbdJ3kp67hBitH2hkoJEHfhDuNgczJAiBNyQzAwzpQfswnktilSgn5zshDt0Ef\n"
	"AXPJIUuitEEK3Q==\n"
	"-----END CERTIFICATE-----\n"
	;

static struct stir_trust *trust;

static struct stir_trust *load_trust(void)
{
	char file[] = "/tmp/fuzz_sti_ca.XXXXXX";
	int fd = mkstemp(file);
	if (fd < 0)
		abort();
	if (write(fd, fuzz_ca, sizeof fuzz_ca - 1) != (ssize_t)(sizeof fuzz_ca - 1))
		abort();
	close(fd);
	char why[256];
	struct stir_trust *t = stir_trust_load(file, NULL, why, sizeof why);
	unlink(file);
	if (!t) {
		fprintf(stderr, "fuzz_sti_cert: %s\n", why);
		abort();
	}
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!trust)
		trust = load_trust();
	struct stir_cert *c = NULL;
	enum stir_result r = stir_cert_check(data, size, trust, NOW, &c);
	if (r == STIR_PASSED) {
		if (!c || stir_cert_tnauth(c)->n == 0 || stir_cert_valid_at(c, NOW) != STIR_PASSED)
			abort();
		static const uint8_t zero[STIR_ES256_SIG_LEN];
		if (stir_cert_verify_es256(c, "a.b", 3, zero) == STIR_PASSED)
			abort();
		(void)stir_cert_expires(c);
	} else if (c) {
		abort();
	}
	stir_cert_free(c);
	c = NULL;
	if (stir_cert_check_rsa(data, size, trust, NOW, &c) == STIR_PASSED && !c)
		abort();
	stir_cert_free(c);
	return 0;
}
