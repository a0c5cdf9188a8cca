/* The cluster key (cluster.key_file): 32 bytes, written in the file as 64
 * hexadecimal digits and an optional newline (`openssl rand -hex 32`). It
 * will encrypt the call state nodes write to Redis, so it is read once at
 * start, before the sandbox, from a file only its owner may read (group or
 * others having any access is refused, as an SSH client refuses a private
 * key), held in this process only and wiped when the cluster stops. */
#include "key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hex.h"

int cl_key_read(const char *path, uint8_t key[CL_KEY_LEN], char *err, size_t errlen)
{
	char text[2 * CL_KEY_LEN + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	ssize_t n = -1;
	int rc = -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		snprintf(err, errlen, "%s: not a regular file", path);
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		snprintf(err, errlen, "%s: group or others may access it (chmod 600)", path);
	else if ((n = read(fd, text, sizeof(text))) < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (n == (ssize_t)sizeof(text) && text[n - 1] != '\n')
		snprintf(err, errlen, "%s: longer than 64 hexadecimal digits", path);
	else if (!hex_decode(text, (size_t)n - (n > 0 && text[n - 1] == '\n'), key, CL_KEY_LEN))
		snprintf(err, errlen, "%s: must hold 64 hexadecimal digits (32 bytes)", path);
	else
		rc = 0;
	explicit_bzero(text, sizeof(text));
	close(fd);
	return rc;
}
