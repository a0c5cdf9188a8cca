/* libFuzzer target: network text in a call record (record/record.c). The
 * input is a caller and a callee URI, split at the first NUL, as a peer's
 * From and To would give them; through record_text and record_format the
 * record must always be one line of printable ASCII, valid JSON, within
 * RECORD_LINE_MAX, giving back the caller as record_text kept it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "record/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 2);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = in[size + 1] = '\0';
	const char *callee = in + strlen(in) + 1;
	if (callee > in + size)
		callee = in + size;
	struct call_record r;
	memset(&r, 0, sizeof(r));
	r.n_legs = 2;
	record_text(r.caller, sizeof(r.caller), in);
	record_text(r.callee, sizeof(r.callee), callee);
	record_text(r.reason, sizeof(r.reason), callee);
	record_text(r.legs[0].name, sizeof(r.legs[0].name), in);
	char line[RECORD_LINE_MAX];
	long n = record_format(&r, line, sizeof(line));
	if (n <= 0 || n > RECORD_LINE_MAX || line[n - 1] != '\n')
		abort();
	for (long i = 0; i < n - 1; i++)
		if (line[i] < 0x20 || line[i] >= 0x7f)
			abort();
	json_error_t e;
	json_t *j = json_loadb(line, (size_t)n, 0, &e);
	if (!j)
		abort();
	const char *c = json_string_value(json_object_get(j, "caller"));
	if (strcmp(c ? c : "", r.caller) != 0)
		abort();
	json_decref(j);
	free(in);
	return 0;
}
