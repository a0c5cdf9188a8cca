/* Bounded growable byte buffer, the gateway's one: the ceiling is fixed at
 * init and an append past it fails, so network input can never grow memory
 * without limit. A buffer made for secrets (SDP bodies carrying SRTP keys)
 * never leaves a copy behind in freed memory. */
#ifndef PC_CORE_BUF_H
#define PC_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct pc_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	size_t max; /* hard ceiling */
	bool secret; /* wipe every block before freeing it */
};

void buf_init(struct pc_buf *b, size_t max);
/* Like buf_init, for contents that are secret: growing copies into a fresh
 * block and wipes the old one (realloc could leave a copy in freed memory),
 * and buf_free wipes. */
void buf_init_secret(struct pc_buf *b, size_t max);
void buf_free(struct pc_buf *b);
/* Hands the bytes over (the caller frees them, wiping them first if they are
 * secret; NULL when nothing was appended) and leaves b empty. */
void *buf_take(struct pc_buf *b);
/* PC_OK, PC_ERR_LIMIT past max, PC_ERR_NOMEM. */
int buf_append(struct pc_buf *b, const void *data, size_t len);
/* Drop the first n bytes. */
void buf_consume(struct pc_buf *b, size_t n);

#endif
