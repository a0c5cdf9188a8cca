/* portcullis-passwd: prints one line of the digest user store for USER in
 * REALM, with the MD5 and SHA-256 HA1 hashes of a password read from the
 * first line of standard input (never from the command line, where other
 * users could read it in the process list) and the given identities. The
 * password is read with read(2) straight into one buffer, so no stdio copy
 * of it lingers, and that buffer is wiped before the line is printed. The
 * line is checked with the store's own parser before it is printed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "policy/digest.h"
#include "policy/users.h"

#define PASSWORD_MAX 1024

static int usage(void)
{
	fprintf(stderr, "usage: portcullis-passwd USER REALM [ID ...]"
			"  (password on standard input)\n");
	return 2;
}

static int bad_argument(const char *why)
{
	fprintf(stderr, "portcullis-passwd: %s\n", why);
	return usage();
}

/* The first line of standard input without its line end (LF or CRLF).
 * Returns its length, or -1 with a message printed. */
static long read_password(char *pw, size_t cap)
{
	size_t n = 0;
	char ch = 0;

	for (;;) {
		ssize_t r = read(STDIN_FILENO, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "portcullis-passwd: reading standard input: %s\n",
				strerror(errno));
			return -1;
		}
		if (r == 0 || ch == '\n')
			break;
		if (n == cap) {
			explicit_bzero(&ch, sizeof(ch));
			fprintf(stderr, "portcullis-passwd: password longer than %zu bytes\n", cap);
			return -1;
		}
		pw[n++] = ch;
	}
	explicit_bzero(&ch, sizeof(ch));
	if (n && pw[n - 1] == '\r')
		n--;
	if (n == 0) {
		fprintf(stderr, "portcullis-passwd: empty password\n");
		return -1;
	}
	return (long)n;
}

int main(int argc, char **argv)
{
	char pw[PASSWORD_MAX];
	uint8_t ha1[DIGEST_MAX_LEN];
	char md5_hex[DIGEST_HEX_MAX + 1], sha_hex[DIGEST_HEX_MAX + 1];
	char line[USERS_LINE_MAX + 2];
	const char *why;
	int status = 1;

	if (argc < 3 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return usage();
	if (argc - 3 > USERS_IDS_MAX)
		return bad_argument("more than 4 identities");
	if ((why = users_name_problem(argv[1], strlen(argv[1]))) ||
	    (why = users_realm_problem(argv[2], strlen(argv[2]))))
		return bad_argument(why);
	for (int i = 3; i < argc; i++)
		if ((why = users_id_problem(argv[i], strlen(argv[i]))))
			return bad_argument(why);

	long n = read_password(pw, sizeof(pw));
	if (n < 0) {
		explicit_bzero(pw, sizeof(pw));
		return 1;
	}
	digest_ha1(DIGEST_MD5, argv[1], argv[2], pw, (size_t)n, ha1);
	digest_hex(ha1, 16, md5_hex);
	digest_ha1(DIGEST_SHA256, argv[1], argv[2], pw, (size_t)n, ha1);
	digest_hex(ha1, 32, sha_hex);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(ha1, sizeof(ha1));

	int len = snprintf(line, sizeof(line), "%s %s md5=%s sha256=%s", argv[1], argv[2], md5_hex,
			   sha_hex);
	for (int i = 3; i < argc && len >= 0 && (size_t)len < sizeof(line); i++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, " id=%s", argv[i]);
	if (len < 0 || (size_t)len > USERS_LINE_MAX) {
		fprintf(stderr, "portcullis-passwd: the line would be longer than %d bytes\n",
			USERS_LINE_MAX);
		goto out;
	}

	struct users check;
	char err[256];
	if (users_parse(line, (size_t)len, "portcullis-passwd", 1, &check, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	users_free(&check);
	if (printf("%s\n", line) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "portcullis-passwd: writing standard output failed\n");
		goto out;
	}
	status = 0;
out:
	explicit_bzero(md5_hex, sizeof(md5_hex));
	explicit_bzero(sha_hex, sizeof(sha_hex));
	explicit_bzero(line, sizeof(line));
	return status;
}
