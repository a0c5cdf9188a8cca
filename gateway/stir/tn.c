/* stir/tn: the canonical form of a telephone number (RFC 8224 §8.3): the
 * digits of the user part of a sip/sips/tel URI with visual separators and
 * their %-escapes dropped, a national number prefixed with the configured
 * country code. Signing and verifying both call it, so a number compares
 * equal however the peer dressed it. Anything that is not plainly a number
 * (letters, '*', '#', more digits than E.164 allows) is refused rather than
 * guessed at. */
#include "stir/tn.h"

#include <string.h>

#include "core/hex.h"

#define E164_DIGITS 15

static bool is_separator(char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')' || c == ' ';
}

/* Reads the character at in[*i] (a %XX escape counts as the character it
 * stands for) and advances *i; -1 on a broken escape. */
static int next_char(const char *in, size_t len, size_t *i)
{
	if (in[*i] != '%') {
		return (unsigned char)in[(*i)++];
	}
	if (len - *i < 3)
		return -1;
	int hi = hex_digit(in[*i + 1]), lo = hex_digit(in[*i + 2]);
	if (hi < 0 || lo < 0)
		return -1;
	*i += 3;
	return hi * 16 + lo;
}

bool stir_tn_canon(const char *in, size_t len, const char *country_code,
		   char out[STIR_TN_MAX])
{
	char digits[E164_DIGITS + 1];
	size_t n = 0, i = 0;
	bool global = false, seen_digit = false;

	out[0] = '\0';
	if (in == NULL)
		return false;
	while (i < len) {
		if (in[i] == ';')
			break; /* parameters (";phone-context=", ";npdi") end the number */
		int c = next_char(in, len, &i);
		if (c < 0)
			return false;
		if (is_separator((char)c))
			continue;
		if (c == '+' && !global && !seen_digit) {
			global = true;
			continue;
		}
		if (c < '0' || c > '9')
			return false; /* letters, '*', '#', a second '+', NUL, ... */
		if (n == E164_DIGITS)
			return false;
		digits[n++] = (char)c;
		seen_digit = true;
	}
	if (n == 0)
		return false;

	size_t cc_len = 0;
	if (!global && country_code != NULL) {
		cc_len = strlen(country_code);
		for (size_t k = 0; k < cc_len; k++)
			if (country_code[k] < '0' || country_code[k] > '9')
				return false;
	}
	if (cc_len + n > E164_DIGITS)
		return false;
	memcpy(out, country_code == NULL ? "" : country_code, cc_len);
	memcpy(out + cc_len, digits, n);
	out[cc_len + n] = '\0';
	return true;
}
