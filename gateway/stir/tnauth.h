/* stir/tnauth: the TNAuthList certificate extension of RFC 8226 §9
 * (OID 1.3.6.1.5.5.7.1.26): a SEQUENCE of entries, each a Service Provider
 * Code, a telephone-number range or one number, read from DER with
 * libtasn1. Only what the checks need is kept. */
#ifndef PC_STIR_TNAUTH_H
#define PC_STIR_TNAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STIR_TNAUTH_OID "1.3.6.1.5.5.7.1.26"
#define STIR_TNAUTH_MAX_ENTRIES 16
#define STIR_SPC_MAX 32

struct stir_tnauth_entry {
	enum { STIR_TNAUTH_SPC, STIR_TNAUTH_RANGE, STIR_TNAUTH_ONE } kind;
	char value[STIR_SPC_MAX]; /* the SPC, the range start, or the number */
	unsigned count;           /* a range's count */
};

struct stir_tnauth {
	struct stir_tnauth_entry entry[STIR_TNAUTH_MAX_ENTRIES];
	unsigned n;
};

/* Parses the extension's DER value. False when it is not a valid
 * TNAuthList, is empty, or has more than STIR_TNAUTH_MAX_ENTRIES entries. */
bool stir_tnauth_parse(const uint8_t *der, size_t len, struct stir_tnauth *out);

/* Whether the list lets its holder sign for the canonical number `tn`
 * (NULL: the orig is a URI, not a number). A list with an SPC entry covers
 * every number (SHAKEN: the SPC names the provider, not its numbers); one
 * of numbers and ranges covers only those (RFC 8226 §9, RFC 8224 §6.2.1);
 * an empty list (an RFC 4474 chain without the extension) covers all. */
bool stir_tnauth_covers(const struct stir_tnauth *t, const char *tn);

#endif
