/* Reading the cluster's secret files: its key and Redis's password (key.c). */
#ifndef PC_CLUSTER_KEY_H
#define PC_CLUSTER_KEY_H

#include <stddef.h>
#include <stdint.h>

#define CL_KEY_LEN 32
#define CL_PASSWORD_MAX 257 /* Redis's password: at most 256 characters */

/* 0 with the key in `key`, or -1 with "path: why" in err. */
int cl_key_read(const char *path, uint8_t key[CL_KEY_LEN], char *err, size_t errlen);

/* 0 with the password (one line of printable characters, no spaces) in
 * `password`, or -1 with "path: why" in err. */
int cl_password_read(const char *path, char password[CL_PASSWORD_MAX], char *err, size_t errlen);

#endif
