/* Implementation of the bounded buffer; grows by doubling up to max, and
 * for secrets by copying and wiping rather than realloc. */
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
	b->secret = false;
}

void buf_init_secret(struct pc_buf *b, size_t max)
{
	buf_init(b, max);
	b->secret = true;
}

void buf_free(struct pc_buf *b)
{
	if (b->secret && b->data)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void *buf_take(struct pc_buf *b)
{
	void *p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

/* A block of ncap bytes holding the contents. */
static unsigned char *regrow(struct pc_buf *b, size_t ncap)
{
	if (!b->secret)
		return realloc(b->data, ncap);
	unsigned char *n = malloc(ncap);
	if (n && b->data) {
		memcpy(n, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	return n;
}

int buf_append(struct pc_buf *b, const void *data, size_t len)
{
	if (len > b->max - b->len)
		return PC_ERR_LIMIT;
	if (b->len + len > b->cap) {
		size_t need = b->len + len, ncap = b->cap ? b->cap : 1024;
		while (ncap < need && ncap <= b->max / 2)
			ncap *= 2;
		if (ncap < need || ncap > b->max)
			ncap = b->max; /* need <= max: checked above */
		unsigned char *n = regrow(b, ncap);
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
