/* libFuzzer target: the legacy RFC 4474 Identity and Identity-Info values
 * (gateway/stir/rfc4474) as a peer could send them. Nothing may crash, and:
 *  - an accepted Identity-Info names an http(s) URL that fits its buffer,
 *    without whitespace or angle brackets;
 *  - an accepted Identity is the canonical quoted base64 of what it
 *    decodes to: formatting the signature again gives the same text (no
 *    whitespace, lost padding or stray bits slip through). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stir/rfc4474.h"

#define URL_MAX 512
#define SIG_MAX 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_info(const char *text, size_t size)
{
	char url[URL_MAX];
	bool sha1 = false;
	enum stir_result r = stir_4474_info_parse(text, size, url, sizeof(url), &sha1);
	if (r != STIR_PASSED && r != STIR_MALFORMED && r != STIR_UNSUPPORTED)
		abort();
	if (r != STIR_PASSED)
		return;
	if (!memchr(url, '\0', sizeof(url)) || strpbrk(url, " \t\r\n<>\"") != NULL)
		abort();
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		abort();
}

static void check_identity(const char *text, size_t size)
{
	static uint8_t sig[SIG_MAX];
	static char back[2 * SIG_MAX];
	size_t n = stir_4474_identity_parse(text, size, sig, sizeof(sig));
	if (n == (size_t)-1)
		return;
	if (n == 0 || n > sizeof(sig))
		abort();
	size_t m = stir_4474_identity_format(sig, n, back, sizeof(back));
	while (size > 0 && (*text == ' ' || *text == '\t')) {
		text++;
		size--;
	}
	while (size > 0 && (text[size - 1] == ' ' || text[size - 1] == '\t'))
		size--;
	if (m != size || memcmp(back, text, size) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	check_info(text, size);
	check_identity(text, size);
	free(text);
	return 0;
}
