/* The keys of the STIR group (RFC 8224 Identity: the signing certificate,
 * key and x5u URL, the verification service's trust list and the limits on
 * its certificate fetches, the legacy RFC 4474 signer) and of the http
 * group (the gateway's own HTTP listener), with the rules that tie them to
 * the legs and peers: a leg that signs needs the signing keys, a leg that
 * verifies needs a trust list, a legacy peer the legacy keys, and every leg
 * whose calls can be signed an origid. The per-leg and per-peer keys are in
 * keys.c's tables; docs/configuration.md documents them all. */
#include "loader.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static cfg_key_check check_url, check_country_code;
static cfg_group_check check_stir, check_http;

#define T struct stir_config
static const struct cfg_key stir_keys[] = {
	STR("certificate", certificate, F_PATH, NULL),
	STR("key", key, F_PATH, NULL),
	{ .name = "x5u", .kind = K_STRING, FIELD(T, x5u), .check = check_url },
	{ .name = "country_code", .kind = K_STRING, FIELD(T, country_code), .def_text = "1",
	  .check = check_country_code },
	STR("trust", trust, F_PATH, NULL),
	STR("crl", crl, F_PATH, NULL),
	UINT("max_age", max_age_s, 0, 1, 3600, 60),
	UINT("cache_entries", cache_entries, 0, 1, 1000000, 1000),
	UINT("cache_max_age", cache_max_age_s, 0, 1, 604800, 86400),
	UINT("fetch_timeout", fetch_timeout_ms, 0, 100, 60000, 2000),
	UINT("connect_timeout", connect_timeout_ms, 0, 100, 60000, 1000),
	UINT("max_cert_size", max_cert_size, 0, 1024, 65536, 65536),
	UINT("max_fetches", max_fetches, 0, 1, 1024, 32),
	LIST_OF("fetch_http_hosts", K_NAMES, fetch_http_hosts, n_fetch_http_hosts),
	LIST_OF("fetch_allow_networks", K_NETS, fetch_allow_networks, n_fetch_allow_networks),
	STR("legacy_certificate", legacy_certificate, F_PATH, NULL),
	STR("legacy_key", legacy_key, F_PATH, NULL),
	{ .name = "legacy_info", .kind = K_STRING, FIELD(T, legacy_info), .check = check_url },
	BOOL("legacy_sha1", legacy_sha1, false),
};
#undef T
const struct cfg_section cfg_stir_section = SECTION(stir_keys, check_stir);

#define T struct http_config
static const struct cfg_key http_keys[] = {
	STR("address", address, F_REQUIRED, NULL),
	UINT("port", port, F_REQUIRED, 1, 65535, 0),
	LIST_OF("allow", K_NETS, allow, n_allow),
	LIST_OF("hostnames", K_NAMES, hostnames, n_hostnames),
	LATER("tls"),
};
#undef T
const struct cfg_section cfg_http_section = SECTION(http_keys, check_http);

/* An absolute http or https URL with a host: what a verifier can fetch. It
 * goes into an Identity header between <>, so no space, control character,
 * quote or angle bracket. */
static int check_url(struct cfg_loader *ld, const config_setting_t *s, char *url, size_t size)
{
	const char *host = !strncmp(url, "https://", 8) ? url + 8 : !strncmp(url, "http://", 7) ? url + 7 : NULL;
	if (!host)
		return cfg_fail(ld, s, "must be an http:// or https:// URL");
	for (const char *p = url; *p; p++)
		if (!isgraph((unsigned char)*p) || strchr("<>\"\\", *p))
			return cfg_fail(ld, s, "no spaces, control characters, quotes or <> in a URL");
	size_t n = strcspn(host, "/:?#");
	if (n == 0 || memchr(host, '@', n))
		return cfg_fail(ld, s, "the URL must name a host (and no user)");
	return 0;
}

static int check_country_code(struct cfg_loader *ld, const config_setting_t *s, char *cc, size_t size)
{
	for (const char *p = cc; *p; p++)
		if (!isdigit((unsigned char)*p))
			return cfg_fail(ld, s, "must be 1 to 3 digits (an E.164 country code), or \"\"");
	return 0;
}

int cfg_check_uuid(struct cfg_loader *ld, const config_setting_t *s, char *v, size_t size)
{
	static const unsigned dash[] = { 8, 13, 18, 23 };
	bool ok = strlen(v) == 36;
	for (unsigned i = 0; ok && i < 36; i++) {
		bool want_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
		ok = want_dash ? v[i] == '-' : isxdigit((unsigned char)v[i]) != 0;
	}
	if (!ok && v[0])
		return cfg_fail(ld, s, "must be a UUID (8-4-4-4-12 hexadecimal digits)");
	return 0;
}

bool config_stir_signs(const struct gateway_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_legs; i++)
		if (cfg->legs[i].identity_sign)
			return true;
	return false;
}

bool config_stir_verifies(const struct gateway_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_legs; i++)
		if (cfg->legs[i].identity_verify != IDENTITY_VERIFY_OFF)
			return true;
	return false;
}

bool config_stir_legacy(const struct gateway_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].identity_legacy)
			return true;
	return false;
}

/* Where an error about a rule between groups points: the stir group when
 * it is written, else the list that asked for it. */
static const config_setting_t *where(struct cfg_loader *ld, const config_setting_t *g, const char *list)
{
	return g ? g : config_lookup(ld->cf, list);
}

/* A call is signed with the origid of the leg it arrived on (RFC 8588
 * §4): every leg routed to a signing leg needs one. */
static int check_origids(struct cfg_loader *ld)
{
	const struct gateway_config *cfg = ld->cfg;
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		const struct route_config *r = &cfg->routes[i];
		const struct leg_config *to = config_leg(cfg, r->to_leg), *from = config_leg(cfg, r->from_leg);
		if (to && from && to->identity_sign && !from->identity_origid[0])
			return cfg_fail(ld, config_lookup(ld->cf, "legs"),
					"leg \"%s\" needs an identity_origid: its calls go to leg \"%s\", "
					"which signs them", from->name, to->name);
	}
	return 0;
}

static int check_stir(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	const struct stir_config *st = obj;
	const struct gateway_config *cfg = ld->cfg;
	if (st->connect_timeout_ms > st->fetch_timeout_ms)
		return cfg_fail(ld, cfg_member(g, "connect_timeout"), "must not exceed fetch_timeout (%u)",
				st->fetch_timeout_ms);
	if ((st->certificate[0] == '\0') != (st->key[0] == '\0'))
		return cfg_fail(ld, g, "certificate and key go together");
	if ((st->legacy_certificate[0] == '\0') != (st->legacy_key[0] == '\0'))
		return cfg_fail(ld, g, "legacy_certificate and legacy_key go together");
	if (config_stir_signs(cfg) && (!st->certificate[0] || !st->x5u[0]))
		return cfg_fail(ld, where(ld, g, "legs"),
				"a leg signs (identity_sign): stir.certificate, stir.key and stir.x5u are needed");
	if (config_stir_verifies(cfg) && !st->trust[0])
		return cfg_fail(ld, where(ld, g, "legs"),
				"a leg verifies (identity_verify): stir.trust must name the STI-CA bundle");
	if (config_stir_legacy(cfg) && (!st->legacy_certificate[0] || !st->legacy_info[0]))
		return cfg_fail(ld, where(ld, g, "peers"),
				"a peer speaks RFC 4474 (identity_legacy): stir.legacy_certificate, "
				"stir.legacy_key and stir.legacy_info are needed");
	if (config_stir_legacy(cfg) && !st->trust[0])
		return cfg_fail(ld, where(ld, g, "peers"),
				"a peer speaks RFC 4474 (identity_legacy): stir.trust is needed to verify its calls");
	return check_origids(ld);
}

static int check_http(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index)
{
	const struct gateway_config *cfg = ld->cfg;
	struct http_config *h = obj;
	if (!g)
		return 0;
	/* HTTPS: a listener's TLS group. Live documents then need a verified
	 * client certificate, so one that is never asked for serves none. */
	const config_setting_t *tls = cfg_member(g, "tls");
	if (tls && cfg_read_tls(ld, g, &h->tls, true) < 0)
		return -1;
	if (tls && h->tls.verify_peer == TLS_VERIFY_NONE)
		return cfg_fail(ld, cfg_member(tls, "verify_peer"), "\"none\" would serve no live document "
				"over TLS (they need a verified client certificate): use \"required\" or \"optional\"");
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].port == h->port && cfg->listeners[i].transport != PC_TP_UDP &&
		    !strcmp(cfg->listeners[i].address, h->address))
			return cfg_fail(ld, cfg_member(g, "port"), "%s:%u is already used by listener \"%s\"",
					h->address, h->port, cfg->listeners[i].name);
	return 0;
}
