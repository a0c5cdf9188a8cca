/* HTTPS under evhttp (http_tls.h): each connection is a bufferevent filter
 * over a socket bufferevent. evhttp sets the accepted socket on the filter,
 * which passes it down; records come in through the socket bufferevent's
 * input and the GnuTLS session reads them from there (pull); plaintext goes
 * up into the filter's input for evhttp. Records go out through a buffer of
 * our own written straight to the socket (push), not through the socket
 * bufferevent: evhttp shuts the socket's sending side the moment the last
 * byte of its reply has left the filter, so whatever is not in the kernel
 * by then is lost. The reply is therefore encrypted record by record only
 * while the records before it have reached the kernel, and its last TAIL
 * bytes only once the socket has since said it is writable (then the few
 * hundred bytes fit). libevent 2.1's filter does not look at its output
 * when evhttp enables writing after queueing a reply, so a wake-up on the
 * socket's writability (one event, one shot) runs the output side too.
 *
 * Bounds: the handshake and every read are held to evhttp's 10 s idle
 * timeout and the server's 30 s lifetime (the connection counts in the
 * server's cap of 128 from accept on); ciphertext read ahead stops at
 * IN_HIGH_WATER, ciphertext queued at about one record; TLS 1.2
 * renegotiation is refused. A failed handshake is counted, logged at most
 * once a second, its alert sent if the socket takes it, and the socket is
 * shut, which evhttp sees as the end of the connection. */
#include "http_tls.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"
#include "tls.h"

#define LABEL "http listener"
#define RECORD_PLAIN 16384                  /* plaintext of one record at most */
#define TAIL 512                            /* the last bytes wait for a writable socket */
#define IN_HIGH_WATER (2 * (RECORD_PLAIN + 2048)) /* ciphertext read ahead */

struct http_tls {
	struct tls_ctx ctx;
};

struct tls_link {
	struct http_tls *t;
	struct bufferevent *sock;   /* underneath: evhttp's socket is set on it */
	struct bufferevent *filter; /* what evhttp holds */
	gnutls_session_t session;   /* made at the first byte, when the socket is known */
	struct tls_cred *cred;      /* the session's credentials */
	struct evbuffer *out;       /* records not yet in the kernel */
	struct event *wake;         /* the socket's writability, one shot */
	bool established, verified, failed, writable;
};

static void on_wake(evutil_socket_t fd, short what, void *arg);

static int sock_fd(const struct tls_link *l)
{
	return (int)bufferevent_getfd(l->sock);
}

/* GnuTLS's transport: records from the socket bufferevent's input ... */
static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct tls_link *l = p;
	int n = evbuffer_remove(bufferevent_get_input(l->sock), data, len);
	if (n <= 0) {
		gnutls_transport_set_errno(l->session, EAGAIN);
		return -1;
	}
	return n;
}

/* Only asked whether data waits (the session has no timeout of its own). */
static int pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
	(void)ms;
	struct tls_link *l = p;
	return evbuffer_get_length(bufferevent_get_input(l->sock)) > 0;
}

/* ... and to our output buffer, written to the socket by flush_out. */
static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct tls_link *l = p;
	if (evbuffer_add(l->out, data, len) < 0) {
		gnutls_transport_set_errno(l->session, ENOMEM);
		return -1;
	}
	return (ssize_t)len;
}

static void arm_wake(struct tls_link *l)
{
	int fd = sock_fd(l);
	if (fd < 0 || l->failed)
		return;
	if (!l->wake && !(l->wake = event_new(bufferevent_get_base(l->sock), fd, EV_WRITE,
					       on_wake, l)))
		return;
	if (!event_pending(l->wake, EV_WRITE, NULL))
		event_add(l->wake, NULL);
}

/* What the kernel takes of our records now; -1 when the socket failed. */
static int flush_out(struct tls_link *l)
{
	int fd = sock_fd(l);
	while (fd >= 0 && evbuffer_get_length(l->out) > 0) {
		int n = evbuffer_write(l->out, fd);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (n <= 0)
			return -1;
	}
	if (evbuffer_get_length(l->out) > 0)
		arm_wake(l);
	return 0;
}

/* The end of a connection that failed: counted, logged at most once a
 * second (a flood of bad handshakes must not flood the log), the alert
 * sent if the socket takes it, and the socket shut: the socket bufferevent
 * reads end of file and evhttp frees the connection. */
static void fail(struct tls_link *l, int rc, const char *what)
{
	static uint64_t last_log_ms;
	if (l->failed)
		return;
	l->failed = true;
	counter_inc(CNT_HTTP_TLS_FAILED);
	uint64_t now = pc_clock_ms();
	if (now - last_log_ms >= 1000 || last_log_ms == 0) {
		last_log_ms = now;
		char num[24];
		const char *alert = tls_alert_text(l->session, rc, num, sizeof(num));
		log_warnx(LABEL ": TLS %s failed: %s%s%s (counted in http_tls_failures)", what,
			  gnutls_strerror(rc), alert[0] ? ": " : "", alert);
	}
	if (l->session && rc != GNUTLS_E_PUSH_ERROR)
		gnutls_alert_send_appropriate(l->session, rc);
	int fd = sock_fd(l);
	if (fd >= 0) {
		(void)evbuffer_write(l->out, fd);
		shutdown(fd, SHUT_RDWR);
	}
	evbuffer_drain(l->out, evbuffer_get_length(l->out));
	if (l->wake)
		event_del(l->wake);
}

static int start_session(struct tls_link *l)
{
	int fd = sock_fd(l);
	if (fd < 0 || tls_session_new(&l->t->ctx, fd, &l->session, &l->cred) < 0)
		return -1;
	gnutls_transport_set_ptr(l->session, l);
	gnutls_transport_set_push_function(l->session, push);
	gnutls_transport_set_pull_function(l->session, pull);
	gnutls_transport_set_pull_timeout_function(l->session, pull_timeout);
	return 0;
}

/* Whether the client's certificate verified: the handshake's verify
 * callback refused a bad one, but a resumed session skips it (and a reload
 * may have changed ca or peer_names since the ticket was issued), so the
 * chain and names are checked again before live documents depend on it. */
static bool client_verified(gnutls_session_t s, const struct tls_config *cfg)
{
	unsigned n = 0, status = 1;
	if (cfg->verify_peer == TLS_VERIFY_NONE || !gnutls_certificate_get_peers(s, &n) || n == 0 ||
	    gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0)
		return false;
	bool named = cfg->n_peer_names == 0;
	for (unsigned i = 0; i < cfg->n_peer_names && !named; i++)
		named = tls_session_peer_matches(s, cfg->peer_names[i]);
	return named;
}

/* 1 when established, 0 when it needs more bytes, -1 when it failed. */
static int handshake(struct tls_link *l)
{
	if (!l->session && start_session(l) < 0) {
		fail(l, GNUTLS_E_INTERNAL_ERROR, "session set-up");
		return -1;
	}
	int rc = gnutls_handshake(l->session);
	if (flush_out(l) < 0 && (rc >= 0 || !gnutls_error_is_fatal(rc)))
		rc = GNUTLS_E_PUSH_ERROR; /* the client went away */
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return 0;
	if (rc < 0) {
		fail(l, rc, "handshake");
		return -1;
	}
	l->established = true;
	l->verified = client_verified(l->session, l->t->ctx.cfg);
	log_debug(LABEL ": TLS established (%s), client certificate %s",
		  gnutls_protocol_get_name(gnutls_protocol_get_version(l->session)),
		  l->verified ? "verified" : "none");
	/* A reply may be waiting for the handshake (evhttp never writes
	 * first, but the output side is run the same way in any case). */
	arm_wake(l);
	return 1;
}

/* The filter's input side: records in src, plaintext out to dst. */
static enum bufferevent_filter_result in_filter(struct evbuffer *src, struct evbuffer *dst,
						ev_ssize_t limit, enum bufferevent_flush_mode mode,
						void *ctx)
{
	(void)mode;
	struct tls_link *l = ctx;
	if (l->failed) {
		/* Read on to the end of file the shut socket gives evhttp. */
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_ERROR;
	}
	if (!l->established && handshake(l) <= 0)
		return l->failed ? BEV_ERROR : BEV_NEED_MORE;
	ev_ssize_t got = 0;
	while (limit < 0 || got < limit) {
		size_t room = limit < 0 || limit - got > RECORD_PLAIN ? RECORD_PLAIN : (size_t)(limit - got);
		struct evbuffer_iovec v;
		if (evbuffer_reserve_space(dst, (ev_ssize_t)room, &v, 1) < 1)
			break;
		ssize_t n = gnutls_record_recv(l->session, v.iov_base, room < v.iov_len ? room : v.iov_len);
		if (n > 0) {
			v.iov_len = (size_t)n;
			evbuffer_commit_space(dst, &v, 1);
			got += n;
			continue;
		}
		evbuffer_commit_space(dst, &v, 0);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED || n == 0)
			break; /* 0: close_notify; the request already read is still answered */
		fail(l, n == GNUTLS_E_REHANDSHAKE ? GNUTLS_E_UNEXPECTED_PACKET : (int)n, "receive");
		return BEV_ERROR;
	}
	flush_out(l); /* TLS 1.3 may answer a key update */
	return got > 0 ? BEV_OK : BEV_NEED_MORE;
}

/* The filter's output side: evhttp's plaintext in src, sealed into our own
 * buffer and written to the kernel (dst, the socket bufferevent's output,
 * stays empty; see the opening comment for why and for the tail). */
static enum bufferevent_filter_result out_filter(struct evbuffer *src, struct evbuffer *dst,
						 ev_ssize_t limit, enum bufferevent_flush_mode mode,
						 void *ctx)
{
	(void)dst;
	(void)limit;
	(void)mode;
	struct tls_link *l = ctx;
	if (l->failed)
		return BEV_ERROR;
	if (!l->established)
		return BEV_NEED_MORE;
	bool did = false;
	for (;;) {
		if (flush_out(l) < 0) {
			fail(l, GNUTLS_E_PUSH_ERROR, "send");
			return BEV_ERROR;
		}
		size_t n = evbuffer_get_length(src);
		if (n == 0 || evbuffer_get_length(l->out) > 0)
			break; /* the wake-up runs this again when the kernel took it */
		if (n <= TAIL && !l->writable) {
			arm_wake(l);
			break;
		}
		size_t chunk = n <= TAIL ? n : n - TAIL < RECORD_PLAIN ? n - TAIL : RECORD_PLAIN;
		l->writable = false;
		ssize_t sent = gnutls_record_send(l->session, evbuffer_pullup(src, (ev_ssize_t)chunk), chunk);
		if (sent < 0 && sent != GNUTLS_E_AGAIN && sent != GNUTLS_E_INTERRUPTED) {
			fail(l, (int)sent, "send");
			return BEV_ERROR;
		}
		if (sent <= 0) { /* push never blocks: not expected */
			arm_wake(l);
			break;
		}
		evbuffer_drain(src, (size_t)sent);
		did = true;
	}
	return did ? BEV_OK : BEV_NEED_MORE;
}

/* The socket can take more: the rest of our records, then the output side
 * (the filter runs out_filter while evhttp still holds the connection). */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct tls_link *l = arg;
	/* Room for the tail only when this wake-up wrote nothing itself. */
	bool idle = evbuffer_get_length(l->out) == 0;
	if (flush_out(l) < 0) {
		fail(l, GNUTLS_E_PUSH_ERROR, "send");
		return;
	}
	l->writable = idle;
	bufferevent_event_cb eventcb = NULL;
	bufferevent_getcb(l->filter, NULL, NULL, &eventcb, NULL);
	if (eventcb && l->established)
		bufferevent_flush(l->filter, EV_WRITE, BEV_NORMAL);
}

/* evhttp queued output: libevent 2.1's filter does not process it when
 * evhttp enables writing afterwards, so the wake-up does. */
static void on_output_added(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	(void)b;
	struct tls_link *l = arg;
	if (info->n_added > 0 && l->established)
		arm_wake(l);
}

static void link_free(void *ctx)
{
	struct tls_link *l = ctx;
	if (l->session)
		gnutls_deinit(l->session);
	tls_cred_unref(l->cred);
	if (l->wake)
		event_free(l->wake);
	if (l->out)
		evbuffer_free(l->out);
	free(l);
}

struct bufferevent *http_tls_wrap(void *ctx, struct event_base *base, void **link)
{
	struct tls_link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->t = ctx;
	l->out = evbuffer_new();
	l->sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!l->out || !l->sock) {
		if (l->sock)
			bufferevent_free(l->sock);
		link_free(l);
		return NULL;
	}
	bufferevent_setwatermark(l->sock, EV_READ, 0, IN_HIGH_WATER);
	/* Freeing the filter frees the socket bufferevent (and closes the
	 * socket), and then the link. */
	l->filter = bufferevent_filter_new(l->sock, in_filter, out_filter, BEV_OPT_CLOSE_ON_FREE,
					   link_free, l);
	if (!l->filter) {
		bufferevent_free(l->sock);
		l->sock = NULL;
		link_free(l);
		return NULL;
	}
	if (!evbuffer_add_cb(bufferevent_get_output(l->filter), on_output_added, l)) {
		bufferevent_free(l->filter); /* frees the link too */
		return NULL;
	}
	*link = l;
	return l->filter;
}

bool http_tls_client_verified(void *link)
{
	const struct tls_link *l = link;
	return l && l->established && !l->failed && l->verified;
}

void http_tls_release(void *link)
{
	struct tls_link *l = link;
	if (l && l->wake)
		event_del(l->wake);
	if (l)
		l->failed = true; /* nothing more goes through it */
}

struct http_tls *http_tls_new(const struct tls_config *cfg)
{
	struct http_tls *t = calloc(1, sizeof(*t));
	if (!t) {
		log_err(LABEL ": out of memory");
		return NULL;
	}
	if (tls_ctx_init(&t->ctx, cfg, true, LABEL) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

void http_tls_free(struct http_tls *t)
{
	if (!t)
		return;
	tls_ctx_deinit(&t->ctx);
	free(t);
}

struct tls_cred *http_tls_cred_load(const struct tls_config *cand)
{
	return tls_cred_load(cand, LABEL, true);
}

void http_tls_cred_install(struct http_tls *t, struct tls_cred *c)
{
	tls_ctx_set_cred(&t->ctx, c);
}

void http_tls_cred_free(struct tls_cred *c)
{
	tls_cred_unref(c);
}
