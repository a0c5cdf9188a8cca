/* libsrtp2 as the independent SRTP peer of the unit tests: a session for
 * one pc_srtp_params, built the way an ordinary libsrtp2 user would (suite
 * policies, MKI as srtp_master_key_t), so the gateway's own SRTP is checked
 * against another implementation, not against itself. */
#ifndef PC_TESTS_LIBSRTP_REF_H
#define PC_TESTS_LIBSRTP_REF_H

#include <stdbool.h>

#include <srtp2/srtp.h>

#include "core/srtp_params.h"

/* inbound: ssrc_any_inbound, else ssrc_any_outbound. rtcp_auth_only: SRTCP
 * is sent unencrypted (E = 0). Window 1024, no repeated send index. NULL
 * when libsrtp2 refuses the policy. */
srtp_t libsrtp_ref_new(const struct pc_srtp_params *p, bool inbound, bool rtcp_auth_only);

#endif
