/* Reload: the file is read into a candidate on the side, validated as at
 * start, the keys that need a restart get their running values back (and
 * are reported), and only then is the running configuration overwritten,
 * in one step of the event loop, and what was derived from it at start
 * re-derived. The configuration is a flat struct without pointers, and
 * every module points into the one running copy, so the swap leaves no
 * pointer dangling: a call keeps pointing at its legs' entries, whose
 * names and order cannot change without a restart (config/diff.c), and
 * calls still being set up hold their own copy of their route. Secrets stay
 * where they were: the user store (HA1s) is re-read by the key holder,
 * which answers the network process only its users' names and identities,
 * and uses the new store from the step the configuration is replaced in;
 * private keys are not re-read (restart-only); the network process reads
 * the same files it read at start, as the unprivileged user
 * (docs/security-model.md). */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2bua/b2bua.h"
#include "config/diff.h"
#include "core/log.h"
#include "transport/http_tls.h"
#include "transport/transport.h"

/* Refused: logged once, the running configuration untouched. */
static int refuse(char *report, size_t len, const char *why)
{
	log_err("reload refused, the running configuration stays: %s", why);
	snprintf(report, len, "refused: %s", why);
	return -1;
}

int gateway_reload(void *ctx, char *report, size_t len)
{
	struct reload_ctx *rc = ctx;
	char err[512], names[1024];
	struct gateway_config *cand = malloc(sizeof(*cand));
	if (!cand)
		return refuse(report, len, "out of memory");
	if (config_load(rc->path, cand, err, sizeof(err)) < 0) {
		free(cand);
		return refuse(report, len, err);
	}
	if (rc->user_override)
		memcpy(cand->user, rc->cfg->user, sizeof(cand->user));
	unsigned kept = config_keep_restart_only(rc->cfg, cand, names, sizeof(names));
	enum log_level level;
	if (log_level_from_name(cand->log_level, &level) < 0 ||
	    b2bua_reload_check(cand, err, sizeof(err)) < 0) {
		free(cand);
		return refuse(report, len, err);
	}
	/* The user store, read by the key holder into a pending copy. */
	int users = b2bua_users_prepare(rc->b2bua, err, sizeof(err));
	if (users < 0) {
		free(cand);
		return refuse(report, len, err);
	}
	/* Certificates and CA bundles, loaded before anything changes; the
	 * reason is logged by the transport. */
	struct transport_creds *creds = transport_creds_load(rc->transport, cand);
	struct tls_cred *http_cred = rc->http_tls ? http_tls_cred_load(&cand->http.tls) : NULL;
	if (!creds || (rc->http_tls && !http_cred)) {
		transport_creds_free(creds);
		http_tls_cred_free(http_cred);
		free(cand);
		b2bua_users_finish(rc->b2bua, false);
		return refuse(report, len, "a certificate or CA bundle did not load (see the line above)");
	}
	memcpy(rc->cfg, cand, sizeof(*cand));
	free(cand);
	transport_creds_install(rc->transport, creds);
	if (http_cred)
		http_tls_cred_install(rc->http_tls, http_cred);
	bool users_unconfirmed = b2bua_users_finish(rc->b2bua, true) < 0;
	/* Validated above with the same rules: this cannot fail but for a
	 * bug, and then the guard keeps its running lists. */
	if (b2bua_reload_apply(rc->b2bua, err, sizeof(err)) < 0)
		log_err("reload: the guard kept its running lists: %s", err);
	log_set_level(level);
	const char *store = users_unconfirmed ?
		" but not the user store (the key holder did not confirm it: the running users stay; reload again)" :
		users > 0 ? " and the user store" : "";
	if (users_unconfirmed)
		log_err("reload: the key holder did not confirm the user store; the running users stay");
	if (kept) {
		snprintf(report, len, "applied %s%s; restart required: %s (running values kept)",
			 rc->cfg->source, store, names);
		log_warnx("reload: %s", report);
	} else {
		snprintf(report, len, "applied %s%s", rc->cfg->source, store);
		log_info("reload: %s", report);
	}
	return 0;
}
