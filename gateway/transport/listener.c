/* Listening sockets: opening each configured listener (UDP, TCP or TLS, with
 * its TLS credentials) on the event loop, and accepting stream connections in
 * bounded batches, each admitted against the per-source limit and the
 * listener's budget (conn.c) before it becomes a connection. When the process
 * runs out of descriptors a listener pauses instead of spinning. */
#include "transport_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define ACCEPTS_PER_EVENT 64    /* config_fd_need() reserves this much per listener */
#define ACCEPT_PAUSE_MS 100     /* out of descriptors: stop accepting this long */

/* Out of descriptors (EMFILE/ENFILE) the pending connection stays in the
 * backlog and the listening socket stays readable: accepting again at once
 * would spin. The listener sleeps briefly instead; closing connections (the
 * sweep's timeouts, peers leaving) frees descriptors meanwhile. */
static void listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	event_add(l->ev, NULL);
}

static void listener_pause(struct listener *l, int err)
{
	counter_inc(CNT_ACCEPT_NO_FD);
	if (!l->starved)
		log_warnx("listener %s: accept: %s; pausing accepts for %d ms at a time until "
			  "descriptors are free", l->cfg->name, strerror(err), ACCEPT_PAUSE_MS);
	l->starved = true;
	struct timeval pause = { 0, ACCEPT_PAUSE_MS * 1000 };
	event_del(l->ev);
	evtimer_add(l->resume, &pause);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct listener *l = arg;
	struct transport *tp = l->tp;
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				listener_pause(l, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("listener %s: accept", l->cfg->name);
			return;
		}
		l->starved = false;
		if (!admit_connection(tp, l, &ss)) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = conn_new(tp, fd, l->cfg->transport, &ss, sl,
					  l->cfg->transport == PC_TP_TLS ? &l->tls : NULL, l->index, false);
		if (!c) {
			close(fd);
			continue;
		}
		l->n_open++;
		counter_inc(CNT_CONN_ACCEPTED);
		c->state = c->tls ? CONN_HANDSHAKING : CONN_OPEN;
		if (c->tls)
			conn_handshake(c);
	}
}

int listener_open(struct transport *tp, struct listener *l)
{
	const struct listener_config *lc = l->cfg;
	bool stream = lc->transport != PC_TP_UDP;

	if (parse_address(lc->address, lc->port, &l->addr, &l->addrlen) < 0) {
		log_err("listener %s: address \"%s\" is not a numeric IPv4 or IPv6 address",
			lc->name, lc->address);
		return -1;
	}
	if (lc->transport == PC_TP_TLS) {
		char label[96];
		snprintf(label, sizeof(label), "listener %s", lc->name);
		if (tls_ctx_init(&l->tls, &lc->tls, true, label) < 0)
			return -1;
		l->tls_ready = true;
	}
	l->fd = socket(l->addr.ss_family, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		log_warn("listener %s: socket", lc->name);
		return -1;
	}
	int one = 1;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&l->addr, l->addrlen) < 0) {
		log_warn("listener %s: bind %s %s:%u", lc->name, pc_transport_name(lc->transport),
			 lc->address, lc->port);
		return -1;
	}
	if (stream && listen(l->fd, 128) < 0) {
		log_warn("listener %s: listen", lc->name);
		return -1;
	}
	l->ev = event_new(tp->base, l->fd, EV_READ | EV_PERSIST, stream ? accept_cb : udp_cb, l);
	if (stream)
		l->resume = evtimer_new(tp->base, listener_resume, l);
	if (!l->ev || (stream && !l->resume) || event_add(l->ev, NULL) < 0) {
		log_err("listener %s: cannot register with the event loop", lc->name);
		return -1;
	}
	log_info("listening on %s %s:%u (leg %s, listener %s)", pc_transport_name(lc->transport),
		 lc->address, lc->port, lc->leg, lc->name);
	return 0;
}
