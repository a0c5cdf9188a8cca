/* The ITU-T G.107 E-model, simplified as is usual for monitoring VoIP
 * (Cole and Rosenbluth, "Voice over IP performance monitoring", ACM CCR
 * 2001): R = R0 - Is - Id - Ie,eff + A, with every G.107 default (R0 - Is =
 * 93.2, A = 0), Id from the one-way delay alone, and Ie,eff from the
 * codec's equipment impairment and packet-loss robustness (ITU-T G.113
 * Appendix I). Pure: numbers in, numbers out. */
#ifndef PC_MEDIA_EMODEL_H
#define PC_MEDIA_EMODEL_H

#include <stdbool.h>

#include "media.h"

/* R0 - Is with G.107's default parameters. */
#define EMODEL_R_DEFAULT 93.2

/* Ie and Bpl of a codec; false for one without figures (no MOS then). */
bool emodel_codec(enum media_codec c, double *ie, double *bpl);
/* Id for a one-way mouth-to-ear delay in ms (0 below 0). */
double emodel_delay_impairment(double delay_ms);
/* Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl), Ppl in percent
 * (clamped to 0..100), BurstR >= 1 (1 = random loss). */
double emodel_ie_eff(double ie, double bpl, double ppl_percent, double burst_r);
/* G.107 §B: R to the estimated mean opinion score, 1.0..4.5. */
double emodel_mos_from_r(double r);
/* The whole chain for a codec: false (and *mos untouched) when the codec
 * has no figures. Random loss (BurstR 1) is assumed. */
bool emodel_mos(enum media_codec c, double ppl_percent, double delay_ms, double *mos);

#endif
