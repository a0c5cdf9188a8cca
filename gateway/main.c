/* portcullis: command line, configuration, signals and the event loop. Runs in
 * the foreground and logs to stderr (a service manager supervises it). */
#include <event2/event.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "build_config.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/heap.h"
#include "core/log.h"
#include "b2bua/b2bua.h"
#include "b2bua/guard.h"
#include "cluster/cluster.h"
#include "control/control.h"
#include "control_commands.h"
#include "endpoint/endpoint.h"
#include "http/server.h"
#include "sti/repo.h"
#include "stir/cert.h"
#include "keyholder/keyholder.h"
#include "media/media.h"
#include "media/pool.h"
#include "observe.h"
#include "record/sink.h"
#include "reload.h"
#include "sandbox/sandbox.h"
#include "sip/msg.h"
#include "transport/http_tls.h"
#include "transport/transport.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: portcullis [--config FILE] [--check-config] [--print-default-config]\n"
		"                  [--log-level LEVEL] [--user NAME] [--version]\n"
		"  -c, --config FILE         configuration file (default: the embedded default)\n"
		"  -n, --check-config        validate the configuration and exit (1 on error)\n"
		"  -p, --print-default-config  print the embedded default configuration\n"
		"  -l, --log-level LEVEL     error, warning, info or debug (overrides the file)\n"
		"  -u, --user NAME           unprivileged user to run as (overrides the file;\n"
		"                            default when started as root: nobody)\n"
		"  -V, --version             print the version and exit\n");
}

struct loop_ctx {
	struct event_base *base;
	struct endpoint *ep;
	struct media_pool *pool;   /* the media workers; owns media */
	struct media_engine *media;
	struct b2bua *b2bua;
	struct http_server *http;
	struct http_tls *http_tls;  /* http.tls: HTTPS on that listener, or NULL */
	struct observe observe;     /* the listener's /metrics and /health */
	struct record_sinks *records; /* call records (records { }), or NULL */
	struct reload_ctx *reload;    /* SIGHUP's: set just before the loop runs */
	struct control *control;    /* portcullisctl's socket, or NULL */
	struct control_commands commands;
	struct cluster *cluster;    /* cluster { }: the shared state in Redis, or NULL */
	int exit_status;
};

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct loop_ctx *lc = arg;
	log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(lc->base, NULL);
}

/* The key holder writes only answers: a readable socket between requests is
 * a late answer (discarded) or its end. Without it no TLS handshake can
 * complete, and a gateway that looks alive but cannot serve is worse than
 * one that stops. */
static void on_keyholder_gone(evutil_socket_t fd, short what, void *arg)
{
	struct loop_ctx *lc = arg;
	if (keyholder_alive())
		return;
	log_err("the key holder exited: no private-key operations possible, stopping");
	lc->exit_status = 1;
	event_base_loopexit(lc->base, NULL);
}

/* After the listeners are bound and every file is open: the unprivileged
 * user, no core dumps, no new privileges, the system-call allowlist. */
static int enter_sandbox(const struct sandbox_user *user)
{
	if (sandbox_drop_user(user) < 0 || sandbox_no_dumps() < 0 ||
	    sandbox_seccomp(SANDBOX_NETWORK, keyholder_pid(), -1) < 0)
		return -1;
	log_info("network process %d runs as uid %u%s%s under seccomp%s", (int)getpid(),
		 (unsigned)getuid(), user->drop ? " " : "", user->drop ? user->name : "",
		 sandbox_relaxed() ? " (relaxed for a sanitizer build)" : "");
	return 0;
}

static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct loop_ctx *lc = arg;
	endpoint_log_counters(lc->ep);
	log_info("counter calls = %u", b2bua_call_count(lc->b2bua));
	log_info("counter media_streams = %u", media_pool_stream_count(lc->pool));
}

/* SIGUSR2: the call record file reopened by its path, after logrotate. */
static void on_usr2(evutil_socket_t sig, short what, void *arg)
{
	struct loop_ctx *lc = arg;
	record_reopen(lc->records);
}

/* SIGHUP: the file again (gateway/reload.c; the report is logged there),
 * and the call record file reopened as on SIGUSR2, so one logrotate
 * postrotate line serves both. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct loop_ctx *lc = arg;
	char report[1536];
	log_info("received SIGHUP, reloading");
	gateway_reload(lc->reload, report, sizeof(report));
	record_reopen(lc->records);
}

/* log_target = "syslog": the socket is connected now, before the sandbox
 * refuses new Unix sockets; the key holder, forked next, keeps stderr. */
static int open_log_target(const struct gateway_config *cfg)
{
	if (strcmp(cfg->log_target, "syslog") != 0)
		return 0;
	if (log_open_syslog(cfg->log_syslog_socket, cfg->log_facility) < 0) {
		log_warn("%s: log_target syslog: cannot connect to %s", cfg->source,
			 cfg->log_syslog_socket);
		return -1;
	}
	return 0;
}

/* Every HOUSEKEEPING_S seconds, free heap beyond HEAP_SLACK goes back to
 * the system (core/heap.h): after a burst of set-ups RSS then reflects the
 * calls still up rather than the burst's peak. */
#define HOUSEKEEPING_S 5
#define HEAP_SLACK (4u << 20)

static void on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
	heap_release(HEAP_SLACK);
}

/* Every connection budget and every call up to max_calls must be backed
 * by file descriptors, or the process runs out before any limit is reached
 * and a flood of one kind starves all others. The soft limit is raised to
 * what the budgets and every relay port of the ranges need (the hard limit
 * too, when the process may). A hard limit short of the budgets plus the
 * relay sockets of max_calls audio calls refuses the start, naming the
 * limit, the need and max_calls: lowering max_calls behind the operator's
 * back would turn a configuration error into 503s found in a busy hour.
 * Room for those but not for every relay port (video m-lines) starts with
 * a warning (a stream that finds no socket is refused and counted). */
static int raise_fd_limit(const struct gateway_config *cfg)
{
	struct cfg_fd_need need;
	config_fd_need(cfg, &need);
	rlim_t must = (rlim_t)(need.connections + need.calls);
	rlim_t want = (rlim_t)(need.connections + (need.relay > need.calls ? need.relay : need.calls));
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return -1;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return 0;
	struct rlimit raised = { want, rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? want : rl.rlim_max };
	if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
		log_info("RLIMIT_NOFILE raised from %llu to %llu for the configured limits",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)want);
		return 0;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < must) {
		log_err("RLIMIT_NOFILE hard limit %llu is below the %llu file descriptors needed "
			 "for limits.max_calls = %u (%lu relay sockets, %u a call) and the "
			 "connection budgets (%lu): raise the limit (LimitNOFILE=, ulimit -Hn, "
			 "limits.conf) or lower max_calls", (unsigned long long)rl.rlim_max,
			 (unsigned long long)must, cfg->limits.max_calls, need.calls,
			 CFG_FDS_PER_CALL, need.connections);
		return -1;
	}
	raised.rlim_cur = raised.rlim_max = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &raised) < 0) {
		log_warn("setrlimit(RLIMIT_NOFILE, %llu)", (unsigned long long)rl.rlim_max);
		return -1;
	}
	log_warnx("RLIMIT_NOFILE raised from %llu to its hard limit %llu: enough for max_calls = "
		  "%u audio calls (%llu needed) but short of the %llu every relay port "
		  "(rtp_ports) needs: streams beyond may find no socket",
		  (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
		  cfg->limits.max_calls, (unsigned long long)must, (unsigned long long)want);
	return 0;
}

/* The endpoint goes first: freeing its transactions calls back into the
 * calls that own them, which must still exist; then calls, then media. */
static void shutdown_all(struct loop_ctx *lc)
{
	control_free(lc->control);
	if (lc->cluster && lc->b2bua) { /* calls ending below must not reach it */
		guard_set_share(b2bua_guard(lc->b2bua), &(struct guard_share){ 0 });
		b2bua_share_lockouts(lc->b2bua, NULL, NULL);
		b2bua_share_certs(lc->b2bua, NULL);
		b2bua_set_share(lc->b2bua, NULL, NULL);
	}
	cluster_free(lc->cluster); /* before the registrar it writes through */
	http_server_free(lc->http);
	endpoint_free(lc->ep);
	b2bua_free(lc->b2bua); /* the calls still up are recorded ("shutdown") */
	record_sinks_free(lc->records);
	media_pool_free(lc->pool);
	event_base_free(lc->base); /* runs the last HTTPS connections' finalizers */
	http_tls_free(lc->http_tls);
}

struct options {
	const char *config_path, *level_override, *user_override;
	int check_only;
};

/* -1 to go on, else the exit status (usage errors, --help, --version). */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "print-default-config", no_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "user", required_argument, NULL, 'u' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:npl:u:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config_path = optarg; break;
		case 'n': o->check_only = 1; break;
		case 'p': fputs(config_embedded_default(), stdout); return 0;
		case 'l': o->level_override = optarg; break;
		case 'u': o->user_override = optarg; break;
		case 'V': printf("portcullis %s\n", PORTCULLIS_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The configuration with --user applied, and the user to run as. -1 to go
 * on, else the exit status. */
static int load_configuration(const struct options *o, struct gateway_config *cfg,
			      struct sandbox_user *user)
{
	char err[512];
	if (config_load(o->config_path, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		return 1;
	}
	if (o->user_override) {
		if (!config_user_name_valid(o->user_override) ||
		    strlen(o->user_override) >= sizeof(cfg->user)) {
			fprintf(stderr, "portcullis: --user: \"%s\" is not a user name\n",
				o->user_override);
			return 2;
		}
		snprintf(cfg->user, sizeof(cfg->user), "%s", o->user_override);
	}
	if (sandbox_resolve_user(cfg->user, user, err, sizeof(err)) < 0) {
		fprintf(stderr, "portcullis: %s: %s\n", cfg->source, err);
		return 1;
	}
	return -1;
}

/* --check-config: what start-up would refuse, without starting. */
static int check_configuration(const struct gateway_config *cfg)
{
	char err[512];
	/* Certificates and keys are part of the configuration: a path that
	 * does not load must fail the check, not the start. */
	int ok = gnutls_global_init() >= 0 && transport_check_credentials(cfg) == 0 &&
		 keyholder_check_keys(cfg) == 0;
	gnutls_global_deinit();
	if (!ok) {
		fprintf(stderr, "portcullis: %s: certificates or keys failed to load\n", cfg->source);
		return 1;
	}
	if (sipmsg_init() < 0) {
		fprintf(stderr, "portcullis: SIP parser initialisation failed\n");
		return 1;
	}
	struct observe obs;
	if (b2bua_check_config(cfg, err, sizeof(err)) < 0 ||
	    observe_init(&obs, cfg, err, sizeof(err)) < 0 ||
	    control_check(&cfg->control, err, sizeof(err)) < 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		return 1;
	}
	printf("%s: configuration OK\n", cfg->source);
	return 0;
}

/* The path part of an http(s) URL ("/sti.pem"); "/" when it has none. */
static const char *url_path(const char *url)
{
	const char *host = strstr(url, "://");
	const char *path = host ? strchr(host + 3, '/') : NULL;
	return path ? path : "/";
}

/* Serves the certificate chain in `file` at the path of `url`. 0 or -1
 * (logged). */
static int serve_chain(struct loop_ctx *lc, const char *file, const char *url, const char *what)
{
	FILE *f = fopen(file, "rb");
	static uint8_t chain[STIR_CERT_MAX_BYTES + 1];
	size_t n = f ? fread(chain, 1, sizeof(chain), f) : 0;
	if (f)
		fclose(f);
	if (n == 0 || n > STIR_CERT_MAX_BYTES) {
		log_err("%s: %s", file, n ? "certificate chain larger than 64 KiB" : "cannot be read");
		return -1;
	}
	if (http_server_add_document(lc->http, url_path(url), chain, n,
				     "application/pem-certificate-chain") < 0) {
		log_err("http: cannot serve %s", file);
		return -1;
	}
	log_info("http: serving the %s at %s", what, url_path(url));
	return 0;
}

/* The gateway's HTTP listener (http.address/port), serving /metrics and
 * /health to http.allow (observe.c), the STI certificate chain at the path
 * of stir.x5u (RFC 8224 §7.2: the verification service fetches it from
 * there), and the legacy RFC 4474 certificate at the path of
 * stir.legacy_info (RFC 4474 §9's Identity-Info) when both are set. 0 or -1
 * (logged). */
static int start_http(struct loop_ctx *lc, const struct gateway_config *cfg)
{
	/* The floors the documents read, also for the control socket's
	 * `calls` when there is no http listener. */
	lc->observe.cfg = cfg;
	lc->observe.ep = lc->ep;
	lc->observe.b2bua = lc->b2bua;
	lc->observe.media = lc->pool;
	lc->observe.cluster = lc->cluster;
	if (!cfg->http.address[0])
		return 0;
	char why[256];
	if (observe_init(&lc->observe, cfg, why, sizeof(why)) < 0) {
		log_err("%s", why);
		return -1;
	}
	lc->http = http_server_new(lc->base, cfg->http.address, cfg->http.port, why, sizeof(why));
	if (!lc->http) {
		log_err("http listener %s:%u: %s", cfg->http.address, cfg->http.port, why);
		return -1;
	}
	if (cfg->http.tls.certificate[0]) {
		/* HTTPS only; the private key stays in the key holder. */
		static const struct http_tls_ops https = { http_tls_wrap, http_tls_client_verified,
							   http_tls_release };
		if (!(lc->http_tls = http_tls_new(&cfg->http.tls)))
			return -1;
		http_server_set_tls(lc->http, &https, lc->http_tls);
		log_info("http listener %s:%u speaks HTTPS only; live documents need a client certificate "
			 "from %s", cfg->http.address, cfg->http.port, cfg->http.tls.ca);
	}
	if (observe_serve(&lc->observe, lc->http) < 0) {
		log_err("http: cannot serve /metrics and /health");
		return -1;
	}
	if (cfg->stir.certificate[0] && cfg->stir.x5u[0] &&
	    serve_chain(lc, cfg->stir.certificate, cfg->stir.x5u, "STI certificate chain") < 0)
		return -1;
	if (cfg->stir.legacy_certificate[0] && cfg->stir.legacy_info[0] &&
	    serve_chain(lc, cfg->stir.legacy_certificate, cfg->stir.legacy_info,
			"RFC 4474 certificate") < 0)
		return -1;
	return 0;
}

static void on_call_record(void *ctx, const struct call_record *r)
{
	record_sinks_write(ctx, r);
}

/* The call record sinks the configuration names, opened now: before the
 * privilege drop and the seccomp filter (a reopen later is by path, as the
 * unprivileged user). 0 or -1 (logged). */
static int start_records(struct loop_ctx *lc, const struct gateway_config *cfg)
{
	const struct records_config *r = &cfg->records;
	if (!r->file[0] && !r->sqlite[0])
		return 0;
	char err[PATH_MAX + 160];
	lc->records = record_sinks_open(r->file, r->sqlite, err, sizeof(err));
	if (!lc->records) {
		log_err("%s: records: %s", cfg->source, err);
		return -1;
	}
	b2bua_set_record_sink(lc->b2bua, on_call_record, lc->records);
	log_info("call records to%s%s%s%s", r->file[0] ? " " : "", r->file,
		 r->sqlite[0] ? " and the database " : "", r->sqlite);
	return 0;
}

/* Cluster mode: what other nodes decided, into this node's guard and
 * lockout tables (ctx: the B2BUA). */
static void apply_ban(void *ctx, const struct rl_key *k, uint64_t ms)
{
	guard_apply_ban(b2bua_guard(ctx), k, ms, pc_clock_ms());
}

static void apply_lock(void *ctx, const struct rl_key *k, uint64_t ms)
{
	b2bua_apply_lockout(ctx, k, ms, pc_clock_ms());
}

static void apply_calls(void *ctx, bool trunk, const struct rl_key *k, uint32_t others)
{
	guard_apply_remote_calls(b2bua_guard(ctx), trunk, k, others, pc_clock_ms());
}

static void each_count(void *ctx, guard_count_fn *fn, void *fnctx)
{
	guard_each_count(b2bua_guard(ctx), fn, fnctx);
}

/* Cluster mode (cluster { }): the connection to Redis starts here, with the
 * registrar's bindings and the guard's bans and call counts shared through
 * it; Redis being down is no reason not to start (the node serves with
 * local state and catches up). */
static int start_cluster(struct loop_ctx *lc, const struct gateway_config *cfg)
{
	if (!cfg->cluster.redis[0])
		return 0;
	lc->cluster = cluster_new(lc->base, &cfg->cluster, b2bua_registrar(lc->b2bua));
	if (lc->cluster == NULL) {
		log_err("cluster: cannot start (redis %s)", cfg->cluster.redis);
		return -1;
	}
	struct guard *g = b2bua_guard(lc->b2bua);
	struct cluster_limits_ops apply = { .ban = apply_ban, .lock = apply_lock, .calls = apply_calls,
					    .each_count = each_count, .ctx = lc->b2bua };
	if (cluster_share_limits(lc->cluster, &apply) < 0)
		return -1;
	b2bua_share_lockouts(lc->b2bua, cluster_share_lockout, lc->cluster);
	b2bua_share_certs(lc->b2bua, &(struct sti_shared){ .get = cluster_certs_get,
							   .put = cluster_certs_put,
							   .ctx = lc->cluster });
	guard_set_share(g, &(struct guard_share){ .ban = cluster_share_ban,
						   .calls = cluster_share_calls,
						   .ctx = lc->cluster });
	if (cluster_shares_calls(lc->cluster))
		b2bua_set_share(lc->b2bua, cluster_share_call, lc->cluster);
	else
		log_info("cluster: no key_file: established calls are not shared (no takeover)");
	log_info("cluster: node \"%s\", redis %s", cfg->cluster.node, cfg->cluster.redis);
	return 0;
}

/* portcullisctl takeover NODE (a keepalived notify script's): the calls
 * NODE shared are raised here. */
static int takeover(void *ctx, const char *node, char *report, size_t len)
{
	struct loop_ctx *lc = ctx;
	unsigned taken, failed;
	if (lc->cluster == NULL ||
	    cluster_takeover(lc->cluster, node, b2bua_adopt_call, lc->b2bua, &taken, &failed) < 0) {
		snprintf(report, len, "no call sharing here (cluster with a key_file)");
		return -1;
	}
	snprintf(report, len, "%u calls taken over, %u refused", taken, failed);
	return 0;
}

/* The floors wired together: endpoint (transport, transactions), media,
 * and the B2BUA above them through the endpoint's call_net. 0 or -1. */
static int build_gateway(struct loop_ctx *lc, const struct gateway_config *cfg)
{
	lc->ep = endpoint_new(lc->base, cfg);
	unsigned workers = cfg->media.workers ? cfg->media.workers
					       : media_pool_default_workers(CFG_MAX_MEDIA_WORKERS);
	lc->pool = media_pool_new(lc->base, workers);
	lc->media = media_pool_engine(lc->pool);
	static const enum media_io io_of[] = { [CFG_MEDIA_IO_AUTO] = MEDIA_IO_AUTO,
		[CFG_MEDIA_IO_URING] = MEDIA_IO_URING, [CFG_MEDIA_IO_EPOLL] = MEDIA_IO_EPOLL };
	if (!lc->ep || !lc->media || media_pool_set_io(lc->pool, io_of[cfg->media.io]) < 0)
		return -1;
	struct call_net net;
	endpoint_call_net(lc->ep, &net);
	lc->b2bua = b2bua_new(lc->base, cfg, &net, lc->pool);
	if (!lc->b2bua || media_pool_start(lc->pool) < 0)
		return -1;
	bool uring = media_pool_uses_uring(lc->pool);
	log_info("media: %u worker%s, %s", workers, workers == 1 ? "" : "s",
		 uring ? "io_uring" : cfg->media.io == CFG_MEDIA_IO_EPOLL && workers == 1
					  ? "epoll (the relay runs on the signalling loop)" : "epoll");
	struct call_handler h;
	b2bua_call_handler(lc->b2bua, &h);
	endpoint_set_call_handler(lc->ep, &h);
	if (start_records(lc, cfg) < 0 || start_cluster(lc, cfg) < 0)
		return -1;
	return start_http(lc, cfg);
}

/* The control socket's `calls`: the /calls document. */
static json_t *calls_document(void *arg)
{
	struct loop_ctx *lc = arg;
	return observe_calls_json(&lc->observe);
}

/* portcullisctl's socket (control.socket), made while still privileged and
 * given to the user the process is about to become. 0 or -1 (logged). */
static int start_control(struct loop_ctx *lc, const struct gateway_config *cfg,
			 const struct sandbox_user *user)
{
	if (!cfg->control.socket[0])
		return 0;
	char why[256];
	lc->control = control_new(lc->base, &cfg->control, user->drop ? user->uid : geteuid(),
				  user->drop ? user->gid : getegid(), why, sizeof(why));
	lc->commands = (struct control_commands){ .cfg = cfg, .ep = lc->ep, .b2bua = lc->b2bua,
						  .media = lc->pool, .calls = calls_document,
						  .calls_ctx = lc, .takeover = takeover,
						  .takeover_ctx = lc };
	if (!lc->control || control_commands_register(lc->control, &lc->commands) < 0) {
		log_err("%s", lc->control ? "control socket: cannot register its commands" : why);
		return -1;
	}
	log_info("control socket %s", cfg->control.socket);
	return 0;
}

/* Signals and housekeeping around the loop, until a stop signal. */
static void run_loop(struct loop_ctx *lc, const struct gateway_config *cfg,
		     struct reload_ctx *reload)
{
	struct event_base *base = lc->base;
	lc->reload = reload;
	lc->commands.reload = gateway_reload; /* portcullisctl reload, as SIGHUP */
	lc->commands.reload_ctx = reload;
	struct event *sighup = evsignal_new(base, SIGHUP, on_hup, lc);
	if (sighup)
		event_add(sighup, NULL);
	struct event *sigint = evsignal_new(base, SIGINT, on_stop_signal, lc);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_stop_signal, lc);
	struct event *sigusr1 = evsignal_new(base, SIGUSR1, on_usr1, lc);
	struct event *sigusr2 = evsignal_new(base, SIGUSR2, on_usr2, lc);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	event_add(sigusr1, NULL);
	event_add(sigusr2, NULL);
	struct event *housekeeping = event_new(base, -1, EV_PERSIST, on_housekeeping, NULL);
	struct timeval every = { HOUSEKEEPING_S, 0 };
	if (housekeeping)
		event_add(housekeeping, &every);
	log_info("portcullis %s running with %s", PORTCULLIS_VERSION, cfg->source);

	event_base_dispatch(base);

	endpoint_log_counters(lc->ep);
	log_info("counter calls = %u", b2bua_call_count(lc->b2bua));
	event_free(sigint);
	event_free(sigterm);
	event_free(sigusr1);
	event_free(sigusr2);
	if (sighup)
		event_free(sighup);
	if (housekeeping)
		event_free(housekeeping);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		return rc;
	static struct gateway_config cfg;
	struct sandbox_user user;
	if ((rc = load_configuration(&o, &cfg, &user)) >= 0)
		return rc;
	if (o.check_only)
		return check_configuration(&cfg);
	enum log_level level;
	const char *lvl = o.level_override ? o.level_override : cfg.log_level;
	if (log_level_from_name(lvl, &level) < 0) {
		fprintf(stderr, "portcullis: unknown log level \"%s\"\n", lvl);
		return 2;
	}
	log_set_level(level);

	signal(SIGPIPE, SIG_IGN);
	/* The descriptor limit while still allowed to raise it; then the key
	 * holder, before any key file, socket or peer byte. */
	if (raise_fd_limit(&cfg) < 0 || sandbox_no_dumps() < 0 || open_log_target(&cfg) < 0 ||
	    keyholder_start(&cfg, &user) < 0)
		return 1;
	if (gnutls_global_init() < 0 || sipmsg_init() < 0) {
		log_err("library initialisation failed");
		keyholder_stop();
		return 1;
	}
	struct event_base *base = event_base_new();
	if (!base) {
		log_err("cannot create the event loop");
		keyholder_stop();
		return 1;
	}
	struct loop_ctx lc = { .base = base };
	struct event *kh_watch = NULL;
	if (build_gateway(&lc, &cfg) < 0 || endpoint_start(lc.ep) < 0 ||
	    start_control(&lc, &cfg, &user) < 0 ||
	    !(kh_watch = event_new(base, keyholder_fd(), EV_READ | EV_PERSIST, on_keyholder_gone, &lc)) ||
	    event_add(kh_watch, NULL) < 0 || enter_sandbox(&user) < 0) {
		log_err("start-up failed (configuration %s)", cfg.source);
		if (kh_watch)
			event_free(kh_watch);
		shutdown_all(&lc);
		keyholder_stop();
		return 1;
	}
	struct reload_ctx reload = { .cfg = &cfg, .path = o.config_path,
				     .user_override = o.user_override != NULL, .b2bua = lc.b2bua,
				     .transport = endpoint_transport(lc.ep), .http_tls = lc.http_tls };
	run_loop(&lc, &cfg, &reload);
	event_free(kh_watch);
	shutdown_all(&lc);
	keyholder_stop();
	gnutls_global_deinit();
	log_info("stopped");
	log_close_syslog();
	return lc.exit_status;
}
