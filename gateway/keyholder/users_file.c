/* Reading the digest user store file (policy/users.h parses it). Both
 * processes read it at start: the key holder keeps the HA1s, the network
 * process wipes them (users_forget_ha1) and keeps names and identities. The
 * text is read unbuffered into one buffer that is wiped after the parse, so
 * no copy of an HA1 in hex is left behind by this step. */
#include "keyholder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define USERS_FILE_MAX (16u << 20)

int keyholder_load_users(const char *path, size_t max_users, struct users *out, char *err,
			 size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	if (f == NULL || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	/* Unbuffered: HA1s are password equivalents, and stdio's own buffer
	 * would keep a copy we cannot wipe. Read exactly the file's size. */
	setvbuf(f, NULL, _IONBF, 0);
	if (st.st_size > (off_t)USERS_FILE_MAX) {
		fclose(f);
		snprintf(err, errlen, "%s: larger than %u bytes", path, USERS_FILE_MAX);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	char *text = malloc(size + 1);
	size_t len = text ? fread(text, 1, size, f) : 0;
	fclose(f);
	int rc = -1;
	if (text == NULL)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (len != size)
		snprintf(err, errlen, "%s: read error", path);
	else
		rc = users_parse(text, len, path, max_users, out, err, errlen);
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
	return rc;
}

