/*
 * valid.h - validation of values on their way into the inventory
 *
 * Each validator fully accepts or rejects (never "cleans up") and on
 * rejection returns BOOTD_EINVAL with a one-line reason naming the field.
 * No value anywhere may contain control characters or anything the iPXE
 * script renderer could not emit safely (see ipxe.h).
 */
#ifndef BOOTD_VALID_H
#define BOOTD_VALID_H

#include <stddef.h>

#include "err.h"

/* A hostname or FQDN: labels [a-z0-9-] (any case), 1-63 chars, no leading
 * or trailing '-', total <= 253; stored lowercase by the inventory. */
enum bootd_err	valid_fqdn(const char *s, struct bootd_error *err);
/* Attribute key: [a-z0-9_.-], 1-64 chars. */
enum bootd_err	valid_attr_key(const char *s, struct bootd_error *err);
/* Attribute value: printable ASCII, no "${", no whitespace, <= 255 chars;
 * may be empty. */
enum bootd_err	valid_attr_value(const char *s, struct bootd_error *err);
/*
 * Reserved attributes: keys starting with "bootd." are bootd's own and
 * change what bootd serves; only those listed here exist.
 *   bootd.menu_timeout  the menu's timeout for this host, in whole
 *                       seconds: 0 to VALID_MENU_TIMEOUT_MAX, digits only
 *                       (the renderer ignores any other value)
 */
#define VALID_ATTR_RESERVED	"bootd."
#define VALID_MENU_TIMEOUT	"bootd.menu_timeout"
#define VALID_MENU_TIMEOUT_MAX	3600
/*
 * A key and value as an attribute: valid_attr_key(), valid_attr_value(),
 * and for a reserved key (above) that it exists and its value is one it
 * takes.  What bootctl attr set checks before it stores anything.
 */
enum bootd_err	valid_attr(const char *key, const char *value,
		    struct bootd_error *err);
/*
 * The seconds a bootd.menu_timeout value stands for, or -1 when it is not
 * one (digits only, 0 to VALID_MENU_TIMEOUT_MAX).  This function can't
 * fail otherwise.
 */
int		valid_menu_timeout(const char *s);
/* Name of a distribution or environment: [A-Za-z0-9_.+-], 1-64 chars,
 * starting with a letter or digit. */
enum bootd_err	valid_name(const char *what, const char *s,
		    struct bootd_error *err);
/* Unix group name (for environments): [a-z_][a-z0-9_-]*, <= 32, or "". */
enum bootd_err	valid_group(const char *s, struct bootd_error *err);
/* URL template: starts with http://HOST, https://HOST or {{base_url}}
 * (the configured base URL), printable ASCII without whitespace,
 * <= 1024 chars, valid template syntax. */
enum bootd_err	valid_url_template(const char *s, struct bootd_error *err);
/* Command-line template: printable ASCII and spaces, <= 2048 chars, no
 * token starting with '#', no "||" "&&" ";" tokens, no trailing '\',
 * valid template syntax. */
enum bootd_err	valid_cmdline_template(const char *s, struct bootd_error *err);

/*
 * Copy s into out (size bytes, at least 8) for quoting in an error message:
 * printable ASCII is copied, '"' and '\' are escaped with a backslash, any
 * other byte is written as \xNN, and a value too long for out is cut with
 * "...".  NULL gives "(null)".  Returns out.  This function can't fail.
 */
char		*valid_quote(const char *s, char *out, size_t size);

#endif /* BOOTD_VALID_H */
