/* Shared by the test peers: turn "SUITE:BASE64" (an SDES inline key as it
 * appears in SDP, optionally followed by |lifetime|MKI) into a libsrtp2
 * session, with the suite policies of RFC 4568/6188/7714 (SRTCP of the _32
 * suites keeps the 80-bit tag). */
#ifndef PC_TESTS_SRTP_SPEC_H
#define PC_TESTS_SRTP_SPEC_H

#include <srtp2/srtp.h>
#include <stdbool.h>

/* 0, or -1 with the reason on stderr prefixed by `prog`. */
int srtp_spec_session(const char *prog, const char *spec, bool inbound, srtp_t *session);

#endif
