/* Log sink: one line per call, on stderr prefixed with a UTC timestamp and
 * level, or as an RFC 3164 datagram to a syslog socket (the timestamp is
 * the daemon's). The syslog socket is connected before the sandbox, which
 * refuses new Unix sockets but allows connect(), so a daemon restart is
 * survived by reconnecting the same descriptor; a line that still cannot
 * be sent goes to stderr. Errno is saved before formatting so log_warn
 * reports the caller's. */
#define _DEFAULT_SOURCE
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Read by every thread (media workers log too), set by the main thread on
 * SIGHUP or a control command: relaxed atomics, no lock. */
static _Atomic enum log_level current_level = LOG_LVL_INFO;
static const char *const level_names[] = { "error", "warning", "info", "debug" };
static const int level_severity[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

static struct {
	int fd;                 /* -1: stderr */
	int facility;
	int pid;
	struct sockaddr_un addr;
} sys = { .fd = -1 };

static const struct {
	const char *name;
	int code;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

int log_open_syslog(const char *path, const char *facility)
{
	int code = -1;
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (!strcmp(facility, facilities[i].name))
			code = facilities[i].code;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (code < 0 || strlen(path) >= sizeof(a.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (sys.fd >= 0)
		close(sys.fd);
	sys.fd = fd;
	sys.facility = code;
	sys.pid = (int)getpid();
	sys.addr = a;
	return 0;
}

void log_close_syslog(void)
{
	if (sys.fd >= 0)
		close(sys.fd);
	sys.fd = -1;
}

/* 0 when the daemon took the line. A refused send is retried once after
 * reconnecting: a restarted daemon has a new socket at the same path. */
static int send_syslog(enum log_level level, const char *line, const char *suffix)
{
	char dgram[1200];
	int n = snprintf(dgram, sizeof(dgram), "<%d>portcullis[%d]: %s: %s%s%s",
			 sys.facility | level_severity[level], sys.pid, level_names[level], line,
			 suffix ? ": " : "", suffix ? suffix : "");
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(dgram) ? (size_t)n : sizeof(dgram) - 1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (send(sys.fd, dgram, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;
		if (errno != ECONNREFUSED && errno != ENOTCONN && errno != ECONNRESET)
			return -1;
		if (connect(sys.fd, (struct sockaddr *)&sys.addr, sizeof(sys.addr)) < 0)
			return -1;
	}
	return -1;
}

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&current_level, level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return atomic_load_explicit(&current_level, memory_order_relaxed);
}

int log_level_from_name(const char *name, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void vlog(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;

	if (level > log_get_level())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	vsnprintf(line, sizeof(line), fmt, ap);
	if (sys.fd >= 0 && send_syslog(level, line, suffix) == 0)
		return;
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ portcullis %s: %s%s%s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], line,
		suffix ? ": " : "", suffix ? suffix : "");
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, NULL, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}
