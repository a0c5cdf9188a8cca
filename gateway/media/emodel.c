/* The simplified G.107 E-model (emodel.h) and the codec figures it needs.
 * Codec values are ITU-T G.113 Appendix I's: G.711 with packet-loss
 * concealment Ie 0, Bpl 25.1; G.729A (+VAD) Ie 11, Bpl 19.0. G.722 has
 * wideband figures only on the G.107.1 scale (R up to 129), which this
 * narrowband model cannot use: it is rated as G.711 (Ie 0, Bpl 25.1), a
 * narrowband approximation that under-rates a clean wideband call and is
 * documented as such (docs/architecture.md, "Media quality"). The delay
 * impairment is Cole and Rosenbluth's fit of G.107's Id for the default
 * echo parameters: Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3). */
#include "emodel.h"

#include <stddef.h>
#include <strings.h>

static const struct {
	enum media_codec codec;
	const char *name; /* the RFC 3551 / IANA rtpmap encoding name */
	double ie, bpl;
} codecs[] = {
	{ MEDIA_CODEC_PCMU, "PCMU", 0.0, 25.1 },
	{ MEDIA_CODEC_PCMA, "PCMA", 0.0, 25.1 },
	{ MEDIA_CODEC_G729, "G729", 11.0, 19.0 },
	{ MEDIA_CODEC_G722, "G722", 0.0, 25.1 },
};

enum media_codec media_codec_from_name(const char *encoding)
{
	if (encoding == NULL)
		return MEDIA_CODEC_UNKNOWN;
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		if (strcasecmp(encoding, codecs[i].name) == 0)
			return codecs[i].codec;
	return MEDIA_CODEC_UNKNOWN;
}

const char *media_codec_name(enum media_codec c)
{
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		if (codecs[i].codec == c)
			return codecs[i].name;
	return NULL;
}

bool emodel_codec(enum media_codec c, double *ie, double *bpl)
{
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		if (codecs[i].codec == c) {
			*ie = codecs[i].ie;
			*bpl = codecs[i].bpl;
			return true;
		}
	}
	return false;
}

double emodel_delay_impairment(double d)
{
	if (!(d > 0))
		return 0;
	double id = 0.024 * d;
	if (d > 177.3)
		id += 0.11 * (d - 177.3);
	return id;
}

double emodel_ie_eff(double ie, double bpl, double ppl, double burst_r)
{
	if (!(ppl > 0))
		ppl = 0;
	if (ppl > 100)
		ppl = 100;
	if (!(burst_r >= 1))
		burst_r = 1;
	return ie + (95.0 - ie) * ppl / (ppl / burst_r + bpl);
}

double emodel_mos_from_r(double r)
{
	if (!(r > 0))
		return 1.0;
	if (r >= 100)
		return 4.5;
	double mos = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6;
	/* The cubic dips just below 1 for R under about 6.5. */
	return mos < 1.0 ? 1.0 : mos;
}

bool emodel_mos(enum media_codec c, double ppl, double delay_ms, double *mos)
{
	double ie, bpl;
	if (!emodel_codec(c, &ie, &bpl))
		return false;
	double r = EMODEL_R_DEFAULT - emodel_delay_impairment(delay_ms) -
		   emodel_ie_eff(ie, bpl, ppl, 1.0);
	*mos = emodel_mos_from_r(r);
	return true;
}
