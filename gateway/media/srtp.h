/* SRTP and SRTCP for one direction of one relay side (RFC 3711 with the
 * RFC 6188 AES-256 and RFC 7714 AES-GCM suites), done directly with nettle,
 * GnuTLS's crypto library. Debian's libsrtp2 is built on NSS, whose
 * per-packet cost grows with the number of live sessions (2 µs to 20 µs for
 * AES-CM between 1 and 4,000 sessions, docs/performance.md); nettle costs a
 * fraction of a microsecond whatever the count, and a context is about
 * 1.2 KiB (AES-CM) or 4.6 KiB (AES-GCM, mostly the GHASH table) plus 160
 * bytes per SSRC it tracks. Interoperability (byte-identical output, each
 * side opening the other's packets) is checked against libsrtp2 itself in
 * tests/unit/test_srtp.c.
 *
 * A context holds the session keys derived from one master key (KDR 0) and
 * the per-SSRC state (rollover counter, highest index, replay window), for at
 * most MSRTP_MAX_SSRC SSRCs so no peer can grow it. Key bytes are wiped when
 * the context is freed and never logged. */
#ifndef PC_MEDIA_SRTP_H
#define PC_MEDIA_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/srtp_params.h"

/* Distinct SSRCs one context tracks. Real calls use one or two per
 * direction; the cap bounds memory against a peer inventing SSRCs. */
#define MSRTP_MAX_SSRC 32
/* Replay window in packets, per SSRC (RFC 3711 §3.3.2 minimum is 64; a
 * jittery long path delivers packets a few hundred late). */
#define MSRTP_REPLAY_WINDOW 1024
/* The most protect can append: a 16-byte tag, the 4-byte SRTCP index and
 * a 4-byte MKI. */
#define MSRTP_MAX_TRAILER 24

enum msrtp_status {
	MSRTP_OK = 0,
	MSRTP_BAD_PACKET,  /* too short, bad header, unknown MKI */
	MSRTP_AUTH_FAIL,   /* the tag does not verify */
	MSRTP_REPLAY,      /* index already seen, or older than the window */
	MSRTP_SSRC_LIMIT,  /* a new SSRC while MSRTP_MAX_SSRC are tracked, or no memory */
	MSRTP_KEY_EXPIRED, /* the master key's packet lifetime is used up */
};

struct msrtp;

/* Known suite, key length matching the suite, MKI fitting its length. */
bool msrtp_params_valid(const struct pc_srtp_params *p);

/* A context for receiving (inbound: unprotect) or sending (protect).
 * NULL on invalid parameters or no memory (logged, without key material). */
struct msrtp *msrtp_new(const struct pc_srtp_params *p, bool inbound);
void msrtp_free(struct msrtp *m);

/* In place. *len is the packet length in and out; `cap` is the buffer size,
 * which must leave MSRTP_MAX_TRAILER bytes past the packet (room for less
 * than this suite's trailer is MSRTP_BAD_PACKET). A repeated index on the
 * send side is refused (MSRTP_REPLAY): the same index under the same key
 * would reuse keystream. SRTCP always goes out encrypted, its index starting
 * at 1 per SSRC as in libsrtp2. A context is one-way: protect on an inbound
 * context, or unprotect on an outbound one, is MSRTP_BAD_PACKET. */
enum msrtp_status msrtp_protect(struct msrtp *m, uint8_t *pkt, size_t *len, size_t cap,
				bool rtcp);
/* In place. Authenticates before anything else: on any status other than
 * MSRTP_OK the packet bytes and the context state are unchanged, so the
 * caller may retry the same buffer under another context. An SSRC is
 * admitted only by a packet that authenticated. SRTCP sent unencrypted
 * (E flag 0, authenticated only) is accepted as well. */
enum msrtp_status msrtp_unprotect(struct msrtp *m, uint8_t *pkt, size_t *len, bool rtcp);

/* Cluster mode (issue 12): a context made on another node for a call taken
 * over carries on the RTP index where that node's was. msrtp_seed gives
 * the highest index (ROC << 16 | SEQ) it recorded: the first packet of
 * each SSRC then takes the index with its sequence number at or above
 * that (less the replay window) instead of ROC 0. msrtp_top is the
 * highest RTP index this context used or accepted (the seed when none is
 * higher); msrtp_take_wrapped says (once) that its ROC moved since the
 * last ask, which happens once per 65,536 packets of a stream. */
void msrtp_seed(struct msrtp *m, uint64_t index);
uint64_t msrtp_top(const struct msrtp *m);
bool msrtp_take_wrapped(struct msrtp *m);

#endif
