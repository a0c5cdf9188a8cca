/* Reading the cluster key file (key.c). */
#ifndef PC_CLUSTER_KEY_H
#define PC_CLUSTER_KEY_H

#include <stddef.h>
#include <stdint.h>

#define CL_KEY_LEN 32

/* 0 with the key in `key`, or -1 with "path: why" in err. */
int cl_key_read(const char *path, uint8_t key[CL_KEY_LEN], char *err, size_t errlen);

#endif
