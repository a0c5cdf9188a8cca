/* Bounded growable byte buffer: the ceiling is fixed at init and an append
 * past it fails, so network input can never grow memory without limit. */
#ifndef PC_CORE_BUF_H
#define PC_CORE_BUF_H

#include <stddef.h>

struct pc_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	size_t max; /* hard ceiling */
};

void buf_init(struct pc_buf *b, size_t max);
void buf_free(struct pc_buf *b);
/* PC_OK, PC_ERR_LIMIT past max, PC_ERR_NOMEM. */
int buf_append(struct pc_buf *b, const void *data, size_t len);
/* Drop the first n bytes. */
void buf_consume(struct pc_buf *b, size_t n);

#endif
