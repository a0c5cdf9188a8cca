/* stir/result: why an Identity check failed, one reason per counter, and the
 * RFC 8224 answer each maps to (428 Use Identity Header, 436 Bad Identity
 * Info, 437 Unsupported Credential, 438 Invalid Identity Header, 403 Stale
 * Date). RFC 4474's legacy Identity maps onto the same table. The verification code returns a reason; what the gateway does with
 * it (mark the call with a verstat, or refuse it) is the leg's policy. */
#ifndef PC_STIR_RESULT_H
#define PC_STIR_RESULT_H

enum stir_result {
	STIR_PASSED = 0,
	STIR_NO_IDENTITY,      /* 428: no Identity header (none we understand) */
	STIR_MALFORMED,        /* 438: the header or the PASSporT does not parse */
	STIR_UNSUPPORTED,      /* 438: alg/ppt we do not verify (not ES256/shaken) */
	STIR_INFO_UNREACHABLE, /* 436: the x5u/info URL could not be fetched */
	STIR_INFO_REFUSED,     /* 436: URL not allowed (scheme, special-purpose address) */
	STIR_INFO_NOT_CERT,    /* 436: the fetched body is not a PEM/DER certificate chain */
	STIR_CERT_UNTRUSTED,   /* 437: does not chain to the STI-CA trust list (or revoked) */
	STIR_CERT_EXPIRED,     /* 437: not valid now (expired or not yet valid) */
	STIR_CERT_NO_TNAUTH,   /* 437: no TNAuthList extension (RFC 8226) */
	STIR_CERT_KEY,         /* 437: not an EC P-256 key */
	STIR_SIGNATURE,        /* 438: the signature does not verify */
	STIR_ORIG_MISMATCH,    /* 438: orig is not the calling number */
	STIR_DEST_MISMATCH,    /* 438: dest does not include the called number */
	STIR_STALE,            /* 403 Stale Date: iat too old or in the future */
	STIR_DATE_MISMATCH,    /* 403 Stale Date: Date header far from iat */
	STIR_WEAK_ALG,         /* 437: RFC 4474 rsa-sha1 while stir.legacy_sha1 is off */
	STIR_RESULT__COUNT
};

/* The SIP status of RFC 8224 §6.2.2 for a failure (0 for STIR_PASSED). */
int stir_result_status(enum stir_result r);
/* Its reason phrase ("Bad Identity Info", ...), and a short token for logs
 * and counters ("info_unreachable"). Never NULL. */
const char *stir_result_phrase(enum stir_result r);
const char *stir_result_name(enum stir_result r);

#endif
