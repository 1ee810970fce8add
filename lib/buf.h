/*
 * buf.h - a growable byte buffer, always NUL-terminated
 *
 * Used to build scripts and responses.  A buffer starts zeroed
 * (struct buf b = { 0 };) and is released with buf_free().
 * On allocation failure the buffer remembers it: further appends do nothing
 * and buf_failed() returns non-zero, so callers may check once at the end.
 */
#ifndef BOOTD_BUF_H
#define BOOTD_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;		/* NUL-terminated contents, or NULL if empty */
	size_t	 len;		/* bytes used, not counting the NUL */
	size_t	 cap;		/* bytes allocated */
	int	 failed;	/* an allocation failed */
};

void	 buf_append(struct buf *b, const char *s, size_t len);
void	 buf_puts(struct buf *b, const char *s);
void	 buf_putu(struct buf *b, unsigned long v);	/* in decimal */
void	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_reset(struct buf *b);	/* keep memory, empty contents */
void	 buf_free(struct buf *b);	/* release memory; b may be reused */
int	 buf_failed(const struct buf *b);
/* Contents as a string; "" for an empty buffer.  Borrowed. */
const char *buf_str(const struct buf *b);

#endif /* BOOTD_BUF_H */
