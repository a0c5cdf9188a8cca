/* Implementation of the bounded buffer; grows by doubling up to max. */
#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

void buf_init(struct pc_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_free(struct pc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int buf_append(struct pc_buf *b, const void *data, size_t len)
{
	if (len > b->max - b->len)
		return PC_ERR_LIMIT;
	if (b->len + len > b->cap) {
		size_t ncap = b->cap ? b->cap : 1024;
		while (ncap < b->len + len)
			ncap *= 2;
		if (ncap > b->max)
			ncap = b->max;
		unsigned char *n = realloc(b->data, ncap);
		if (!n)
			return PC_ERR_NOMEM;
		b->data = n;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return PC_OK;
}

void buf_consume(struct pc_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
