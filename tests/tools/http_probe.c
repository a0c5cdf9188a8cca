/* http_probe: drives gateway/http/ from the command line for
 * tests/integration/http_fetch.sh. It starts every URL given at once on one
 * libevent loop with the fetch client and prints one line per URL when it
 * ends (status, HTTP code, body length, max-age, milliseconds since start);
 * with --serve it also (or only) serves documents with the http server.
 * --sandbox installs the network process's seccomp filter after set-up, as
 * the gateway does, so fetching is proved to work under it.
 *
 *   http_probe [--sandbox] [--max-bytes N] [--connect-ms N] [--total-ms N]
 *              [--max-fetches N] [--http-host HOST]... [--allow-special]
 *              [--ca FILE] [--cancel-ms N] [--body]
 *              [--serve ADDR PORT] [--doc PATH FILE TYPE]... [--serve-s N]
 *              [--try-fork | --try-thread] URL...
 * --try-fork forks after the filter (the filter must kill the probe);
 * --try-thread starts and joins a thread (the filter must allow it).
 */
#include <event2/event.h>
#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/fetch.h"
#include "http/server.h"
#include "sandbox/sandbox.h"

#define MAX_URLS 64
#define MAX_HOSTS 8

struct probe {
	const char *url;
	struct timespec start;
	bool done;
};

static unsigned pending;
static bool print_body;
static struct event_base *base;
static struct http_client *client;
static bool serving;

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void on_done(void *arg, const struct http_result *r)
{
	struct probe *p = arg;
	printf("%s status=%s http_code=%ld len=%zu max_age=%ld no_store=%d ms=%ld error=\"%s\"\n", p->url,
	       http_fetch_status_name(r->status), r->http_code, r->len, r->max_age_s, r->no_store,
	       ms_since(&p->start), r->error ? r->error : "");
	if (print_body && r->len)
		fwrite(r->body, 1, r->len, stdout);
	fflush(stdout);
	p->done = true;
	if (--pending == 0 && !serving)
		event_base_loopbreak(base);
}

static void on_cancel(evutil_socket_t fd, short what, void *arg)
{
	http_client_free(client);
	client = NULL;
}

static void on_stop(evutil_socket_t fd, short what, void *arg) { event_base_loopbreak(base); }

static bool allow_all(void *arg, const struct sockaddr *sa, socklen_t len) { return true; }

static int usage(void)
{
	fprintf(stderr, "usage: http_probe [options] URL... (see the source)\n");
	return 2;
}

static void *thread_main(void *arg) { return arg; }

/* Attack and legitimate process calls under the filter. */
static int try_calls(bool fork_it, bool thread_it)
{
	if (thread_it) {
		static int token;
		pthread_t t;
		void *ret = NULL;
		int rc = pthread_create(&t, NULL, thread_main, &token);
		if (rc == 0)
			rc = pthread_join(t, &ret);
		printf("thread %s\n", rc == 0 && ret == &token ? "ok" : "failed");
	}
	if (fork_it) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		printf("fork returned %d\n", (int)pid);
	}
	fflush(stdout);
	return 0;
}

static unsigned num(const char *s) { return (unsigned)strtoul(s, NULL, 10); }

int main(int argc, char **argv)
{
	struct http_client_config cfg = { .max_bytes = 65536, .connect_timeout_ms = 2000,
					  .total_timeout_ms = 5000, .max_fetches = 8 };
	const char *hosts[MAX_HOSTS];
	struct probe probes[MAX_URLS];
	unsigned n = 0, cancel_ms = 0, serve_s = 0, serve_port = 0;
	const char *serve_addr = NULL;
	bool sandbox = false, try_fork = false, try_thread = false;
	struct { const char *path, *file, *type; } docs[8];
	unsigned n_docs = 0;
	cfg.http_hosts = hosts;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (!strcmp(a, "--sandbox")) sandbox = true;
		else if (!strcmp(a, "--body")) print_body = true;
		else if (!strcmp(a, "--try-fork")) try_fork = true;
		else if (!strcmp(a, "--try-thread")) try_thread = true;
		else if (!strcmp(a, "--allow-special")) cfg.allow_address = allow_all;
		else if (!strcmp(a, "--max-bytes") && more) cfg.max_bytes = num(argv[++i]);
		else if (!strcmp(a, "--connect-ms") && more) cfg.connect_timeout_ms = num(argv[++i]);
		else if (!strcmp(a, "--total-ms") && more) cfg.total_timeout_ms = num(argv[++i]);
		else if (!strcmp(a, "--max-fetches") && more) cfg.max_fetches = num(argv[++i]);
		else if (!strcmp(a, "--cancel-ms") && more) cancel_ms = num(argv[++i]);
		else if (!strcmp(a, "--serve-s") && more) serve_s = num(argv[++i]);
		else if (!strcmp(a, "--ca") && more) cfg.ca_file = argv[++i];
		else if (!strcmp(a, "--http-host") && more && cfg.n_http_hosts < MAX_HOSTS)
			hosts[cfg.n_http_hosts++] = argv[++i];
		else if (!strcmp(a, "--serve") && i + 2 < argc) {
			serve_addr = argv[++i];
			serve_port = num(argv[++i]);
		} else if (!strcmp(a, "--doc") && i + 3 < argc && n_docs < 8) {
			docs[n_docs].path = argv[++i];
			docs[n_docs].file = argv[++i];
			docs[n_docs++].type = argv[++i];
		} else if (a[0] == '-' || n == MAX_URLS)
			return usage();
		else
			probes[n++] = (struct probe){ .url = a };
	}
	if (n == 0 && !serve_addr && !try_fork && !try_thread)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	client = http_client_new(base, &cfg);
	if (!base || !client)
		return 1;
	struct http_server *server = NULL;
	if (serve_addr) {
		char why[128];
		if (!(server = http_server_new(base, serve_addr, serve_port, why, sizeof(why)))) {
			fprintf(stderr, "http_probe: %s\n", why);
			return 1;
		}
		for (unsigned d = 0; d < n_docs; d++) {
			static uint8_t buf[1 << 20];
			FILE *f = fopen(docs[d].file, "rb");
			size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0;
			if (!f || http_server_add_document(server, docs[d].path, buf, len, docs[d].type) < 0)
				return 1;
			fclose(f);
		}
		serving = true;
	}
	/* As the gateway: everything opened, then the filter. */
	if (sandbox && sandbox_seccomp(SANDBOX_NETWORK, 0, -1) < 0)
		return 1;
	if (try_fork || try_thread)
		try_calls(try_fork, try_thread);
	if (server) {
		printf("listening\n");
		fflush(stdout);
	}
	pending = n;
	for (unsigned i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &probes[i].start);
		if (http_fetch(client, probes[i].url, on_done, &probes[i]) < 0)
			return 1;
	}
	printf("started %u in_flight=%u\n", n, http_client_in_flight(client));
	fflush(stdout);
	struct event *cancel = NULL, *stop = NULL;
	if (cancel_ms) {
		struct timeval tv = { cancel_ms / 1000, (cancel_ms % 1000) * 1000 };
		cancel = evtimer_new(base, on_cancel, NULL);
		evtimer_add(cancel, &tv);
	}
	if (serve_s) {
		struct timeval tv = { serve_s, 0 };
		stop = evtimer_new(base, on_stop, NULL);
		evtimer_add(stop, &tv);
	}
	if (n || serving)
		event_base_dispatch(base);
	http_client_free(client);
	http_server_free(server);
	if (cancel)
		event_free(cancel);
	if (stop)
		event_free(stop);
	event_base_free(base);
	for (unsigned i = 0; i < n; i++)
		if (!probes[i].done)
			printf("%s never reported\n", probes[i].url);
	return 0;
}
