/* Privilege drop, core-dump prevention and seccomp allowlists. The lists were
 * taken from what the gateway really calls once it runs (strace of the TLS,
 * call and registration tests, then every refusal logged by the SIGSYS
 * handler below while the integration tests ran): set-up (files, listeners,
 * the key holder) happens before the filter, so the filter only has to admit
 * the event loop's work. Denied calls fail with EPERM and one log line, so a
 * missing entry shows up as a logged error, not as a silent death; calls
 * that only a compromised process would make kill it at once. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

#include "core/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_RELAXED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_RELAXED 1
#endif
#endif
#ifndef SANDBOX_RELAXED
#define SANDBOX_RELAXED 0
#endif

bool sandbox_relaxed(void) { return SANDBOX_RELAXED; }

int sandbox_resolve_user(const char *configured, struct sandbox_user *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	bool root = geteuid() == 0;
	const char *name = configured && configured[0] ? configured : root ? "nobody" : NULL;
	if (!name)
		return 0; /* not root, no user asked for: stay */
	errno = 0;
	const struct passwd *pw = getpwnam(name);
	if (!pw) {
		snprintf(err, errlen, "user \"%s\": %s", name, errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (!root) {
		if (pw->pw_uid == geteuid())
			return 0; /* already that user */
		snprintf(err, errlen, "user \"%s\": only root can switch users (running as uid %u)",
			 name, (unsigned)geteuid());
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user \"%s\" is root: the network process must not run as root", name);
		return -1;
	}
	out->drop = true;
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	snprintf(out->name, sizeof(out->name), "%s", name);
	return 0;
}

int sandbox_drop_user(const struct sandbox_user *u)
{
	if (!u->drop)
		return 0;
	const gid_t groups[2] = { u->gid, u->extra_gid };
	if (setgroups(u->extra ? 2 : 1, groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0) {
		log_warn("cannot switch to user %s", u->name);
		return -1;
	}
	/* Paranoia, as relayd: the switch must be irreversible. */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		log_err("could switch back to root after dropping to %s", u->name);
		return -1;
	}
	return 0;
}

int sandbox_no_dumps(void)
{
	struct rlimit none = { 0, 0 };
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || setrlimit(RLIMIT_CORE, &none) < 0) {
		log_warn("cannot disable core dumps");
		return -1;
	}
	return 0;
}

/* A denied call: one line on stderr (async-signal-safe: write only) and
 * EPERM as the call's result, so the caller's own error path runs. */
static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	char line[96] = "portcullis: seccomp refused system call ";
	size_t n = strlen(line);
	char digits[12];
	int d = 0;
	unsigned nr = (unsigned)si->si_syscall;
	do {
		digits[d++] = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr && d < (int)sizeof(digits));
	while (d > 0 && n < sizeof(line) - 2)
		line[n++] = digits[--d];
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
	ucontext_t *uc = ucv;
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#elif defined(__aarch64__)
	uc->uc_mcontext.regs[0] = (unsigned long long)-EPERM;
#else
	(void)uc;
#endif
}

/* One comparison on argument n; both datums spelled out (clang's
 * -Wmissing-field-initializers rejects libseccomp's short form). */
#define ARG(n, op, a) ((struct scmp_arg_cmp){ n, op, (scmp_datum_t)(a), 0 })
#define ARG_MASKED(n, mask, want) \
	((struct scmp_arg_cmp){ n, SCMP_CMP_MASKED_EQ, (scmp_datum_t)(mask), (scmp_datum_t)(want) })

/* Both roles: memory, time, signals, exit, randomness, logging. */
static const int common_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(close),
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getrandom), SCMP_SYS(futex), SCMP_SYS(sched_yield),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
};

/* The network process: the event loop, sockets, relay ports opened per call,
 * the SQLite registrar store (open, sync, WAL files), reaping the key holder. */
static const int network_calls[] = {
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg),
	/* The media workers' rings (media/uring.c), made before the sandbox
	 * and limited to receiving, sending and polling: no new ring
	 * (io_uring_setup is refused) and no other operation. */
	SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_create1),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
	SCMP_SYS(shutdown), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(fcntl), SCMP_SYS(dup),
	SCMP_SYS(pipe2), SCMP_SYS(eventfd2),
	SCMP_SYS(openat), SCMP_SYS(lseek), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(statx),
	SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(getcwd), SCMP_SYS(readlink), SCMP_SYS(fchmod), SCMP_SYS(fchown), SCMP_SYS(flock),
	SCMP_SYS(uname), SCMP_SYS(wait4), SCMP_SYS(getrusage),
	/* A new thread (add_clone_rules) registers its own rseq area and robust
	 * futex list before it unblocks signals: trapped there, it would die. */
	SCMP_SYS(rseq), SCMP_SYS(set_robust_list),
};

/* What only an attacker running code in the process would call: death, not
 * an error the attacker could probe around. */
static const int fatal_calls[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
	SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid),
	SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setgroups), SCMP_SYS(setfsuid),
	SCMP_SYS(setfsgid), SCMP_SYS(capset),
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(chroot), SCMP_SYS(pivot_root),
	SCMP_SYS(unshare), SCMP_SYS(setns),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
	SCMP_SYS(personality), SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
	SCMP_SYS(userfaultfd), SCMP_SYS(iopl), SCMP_SYS(ioperm), SCMP_SYS(swapon), SCMP_SYS(swapoff),
	SCMP_SYS(reboot), SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
};

/* LeakSanitizer stops the world at exit with clone + ptrace + prctl. */
static const int fatal_unless_relaxed[] = { SCMP_SYS(ptrace) };

static int add_list(scmp_filter_ctx f, uint32_t action, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* A call this architecture lacks (negative pseudo-number) is skipped. */
		if (calls[i] < 0)
			continue;
		int rc = seccomp_rule_add(f, action, calls[i], 0);
		if (rc < 0) {
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, calls[i]);
			log_warnx("seccomp: cannot add a rule for %s: %s", name ? name : "?", strerror(-rc));
			free(name);
			return -1;
		}
	}
	return 0;
}

#define ADD_LIST(f, act, list) add_list(f, act, list, sizeof(list) / sizeof(list[0]))

/* The network process opens only IPv4/IPv6 sockets (relay ports, outgoing
 * connections); no executable memory is ever mapped after start; ioctl only
 * for the two requests libevent and the transport use. */
static int add_network_rules(scmp_filter_ctx f, pid_t child)
{
	int rc = 0;
	if (child > 0)
		rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				       ARG(0, SCMP_CMP_EQ, child));
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, ARG(0, SCMP_CMP_EQ, AF_INET));
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, ARG(0, SCMP_CMP_EQ, AF_INET6));
	rc |= seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(socket), 1, ARG(0, SCMP_CMP_GT, AF_NETLINK));
	for (int family = AF_INET6 + 1; family < AF_NETLINK; family++)
		rc |= seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(socket), 1,
				       ARG(0, SCMP_CMP_EQ, family));
	rc |= seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(socket), 1, ARG(0, SCMP_CMP_EQ, AF_UNSPEC));
	/* glibc's getaddrinfo (in libcurl's resolver thread) first asks nscd
	 * over a Unix socket and falls back to its own lookup when the socket
	 * cannot be made; with several addresses for a name it reads the
	 * interface addresses over netlink to sort them (RFC 6724), and sorts
	 * without them when that fails. Both refused quietly (EACCES, neither
	 * logged nor fatal), so lookups work and no Unix or netlink socket is
	 * ever opened. */
	rc |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1, ARG(0, SCMP_CMP_EQ, AF_UNIX));
	rc |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1, ARG(0, SCMP_CMP_EQ, AF_NETLINK));
	for (int family = AF_INET + 1; family < AF_INET6; family++)
		rc |= seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(socket), 1,
				       ARG(0, SCMP_CMP_EQ, family));
	/* libcurl's resolver thread wakes the loop through a connected pair. */
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1, ARG(0, SCMP_CMP_EQ, AF_UNIX));
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, ARG(1, SCMP_CMP_EQ, FIONREAD));
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, ARG(1, SCMP_CMP_EQ, FIONBIO));
	/* Its own limits only (getrlimit is prlimit64 on pid 0): another
	 * process's, the key holder's included, are not its to change. */
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, ARG(0, SCMP_CMP_EQ, 0));
	if (rc < 0)
		log_warnx("seccomp: cannot add the socket, ioctl and prlimit rules");
	return rc < 0 ? -1 : 0;
}

/* Threads and processes. clone3 fails with ENOSYS in every role: its flags
 * are behind a pointer seccomp cannot read, and glibc (2.34 and later)
 * falls back to clone on ENOSYS (only on ENOSYS: EPERM or a kill would break
 * pthread_create). clone's flags are its first argument: the network
 * process may start threads (CLONE_THREAD: libcurl's resolver runs
 * getaddrinfo in one per fetch of a host name, gateway/http/fetch.c) and
 * nothing else; a clone without CLONE_THREAD is fork() or a new process and
 * kills. The key holder starts no thread at all. Sanitizer builds leave
 * clone to the default action (LeakSanitizer clones at exit). */
static int add_clone_rules(scmp_filter_ctx f, enum sandbox_role role)
{
	int rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc == 0 && !SANDBOX_RELAXED) {
		if (role == SANDBOX_NETWORK) {
			rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
					       ARG_MASKED(0, CLONE_THREAD, CLONE_THREAD));
			rc |= seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
					       ARG_MASKED(0, CLONE_THREAD, 0));
		} else {
			rc = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 0);
		}
	}
	if (rc < 0)
		log_warnx("seccomp: cannot add the clone rules");
	return rc < 0 ? -1 : 0;
}

/* The key holder has no business with the network at all, and opens no
 * file but by name in the user store's directory, read-only. */
static int add_keyholder_rules(scmp_filter_ctx f, int dirfd)
{
	int rc = 0;
	if (dirfd >= 0)
		rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 2,
				       ARG(0, SCMP_CMP_EQ, dirfd), ARG(2, SCMP_CMP_EQ, SANDBOX_OPENAT_FLAGS));
	rc |= seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(socket), 0);
	rc |= seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(connect), 0);
	rc |= seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(accept4), 0);
	if (rc < 0)
		log_warnx("seccomp: cannot add the key holder's rules");
	return rc < 0 ? -1 : 0;
}

/* Memory may be mapped, never made executable: no injected code runs.
 * Signals only to the process itself (abort() on a broken invariant), not
 * to other processes of the same user. */
static int add_self_rules(scmp_filter_ctx f)
{
	int rc = 0;
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
			       ARG(0, SCMP_CMP_EQ, getpid()));
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			       ARG_MASKED(2, PROT_EXEC, 0));
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			       ARG_MASKED(2, PROT_EXEC, 0));
	if (rc < 0)
		log_warnx("seccomp: cannot add the memory and signal rules");
	return rc < 0 ? -1 : 0;
}

int sandbox_seccomp(enum sandbox_role role, pid_t child, int dirfd)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_warn("PR_SET_NO_NEW_PRIVS");
		return -1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		log_warn("sigaction(SIGSYS)");
		return -1;
	}
	scmp_filter_ctx f = seccomp_init(SANDBOX_RELAXED ? SCMP_ACT_ALLOW : SCMP_ACT_TRAP);
	if (!f) {
		log_warnx("seccomp_init failed");
		return -1;
	}
	/* Killed and trapped calls also reach the kernel's audit log where it has one. */
	(void)seccomp_attr_set(f, SCMP_FLTATR_CTL_LOG, 1);
	/* On every thread of the process, not only this one: the media
	 * workers are started before the sandbox and parse every datagram. The
	 * kernel sets NO_NEW_PRIVS on the threads it synchronises too. */
	int rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc < 0)
		log_warnx("seccomp: cannot apply the filter to every thread: %s", strerror(-rc));
	if (rc == 0)
		rc = ADD_LIST(f, SCMP_ACT_KILL_PROCESS, fatal_calls);
	if (rc == 0)
		rc = add_clone_rules(f, role);
	if (rc == 0 && !SANDBOX_RELAXED)
		rc = ADD_LIST(f, SCMP_ACT_KILL_PROCESS, fatal_unless_relaxed);
	if (rc == 0 && !SANDBOX_RELAXED) {
		rc = ADD_LIST(f, SCMP_ACT_ALLOW, common_calls);
		if (rc == 0)
			rc = add_self_rules(f);
		if (rc == 0 && role == SANDBOX_NETWORK)
			rc = ADD_LIST(f, SCMP_ACT_ALLOW, network_calls);
		if (rc == 0)
			rc = role == SANDBOX_NETWORK ? add_network_rules(f, child) : add_keyholder_rules(f, dirfd);
	}
	if (rc == 0 && (rc = seccomp_load(f)) < 0)
		log_warnx("seccomp_load: %s", strerror(-rc));
	seccomp_release(f);
	return rc < 0 ? -1 : 0;
}
