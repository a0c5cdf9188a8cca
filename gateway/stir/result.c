/* stir/result: the table behind enum stir_result: each failure's RFC 8224
 * status and phrase (§6.2.2, §13.3) and the token that names it in logs and
 * counters. */
#include "stir/result.h"

struct result_row {
	int status;
	const char *phrase;
	const char *name;
};

static const struct result_row rows[STIR_RESULT__COUNT] = {
	[STIR_PASSED] = { 0, "OK", "passed" },
	[STIR_NO_IDENTITY] = { 428, "Use Identity Header", "no_identity" },
	[STIR_MALFORMED] = { 438, "Invalid Identity Header", "malformed" },
	[STIR_UNSUPPORTED] = { 438, "Invalid Identity Header", "unsupported" },
	[STIR_INFO_UNREACHABLE] = { 436, "Bad Identity Info", "info_unreachable" },
	[STIR_INFO_REFUSED] = { 436, "Bad Identity Info", "info_refused" },
	[STIR_INFO_NOT_CERT] = { 436, "Bad Identity Info", "info_not_cert" },
	[STIR_CERT_UNTRUSTED] = { 437, "Unsupported Credential", "cert_untrusted" },
	[STIR_CERT_EXPIRED] = { 437, "Unsupported Credential", "cert_expired" },
	[STIR_CERT_NO_TNAUTH] = { 437, "Unsupported Credential", "cert_no_tnauth" },
	[STIR_CERT_KEY] = { 437, "Unsupported Credential", "cert_key" },
	[STIR_SIGNATURE] = { 438, "Invalid Identity Header", "signature" },
	[STIR_ORIG_MISMATCH] = { 438, "Invalid Identity Header", "orig_mismatch" },
	[STIR_DEST_MISMATCH] = { 438, "Invalid Identity Header", "dest_mismatch" },
	[STIR_STALE] = { 403, "Stale Date", "stale" },
	[STIR_DATE_MISMATCH] = { 403, "Stale Date", "date_mismatch" },
	[STIR_WEAK_ALG] = { 437, "Unsupported Credential", "weak_alg" },
};

static const struct result_row *row_of(enum stir_result r)
{
	return (unsigned)r < STIR_RESULT__COUNT ? &rows[r] : &rows[STIR_MALFORMED];
}

int stir_result_status(enum stir_result r)
{
	return row_of(r)->status;
}

const char *stir_result_phrase(enum stir_result r)
{
	return row_of(r)->phrase;
}

const char *stir_result_name(enum stir_result r)
{
	return row_of(r)->name;
}
