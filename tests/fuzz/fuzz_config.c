/* libFuzzer target: the configuration loader on arbitrary text (operators'
 * files are not network input, but a loader must still never crash). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gateway_config cfg;
	char err[512];
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)config_load_string(text, "fuzz.conf", "/tmp", &cfg, err, sizeof(err));
	free(text);
	return 0;
}
