/*
 * ipxe.c - render the iPXE script a machine runs
 *
 * The script is built from fixed text and values from the inventory and
 * the configuration.  iPXE has no quoting (see ipxe.h), so every value
 * passes, at render time, through the one checking function of the place
 * it lands in:
 *
 *   ipxe_check_value()    a value substituted into a template (no blanks,
 *                         no control characters, no "${")
 *   ipxe_check_arg()      one whole argument: FQDN, MAC, distribution name
 *                         (also the words of menu titles and item texts)
 *   ipxe_check_url()      a URL argument (kernel, initrd, memtest)
 *   ipxe_check_cmdline()  the kernel command line (several arguments)
 *   ipxe_text()           free text of unknown origin, reduced to a safe
 *                         character set (the fail-safe reason)
 *
 * A value that does not pass makes the render fail with BOOTD_ERENDER and
 * a reason naming the field; the caller then serves ipxe_render_failsafe().
 * iPXE settings "${...}" may come from a distribution's templates (admins
 * write ${net0/ip}); they may never come from a substituted value, which
 * ipxe_tmpl() makes sure of (see there).
 *
 * See doc/scripts.md for the shape of the scripts and the reasons for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipxe.h"
#include "valid.h"
#include "tmpl.h"

#define IPXE_TIMEOUT_MAX	VALID_MENU_TIMEOUT_MAX	/* seconds */
#define IPXE_TIMEOUT_ATTR	VALID_MENU_TIMEOUT
#define IPXE_TEXT_MAX		200	/* bytes of fail-safe reason kept */
#define IPXE_SHOW_SIZE		64	/* a value as shown in errors */
#define IPXE_SHAPES		8	/* template texts remembered */
#define IPXE_WHAT_SIZE		128	/* a template's name in errors */
#define IPXE_WHAT_NAME		64	/* bytes of its distribution's */

/* Labels of the script; "manual_N" for manual install entries. */
#define L_INSTALL	"install"
#define L_LOCAL		"local"
#define L_MEMTEST	"memtest"
#define L_SHELL		"shell"

enum ipxe_scan_flags {
	IPXE_ONE_TOKEN = 1 << 0,	/* exactly one argument */
	IPXE_ALLOW_EMPTY = 1 << 1,	/* "" is fine */
	IPXE_ALLOW_SETTING = 1 << 2,	/* "${" is fine (template text) */
	IPXE_POSITIONAL = 1 << 3,	/* must not look like an --option */
	IPXE_VALUE = 1 << 4,		/* a value: byte rules only */
};

/* What one render needs; out is the script being built. */
struct ipxe_ctx {
	const struct cfg	*cfg;
	const char		*mac;
	struct buf		*out;
	struct bootd_error	*err;
	struct buf		 tmp;	/* rendered templates */
	struct buf		 tmp2;	/* the same with neutral values */
	struct buf		 spans[2]; /* their settings (ipxe_spans) */
	struct buf		 manual_items;	  /* "item manual_N ..." lines */
	struct buf		 manual_sections; /* their ":manual_N" sections */
	int			 values_ok;	/* ipxe_tmpl()'s values passed */
	size_t			 left_out;	/* manual entries left out */
	struct bootd_error	 left_why;	/* why the first was */
};

/*
 * The settings of one template text rendered with neutral values
 * (ipxe_tmpl()): they depend on that text alone, so each process makes
 * them once per text and keeps the last IPXE_SHAPES texts.  The whole
 * text is the key, never its address: a distribution's text may be
 * freed, or changed in place, and its memory used for another.
 */
struct ipxe_shape {
	char	*tmpl;		/* the template text; NULL: unused */
	char	*spans;		/* ipxe_spans() with every value "v" */
	int	 same;		/* and with every value "w", the same */
	int	 attrs;		/* it names an attribute */
};

static struct ipxe_shape	ipxe_shapes[IPXE_SHAPES];
static size_t			ipxe_shape_next;	/* to replace */

static enum bootd_err	ipxe_scan(const char *what, const char *s,
			    unsigned flags, struct bootd_error *err);
static void		ipxe_spans(const char *s, struct buf *out);
static enum bootd_err	ipxe_tmpl_fill(const char *tmpl,
			    const struct tmpl_vars *v, const char *fill,
			    struct buf *out, struct bootd_error *err);
static int		ipxe_attr_check(const char *key, void *arg);
static const struct ipxe_shape *ipxe_shape_known(const char *tmpl);
static int		ipxe_attr_any(const char *key, void *arg);
static enum bootd_err	ipxe_shape(struct ipxe_ctx *c, const char *what,
			    const char *tmpl, const struct tmpl_vars *v,
			    const struct ipxe_shape **out);
static enum bootd_err	ipxe_tmpl(struct ipxe_ctx *c, const char *what,
			    const char *tmpl, const struct inv_boot *b,
			    const struct inv_dist *d, int url);
static int		ipxe_timeout(const struct cfg *cfg,
			    const struct inv_host *h);
static enum bootd_err	ipxe_base(struct ipxe_ctx *c, const char *path,
			    const char *what);
static void		ipxe_local(struct buf *out);
static enum bootd_err	ipxe_manual(struct ipxe_ctx *c,
			    const struct inv_boot *b);
static void		ipxe_what(char what[IPXE_WHAT_SIZE], const char *prefix,
			    size_t n, const char *name);
static enum bootd_err	ipxe_install(struct ipxe_ctx *c, const char *label,
			    const struct inv_boot *b, const struct inv_dist *d);
static enum bootd_err	ipxe_script(struct ipxe_ctx *c,
			    const struct inv_boot *b);

/*
 * The bytes ipxe_scan() passes over without a look: printable ASCII but
 * the space and '$' (0 for those, control bytes, DEL, non-ASCII, NUL).
 */
static const unsigned char ipxe_plain[256] = {
	[0x20] = 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x40] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x60] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};

/*
 * The one scanner behind the ipxe_check_* functions.  s is one value or
 * the text of several arguments (without IPXE_ONE_TOKEN), as iPXE would
 * split it (core/exec.c split_command, command_terminator).  The reason
 * is written only when s fails: checking is the common case.
 */
static enum bootd_err
ipxe_scan(const char *what, const char *s, unsigned flags,
    struct bootd_error *err)
{
	char show[IPXE_SHOW_SIZE], buf[96];
	const char *tok, *p, *why;
	size_t len, i;
	unsigned char ch;

	if (s == NULL)
		return bootd_error_set(err, BOOTD_ERENDER, "%s is missing",
		    what);
	len = strlen(s);
	if (len == 0 && !(flags & IPXE_ALLOW_EMPTY))
		return bootd_error_set(err, BOOTD_ERENDER, "%s is empty",
		    what);
	for (i = 0; i < len; i++) {
		/* Most bytes are none of those below. */
		while (ipxe_plain[(unsigned char)s[i]])
			i++;
		if ((ch = (unsigned char)s[i]) == '\0')
			break;
		if (ch < 0x20 || ch >= 0x7f) {
			snprintf(buf, sizeof(buf), "byte 0x%02x at offset %zu "
			    "cannot be placed in a script", ch, i);
			why = buf;
			goto fail;
		}
		if (ch == ' ' && (flags & (IPXE_ONE_TOKEN | IPXE_VALUE))) {
			why = "a space would split it into several "
			    "arguments";
			goto fail;
		}
		if (ch == '$' && s[i + 1] == '{' &&
		    !(flags & IPXE_ALLOW_SETTING)) {
			why = "\"${\" would expand an iPXE setting";
			goto fail;
		}
	}
	if (flags & IPXE_VALUE)
		return BOOTD_OK;
	if (len > 0 && s[len - 1] == '\\') {
		why = "a trailing '\\' would join the next line";
		goto fail;
	}
	if ((flags & IPXE_POSITIONAL) && s[0] == '-') {
		why = "a leading '-' would make it an option";
		goto fail;
	}
	for (p = s; *p != '\0'; ) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		tok = p;
		p += strcspn(p, " ");
		if (tok[0] == '#') {
			why = "an argument starting with '#' would "
			    "start a comment";
			goto fail;
		}
		if ((p - tok == 2 && (memcmp(tok, "||", 2) == 0 ||
		    memcmp(tok, "&&", 2) == 0)) ||
		    (p - tok == 1 && tok[0] == ';')) {
			snprintf(buf, sizeof(buf), "\"%.*s\" would chain "
			    "another command", (int)(p - tok), tok);
			why = buf;
			goto fail;
		}
	}
	return BOOTD_OK;
fail:
	valid_quote(s, show, sizeof(show));
	return bootd_error_set(err, BOOTD_ERENDER, "%s \"%s\": %s", what,
	    show, why);
}

enum bootd_err
ipxe_check_value(const char *what, const char *s, struct bootd_error *err)
{
	return ipxe_scan(what, s, IPXE_VALUE | IPXE_ALLOW_EMPTY, err);
}

enum bootd_err
ipxe_check_arg(const char *what, const char *s, struct bootd_error *err)
{
	return ipxe_scan(what, s, IPXE_ONE_TOKEN | IPXE_POSITIONAL, err);
}

enum bootd_err
ipxe_check_url(const char *what, const char *s, struct bootd_error *err)
{
	enum bootd_err rc;
	char show[IPXE_SHOW_SIZE];

	if ((rc = ipxe_scan(what, s, IPXE_ONE_TOKEN | IPXE_POSITIONAL |
	    IPXE_ALLOW_SETTING, err)) != BOOTD_OK)
		return rc;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0 &&
	    strncmp(s, "tftp://", 7) != 0) {
		valid_quote(s, show, sizeof(show));
		return bootd_error_set(err, BOOTD_ERENDER,
		    "%s \"%s\": not an http://, https:// or tftp:// URL",
		    what, show);
	}
	return BOOTD_OK;
}

enum bootd_err
ipxe_check_cmdline(const char *what, const char *s, struct bootd_error *err)
{
	return ipxe_scan(what, s, IPXE_ALLOW_EMPTY | IPXE_ALLOW_SETTING, err);
}

void
ipxe_text(const char *s, struct buf *out)
{
	size_t i, n;
	unsigned char ch;
	int space;

	/*
	 * Letters, digits, space and punctuation that has no meaning to
	 * iPXE at any position of a word: no '#', '$', '{', '}', '|', '&',
	 * ';', '\\' and no control characters.  Runs of spaces collapse (as
	 * iPXE would) and a leading '-' cannot occur because the caller
	 * puts fixed text first.
	 */
	if (s == NULL)
		s = "";
	n = 0;
	space = 0;
	for (i = 0; s[i] != '\0' && n < IPXE_TEXT_MAX; i++) {
		ch = (unsigned char)s[i];
		if (ch == ' ' || ch == '\t') {
			space = 1;
			continue;
		}
		if (space && n > 0) {
			buf_append(out, " ", 1);
			n++;
		}
		space = 0;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') ||
		    strchr("!%()*+,-./:=?@[]^_~'\"<>", ch) != NULL)
			buf_append(out, (const char *)&ch, 1);
		else
			buf_append(out, "?", 1);
		n++;
	}
}

/*
 * Append to out every iPXE setting of s as the text from a "${" to the
 * next '}' (or the end), one per line: what a value must not change.
 */
static void
ipxe_spans(const char *s, struct buf *out)
{
	const char *end;

	for (; (s = strstr(s, "${")) != NULL; s += 2) {
		if ((end = strchr(s, '}')) == NULL)
			end = s + strlen(s) - 1;
		buf_append(out, s, (size_t)(end - s) + 1);
		buf_append(out, "\n", 1);
	}
}

/*
 * Render tmpl into out with every value replaced by the one-letter word
 * fill; attrs are the host's (only their keys are used).
 */
static enum bootd_err
ipxe_tmpl_fill(const char *tmpl, const struct tmpl_vars *v, const char *fill,
    struct buf *out, struct bootd_error *err)
{
	struct tmpl_vars n = *v;
	struct inv_kv *attrs = NULL;
	enum bootd_err rc;
	size_t i;

	n.fqdn = n.mac = n.env = n.dist = n.token = n.base_url = fill;
	if (v->nattrs > 0) {
		if ((attrs = calloc(v->nattrs, sizeof(*attrs))) == NULL)
			return bootd_error_set(err, BOOTD_ENOMEM,
			    "out of memory");
		for (i = 0; i < v->nattrs; i++) {
			attrs[i].key = v->attrs[i].key;
			attrs[i].value = (char *)fill;
		}
		n.attrs = attrs;
	}
	buf_reset(out);
	rc = tmpl_render(tmpl, &n, out, err);
	free(attrs);
	return rc;
}

struct ipxe_attr_check {
	const struct inv_host	*h;
	struct bootd_error	*err;
	enum bootd_err		 rc;
};

/* tmpl_each_attr() callback: check the value of attribute key. */
static int
ipxe_attr_check(const char *key, void *arg)
{
	struct ipxe_attr_check *ac = arg;
	char field[128];
	size_t i;

	for (i = 0; i < ac->h->nattrs; i++) {
		if (ac->h->attrs[i].key == NULL ||
		    strcmp(ac->h->attrs[i].key, key) != 0)
			continue;
		snprintf(field, sizeof(field), "attribute %.64s", key);
		ac->rc = ipxe_check_value(field, ac->h->attrs[i].value,
		    ac->err);
		return ac->rc != BOOTD_OK;
	}
	return 0;
}

/* The shape of tmpl when it is remembered, else NULL. */
static const struct ipxe_shape *
ipxe_shape_known(const char *tmpl)
{
	size_t i;

	for (i = 0; i < IPXE_SHAPES; i++)
		if (ipxe_shapes[i].tmpl != NULL &&
		    strcmp(ipxe_shapes[i].tmpl, tmpl) == 0)
			return &ipxe_shapes[i];
	return NULL;
}

/* tmpl_each_attr() callback: there is one. */
static int
ipxe_attr_any(const char *key, void *arg)
{
	return 1;
}

/*
 * The shape of template tmpl (see struct ipxe_shape) into *out, made now
 * when *out is NULL (not remembered: ipxe_shape_known()): tmpl rendered
 * with every value of v (only the keys of its attributes are used)
 * replaced by "v" and by "w".  v must be values tmpl renders with: then
 * so do the neutral ones, and the result depends on the text of tmpl
 * alone.
 */
static enum bootd_err
ipxe_shape(struct ipxe_ctx *c, const char *what, const char *tmpl,
    const struct tmpl_vars *v, const struct ipxe_shape **out)
{
	struct ipxe_shape *sh;
	struct bootd_error terr;
	enum bootd_err rc;
	size_t i;

	if (*out != NULL)
		return BOOTD_OK;
	buf_reset(&c->spans[0]);
	buf_reset(&c->spans[1]);
	for (i = 0; i < 2; i++) {
		if ((rc = ipxe_tmpl_fill(tmpl, v, i == 0 ? "v" : "w",
		    &c->tmp2, &terr)) != BOOTD_OK)
			return bootd_error_set(c->err, rc == BOOTD_ENOMEM ?
			    rc : BOOTD_ERENDER, "%s: %s", what, terr.text);
		ipxe_spans(buf_str(&c->tmp2), &c->spans[i]);
	}
	if (buf_failed(&c->tmp2) || buf_failed(&c->spans[0]) ||
	    buf_failed(&c->spans[1]))
		return bootd_error_set(c->err, BOOTD_ENOMEM, "out of memory");
	sh = &ipxe_shapes[ipxe_shape_next];
	ipxe_shape_next = (ipxe_shape_next + 1) % IPXE_SHAPES;
	free(sh->tmpl);
	free(sh->spans);
	sh->tmpl = strdup(tmpl);
	sh->spans = strdup(buf_str(&c->spans[0]));
	sh->same = strcmp(buf_str(&c->spans[0]), buf_str(&c->spans[1])) == 0;
	/* It rendered: any failure here is an attribute met. */
	sh->attrs = tmpl_each_attr(tmpl, ipxe_attr_any, NULL, NULL) !=
	    BOOTD_OK;
	if (sh->tmpl == NULL || sh->spans == NULL) {
		free(sh->tmpl);
		free(sh->spans);
		sh->tmpl = sh->spans = NULL;
		return bootd_error_set(c->err, BOOTD_ENOMEM, "out of memory");
	}
	*out = sh;
	return BOOTD_OK;
}

/*
 * Render the template tmpl of distribution d for host b->host into c->tmp
 * and check the result for its placement (a URL when url is non-zero,
 * else a kernel command line).
 *
 * Every substituted value is checked first (ipxe_check_value()).  Then,
 * to be sure that every "${...}" in the result is the template's own and
 * not made or changed by a value meeting the text around it ("$" + "{x}",
 * "$" + "" + "{x}", "${net0/" + "x}"), the template is rendered twice
 * more with every value replaced by "v" and by "w" (once per text:
 * ipxe_shape()): the settings of those two must be the same (no variable
 * inside a setting) and the same as in the real rendering (no value
 * making one).
 */
static enum bootd_err
ipxe_tmpl(struct ipxe_ctx *c, const char *what, const char *tmpl,
    const struct inv_boot *b, const struct inv_dist *d, int url)
{
	const struct inv_host *h = b->host;
	const struct ipxe_shape *sh = NULL;
	struct tmpl_vars v;
	struct bootd_error terr;
	struct ipxe_attr_check ac;
	enum bootd_err rc;

	memset(&v, 0, sizeof(v));
	v.fqdn = h->fqdn;
	v.mac = c->mac;
	v.env = h->env != NULL ? h->env : "";
	v.dist = d->name;
	v.token = h->token != NULL ? h->token : "";
	v.base_url = c->cfg->menu.base_url != NULL ?
	    c->cfg->menu.base_url : "";
	v.attrs = h->attrs;
	v.nattrs = h->nattrs;

	/*
	 * The same for every template of the script: checked once.  The
	 * FQDN and the MAC were checked as whole arguments by ipxe_script()
	 * (ipxe_check_arg() refuses all that ipxe_check_value() does).
	 */
	if (!c->values_ok &&
	    ((rc = ipxe_check_value("environment", v.env, c->err)) !=
	    BOOTD_OK ||
	    (rc = ipxe_check_value("install token", v.token, c->err)) !=
	    BOOTD_OK ||
	    (rc = ipxe_check_value("menu.base_url", v.base_url, c->err)) !=
	    BOOTD_OK))
		return rc;
	c->values_ok = 1;
	/*
	 * The attributes the template uses; a missing one fails below.  A
	 * template known to use none (and to be well formed: it rendered)
	 * needs no walk.
	 */
	ac.h = h;
	ac.err = c->err;
	ac.rc = BOOTD_OK;
	sh = ipxe_shape_known(tmpl);
	if ((sh == NULL || sh->attrs) &&
	    (rc = tmpl_each_attr(tmpl, ipxe_attr_check, &ac, &terr)) !=
	    BOOTD_OK) {
		if (ac.rc != BOOTD_OK)
			return ac.rc;
		return bootd_error_set(c->err, BOOTD_ERENDER, "%s: %s", what,
		    terr.text);
	}

	buf_reset(&c->tmp);
	if (tmpl_render(tmpl, &v, &c->tmp, &terr) != BOOTD_OK)
		return bootd_error_set(c->err, BOOTD_ERENDER, "%s: %s", what,
		    terr.text);

	/* The settings with neutral values, and with ours. */
	if ((rc = ipxe_shape(c, what, tmpl, &v, &sh)) != BOOTD_OK)
		return rc;
	buf_reset(&c->spans[0]);
	ipxe_spans(buf_str(&c->tmp), &c->spans[0]);
	if (buf_failed(&c->tmp) || buf_failed(&c->spans[0]))
		return bootd_error_set(c->err, BOOTD_ENOMEM, "out of memory");
	if (!sh->same)
		return bootd_error_set(c->err, BOOTD_ERENDER,
		    "%s: a variable inside an iPXE setting \"${...}\"", what);
	if (strcmp(sh->spans, buf_str(&c->spans[0])) != 0)
		return bootd_error_set(c->err, BOOTD_ERENDER,
		    "%s: a value next to the template's text makes \"${\"",
		    what);

	return url ? ipxe_check_url(what, buf_str(&c->tmp), c->err) :
	    ipxe_check_cmdline(what, buf_str(&c->tmp), c->err);
}

/*
 * The menu timeout in seconds: the host's attribute bootd.menu_timeout
 * when it is a whole number from 0 to 3600, else the configured one
 * (bounded to 0..3600).  An unusable attribute is ignored rather than
 * failing the render: the configured timeout is a safe answer.
 */
static int
ipxe_timeout(const struct cfg *cfg, const struct inv_host *h)
{
	size_t i;
	int t, a;

	t = cfg->menu.timeout;
	if (t < 0)
		t = 0;
	if (t > IPXE_TIMEOUT_MAX)
		t = IPXE_TIMEOUT_MAX;
	if (h == NULL)
		return t;
	for (i = 0; i < h->nattrs; i++) {
		if (h->attrs[i].key == NULL || h->attrs[i].value == NULL ||
		    strcmp(h->attrs[i].key, IPXE_TIMEOUT_ATTR) != 0)
			continue;
		/* Checked on entry (valid_attr()); a value stored before
		 * that may not be one: then the configured timeout. */
		a = valid_menu_timeout(h->attrs[i].value);
		return a >= 0 ? a : t;
	}
	return t;
}

/*
 * The URLs ipxe_base() made and checked last, by base and path: every menu
 * has the same two memtest URLs of the configuration, and checking them
 * again was a tenth of a local boot's answer.  Keyed by the full text, so
 * a reloaded configuration cannot get an old answer.
 */
static struct ipxe_base_memo {
	char	*base, *path, *url;
} base_memo[2];
static size_t base_memo_next;

/* Remember url as BASE/images/PATH; nothing when out of memory. */
static void
ipxe_base_remember(const char *base, const char *path, const char *url)
{
	struct ipxe_base_memo *m = &base_memo[base_memo_next];
	char *b = strdup(base), *p = strdup(path), *u = strdup(url);

	if (b == NULL || p == NULL || u == NULL) {
		free(b);
		free(p);
		free(u);
		return;
	}
	free(m->base);
	free(m->path);
	free(m->url);
	m->base = b;
	m->path = p;
	m->url = u;
	base_memo_next = (base_memo_next + 1) % 2;
}

/* Append BASE/images/PATH, checked as a URL, to c->out. */
static enum bootd_err
ipxe_base(struct ipxe_ctx *c, const char *path, const char *what)
{
	const char *base = c->cfg->menu.base_url;
	enum bootd_err rc;
	size_t blen, i;

	if (base == NULL || path == NULL)
		return bootd_error_set(c->err, BOOTD_ERENDER, "%s is not set",
		    what);
	for (i = 0; i < 2; i++)
		if (base_memo[i].url != NULL &&
		    strcmp(base_memo[i].base, base) == 0 &&
		    strcmp(base_memo[i].path, path) == 0) {
			buf_puts(c->out, base_memo[i].url);
			return BOOTD_OK;
		}
	blen = strlen(base);
	if (blen > 0 && base[blen - 1] == '/')
		blen--;
	buf_reset(&c->tmp);
	buf_append(&c->tmp, base, blen);
	buf_puts(&c->tmp, "/images/");
	buf_puts(&c->tmp, path[0] == '/' ? path + 1 : path);
	if (buf_failed(&c->tmp))
		return bootd_error_set(c->err, BOOTD_ENOMEM, "out of memory");
	/*
	 * Neither part may bring "${": check each (the base once per
	 * script: ipxe_tmpl() may have), then the whole.
	 */
	if ((!c->values_ok &&
	    (rc = ipxe_check_value("menu.base_url", base, c->err)) !=
	    BOOTD_OK) || (rc = ipxe_check_value(what, path, c->err)) !=
	    BOOTD_OK)
		return rc;
	if ((rc = ipxe_check_url(what, buf_str(&c->tmp), c->err)) !=
	    BOOTD_OK)
		return rc;
	buf_puts(c->out, buf_str(&c->tmp));
	ipxe_base_remember(base, path, buf_str(&c->tmp));
	return BOOTD_OK;
}

/*
 * Local boot, for both firmware types from one script: the first disk by
 * INT 13h on BIOS (falling back to exit), exit to the firmware's next boot
 * option on UEFI.  See doc/scripts.md for why.
 */
static void
ipxe_local(struct buf *out)
{
	buf_puts(out,
	    ":" L_LOCAL "\n"
	    "iseq ${platform} efi && goto local_efi ||\n"
	    "sanboot --no-describe --drive 0x80 || goto local_efi\n"
	    ":local_efi\n"
	    "exit\n");
}

/*
 * Name a template of distribution name in what, for errors: "PREFIX of
 * NAME", or "PREFIX N of NAME" when n > 0, NAME cut at IPXE_WHAT_NAME
 * bytes.  Made for every template of every script: no snprintf.
 */
static void
ipxe_what(char what[IPXE_WHAT_SIZE], const char *prefix, size_t n,
    const char *name)
{
	char digits[24];
	size_t len, k;

	len = strlen(prefix);		/* a short literal */
	memcpy(what, prefix, len);
	if (n > 0) {
		k = sizeof(digits);
		do {
			digits[--k] = (char)('0' + n % 10);
			n /= 10;
		} while (n > 0 && k > 0);
		what[len++] = ' ';
		memcpy(what + len, digits + k, sizeof(digits) - k);
		len += sizeof(digits) - k;
	}
	memcpy(what + len, " of ", 4);
	len += 4;
	for (k = 0; name[k] != '\0' && k < IPXE_WHAT_NAME; k++)
		what[len++] = name[k];
	what[len] = '\0';
}

/* The section labelled label installing distribution d. */
static enum bootd_err
ipxe_install(struct ipxe_ctx *c, const char *label, const struct inv_boot *b,
    const struct inv_dist *d)
{
	char what[IPXE_WHAT_SIZE];
	enum bootd_err rc;
	size_t i;

	/* The host's own distribution was checked by ipxe_script(). */
	if (d != b->dist &&
	    (rc = ipxe_check_arg("distribution name", d->name, c->err)) !=
	    BOOTD_OK)
		return rc;
	if (d->ninitrds == 0 || d->initrds == NULL)
		return bootd_error_set(c->err, BOOTD_ERENDER,
		    "distribution %s has no initrd", d->name);

	/*
	 * Written as each part is rendered: on failure the caller cuts
	 * c->out back (ipxe_render(), ipxe_manual()).  buf_puts, not
	 * buf_printf: these lines are in every script.
	 */
	ipxe_what(what, "kernel URL", 0, d->name);
	if ((rc = ipxe_tmpl(c, what, d->kernel, b, d, 1)) != BOOTD_OK)
		return rc;
	buf_puts(c->out, ":");
	buf_puts(c->out, label);
	buf_puts(c->out, "\nkernel ");
	buf_puts(c->out, buf_str(&c->tmp));
	/* UEFI Linux finds its initrds by these names; BIOS ignores them. */
	for (i = 0; i < d->ninitrds; i++) {
		buf_puts(c->out, " initrd=initrd");
		buf_putu(c->out, (unsigned long)i);
		buf_puts(c->out, ".img");
	}
	ipxe_what(what, "command line", 0, d->name);
	if ((rc = ipxe_tmpl(c, what, d->cmdline != NULL ? d->cmdline : "", b,
	    d, 0)) != BOOTD_OK)
		return rc;
	if (c->tmp.len > 0) {
		buf_puts(c->out, " ");
		buf_puts(c->out, buf_str(&c->tmp));
	}
	buf_puts(c->out, " || goto failed\n");
	for (i = 0; i < d->ninitrds; i++) {
		ipxe_what(what, "initrd URL", i + 1, d->name);
		if ((rc = ipxe_tmpl(c, what, d->initrds[i], b, d, 1)) !=
		    BOOTD_OK)
			return rc;
		buf_puts(c->out, "initrd --name initrd");
		buf_putu(c->out, (unsigned long)i);
		buf_puts(c->out, ".img ");
		buf_puts(c->out, buf_str(&c->tmp));
		buf_puts(c->out, " || goto failed\n");
	}
	buf_puts(c->out, "boot || goto failed\n");
	return BOOTD_OK;
}

/*
 * The manual install entries (menu.manual_dists) of a host's menu, into
 * c->manual_items and c->manual_sections; labels manual_1, manual_2, ...
 * by position in b->manual.  An entry that cannot be rendered for this
 * host (a template naming an attribute the host does not have, a value
 * that cannot be placed safely) is left out of its menu, counted in
 * c->left_out with the first reason in c->left_why: the host keeps its
 * menu, and that entry alone is missing.  Fails only for lack of memory.
 */
static enum bootd_err
ipxe_manual(struct ipxe_ctx *c, const struct inv_boot *b)
{
	struct buf *out = c->out;
	struct bootd_error *err = c->err, why;
	char label[32];
	enum bootd_err rc;
	size_t i, mark;

	for (i = 0; i < b->nmanual; i++) {
		snprintf(label, sizeof(label), "manual_%zu", i + 1);
		mark = c->manual_sections.len;
		c->out = &c->manual_sections;
		c->err = &why;
		rc = ipxe_install(c, label, b, b->manual[i]);
		c->out = out;
		c->err = err;
		if (rc == BOOTD_ENOMEM || buf_failed(&c->manual_sections))
			return bootd_error_set(err, BOOTD_ENOMEM,
			    "out of memory");
		if (rc != BOOTD_OK) {
			c->manual_sections.len = mark;
			if (c->manual_sections.data != NULL)
				c->manual_sections.data[mark] = '\0';
			if (c->left_out++ == 0)
				c->left_why = why;
			continue;
		}
		buf_printf(&c->manual_items, "item %s Install %s (manual)\n",
		    label, b->manual[i]->name);
	}
	return BOOTD_OK;
}

/*
 * The whole script; b is NULL for an unknown MAC.  Sections are emitted
 * in a fixed order, so equal input gives equal bytes.
 */
static enum bootd_err
ipxe_script(struct ipxe_ctx *c, const struct inv_boot *b)
{
	const struct cfg_menu *m = &c->cfg->menu;
	const struct inv_host *h = b != NULL ? b->host : NULL;
	const char *def;
	enum bootd_err rc;
	int timeout, shell;

	if ((rc = ipxe_check_arg("MAC", c->mac, c->err)) != BOOTD_OK)
		return rc;
	if (h != NULL && (rc = ipxe_check_arg("FQDN", h->fqdn, c->err)) !=
	    BOOTD_OK)
		return rc;
	if (b != NULL && b->dist != NULL && (rc = ipxe_check_arg(
	    "distribution name", b->dist->name, c->err)) != BOOTD_OK)
		return rc;

	/* A shell default needs the shell entry; else local boot. */
	shell = m->shell != 0;
	if (b != NULL && b->dist != NULL)
		def = L_INSTALL;
	else if (b == NULL && m->unknown == CFG_UNKNOWN_SHELL && shell)
		def = L_SHELL;
	else
		def = L_LOCAL;
	timeout = ipxe_timeout(c->cfg, h);
	/* The manual entries this host's menu can offer, rendered first. */
	if (b != NULL && timeout > 0 && (rc = ipxe_manual(c, b)) != BOOTD_OK)
		return rc;

	buf_puts(c->out, "#!ipxe\n");
	if (timeout == 0) {
		/* No menu: straight to the default. */
		if (h != NULL)
			buf_printf(c->out, "echo bootd: %s (%s): %s\n",
			    h->fqdn, c->mac, def);
		else
			buf_printf(c->out, "echo bootd: unknown host (%s): %s\n",
			    c->mac, def);
		buf_printf(c->out, "goto %s\n", def);
	} else {
		/* buf_puts, not buf_printf: these lines are in every script. */
		buf_puts(c->out, "menu ");
		buf_puts(c->out, h != NULL ? h->fqdn : "unknown host");
		buf_puts(c->out, " (");
		buf_puts(c->out, c->mac);
		buf_puts(c->out, ")\n");
		buf_puts(c->out, "item --gap -- Boot options\n");
		if (b != NULL && b->dist != NULL)
			buf_printf(c->out, "item " L_INSTALL
			    " Install %s (reinstall requested)\n",
			    b->dist->name);
		buf_puts(c->out, "item " L_LOCAL " Boot from local disk\n");
		buf_puts(c->out, buf_str(&c->manual_items));
		if (m->memtest)
			buf_puts(c->out, "item " L_MEMTEST
			    " Memory test (memtest86+)\n");
		if (shell)
			buf_puts(c->out, "item " L_SHELL " iPXE shell\n");
		buf_puts(c->out, "choose --default ");
		buf_puts(c->out, def);
		buf_puts(c->out, " --timeout ");
		buf_putu(c->out, (unsigned long)timeout * 1000);
		buf_puts(c->out, " target || goto " L_LOCAL "\n");
		buf_puts(c->out, "goto ${target} || goto " L_LOCAL "\n");
	}

	if (b != NULL && b->dist != NULL &&
	    (rc = ipxe_install(c, L_INSTALL, b, b->dist)) != BOOTD_OK)
		return rc;
	ipxe_local(c->out);
	if (timeout > 0) {
		buf_puts(c->out, buf_str(&c->manual_sections));
		if (m->memtest) {
			buf_puts(c->out, ":" L_MEMTEST "\n"
			    "iseq ${platform} efi && goto memtest_efi ||\n"
			    "kernel ");
			if ((rc = ipxe_base(c, m->memtest_bios,
			    "menu.memtest_bios")) != BOOTD_OK)
				return rc;
			buf_puts(c->out, " console=ttyS0,115200 || goto failed\n"
			    "boot || goto failed\n"
			    ":memtest_efi\n"
			    "chain ");
			if ((rc = ipxe_base(c, m->memtest_efi,
			    "menu.memtest_efi")) != BOOTD_OK)
				return rc;
			buf_puts(c->out, " console=ttyS0,115200 || goto failed\n"
			    "goto " L_LOCAL "\n");
		}
	}
	if (shell && (timeout > 0 || strcmp(def, L_SHELL) == 0))
		buf_puts(c->out, ":" L_SHELL "\nshell\ngoto " L_LOCAL "\n");
	buf_puts(c->out, ":failed\n"
	    "echo bootd: download or boot failed, booting from the local disk\n"
	    "sleep 3\n"
	    "goto " L_LOCAL "\n");
	return BOOTD_OK;
}

/* Run ipxe_script(), leaving out as it was on failure. */
static enum bootd_err
ipxe_render(const struct cfg *cfg, const struct inv_boot *b, const char *mac,
    struct buf *out, struct bootd_error *err)
{
	struct ipxe_ctx c;
	enum bootd_err rc;
	size_t mark, i;

	if (cfg == NULL || out == NULL)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no configuration or no output");
	if (b != NULL && b->host == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "no host");
	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.mac = mac;
	c.out = out;
	c.err = err;
	mark = out->len;
	if (err != NULL)
		err->text[0] = '\0';
	rc = ipxe_script(&c, b);
	if (rc == BOOTD_OK && (buf_failed(out) || buf_failed(&c.tmp) ||
	    buf_failed(&c.tmp2) || buf_failed(&c.manual_items)))
		rc = bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
	else if (rc == BOOTD_OK && c.left_out > 0)
		bootd_error_set(err, BOOTD_OK, "%zu manual entr%s left out of "
		    "the menu: %s", c.left_out, c.left_out == 1 ? "y" : "ies",
		    c.left_why.text);
	buf_free(&c.tmp);
	buf_free(&c.tmp2);
	buf_free(&c.manual_items);
	buf_free(&c.manual_sections);
	for (i = 0; i < 2; i++)
		buf_free(&c.spans[i]);
	if (rc != BOOTD_OK && !buf_failed(out) && out->data != NULL) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	return rc;
}

enum bootd_err
ipxe_render_host(const struct cfg *cfg, const struct inv_boot *b,
    const char *mac, struct buf *out, struct bootd_error *err)
{
	if (b == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "no host");
	return ipxe_render(cfg, b, mac, out, err);
}

enum bootd_err
ipxe_render_unknown(const struct cfg *cfg, const char *mac, struct buf *out,
    struct bootd_error *err)
{
	return ipxe_render(cfg, NULL, mac, out, err);
}

void
ipxe_render_failsafe(const struct cfg *cfg, const char *reason,
    struct buf *out)
{
	buf_puts(out, "#!ipxe\necho bootd: ");
	ipxe_text(reason != NULL && reason[0] != '\0' ? reason :
	    "internal error", out);
	buf_puts(out, "\necho bootd: booting from the local disk\n");
	ipxe_local(out);
}
