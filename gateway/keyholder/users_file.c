/* Reading the digest user store file (policy/users.h parses it). The
 * network process reads it by path at start (and wipes the HA1s at once:
 * users_forget_ha1); the key holder reads it at start and on every reload
 * by name in the store's directory, through a descriptor of that directory
 * it opened before its sandbox (holder_users.c), so a store replaced by
 * rename is read anew. The text is read unbuffered into one buffer that is
 * wiped after the parse, so no copy of an HA1 in hex is left behind by
 * this step. */
#include "keyholder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USERS_FILE_MAX (16u << 20)

/* The whole file behind fd, parsed; `label` names it in messages. */
static int load_fd(int fd, const char *label, size_t max_users, struct users *out, char *err,
		   size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", label, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", label);
		return -1;
	}
	if (st.st_size > (off_t)USERS_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", label, USERS_FILE_MAX);
		return -1;
	}
	/* No stdio: HA1s are password equivalents, and its buffer would keep
	 * a copy we cannot wipe. Read exactly the file's size. */
	size_t size = (size_t)st.st_size, len = 0;
	char *text = malloc(size + 1);
	if (text == NULL) {
		snprintf(err, errlen, "%s: out of memory", label);
		return -1;
	}
	while (len < size) {
		ssize_t got = read(fd, text + len, size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	int rc = -1;
	if (len != size)
		snprintf(err, errlen, "%s: read error", label);
	else
		rc = users_parse(text, len, label, max_users, out, err, errlen);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

static int load_opened(int fd, const char *label, size_t max_users, struct users *out, char *err,
		       size_t errlen)
{
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", label, strerror(errno));
		return -1;
	}
	int rc = load_fd(fd, label, max_users, out, err, errlen);
	close(fd);
	return rc;
}

int keyholder_load_users(const char *path, size_t max_users, struct users *out, char *err,
			 size_t errlen)
{
	/* O_NONBLOCK: a FIFO put in the store's place does not hang the open. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	return load_opened(fd, path, max_users, out, err, errlen);
}

int keyholder_load_users_at(int dirfd, const char *name, const char *label, size_t max_users,
			    struct users *out, char *err, size_t errlen)
{
	int fd = openat(dirfd, name, SANDBOX_OPENAT_FLAGS);
	if (fd < 0 && errno == ELOOP) {
		snprintf(err, errlen, "%s: a symbolic link (the key holder follows none: name the file)",
			 label);
		return -1;
	}
	return load_opened(fd, label, max_users, out, err, errlen);
}
