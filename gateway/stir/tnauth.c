/* stir/tnauth: reads the TNAuthList extension of an STI certificate
 * (RFC 8226 §9) from DER with libtasn1 under the module below, written out
 * by hand as the node table asn1_array2tree takes (no generated code), then
 * checks what the ASN.1 leaves to the reader: that the bytes are the one
 * DER encoding, the entry count, the SPC's characters, a telephone number's
 * digits and length, a range's count. It also answers whether a list
 * covers a calling number. */
#include "stir/tnauth.h"

#include <libtasn1.h>
#include <stdio.h>
#include <string.h>

/* The module, as RFC 8226 §9 gives it (EXPLICIT tags):
 *
 *   TNAuth DEFINITIONS EXPLICIT TAGS ::= BEGIN
 *   TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
 *   TNEntry ::= CHOICE {
 *     spc   [0] ServiceProviderCode,      -- IA5String
 *     range [1] TelephoneNumberRange,
 *     one   [2] TelephoneNumber }
 *   TelephoneNumberRange ::= SEQUENCE {
 *     start TelephoneNumber,
 *     count INTEGER (2..MAX) }
 *   TelephoneNumber ::= IA5String (SIZE (1..15))
 *   END
 *
 * libtasn1's node table lists the tree in preorder; each node's type is an
 * ASN1_ETYPE_* plus flags: DOWN (the next row is its first child), RIGHT
 * (a sibling follows its subtree), TAG (a tag row is among its children),
 * SIZE/MIN_MAX (a size row: name = max, value = min). The flag values are
 * libtasn1's (int.h), which it does not export. Value ranges are not
 * enforced by the decoder; tnauth_entry checks them. */
enum {
	N_EXPLICIT = 1u << 11,
	N_TAG = 1u << 13,
	N_MIN_MAX = 1u << 19,
	N_SIZE = 1u << 21,
	N_DOWN = 1u << 29,
	N_RIGHT = 1u << 30,
};

static const asn1_static_node tnauth_module[] = {
	{ "TNAuth", ASN1_ETYPE_DEFINITIONS | N_EXPLICIT | N_DOWN, NULL },
	{ NULL, ASN1_ETYPE_OBJECT_ID | N_RIGHT, NULL },
	{ "TNAuthorizationList", ASN1_ETYPE_SEQUENCE_OF | N_SIZE | N_DOWN | N_RIGHT, NULL },
	{ "MAX", ASN1_ETYPE_SIZE | N_MIN_MAX | N_RIGHT, "1" },
	{ NULL, ASN1_ETYPE_IDENTIFIER, "TNEntry" },
	{ "TNEntry", ASN1_ETYPE_CHOICE | N_DOWN | N_RIGHT, NULL },
	{ "spc", ASN1_ETYPE_IA5_STRING | N_TAG | N_DOWN | N_RIGHT, NULL },
	{ NULL, ASN1_ETYPE_TAG | N_EXPLICIT, "0" },
	{ "range", ASN1_ETYPE_IDENTIFIER | N_TAG | N_DOWN | N_RIGHT, "TelephoneNumberRange" },
	{ NULL, ASN1_ETYPE_TAG | N_EXPLICIT, "1" },
	{ "one", ASN1_ETYPE_IDENTIFIER | N_TAG | N_DOWN, "TelephoneNumber" },
	{ NULL, ASN1_ETYPE_TAG | N_EXPLICIT, "2" },
	{ "TelephoneNumberRange", ASN1_ETYPE_SEQUENCE | N_DOWN | N_RIGHT, NULL },
	{ "start", ASN1_ETYPE_IDENTIFIER | N_RIGHT, "TelephoneNumber" },
	{ "count", ASN1_ETYPE_INTEGER, NULL },
	{ "TelephoneNumber", ASN1_ETYPE_IA5_STRING | N_SIZE | N_DOWN, NULL },
	{ "15", ASN1_ETYPE_SIZE | N_MIN_MAX, "1" },
	{ NULL, 0, NULL },
};

/* Far above 16 entries of at most ~40 bytes each: what is longer is refused
 * before libtasn1 builds a node per element of it. */
#define TNAUTH_DER_MAX 2048
#define TN_DIGITS_MAX 15

/* A string leaf into out (NUL-terminated, out has max + 1 bytes), when it
 * is 1..max bytes long. */
static bool read_string(asn1_node el, const char *name, char *out, size_t max)
{
	int len = (int)max;
	if (asn1_read_value(el, name, out, &len) != ASN1_SUCCESS || len < 1 || (size_t)len > max)
		return false;
	out[len] = '\0';
	/* An embedded NUL would hide the rest from every later check. */
	return memchr(out, '\0', (size_t)len) == NULL;
}

/* RFC 8226: a TelephoneNumber is 1..15 of "0123456789#*". */
static bool read_number(asn1_node el, const char *name, char *out)
{
	if (!read_string(el, name, out, TN_DIGITS_MAX))
		return false;
	for (const char *p = out; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '#' || *p == '*'))
			return false;
	return true;
}

/* The SPC: printable ASCII without spaces, as the STI-PA assigns them. */
static bool read_spc(asn1_node el, const char *name, char *out)
{
	if (!read_string(el, name, out, STIR_SPC_MAX - 1))
		return false;
	for (const char *p = out; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

/* A range's count: a positive INTEGER from 2 up to UINT32_MAX (the DER
 * content octets, big-endian two's complement). */
static bool read_count(asn1_node el, const char *name, unsigned *count)
{
	uint8_t v[8];
	int len = sizeof v;
	if (asn1_read_value(el, name, v, &len) != ASN1_SUCCESS || len < 1 || (v[0] & 0x80))
		return false;
	uint64_t n = 0;
	for (int i = 0; i < len; i++)
		n = (n << 8) | v[i];
	if (len > 5 || n < 2 || n > UINT32_MAX)
		return false;
	*count = (unsigned)n;
	return true;
}

/* Entry i (1-based: libtasn1 names them "?1", "?2", ...) into e. */
static bool tnauth_entry(asn1_node el, unsigned i, struct stir_tnauth_entry *e)
{
	char name[48], which[16];
	int len = sizeof which - 1;
	snprintf(name, sizeof name, "?%u", i);
	if (asn1_read_value(el, name, which, &len) != ASN1_SUCCESS || len < 1)
		return false;
	which[len] = '\0';
	char leaf[64];
	memset(e, 0, sizeof *e);
	if (strcmp(which, "spc") == 0) {
		e->kind = STIR_TNAUTH_SPC;
		snprintf(leaf, sizeof leaf, "?%u.spc", i);
		return read_spc(el, leaf, e->value);
	}
	if (strcmp(which, "one") == 0) {
		e->kind = STIR_TNAUTH_ONE;
		snprintf(leaf, sizeof leaf, "?%u.one", i);
		return read_number(el, leaf, e->value);
	}
	if (strcmp(which, "range") == 0) {
		e->kind = STIR_TNAUTH_RANGE;
		snprintf(leaf, sizeof leaf, "?%u.range.start", i);
		if (!read_number(el, leaf, e->value))
			return false;
		snprintf(leaf, sizeof leaf, "?%u.range.count", i);
		return read_count(el, leaf, &e->count);
	}
	return false;
}

bool stir_tnauth_parse(const uint8_t *der, size_t len, struct stir_tnauth *out)
{
	memset(out, 0, sizeof *out);
	if (!der || len < 2 || len > TNAUTH_DER_MAX)
		return false;
	asn1_node defs = NULL, el = NULL;
	bool ok = false;
	if (asn1_array2tree(tnauth_module, &defs, NULL) != ASN1_SUCCESS)
		goto done;
	if (asn1_create_element(defs, "TNAuth.TNAuthorizationList", &el) != ASN1_SUCCESS)
		goto done;
	/* Strict DER, and all of it: the extension's value is exactly one list. */
	int used = (int)len;
	if (asn1_der_decoding2(&el, der, &used, ASN1_DECODE_FLAG_STRICT_DER, NULL) != ASN1_SUCCESS ||
	    used != (int)len)
		goto done;
	/* libtasn1 takes some non-minimal forms (a long-form length) even
	 * strictly; DER has one encoding per value, so the value encoded again
	 * must be the very bytes received. */
	uint8_t again[TNAUTH_DER_MAX];
	int again_len = sizeof again;
	if (asn1_der_coding(el, "", again, &again_len, NULL) != ASN1_SUCCESS ||
	    again_len != (int)len || memcmp(again, der, len) != 0)
		goto done;
	int n = 0;
	if (asn1_number_of_elements(el, "", &n) != ASN1_SUCCESS || n < 1 ||
	    n > STIR_TNAUTH_MAX_ENTRIES)
		goto done;
	for (unsigned i = 1; i <= (unsigned)n; i++)
		if (!tnauth_entry(el, i, &out->entry[i - 1]))
			goto done;
	out->n = (unsigned)n;
	ok = true;
done:
	asn1_delete_structure(&el);
	asn1_delete_structure(&defs);
	if (!ok)
		memset(out, 0, sizeof *out);
	return ok;
}

/* All digits, 1..15 of them: the value of tn into *v. */
static bool tn_value(const char *tn, size_t *len, unsigned long long *v)
{
	*len = strnlen(tn, TN_DIGITS_MAX + 1);
	*v = 0;
	if (*len == 0 || *len > TN_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < *len; i++) {
		if (tn[i] < '0' || tn[i] > '9')
			return false;
		*v = *v * 10 + (unsigned long long)(tn[i] - '0');
	}
	return true;
}

/* A range covers the count numbers of start's length from start on. */
static bool range_covers(const struct stir_tnauth_entry *e, const char *tn)
{
	size_t n, start_n;
	unsigned long long v, start;
	return tn_value(tn, &n, &v) && tn_value(e->value, &start_n, &start) && n == start_n &&
	       v >= start && v - start < e->count;
}

bool stir_tnauth_covers(const struct stir_tnauth *t, const char *tn)
{
	if (t->n == 0)
		return true;
	for (unsigned i = 0; i < t->n && i < STIR_TNAUTH_MAX_ENTRIES; i++)
		if (t->entry[i].kind == STIR_TNAUTH_SPC)
			return true;
	if (tn == NULL)
		return false; /* numbers listed, and the orig is none of them */
	for (unsigned i = 0; i < t->n && i < STIR_TNAUTH_MAX_ENTRIES; i++) {
		const struct stir_tnauth_entry *e = &t->entry[i];
		if (e->kind == STIR_TNAUTH_ONE ? strcmp(e->value, tn) == 0 : range_covers(e, tn))
			return true;
	}
	return false;
}
