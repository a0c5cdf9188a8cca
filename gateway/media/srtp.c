/* SRTP and SRTCP (RFC 3711, RFC 6188, RFC 7714) on nettle, producing byte
 * for byte what libsrtp2 2.5 produces (trailer order, MKI placement, first
 * SRTCP index), since interoperating with it is the point. Session keys are
 * derived once per context (KDR 0) and kept as nettle key schedules; a
 * packet then costs one CTR pass and one HMAC, or one GCM pass, and neither
 * allocates (except when an SSRC is first admitted) nor logs. Receiving
 * verifies before it writes, so a packet that fails any check leaves the
 * buffer and the context as they were and the caller can try another. */
#include "srtp.h"

#include <stdlib.h>
#include <string.h>

#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/gcm.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "core/log.h"

#define RTP_HDR 12
#define RTCP_HDR 8
#define SRTCP_E 0x80000000u
#define RTCP_INDEX_MAX 0x7fffffffu
#define RTP_INDEX_LIMIT (UINT64_C(1) << 48)
#define RTCP_INDEX_LIMIT (UINT64_C(1) << 31)
#define CM_SALT 14
#define GCM_SALT 12
#define GCM_TAG 16
#define HMAC_KEY 20
#define WIN_WORDS (MSRTP_REPLAY_WINDOW / 64)
/* GCM plaintext is staged here until the tag has verified; larger packets
 * (beyond any Ethernet MTU) are verified in a first pass and decrypted in a
 * second. A multiple of the GCM block, as nettle requires between calls. */
#define GCM_SCRATCH 2048

_Static_assert(MSRTP_REPLAY_WINDOW % 64 == 0, "replay window is whole 64-bit words");
_Static_assert(GCM_TAG + 4 + PC_SRTP_MAX_MKI <= MSRTP_MAX_TRAILER, "trailer bound");

/* One SSRC of one context. The RTP window is a ring: index i lives at bit
 * i % MSRTP_REPLAY_WINDOW while rtp_top - i < MSRTP_REPLAY_WINDOW, so
 * advancing clears only the bits that fall out instead of shifting 1024. */
struct ssrc_state {
	uint32_t ssrc;
	uint32_t rtcp_top;  /* sent: last index used; received: highest accepted */
	uint64_t rtcp_win;  /* received: bit k = index rtcp_top - k accepted */
	uint64_t rtp_top;   /* highest RTP index, ROC << 16 | SEQ */
	uint64_t rtp_win[WIN_WORDS];
	bool rtp_seen, rtcp_seen;
};

union aes_key {
	struct aes128_ctx a128;
	struct aes256_ctx a256;
};

/* AES-CM keys of one of SRTP or SRTCP. */
struct cm_keys {
	union aes_key aes;
	struct hmac_sha1_ctx mac; /* keyed once; every digest resets it to keyed */
	uint8_t salt[CM_SALT];
};

/* The SRTP GHASH table costs 4 KiB; SRTCP (a packet every few seconds)
 * keeps only its AES schedule and builds the table on the stack per packet,
 * which keeps a GCM context near 4.5 KiB instead of 9. */
struct gcm_keys {
	struct gcm_key rtp_h;
	union aes_key rtp_aes, rtcp_aes;
	uint8_t rtp_salt[GCM_SALT], rtcp_salt[GCM_SALT];
};

struct msrtp {
	enum pc_srtp_suite suite;
	bool inbound;
	uint8_t rtp_tag, rtcp_tag, mki_len;
	uint8_t mki[PC_SRTP_MAX_MKI];
	nettle_cipher_func *enc;
	struct cm_keys *cm;  /* [0] SRTP, [1] SRTCP; NULL for GCM suites */
	struct gcm_keys *gk; /* NULL for AES-CM suites */
	uint64_t rtp_count, rtp_limit, rtcp_count, rtcp_limit;
	uint64_t seed;         /* msrtp_seed: a new SSRC's index is at least about this */
	bool wrapped;          /* the ROC moved since msrtp_take_wrapped last asked */
	unsigned nssrc, cap;
	struct ssrc_state *ss; /* grown on demand up to MSRTP_MAX_SSRC */
	size_t alloc;          /* bytes of this block, for the wipe */
};

/* The keys live in the same allocation as the context, sized per family so
 * an AES-CM context does not carry GCM's table. */
struct msrtp_cm {
	struct msrtp m;
	struct cm_keys k[2];
};
struct msrtp_gcm {
	struct msrtp m;
	struct gcm_keys k;
};

/* nettle_cipher_func has a void context; wrappers avoid calling AES through
 * a cast function pointer. */
static void aes128_enc(const void *c, size_t n, uint8_t *dst, const uint8_t *src)
{
	aes128_encrypt(c, n, dst, src);
}

static void aes256_enc(const void *c, size_t n, uint8_t *dst, const uint8_t *src)
{
	aes256_encrypt(c, n, dst, src);
}

static void set_aes(union aes_key *a, size_t klen, const uint8_t *key)
{
	if (klen == 32)
		aes256_set_encrypt_key(&a->a256, key);
	else
		aes128_set_encrypt_key(&a->a128, key);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* --- parameters and keys -------------------------------------------------- */

static size_t master_key_len(enum pc_srtp_suite s)
{
	return s == PC_SRTP_AES_256_CM_HMAC_SHA1_80 || s == PC_SRTP_AEAD_AES_256_GCM ? 32 : 16;
}

static bool suite_gcm(enum pc_srtp_suite s)
{
	return s == PC_SRTP_AEAD_AES_128_GCM || s == PC_SRTP_AEAD_AES_256_GCM;
}

bool msrtp_params_valid(const struct pc_srtp_params *p)
{
	if (p == NULL || (unsigned)p->suite >= PC_SRTP_SUITE__COUNT)
		return false;
	if (p->key_salt_len != pc_srtp_suite_key_salt_len(p->suite))
		return false;
	if (p->mki_len > PC_SRTP_MAX_MKI)
		return false;
	if (p->mki_len > 0 && p->mki_len < 4 && (p->mki >> (8 * p->mki_len)) != 0)
		return false; /* the MKI value must fit its declared length */
	return true;
}

/* RFC 3711 §4.3.1 with the AES-CM PRF and KDR 0: keystream under the master
 * key from IV = (salt XOR label at byte 7) || 16-bit block counter. Block by
 * block into our own buffers rather than ctr_crypt, whose scratch copy of
 * the keystream (here: key bytes) would stay behind on the stack. */
static void kdf(const union aes_key *prf, nettle_cipher_func *enc, const uint8_t salt[CM_SALT],
		uint8_t label, uint8_t *out, size_t n)
{
	uint8_t iv[AES_BLOCK_SIZE], block[AES_BLOCK_SIZE];
	for (size_t off = 0, ctr = 0; off < n; off += AES_BLOCK_SIZE, ctr++) {
		memcpy(iv, salt, CM_SALT);
		iv[7] ^= label;
		iv[14] = (uint8_t)(ctr >> 8);
		iv[15] = (uint8_t)ctr;
		enc(prf, AES_BLOCK_SIZE, block, iv);
		memcpy(out + off, block, n - off < AES_BLOCK_SIZE ? n - off : AES_BLOCK_SIZE);
	}
	explicit_bzero(iv, sizeof(iv));
	explicit_bzero(block, sizeof(block));
}

/* Labels 0/1/2 key SRTP, 3/4/5 SRTCP (encryption, authentication, salt).
 * GCM has no authentication key; its 96-bit master salt is zero-padded to
 * the PRF's 112 bits, as libsrtp2 does (RFC 7714 §11). */
static void derive(struct msrtp *m, const struct pc_srtp_params *p)
{
	size_t klen = master_key_len(p->suite);
	bool gcm = m->gk != NULL;
	uint8_t msalt[CM_SALT] = { 0 }, ek[32], ak[HMAC_KEY];
	union aes_key prf;

	memcpy(msalt, p->key_salt + klen, gcm ? GCM_SALT : CM_SALT);
	set_aes(&prf, klen, p->key_salt);
	for (int d = 0; d < 2; d++) {
		uint8_t base = (uint8_t)(3 * d);
		kdf(&prf, m->enc, msalt, base, ek, klen);
		if (gcm) {
			union aes_key *a = d == 0 ? &m->gk->rtp_aes : &m->gk->rtcp_aes;
			set_aes(a, klen, ek);
			kdf(&prf, m->enc, msalt, base + 2,
			    d == 0 ? m->gk->rtp_salt : m->gk->rtcp_salt, GCM_SALT);
		} else {
			set_aes(&m->cm[d].aes, klen, ek);
			kdf(&prf, m->enc, msalt, base + 1, ak, HMAC_KEY);
			hmac_sha1_set_key(&m->cm[d].mac, HMAC_KEY, ak);
			kdf(&prf, m->enc, msalt, base + 2, m->cm[d].salt, CM_SALT);
		}
	}
	if (gcm)
		gcm_set_key(&m->gk->rtp_h, &m->gk->rtp_aes, m->enc);
	explicit_bzero(ek, sizeof(ek));
	explicit_bzero(ak, sizeof(ak));
	explicit_bzero(msalt, sizeof(msalt));
	explicit_bzero(&prf, sizeof(prf));
}

struct msrtp *msrtp_new(const struct pc_srtp_params *p, bool inbound)
{
	if (!msrtp_params_valid(p)) {
		log_warnx("media: invalid SRTP parameters (suite %s)",
			  p ? pc_srtp_suite_name(p->suite) : "none");
		return NULL;
	}
	bool gcm = suite_gcm(p->suite);
	size_t size = gcm ? sizeof(struct msrtp_gcm) : sizeof(struct msrtp_cm);
	struct msrtp *m = calloc(1, size);
	if (m == NULL) {
		log_err("media: no memory for an SRTP context");
		return NULL;
	}
	m->alloc = size;
	if (gcm)
		m->gk = &((struct msrtp_gcm *)m)->k;
	else
		m->cm = ((struct msrtp_cm *)m)->k;
	m->suite = p->suite;
	m->inbound = inbound;
	m->enc = master_key_len(p->suite) == 32 ? aes256_enc : aes128_enc;
	/* RFC 4568 §6.2.2: the _32 suite shortens only the SRTP tag. */
	m->rtp_tag = gcm ? GCM_TAG : p->suite == PC_SRTP_AES_CM_128_HMAC_SHA1_32 ? 4 : 10;
	m->rtcp_tag = gcm ? GCM_TAG : 10;
	/* RFC 4568 §6.1: the MKI value is carried big-endian in mki_len bytes. */
	m->mki_len = p->mki_len;
	for (unsigned i = 0; i < p->mki_len; i++)
		m->mki[i] = (uint8_t)(p->mki >> (8 * (p->mki_len - 1 - i)));
	m->rtp_limit = p->lifetime && p->lifetime < RTP_INDEX_LIMIT ? p->lifetime : RTP_INDEX_LIMIT;
	m->rtcp_limit =
		p->lifetime && p->lifetime < RTCP_INDEX_LIMIT ? p->lifetime : RTCP_INDEX_LIMIT;
	derive(m, p);
	return m;
}

void msrtp_free(struct msrtp *m)
{
	if (m == NULL)
		return;
	free(m->ss);
	explicit_bzero(m, m->alloc);
	free(m);
}

/* --- per-SSRC state --------------------------------------------------------- */

static struct ssrc_state *find(struct msrtp *m, uint32_t ssrc)
{
	for (unsigned i = 0; i < m->nssrc; i++)
		if (m->ss[i].ssrc == ssrc)
			return &m->ss[i];
	return NULL;
}

/* Room for one more SSRC without admitting it; the caller has checked the
 * cap. Growing is not observable state, so it may precede a later failure. */
static bool reserve(struct msrtp *m)
{
	if (m->nssrc < m->cap)
		return true;
	unsigned cap = m->cap ? 2 * m->cap : 1;
	if (cap > MSRTP_MAX_SSRC)
		cap = MSRTP_MAX_SSRC;
	struct ssrc_state *ss = realloc(m->ss, cap * sizeof(*ss));
	if (ss == NULL)
		return false;
	m->ss = ss;
	m->cap = cap;
	return true;
}

static struct ssrc_state *admit(struct msrtp *m, uint32_t ssrc)
{
	struct ssrc_state *s = &m->ss[m->nssrc++];
	memset(s, 0, sizeof(*s));
	s->ssrc = ssrc;
	return s;
}

/* RFC 3711 Appendix A as libsrtp2 computes it (srtp_index_guess), except
 * that a ROC of 0 never guesses -1: libsrtp2 does not estimate at all
 * below index 2^15, which comes to the same. */
static uint64_t guess_index(uint64_t top, uint16_t seq)
{
	uint64_t roc = top >> 16;
	int s_l = (uint16_t)top, s = seq;
	if (s_l < 0x8000) {
		if (s - s_l > 0x8000 && roc > 0)
			roc--;
	} else if (s_l - 0x8000 > s) {
		roc++;
	}
	return roc << 16 | (uint64_t)seq;
}

static bool win_bit(const uint64_t *w, uint64_t i)
{
	unsigned b = (unsigned)(i % MSRTP_REPLAY_WINDOW);
	return (w[b / 64] >> (b % 64)) & 1;
}

/* The first index of an SSRC in a seeded context: the one with this
 * sequence number at or above the seed, less the replay window (an index
 * further below the highest one was refused by the node that recorded it,
 * so such a number is the next cycle's). Seed 0: the sequence number, ROC
 * 0, as in libsrtp2. */
static uint64_t seeded_index(uint64_t seed, uint16_t seq)
{
	uint64_t i = (seed & ~UINT64_C(0xffff)) | seq;
	return i + MSRTP_REPLAY_WINDOW < seed ? i + 0x10000 : i;
}

/* The RTP index of this packet for this SSRC, or why it is refused. */
static enum msrtp_status rtp_index(const struct msrtp *m, const struct ssrc_state *s, uint16_t seq,
				   uint64_t *idx)
{
	uint64_t i = s == NULL || !s->rtp_seen ? seeded_index(m->seed, seq)
					       : guess_index(s->rtp_top, seq);
	if (i >= RTP_INDEX_LIMIT)
		return MSRTP_KEY_EXPIRED;
	if (s && s->rtp_seen && i <= s->rtp_top &&
	    (s->rtp_top - i >= MSRTP_REPLAY_WINDOW || win_bit(s->rtp_win, i)))
		return MSRTP_REPLAY;
	*idx = i;
	return MSRTP_OK;
}

static void win_clear(uint64_t *w, uint64_t i)
{
	unsigned b = (unsigned)(i % MSRTP_REPLAY_WINDOW);
	w[b / 64] &= ~(UINT64_C(1) << (b % 64));
}

static void rtp_accept(struct msrtp *m, struct ssrc_state *s, uint64_t idx)
{
	/* A new cycle, or a first packet in another cycle than the seed's:
	 * what msrtp_top says changed (cluster mode records it). */
	uint64_t before = s->rtp_seen ? s->rtp_top : m->seed;
	if (idx >> 16 > before >> 16)
		m->wrapped = true;
	if (!s->rtp_seen) {
		memset(s->rtp_win, 0, sizeof(s->rtp_win));
		s->rtp_top = idx;
		s->rtp_seen = true;
	} else if (idx > s->rtp_top) {
		/* the slots of the indices skipped over held ones now too old */
		if (idx - s->rtp_top >= MSRTP_REPLAY_WINDOW)
			memset(s->rtp_win, 0, sizeof(s->rtp_win));
		else
			for (uint64_t i = s->rtp_top + 1; i < idx; i++)
				win_clear(s->rtp_win, i);
		s->rtp_top = idx;
	}
	unsigned b = (unsigned)(idx % MSRTP_REPLAY_WINDOW);
	s->rtp_win[b / 64] |= UINT64_C(1) << (b % 64);
}

static bool rtcp_replayed(const struct ssrc_state *s, uint32_t idx)
{
	if (s == NULL || !s->rtcp_seen || idx > s->rtcp_top)
		return false;
	uint32_t age = s->rtcp_top - idx;
	return age >= 64 || ((s->rtcp_win >> age) & 1);
}

static void rtcp_accept(struct ssrc_state *s, uint32_t idx)
{
	if (!s->rtcp_seen) {
		s->rtcp_win = 1;
		s->rtcp_top = idx;
	} else if (idx > s->rtcp_top) {
		uint32_t d = idx - s->rtcp_top;
		s->rtcp_win = (d >= 64 ? 0 : s->rtcp_win << d) | 1;
		s->rtcp_top = idx;
	} else {
		s->rtcp_win |= UINT64_C(1) << (s->rtcp_top - idx);
	}
	s->rtcp_seen = true;
}

/* Counts one packet under the key; logs once, on the last one allowed. */
static void spend(struct msrtp *m, bool rtcp)
{
	uint64_t *count = rtcp ? &m->rtcp_count : &m->rtp_count;
	uint64_t limit = rtcp ? m->rtcp_limit : m->rtp_limit;
	if (++*count == limit)
		log_warnx("media: %s %s key (%s) used up after %llu packets: "
			  "refusing packets until re-keyed",
			  m->inbound ? "receive" : "send", rtcp ? "SRTCP" : "SRTP",
			  pc_srtp_suite_name(m->suite), (unsigned long long)limit);
}

/* --- packet parts ------------------------------------------------------------ */

/* Length of the RTP header (fixed part, CSRCs, extension) within `n`
 * bytes, or 0 when it is not a version 2 header or runs past them. */
static size_t rtp_header_len(const uint8_t *pkt, size_t n)
{
	if (n < RTP_HDR || pkt[0] >> 6 != 2)
		return 0;
	size_t h = RTP_HDR + 4 * (size_t)(pkt[0] & 0x0f);
	if (pkt[0] & 0x10) {
		if (h + 4 > n)
			return 0;
		h += 4 + 4 * (size_t)get16(pkt + h + 2);
	}
	return h <= n ? h : 0;
}

/* AES-CM IV: salt XOR (0^32 || SSRC || index || 0^16); the RTP index is
 * 48 bits (ROC || SEQ), the SRTCP one 31, both right-aligned in bytes 8-13. */
static void cm_iv(uint8_t iv[16], const uint8_t salt[CM_SALT], const uint8_t *ssrc, uint64_t idx)
{
	memcpy(iv, salt, CM_SALT);
	iv[14] = iv[15] = 0;
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= ssrc[i];
	for (int i = 0; i < 6; i++)
		iv[13 - i] ^= (uint8_t)(idx >> (8 * i));
}

static void ctr_xor(const struct msrtp *m, const union aes_key *aes, uint8_t iv[16], uint8_t *p,
		    size_t n)
{
	ctr_crypt(aes, m->enc, AES_BLOCK_SIZE, iv, n, p, p);
}

/* RFC 7714 §8.1 / §9.1 IV: salt XOR (0^16 || SSRC || 32-bit word ||
 * 16-bit word): ROC || SEQ for SRTP, 0^16 || 31-bit index for SRTCP. */
static void gcm_iv(uint8_t iv[GCM_SALT], const uint8_t salt[GCM_SALT], const uint8_t *ssrc,
		   uint64_t idx)
{
	memcpy(iv, salt, GCM_SALT);
	for (int i = 0; i < 4; i++)
		iv[2 + i] ^= ssrc[i];
	for (int i = 0; i < 6; i++)
		iv[11 - i] ^= (uint8_t)(idx >> (8 * i));
}

/* First half of GCM decryption: checks the tag over ct[0..clen), whose
 * AAD is already hashed into *g, without touching ct. When it fits, the
 * plaintext is left in `scratch`; otherwise *again keeps the state to
 * decrypt a second time once the caller is ready to write. */
static bool gcm_check(struct gcm_ctx *g, struct gcm_ctx *again, const struct gcm_key *h,
		      const void *aes, nettle_cipher_func *enc, const uint8_t *ct, size_t clen,
		      const uint8_t *tag, uint8_t *scratch)
{
	uint8_t want[GCM_TAG];
	*again = *g;
	if (clen <= GCM_SCRATCH) {
		gcm_decrypt(g, h, aes, enc, clen, scratch, ct);
	} else {
		for (size_t off = 0; off < clen; off += GCM_SCRATCH) {
			size_t k = clen - off < GCM_SCRATCH ? clen - off : GCM_SCRATCH;
			gcm_decrypt(g, h, aes, enc, k, scratch, ct + off);
		}
	}
	gcm_digest(g, h, aes, enc, GCM_TAG, want);
	return memeql_sec(want, tag, GCM_TAG) != 0;
}

static void gcm_open(struct gcm_ctx *again, const struct gcm_key *h, const void *aes,
		     nettle_cipher_func *enc, uint8_t *ct, size_t clen, const uint8_t *scratch)
{
	if (clen <= GCM_SCRATCH)
		memcpy(ct, scratch, clen);
	else
		gcm_decrypt(again, h, aes, enc, clen, ct, ct);
}

/* --- SRTP ------------------------------------------------------------------- */

static enum msrtp_status rtp_protect(struct msrtp *m, uint8_t *pkt, size_t *len, size_t cap)
{
	size_t n = *len, h = rtp_header_len(pkt, n);
	if (h == 0 || cap < n || cap - n < (size_t)m->rtp_tag + m->mki_len)
		return MSRTP_BAD_PACKET;
	if (m->rtp_count >= m->rtp_limit)
		return MSRTP_KEY_EXPIRED;
	uint32_t ssrc = get32(pkt + 8);
	struct ssrc_state *s = find(m, ssrc);
	if (s == NULL && (m->nssrc >= MSRTP_MAX_SSRC || !reserve(m)))
		return MSRTP_SSRC_LIMIT;
	uint64_t idx;
	enum msrtp_status st = rtp_index(m, s, get16(pkt + 2), &idx);
	if (st != MSRTP_OK)
		return st; /* a repeated index would reuse keystream */

	if (m->gk) {
		struct gcm_ctx g;
		uint8_t iv[GCM_SALT];
		gcm_iv(iv, m->gk->rtp_salt, pkt + 8, idx);
		gcm_set_iv(&g, &m->gk->rtp_h, GCM_SALT, iv);
		gcm_update(&g, &m->gk->rtp_h, h, pkt);
		gcm_encrypt(&g, &m->gk->rtp_h, &m->gk->rtp_aes, m->enc, n - h, pkt + h, pkt + h);
		gcm_digest(&g, &m->gk->rtp_h, &m->gk->rtp_aes, m->enc, GCM_TAG, pkt + n);
		memcpy(pkt + n + GCM_TAG, m->mki, m->mki_len); /* GCM: MKI after the tag */
		explicit_bzero(&g, sizeof(g));
		explicit_bzero(iv, sizeof(iv));
	} else {
		struct cm_keys *k = &m->cm[0];
		uint8_t iv[16], roc[4];
		cm_iv(iv, k->salt, pkt + 8, idx);
		ctr_xor(m, &k->aes, iv, pkt + h, n - h);
		put32(roc, (uint32_t)(idx >> 16));
		memcpy(pkt + n, m->mki, m->mki_len); /* AES-CM: MKI before the tag */
		hmac_sha1_update(&k->mac, n, pkt);
		hmac_sha1_update(&k->mac, 4, roc);
		hmac_sha1_digest(&k->mac, m->rtp_tag, pkt + n + m->mki_len);
		explicit_bzero(iv, sizeof(iv));
	}
	rtp_accept(m, s ? s : admit(m, ssrc), idx);
	spend(m, false);
	*len = n + m->rtp_tag + m->mki_len;
	return MSRTP_OK;
}

static enum msrtp_status rtp_unprotect(struct msrtp *m, uint8_t *pkt, size_t *len)
{
	size_t n = *len, trailer = (size_t)m->rtp_tag + m->mki_len;
	if (n < RTP_HDR + trailer)
		return MSRTP_BAD_PACKET;
	size_t body = n - trailer; /* header and payload */
	size_t h = rtp_header_len(pkt, body);
	if (h == 0)
		return MSRTP_BAD_PACKET;
	const uint8_t *mki = m->gk ? pkt + body + GCM_TAG : pkt + body;
	const uint8_t *tag = m->gk ? pkt + body : pkt + body + m->mki_len;
	if (m->mki_len && memcmp(mki, m->mki, m->mki_len) != 0)
		return MSRTP_BAD_PACKET;
	if (m->rtp_count >= m->rtp_limit)
		return MSRTP_KEY_EXPIRED;
	uint32_t ssrc = get32(pkt + 8);
	struct ssrc_state *s = find(m, ssrc);
	if (s == NULL && m->nssrc >= MSRTP_MAX_SSRC)
		return MSRTP_SSRC_LIMIT;
	uint64_t idx;
	enum msrtp_status st = rtp_index(m, s, get16(pkt + 2), &idx);
	if (st != MSRTP_OK)
		return st;

	if (m->gk) {
		struct gcm_ctx g, again;
		uint8_t iv[GCM_SALT], scratch[GCM_SCRATCH];
		gcm_iv(iv, m->gk->rtp_salt, pkt + 8, idx);
		gcm_set_iv(&g, &m->gk->rtp_h, GCM_SALT, iv);
		gcm_update(&g, &m->gk->rtp_h, h, pkt);
		bool ok = gcm_check(&g, &again, &m->gk->rtp_h, &m->gk->rtp_aes, m->enc, pkt + h,
				    body - h, tag, scratch);
		if (!ok)
			st = MSRTP_AUTH_FAIL;
		else if (s == NULL && !reserve(m))
			st = MSRTP_SSRC_LIMIT;
		else
			gcm_open(&again, &m->gk->rtp_h, &m->gk->rtp_aes, m->enc, pkt + h, body - h,
				 scratch);
		explicit_bzero(&g, sizeof(g));
		explicit_bzero(&again, sizeof(again));
		explicit_bzero(iv, sizeof(iv));
		if (st != MSRTP_OK) {
			/* a forged packet's "plaintext" is keystream XOR its bytes */
			explicit_bzero(scratch, sizeof(scratch));
			return st;
		}
	} else {
		struct cm_keys *k = &m->cm[0];
		uint8_t want[SHA1_DIGEST_SIZE], iv[16], roc[4];
		put32(roc, (uint32_t)(idx >> 16));
		hmac_sha1_update(&k->mac, body, pkt);
		hmac_sha1_update(&k->mac, 4, roc);
		hmac_sha1_digest(&k->mac, m->rtp_tag, want);
		if (!memeql_sec(want, tag, m->rtp_tag))
			return MSRTP_AUTH_FAIL;
		if (s == NULL && !reserve(m))
			return MSRTP_SSRC_LIMIT;
		cm_iv(iv, k->salt, pkt + 8, idx);
		ctr_xor(m, &k->aes, iv, pkt + h, body - h);
		explicit_bzero(iv, sizeof(iv));
	}
	rtp_accept(m, s ? s : admit(m, ssrc), idx);
	spend(m, false);
	*len = body;
	return MSRTP_OK;
}

/* --- SRTCP ------------------------------------------------------------------ */

static enum msrtp_status rtcp_protect(struct msrtp *m, uint8_t *pkt, size_t *len, size_t cap)
{
	size_t n = *len, trailer = (size_t)m->rtcp_tag + 4 + m->mki_len;
	if (n < RTCP_HDR || pkt[0] >> 6 != 2 || cap < n || cap - n < trailer)
		return MSRTP_BAD_PACKET;
	if (m->rtcp_count >= m->rtcp_limit)
		return MSRTP_KEY_EXPIRED;
	uint32_t ssrc = get32(pkt + 4);
	struct ssrc_state *s = find(m, ssrc);
	if (s == NULL && (m->nssrc >= MSRTP_MAX_SSRC || !reserve(m)))
		return MSRTP_SSRC_LIMIT;
	/* libsrtp2 increments before use: a stream's first index is 1. */
	uint32_t idx = s && s->rtcp_seen ? s->rtcp_top + 1 : 1;
	if (idx > RTCP_INDEX_MAX)
		return MSRTP_KEY_EXPIRED;
	uint8_t word[4];
	put32(word, SRTCP_E | idx); /* we always encrypt */

	if (m->gk) {
		/* RFC 7714 §9: header || ciphertext || tag || E+index || MKI;
		 * the AAD is the 8-byte header then the E+index word, passed
		 * in one piece since nettle takes whole blocks between calls. */
		struct gcm_key hk;
		struct gcm_ctx g;
		uint8_t iv[GCM_SALT], aad[RTCP_HDR + 4];
		const void *aes = &m->gk->rtcp_aes;
		gcm_set_key(&hk, aes, m->enc);
		gcm_iv(iv, m->gk->rtcp_salt, pkt + 4, idx);
		memcpy(aad, pkt, RTCP_HDR);
		memcpy(aad + RTCP_HDR, word, 4);
		gcm_set_iv(&g, &hk, GCM_SALT, iv);
		gcm_update(&g, &hk, sizeof(aad), aad);
		gcm_encrypt(&g, &hk, aes, m->enc, n - RTCP_HDR, pkt + RTCP_HDR, pkt + RTCP_HDR);
		gcm_digest(&g, &hk, aes, m->enc, GCM_TAG, pkt + n);
		memcpy(pkt + n + GCM_TAG, word, 4);
		memcpy(pkt + n + GCM_TAG + 4, m->mki, m->mki_len);
		explicit_bzero(&hk, sizeof(hk));
		explicit_bzero(&g, sizeof(g));
		explicit_bzero(iv, sizeof(iv));
	} else {
		/* RFC 3711 §3.4: header || ciphertext || E+index || MKI || tag,
		 * the tag over everything before the MKI. */
		struct cm_keys *k = &m->cm[1];
		uint8_t iv[16];
		cm_iv(iv, k->salt, pkt + 4, idx);
		ctr_xor(m, &k->aes, iv, pkt + RTCP_HDR, n - RTCP_HDR);
		memcpy(pkt + n, word, 4);
		memcpy(pkt + n + 4, m->mki, m->mki_len);
		hmac_sha1_update(&k->mac, n + 4, pkt);
		hmac_sha1_digest(&k->mac, m->rtcp_tag, pkt + n + 4 + m->mki_len);
		explicit_bzero(iv, sizeof(iv));
	}
	if (s == NULL)
		s = admit(m, ssrc);
	s->rtcp_top = idx;
	s->rtcp_seen = true;
	spend(m, true);
	*len = n + trailer;
	return MSRTP_OK;
}

static enum msrtp_status rtcp_unprotect_gcm(struct msrtp *m, uint8_t *pkt, size_t body,
					    const uint8_t *word, struct ssrc_state *s,
					    uint32_t idx)
{
	const uint8_t *tag = pkt + body;
	bool encrypted = word[0] & 0x80;
	struct gcm_key hk;
	struct gcm_ctx g, again;
	uint8_t iv[GCM_SALT], aad[32], scratch[GCM_SCRATCH];
	const void *aes = &m->gk->rtcp_aes;
	enum msrtp_status st = MSRTP_OK;
	bool ok;

	gcm_set_key(&hk, aes, m->enc);
	gcm_iv(iv, m->gk->rtcp_salt, pkt + 4, idx);
	gcm_set_iv(&g, &hk, GCM_SALT, iv);
	if (encrypted) {
		memcpy(aad, pkt, RTCP_HDR);
		memcpy(aad + RTCP_HDR, word, 4);
		gcm_update(&g, &hk, RTCP_HDR + 4, aad);
		ok = gcm_check(&g, &again, &hk, aes, m->enc, pkt + RTCP_HDR, body - RTCP_HDR, tag,
			       scratch);
	} else {
		/* RFC 7714 §9.3: unencrypted, the whole packet is AAD, then
		 * the E+index word; whole blocks first, the rest with it. */
		size_t whole = body & ~(size_t)15, rest = body - whole;
		uint8_t want[GCM_TAG];
		gcm_update(&g, &hk, whole, pkt);
		memcpy(aad, pkt + whole, rest);
		memcpy(aad + rest, word, 4);
		gcm_update(&g, &hk, rest + 4, aad);
		gcm_digest(&g, &hk, aes, m->enc, GCM_TAG, want);
		ok = memeql_sec(want, tag, GCM_TAG) != 0;
	}
	if (!ok)
		st = MSRTP_AUTH_FAIL;
	else if (s == NULL && !reserve(m))
		st = MSRTP_SSRC_LIMIT;
	else if (encrypted)
		gcm_open(&again, &hk, aes, m->enc, pkt + RTCP_HDR, body - RTCP_HDR, scratch);
	explicit_bzero(&hk, sizeof(hk));
	explicit_bzero(&g, sizeof(g));
	explicit_bzero(&again, sizeof(again));
	explicit_bzero(iv, sizeof(iv));
	if (st != MSRTP_OK && encrypted)
		explicit_bzero(scratch, sizeof(scratch));
	return st;
}

static enum msrtp_status rtcp_unprotect(struct msrtp *m, uint8_t *pkt, size_t *len)
{
	size_t n = *len, trailer = (size_t)m->rtcp_tag + 4 + m->mki_len;
	if (n < RTCP_HDR + trailer || pkt[0] >> 6 != 2)
		return MSRTP_BAD_PACKET;
	size_t body = n - trailer; /* header and payload */
	/* GCM: body || tag || word || MKI; AES-CM: body || word || MKI || tag */
	const uint8_t *word = m->gk ? pkt + body + GCM_TAG : pkt + body;
	const uint8_t *mki = word + 4;
	if (m->mki_len && memcmp(mki, m->mki, m->mki_len) != 0)
		return MSRTP_BAD_PACKET;
	if (m->rtcp_count >= m->rtcp_limit)
		return MSRTP_KEY_EXPIRED;
	uint32_t ssrc = get32(pkt + 4);
	struct ssrc_state *s = find(m, ssrc);
	if (s == NULL && m->nssrc >= MSRTP_MAX_SSRC)
		return MSRTP_SSRC_LIMIT;
	uint32_t idx = get32(word) & RTCP_INDEX_MAX;
	if (rtcp_replayed(s, idx))
		return MSRTP_REPLAY;

	if (m->gk) {
		enum msrtp_status st = rtcp_unprotect_gcm(m, pkt, body, word, s, idx);
		if (st != MSRTP_OK)
			return st;
	} else {
		struct cm_keys *k = &m->cm[1];
		uint8_t want[SHA1_DIGEST_SIZE], iv[16];
		/* the tag covers the E+index word, which follows the payload */
		hmac_sha1_update(&k->mac, body + 4, pkt);
		hmac_sha1_digest(&k->mac, m->rtcp_tag, want);
		if (!memeql_sec(want, mki + m->mki_len, m->rtcp_tag))
			return MSRTP_AUTH_FAIL;
		if (s == NULL && !reserve(m))
			return MSRTP_SSRC_LIMIT;
		if (word[0] & 0x80) {
			cm_iv(iv, k->salt, pkt + 4, idx);
			ctr_xor(m, &k->aes, iv, pkt + RTCP_HDR, body - RTCP_HDR);
			explicit_bzero(iv, sizeof(iv));
		}
	}
	rtcp_accept(s ? s : admit(m, ssrc), idx);
	spend(m, true);
	*len = body;
	return MSRTP_OK;
}

/* --- entry points --------------------------------------------------------- */

enum msrtp_status msrtp_protect(struct msrtp *m, uint8_t *pkt, size_t *len, size_t cap,
				bool rtcp)
{
	/* One context, one direction: sending through a receive context would
	 * mix both directions' indices in one replay state. */
	if (m->inbound)
		return MSRTP_BAD_PACKET;
	return rtcp ? rtcp_protect(m, pkt, len, cap) : rtp_protect(m, pkt, len, cap);
}

enum msrtp_status msrtp_unprotect(struct msrtp *m, uint8_t *pkt, size_t *len, bool rtcp)
{
	if (!m->inbound)
		return MSRTP_BAD_PACKET;
	return rtcp ? rtcp_unprotect(m, pkt, len) : rtp_unprotect(m, pkt, len);
}

void msrtp_seed(struct msrtp *m, uint64_t index) { m->seed = index < RTP_INDEX_LIMIT ? index : 0; }

uint64_t msrtp_top(const struct msrtp *m)
{
	uint64_t top = m->seed;
	for (unsigned i = 0; i < m->nssrc; i++)
		if (m->ss[i].rtp_seen && m->ss[i].rtp_top > top)
			top = m->ss[i].rtp_top;
	return top;
}

bool msrtp_take_wrapped(struct msrtp *m)
{
	bool w = m->wrapped;
	m->wrapped = false;
	return w;
}
