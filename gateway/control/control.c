/* The control socket (control.h): making it with the right owner and mode,
 * admitting a bounded number of clients whose credentials pass, reading one
 * bounded request line within a deadline, dispatching it to a registered
 * command and writing the JSON answer back. Every client costs one slot of
 * CONTROL_MAX_CONNECTIONS and at most CONTROL_TIMEOUT_S for its request and
 * again for its answer; a client past the slots, or one whose credentials
 * fail, gets a one-line error and is closed at once. */
#include "control.h"

#include <errno.h>
#include <event2/event.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

struct command {
	const char *name, *usage;
	int min_args, max_args;
	control_fn *fn;
	void *ctx;
};

struct conn {
	struct control *ctl;
	int fd;
	uid_t uid;
	struct event *ev;
	uint64_t deadline_ms;
	char line[CONTROL_LINE_MAX + 1];
	size_t len;
	char *out;               /* the answer being written (malloc), NULL while reading */
	size_t out_len, out_off;
	struct conn *next, **pprev;
};

struct control {
	struct event_base *base;
	int fd;
	struct event *accept_ev;
	char path[CFG_SOCKET_MAX];
	dev_t dev;                /* the socket file made here, to remove only that one */
	ino_t ino;
	gid_t gid;                /* the socket's group: its members may connect */
	struct conn *conns;
	unsigned n_conns;
	uint64_t last_refusal_log_ms;
	struct command commands[CONTROL_COMMANDS_MAX];
	unsigned n_commands;
};

static int resolve_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
	errno = 0;
	const struct group *gr = getgrnam(name);
	if (!gr) {
		snprintf(err, errlen, "control.group \"%s\": %s", name, errno ? strerror(errno) : "no such group");
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

int control_check(const struct control_config *cc, char *err, size_t errlen)
{
	gid_t gid;
	return cc->group[0] ? resolve_group(cc->group, &gid, err, errlen) : 0;
}

/* A socket file left by a gateway that did not stop cleanly is replaced; a
 * live one (another gateway answers) or any other file is not ours to
 * remove. 0 when the path is free. */
static int clear_path(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(probe);
		snprintf(err, errlen, "%s: another process answers on this control socket", path);
		return -1;
	}
	if (probe >= 0)
		close(probe);
	if (unlink(path) < 0) {
		snprintf(err, errlen, "%s: cannot remove the stale socket: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Bound with umask 0117, so the file is born 0660 (root's group until the
 * lchown), then given to the owner and group with lchown: no call here
 * follows a symbolic link someone could swap in at the path between the
 * bind and the change of owner (the packaged unit grants CAP_CHOWN for it,
 * not CAP_FOWNER). */
static int make_socket(struct control *c, const char *path, uid_t owner, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a socket", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (clear_path(path, &sun, err, errlen) < 0)
		return -1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	/* From here the path is sun's copy (gcc's sanitizer builds cannot see
	 * that `path` stays non-null past the calls below). */
	const char *at = sun.sun_path;
	mode_t old = umask(0117);
	int rc = bind(c->fd, (const struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	struct stat st;
	if (rc < 0 || lstat(at, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    lchown(at, owner, c->gid) < 0 || listen(c->fd, 16) < 0) {
		snprintf(err, errlen, "%s: %s", at, strerror(errno));
		if (rc == 0)
			unlink(at);
		return -1;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	memcpy(c->path, at, strlen(at) + 1);
	return 0;
}

static void conn_free(struct conn *k)
{
	struct control *c = k->ctl;
	*k->pprev = k->next;
	if (k->next)
		k->next->pprev = k->pprev;
	c->n_conns--;
	if (k->ev)
		event_free(k->ev);
	close(k->fd);
	free(k->out);
	free(k);
}

/* A short answer to a client that gets no slot, best effort: the socket's
 * buffer is empty, so the write does not block. What the client sent
 * already is read and dropped first: a Unix socket closed with unread data
 * resets its peer, which would then lose the answer. */
static void refuse_now(int fd, const char *why)
{
	char doc[160], sink[CONTROL_LINE_MAX];
	int n = snprintf(doc, sizeof(doc), "{\"error\":\"%s\"}\n", why);
	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	if (n > 0 && send(fd, doc, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
		shutdown(fd, SHUT_WR);
	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	close(fd);
}

/* Root, the gateway's own uid, and the socket's group (primary or
 * supplementary, SO_PEERGROUPS): the same people the file's mode admits,
 * checked again so a mode loosened by hand (chmod 0666) opens nothing. */
static int peer_admitted(const struct control *c, int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	*uid = cred.uid;
	if (cred.uid == 0 || cred.uid == geteuid() || cred.gid == c->gid)
		return 1;
	gid_t groups[256];
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return 0; /* more groups than fit, or an old kernel: not admitted */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == c->gid)
			return 1;
	return 0;
}

static void on_conn(evutil_socket_t fd, short what, void *arg);

/* Waits for `what` until the connection's deadline. */
static int conn_wait(struct conn *k, short what)
{
	uint64_t now = pc_clock_ms();
	uint64_t left = k->deadline_ms > now ? k->deadline_ms - now : 0;
	struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000 };
	if (k->ev)
		event_free(k->ev);
	k->ev = event_new(k->ctl->base, k->fd, what, on_conn, k);
	return k->ev && event_add(k->ev, &tv) == 0 ? 0 : -1;
}

/* Writes what is left of the answer; closes when done or on error. */
static void conn_write(struct conn *k)
{
	while (k->out_off < k->out_len) {
		ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (conn_wait(k, EV_WRITE) < 0)
				break;
			return;
		}
		if (n <= 0)
			break;
		k->out_off += (size_t)n;
	}
	conn_free(k);
}

static void conn_answer(struct conn *k, json_t *doc)
{
	k->out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!k->out) {
		conn_free(k);
		return;
	}
	k->out_len = strlen(k->out);
	k->out[k->out_len++] = '\n'; /* replaces the NUL: out is not a string from here */
	k->deadline_ms = pc_clock_ms() + CONTROL_TIMEOUT_S * 1000u;
	conn_write(k);
}

static json_t *error_doc(const char *why)
{
	return json_pack("{s:s}", "error", why);
}

/* Reads until the LF; a line that does not fit is an error, answered. */
static void conn_read(struct conn *k)
{
	ssize_t n = recv(k->fd, k->line + k->len, CONTROL_LINE_MAX - k->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		if (conn_wait(k, EV_READ) < 0)
			conn_free(k);
		return;
	}
	if (n <= 0) {
		conn_free(k); /* gone before asking anything */
		return;
	}
	char *lf = memchr(k->line + k->len, '\n', (size_t)n);
	k->len += (size_t)n;
	if (lf) {
		conn_answer(k, control_answer(k->ctl, k->line, (size_t)(lf - k->line), k->uid));
	} else if (k->len == CONTROL_LINE_MAX) {
		log_warnx("control: uid %u sent a request line longer than %u bytes: refused",
			  (unsigned)k->uid, CONTROL_LINE_MAX - 1);
		conn_answer(k, error_doc("request line too long"));
	} else if (conn_wait(k, EV_READ) < 0) {
		conn_free(k);
	}
}

static void on_conn(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;
	if (what & EV_TIMEOUT) {
		log_info("control: uid %u %s within %u s: closed", (unsigned)k->uid,
			 k->out ? "did not read its answer" : "sent no request", CONTROL_TIMEOUT_S);
		conn_free(k);
	} else if (k->out) {
		conn_write(k);
	} else {
		conn_read(k);
	}
}

/* Logged at most once a second: a local flood must not fill the log. */
static void log_refusal(struct control *c, const char *fmt, unsigned uid)
{
	uint64_t now = pc_clock_ms();
	if (c->last_refusal_log_ms && now - c->last_refusal_log_ms < 1000)
		return;
	c->last_refusal_log_ms = now;
	log_warnx(fmt, uid);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct control *c = arg;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or out of descriptors: the next wake-up tries again */
		uid_t uid = (uid_t)-1;
		if (!peer_admitted(c, fd, &uid)) {
			log_refusal(c, "control: connection from uid %u refused (not root, the gateway's "
				    "user or a member of the socket's group)", (unsigned)uid);
			refuse_now(fd, "permission denied");
			continue;
		}
		struct conn *k = c->n_conns < CONTROL_MAX_CONNECTIONS ? calloc(1, sizeof(*k)) : NULL;
		if (!k) {
			log_refusal(c, "control: busy, a connection from uid %u refused", (unsigned)uid);
			refuse_now(fd, "busy: too many control connections");
			continue;
		}
		k->ctl = c;
		k->fd = fd;
		k->uid = uid;
		k->deadline_ms = pc_clock_ms() + CONTROL_TIMEOUT_S * 1000u;
		k->next = c->conns;
		k->pprev = &c->conns;
		if (c->conns)
			c->conns->pprev = &k->next;
		c->conns = k;
		c->n_conns++;
		if (conn_wait(k, EV_READ) < 0)
			conn_free(k);
	}
}

static json_t *help(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	const struct control *c = ctx;
	json_t *list = json_array();
	for (unsigned i = 0; list && i < c->n_commands; i++)
		json_array_append_new(list, json_pack("{s:s,s:s}", "command", c->commands[i].name,
						      "usage", c->commands[i].usage));
	return list ? json_pack("{s:o}", "commands", list) : NULL;
}

struct control *control_new(struct event_base *base, const struct control_config *cc, uid_t owner,
			    gid_t owner_gid, char *err, size_t errlen)
{
	struct control *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "control socket: out of memory");
		return NULL;
	}
	c->base = base;
	c->fd = -1;
	c->gid = owner_gid;
	control_add(c, "help", 0, 0, "help", help, c);
	if (!cc->socket[0])
		return c; /* the command table alone (tests) */
	if ((cc->group[0] && resolve_group(cc->group, &c->gid, err, errlen) < 0) ||
	    make_socket(c, cc->socket, owner, err, errlen) < 0)
		goto fail;
	c->accept_ev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_accept, c);
	if (!c->accept_ev || event_add(c->accept_ev, NULL) < 0) {
		snprintf(err, errlen, "control socket: cannot watch it");
		goto fail;
	}
	return c;
fail:
	control_free(c);
	return NULL;
}

int control_add(struct control *c, const char *name, int min_args, int max_args,
		const char *usage, control_fn *fn, void *ctx)
{
	if (c->n_commands == CONTROL_COMMANDS_MAX)
		return -1;
	c->commands[c->n_commands++] = (struct command){ name, usage, min_args, max_args, fn, ctx };
	return 0;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	while (c->conns)
		conn_free(c->conns);
	if (c->accept_ev)
		event_free(c->accept_ev);
	if (c->fd >= 0) {
		close(c->fd);
		/* Only the file made here: a gateway started meanwhile on the
		 * same path keeps its own. Under a root-owned directory the
		 * unprivileged gateway cannot remove it; the next start does. */
		struct stat st;
		if (c->path[0] && lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
			(void)unlink(c->path);
	}
	free(c);
}

json_t *control_answer(struct control *c, char *line, size_t len, uid_t peer_uid)
{
	char *argv[CONTROL_MAX_ARGS];
	const char *why = NULL;
	int argc = control_line_split(line, len, argv, &why);
	if (argc < 0)
		return error_doc(why);
	const struct command *cmd = NULL;
	for (unsigned i = 0; i < c->n_commands && !cmd; i++)
		if (!strcmp(c->commands[i].name, argv[0]))
			cmd = &c->commands[i];
	if (!cmd)
		return error_doc("unknown command (\"help\" lists them)");
	if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
		char usage[128];
		snprintf(usage, sizeof(usage), "usage: %s", cmd->usage);
		return error_doc(usage);
	}
	/* An operator's action is part of the record: who asked what. The
	 * arguments are printable ASCII without spaces (line.c), and short. */
	if (strcmp(cmd->name, "help")) {
		char words[CONTROL_LINE_MAX] = "";
		size_t n = 0;
		for (int i = 0; i < argc && n < sizeof(words); i++)
			n += (size_t)snprintf(words + n, sizeof(words) - n, "%s%s", i ? " " : "", argv[i]);
		log_info("control: uid %u: %s", (unsigned)peer_uid, words);
	}
	char err[256] = "";
	json_t *doc = cmd->fn(cmd->ctx, argc, argv, err, sizeof(err));
	return doc ? doc : error_doc(err[0] ? err : "command failed");
}
