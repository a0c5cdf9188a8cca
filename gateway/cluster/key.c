/* The cluster's two secrets, each read once at start, before the sandbox,
 * from a file only its owner may read (group or others having any access
 * is refused, as an SSH client refuses a private key), held in this
 * process only and wiped when the cluster stops: the cluster key
 * (cluster.key_file: 32 bytes written as 64 hexadecimal digits and an
 * optional newline, `openssl rand -hex 32`), which seals the call state
 * nodes write to Redis, and Redis's password (cluster.password_file: one
 * line of printable characters), which the connection sends in AUTH. */
#include "key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hex.h"

/* Reads at most len bytes of a regular file only its owner may access
 * into buf: the byte count, or -1 with "path: why" in err. */
static ssize_t read_private(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	ssize_t n = -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		snprintf(err, errlen, "%s: not a regular file", path);
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		snprintf(err, errlen, "%s: group or others may access it (chmod 600)", path);
	else if ((n = read(fd, buf, len)) < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	return n;
}

int cl_key_read(const char *path, uint8_t key[CL_KEY_LEN], char *err, size_t errlen)
{
	char text[2 * CL_KEY_LEN + 2];
	ssize_t n = read_private(path, text, sizeof(text), err, errlen);
	int rc = -1;
	if (n < 0)
		;
	else if (n == (ssize_t)sizeof(text) && text[n - 1] != '\n')
		snprintf(err, errlen, "%s: longer than 64 hexadecimal digits", path);
	else if (!hex_decode(text, (size_t)n - (n > 0 && text[n - 1] == '\n'), key, CL_KEY_LEN))
		snprintf(err, errlen, "%s: must hold 64 hexadecimal digits (32 bytes)", path);
	else
		rc = 0;
	explicit_bzero(text, sizeof(text));
	return rc;
}

int cl_password_read(const char *path, char password[CL_PASSWORD_MAX], char *err, size_t errlen)
{
	char text[CL_PASSWORD_MAX + 1];
	ssize_t n = read_private(path, text, sizeof(text), err, errlen);
	int rc = -1;
	if (n < 0)
		goto out;
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (n == 0 || n >= CL_PASSWORD_MAX) {
		snprintf(err, errlen, "%s: must hold one line of 1-%d characters", path, CL_PASSWORD_MAX - 1);
		goto out;
	}
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x21 || (unsigned char)text[i] > 0x7e) {
			snprintf(err, errlen, "%s: printable characters only, no spaces", path);
			goto out;
		}
	memcpy(password, text, (size_t)n);
	password[n] = '\0';
	rc = 0;
out:
	explicit_bzero(text, sizeof(text));
	return rc;
}
