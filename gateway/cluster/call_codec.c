/* The sealed call-state record (call_codec.h). The clear record is
 * binary, in a fixed order: "PCS" and a version byte, the id, the answer
 * time, each leg (configured leg, transport, peer address and TLS identity, Call-ID, tags,
 * URIs, route set, CSeqs, SDP o= id and version, secure), then the streams, each side's relay
 * port, media address, RTCP port and flags, keys, and each way's ROC and
 * highest sequence number.
 * Strings are a 16-bit length and printable ASCII; addresses a family byte
 * (0, 4 or 6), the address and the port; integers big-endian. Binary
 * rather than text because it is sealed anyway (redis-cli shows nothing
 * readable) and binary reading has fewer ways to be lenient. The reader
 * refuses the whole record on the first thing out of shape. */
#include "call_codec.h"

#include <arpa/inet.h>
#include <nettle/gcm.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"

#define CS_VERSION 2 /* 2: ROC and sequence number each way, o= id and version */

struct wr {
	uint8_t *p;
	size_t len, cap;
	bool bad;
};

static void put(struct wr *w, const void *d, size_t n)
{
	if (w->bad || n > w->cap - w->len) {
		w->bad = true;
		return;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void put_u8(struct wr *w, unsigned v) { put(w, &(uint8_t){ (uint8_t)v }, 1); }
static void put_u16(struct wr *w, unsigned v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(w, b, 2);
}
static void put_u32(struct wr *w, uint32_t v)
{
	put_u16(w, v >> 16);
	put_u16(w, v & 0xffff);
}
static void put_u64(struct wr *w, uint64_t v)
{
	put_u32(w, (uint32_t)(v >> 32));
	put_u32(w, (uint32_t)v);
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static void put_str(struct wr *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (n >= max || !printable(s, n)) {
		w->bad = true;
		return;
	}
	put_u16(w, (unsigned)n);
	put(w, s, n);
}

static void put_addr(struct wr *w, const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const void *)a;
		put_u8(w, 4);
		put(w, &v4->sin_addr, 4);
		put_u16(w, ntohs(v4->sin_port));
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const void *)a;
		put_u8(w, 6);
		put(w, &v6->sin6_addr, 16);
		put_u16(w, ntohs(v6->sin6_port));
	} else {
		put_u8(w, 0);
	}
}

static void put_params(struct wr *w, const struct pc_srtp_params *p)
{
	if ((unsigned)p->suite >= PC_SRTP_SUITE__COUNT ||
	    p->key_salt_len != pc_srtp_suite_key_salt_len(p->suite) || p->mki_len > PC_SRTP_MAX_MKI) {
		w->bad = true;
		return;
	}
	put_u8(w, p->suite);
	put_u8(w, (unsigned)p->key_salt_len);
	put(w, p->key_salt, p->key_salt_len);
	put_u8(w, p->mki_len);
	put_u32(w, p->mki);
	put_u64(w, p->lifetime);
}

static void put_leg(struct wr *w, const struct pc_cs_leg *l)
{
	put_str(w, l->cfg_leg, sizeof(l->cfg_leg));
	put_u8(w, l->transport);
	put_addr(w, &l->peer);
	put_str(w, l->identity, sizeof(l->identity));
	put_str(w, l->call_id, sizeof(l->call_id));
	put_str(w, l->local_tag, sizeof(l->local_tag));
	put_str(w, l->remote_tag, sizeof(l->remote_tag));
	put_str(w, l->local_uri, sizeof(l->local_uri));
	put_str(w, l->remote_uri, sizeof(l->remote_uri));
	put_str(w, l->remote_target, sizeof(l->remote_target));
	put_str(w, l->route, sizeof(l->route));
	put_u32(w, l->local_cseq);
	put_u32(w, l->remote_cseq);
	put_u64(w, l->sdp_id);
	put_u64(w, l->sdp_version);
	put_u8(w, l->secure);
}

static void put_side(struct wr *w, const struct pc_cs_side *s)
{
	put_u16(w, s->relay_port);
	put_addr(w, &s->media);
	put_u16(w, s->rtcp_port);
	put_u8(w, (unsigned)s->rtcp_mux | (unsigned)s->has_recv << 1 | (unsigned)s->has_send << 2);
	if (s->has_recv)
		put_params(w, &s->recv);
	if (s->has_send)
		put_params(w, &s->send);
	put_u32(w, s->recv_roc);
	put_u16(w, s->recv_seq);
	put_u32(w, s->send_roc);
	put_u16(w, s->send_seq);
}

int cl_call_encode(const struct pc_call_state *s, uint8_t *out, size_t outlen)
{
	struct wr w = { .p = out, .cap = outlen < CL_CALL_PLAIN_MAX ? outlen : CL_CALL_PLAIN_MAX };
	if (s->n_streams > PC_CS_STREAMS)
		return -1;
	put(&w, "PCS", 3);
	put_u8(&w, CS_VERSION);
	put_str(&w, s->id, sizeof(s->id));
	put_u64(&w, s->answered_wall_s);
	for (int i = 0; i < 2; i++)
		put_leg(&w, &s->legs[i]);
	put_u8(&w, s->n_streams);
	for (unsigned i = 0; i < s->n_streams; i++)
		for (int k = 0; k < 2; k++)
			put_side(&w, &s->streams[i].side[k]);
	if (w.bad) {
		explicit_bzero(out, w.len);
		return -1;
	}
	return (int)w.len;
}

struct rd {
	const uint8_t *p;
	size_t len, at;
	bool bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	if (r->bad || n > r->len - r->at) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *d = r->p + r->at;
	r->at += n;
	return d;
}

static unsigned get_u8(struct rd *r)
{
	const uint8_t *d = take(r, 1);
	return d ? d[0] : 0;
}
static unsigned get_u16(struct rd *r)
{
	const uint8_t *d = take(r, 2);
	return d ? (unsigned)d[0] << 8 | d[1] : 0;
}
static uint32_t get_u32(struct rd *r)
{
	uint32_t hi = get_u16(r);
	return hi << 16 | get_u16(r);
}
static uint64_t get_u64(struct rd *r)
{
	uint64_t hi = get_u32(r);
	return hi << 32 | get_u32(r);
}

/* A string into dst[max]: shorter than max, printable; empty only when
 * `empty_ok`. */
static void get_str(struct rd *r, char *dst, size_t max, bool empty_ok)
{
	size_t n = get_u16(r);
	const uint8_t *d = r->bad || n >= max ? NULL : take(r, n);
	if (d == NULL || (n == 0 && !empty_ok) || !printable((const char *)d, n)) {
		r->bad = true;
		return;
	}
	memcpy(dst, d, n);
	dst[n] = '\0';
}

/* An address: family 0 (none, only when `none_ok`), 4 or 6, and a port
 * that is not 0. */
static void get_addr(struct rd *r, struct sockaddr_storage *a, bool none_ok)
{
	unsigned fam = get_u8(r);
	memset(a, 0, sizeof(*a));
	if (fam == 4) {
		struct sockaddr_in *v4 = (void *)a;
		const uint8_t *d = take(r, 4);
		if (d)
			memcpy(&v4->sin_addr, d, 4);
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)get_u16(r));
		r->bad |= v4->sin_port == 0;
	} else if (fam == 6) {
		struct sockaddr_in6 *v6 = (void *)a;
		const uint8_t *d = take(r, 16);
		if (d)
			memcpy(&v6->sin6_addr, d, 16);
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)get_u16(r));
		r->bad |= v6->sin6_port == 0;
	} else if (fam != 0 || !none_ok) {
		r->bad = true;
	}
}

static void get_params(struct rd *r, struct pc_srtp_params *p)
{
	unsigned suite = get_u8(r), n = get_u8(r);
	if (suite >= PC_SRTP_SUITE__COUNT || n != pc_srtp_suite_key_salt_len((enum pc_srtp_suite)suite)) {
		r->bad = true;
		return;
	}
	p->suite = (enum pc_srtp_suite)suite;
	p->key_salt_len = n;
	const uint8_t *d = take(r, n);
	if (d)
		memcpy(p->key_salt, d, n);
	p->mki_len = (uint8_t)get_u8(r);
	p->mki = get_u32(r);
	p->lifetime = get_u64(r);
	r->bad |= p->mki_len > PC_SRTP_MAX_MKI;
}

static void get_leg(struct rd *r, struct pc_cs_leg *l)
{
	get_str(r, l->cfg_leg, sizeof(l->cfg_leg), false);
	unsigned tp = get_u8(r);
	r->bad |= tp > PC_TP_TLS;
	l->transport = (enum pc_transport)tp;
	get_addr(r, &l->peer, false);
	get_str(r, l->identity, sizeof(l->identity), true);
	get_str(r, l->call_id, sizeof(l->call_id), false);
	get_str(r, l->local_tag, sizeof(l->local_tag), false);
	get_str(r, l->remote_tag, sizeof(l->remote_tag), false);
	get_str(r, l->local_uri, sizeof(l->local_uri), false);
	get_str(r, l->remote_uri, sizeof(l->remote_uri), false);
	get_str(r, l->remote_target, sizeof(l->remote_target), true);
	get_str(r, l->route, sizeof(l->route), true);
	l->local_cseq = get_u32(r);
	l->remote_cseq = get_u32(r);
	l->sdp_id = get_u64(r);
	l->sdp_version = get_u64(r);
	unsigned sec = get_u8(r);
	r->bad |= sec > 1;
	l->secure = sec;
}

static void get_side(struct rd *r, struct pc_cs_side *s)
{
	s->relay_port = (uint16_t)get_u16(r);
	r->bad |= s->relay_port == 0;
	get_addr(r, &s->media, true);
	s->rtcp_port = (uint16_t)get_u16(r);
	unsigned flags = get_u8(r);
	r->bad |= flags > 7;
	s->rtcp_mux = flags & 1;
	s->has_recv = flags & 2;
	s->has_send = flags & 4;
	if (s->has_recv)
		get_params(r, &s->recv);
	if (s->has_send)
		get_params(r, &s->send);
	s->recv_roc = get_u32(r);
	s->recv_seq = (uint16_t)get_u16(r);
	s->send_roc = get_u32(r);
	s->send_seq = (uint16_t)get_u16(r);
	/* an index is 48 bits (RFC 3711 §3.3.1) */
	r->bad |= s->recv_roc > 0xffff || s->send_roc > 0xffff;
}

static bool id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n >= PC_CS_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

int cl_call_decode(const uint8_t *in, size_t len, struct pc_call_state *out)
{
	struct rd r = { .p = in, .len = len };
	memset(out, 0, sizeof(*out));
	const uint8_t *magic = take(&r, 3);
	r.bad |= magic == NULL || memcmp(magic, "PCS", 3) != 0 || get_u8(&r) != CS_VERSION;
	get_str(&r, out->id, sizeof(out->id), false);
	r.bad |= !r.bad && !id_ok(out->id);
	out->answered_wall_s = get_u64(&r);
	for (int i = 0; i < 2 && !r.bad; i++)
		get_leg(&r, &out->legs[i]);
	out->n_streams = get_u8(&r);
	r.bad |= out->n_streams > PC_CS_STREAMS;
	for (unsigned i = 0; i < out->n_streams && !r.bad; i++)
		for (int k = 0; k < 2; k++)
			get_side(&r, &out->streams[i].side[k]);
	if (r.bad || r.at != len) {
		pc_call_state_wipe(out);
		return -1;
	}
	return 0;
}

/* The associated data: node, NUL, id, NUL, the sealed-at second as
 * written (8 bytes, big-endian), in one update (nettle takes only the
 * last update of a size that is not a whole block). */
static void put_ad(struct gcm_aes256_ctx *ctx, const char *node, const char *id, const uint8_t at[8])
{
	uint8_t ad[256 + PC_CS_ID_MAX + 8];
	size_t nl = strnlen(node, 255), il = strnlen(id, PC_CS_ID_MAX - 1), n = 0;
	memcpy(ad, node, nl);
	n = nl;
	ad[n++] = 0;
	memcpy(ad + n, id, il);
	n += il;
	ad[n++] = 0;
	memcpy(ad + n, at, 8);
	gcm_aes256_update(ctx, n + 8, ad);
}

int cl_call_seal(const uint8_t key[CL_CALL_KEY_LEN], const char *node, uint64_t sealed_at_s,
		 const struct pc_call_state *s, uint8_t *out, size_t outlen)
{
	size_t head = CL_CALL_HEAD;
	if (!id_ok(s->id) || outlen < head + CL_CALL_TAG_LEN)
		return -1;
	int n = cl_call_encode(s, out + head, outlen - head - CL_CALL_TAG_LEN);
	if (n < 0 || pc_random_bytes(out + 12, CL_CALL_NONCE_LEN) < 0) {
		explicit_bzero(out, outlen);
		return -1;
	}
	memcpy(out, CL_CALL_MAGIC, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(sealed_at_s >> (56 - 8 * i));
	struct gcm_aes256_ctx ctx;
	gcm_aes256_set_key(&ctx, key);
	gcm_aes256_set_iv(&ctx, CL_CALL_NONCE_LEN, out + 12);
	put_ad(&ctx, node, s->id, out + 4);
	/* in place: the clear text never exists outside `out` */
	gcm_aes256_encrypt(&ctx, (size_t)n, out + head, out + head);
	gcm_aes256_digest(&ctx, CL_CALL_TAG_LEN, out + head + (size_t)n);
	explicit_bzero(&ctx, sizeof(ctx));
	return (int)(head + (size_t)n + CL_CALL_TAG_LEN);
}

static bool tags_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

int cl_call_open(const uint8_t key[CL_CALL_KEY_LEN], const char *node, const char *id, const uint8_t *in,
		 size_t len, struct pc_call_state *out, uint64_t *sealed_at_s)
{
	size_t head = CL_CALL_HEAD;
	memset(out, 0, sizeof(*out));
	if (len < head + CL_CALL_TAG_LEN || len > CL_CALL_SEALED_MAX || memcmp(in, CL_CALL_MAGIC, 4) != 0 ||
	    !id_ok(id))
		return -1;
	size_t n = len - head - CL_CALL_TAG_LEN;
	uint8_t *clear = malloc(n ? n : 1), tag[CL_CALL_TAG_LEN];
	if (clear == NULL)
		return -1;
	struct gcm_aes256_ctx ctx;
	gcm_aes256_set_key(&ctx, key);
	gcm_aes256_set_iv(&ctx, CL_CALL_NONCE_LEN, in + 12);
	put_ad(&ctx, node, id, in + 4);
	gcm_aes256_decrypt(&ctx, n, clear, in + head);
	gcm_aes256_digest(&ctx, sizeof(tag), tag);
	explicit_bzero(&ctx, sizeof(ctx));
	int rc = -1;
	if (tags_equal(tag, in + head + n, sizeof(tag)) && cl_call_decode(clear, n, out) == 0) {
		if (strcmp(out->id, id) == 0) {
			uint64_t at = 0;
			for (int i = 0; i < 8; i++)
				at = at << 8 | in[4 + i];
			*sealed_at_s = at;
			rc = 0;
		} else {
			pc_call_state_wipe(out);
		}
	}
	explicit_bzero(clear, n);
	free(clear);
	return rc;
}
