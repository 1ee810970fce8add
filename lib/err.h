/*
 * err.h - status codes and error detail shared by all of libboot
 *
 * Every libboot function that can fail returns an enum bootd_err and, when
 * given a non-NULL struct bootd_error, fills it with one human sentence that
 * names what was wrong (as Jansson's json_error_t).  libboot never prints and
 * never exits.
 */
#ifndef BOOTD_ERR_H
#define BOOTD_ERR_H

#include <stdarg.h>

enum bootd_err {
	BOOTD_OK = 0,		/* success */
	BOOTD_ENOMEM,		/* out of memory */
	BOOTD_EINVAL,		/* invalid input (the text says which) */
	BOOTD_ENOTFOUND,	/* no such host, MAC, distribution, key... */
	BOOTD_EEXIST,		/* already exists (duplicate MAC, FQDN...) */
	BOOTD_EDB,		/* database error (open, query, corrupt) */
	BOOTD_EBUSY,		/* database locked past the busy bound */
	BOOTD_EVERSION,		/* database schema newer than this binary */
	BOOTD_EPERM,		/* caller may not do this */
	BOOTD_EEXPIRED,		/* install token expired or already used */
	BOOTD_ESYS,		/* system call failed (errno in the text) */
	BOOTD_ERENDER,		/* a value cannot be placed safely in a script */
	BOOTD_ERR__MAX
};

struct bootd_error {
	char	text[256];	/* one line, no trailing newline or period */
};

/*
 * Return a short constant description of code.  This function can't fail.
 */
const char	*bootd_strerror(enum bootd_err code);

/*
 * Format a message into err (if err is not NULL) and return code, so that
 * callers can write "return bootd_error_set(err, BOOTD_EINVAL, ...)".
 * Control characters in the result become '?', so it stays one line.
 */
enum bootd_err	 bootd_error_set(struct bootd_error *err, enum bootd_err code,
		    const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

#endif /* BOOTD_ERR_H */
