/* libFuzzer target: one a=crypto value. Whatever sdes_parse accepts must
 * print, and the printed line must parse back to the same key, lifetime
 * and MKI; a refusal must come with a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pc_sdp_crypto c, back;
	char why[128] = "";
	char line[256];

	int rc = sdes_parse((const char *)data, size, &c, why, sizeof(why));
	if (rc < 0) {
		if (!why[0])
			abort();
		return 0;
	}
	if (rc == 1)
		return 0;
	int n = sdes_print(&c, line, sizeof(line));
	if (n < 0)
		abort();
	if (sdes_parse(line, (size_t)n, &back, why, sizeof(why)) != 0)
		abort();
	if (back.tag != c.tag || !pc_srtp_params_equal(&back.params, &c.params) ||
	    back.params.lifetime != c.params.lifetime || back.params.mki_len != c.params.mki_len)
		abort();
	pc_srtp_params_wipe(&c.params);
	pc_srtp_params_wipe(&back.params);
	return 0;
}
