/*
 * query.c - URL decoding of request parameters and the validator table
 *
 * Every parameter bootd reads from a query string or a form body is listed
 * in one static table with its validator.  Decoding is strict: a malformed
 * escape, a NUL, a value longer than QUERY_VALUE_MAX or with a control or
 * non-ASCII byte is refused, never cleaned up.  A refused mac or token
 * refuses the request; a refused informational parameter (the client's
 * platform, SMBIOS strings...) is only left out.  Validators are pure: they
 * accept or refuse, and only the MAC validator rewrites its value (into the
 * canonical form).
 *
 * Names are matched literally and never decoded: nginx logs $arg_mac by
 * the literal name, so a name bootd decoded ("ma%63") would be served
 * while the access log says mac="-".  A name holding '%' or '+' refuses
 * the request.
 */
#include <stdio.h>
#include <string.h>

#include "bootd.h"
#include "mac.h"

#define QUERY_KEY_MAX	32	/* longer keys are unknown, hence ignored */

struct query_spec {
	const char	*name;
	int		 strict;	/* refuse the request, not the value */
	/* Check the decoded value v (may rewrite it in place, same size). */
	enum bootd_err	(*valid)(char *v, const char *name,
			    struct bootd_error *err);
};

static enum bootd_err	valid_mac(char *, const char *, struct bootd_error *);
static enum bootd_err	valid_word(char *, const char *, struct bootd_error *);
static enum bootd_err	valid_uuid(char *, const char *, struct bootd_error *);
static enum bootd_err	valid_text(char *, const char *, struct bootd_error *);
static enum bootd_err	valid_host(char *, const char *, struct bootd_error *);

static const struct query_spec specs[QUERY__MAX] = {
	[QUERY_MAC] = { "mac", 1, valid_mac },
	[QUERY_PLATFORM] = { "platform", 0, valid_word },
	[QUERY_BUILDARCH] = { "buildarch", 0, valid_word },
	[QUERY_UUID] = { "uuid", 0, valid_uuid },
	[QUERY_SERIAL] = { "serial", 0, valid_text },
	[QUERY_ASSET] = { "asset", 0, valid_text },
	[QUERY_MANUFACTURER] = { "manufacturer", 0, valid_text },
	[QUERY_PRODUCT] = { "product", 0, valid_text },
	[QUERY_HOSTNAME] = { "hostname", 0, valid_host },
	/* The format of a token is checked by the done handler: a malformed
	 * token is answered like an unknown one. */
	[QUERY_TOKEN] = { "token", 1, valid_text },
};

/* Any spelling mac_parse() accepts; stored canonical. */
static enum bootd_err
valid_mac(char *v, const char *name, struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1];
	struct bootd_error merr;

	if (mac_canon(v, canon, &merr) != BOOTD_OK)
		return bootd_error_set(err, BOOTD_EINVAL, "%s: %s", name,
		    merr.text);
	memcpy(v, canon, sizeof(canon));	/* QUERY_VALUE_MAX >= 17 */
	return BOOTD_OK;
}

/*
 * Is c a letter, digit, '_', '.' or '-' (a word character)?  Tested by
 * hand: strspn(3) with the same set builds a table on every call, and
 * this runs for two parameters of every boot.
 */
static int
word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* iPXE ${platform}, ${buildarch}: [A-Za-z0-9_.-], at most 32 bytes. */
static enum bootd_err
valid_word(char *v, const char *name, struct bootd_error *err)
{
	size_t n = 0;

	while (word_char((unsigned char)v[n]))
		n++;
	if (v[n] != '\0' || n > 32)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected at most 32 letters, digits, '_', '.', '-'",
		    name);
	return BOOTD_OK;
}

/* SMBIOS UUID as iPXE prints it: hex digits and '-', at most 36 bytes. */
static enum bootd_err
valid_uuid(char *v, const char *name, struct bootd_error *err)
{
	size_t n = strspn(v, "0123456789abcdefABCDEF-");

	if (v[n] != '\0' || n > 36)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected a UUID (hex digits and '-')", name);
	return BOOTD_OK;
}

/* Free text (SMBIOS strings): the decoder already checked printability. */
static enum bootd_err
valid_text(char *v, const char *name, struct bootd_error *err)
{
	return BOOTD_OK;
}

/* A host name as DHCP hands it out: [A-Za-z0-9.-_]. */
static enum bootd_err
valid_host(char *v, const char *name, struct bootd_error *err)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

	if (v[n] != '\0')
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected letters, digits, '.', '-', '_'", name);
	return BOOTD_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode s[0..len) into out (room for max bytes plus NUL).  Returns the
 * decoded length, or -1 for a malformed escape, -2 for a NUL, -3 when
 * longer than max, -4 for a control or non-ASCII byte.
 */
static long
decode(const char *s, size_t len, char *out, size_t max)
{
	size_t i, n = 0;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= len)
				return -1;
			if ((hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return -2;
		if (n == max)
			return -3;
		if (c < 0x20 || c >= 0x7f)
			return -4;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (long)n;
}

/*
 * Decode the value s[0..len) of parameter i into q and check it.  An empty
 * value leaves the parameter absent.
 */
static enum bootd_err
decode_value(const char *s, size_t len, int i, struct query *q,
    struct bootd_error *err)
{
	const char *key = specs[i].name;

	switch (decode(s, len, q->v[i], QUERY_VALUE_MAX)) {
	case -1:
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: malformed %%-escape", key);
	case -2:
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: contains a NUL byte", key);
	case -3:
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: longer than %d bytes", key, QUERY_VALUE_MAX);
	case -4:
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: contains a control or non-ASCII byte", key);
	case 0:
		return BOOTD_OK;	/* empty: as if absent */
	default:
		break;
	}
	if (specs[i].valid(q->v[i], key, err) != BOOTD_OK)
		return BOOTD_EINVAL;
	q->set[i] = 1;
	return BOOTD_OK;
}

/*
 * A parameter name written with an escape ('%' or '+' for a space):
 * refused, naming the first 32 bytes of it (non-printable ones as '?').
 */
static enum bootd_err
name_refused(const char *p, size_t klen, struct bootd_error *err)
{
	char shown[QUERY_KEY_MAX + 1];
	size_t i, n = klen < QUERY_KEY_MAX ? klen : QUERY_KEY_MAX;

	for (i = 0; i < n; i++)
		shown[i] = p[i] > 0x20 && p[i] < 0x7f ? p[i] : '?';
	shown[n] = '\0';
	return bootd_error_set(err, BOOTD_EINVAL, "parameter name \"%s%s\" is "
	    "escaped; names must be written literally", shown,
	    klen > n ? "..." : "");
}

enum bootd_err
query_parse(const char *s, size_t len, struct query *q,
    struct bootd_error *err)
{
	struct bootd_error verr;
	enum bootd_err rc;
	char key[QUERY_KEY_MAX + 1];
	unsigned char seen[QUERY__MAX];
	const char *p, *end, *amp, *eq;
	size_t klen;
	int i;

	memset(q, 0, sizeof(*q));
	memset(seen, 0, sizeof(seen));
	for (p = s, end = s + len; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;		/* "&&" */
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;		/* "flag" without a value */
		klen = (size_t)(eq - p);
		if (memchr(p, '%', klen) != NULL ||
		    memchr(p, '+', klen) != NULL)
			return name_refused(p, klen, err);
		if (klen > QUERY_KEY_MAX)
			continue;		/* not a name we know */
		memcpy(key, p, klen);
		key[klen] = '\0';
		for (i = 0; i < QUERY__MAX; i++)
			if (strcmp(key, specs[i].name) == 0)
				break;
		if (i == QUERY__MAX)
			continue;		/* unknown: ignored */
		if (seen[i]++)
			rc = bootd_error_set(&verr, BOOTD_EINVAL,
			    "parameter %s given more than once", key);
		else
			rc = decode_value(eq < amp ? eq + 1 : amp,
			    (size_t)(amp - (eq < amp ? eq + 1 : amp)), i, q,
			    &verr);
		if (rc == BOOTD_OK)
			continue;
		q->v[i][0] = '\0';
		q->set[i] = 0;
		if (specs[i].strict) {
			if (err != NULL)
				*err = verr;
			return rc;
		}
		q->dropped[i] = 1;	/* informational: leave it out */
	}
	return BOOTD_OK;
}

const char *
query_name(enum query_param p)
{
	if ((unsigned)p >= QUERY__MAX)
		return "?";
	return specs[p].name;
}

/*
 * Appended as they are, in runs; every other byte as %XX.  Once for
 * every boot: no printf for what is mostly a copy.
 */
void
query_format_params(const struct query *q, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *v;
	char esc[3];
	size_t n;
	int i, first = 1;

	for (i = 0; i < QUERY__MAX; i++) {
		if (i == QUERY_MAC || i == QUERY_TOKEN || !q->set[i])
			continue;
		if (!first)
			buf_append(out, " ", 1);
		first = 0;
		buf_puts(out, specs[i].name);
		buf_append(out, "=", 1);
		for (v = q->v[i]; *v != '\0'; v += n) {
			for (n = 0; v[n] != '\0' &&
			    (word_char((unsigned char)v[n]) || v[n] == ':' ||
			    v[n] == '/'); n++)
				;
			if (n > 0) {
				buf_append(out, v, n);
				continue;
			}
			esc[0] = '%';
			esc[1] = hex[(unsigned char)*v >> 4];
			esc[2] = hex[(unsigned char)*v & 0xf];
			buf_append(out, esc, sizeof(esc));
			n = 1;
		}
	}
}

void
query_format_dropped(const struct query *q, char *out, size_t size)
{
	size_t len = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; i < QUERY__MAX; i++) {
		if (!q->dropped[i])
			continue;
		n = snprintf(out + len, size - len, "%s%s", len ? "," : "",
		    specs[i].name);
		if (n < 0 || (size_t)n >= size - len)
			break;		/* cut at the last whole name */
		len += (size_t)n;
	}
	out[len] = '\0';
}
