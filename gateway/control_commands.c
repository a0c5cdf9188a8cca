/* The commands of the control socket (control/control.h) and the JSON
 * each answers with: the live calls, ending one, the registrar's bindings,
 * every counter and gauge, reload, the log level, the configured peers.
 * Here, in the composition root, because they read every floor and the
 * control module may know none of them. Nothing secret is ever put in an
 * answer: no keys, passwords, nonces or HA1s (a binding's Contact has any
 * password of its URI removed), only what the log lines and /metrics
 * already show. */
#include "control_commands.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "b2bua/b2bua.h"
#include "control/control.h"
#include "core/counters.h"
#include "core/log.h"
#include "endpoint/endpoint.h"
#include "media/media.h"
#include "media/pool.h"

/* Bounds the answer's size (a binding is a few hundred bytes as JSON). */
#define BINDINGS_MAX 10000

/* log.c's names, in enum log_level's order. */
static const char *const level_names[] = { "error", "warning", "info", "debug" };

static json_t *cmd_calls(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct control_commands *cc = ctx;
	json_t *doc = cc->calls ? cc->calls(cc->calls_ctx) : NULL;
	if (!doc)
		snprintf(err, errlen, "the call list could not be made");
	return doc;
}

static json_t *cmd_call(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct control_commands *cc = ctx;
	uint32_t id;
	if (strcmp(argv[1], "kill")) {
		snprintf(err, errlen, "usage: call kill ID");
		return NULL;
	}
	if (control_call_number(argv[2], &id) < 0) {
		snprintf(err, errlen, "not a call number (1 to 4294967295)");
		return NULL;
	}
	if (b2bua_call_kill(cc->b2bua, id, err, errlen) < 0)
		return NULL;
	return json_pack("{s:I,s:s}", "call", (json_int_t)id, "result", "ending");
}

struct binding_list {
	json_t *list;
	const char *domain;
	uint64_t now;
};

static void add_binding(void *ctx, const char *user, const struct reg_binding *rb)
{
	struct binding_list *bl = ctx;
	char contact[REG_CONTACT_MAX], source[96], aor[REG_USER_MAX + CFG_HOST_MAX + 8];
	control_uri_without_password(rb->contact, contact, sizeof(contact));
	pc_peer_str(&rb->flow, source, sizeof(source));
	snprintf(aor, sizeof(aor), "sip:%s@%s", user, bl->domain);
	json_array_append_new(bl->list, json_pack("{s:s,s:s,s:s,s:s,s:I}", "aor", aor,
		"contact", contact, "transport", pc_transport_name(rb->flow.transport),
		"source", source, "expires_s",
		(json_int_t)(rb->expires_at > bl->now ? rb->expires_at - bl->now : 0)));
}

static json_t *cmd_registrations(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct control_commands *cc = ctx;
	/* Users are registered under the realm (the domain when none is set). */
	const char *domain = cc->cfg->auth.realm[0] ? cc->cfg->auth.realm : cc->cfg->domain;
	struct binding_list bl = { json_array(), domain, (uint64_t)time(NULL) };
	if (!bl.list)
		return NULL;
	unsigned n = b2bua_each_binding(cc->b2bua, BINDINGS_MAX, add_binding, &bl);
	return json_pack("{s:o,s:I,s:b}", "registrations", bl.list, "total",
			 (json_int_t)b2bua_registration_count(cc->b2bua), "truncated",
			 n < b2bua_registration_count(cc->b2bua));
}

static json_t *cmd_counters(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct control_commands *cc = ctx;
	json_t *counters = json_object();
	for (int i = 0; counters && i < CNT__COUNT; i++)
		json_object_set_new(counters, counter_name((enum pc_counter)i),
				    json_integer((json_int_t)counter_get((enum pc_counter)i)));
	struct endpoint_gauges eg;
	endpoint_gauges(cc->ep, &eg);
	json_t *gauges = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"calls", (json_int_t)b2bua_call_count(cc->b2bua),
		"media_streams", (json_int_t)media_pool_stream_count(cc->media),
		"connections", (json_int_t)eg.connections, "transactions", (json_int_t)eg.transactions,
		"registrations", (json_int_t)b2bua_registration_count(cc->b2bua),
		"peers_pinged", (json_int_t)eg.peers_pinged, "peers_up", (json_int_t)eg.peers_up);
	return json_pack("{s:o,s:o}", "counters", counters, "gauges", gauges);
}

static json_t *cmd_reload(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct control_commands *cc = ctx;
	char report[1024] = "";
	if (!cc->reload) {
		snprintf(err, errlen, "reload is not available yet (start-up)");
		return NULL;
	}
	int rc = cc->reload(cc->reload_ctx, report, sizeof(report));
	if (rc < 0) {
		snprintf(err, errlen, "%s", report[0] ? report : "reload refused");
		return NULL;
	}
	return json_pack("{s:s,s:s}", "result", "reloaded", "report", report);
}

static json_t *cmd_log_level(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	enum log_level was = log_get_level(), level;
	if (argc == 1)
		return json_pack("{s:s}", "log_level", level_names[was]);
	if (log_level_from_name(argv[1], &level) < 0) {
		snprintf(err, errlen, "unknown log level (error, warning, info or debug)");
		return NULL;
	}
	log_set_level(level);
	log_info("log level %s (was %s), set through the control socket", level_names[level],
		 level_names[was]);
	return json_pack("{s:s,s:s}", "log_level", level_names[level], "previous", level_names[was]);
}

static const char *ping_state(const struct endpoint_peer_state *ps)
{
	if (!ps->pinged)
		return "not pinged";
	return ps->up == 1 ? "up" : ps->up == 0 ? "down" : "unknown";
}

static json_t *cmd_peers(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct control_commands *cc = ctx;
	json_t *list = json_array();
	for (unsigned i = 0; list && i < cc->cfg->n_peers; i++) {
		const struct peer_config *p = &cc->cfg->peers[i];
		struct endpoint_peer_state ps;
		endpoint_peer_state(cc->ep, i, &ps);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:I,s:s,s:I,s:s,s:I}",
			"name", p->name, "transport", pc_transport_name(p->transport),
			"address", p->address, "port", (json_int_t)p->port,
			"sip_domain", p->sip_domain[0] ? p->sip_domain : p->address,
			"keepalive_s", (json_int_t)p->keepalive_interval_s, "state", ping_state(&ps),
			"retry_after_s", (json_int_t)ps.retry_after_s));
	}
	return list ? json_pack("{s:o}", "peers", list) : NULL;
}

static json_t *cmd_takeover(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct control_commands *cc = ctx;
	char report[256] = "";
	if (!cc->takeover || cc->takeover(cc->takeover_ctx, argv[1], report, sizeof(report)) < 0) {
		snprintf(err, errlen, "%s", report[0] ? report : "takeover is not available");
		return NULL;
	}
	log_info("control: takeover of node \"%s\": %s", argv[1], report);
	return json_pack("{s:s,s:s}", "result", "taken over", "report", report);
}

int control_commands_register(struct control *c, struct control_commands *cc)
{
	int rc = 0;
	rc |= control_add(c, "calls", 0, 0, "calls", cmd_calls, cc);
	rc |= control_add(c, "call", 2, 2, "call kill ID", cmd_call, cc);
	rc |= control_add(c, "registrations", 0, 0, "registrations", cmd_registrations, cc);
	rc |= control_add(c, "counters", 0, 0, "counters", cmd_counters, cc);
	rc |= control_add(c, "reload", 0, 0, "reload", cmd_reload, cc);
	rc |= control_add(c, "log-level", 0, 1, "log-level [error|warning|info|debug]",
			  cmd_log_level, cc);
	rc |= control_add(c, "peers", 0, 0, "peers", cmd_peers, cc);
	rc |= control_add(c, "takeover", 1, 1, "takeover NODE", cmd_takeover, cc);
	return rc < 0 ? -1 : 0;
}
