/* policy/sips: the SIPS and per-leg transport checks of one request. Only the
 * URI scheme Sofia parsed is read (url_type), never the text, so "SIPS:" and
 * "sips:" are the same thing (schemes are case-insensitive, RFC 3986 §3.1).
 * A missing context counts as "nothing secure is known": it fails closed.
 * See sips.h for the codes and their sections. */
#include "policy/sips.h"

const char sips_why_leg_tls[] = "leg requires TLS";
const char sips_why_leg_cert[] = "leg requires a verified client certificate";
const char sips_why_in_insecure[] = "SIPS request arrived without TLS";
const char sips_why_route_insecure[] = "sips: Route followed without TLS";
const char sips_why_out_insecure[] = "SIPS request cannot leave over TLS";

static const struct sips_ctx nothing_known;

static bool is_sips(const url_t *u)
{
	return u && u->url_type == url_sips;
}

bool sips_required(const sip_t *sip)
{
	if (!sip || !sip->sip_request)
		return false;
	if (is_sips(sip->sip_request->rq_url))
		return true;
	return sip->sip_to && is_sips(sip->sip_to->a_url);
}

struct verdict sips_check_inbound(const sip_t *sip, const struct sips_ctx *ctx)
{
	if (!ctx)
		ctx = &nothing_known;
	if (ctx->leg_requires_tls && !ctx->in_tls)
		return verdict_refuse(REFUSAL_LEG_TLS, sips_why_leg_tls);
	if (ctx->leg_requires_cert && !(ctx->in_tls && ctx->in_cert_verified))
		return verdict_refuse(REFUSAL_LEG_CERT, sips_why_leg_cert);
	if (ctx->in_tls)
		return verdict_accept();
	if (sips_required(sip))
		return verdict_refuse(REFUSAL_SIPS_INBOUND, sips_why_in_insecure);
	if (sip && sip->sip_request && sip->sip_route && is_sips(sip->sip_route->r_url))
		return verdict_refuse(REFUSAL_SIPS_INBOUND, sips_why_route_insecure);
	return verdict_accept();
}

struct verdict sips_check_outbound(const sip_t *sip, const struct sips_ctx *ctx)
{
	if (!ctx)
		ctx = &nothing_known;
	if (!ctx->next_hop_tls && sips_required(sip))
		return verdict_refuse(REFUSAL_SIPS_OUTBOUND, sips_why_out_insecure);
	return verdict_accept();
}

struct verdict sips_check(const sip_t *sip, const struct sips_ctx *ctx)
{
	struct verdict v = sips_check_inbound(sip, ctx);
	if (v.kind != VERDICT_ACCEPT)
		return v;
	return sips_check_outbound(sip, ctx);
}
