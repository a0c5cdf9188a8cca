/* The legacy RFC 4474 Identity for the peers configured with
 * identity_legacy (stir_call.h): which configured peer a request comes
 * from, the digest-string of a message (the INVITE as we send it, or a
 * request as it arrived), the signature the key holder makes over it for
 * Identity and Identity-Info, and the verification of such a request. A
 * peer that is not configured for it never gets this treatment: the scheme
 * is the configuration's choice, not the sender's. */
#include "stir_call.h"
#include "call.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/msg_date.h>
#include <sofia-sip/url.h>

#include "core/counters.h"
#include "core/log.h"
#include "core/sipname.h"
#include "keyholder/keyholder.h"
#include "sti/verify.h"
#include "stir/rfc4474.h"

#define SECONDS_1900_TO_1970 2208988800L
#define LEGACY_SIG_MAX 512 /* RSA-4096 */
#define ADDR_SPEC_MAX 1024
/* The digest-string's fixed fields beside the body (each header value is
 * bounded by the message size; these bounds refuse, they do not truncate). */
#define DIGEST_HEAD_MAX (4 * ADDR_SPEC_MAX + 1024)

/* Whether the source address of `from` is the literal address `addr`. */
static bool same_address(const struct pc_peer *from, const char *addr)
{
	unsigned char want[16];
	if (from->addr.ss_family == AF_INET && inet_pton(AF_INET, addr, want) == 1)
		return memcmp(&((const struct sockaddr_in *)&from->addr)->sin_addr, want, 4) == 0;
	if (from->addr.ss_family == AF_INET6 && inet_pton(AF_INET6, addr, want) == 1)
		return memcmp(&((const struct sockaddr_in6 *)&from->addr)->sin6_addr, want, 16) == 0;
	return false;
}

/* A TLS peer is recognised by the verified certificate of the connection
 * (one of its peer_names, else its sip_domain), never by address: over TLS
 * the address proves nothing the certificate does not. A plain peer is
 * recognised by its configured (literal) address and transport. */
bool peer_is_source(const struct peer_config *p, const struct pc_peer *from)
{
	if (p->transport == PC_TP_TLS) {
		if (from->transport != PC_TP_TLS || !from->identity[0])
			return false;
		for (unsigned i = 0; i < p->tls.n_peer_names; i++)
			if (sipname_identity_names_domain(from->identity, p->tls.peer_names[i]))
				return true;
		return p->tls.n_peer_names == 0 && p->sip_domain[0] &&
		       sipname_identity_names_domain(from->identity, p->sip_domain);
	}
	return from->transport == p->transport && same_address(from, p->address);
}

const struct peer_config *stir_legacy_peer_from(const struct gateway_config *cfg,
						const struct pc_peer *from)
{
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].identity_legacy && peer_is_source(&cfg->peers[i], from))
			return &cfg->peers[i];
	return NULL;
}

bool stir_legacy_form(const char *identity)
{
	while (*identity == ' ' || *identity == '\t')
		identity++;
	return *identity == '"';
}

/* An addr-spec as Sofia prints it (the same printer writes what we send). */
static bool addr_spec(const url_t *u, char *out, size_t size)
{
	return u && url_e(out, (isize_t)size, u) < (issize_t)size;
}

/* The digest-string of RFC 4474 §9 for a parsed message, in a new buffer
 * (the body may be most of a 64 KiB message); NULL when a field is missing
 * or holds what the string cannot carry. The values are the parsed ones,
 * printed again: a peer whose From or Date text is not in the canonical
 * form does not verify, which fails closed. */
static char *digest_of(sip_t const *sip, size_t *len)
{
	char from[ADDR_SPEC_MAX], to[ADDR_SPEC_MAX], contact[ADDR_SPEC_MAX] = "", cseq[64],
		date[64];
	if (!sip->sip_from || !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq ||
	    !sip->sip_date || !addr_spec(sip->sip_from->a_url, from, sizeof(from)) ||
	    !addr_spec(sip->sip_to->a_url, to, sizeof(to)) ||
	    (sip->sip_contact && !addr_spec(sip->sip_contact->m_url, contact, sizeof(contact))))
		return NULL;
	snprintf(cseq, sizeof(cseq), "%u %s", (unsigned)sip->sip_cseq->cs_seq,
		 sip->sip_cseq->cs_method_name);
	if (msg_date_e(date, sizeof(date), sip->sip_date->d_time) >= (issize_t)sizeof(date))
		return NULL;
	const sip_payload_t *pl = sip->sip_payload;
	struct stir_4474_fields f = {
		.from_addr = from, .to_addr = to, .call_id = sip->sip_call_id->i_id,
		.cseq = cseq, .date = date, .contact = contact,
		.body = pl ? pl->pl_data : NULL, .body_len = pl ? pl->pl_len : 0,
	};
	size_t size = DIGEST_HEAD_MAX + f.body_len + 1;
	char *out = malloc(size);
	if (!out)
		return NULL;
	*len = stir_4474_digest_string(&f, out, size);
	if (*len == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* The Identity-Info we send: the legacy certificate's URL, rsa-sha256. */
static void info_value(const struct gateway_config *cfg, char *out, size_t size)
{
	snprintf(out, size, "<%s>;alg=rsa-sha256", cfg->stir.legacy_info);
}

int stir_legacy_sign(struct call *c, sip_t const *sip, char *identity, size_t idlen, char *info,
		     size_t infolen)
{
	size_t len = 0;
	char *digest = digest_of(sip, &len);
	uint8_t sig[LEGACY_SIG_MAX];
	size_t sig_len = sizeof(sig);
	/* rsa-sha256 always: rsa-sha1 is only ever accepted, never made. */
	int r = digest ? keyholder_sign_rsa(digest, len, false, sig, &sig_len) : -1;
	free(digest);
	if (r != 0 || stir_4474_identity_format(sig, sig_len, identity, idlen) == 0) {
		counter_inc(CNT_IDENTITY_SIGN_FAILED);
		log_warnx("call %u: cannot sign the RFC 4474 Identity (%s)", c->id,
			  digest ? "the key holder refused" : "no digest-string");
		return -1;
	}
	info_value(c->b2bua->cfg, info, infolen);
	counter_inc(CNT_IDENTITY_SIGNED);
	counter_inc(CNT_IDENTITY_LEGACY_SIGNED);
	log_info("call %u: signed with RFC 4474 Identity (rsa-sha256)", c->id);
	return 0;
}

enum stir_result stir_legacy_verify(struct call *c, sip_t const *sip, const char *identity,
				    sti_check_fn done, struct sti_check **pending)
{
	struct b2bua *b = c->b2bua;
	const msg_generic_t *info = sipmsg_identity_info(sip);
	size_t len = 0;
	char *digest = digest_of(sip, &len);
	struct sti_4474_request q = {
		.identity = identity,
		.identity_len = strlen(identity),
		.info = info && info->g_string ? info->g_string : "",
		.info_len = info && info->g_string ? strlen(info->g_string) : 0,
		.digest = digest,
		.digest_len = digest ? len : 0,
		.from_host = sip->sip_from ? sip->sip_from->a_url->url_host : NULL,
		.date = sip->sip_date ? (int64_t)sip->sip_date->d_time - SECONDS_1900_TO_1970 : -1,
		.now = time(NULL),
		.max_age_s = b->cfg->stir.max_age_s,
		.allow_sha1 = b->cfg->stir.legacy_sha1,
	};
	log_debug("call %u: RFC 4474 Identity from a legacy peer", c->id);
	enum stir_result r = sti_verify_4474(b->sti, &q, done, c, pending);
	free(digest); /* the check keeps its own copy */
	return r;
}
