/* The connection to Redis and its circuit breaker. Two hiredis asynchronous
 * contexts on the libevent loop: one for commands, one subscribed to the
 * change channel (a subscribed connection can do nothing else). The breaker
 * has three states:
 *
 *   state       on both connected   on loss/timeout/connect failure   on retry timer
 *   CONNECTING  -> UP (on_up)       -> DOWN (backoff doubles)         -
 *   UP          -                   -> DOWN (backoff from the start)  -
 *   DOWN        -                   -                                 -> CONNECTING
 *
 * Only UP sends commands; in the other states a command is refused at once,
 * so a Redis that is gone or slow costs a caller nothing but the count. A
 * command not answered within command_timeout opens the breaker (a slow
 * Redis is treated as a gone one, and the retry finds out). The change of
 * state between UP and not-UP is logged once each way; attempts in between
 * are only counted. With cluster.password_file each context sends AUTH
 * first and counts as connected only once Redis accepted it: a refused
 * AUTH is a failed connect (logged with Redis's reason, never the
 * password), so a node with the wrong password goes on with local state
 * as it would with Redis gone. */
#include "redis.h"

#include <arpa/inet.h>
#include <limits.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"
#include "core/log.h"
#include "core/peer.h"
#include "key.h"

#define BACKOFF_FIRST_MS 100
#define CONNECT_TIMEOUT_MIN_MS 1000

enum cl_state { CL_DOWN, CL_CONNECTING, CL_UP };

struct cl_redis {
	struct event_base *base;
	const struct cluster_config *cfg;
	struct cl_redis_ops ops;
	char host[INET6_ADDRSTRLEN]; /* numeric, resolved at start */
	char channel[128], channel2[128]; /* channel2 "" = only one */
	char channel3[128];               /* cl_redis_subscribe_also, "" = none */
	redisAsyncContext *cmd, *sub;
	bool cmd_ready, sub_ready;
	enum cl_state state;
	bool was_up;            /* logged as up: the next loss is logged */
	bool logged_down;       /* the loss (or first failure) is logged */
	unsigned backoff_ms;
	unsigned pending;
	struct event *timer;    /* retry (DOWN) or connect deadline (CONNECTING) */
	char password[CL_PASSWORD_MAX]; /* "" = no AUTH; wiped at free */
};

/* One command in flight: its deadline and its caller. */
struct cl_cmd {
	struct cl_redis *r;
	struct event *deadline;
	cl_reply_fn *cb;
	void *ctx;
	bool done; /* the caller has had its answer (a timeout) */
};

static void start_connect(struct cl_redis *r);

static void arm(struct cl_redis *r, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_add(r->timer, &tv);
}

/* Drops both contexts; their pending commands fail through on_reply. */
static void drop_contexts(struct cl_redis *r)
{
	redisAsyncContext *c = r->cmd, *s = r->sub;
	r->cmd = r->sub = NULL;
	r->cmd_ready = r->sub_ready = false;
	if (c)
		redisAsyncFree(c);
	if (s)
		redisAsyncFree(s);
}

/* Any failure: the breaker opens and a retry is scheduled. */
static void go_down(struct cl_redis *r, const char *why)
{
	if (r->state == CL_DOWN)
		return;
	bool from_up = r->state == CL_UP;
	r->state = CL_DOWN;
	drop_contexts(r);
	if (from_up || !r->logged_down) {
		log_err("cluster: redis %s unreachable (%s); going on with local state, retrying",
			r->cfg->redis, why);
		counter_inc(CNT_CLUSTER_REDIS_DOWN);
		r->logged_down = true;
		r->backoff_ms = BACKOFF_FIRST_MS;
	} else {
		counter_inc(CNT_CLUSTER_CONNECT_FAILED);
		unsigned ceiling = r->cfg->retry_max_s * 1000;
		r->backoff_ms = r->backoff_ms * 2 > ceiling ? ceiling : r->backoff_ms * 2;
	}
	event_del(r->timer);
	arm(r, r->backoff_ms);
}

static void maybe_up(struct cl_redis *r)
{
	if (r->state != CL_CONNECTING || !r->cmd_ready || !r->sub_ready)
		return;
	r->state = CL_UP;
	r->logged_down = false;
	r->backoff_ms = BACKOFF_FIRST_MS;
	event_del(r->timer);
	log_info("cluster: redis %s connected as node \"%s\"", r->cfg->redis, r->cfg->node);
	if (r->ops.on_up)
		r->ops.on_up(r->ops.ctx);
}

static void mark_ready(struct cl_redis *r, const redisAsyncContext *ac)
{
	if (ac == r->cmd)
		r->cmd_ready = true;
	else if (ac == r->sub)
		r->sub_ready = true;
	maybe_up(r);
}

/* AUTH's answer, on either context: only "OK" makes it ready. */
static void on_auth(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)priv;
	struct cl_redis *r = ac->data;
	const redisReply *rep = reply;
	if (r->state != CL_CONNECTING || (ac != r->cmd && ac != r->sub))
		return; /* a context being freed fails its queue */
	if (rep != NULL && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0) {
		mark_ready(r, ac);
		return;
	}
	char why[160];
	snprintf(why, sizeof(why), "AUTH refused: %.120s",
		 rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "no answer");
	go_down(r, why);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct cl_redis *r = ac->data;
	if (status != REDIS_OK) {
		/* hiredis frees this context after the callback */
		if (ac == r->cmd)
			r->cmd = NULL;
		else if (ac == r->sub)
			r->sub = NULL;
		go_down(r, ac->errstr[0] ? ac->errstr : "connect failed");
		return;
	}
	if (!r->password[0])
		mark_ready(r, ac);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	(void)status;
	struct cl_redis *r = ac->data;
	/* Called from redisAsyncFree too, after drop_contexts cleared them. */
	if (ac != r->cmd && ac != r->sub)
		return;
	if (ac == r->cmd)
		r->cmd = NULL;
	else
		r->sub = NULL;
	go_down(r, ac->errstr[0] ? ac->errstr : "connection closed");
}

/* Messages on the subscription: ["message", channel, payload]. */
static void on_sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)priv;
	struct cl_redis *r = ac->data;
	const redisReply *rep = reply;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3)
		return;
	const redisReply *kind = rep->element[0], *chan = rep->element[1],
			 *payload = rep->element[2];
	if (kind->type != REDIS_REPLY_STRING || chan->type != REDIS_REPLY_STRING ||
	    payload->type != REDIS_REPLY_STRING || strcmp(kind->str, "message") != 0)
		return;
	if (r->ops.on_message)
		r->ops.on_message(r->ops.ctx, chan->str, payload->str, payload->len);
}

#if HIREDIS_MAJOR >= 1
typedef size_t cl_elements_t;
#else
typedef int cl_elements_t;
#endif
static redisReplyObjectFunctions bounded_fns;
static void *(*default_create_array)(const redisReadTask *task, cl_elements_t elements);

/* NULL: hiredis takes it for a failed allocation and fails the read. */
static void *create_array(const redisReadTask *task, cl_elements_t elements)
{
	if ((size_t)elements > CL_REDIS_ELEMENTS_MAX)
		return NULL;
	return default_create_array(task, elements);
}

void cl_redis_bound_reader(redisReader *rd)
{
	if (default_create_array == NULL) { /* hiredis's own builder, but for arrays */
		bounded_fns = *rd->fn;
		default_create_array = bounded_fns.createArray;
		bounded_fns.createArray = create_array;
	}
	rd->fn = &bounded_fns;
}

static redisAsyncContext *open_context(struct cl_redis *r)
{
	redisAsyncContext *ac = r->cfg->unix_path[0] ? redisAsyncConnectUnix(r->cfg->unix_path)
						     : redisAsyncConnect(r->host, (int)r->cfg->port);
	if (ac == NULL)
		return NULL;
	if (ac->err) {
		redisAsyncFree(ac);
		return NULL;
	}
	ac->data = r;
	cl_redis_bound_reader(ac->c.reader);
	if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
		redisAsyncFree(ac);
		return NULL;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	return ac;
}

/* AUTH queued first on a new context (hiredis sends in order); the
 * password goes as its own argument, never through a format string. */
static int send_auth(struct cl_redis *r, redisAsyncContext *ac)
{
	if (!r->password[0])
		return REDIS_OK;
	const char *argv[3] = { "AUTH", r->cfg->user, r->password };
	size_t lens[3] = { 4, strlen(r->cfg->user), strlen(r->password) };
	if (r->cfg->user[0])
		return redisAsyncCommandArgv(ac, on_auth, NULL, 3, argv, lens);
	argv[1] = argv[2]; /* AUTH password: the default user */
	lens[1] = lens[2];
	return redisAsyncCommandArgv(ac, on_auth, NULL, 2, argv, lens);
}

static void start_connect(struct cl_redis *r)
{
	r->state = CL_CONNECTING;
	r->cmd = open_context(r);
	r->sub = r->cmd ? open_context(r) : NULL;
	if (r->cmd == NULL || r->sub == NULL) {
		go_down(r, "cannot open a socket");
		return;
	}
	if (send_auth(r, r->cmd) != REDIS_OK || send_auth(r, r->sub) != REDIS_OK) {
		go_down(r, "cannot queue AUTH");
		return;
	}
	/* Queued until connected; answered on the subscription's own context. */
	int rc = r->channel2[0] ? redisAsyncCommand(r->sub, on_sub_reply, NULL, "SUBSCRIBE %s %s",
						    r->channel, r->channel2)
				: redisAsyncCommand(r->sub, on_sub_reply, NULL, "SUBSCRIBE %s", r->channel);
	if (rc == REDIS_OK && r->channel3[0])
		rc = redisAsyncCommand(r->sub, on_sub_reply, NULL, "SUBSCRIBE %s", r->channel3);
	if (rc != REDIS_OK) {
		go_down(r, "cannot subscribe");
		return;
	}
	unsigned ms = r->cfg->command_timeout_ms;
	arm(r, ms < CONNECT_TIMEOUT_MIN_MS ? CONNECT_TIMEOUT_MIN_MS : ms);
}

/* The one timer: a retry in DOWN, the connect deadline in CONNECTING. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct cl_redis *r = arg;
	if (r->state == CL_DOWN)
		start_connect(r);
	else if (r->state == CL_CONNECTING)
		go_down(r, "connect timed out");
}

/* A host name is looked up once here, before the loop runs: hiredis would
 * otherwise resolve it with a blocking getaddrinfo on every reconnect. */
static int resolve(struct cl_redis *r)
{
	if (r->cfg->unix_path[0])
		return 0;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int rc = getaddrinfo(r->cfg->host, NULL, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		log_err("cluster: redis host \"%s\": %s", r->cfg->host, gai_strerror(rc));
		return -1;
	}
	unsigned port;
	rc = pc_sockaddr_str(ai->ai_addr, r->host, sizeof(r->host), &port);
	freeaddrinfo(ai);
	return rc;
}

struct cl_redis *cl_redis_new(struct event_base *base, const struct cluster_config *cfg,
			      const char *channel, const char *channel2, const struct cl_redis_ops *ops)
{
	struct cl_redis *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->base = base;
	r->cfg = cfg;
	r->ops = *ops;
	r->backoff_ms = BACKOFF_FIRST_MS;
	snprintf(r->channel, sizeof(r->channel), "%s", channel);
	snprintf(r->channel2, sizeof(r->channel2), "%s", channel2 ? channel2 : "");
	r->timer = event_new(base, -1, 0, on_timer, r);
	if (r->timer == NULL || resolve(r) < 0) {
		cl_redis_free(r);
		return NULL;
	}
	char err[PATH_MAX + 128];
	if (cfg->password_file[0] && cl_password_read(cfg->password_file, r->password, err, sizeof(err)) < 0) {
		log_err("cluster: password_file %s", err);
		cl_redis_free(r);
		return NULL;
	}
	start_connect(r);
	return r;
}

void cl_redis_free(struct cl_redis *r)
{
	if (r == NULL)
		return;
	r->state = CL_DOWN; /* no logging, no retry from the callbacks below */
	drop_contexts(r);
	explicit_bzero(r->password, sizeof(r->password));
	if (r->timer)
		event_free(r->timer);
	free(r);
}

bool cl_redis_up(const struct cl_redis *r) { return r->state == CL_UP; }

unsigned cl_redis_room(const struct cl_redis *r)
{
	if (r->state != CL_UP || r->pending >= r->cfg->max_pending)
		return 0;
	return r->cfg->max_pending - r->pending;
}

static void finish(struct cl_cmd *c)
{
	c->r->pending--;
	event_free(c->deadline);
	free(c);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)ac;
	struct cl_cmd *c = priv;
	if (!c->done) {
		const redisReply *rep = reply;
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			counter_inc(CNT_CLUSTER_COMMANDS_FAILED);
			rep = NULL;
		}
		c->cb(c->ctx, rep);
	}
	finish(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct cl_cmd *c = arg;
	c->done = true;
	counter_inc(CNT_CLUSTER_COMMAND_TIMEOUTS);
	counter_inc(CNT_CLUSTER_COMMANDS_FAILED);
	c->cb(c->ctx, NULL);
	/* Slow is as good as gone: the contexts go, failing the rest (and
	 * freeing this one through on_reply). */
	go_down(c->r, "a command timed out");
}

int cl_redis_command(struct cl_redis *r, cl_reply_fn *cb, void *ctx, int argc, const char **argv,
		     const size_t *argvlen)
{
	if (r->state != CL_UP || r->pending >= r->cfg->max_pending) {
		counter_inc(CNT_CLUSTER_COMMANDS_FAILED);
		return -1;
	}
	struct cl_cmd *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->r = r;
	c->cb = cb;
	c->ctx = ctx;
	c->deadline = event_new(r->base, -1, 0, on_deadline, c);
	if (c->deadline == NULL ||
	    redisAsyncCommandArgv(r->cmd, on_reply, c, argc, argv, argvlen) != REDIS_OK) {
		if (c->deadline)
			event_free(c->deadline);
		free(c);
		counter_inc(CNT_CLUSTER_COMMANDS_FAILED);
		return -1;
	}
	r->pending++;
	unsigned ms = r->cfg->command_timeout_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_add(c->deadline, &tv);
	return 0;
}

int cl_redis_subscribe_also(struct cl_redis *r, const char *channel)
{
	snprintf(r->channel3, sizeof(r->channel3), "%s", channel);
	/* the subscription already asked for goes on; this one joins it now
	 * (queued until connected) and at every reconnection */
	if (r->sub && redisAsyncCommand(r->sub, on_sub_reply, NULL, "SUBSCRIBE %s", r->channel3) != REDIS_OK)
		return -1;
	return 0;
}
