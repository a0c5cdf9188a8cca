/* stir/tn: telephone numbers in canonical form (RFC 8224 §8.3), used alike
 * when signing (orig/dest claims) and when verifying (comparing claims with
 * From/To/P-Asserted-Identity). */
#ifndef PC_STIR_TN_H
#define PC_STIR_TN_H

#include <stdbool.h>
#include <stddef.h>

#define STIR_TN_MAX 32 /* digits of a canonical number, with its NUL */

/* Canonicalises the user part of a sip/sips/tel URI (`in`, `len` bytes):
 * drops visual separators ("-", ".", "(", ")", " " and their %-escapes),
 * a leading "+" means the number is global; a national number (no "+")
 * gets `country_code` (digits, may be "" to leave national numbers as they
 * are). Parameters (";...") end the number. Writes digits only (no "+").
 * Returns false when it is not a telephone number: letters, '*', '#',
 * digits beyond 15 (E.164), or empty. */
bool stir_tn_canon(const char *in, size_t len, const char *country_code,
		   char out[STIR_TN_MAX]);

#endif
