/* Process hardening for the two processes of the gateway (docs/security-model.md,
 * "Privilege separation"): choosing and switching to an unprivileged user, no
 * core dumps, no new privileges, and a seccomp allowlist per role. The
 * network process and the key holder each call these once, after they have
 * opened everything they will ever open. */
#ifndef PC_SANDBOX_H
#define PC_SANDBOX_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sandbox_user {
	bool drop;     /* false: keep the identity the process was started with */
	uid_t uid;
	gid_t gid;
	/* One more group, for the key holder only: the user store's, so that it
	 * can re-read the store that the network process cannot read. */
	bool extra;
	gid_t extra_gid;
	char name[64];
};

/* The only openat the key holder's filter admits (with its kept
 * directory as the first argument): read-only, following no link, and not
 * blocking on a FIFO. */
#define SANDBOX_OPENAT_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

enum sandbox_role {
	SANDBOX_NETWORK,   /* sockets, timers, the user store, SQLite */
	SANDBOX_KEYHOLDER, /* read/write on its socketpair, memory, randomness */
};

/* The user to run as: `configured` (the --user option or the `user` key)
 * when not empty, else "nobody" when started as root, else nobody to switch
 * to. Reads the password database, so it runs before any filter. A named
 * user the process cannot switch to (not root) is an error unless it is the
 * current user. 0 or -1 with a message in err. */
int sandbox_resolve_user(const char *configured, struct sandbox_user *out, char *err, size_t errlen);

/* setgroups/setresgid/setresuid to `u` (nothing when !u->drop; the groups
 * are u->gid and u->extra_gid when u->extra) and a check that root cannot
 * be regained. 0 or -1 (logged). */
int sandbox_drop_user(const struct sandbox_user *u);

/* No core dumps and no ptrace by processes of the same user:
 * PR_SET_DUMPABLE 0 and RLIMIT_CORE 0. A credential change resets the
 * dumpable flag, so this runs again after sandbox_drop_user. 0 or -1. */
int sandbox_no_dumps(void);

/* PR_SET_NO_NEW_PRIVS and the role's seccomp allowlist; `child` (> 0) is
 * the one process the network process may signal (its key holder);
 * `dirfd` (>= 0) the one directory the key holder may open a file in, with
 * SANDBOX_OPENAT_FLAGS (the user store's; an absolute name would not be
 * bound to it, which the filter cannot see: file permissions are what
 * limits the holder to the store, docs/security-model.md). Calls outside the
 * list fail with EPERM and a log line (SIGSYS handler); calls that only an
 * attacker makes (exec, ptrace, fork, changing users, sockets other than
 * IPv4/IPv6, kernel modules...) kill the process. Sanitizer builds need
 * clone, ptrace and more at exit (LeakSanitizer), so there everything not
 * on the kill list is allowed (sandbox_relaxed()). 0 or -1 (logged). */
int sandbox_seccomp(enum sandbox_role role, pid_t child, int dirfd);

/* True in AddressSanitizer builds, where the filter is relaxed. */
bool sandbox_relaxed(void);

#endif
