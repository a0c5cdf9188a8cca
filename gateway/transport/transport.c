/* The transport's life: creating it, starting it (binding every listener and
 * loading the TLS credentials of listeners and configured peers, then the
 * once-a-second limits sweep), and freeing it with every connection; plus the
 * credential check of --check-config, which loads the same credentials and
 * binds nothing. The work itself is in the module's other files: listener.c
 * (listening, accepting), conn.c (connection lifetime, budgets, timeouts),
 * io.c (reading, writing, framing), outgoing.c (sending, connecting, peer
 * back-off) and address.c (sent-by, local addresses). */
#include "transport_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"

struct transport *transport_new(struct event_base *base, const struct gateway_config *cfg,
				const struct transport_events *ev)
{
	struct transport *tp = calloc(1, sizeof(*tp));
	if (!tp)
		return NULL;
	tp->base = base;
	tp->cfg = cfg;
	tp->ev = *ev;
	for (unsigned i = 0; i < CFG_MAX_LISTENERS; i++)
		tp->listeners[i].fd = -1;
	tp->dgram = malloc(cfg->limits.max_message_size + 2);
	tp->framing = (struct framing_limits){ .max_message = cfg->limits.max_message_size,
		.max_headers = cfg->limits.max_headers, .max_vias = cfg->limits.max_vias };
	tp->reaper = event_new(base, -1, 0, reap_cb, tp);
	tp->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, tp);
	if (!tp->dgram || !tp->reaper || !tp->sweep) {
		transport_free(tp);
		return NULL;
	}
	return tp;
}

int transport_start(struct transport *tp)
{
	const struct gateway_config *cfg = tp->cfg;
	for (unsigned i = 0; i < cfg->n_listeners; i++) {
		struct listener *l = &tp->listeners[i];
		l->tp = tp;
		l->cfg = &cfg->listeners[i];
		l->index = (int)i;
		tp->n_listeners = i + 1;
		if (listener_open(tp, l) < 0)
			return -1;
	}
	for (unsigned i = 0; i < cfg->n_peers; i++) {
		struct peer_ctx *p = &tp->peers[i];
		p->cfg = &cfg->peers[i];
		tp->n_peers = i + 1;
		if (parse_address(p->cfg->address, p->cfg->port, &p->addr, &p->addrlen) < 0) {
			log_err("peer %s: address \"%s\" is not a numeric IPv4 or IPv6 address",
				p->cfg->name, p->cfg->address);
			return -1;
		}
		if (p->cfg->transport == PC_TP_TLS) {
			char label[96];
			snprintf(label, sizeof(label), "peer %s", p->cfg->name);
			if (tls_ctx_init(&p->tls, &p->cfg->tls, false, label) < 0)
				return -1;
			p->tls_ready = true;
		}
	}
	struct timeval one_second = { 1, 0 };
	event_add(tp->sweep, &one_second);
	return 0;
}

void transport_free(struct transport *tp)
{
	if (!tp)
		return;
	while (tp->conns) {
		struct conn *c = tp->conns;
		tp->conns = c->next;
		conn_free(c);
	}
	for (unsigned i = 0; i < tp->n_listeners; i++) {
		struct listener *l = &tp->listeners[i];
		if (l->ev)
			event_free(l->ev);
		if (l->resume)
			event_free(l->resume);
		if (l->fd >= 0)
			close(l->fd);
		if (l->tls_ready)
			tls_ctx_deinit(&l->tls);
	}
	for (unsigned i = 0; i < tp->n_peers; i++)
		if (tp->peers[i].tls_ready)
			tls_ctx_deinit(&tp->peers[i].tls);
	if (tp->reaper)
		event_free(tp->reaper);
	if (tp->sweep)
		event_free(tp->sweep);
	free(tp->dgram);
	free(tp);
}

struct transport_creds {
	struct tls_cred *listener[CFG_MAX_LISTENERS];
	struct tls_cred *peer[CFG_MAX_PEERS];
};

void transport_creds_free(struct transport_creds *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CFG_MAX_LISTENERS; i++)
		tls_cred_unref(c->listener[i]);
	for (unsigned i = 0; i < CFG_MAX_PEERS; i++)
		tls_cred_unref(c->peer[i]);
	free(c);
}

/* The candidate's listeners and peers are the running ones (config/diff.c
 * kept them), so entry i is tp's listener or peer i. */
/* One listener's or peer's credentials when it speaks TLS; 0 or -1. */
static int load_cred(struct tls_cred **out, bool tls, const struct tls_config *cfg, const char *kind,
		     const char *name)
{
	char label[96];
	snprintf(label, sizeof(label), "%s %s", kind, name);
	return !tls || (*out = tls_cred_load(cfg, label, true)) ? 0 : -1;
}

/* The candidate's listeners and peers are the running ones (config/diff.c
 * kept them), so entry i is tp's listener or peer i. */
struct transport_creds *transport_creds_load(const struct transport *tp, const struct gateway_config *cand)
{
	struct transport_creds *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	for (unsigned i = 0; i < tp->n_listeners && i < cand->n_listeners; i++)
		if (load_cred(&c->listener[i], tp->listeners[i].tls_ready, &cand->listeners[i].tls,
			      "listener", cand->listeners[i].name) < 0)
			goto fail;
	for (unsigned i = 0; i < tp->n_peers && i < cand->n_peers; i++)
		if (load_cred(&c->peer[i], tp->peers[i].tls_ready, &cand->peers[i].tls, "peer",
			      cand->peers[i].name) < 0)
			goto fail;
	return c;
fail:
	transport_creds_free(c);
	return NULL;
}

void transport_creds_install(struct transport *tp, struct transport_creds *c)
{
	for (unsigned i = 0; i < tp->n_listeners; i++)
		if (c->listener[i])
			tls_ctx_set_cred(&tp->listeners[i].tls, c->listener[i]);
	for (unsigned i = 0; i < tp->n_peers; i++)
		if (c->peer[i])
			tls_ctx_set_cred(&tp->peers[i].tls, c->peer[i]);
	free(c); /* the contexts took every reference */
}

static int check_one(const struct tls_config *tls, bool server, const char *kind, const char *name)
{
	struct tls_ctx ctx;
	char label[96];
	snprintf(label, sizeof(label), "%s %s", kind, name);
	if (tls_ctx_init(&ctx, tls, server, label) < 0)
		return -1;
	tls_ctx_deinit(&ctx);
	return 0;
}

int transport_check_credentials(const struct gateway_config *cfg)
{
	int rc = 0;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].transport == PC_TP_TLS &&
		    check_one(&cfg->listeners[i].tls, true, "listener", cfg->listeners[i].name) < 0)
			rc = -1;
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].transport == PC_TP_TLS &&
		    check_one(&cfg->peers[i].tls, false, "peer", cfg->peers[i].name) < 0)
			rc = -1;
	if (cfg->http.address[0] && cfg->http.tls.certificate[0] &&
	    check_one(&cfg->http.tls, true, "http", "listener") < 0)
		rc = -1;
	return rc;
}
