/*
 * tmpl.c - {{variable}} templates for distribution URLs and command lines
 *
 * Syntax: "{{" optional blanks, a variable name, optional blanks, "}}".
 * Names: fqdn hostname domain mac env dist token base_url, and attr.KEY
 * with KEY of [a-z0-9_.-], 1-64 characters.  Everything outside {{ }} is
 * copied as it is, including iPXE's ${...} settings, single braces and a
 * "}}" that closes nothing (it is ordinary text: nothing in iPXE gives it
 * a meaning).  An unknown name, an empty {{ }}, a "{{" without its "}}" or
 * a bad character inside the braces is an error naming it.
 *
 * The parser is one walker (tmpl_walk) shared by tmpl_check(),
 * tmpl_each_attr() and tmpl_render(), so the three agree on the syntax.
 */
#include <stdio.h>
#include <string.h>

#include "tmpl.h"

#define TMPL_ATTR_PREFIX	"attr."
#define TMPL_KEY_MAX		64	/* as valid_attr_key() */
#define TMPL_NAME_MAX		(sizeof(TMPL_ATTR_PREFIX) - 1 + TMPL_KEY_MAX)

enum tmpl_var {
	TMPL_FQDN,
	TMPL_HOSTNAME,
	TMPL_DOMAIN,
	TMPL_MAC,
	TMPL_ENV,
	TMPL_DIST,
	TMPL_TOKEN,
	TMPL_BASE_URL,
	TMPL_ATTR,
	TMPL__MAX
};

static const char *const tmpl_names[TMPL_ATTR] = {
	[TMPL_FQDN] = "fqdn",
	[TMPL_HOSTNAME] = "hostname",
	[TMPL_DOMAIN] = "domain",
	[TMPL_MAC] = "mac",
	[TMPL_ENV] = "env",
	[TMPL_DIST] = "dist",
	[TMPL_TOKEN] = "token",
	[TMPL_BASE_URL] = "base_url",
};

/*
 * Callbacks of the walker.  literal gets text outside {{ }} (not
 * NUL-terminated); var gets a variable, with key the NUL-terminated
 * attribute key for TMPL_ATTR (else NULL).  A non-zero return stops the
 * walk and is passed on.
 */
struct tmpl_walker {
	enum bootd_err	(*literal)(const char *s, size_t len, void *arg,
			    struct bootd_error *err);
	enum bootd_err	(*var)(enum tmpl_var var, const char *key, void *arg,
			    struct bootd_error *err);
	void		 *arg;
};

static enum bootd_err	tmpl_walk(const char *tmpl,
			    const struct tmpl_walker *w,
			    struct bootd_error *err);
static void		tmpl_show(char *out, size_t outsz, const char *s,
			    size_t len);
static int		tmpl_keychar(int c);

static int
tmpl_keychar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '.' || c == '-';
}

/*
 * Copy at most len bytes of s into out for an error message, with
 * anything outside printable ASCII shown as '?' and long text cut with
 * "...".  This function can't fail.
 */
static void
tmpl_show(char *out, size_t outsz, const char *s, size_t len)
{
	size_t i, n;

	n = 0;
	for (i = 0; i < len && n + 4 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];

		out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < len && n + 4 <= outsz) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/*
 * Walk tmpl, calling w->literal for text and w->var for each variable.
 * Returns BOOTD_OK, BOOTD_EINVAL naming a syntax error (the callbacks
 * have then seen the part before it), or whatever a callback returned.
 */
static enum bootd_err
tmpl_walk(const char *tmpl, const struct tmpl_walker *w,
    struct bootd_error *err)
{
	const char *p, *open, *name, *end;
	char key[TMPL_KEY_MAX + 1], show[48];
	enum bootd_err rc;
	size_t nlen, klen, i;
	enum tmpl_var v;

	if (tmpl == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "template is NULL");
	p = tmpl;
	while (*p != '\0') {
		if ((open = strstr(p, "{{")) == NULL) {
			if (w->literal != NULL &&
			    (rc = w->literal(p, strlen(p), w->arg, err)) !=
			    BOOTD_OK)
				return rc;
			break;
		}
		if (open > p && w->literal != NULL &&
		    (rc = w->literal(p, (size_t)(open - p), w->arg, err)) !=
		    BOOTD_OK)
			return rc;

		/* "{{" blanks name blanks "}}" */
		name = open + 2;
		while (*name == ' ' || *name == '\t')
			name++;
		end = name;
		while (*end != '\0' && *end != ' ' && *end != '\t' &&
		    *end != '}')
			end++;
		nlen = (size_t)(end - name);
		while (*end == ' ' || *end == '\t')
			end++;
		if (end[0] != '}' || end[1] != '}') {
			if (strstr(open + 2, "}}") == NULL) {
				tmpl_show(show, sizeof(show), open,
				    strlen(open));
				return bootd_error_set(err, BOOTD_EINVAL,
				    "unterminated \"{{\" at offset %zu: %s",
				    (size_t)(open - tmpl), show);
			}
			tmpl_show(show, sizeof(show), open,
			    (size_t)(strstr(open + 2, "}}") + 2 - open));
			return bootd_error_set(err, BOOTD_EINVAL,
			    "malformed variable at offset %zu: %s",
			    (size_t)(open - tmpl), show);
		}
		if (nlen == 0)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "empty variable \"{{}}\" at offset %zu",
			    (size_t)(open - tmpl));

		key[0] = '\0';
		v = TMPL__MAX;
		for (i = 0; i < TMPL_ATTR && v == TMPL__MAX; i++)
			if (strncmp(tmpl_names[i], name, nlen) == 0 &&
			    tmpl_names[i][nlen] == '\0')
				v = (enum tmpl_var)i;
		if (v == TMPL__MAX && nlen > strlen(TMPL_ATTR_PREFIX) &&
		    nlen <= TMPL_NAME_MAX &&
		    memcmp(name, TMPL_ATTR_PREFIX,
		    strlen(TMPL_ATTR_PREFIX)) == 0) {
			klen = nlen - strlen(TMPL_ATTR_PREFIX);
			memcpy(key, name + strlen(TMPL_ATTR_PREFIX), klen);
			key[klen] = '\0';
			for (i = 0; i < klen; i++)
				if (!tmpl_keychar((unsigned char)key[i]))
					break;
			if (i == klen)
				v = TMPL_ATTR;
		}
		if (v == TMPL__MAX) {
			tmpl_show(show, sizeof(show), name, nlen);
			return bootd_error_set(err, BOOTD_EINVAL,
			    "unknown template variable \"{{%s}}\" at offset "
			    "%zu", show, (size_t)(open - tmpl));
		}
		if (w->var != NULL && (rc = w->var(v,
		    v == TMPL_ATTR ? key : NULL, w->arg, err)) != BOOTD_OK)
			return rc;
		p = end + 2;
	}
	return BOOTD_OK;
}

enum bootd_err
tmpl_check(const char *tmpl, struct bootd_error *err)
{
	struct tmpl_walker w = { NULL, NULL, NULL };

	return tmpl_walk(tmpl, &w, err);
}

struct tmpl_each {
	int	(*fn)(const char *key, void *arg);
	void	 *arg;
};

static enum bootd_err
tmpl_each_var(enum tmpl_var var, const char *key, void *arg,
    struct bootd_error *err)
{
	struct tmpl_each *e = arg;

	if (var != TMPL_ATTR)
		return BOOTD_OK;
	if (e->fn(key, e->arg) != 0)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "stopped at attribute \"%s\"", key);
	return BOOTD_OK;
}

enum bootd_err
tmpl_each_attr(const char *tmpl, int (*fn)(const char *key, void *arg),
    void *arg, struct bootd_error *err)
{
	struct tmpl_each e = { fn, arg };
	struct tmpl_walker w = { NULL, tmpl_each_var, &e };

	if (fn == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "no callback");
	return tmpl_walk(tmpl, &w, err);
}

struct tmpl_out {
	const struct tmpl_vars	*vars;
	struct buf		*out;
};

static enum bootd_err
tmpl_out_literal(const char *s, size_t len, void *arg,
    struct bootd_error *err)
{
	struct tmpl_out *o = arg;

	buf_append(o->out, s, len);
	return BOOTD_OK;
}

static enum bootd_err
tmpl_out_var(enum tmpl_var var, const char *key, void *arg,
    struct bootd_error *err)
{
	struct tmpl_out *o = arg;
	const struct tmpl_vars *v = o->vars;
	const char *fqdn, *dot, *s;
	size_t i;

	fqdn = v->fqdn != NULL ? v->fqdn : "";
	s = NULL;
	switch (var) {
	case TMPL_FQDN:
		s = fqdn;
		break;
	case TMPL_HOSTNAME:
		dot = strchr(fqdn, '.');
		buf_append(o->out, fqdn,
		    dot != NULL ? (size_t)(dot - fqdn) : strlen(fqdn));
		return BOOTD_OK;
	case TMPL_DOMAIN:
		dot = strchr(fqdn, '.');
		s = dot != NULL ? dot + 1 : "";
		break;
	case TMPL_MAC:
		s = v->mac;
		break;
	case TMPL_ENV:
		s = v->env;
		break;
	case TMPL_DIST:
		s = v->dist;
		break;
	case TMPL_TOKEN:
		s = v->token;
		break;
	case TMPL_BASE_URL:
		s = v->base_url;
		break;
	case TMPL_ATTR:
		for (i = 0; i < v->nattrs; i++)
			if (v->attrs[i].key != NULL &&
			    strcmp(v->attrs[i].key, key) == 0)
				break;
		if (i == v->nattrs || v->attrs[i].value == NULL)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "attribute \"%s\" is not set", key);
		s = v->attrs[i].value;
		break;
	case TMPL__MAX:
		break;
	}
	if (s != NULL)
		buf_puts(o->out, s);
	return BOOTD_OK;
}

enum bootd_err
tmpl_render(const char *tmpl, const struct tmpl_vars *vars, struct buf *out,
    struct bootd_error *err)
{
	struct tmpl_out o = { vars, out };
	struct tmpl_walker w = { tmpl_out_literal, tmpl_out_var, &o };
	enum bootd_err rc;
	size_t mark;

	if (vars == NULL || out == NULL)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no variables or no output");
	mark = out->len;
	if ((rc = tmpl_walk(tmpl, &w, err)) != BOOTD_OK) {
		/* Leave out as it was. */
		if (!buf_failed(out) && out->data != NULL) {
			out->len = mark;
			out->data[mark] = '\0';
		}
		return rc;
	}
	if (buf_failed(out))
		return bootd_error_set(err, BOOTD_ENOMEM,
		    "out of memory rendering a template");
	return BOOTD_OK;
}
