/* The user store inside the key holder, and its reload. The holder cannot
 * open files by path once sandboxed: before the switch it opens the
 * store's directory (O_PATH), and its filter then admits one openat, on
 * that descriptor with fixed read-only flags (sandbox.c). A reload reads
 * the file again by name in that directory, so an editor's or
 * portcullis-passwd's write-and-rename is seen, into a pending store; only
 * COMMIT puts it in place of the running one, so a store that does not
 * parse, or a reload the network process refuses for another reason,
 * leaves the running store answering. The network process learns the new
 * users from VIEW pages in the store's own format with zeros for HA1s. */
#include "holder_users.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "keyholder.h"

static struct {
	bool on;
	int dirfd;
	char name[PATH_MAX];
	const char *label; /* the configured path */
	size_t max_users;
	struct users active, pending;
	bool have_pending;
} st = { .dirfd = -1 };

int kh_store_dirfd(void) { return st.dirfd; }
const struct users *kh_store_users(void) { return &st.active; }

/* Splits path into the directory the holder keeps open and the name. */
static int open_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	char dir[PATH_MAX];
	if (!name[0] || strlen(name) >= sizeof(st.name)) {
		log_err("keyholder: auth.users \"%s\" does not name a file", path);
		return -1;
	}
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	st.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st.dirfd < 0) {
		log_err("keyholder: cannot open the directory %s of the user store: %s", dir,
			strerror(errno));
		return -1;
	}
	snprintf(st.name, sizeof(st.name), "%s", name);
	return 0;
}

/* Who may read the store once the processes run as `user`: a root-owned
 * store readable by a group other than root's and the user's own gives
 * the holder (only) that group; one the network process's user could read
 * as well is worth a warning (a compromised network process could read
 * the HA1s the holder is there to keep from it). */
static void choose_group(struct sandbox_user *user)
{
	struct stat sb;
	if (!user->drop || fstatat(st.dirfd, st.name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	bool by_user = (sb.st_uid == user->uid && (sb.st_mode & S_IRUSR)) ||
		       (sb.st_gid == user->gid && (sb.st_mode & S_IRGRP)) || (sb.st_mode & S_IROTH);
	if (by_user) {
		log_warnx("keyholder: the user store %s is readable by user %s, as whom the network "
			  "process runs: make it root:GROUP 0640 with a group of its own "
			  "(docs/operations.md, \"Reload\")", st.label, user->name);
		return;
	}
	if (sb.st_uid == 0 && sb.st_gid != 0 && (sb.st_mode & S_IRGRP)) {
		user->extra_gid = sb.st_gid;
		user->extra = true;
		log_info("keyholder: keeps group %u to re-read the user store %s on reload",
			 (unsigned)sb.st_gid, st.label);
		return;
	}
	log_warnx("keyholder: user %s cannot read the user store %s: a reload will not re-read it "
		  "(make it root:GROUP 0640, docs/operations.md, \"Reload\")", user->name, st.label);
}

static int read_store(struct users *out, char *err, size_t errlen)
{
	return keyholder_load_users_at(st.dirfd, st.name, st.label, st.max_users, out, err, errlen);
}

int kh_store_open(const struct gateway_config *cfg, struct sandbox_user *user)
{
	char err[512];
	st.label = cfg->auth.users;
	st.max_users = cfg->auth.max_users;
	if (open_dir(cfg->auth.users) < 0)
		return -1;
	if (read_store(&st.active, err, sizeof(err)) < 0) {
		log_err("keyholder: %s", err);
		return -1;
	}
	choose_group(user);
	st.on = true;
	return 0;
}

static struct kh_users_request users_request_of(const struct kh_request *req)
{
	struct kh_users_request ur;
	memcpy(&ur, req->data, sizeof(ur));
	return ur;
}

const char *kh_store_check(const struct kh_request *req)
{
	struct kh_users_request ur = users_request_of(req);
	if (!st.on)
		return "no user store is configured";
	if (ur.zero != 0 || (req->op != KH_OP_USERS_VIEW && ur.index != 0))
		return "a field that must be 0 is not";
	if ((req->op == KH_OP_USERS_VIEW || req->op == KH_OP_USERS_COMMIT) && !st.have_pending)
		return "no user store is pending";
	if (req->op == KH_OP_USERS_VIEW && ur.index >= st.pending.n)
		return "past the last user";
	return NULL;
}

/* `len` bytes of text as the reply's data. */
static int reply_text(gnutls_datum_t *out, const char *text, size_t len)
{
	out->data = gnutls_malloc(len ? len : 1);
	if (!out->data)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(out->data, text, len);
	out->size = (unsigned)len;
	return 0;
}

static void drop_pending(void)
{
	if (st.have_pending)
		users_free(&st.pending);
	st.have_pending = false;
}

int kh_store_load(const struct kh_request *req, gnutls_datum_t *out)
{
	char err[512];
	drop_pending();
	if (read_store(&st.pending, err, sizeof(err)) < 0) {
		log_warnx("keyholder: user store not reloaded: %s", err);
		int rc = reply_text(out, err, strnlen(err, KH_MAX_OUTPUT));
		return rc < 0 ? rc : KH_USERS_REFUSED;
	}
	st.have_pending = true;
	uint32_t n = (uint32_t)st.pending.n;
	return reply_text(out, (const char *)&n, sizeof(n));
}

int kh_store_view(const struct kh_request *req, gnutls_datum_t *out)
{
	static char page[KH_MAX_OUTPUT];
	size_t used = 0;
	int count = 0;
	for (size_t i = users_request_of(req).index; i < st.pending.n; i++) {
		int w = users_public_line(&st.pending.v[i], page + used, sizeof(page) - used);
		if (w < 0)
			break;
		used += (size_t)w;
		count++;
	}
	if (count == 0)
		return GNUTLS_E_SHORT_MEMORY_BUFFER; /* a line longer than a page: cannot be */
	int rc = reply_text(out, page, used);
	return rc < 0 ? rc : count;
}

int kh_store_commit(const struct kh_request *req, gnutls_datum_t *out)
{
	users_free(&st.active);
	st.active = st.pending;
	st.have_pending = false;
	memset(&st.pending, 0, sizeof(st.pending));
	log_info("keyholder: user store %s reloaded: %zu users", st.label, st.active.n);
	return 0;
}

int kh_store_drop(const struct kh_request *req, gnutls_datum_t *out)
{
	drop_pending();
	return 0;
}

void kh_store_free(void)
{
	drop_pending();
	users_free(&st.active);
	if (st.dirfd >= 0)
		close(st.dirfd);
	st.dirfd = -1;
	st.on = false;
}
