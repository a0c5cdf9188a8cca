/* libFuzzer target: the TNAuthList extension value (RFC 8226 §9) as
 * stir_tnauth_parse meets it inside a fetched certificate. Nothing may
 * crash; what passes must hold the bounds the parser promises (1..16
 * entries, NUL-terminated values of the allowed characters, counts of 2
 * and more). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stir/tnauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stir_tnauth tn;
	if (!stir_tnauth_parse(data, size, &tn)) {
		if (tn.n != 0)
			abort();
		return 0;
	}
	if (tn.n < 1 || tn.n > STIR_TNAUTH_MAX_ENTRIES)
		abort();
	for (unsigned i = 0; i < tn.n; i++) {
		const struct stir_tnauth_entry *e = &tn.entry[i];
		size_t len = strnlen(e->value, sizeof e->value);
		if (len == 0 || len == sizeof e->value)
			abort();
		if (e->kind != STIR_TNAUTH_SPC && strspn(e->value, "0123456789#*") != len)
			abort();
		if (e->kind == STIR_TNAUTH_RANGE && e->count < 2)
			abort();
	}
	return 0;
}
