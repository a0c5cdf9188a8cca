/* Hexadecimal digits to bytes, strictly: the digest and user-store code
 * read hashes and nonce counts written by clients and operators, and a
 * stray character must be an error, not a silently shorter value. */
#ifndef PC_CORE_HEX_H
#define PC_CORE_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 0-15 for a hex digit of either case, -1 otherwise. */
int hex_digit(char c);
/* Exactly 2 * outlen hex digits in s[0..len) into out; false otherwise. */
bool hex_decode(const char *s, size_t len, uint8_t *out, size_t outlen);

#endif
