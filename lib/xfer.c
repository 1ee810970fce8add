/*
 * xfer.c - the inventory as one JSON document: export, parse, validate,
 * and the changes an import makes
 *
 * See xfer.h for the document.  Parsing walks the Jansson tree once,
 * checks every value where it stands and records each problem with its
 * path instead of stopping, then sorts what it read and finds duplicates
 * by neighbours (FQDNs, names, MACs), so a document of 100,000 hosts is
 * checked in n log n.  Checking against the inventory and planning use
 * the same sorted arrays and binary search.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mac.h"
#include "valid.h"
#include "xfer.h"

#define PATH_MAX_LEN	160	/* a JSON path in a message */
#define QB		72	/* a value quoted in a message */

/* qsort(), which must not be given NULL even for no elements. */
static void
sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

/* Problems ------------------------------------------------------------ */

/* snprintf() for JSON paths: a path too long for out is cut. */
static void pathf(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
pathf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
}

/*
 * Copy s with every byte that is not printable ASCII written as \xNN:
 * a problem is one line whatever the document held (Jansson's messages
 * quote the bytes near an error as they are).  NULL out of memory.
 */
static char *
printable_dup(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *c;
	char *d, *o;

	if ((d = malloc(strlen(s) * 4 + 1)) == NULL)
		return NULL;
	for (o = d, c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c >= 0x20 && *c < 0x7f) {
			*o++ = (char)*c;
			continue;
		}
		*o++ = '\\';
		*o++ = 'x';
		*o++ = hex[*c >> 4];
		*o++ = hex[*c & 0xf];
	}
	*o = '\0';
	return d;
}

void
xfer_problem(struct xfer_problems *p, const char *path, const char *fmt, ...)
{
	struct xfer_problem *n;
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;

		if ((n = realloc(p->v, cap * sizeof(*n))) == NULL) {
			p->nomem = 1;
			return;
		}
		p->v = n;
		p->cap = cap;
	}
	p->v[p->n].path = printable_dup(path);
	p->v[p->n].text = printable_dup(text);
	if (p->v[p->n].path == NULL || p->v[p->n].text == NULL) {
		free(p->v[p->n].path);
		free(p->v[p->n].text);
		p->nomem = 1;
		return;
	}
	p->n++;
}

void
xfer_problems_free(struct xfer_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].path);
		free(p->v[i].text);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* Documents ----------------------------------------------------------- */

void
xfer_doc_free(struct xfer_doc *doc)
{
	size_t i;

	if (doc == NULL)
		return;
	for (i = 0; i < doc->nenvs; i++) {
		free(doc->envs[i].name);
		free(doc->envs[i].group);
	}
	for (i = 0; i < doc->ndists; i++)
		inv_dist_clear(&doc->dists[i]);
	for (i = 0; i < doc->nhosts; i++)
		inv_host_clear(&doc->hosts[i]);
	free(doc->envs);
	free(doc->dists);
	free(doc->hosts);
	free(doc->env_pos);
	free(doc->dist_pos);
	free(doc->host_pos);
	free(doc);
}

static enum bootd_err
nomem(struct bootd_error *err)
{
	return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
}

/* Grow *v (elements of size) to hold n + 1; 0 or -1. */
static int
grow(void *vp, size_t *cap, size_t n, size_t size)
{
	void **v = vp, *nv;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	if ((nv = realloc(*v, c * size)) == NULL)
		return -1;
	memset((char *)nv + *cap * size, 0, (c - *cap) * size);
	*v = nv;
	*cap = c;
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Deep copies into a document's arrays; 0 or -1 out of memory. */
static int
copy_env(struct inv_env *to, const struct inv_env *e)
{
	to->name = strdup(e->name);
	to->group = strdup(e->group);
	return to->name == NULL || to->group == NULL ? -1 : 0;
}

static int
copy_dist(struct inv_dist *to, const struct inv_dist *d)
{
	size_t i;

	to->name = strdup(d->name);
	to->kernel = strdup(d->kernel);
	to->cmdline = strdup(d->cmdline != NULL ? d->cmdline : "");
	if ((to->initrds = calloc(d->ninitrds + 1, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < d->ninitrds; i++, to->ninitrds++)
		if ((to->initrds[i] = strdup(d->initrds[i])) == NULL)
			return -1;
	return to->name == NULL || to->kernel == NULL || to->cmdline == NULL ?
	    -1 : 0;
}

static int
copy_host(struct inv_host *to, const struct inv_host *h)
{
	size_t i;

	to->fqdn = strdup(h->fqdn);
	to->env = strdup(h->env);
	to->dist = dup_or_null(h->dist);
	to->action = h->action;
	if ((to->macs = calloc(h->nmacs + 1, sizeof(char *))) == NULL ||
	    (to->attrs = calloc(h->nattrs + 1, sizeof(*to->attrs))) == NULL)
		return -1;
	for (i = 0; i < h->nmacs; i++, to->nmacs++)
		if ((to->macs[i] = strdup(h->macs[i])) == NULL)
			return -1;
	for (i = 0; i < h->nattrs; i++, to->nattrs++) {
		to->attrs[i].key = strdup(h->attrs[i].key);
		to->attrs[i].value = strdup(h->attrs[i].value);
		if (to->attrs[i].key == NULL || to->attrs[i].value == NULL) {
			to->nattrs++;
			return -1;
		}
	}
	return to->fqdn == NULL || to->env == NULL ||
	    (h->dist != NULL && to->dist == NULL) ? -1 : 0;
}

struct from_arg {
	struct xfer_doc	*doc;
	const char	*env;		/* only this environment, or NULL */
	size_t		 cap;
	int		 failed;
};

static int
from_env(const struct inv_env *e, void *arg)
{
	struct from_arg *fa = arg;
	struct xfer_doc *d = fa->doc;

	if (fa->env != NULL && strcmp(fa->env, e->name) != 0)
		return 0;
	if (grow(&d->envs, &fa->cap, d->nenvs, sizeof(*d->envs)) == -1 ||
	    copy_env(&d->envs[d->nenvs++], e) == -1)
		return fa->failed = 1;
	return 0;
}

static int
from_dist(const struct inv_dist *x, void *arg)
{
	struct from_arg *fa = arg;
	struct xfer_doc *d = fa->doc;

	if (grow(&d->dists, &fa->cap, d->ndists, sizeof(*d->dists)) == -1 ||
	    copy_dist(&d->dists[d->ndists++], x) == -1)
		return fa->failed = 1;
	return 0;
}

static int
from_host(const struct inv_host *h, void *arg)
{
	struct from_arg *fa = arg;
	struct xfer_doc *d = fa->doc;

	if (fa->env != NULL && strcmp(fa->env, h->env) != 0)
		return 0;
	if (grow(&d->hosts, &fa->cap, d->nhosts, sizeof(*d->hosts)) == -1 ||
	    copy_host(&d->hosts[d->nhosts++], h) == -1)
		return fa->failed = 1;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_env(const void *a, const void *b)
{
	return strcmp(((const struct inv_env *)a)->name,
	    ((const struct inv_env *)b)->name);
}

static int
cmp_dist(const void *a, const void *b)
{
	return strcmp(((const struct inv_dist *)a)->name,
	    ((const struct inv_dist *)b)->name);
}

static int
cmp_host(const void *a, const void *b)
{
	return strcmp(((const struct inv_host *)a)->fqdn,
	    ((const struct inv_host *)b)->fqdn);
}

static int
cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct inv_kv *)a)->key,
	    ((const struct inv_kv *)b)->key);
}

/* Binary search of sorted arrays by name. */
static const struct inv_env *
find_env(const struct xfer_doc *d, const char *name)
{
	struct inv_env key = { (char *)name, NULL };

	return d->nenvs == 0 ? NULL : bsearch(&key, d->envs, d->nenvs,
	    sizeof(*d->envs), cmp_env);
}

static const struct inv_dist *
find_dist(const struct xfer_doc *d, const char *name)
{
	struct inv_dist key = { 0 };

	key.name = (char *)name;
	return d->ndists == 0 ? NULL : bsearch(&key, d->dists, d->ndists,
	    sizeof(*d->dists), cmp_dist);
}

static const struct inv_host *
find_host(const struct xfer_doc *d, const char *fqdn)
{
	struct inv_host key = { 0 };

	key.fqdn = (char *)fqdn;
	return d->nhosts == 0 ? NULL : bsearch(&key, d->hosts, d->nhosts,
	    sizeof(*d->hosts), cmp_host);
}

static int
host_has_mac(const struct inv_host *h, const char *mac)
{
	return h->nmacs > 0 && bsearch(&mac, h->macs, h->nmacs,
	    sizeof(char *), cmp_str) != NULL;
}

static const struct inv_kv *
host_attr(const struct inv_host *h, const char *key)
{
	struct inv_kv k = { (char *)key, NULL };

	return h->nattrs == 0 ? NULL : bsearch(&k, h->attrs, h->nattrs,
	    sizeof(*h->attrs), cmp_kv);
}

enum bootd_err
xfer_from_inv(struct inv *inv, const char *env, struct xfer_doc **out,
    struct bootd_error *err)
{
	struct from_arg fa;
	struct xfer_doc *d;
	struct inv_env *e = NULL;
	enum bootd_err rc;
	size_t i, n;

	*out = NULL;
	if (env != NULL) {
		if ((rc = inv_env_get(inv, env, &e, err)) != BOOTD_OK)
			return rc;
		inv_env_free(e);
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return nomem(err);
	d->has_envs = d->has_dists = d->has_hosts = 1;
	memset(&fa, 0, sizeof(fa));
	fa.doc = d;
	fa.env = env;
	if ((rc = inv_env_each(inv, from_env, &fa, err)) != BOOTD_OK)
		goto fail;
	fa.cap = 0;
	if (!fa.failed &&
	    (rc = inv_dist_each(inv, from_dist, &fa, err)) != BOOTD_OK)
		goto fail;
	fa.cap = 0;
	if (!fa.failed &&
	    (rc = inv_host_each(inv, from_host, &fa, err)) != BOOTD_OK)
		goto fail;
	if (fa.failed) {
		rc = nomem(err);
		goto fail;
	}
	/* The inventory lists them sorted; sort again for the byte order
	 * (strcmp), whatever collation the storage used. */
	sort(d->envs, d->nenvs, sizeof(*d->envs), cmp_env);
	sort(d->dists, d->ndists, sizeof(*d->dists), cmp_dist);
	sort(d->hosts, d->nhosts, sizeof(*d->hosts), cmp_host);
	for (i = 0; i < d->nhosts; i++) {
		sort(d->hosts[i].macs, d->hosts[i].nmacs, sizeof(char *),
		    cmp_str);
		sort(d->hosts[i].attrs, d->hosts[i].nattrs,
		    sizeof(struct inv_kv), cmp_kv);
	}
	if (env != NULL) {
		/* Keep the distributions the environment's hosts name. */
		for (i = n = 0; i < d->ndists; i++) {
			size_t j;
			int used = 0;

			for (j = 0; j < d->nhosts && !used; j++)
				used = d->hosts[j].dist != NULL &&
				    strcmp(d->hosts[j].dist,
				    d->dists[i].name) == 0;
			if (used)
				d->dists[n++] = d->dists[i];
			else
				inv_dist_clear(&d->dists[i]);
		}
		d->ndists = n;
	}
	*out = d;
	return BOOTD_OK;
fail:
	xfer_doc_free(d);
	return rc;
}

/* Dumping ------------------------------------------------------------- */

/*
 * Append one element as compact JSON on a line of its own, keys in the
 * order they were set.  Takes the reference to o.  0 or -1.
 */
static int
dump_elem(struct buf *b, json_t *o, int last)
{
	char *s;

	if (o == NULL)
		return -1;
	s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL)
		return -1;
	buf_printf(b, " %s%s\n", s, last ? "" : ",");
	free(s);
	return 0;
}

static json_t *
env_json(const struct inv_env *e)
{
	json_t *o = json_object();

	if (o == NULL || json_object_set_new(o, "name",
	    json_string(e->name)) || json_object_set_new(o, "group",
	    json_string(e->group))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
dist_json(const struct inv_dist *d)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;
	int bad = o == NULL || a == NULL;

	for (i = 0; !bad && i < d->ninitrds; i++)
		bad = json_array_append_new(a, json_string(d->initrds[i]));
	if (bad || json_object_set_new(o, "name", json_string(d->name)) ||
	    json_object_set_new(o, "kernel", json_string(d->kernel)) ||
	    json_object_set_new(o, "initrds", a) ||
	    json_object_set_new(o, "cmdline", json_string(d->cmdline != NULL ?
	    d->cmdline : ""))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
host_json(const struct inv_host *h)
{
	json_t *o = json_object(), *m = json_array(), *at = json_object();
	size_t i;
	int bad = o == NULL || m == NULL || at == NULL;

	for (i = 0; !bad && i < h->nmacs; i++)
		bad = json_array_append_new(m, json_string(h->macs[i]));
	for (i = 0; !bad && i < h->nattrs; i++)
		bad = json_object_set_new(at, h->attrs[i].key,
		    json_string(h->attrs[i].value));
	if (bad || json_object_set_new(o, "fqdn", json_string(h->fqdn)) ||
	    json_object_set_new(o, "environment", json_string(h->env)) ||
	    json_object_set_new(o, "action", json_string(h->action ==
	    INV_ACTION_INSTALL ? "install" : "local")) ||
	    json_object_set_new(o, "distribution", h->dist != NULL ?
	    json_string(h->dist) : json_null()) ||
	    json_object_set_new(o, "macs", m) ||
	    json_object_set_new(o, "attributes", at)) {
		json_decref(o);
		if (bad) {
			json_decref(m);
			json_decref(at);
		}
		return NULL;
	}
	return o;
}

enum bootd_err
xfer_dump(const struct xfer_doc *doc, struct buf *b, struct bootd_error *err)
{
	size_t i;
	int bad = 0;

	buf_printf(b, "{\"format\": \"%s\", \"version\": %d,\n", XFER_FORMAT,
	    XFER_VERSION);
	buf_puts(b, "\"environments\": [\n");
	for (i = 0; !bad && i < doc->nenvs; i++)
		bad = dump_elem(b, env_json(&doc->envs[i]),
		    i + 1 == doc->nenvs);
	buf_puts(b, "],\n\"distributions\": [\n");
	for (i = 0; !bad && i < doc->ndists; i++)
		bad = dump_elem(b, dist_json(&doc->dists[i]),
		    i + 1 == doc->ndists);
	buf_puts(b, "],\n\"hosts\": [\n");
	for (i = 0; !bad && i < doc->nhosts; i++)
		bad = dump_elem(b, host_json(&doc->hosts[i]),
		    i + 1 == doc->nhosts);
	buf_puts(b, "]}\n");
	if (bad || buf_failed(b))
		return nomem(err);
	return BOOTD_OK;
}

/* Parsing ------------------------------------------------------------- */

struct parse {
	struct xfer_problems	*probs;
	size_t			 before;	/* problems at the start */
	int			 nomem;
};

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* Report the keys of o that are not in known (NULL-terminated). */
static void
unknown_keys(struct parse *p, const char *path, json_t *o,
    const char *const *known)
{
	char kp[PATH_MAX_LEN], qk[QB], list[160];
	const char *key;
	json_t *v;
	size_t i, len = 0;

	list[0] = '\0';
	for (i = 0; known[i] != NULL && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i > 0 ? ", " : "", known[i]);
	json_object_foreach(o, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] != NULL)
			continue;
		valid_quote(key, qk, sizeof(qk));
		pathf(kp, sizeof(kp), "%s%s%s", path, path[0] ? "." : "", qk);
		xfer_problem(p->probs, kp, "unknown key (expected one of %s)",
		    list);
	}
}

/*
 * The string at o.key: NULL when missing (a problem when required), null
 * (when null_ok), or not a string (a problem).
 */
static const char *
get_string(struct parse *p, const char *path, json_t *o, const char *key,
    int required, int null_ok)
{
	char kp[PATH_MAX_LEN];
	json_t *v;

	v = json_object_get(o, key);
	if (v == NULL) {
		if (required)
			xfer_problem(p->probs, path, "missing \"%s\"", key);
		return NULL;
	}
	if (json_is_null(v) && null_ok)
		return NULL;
	if (!json_is_string(v)) {
		pathf(kp, sizeof(kp), "%s.%s", path, key);
		xfer_problem(p->probs, kp, "expected a string%s, got %s",
		    null_ok ? " or null" : "", type_name(v));
		return NULL;
	}
	return json_string_value(v);
}

/* Run validator rc's text as a problem at path.key; 0 when valid. */
static int
check(struct parse *p, const char *path, const char *key, enum bootd_err rc,
    const struct bootd_error *verr)
{
	char kp[PATH_MAX_LEN];

	if (rc == BOOTD_OK)
		return 0;
	pathf(kp, sizeof(kp), "%s%s%s", path, key != NULL ? "." : "",
	    key != NULL ? key : "");
	xfer_problem(p->probs, kp, "%s", verr->text);
	return -1;
}

static char *
lower_dup(const char *s)
{
	char *d, *c;

	if ((d = strdup(s)) == NULL)
		return NULL;
	for (c = d; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return d;
}

static void
parse_env(struct parse *p, const char *path, json_t *o, struct inv_env *e)
{
	static const char *const known[] = { "name", "group", NULL };
	struct bootd_error verr;
	const char *name, *group;

	if (!json_is_object(o)) {
		xfer_problem(p->probs, path, "expected an object, got %s",
		    type_name(o));
		return;
	}
	unknown_keys(p, path, o, known);
	name = get_string(p, path, o, "name", 1, 0);
	group = get_string(p, path, o, "group", 0, 0);
	if (name != NULL && check(p, path, "name", valid_name("environment",
	    name, &verr), &verr) == 0 && (e->name = strdup(name)) == NULL)
		p->nomem = 1;
	if (group == NULL)
		group = "";
	if (check(p, path, "group", valid_group(group, &verr), &verr) == 0 &&
	    (e->group = strdup(group)) == NULL)
		p->nomem = 1;
}

static void
parse_dist(struct parse *p, const char *path, json_t *o, struct inv_dist *d)
{
	static const char *const known[] = { "name", "kernel", "initrds",
	    "cmdline", NULL };
	struct bootd_error verr;
	char ip[PATH_MAX_LEN];
	const char *name, *kernel, *cmdline, *s;
	json_t *a, *v;
	size_t i;

	if (!json_is_object(o)) {
		xfer_problem(p->probs, path, "expected an object, got %s",
		    type_name(o));
		return;
	}
	unknown_keys(p, path, o, known);
	name = get_string(p, path, o, "name", 1, 0);
	kernel = get_string(p, path, o, "kernel", 1, 0);
	cmdline = get_string(p, path, o, "cmdline", 0, 0);
	if (name != NULL && check(p, path, "name", valid_name("distribution",
	    name, &verr), &verr) == 0 && (d->name = strdup(name)) == NULL)
		p->nomem = 1;
	if (kernel != NULL && check(p, path, "kernel",
	    valid_url_template(kernel, &verr), &verr) == 0 &&
	    (d->kernel = strdup(kernel)) == NULL)
		p->nomem = 1;
	if (cmdline == NULL)
		cmdline = "";
	if (check(p, path, "cmdline", valid_cmdline_template(cmdline, &verr),
	    &verr) == 0 && (d->cmdline = strdup(cmdline)) == NULL)
		p->nomem = 1;
	if ((a = json_object_get(o, "initrds")) == NULL) {
		xfer_problem(p->probs, path, "missing \"initrds\"");
		return;
	}
	pathf(ip, sizeof(ip), "%s.initrds", path);
	if (!json_is_array(a) || json_array_size(a) == 0) {
		xfer_problem(p->probs, ip, "expected a non-empty array of URL "
		    "templates, got %s", json_is_array(a) ? "an empty array" :
		    type_name(a));
		return;
	}
	if ((d->initrds = calloc(json_array_size(a), sizeof(char *))) ==
	    NULL) {
		p->nomem = 1;
		return;
	}
	json_array_foreach(a, i, v) {
		pathf(ip, sizeof(ip), "%s.initrds[%zu]", path, i);
		if (!json_is_string(v)) {
			xfer_problem(p->probs, ip, "expected a string, got %s",
			    type_name(v));
			continue;
		}
		s = json_string_value(v);
		if (check(p, ip, NULL, valid_url_template(s, &verr), &verr) ==
		    0 && (d->initrds[d->ninitrds++] = strdup(s)) == NULL)
			p->nomem = 1;
	}
}

static void
parse_macs(struct parse *p, const char *path, json_t *a, struct inv_host *h)
{
	char mp[PATH_MAX_LEN], canon[MAC_STRLEN + 1], qv[QB];
	struct bootd_error merr;
	json_t *v;
	size_t i, j;

	pathf(mp, sizeof(mp), "%s.macs", path);
	if (!json_is_array(a) || json_array_size(a) == 0) {
		xfer_problem(p->probs, mp, "expected a non-empty array of MAC "
		    "addresses, got %s", json_is_array(a) ? "an empty array" :
		    type_name(a));
		return;
	}
	if ((h->macs = calloc(json_array_size(a), sizeof(char *))) == NULL) {
		p->nomem = 1;
		return;
	}
	json_array_foreach(a, i, v) {
		pathf(mp, sizeof(mp), "%s.macs[%zu]", path, i);
		if (!json_is_string(v)) {
			xfer_problem(p->probs, mp, "expected a string, got %s",
			    type_name(v));
			continue;
		}
		if (mac_canon(json_string_value(v), canon, &merr) != BOOTD_OK) {
			xfer_problem(p->probs, mp, "%s is not a MAC address "
			    "(%s)", valid_quote(json_string_value(v), qv,
			    sizeof(qv)), merr.text);
			continue;
		}
		for (j = 0; j < h->nmacs; j++)
			if (strcmp(h->macs[j], canon) == 0)
				break;
		if (j < h->nmacs) {
			xfer_problem(p->probs, mp, "%s is given twice for this "
			    "host", canon);
			continue;
		}
		if ((h->macs[h->nmacs++] = strdup(canon)) == NULL)
			p->nomem = 1;
	}
}

static void
parse_attrs(struct parse *p, const char *path, json_t *o, struct inv_host *h)
{
	char ap[PATH_MAX_LEN], qk[QB];
	struct bootd_error verr;
	const char *key;
	json_t *v;
	struct inv_kv *kv;

	pathf(ap, sizeof(ap), "%s.attributes", path);
	if (!json_is_object(o)) {
		xfer_problem(p->probs, ap, "expected an object of strings, "
		    "got %s", type_name(o));
		return;
	}
	if ((h->attrs = calloc(json_object_size(o) + 1, sizeof(*kv))) ==
	    NULL) {
		p->nomem = 1;
		return;
	}
	json_object_foreach(o, key, v) {
		pathf(ap, sizeof(ap), "%s.attributes.%s", path,
		    valid_quote(key, qk, sizeof(qk)));
		if (check(p, ap, NULL, valid_attr_key(key, &verr), &verr))
			continue;
		if (!json_is_string(v)) {
			xfer_problem(p->probs, ap, "expected a string, got %s",
			    type_name(v));
			continue;
		}
		/* valid_attr(): the value, and bootd's reserved keys. */
		if (check(p, ap, NULL, valid_attr(key, json_string_value(v),
		    &verr), &verr))
			continue;
		kv = &h->attrs[h->nattrs++];
		kv->key = strdup(key);
		kv->value = strdup(json_string_value(v));
		if (kv->key == NULL || kv->value == NULL)
			p->nomem = 1;
	}
	sort(h->attrs, h->nattrs, sizeof(*h->attrs), cmp_kv);
}

static void
parse_host(struct parse *p, const char *path, json_t *o, struct inv_host *h)
{
	static const char *const known[] = { "fqdn", "environment", "action",
	    "distribution", "macs", "attributes", NULL };
	struct bootd_error verr;
	char kp[PATH_MAX_LEN], qv[QB];
	const char *fqdn, *env, *action, *dist;
	json_t *v;

	if (!json_is_object(o)) {
		xfer_problem(p->probs, path, "expected an object, got %s",
		    type_name(o));
		return;
	}
	unknown_keys(p, path, o, known);
	fqdn = get_string(p, path, o, "fqdn", 1, 0);
	env = get_string(p, path, o, "environment", 0, 0);
	action = get_string(p, path, o, "action", 0, 0);
	dist = get_string(p, path, o, "distribution", 0, 1);
	if (fqdn != NULL && check(p, path, "fqdn", valid_fqdn(fqdn, &verr),
	    &verr) == 0 && (h->fqdn = lower_dup(fqdn)) == NULL)
		p->nomem = 1;
	if (env == NULL && json_object_get(o, "environment") == NULL)
		env = INV_DEFAULT_ENV;
	if (env != NULL && check(p, path, "environment",
	    valid_name("environment", env, &verr), &verr) == 0 &&
	    (h->env = strdup(env)) == NULL)
		p->nomem = 1;
	if (dist != NULL && check(p, path, "distribution",
	    valid_name("distribution", dist, &verr), &verr) == 0 &&
	    (h->dist = strdup(dist)) == NULL)
		p->nomem = 1;
	h->action = INV_ACTION_LOCAL;
	if (action != NULL && strcmp(action, "install") == 0)
		h->action = INV_ACTION_INSTALL;
	else if (action != NULL && strcmp(action, "local") != 0) {
		pathf(kp, sizeof(kp), "%s.action", path);
		xfer_problem(p->probs, kp, "\"%s\" is not an action (local or "
		    "install)", valid_quote(action, qv, sizeof(qv)));
	}
	v = json_object_get(o, "distribution");
	if (h->action == INV_ACTION_INSTALL && (v == NULL || json_is_null(v))) {
		pathf(kp, sizeof(kp), "%s.action", path);
		xfer_problem(p->probs, kp, "install needs a distribution");
	}
	if ((v = json_object_get(o, "macs")) == NULL)
		xfer_problem(p->probs, path, "missing \"macs\"");
	else
		parse_macs(p, path, v, h);
	if ((v = json_object_get(o, "attributes")) != NULL)
		parse_attrs(p, path, v, h);
	else if ((h->attrs = calloc(1, sizeof(*h->attrs))) == NULL)
		p->nomem = 1;
}


/* A name of the document and where it is, for finding duplicates. */
struct keypos {
	const char	*key;
	size_t		 pos;		/* element's document position */
	size_t		 sub;		/* MACs: index in the host's macs */
};

static int
cmp_keypos(const void *a, const void *b)
{
	const struct keypos *x = a, *y = b;
	int c;

	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->sub < y->sub ? -1 : x->sub > y->sub;
}

/*
 * Report every key of kp (n of them, NULL keys left out by the caller)
 * given more than once: each later one names the first.  what is
 * "fqdn", "name" or "macs".
 */
static void
duplicates(struct parse *p, struct keypos *kp, size_t n, const char *section,
    const char *what)
{
	char path[PATH_MAX_LEN];
	size_t i, first = 0;

	sort(kp, n, sizeof(*kp), cmp_keypos);
	for (i = 1; i < n; i++) {
		if (strcmp(kp[i].key, kp[first].key) != 0) {
			first = i;
			continue;
		}
		if (strcmp(what, "macs") == 0) {
			pathf(path, sizeof(path), "%s[%zu].macs[%zu]",
			    section, kp[i].pos, kp[i].sub);
			xfer_problem(p->probs, path, "MAC %s is also at "
			    "%s[%zu].macs[%zu]", kp[i].key, section,
			    kp[first].pos, kp[first].sub);
		} else {
			pathf(path, sizeof(path), "%s[%zu].%s", section,
			    kp[i].pos, what);
			xfer_problem(p->probs, path, "%s is also at %s[%zu]",
			    kp[i].key, section, kp[first].pos);
		}
	}
}

/* Sort the document's arrays by name, remembering where each was. */
struct env_at {
	struct inv_env	e;		/* first: cmp_env() works on it */
	size_t		pos;
};
struct dist_at {
	struct inv_dist	d;
	size_t		pos;
};
struct host_at {
	struct inv_host	h;
	size_t		pos;
};

/*
 * Leave out the elements that could not be read far enough to be named
 * (no name, FQDN or environment: their problems are reported already),
 * so that a document with problems can still be checked against the
 * inventory; then sort the rest by name, remembering where each was.
 */
static int
sort_doc(struct xfer_doc *d)
{
	struct env_at *e = NULL;
	struct dist_at *t = NULL;
	struct host_at *h = NULL;
	size_t i, n;
	int rc = -1;

	if ((e = calloc(d->nenvs + 1, sizeof(*e))) == NULL ||
	    (t = calloc(d->ndists + 1, sizeof(*t))) == NULL ||
	    (h = calloc(d->nhosts + 1, sizeof(*h))) == NULL ||
	    (d->env_pos = calloc(d->nenvs + 1, sizeof(size_t))) == NULL ||
	    (d->dist_pos = calloc(d->ndists + 1, sizeof(size_t))) == NULL ||
	    (d->host_pos = calloc(d->nhosts + 1, sizeof(size_t))) == NULL)
		goto out;
	for (i = n = 0; i < d->nenvs; i++) {
		if (d->envs[i].name == NULL || d->envs[i].group == NULL) {
			free(d->envs[i].name);
			free(d->envs[i].group);
			continue;
		}
		e[n].e = d->envs[i];
		e[n++].pos = i;
	}
	d->nenvs = n;
	for (i = n = 0; i < d->ndists; i++) {
		if (d->dists[i].name == NULL) {
			inv_dist_clear(&d->dists[i]);
			continue;
		}
		t[n].d = d->dists[i];
		t[n++].pos = i;
	}
	d->ndists = n;
	for (i = n = 0; i < d->nhosts; i++) {
		if (d->hosts[i].fqdn == NULL || d->hosts[i].env == NULL) {
			inv_host_clear(&d->hosts[i]);
			continue;
		}
		h[n].h = d->hosts[i];
		h[n++].pos = i;
	}
	d->nhosts = n;
	sort(e, d->nenvs, sizeof(*e), cmp_env);
	sort(t, d->ndists, sizeof(*t), cmp_dist);
	sort(h, d->nhosts, sizeof(*h), cmp_host);
	for (i = 0; i < d->nenvs; i++) {
		d->envs[i] = e[i].e;
		d->env_pos[i] = e[i].pos;
	}
	for (i = 0; i < d->ndists; i++) {
		d->dists[i] = t[i].d;
		d->dist_pos[i] = t[i].pos;
	}
	for (i = 0; i < d->nhosts; i++) {
		d->hosts[i] = h[i].h;
		d->host_pos[i] = h[i].pos;
		sort(d->hosts[i].macs, d->hosts[i].nmacs, sizeof(char *),
		    cmp_str);
	}
	rc = 0;
out:
	free(e);
	free(t);
	free(h);
	return rc;
}

/*
 * The array at root.key for a section: *n elements, NULL when absent
 * (*has 0) or not an array (a problem).
 */
static json_t *
section(struct parse *p, json_t *root, const char *key, int *has)
{
	json_t *a;

	*has = 0;
	if ((a = json_object_get(root, key)) == NULL)
		return NULL;
	if (!json_is_array(a)) {
		xfer_problem(p->probs, key, "expected an array, got %s",
		    type_name(a));
		return NULL;
	}
	*has = 1;
	return a;
}

enum bootd_err
xfer_parse(const char *text, size_t len, struct xfer_doc **out,
    struct xfer_problems *probs)
{
	static const char *const known[] = { "format", "version",
	    "environments", "distributions", "hosts", NULL };
	struct parse p = { probs, probs->n, 0 };
	struct xfer_doc *d = NULL;
	struct keypos *kp = NULL;
	json_error_t je;
	json_t *root, *envs, *dists, *hosts, *v;
	const char *fmt;
	char path[PATH_MAX_LEN], qv[QB];
	size_t i, j, n, nmacs;

	*out = NULL;
	if (len > (size_t)XFER_MAX_BYTES) {
		xfer_problem(probs, "", "document larger than %ld bytes",
		    XFER_MAX_BYTES);
		return BOOTD_EINVAL;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		xfer_problem(probs, "", "line %d, column %d: %s", je.line,
		    je.column, je.text);
		return probs->nomem ? BOOTD_ENOMEM : BOOTD_EINVAL;
	}
	if (!json_is_object(root)) {
		xfer_problem(probs, "", "expected an object, got %s",
		    type_name(root));
		goto out;
	}
	fmt = get_string(&p, "", root, "format", 1, 0);
	if (fmt != NULL && strcmp(fmt, XFER_FORMAT) != 0)
		xfer_problem(probs, "format", "\"%s\" is not a bootd "
		    "inventory (expected \"%s\")",
		    valid_quote(fmt, qv, sizeof(qv)), XFER_FORMAT);
	if ((v = json_object_get(root, "version")) == NULL)
		xfer_problem(probs, "", "missing \"version\"");
	else if (!json_is_integer(v))
		xfer_problem(probs, "version", "expected an integer, got %s",
		    type_name(v));
	else if (json_integer_value(v) > XFER_VERSION) {
		/* Its fields may mean something else: say that alone. */
		xfer_problem(probs, "version", "%lld is newer than this "
		    "bootctl reads (%d): use a newer bootctl",
		    (long long)json_integer_value(v), XFER_VERSION);
		goto out;
	} else if (json_integer_value(v) < 1)
		xfer_problem(probs, "version", "%lld is not a version (the "
		    "first is 1)", (long long)json_integer_value(v));
	unknown_keys(&p, "", root, known);

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		p.nomem = 1;
		goto out;
	}
	envs = section(&p, root, "environments", &d->has_envs);
	dists = section(&p, root, "distributions", &d->has_dists);
	hosts = section(&p, root, "hosts", &d->has_hosts);
	if ((d->envs = calloc(json_array_size(envs) + 1,
	    sizeof(*d->envs))) == NULL ||
	    (d->dists = calloc(json_array_size(dists) + 1,
	    sizeof(*d->dists))) == NULL ||
	    (d->hosts = calloc(json_array_size(hosts) + 1,
	    sizeof(*d->hosts))) == NULL) {
		p.nomem = 1;
		goto out;
	}
	json_array_foreach(envs, i, v) {
		pathf(path, sizeof(path), "environments[%zu]", i);
		parse_env(&p, path, v, &d->envs[d->nenvs++]);
	}
	json_array_foreach(dists, i, v) {
		pathf(path, sizeof(path), "distributions[%zu]", i);
		parse_dist(&p, path, v, &d->dists[d->ndists++]);
	}
	nmacs = 0;
	json_array_foreach(hosts, i, v) {
		pathf(path, sizeof(path), "hosts[%zu]", i);
		parse_host(&p, path, v, &d->hosts[d->nhosts++]);
		nmacs += d->hosts[i].nmacs;
	}

	/* Duplicates: names, FQDNs, and MACs across hosts. */
	n = d->nenvs + d->ndists + d->nhosts + nmacs;
	if ((kp = calloc(n + 1, sizeof(*kp))) == NULL) {
		p.nomem = 1;
		goto out;
	}
	for (i = n = 0; i < d->nenvs; i++)
		if (d->envs[i].name != NULL)
			kp[n++] = (struct keypos){ d->envs[i].name, i, 0 };
	duplicates(&p, kp, n, "environments", "name");
	for (i = n = 0; i < d->ndists; i++)
		if (d->dists[i].name != NULL)
			kp[n++] = (struct keypos){ d->dists[i].name, i, 0 };
	duplicates(&p, kp, n, "distributions", "name");
	for (i = n = 0; i < d->nhosts; i++)
		if (d->hosts[i].fqdn != NULL)
			kp[n++] = (struct keypos){ d->hosts[i].fqdn, i, 0 };
	duplicates(&p, kp, n, "hosts", "fqdn");
	/*
	 * A MAC's index: parse_macs() skips bad ones, so count its place
	 * among the host's good MACs in the document's array again.
	 */
	for (i = n = 0; i < d->nhosts; i++) {
		json_t *a = json_object_get(json_array_get(hosts, i), "macs");
		size_t k = 0;

		for (j = 0; j < d->hosts[i].nmacs; j++) {
			char canon[MAC_STRLEN + 1];

			while (k < json_array_size(a) && (mac_canon(
			    json_string_value(json_array_get(a, k)) != NULL ?
			    json_string_value(json_array_get(a, k)) : "",
			    canon, NULL) != BOOTD_OK ||
			    strcmp(canon, d->hosts[i].macs[j]) != 0))
				k++;
			kp[n++] = (struct keypos){ d->hosts[i].macs[j], i, k };
		}
	}
	duplicates(&p, kp, n, "hosts", "macs");
out:
	free(kp);
	json_decref(root);
	if (p.nomem || probs->nomem || (d != NULL && sort_doc(d) == -1)) {
		xfer_doc_free(d);
		return BOOTD_ENOMEM;
	}
	*out = d;
	return probs->n > p.before ? BOOTD_EINVAL : BOOTD_OK;
}

/* Checking against the inventory -------------------------------------- */

/* The MACs of an inventory, sorted, each with its host. */
struct macown {
	const char		*mac;
	const struct inv_host	*host;
};

static int
cmp_macown(const void *a, const void *b)
{
	return strcmp(((const struct macown *)a)->mac,
	    ((const struct macown *)b)->mac);
}

static struct macown *
mac_index(const struct xfer_doc *d, size_t *n)
{
	struct macown *m;
	size_t i, j, k = 0;

	for (i = 0; i < d->nhosts; i++)
		k += d->hosts[i].nmacs;
	if ((m = calloc(k + 1, sizeof(*m))) == NULL)
		return NULL;
	for (i = k = 0; i < d->nhosts; i++)
		for (j = 0; j < d->hosts[i].nmacs; j++)
			m[k++] = (struct macown){ d->hosts[i].macs[j],
			    &d->hosts[i] };
	sort(m, k, sizeof(*m), cmp_macown);
	*n = k;
	return m;
}

static const struct inv_host *
mac_owner(const struct macown *m, size_t n, const char *mac)
{
	struct macown key = { mac, NULL }, *f;

	f = n == 0 ? NULL : bsearch(&key, m, n, sizeof(*m), cmp_macown);
	return f != NULL ? f->host : NULL;
}

/* Whether the import removes cur host h (--replace, not in doc). */
static int
removes_host(const struct xfer_doc *doc, const struct xfer_opts *o,
    const struct inv_host *h)
{
	return o->replace && doc->has_hosts && find_host(doc, h->fqdn) ==
	    NULL && (o->env == NULL || strcmp(o->env, h->env) == 0);
}

/*
 * Whether the import removes the distributions (environments) the
 * document lacks: --replace by an admin, of a document with that
 * section, not narrowed to one environment.  --env ENV replaces the
 * hosts of ENV; the distributions and environments are the whole
 * inventory's, which an export of ENV holds a part of.
 */
static int
removes_dists(const struct xfer_doc *doc, const struct xfer_opts *o)
{
	return o->replace && o->admin && o->env == NULL && doc->has_dists;
}

static int
removes_envs(const struct xfer_doc *doc, const struct xfer_opts *o)
{
	return o->replace && o->admin && o->env == NULL && doc->has_envs;
}

size_t
xfer_check(const struct xfer_doc *cur, const struct xfer_doc *doc,
    const struct xfer_opts *o, struct xfer_problems *probs)
{
	const struct inv_host *h, *owner;
	struct macown *macs;
	size_t before = probs->n, nm = 0, i, j;
	char path[PATH_MAX_LEN];

	if ((macs = mac_index(cur, &nm)) == NULL) {
		probs->nomem = 1;
		return 0;
	}
	for (i = 0; i < doc->nhosts; i++) {
		h = &doc->hosts[i];
		pathf(path, sizeof(path), "hosts[%zu].environment",
		    doc->host_pos[i]);
		if (o->env != NULL && strcmp(h->env, o->env) != 0)
			xfer_problem(probs, path, "environment %s: import "
			    "--env %s takes hosts of that environment only",
			    h->env, o->env);
		else if (find_env(doc, h->env) == NULL &&
		    ((removes_envs(doc, o) &&
		    strcmp(h->env, INV_DEFAULT_ENV) != 0) ||
		    find_env(cur, h->env) == NULL))	/* default stays */
			xfer_problem(probs, path, "no environment %s, neither "
			    "in the document nor in the inventory", h->env);
		pathf(path, sizeof(path), "hosts[%zu].distribution",
		    doc->host_pos[i]);
		if (h->dist != NULL && find_dist(doc, h->dist) == NULL &&
		    (removes_dists(doc, o) || find_dist(cur, h->dist) == NULL))
			xfer_problem(probs, path, "no distribution %s, neither "
			    "in the document nor in the inventory", h->dist);
		pathf(path, sizeof(path), "hosts[%zu].macs",
		    doc->host_pos[i]);
		for (j = 0; j < h->nmacs; j++) {
			owner = mac_owner(macs, nm, h->macs[j]);
			if (owner == NULL || strcmp(owner->fqdn, h->fqdn) == 0)
				continue;
			if (find_host(doc, owner->fqdn) != NULL ||
			    removes_host(doc, o, owner))
				continue;	/* released, or in the doc */
			/* The hint fits what was given: --replace with
			 * --env leaves hosts of other environments. */
			if (o->replace && o->env != NULL)
				xfer_problem(probs, path, "MAC %s belongs to "
				    "host %s, in environment %s, which "
				    "--replace --env %s leaves as it is (name "
				    "it in the document with its own MACs)",
				    h->macs[j], owner->fqdn, owner->env,
				    o->env);
			else
				xfer_problem(probs, path, "MAC %s belongs to "
				    "host %s, which the document leaves as it "
				    "is (name it in the document with its own "
				    "MACs%s)", h->macs[j], owner->fqdn,
				    o->replace ? "" : ", or use --replace");
		}
	}
	/* What --replace removes must not be used by what stays. */
	for (i = 0; i < cur->nhosts; i++) {
		h = &cur->hosts[i];
		if (find_host(doc, h->fqdn) != NULL || removes_host(doc, o, h))
			continue;
		if (h->dist != NULL && removes_dists(doc, o) &&
		    find_dist(doc, h->dist) == NULL)
			xfer_problem(probs, "distributions", "--replace would "
			    "remove distribution %s, which host %s uses and "
			    "the document leaves as it is", h->dist, h->fqdn);
		if (removes_envs(doc, o) && find_env(doc, h->env) == NULL &&
		    strcmp(h->env, INV_DEFAULT_ENV) != 0)
			xfer_problem(probs, "environments", "--replace would "
			    "remove environment %s, which host %s is in and "
			    "the document leaves as it is", h->env, h->fqdn);
	}
	free(macs);
	return probs->n - before;
}

/* Planning ------------------------------------------------------------ */

static int
add(struct xfer_plan *pl, enum xfer_op op, size_t idx, const char *name,
    const char *env, const char *new_env, const char *key, const char *value)
{
	if (grow(&pl->v, &pl->cap, pl->n, sizeof(*pl->v)) == -1)
		return -1;
	pl->v[pl->n++] = (struct xfer_change){ op, idx, name, env, new_env,
	    key, value };
	return 0;
}

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
dist_eq(const struct inv_dist *a, const struct inv_dist *b)
{
	size_t i;

	if (!str_eq(a->kernel, b->kernel) || !str_eq(a->cmdline, b->cmdline) ||
	    a->ninitrds != b->ninitrds)
		return 0;
	for (i = 0; i < a->ninitrds; i++)
		if (!str_eq(a->initrds[i], b->initrds[i]))
			return 0;
	return 1;
}

/* A NIC change of an existing host, waiting for its turn. */
struct nic_step {
	size_t		 host;		/* index into doc->hosts */
	const char	*mac;
	int		 add;		/* else remove */
	int		 done;
};

/*
 * The NIC changes of hosts the inventory has, in an order the inventory
 * accepts: a MAC is added only once no host has it, and removed only
 * while its host has another.  Found by playing the changes forward:
 * each round makes every step that can be made, until none is left.
 * Steps that never can (two hosts swapping their only NICs) are planned
 * last, and applying them fails with the inventory's reason.  Hosts the
 * import removes (planned before) free their MACs.  0, or -1 out of
 * memory.
 */
static int
plan_nics(const struct xfer_doc *cur, const struct xfer_doc *doc,
    const struct xfer_opts *o, struct macown *macs, size_t nm,
    struct xfer_plan *pl)
{
	const struct inv_host *h, *c;
	struct macown key, *m;
	struct nic_step *st = NULL;
	size_t *count = NULL, n = 0, cap = 0, i, j, left;
	int bad = 0, progress, last;

	if ((count = calloc(doc->nhosts + 1, sizeof(*count))) == NULL)
		return -1;
	/* The MACs of removed hosts are free: no owner. */
	for (i = 0; i < nm; i++)
		if (removes_host(doc, o, macs[i].host))
			macs[i].host = NULL;
	for (i = 0; !bad && i < doc->nhosts; i++) {
		h = &doc->hosts[i];
		if ((c = find_host(cur, h->fqdn)) == NULL)
			continue;
		count[i] = c->nmacs;
		for (j = 0; !bad && j < h->nmacs; j++)
			if (!host_has_mac(c, h->macs[j]) && !(bad = grow(&st,
			    &cap, n, sizeof(*st))))
				st[n++] = (struct nic_step){ i, h->macs[j], 1,
				    0 };
		for (j = 0; !bad && j < c->nmacs; j++)
			if (!host_has_mac(h, c->macs[j]) && !(bad = grow(&st,
			    &cap, n, sizeof(*st))))
				st[n++] = (struct nic_step){ i, c->macs[j], 0,
				    0 };
	}
	for (left = n, last = 0; !bad && left > 0; ) {
		progress = 0;
		for (i = 0; !bad && i < n; i++) {
			if (st[i].done)
				continue;
			key.mac = st[i].mac;
			m = nm == 0 ? NULL : bsearch(&key, macs, nm,
			    sizeof(*macs), cmp_macown);
			if (!last && st[i].add && m != NULL && m->host != NULL)
				continue;	/* another host has it yet */
			if (!last && !st[i].add && count[st[i].host] < 2)
				continue;	/* its host's last NIC */
			h = &doc->hosts[st[i].host];
			c = find_host(cur, h->fqdn);
			bad = add(pl, st[i].add ? XFER_NIC_ADD : XFER_NIC_REMOVE,
			    st[i].host, h->fqdn, c->env, NULL, st[i].mac, NULL);
			if (m != NULL)
				m->host = st[i].add ? c : NULL;
			if (st[i].add)
				count[st[i].host]++;
			else
				count[st[i].host]--;
			st[i].done = 1;
			left--;
			progress = 1;
		}
		if (!progress)
			last = 1;	/* a cycle: plan the rest as it is */
	}
	free(st);
	free(count);
	return bad;
}

enum bootd_err
xfer_plan(const struct xfer_doc *cur, const struct xfer_doc *doc,
    const struct xfer_opts *o, struct xfer_plan *pl, struct bootd_error *err)
{
	const struct inv_host *h, *c;
	const struct inv_env *e;
	const struct inv_dist *t;
	const struct inv_kv *kv;
	struct macown *macs;
	size_t nm = 0, i, j;
	int bad = 0;

	memset(pl, 0, sizeof(*pl));
	if ((macs = mac_index(cur, &nm)) == NULL)
		return nomem(err);
	for (i = 0; !bad && i < doc->nenvs; i++) {
		e = &doc->envs[i];
		if (find_env(cur, e->name) == NULL)
			bad = add(pl, XFER_ENV_ADD, i, e->name, NULL, NULL,
			    NULL, e->group);
		else if (strcmp(find_env(cur, e->name)->group, e->group) != 0)
			bad = add(pl, XFER_ENV_SET_GROUP, i, e->name, NULL,
			    NULL, NULL, e->group);
	}
	for (i = 0; !bad && i < doc->ndists; i++) {
		t = &doc->dists[i];
		if (find_dist(cur, t->name) == NULL)
			bad = add(pl, XFER_DIST_ADD, i, t->name, NULL, NULL,
			    NULL, NULL);
		else if (!dist_eq(find_dist(cur, t->name), t))
			bad = add(pl, XFER_DIST_UPDATE, i, t->name, NULL, NULL,
			    NULL, NULL);
	}
	for (i = 0; !bad && i < cur->nhosts; i++) {
		c = &cur->hosts[i];
		if (removes_host(doc, o, c))
			bad = add(pl, XFER_HOST_REMOVE, i, c->fqdn, c->env,
			    NULL, NULL, NULL);
	}
	if (!bad)
		bad = plan_nics(cur, doc, o, macs, nm, pl);
	/* Hosts: new ones, then each one's changes in a safe order. */
	for (i = 0; !bad && i < doc->nhosts; i++) {
		h = &doc->hosts[i];
		if ((c = find_host(cur, h->fqdn)) == NULL) {
			/* With its distribution and attributes. */
			bad = add(pl, XFER_HOST_ADD, i, h->fqdn, NULL, h->env,
			    NULL, NULL);
			if (!bad && h->action == INV_ACTION_INSTALL)
				bad = add(pl, XFER_SET_REINSTALL, i, h->fqdn,
				    h->env, NULL, NULL, NULL);
			continue;
		}
		if (strcmp(c->env, h->env) != 0)
			bad = add(pl, XFER_HOST_SET_ENV, i, h->fqdn, c->env,
			    h->env, NULL, NULL);
		for (j = 0; !bad && j < h->nattrs; j++) {
			kv = host_attr(c, h->attrs[j].key);
			if (kv == NULL || strcmp(kv->value,
			    h->attrs[j].value) != 0)
				bad = add(pl, XFER_ATTR_SET, i, h->fqdn, h->env,
				    NULL, h->attrs[j].key, h->attrs[j].value);
		}
		if (!bad && c->action == INV_ACTION_INSTALL &&
		    h->action == INV_ACTION_LOCAL)
			bad = add(pl, XFER_SET_LOCAL, i, h->fqdn, h->env, NULL,
			    NULL, NULL);
		if (!bad && !str_eq(c->dist, h->dist))
			bad = add(pl, XFER_HOST_SET_DIST, i, h->fqdn, h->env,
			    NULL, NULL, h->dist);
		if (!bad && c->action == INV_ACTION_LOCAL &&
		    h->action == INV_ACTION_INSTALL)
			bad = add(pl, XFER_SET_REINSTALL, i, h->fqdn, h->env,
			    NULL, NULL, NULL);
		for (j = 0; !bad && j < c->nattrs; j++)
			if (host_attr(h, c->attrs[j].key) == NULL)
				bad = add(pl, XFER_ATTR_UNSET, i, h->fqdn,
				    h->env, NULL, c->attrs[j].key, NULL);
	}
	for (i = 0; !bad && removes_dists(doc, o) && i < cur->ndists; i++)
		if (find_dist(doc, cur->dists[i].name) == NULL)
			bad = add(pl, XFER_DIST_REMOVE, i, cur->dists[i].name,
			    NULL, NULL, NULL, NULL);
	for (i = 0; !bad && removes_envs(doc, o) && i < cur->nenvs; i++)
		if (find_env(doc, cur->envs[i].name) == NULL &&
		    strcmp(cur->envs[i].name, INV_DEFAULT_ENV) != 0)
			bad = add(pl, XFER_ENV_REMOVE, i, cur->envs[i].name,
			    NULL, NULL, NULL, NULL);
	free(macs);
	if (bad) {
		xfer_plan_free(pl);
		return nomem(err);
	}
	return BOOTD_OK;
}

void
xfer_plan_free(struct xfer_plan *pl)
{
	free(pl->v);
	memset(pl, 0, sizeof(*pl));
}

const char *
xfer_op_name(enum xfer_op op)
{
	static const char *const names[XFER_OP__MAX] = {
		[XFER_ENV_ADD] = "add environment",
		[XFER_ENV_SET_GROUP] = "set group of environment",
		[XFER_DIST_ADD] = "add distribution",
		[XFER_DIST_UPDATE] = "update distribution",
		[XFER_NIC_ADD] = "add NIC",
		[XFER_HOST_REMOVE] = "remove host",
		[XFER_NIC_REMOVE] = "remove NIC",
		[XFER_HOST_ADD] = "add host",
		[XFER_HOST_SET_ENV] = "set environment",
		[XFER_ATTR_SET] = "set attribute",
		[XFER_SET_LOCAL] = "set local boot",
		[XFER_HOST_SET_DIST] = "set distribution",
		[XFER_SET_REINSTALL] = "set reinstall",
		[XFER_ATTR_UNSET] = "unset attribute",
		[XFER_DIST_REMOVE] = "remove distribution",
		[XFER_ENV_REMOVE] = "remove environment",
	};

	return (unsigned)op < XFER_OP__MAX ? names[op] : "?";
}

char *
xfer_path(const struct xfer_doc *doc, enum xfer_op op, size_t idx, char *out,
    size_t size)
{
	switch (op) {
	case XFER_ENV_ADD:
	case XFER_ENV_SET_GROUP:
		snprintf(out, size, "environments[%zu]", doc->env_pos != NULL ?
		    doc->env_pos[idx] : idx);
		break;
	case XFER_DIST_ADD:
	case XFER_DIST_UPDATE:
		snprintf(out, size, "distributions[%zu]",
		    doc->dist_pos != NULL ? doc->dist_pos[idx] : idx);
		break;
	case XFER_HOST_REMOVE:
	case XFER_DIST_REMOVE:
	case XFER_ENV_REMOVE:
		snprintf(out, size, "(not in the document)");
		break;
	default:
		snprintf(out, size, "hosts[%zu]", doc->host_pos != NULL ?
		    doc->host_pos[idx] : idx);
		break;
	}
	return out;
}
