/* Logging to stderr or syslog with levels. log_warn appends strerror(errno), log_warnx
 * does not (the relayd pair). There is deliberately no helper that formats key
 * material: secrets must never reach a log line. */
#ifndef PC_CORE_LOG_H
#define PC_CORE_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_level_from_name(const char *name, enum log_level *out);
/* From now on lines go to the syslog datagram socket at `path` ("/dev/log")
 * with `facility` ("daemon", "user", "local0".."local7"). Called before the
 * sandbox (it opens a Unix socket). 0, or -1 with errno (EINVAL: unknown
 * facility or a path too long); the target stays as it was then. */
int log_open_syslog(const char *path, const char *facility);
void log_close_syslog(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Like log_msg at WARN, with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { if (log_get_level() >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

#endif
