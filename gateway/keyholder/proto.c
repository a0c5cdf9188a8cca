/* The key list both processes derive from the configuration (proto.h). */
#include "proto.h"

#include <string.h>

static unsigned add_path(const char *paths[KH_MAX_KEYS], enum kh_key_use uses[KH_MAX_KEYS], unsigned n,
			 const struct tls_config *tls)
{
	if (!tls->certificate[0] || !tls->key[0] || n == KH_MAX_KEYS - 2)
		return n;
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(paths[i], tls->key))
			return n;
	paths[n] = tls->key;
	uses[n] = KH_USE_TLS;
	return n + 1;
}

unsigned kh_key_paths(const struct gateway_config *cfg, const char *paths[KH_MAX_KEYS],
		      enum kh_key_use uses[KH_MAX_KEYS])
{
	unsigned n = 0;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].transport == PC_TP_TLS)
			n = add_path(paths, uses, n, &cfg->listeners[i].tls);
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].transport == PC_TP_TLS)
			n = add_path(paths, uses, n, &cfg->peers[i].tls);
	if (cfg->http.address[0] && cfg->http.tls.certificate[0]) /* HTTPS on the http listener */
		n = add_path(paths, uses, n, &cfg->http.tls);
	/* Room is reserved for these two (KH_MAX_KEYS). */
	if (config_stir_signs(cfg) && cfg->stir.key[0]) {
		paths[n] = cfg->stir.key;
		uses[n++] = KH_USE_STI;
	}
	if (config_stir_legacy(cfg) && cfg->stir.legacy_key[0]) {
		paths[n] = cfg->stir.legacy_key;
		uses[n++] = KH_USE_LEGACY;
	}
	return n;
}

bool kh_digest_wanted(const struct gateway_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_legs; i++)
		if (cfg->legs[i].digest_auth)
			return true;
	return false;
}

bool kh_users_wanted(const struct gateway_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_legs; i++)
		if (cfg->legs[i].digest_auth || cfg->legs[i].cert_auth)
			return true;
	return false;
}
