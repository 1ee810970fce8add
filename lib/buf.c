/*
 * buf.c - a growable byte buffer, always NUL-terminated
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static int
buf_grow(struct buf *b, size_t need)
{
	size_t ncap;
	char *p;

	if (b->failed)
		return -1;
	if (need < b->len || need == (size_t)-1) {
		b->failed = 1;
		return -1;
	}
	if (need + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need + 1) {
		if (ncap > ((size_t)-1) / 2) {
			b->failed = 1;
			return -1;
		}
		ncap *= 2;
	}
	if ((p = realloc(b->data, ncap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->cap = ncap;
	return 0;
}

void
buf_append(struct buf *b, const char *s, size_t len)
{
	if (buf_grow(b, b->len + len) == -1)
		return;
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_putu(struct buf *b, unsigned long v)
{
	char d[24], *p = d + sizeof(d);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	buf_append(b, p, (size_t)(d + sizeof(d) - p));
}

/*
 * Format into the free space first: most lines fit, and then one
 * vsnprintf() is all it takes.  Otherwise grow and format again.
 */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t avail;
	int n;

	if (b->failed)
		return;
	avail = b->data != NULL ? b->cap - b->len : 0;
	va_start(ap, fmt);
	n = vsnprintf(avail > 0 ? b->data + b->len : NULL, avail, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		if (b->data != NULL)
			b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n < avail) {
		b->len += (size_t)n;
		return;
	}
	if (buf_grow(b, b->len + (size_t)n) == -1) {
		if (b->data != NULL)
			b->data[b->len] = '\0';	/* undo the cut output */
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

int
buf_failed(const struct buf *b)
{
	return b->failed;
}

const char *
buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}
