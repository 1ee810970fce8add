/*
 * err.c - status codes and error detail shared by all of libboot
 */
#include <stdio.h>

#include "err.h"

static const char *const errtab[BOOTD_ERR__MAX] = {
	[BOOTD_OK] = "success",
	[BOOTD_ENOMEM] = "out of memory",
	[BOOTD_EINVAL] = "invalid argument",
	[BOOTD_ENOTFOUND] = "not found",
	[BOOTD_EEXIST] = "already exists",
	[BOOTD_EDB] = "database error",
	[BOOTD_EBUSY] = "database busy",
	[BOOTD_EVERSION] = "database schema too new",
	[BOOTD_EPERM] = "permission denied",
	[BOOTD_EEXPIRED] = "expired or already used",
	[BOOTD_ESYS] = "system error",
	[BOOTD_ERENDER] = "cannot render script safely",
};

const char *
bootd_strerror(enum bootd_err code)
{
	if ((unsigned)code >= BOOTD_ERR__MAX)
		return "unknown error";
	return errtab[code];
}

/*
 * The text stays one line whatever the arguments hold (a JSON key written
 * "\u000a", a name from the inventory): control characters become '?'.
 */
enum bootd_err
bootd_error_set(struct bootd_error *err, enum bootd_err code,
    const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
		for (p = err->text; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return code;
}
