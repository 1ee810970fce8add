/*
 * valid.c - validation of values on their way into the inventory
 *
 * Every validator accepts or rejects the whole value; it never repairs it.
 * Rejections are BOOTD_EINVAL with one line naming the field, the value
 * (quoted with valid_quote(), so no control character is ever echoed) and
 * the reason.
 */
#include <stdio.h>
#include <string.h>

#include "mac.h"
#include "tmpl.h"
#include "valid.h"

#define QUOTE_MAX	72	/* bytes of a value quoted in a message */

#define FQDN_MAX	253
#define LABEL_MAX	63
#define KEY_MAX		64
#define VALUE_MAX	255
#define VNAME_MAX	64
#define GROUP_MAX	32
#define URL_MAX		1024
#define CMDLINE_MAX	2048

static enum bootd_err	 reject(struct bootd_error *, const char *,
			    const char *, const char *, ...)
			    __attribute__((format(printf, 4, 5)));
static int		 is_lower_alnum(int);
static int		 is_alnum(int);

char *
valid_quote(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o;
	unsigned char c;

	if (size < 8) {
		if (size > 0)
			out[0] = '\0';
		return out;
	}
	if (s == NULL) {
		snprintf(out, size, "(null)");
		return out;
	}
	o = 0;
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		/* Room for the widest escape plus "..." and the NUL. */
		if (o + 4 + 3 + 1 > size) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * Fill err with 'invalid FIELD "VALUE": REASON' and return BOOTD_EINVAL.
 */
static enum bootd_err
reject(struct bootd_error *err, const char *field, const char *value,
    const char *fmt, ...)
{
	char q[QUOTE_MAX], reason[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return bootd_error_set(err, BOOTD_EINVAL, "invalid %s \"%s\": %s",
	    field, valid_quote(value, q, sizeof(q)), reason);
}

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_alnum(int c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/*
 * Find the first byte of s that is not printable ASCII (allowing the space
 * when space is set).  Returns its index, or -1 when there is none.
 */
static long
find_unprintable(const char *s, int space)
{
	size_t i;
	unsigned char c;

	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (c == ' ' && space)
			continue;
		if (c <= 0x20 || c >= 0x7f)
			return (long)i;
	}
	return -1;
}

/*
 * Describe the unprintable byte s[i] for a message.
 */
static const char *
unprintable_what(const char *s, long i)
{
	unsigned char c = (unsigned char)s[i];

	if (c == ' ')
		return "space";
	if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
		return "whitespace";
	if (c < 0x20 || c == 0x7f)
		return "control character";
	return "non-ASCII byte";
}

enum bootd_err
valid_fqdn(const char *s, struct bootd_error *err)
{
	const char *f = "FQDN";
	struct mac mac;
	size_t i, len, lstart;
	unsigned char c;

	if (s == NULL || *s == '\0')
		return reject(err, f, "", "empty");
	len = strlen(s);
	lstart = 0;
	for (i = 0; i <= len; i++) {
		c = (unsigned char)s[i];
		if (c == '.' || c == '\0') {
			if (i == lstart)
				return reject(err, f, s, "empty label");
			if (i - lstart > LABEL_MAX)
				return reject(err, f, s, "label longer than "
				    "%d characters", LABEL_MAX);
			if (s[lstart] == '-' || s[i - 1] == '-')
				return reject(err, f, s, "label starts or ends "
				    "with '-'");
			lstart = i + 1;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return reject(err, f, s, "control character at "
			    "position %zu", i + 1);
		if (c >= 0x7f)
			return reject(err, f, s, "non-ASCII byte at position "
			    "%zu", i + 1);
		if (!is_alnum(c) && c != '-')
			return reject(err, f, s, "character '%c' at position "
			    "%zu (labels hold letters, digits and '-')", c,
			    i + 1);
	}
	if (len > FQDN_MAX)
		return reject(err, f, s, "longer than %d characters", FQDN_MAX);
	/* Hosts are also named by MAC: a name that reads as one would
	 * shadow or be shadowed by a NIC. */
	if (mac_parse(s, &mac, NULL) == BOOTD_OK)
		return reject(err, f, s, "reads as a MAC address");
	return BOOTD_OK;
}

enum bootd_err
valid_attr_key(const char *s, struct bootd_error *err)
{
	const char *f = "attribute key";
	size_t i;
	unsigned char c;

	if (s == NULL || *s == '\0')
		return reject(err, f, "", "empty");
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return reject(err, f, s, "control character at "
			    "position %zu", i + 1);
		if (!is_lower_alnum(c) && c != '_' && c != '.' && c != '-')
			return reject(err, f, s, "only a-z, 0-9, '_', '.' and "
			    "'-' are allowed (position %zu)", i + 1);
	}
	if (i > KEY_MAX)
		return reject(err, f, s, "longer than %d characters", KEY_MAX);
	return BOOTD_OK;
}

enum bootd_err
valid_attr_value(const char *s, struct bootd_error *err)
{
	const char *f = "attribute value";
	long bad;

	if (s == NULL)
		return reject(err, f, "", "missing");
	if ((bad = find_unprintable(s, 0)) >= 0)
		return reject(err, f, s, "%s at position %ld",
		    unprintable_what(s, bad), bad + 1);
	if (strstr(s, "${") != NULL)
		return reject(err, f, s, "contains \"${\" (iPXE setting "
		    "expansion)");
	if (strlen(s) > VALUE_MAX)
		return reject(err, f, s, "longer than %d characters",
		    VALUE_MAX);
	return BOOTD_OK;
}

int
valid_menu_timeout(const char *s)
{
	size_t i;
	int t = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		t = t * 10 + (s[i] - '0');
	}
	return t <= VALID_MENU_TIMEOUT_MAX ? t : -1;
}

enum bootd_err
valid_attr(const char *key, const char *value, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = valid_attr_key(key, err)) != BOOTD_OK ||
	    (rc = valid_attr_value(value, err)) != BOOTD_OK)
		return rc;
	if (strncmp(key, VALID_ATTR_RESERVED,
	    strlen(VALID_ATTR_RESERVED)) != 0)
		return BOOTD_OK;
	if (strcmp(key, VALID_MENU_TIMEOUT) == 0) {
		if (valid_menu_timeout(value) == -1)
			return reject(err, "value of " VALID_MENU_TIMEOUT, value,
			    "expected whole seconds from 0 to %d, digits only",
			    VALID_MENU_TIMEOUT_MAX);
		return BOOTD_OK;
	}
	return reject(err, "attribute key", key, "keys starting with \""
	    VALID_ATTR_RESERVED "\" are bootd's own, and the only one is "
	    VALID_MENU_TIMEOUT);
}

enum bootd_err
valid_name(const char *what, const char *s, struct bootd_error *err)
{
	char field[64];
	size_t i, wl;
	unsigned char c;

	if (what == NULL)
		what = "";
	/* "distribution" -> "distribution name"; "distribution name" stays. */
	wl = strlen(what);
	if (wl >= 4 && strcmp(what + wl - 4, "name") == 0)
		snprintf(field, sizeof(field), "%s", what);
	else
		snprintf(field, sizeof(field), "%s%sname", what,
		    wl > 0 ? " " : "");
	if (s == NULL || *s == '\0')
		return reject(err, field, "", "empty");
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return reject(err, field, s, "control character at "
			    "position %zu", i + 1);
		if (!is_alnum(c) && c != '_' && c != '.' && c != '+' &&
		    c != '-')
			return reject(err, field, s, "only letters, digits, "
			    "'_', '.', '+' and '-' are allowed (position %zu)",
			    i + 1);
	}
	if (!is_alnum((unsigned char)s[0]))
		return reject(err, field, s, "must start with a letter or "
		    "digit");
	if (i > VNAME_MAX)
		return reject(err, field, s, "longer than %d characters",
		    VNAME_MAX);
	return BOOTD_OK;
}

enum bootd_err
valid_group(const char *s, struct bootd_error *err)
{
	const char *f = "unix group";
	size_t i;
	unsigned char c;

	if (s == NULL)
		return reject(err, f, "", "missing");
	if (*s == '\0')
		return BOOTD_OK;
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return reject(err, f, s, "control character at "
			    "position %zu", i + 1);
		if (i == 0 && !(c >= 'a' && c <= 'z') && c != '_')
			return reject(err, f, s, "must start with a-z or '_'");
		if (!is_lower_alnum(c) && c != '_' && c != '-')
			return reject(err, f, s, "only a-z, 0-9, '_' and '-' "
			    "are allowed (position %zu)", i + 1);
	}
	if (i > GROUP_MAX)
		return reject(err, f, s, "longer than %d characters",
		    GROUP_MAX);
	return BOOTD_OK;
}

/*
 * Run tmpl_check() on s and report a failure as a rejection of field.
 */
static enum bootd_err
check_template(const char *field, const char *s, struct bootd_error *err)
{
	struct bootd_error terr;

	terr.text[0] = '\0';
	if (tmpl_check(s, &terr) == BOOTD_OK)
		return BOOTD_OK;
	/* tmpl_check() shows only printable ASCII of the value. */
	return reject(err, field, s, "%s", terr.text[0] != '\0' ? terr.text :
	    "bad template syntax");
}

enum bootd_err
valid_url_template(const char *s, struct bootd_error *err)
{
	const char *f = "URL template";
	const char *rest;
	long bad;

	if (s == NULL || *s == '\0')
		return reject(err, f, "", "empty");
	if ((bad = find_unprintable(s, 0)) >= 0)
		return reject(err, f, s, "%s at position %ld",
		    unprintable_what(s, bad), bad + 1);
	if (strlen(s) > URL_MAX)
		return reject(err, f, s, "longer than %d characters", URL_MAX);
	if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	else if (strncmp(s, "{{base_url}}", 12) == 0)
		rest = NULL;	/* the configured base URL, checked there */
	else
		return reject(err, f, s, "must start with http://, https:// "
		    "or {{base_url}}");
	if (rest != NULL && (*rest == '\0' || *rest == '/'))
		return reject(err, f, s, "no host after the scheme");
	return check_template(f, s, err);
}

enum bootd_err
valid_cmdline_template(const char *s, struct bootd_error *err)
{
	const char *f = "command-line template";
	const char *p, *tok;
	size_t len, tl;
	long bad;

	if (s == NULL)
		return reject(err, f, "", "missing");
	if ((bad = find_unprintable(s, 1)) >= 0)
		return reject(err, f, s, "%s at position %ld",
		    unprintable_what(s, bad), bad + 1);
	len = strlen(s);
	if (len > CMDLINE_MAX)
		return reject(err, f, s, "longer than %d characters",
		    CMDLINE_MAX);
	for (p = s; *p != '\0';) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		tok = p;
		while (*p != '\0' && *p != ' ')
			p++;
		tl = (size_t)(p - tok);
		if (tok[0] == '#')
			return reject(err, f, s, "a word starting with '#' "
			    "(position %zu) would start an iPXE comment",
			    (size_t)(tok - s) + 1);
		if ((tl == 2 && (strncmp(tok, "||", 2) == 0 ||
		    strncmp(tok, "&&", 2) == 0)) ||
		    (tl == 1 && tok[0] == ';'))
			return reject(err, f, s, "the word \"%.*s\" (position "
			    "%zu) would chain iPXE commands", (int)tl, tok,
			    (size_t)(tok - s) + 1);
	}
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (len > 0 && s[len - 1] == '\\')
		return reject(err, f, s, "ends with '\\' (iPXE line "
		    "continuation)");
	return check_template(f, s, err);
}
