/* portcullisctl: asks a running gateway over its control socket
 * (gateway/control/) for its calls, registrations, counters and peers,
 * ends a call, reloads the configuration or changes the log level. One
 * request line out, one JSON document back; printed as tables for people
 * or as the JSON itself with --json. Text from the gateway can carry what
 * peers sent (a Contact, a display name), so control characters are never
 * printed to the terminal as they are. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "build_config.h"
#include "control/line.h"

#define ANSWER_MAX (64u << 20) /* far above any answer: bounds a broken peer */
#define TIMEOUT_S 10

static void usage(FILE *out)
{
	fprintf(out,
		"usage: portcullisctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
		"  -s, --socket SOCKET  the gateway's control socket (default %s)\n"
		"  -j, --json           print the gateway's JSON answer as it is\n"
		"commands:\n"
		"  calls                live calls\n"
		"  call kill ID         end call ID on both legs\n"
		"  registrations        registrar bindings\n"
		"  counters             every counter and gauge\n"
		"  reload               re-read the configuration\n"
		"  takeover NODE        raise the calls NODE shared (cluster failover)\n"
		"  log-level [LEVEL]    show or set the log level (error, warning, info, debug)\n"
		"  peers                configured peers and their keep-alive state\n"
		"  help                 the gateway's list of commands\n",
		PORTCULLIS_CONTROL_SOCKET);
}

/* Prints s with every control or 8-bit byte as '?'. */
static void put_clean(const char *s, int width)
{
	int n = 0;
	for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++, n++)
		putchar(*p >= 0x20 && *p < 0x7f ? *p : '?');
	for (; n < width; n++)
		putchar(' ');
}

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	static char num[32];
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return num;
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.2f", json_real_value(v));
		return num;
	}
	return "-";
}

/* One row of columns: key and width pairs, ending with NULL. */
static void row(const json_t *o, const char *const *keys, const int *widths, int n)
{
	for (int i = 0; i < n; i++) {
		put_clean(str(o, keys[i]), i + 1 < n ? widths[i] : 0);
		if (i + 1 < n)
			putchar(' ');
	}
	putchar('\n');
}

static void header(const char *const *titles, const int *widths, int n)
{
	for (int i = 0; i < n; i++)
		printf("%-*s%s", i + 1 < n ? widths[i] : 0, titles[i], i + 1 < n ? " " : "\n");
}

static void table(const json_t *list, const char *const *titles, const char *const *keys,
		  const int *widths, int n, const char *none)
{
	if (!json_is_array(list) || json_array_size(list) == 0) {
		printf("%s\n", none);
		return;
	}
	header(titles, widths, n);
	size_t i;
	const json_t *o;
	json_array_foreach(list, i, o)
		row(o, keys, widths, n);
}

static void print_calls(const json_t *doc)
{
	const json_t *calls = json_object_get(doc, "calls");
	static const char *const t[] = { "ID", "STATE", "DURATION", "WORKER", "FROM", "TO", "LEGS" };
	if (!json_is_array(calls) || json_array_size(calls) == 0) {
		printf("no calls\n");
		return;
	}
	static const int w[] = { 8, 9, 8, 6, 24, 24, 0 };
	header(t, w, 7);
	size_t i, j;
	const json_t *c, *leg;
	json_array_foreach(calls, i, c) {
		static const char *const k[] = { "id", "state", "duration_s", "media_worker", "from",
						 "to" };
		for (int x = 0; x < 6; x++) {
			put_clean(str(c, k[x]), w[x]);
			putchar(' ');
		}
		json_array_foreach(json_object_get(c, "legs"), j, leg) {
			printf("%s", j ? ", " : "");
			put_clean(str(leg, "side"), 0);
			putchar(' ');
			put_clean(str(leg, "transport"), 0);
			const char *suite = str(leg, "srtp_suite");
			if (strcmp(suite, "-")) {
				putchar('/');
				put_clean(suite, 0);
			}
		}
		putchar('\n');
	}
}

static void print_counters(const json_t *doc)
{
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)json_object_get(doc, "gauges"), key, v)
		printf("%-44s %lld\n", key, (long long)json_integer_value(v));
	json_object_foreach((json_t *)json_object_get(doc, "counters"), key, v)
		printf("%-44s %lld\n", key, (long long)json_integer_value(v));
}

static void print_human(const char *command, const json_t *doc)
{
	if (!strcmp(command, "calls")) {
		print_calls(doc);
	} else if (!strcmp(command, "registrations")) {
		static const char *const t[] = { "AOR", "CONTACT", "TRANSPORT", "SOURCE", "EXPIRES" };
		static const char *const k[] = { "aor", "contact", "transport", "source", "expires_s" };
		static const int w[] = { 28, 40, 9, 28, 0 };
		table(json_object_get(doc, "registrations"), t, k, w, 5, "no registrations");
		if (json_is_true(json_object_get(doc, "truncated")))
			printf("(list truncated: %s bindings in all)\n", str(doc, "total"));
	} else if (!strcmp(command, "counters")) {
		print_counters(doc);
	} else if (!strcmp(command, "peers")) {
		static const char *const t[] = { "NAME", "TRANSPORT", "ADDRESS", "PORT", "KEEPALIVE",
						 "STATE", "RETRY-AFTER" };
		static const char *const k[] = { "name", "transport", "address", "port", "keepalive_s",
						 "state", "retry_after_s" };
		static const int w[] = { 16, 9, 24, 5, 9, 10, 0 };
		table(json_object_get(doc, "peers"), t, k, w, 7, "no peers configured");
	} else if (!strcmp(command, "log-level")) {
		printf("log level: ");
		put_clean(str(doc, "log_level"), 0);
		if (json_object_get(doc, "previous")) {
			printf(" (was ");
			put_clean(str(doc, "previous"), 0);
			putchar(')');
		}
		putchar('\n');
	} else if (!strcmp(command, "takeover")) {
		put_clean(str(doc, "report"), 0);
		putchar('\n');
	} else if (!strcmp(command, "call")) {
		printf("call %s: ending\n", str(doc, "call"));
	} else if (!strcmp(command, "reload")) {
		printf("reloaded\n");
		const char *report = str(doc, "report");
		if (strcmp(report, "-") && report[0]) {
			put_clean(report, 0);
			putchar('\n');
		}
	} else if (!strcmp(command, "help")) {
		static const char *const t[] = { "COMMAND", "USAGE" };
		static const char *const k[] = { "command", "usage" };
		static const int w[] = { 16, 0 };
		table(json_object_get(doc, "commands"), t, k, w, 2, "no commands");
	} else {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	}
}

/* The request line of argv's words, checked as the gateway checks it. */
static int build_request(int argc, char **argv, char *line, size_t len)
{
	size_t n = 0;
	for (int i = 0; i < argc; i++) {
		if (!control_word_valid(argv[i])) {
			fprintf(stderr, "portcullisctl: \"%s\": words must be printable ASCII without spaces\n",
				argv[i]);
			return -1;
		}
		size_t w = strlen(argv[i]);
		if (n + w + 2 > len || n + w + 2 > CONTROL_LINE_MAX || i >= CONTROL_MAX_ARGS) {
			fprintf(stderr, "portcullisctl: request too long\n");
			return -1;
		}
		if (i)
			line[n++] = ' ';
		memcpy(line + n, argv[i], w);
		n += w;
	}
	line[n++] = '\n';
	line[n] = '\0';
	return (int)n;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "portcullisctl: %s: path too long for a socket\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { TIMEOUT_S, 0 };
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		fprintf(stderr, "portcullisctl: %s: %s%s\n", path, strerror(e),
			e == EACCES ? " (root, the gateway's user or its control group only)"
			: e == ENOENT || e == ECONNREFUSED ? " (is the gateway running with this control.socket?)"
			: "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The whole answer (up to EOF), NUL-terminated; NULL on error (printed). */
static char *exchange(int fd, const char *line, size_t len)
{
	/* A gateway that refuses the connection (busy, not allowed) answers
	 * and closes at once, maybe before the request is out: its answer is
	 * still there to read. */
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len && errno != EPIPE && errno != ECONNRESET) {
		fprintf(stderr, "portcullisctl: cannot send the request: %s\n", strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n + 1 == cap) {
			char *more = cap < ANSWER_MAX ? realloc(buf, cap * 2) : NULL;
			if (!more) {
				fprintf(stderr, "portcullisctl: answer too large\n");
				break;
			}
			buf = more;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
		if (r == 0) {
			buf[n] = '\0';
			return buf;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "portcullisctl: no answer: %s\n",
				errno == EAGAIN ? "timed out" : strerror(errno));
			break;
		}
		n += (size_t)r;
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = PORTCULLIS_CONTROL_SOCKET;
	int json = 0, ch;
	while ((ch = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 's': path = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	char line[CONTROL_LINE_MAX + 1];
	int len = build_request(argc - optind, argv + optind, line, sizeof(line));
	if (len < 0)
		return 2;
	int fd = connect_to(path);
	if (fd < 0)
		return 1;
	char *answer = exchange(fd, line, (size_t)len);
	close(fd);
	if (!answer)
		return 1;
	json_error_t jerr;
	json_t *doc = json_loads(answer, 0, &jerr);
	if (!json_is_object(doc)) {
		fprintf(stderr, "portcullisctl: the answer is not a JSON object: %s\n", jerr.text);
		free(answer);
		json_decref(doc);
		return 1;
	}
	const json_t *error = json_object_get(doc, "error");
	int status = error ? 1 : 0;
	if (json)
		fputs(answer, stdout);
	if (error) {
		fprintf(stderr, "portcullisctl: ");
		fflush(stderr);
		const char *text = json_is_string(error) ? json_string_value(error) : "error";
		for (const unsigned char *p = (const unsigned char *)text; *p; p++)
			fputc(*p >= 0x20 && *p < 0x7f ? *p : '?', stderr);
		fputc('\n', stderr);
	} else if (!json) {
		print_human(argv[optind], doc);
	}
	json_decref(doc);
	free(answer);
	return status;
}
