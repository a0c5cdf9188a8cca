/* The key list both processes derive from the configuration (proto.h). */
#include "proto.h"

#include <string.h>

static unsigned add_path(const char *paths[KH_MAX_KEYS], unsigned n, const struct tls_config *tls)
{
	if (!tls->certificate[0] || !tls->key[0] || n == KH_MAX_KEYS)
		return n;
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(paths[i], tls->key))
			return n;
	paths[n] = tls->key;
	return n + 1;
}

unsigned kh_key_paths(const struct gateway_config *cfg, const char *paths[KH_MAX_KEYS])
{
	unsigned n = 0;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].transport == PC_TP_TLS)
			n = add_path(paths, n, &cfg->listeners[i].tls);
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].transport == PC_TP_TLS)
			n = add_path(paths, n, &cfg->peers[i].tls);
	return n;
}

bool kh_digest_wanted(const struct gateway_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_legs; i++)
		if (cfg->legs[i].digest_auth)
			return true;
	return false;
}
