/*
 * inv_dist.c - distributions and their initrds, and the check that a host has
 * every attribute a distribution's templates use
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "inv.h"
#include "inv_int.h"
#include "tmpl.h"
#include "valid.h"

void
inv_dist_clear(struct inv_dist *d)
{
	size_t i;

	free(d->name);
	free(d->kernel);
	for (i = 0; i < d->ninitrds; i++)
		free(d->initrds[i]);
	free(d->initrds);
	free(d->cmdline);
	memset(d, 0, sizeof(*d));
}

void
inv_dist_free(struct inv_dist *d)
{
	if (d == NULL)
		return;
	inv_dist_clear(d);
	free(d);
}

/*
 * Load the distribution called name with its initrds, in one statement
 * (S_LOOKUP_DIST): for a boot and for every other reader.
 * BOOTD_ENOTFOUND with a message when there is none.  The caller frees
 * *out with inv_dist_free().
 */
enum bootd_err
load_dist(struct inv *inv, const char *name, struct inv_dist **out,
    struct bootd_error *err)
{
	struct inv_dist *d = NULL;
	struct db_stmt *s;
	enum bootd_err rc;
	size_t cap = 0;
	char **p, qn[QBUF];
	int src = 0;

	*out = NULL;
	if ((s = stmt(inv, S_LOOKUP_DIST, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, name);
	if ((rc = first_row(inv, s, "read distribution", err)) ==
	    BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "no distribution \"%s\"",
		    q(name, qn));
	if (rc != BOOTD_OK)
		return rc;
	if ((d = calloc(1, sizeof(*d))) == NULL || col_dup(s, 0, &d->name) ||
	    col_dup(s, 1, &d->kernel) || col_dup(s, 2, &d->cmdline)) {
		rc = nomem(err);
		goto out;
	}
	do {
		if (db_column_is_null(s, 3))
			break;		/* no initrd at all */
		if (d->ninitrds == cap) {
			cap = cap ? cap * 2 : 2;
			if ((p = reallocarray(d->initrds, cap,
			    sizeof(*p))) == NULL) {
				rc = nomem(err);
				goto out;
			}
			d->initrds = p;
		}
		if (col_dup(s, 3, &d->initrds[d->ninitrds])) {
			rc = nomem(err);
			goto out;
		}
		d->ninitrds++;
	} while ((src = step(inv, s)) > 0);
	if (src < 0)
		rc = dberr(inv, "read initrds", err);
out:
	db_reset(s);
	if (rc == BOOTD_OK)
		*out = d;
	else
		inv_dist_free(d);
	return rc;
}

/*
 * "kernel=K initrds=I1,I2 cmdline=C" for the audit log.
 */
static void
describe_dist(const struct inv_dist *d, struct buf *b)
{
	size_t i;

	buf_printf(b, "kernel=%s initrds=", d->kernel);
	for (i = 0; i < d->ninitrds; i++)
		buf_printf(b, "%s%s", i > 0 ? "," : "", d->initrds[i]);
	buf_printf(b, " cmdline=%s", d->cmdline != NULL ? d->cmdline : "");
}

/* Template attribute checks ------------------------------------------- */

/*
 * Look up attribute key of host id; when it is there and o is not NULL,
 * append "key=value" to o.  Returns BOOTD_OK, BOOTD_ENOTFOUND (err
 * untouched) or a database error.
 */
enum bootd_err
attr_get(struct inv *inv, int64_t id, const char *key, struct buf *o,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;

	if ((s = stmt(inv, S_ATTR_GET, err)) == NULL)
		return inv->dbrc;
	bind_int(s, 1, id);
	bind_text(s, 2, key);
	if ((rc = first_row(inv, s, "read attribute", err)) == BOOTD_OK) {
		if (o != NULL)
			buf_printf(o, "%s=%s", key, db_column_text(s, 0));
		db_reset(s);
	}
	return rc;
}

struct need_ctx {
	struct inv	*inv;
	int64_t		 host;
	char		 missing[80];
	int		 failed;	/* a database error happened */
};

static int
need_attr(const char *key, void *arg)
{
	struct need_ctx *c = arg;
	enum bootd_err rc;

	rc = attr_get(c->inv, c->host, key, NULL, NULL);
	if (rc == BOOTD_OK)
		return 0;
	if (rc != BOOTD_ENOTFOUND)
		c->failed = 1;
	else
		valid_quote(key, c->missing, sizeof(c->missing));
	return 1;
}

/*
 * Check that host (id, fqdn) has every attribute d's templates use.
 * BOOTD_EINVAL naming the first missing one.
 */
enum bootd_err
check_attrs(struct inv *inv, const struct href *ref, const struct inv_dist *d,
    struct bootd_error *err)
{
	struct need_ctx c;
	struct bootd_error terr;
	enum bootd_err rc;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.inv = inv;
	c.host = ref->id;
	for (i = 0; i < d->ninitrds + 2; i++) {
		const char *t = i == 0 ? d->kernel : i == 1 ? d->cmdline :
		    d->initrds[i - 2];
		if (t == NULL)
			continue;
		rc = tmpl_each_attr(t, need_attr, &c, &terr);
		if (c.failed)
			return dberr(inv, "read attributes", err);
		if (c.missing[0] != '\0')
			return bootd_error_set(err, BOOTD_EINVAL, "host %s "
			    "lacks attribute \"%s\" used by distribution %s",
			    ref->fqdn, c.missing, d->name);
		if (rc != BOOTD_OK)
			return bootd_error_set(err, rc, "distribution %s: %s",
			    d->name, terr.text);
	}
	return BOOTD_OK;
}

struct uses_ctx {
	const char	*key;
	int		 found;
};

static int
uses_attr(const char *key, void *arg)
{
	struct uses_ctx *c = arg;

	if (strcmp(key, c->key) == 0) {
		c->found = 1;
		return 1;
	}
	return 0;
}

/* Return 1 when one of d's templates uses {{attr.key}}. */
int
dist_uses_attr(const struct inv_dist *d, const char *key)
{
	struct uses_ctx c = { key, 0 };
	size_t i;

	tmpl_each_attr(d->kernel, uses_attr, &c, NULL);
	if (d->cmdline != NULL)
		tmpl_each_attr(d->cmdline, uses_attr, &c, NULL);
	for (i = 0; i < d->ninitrds; i++)
		tmpl_each_attr(d->initrds[i], uses_attr, &c, NULL);
	return c.found;
}

/* tmpl_each_attr() callback: there is one. */
static int
any_attr(const char *key, void *arg)
{
	return 1;
}

/*
 * Return 1 when d's templates are well formed and use no attribute:
 * check_attrs() would pass any host.
 */
int
dist_plain(const struct inv_dist *d)
{
	size_t i;

	if (tmpl_each_attr(d->kernel, any_attr, NULL, NULL) != BOOTD_OK ||
	    (d->cmdline != NULL &&
	    tmpl_each_attr(d->cmdline, any_attr, NULL, NULL) != BOOTD_OK))
		return 0;
	for (i = 0; i < d->ninitrds; i++)
		if (tmpl_each_attr(d->initrds[i], any_attr, NULL, NULL) !=
		    BOOTD_OK)
			return 0;
	return 1;
}

/* Distributions ------------------------------------------------------- */

static enum bootd_err
check_dist(const struct inv_dist *d, struct bootd_error *err)
{
	struct bootd_error verr;
	enum bootd_err rc;
	size_t i;

	if (d == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "no distribution");
	if ((rc = valid_name("distribution", d->name, err)) != BOOTD_OK)
		return rc;
	if ((rc = valid_url_template(d->kernel, &verr)) != BOOTD_OK)
		return bootd_error_set(err, rc, "kernel: %s", verr.text);
	if (d->ninitrds == 0 || d->initrds == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "distribution %s "
		    "needs at least one initrd", d->name);
	for (i = 0; i < d->ninitrds; i++)
		if ((rc = valid_url_template(d->initrds[i], &verr)) !=
		    BOOTD_OK)
			return bootd_error_set(err, rc, "initrd %zu: %s",
			    i + 1, verr.text);
	if ((rc = valid_cmdline_template(d->cmdline != NULL ? d->cmdline :
	    "", err)) != BOOTD_OK)
		return rc;
	return BOOTD_OK;
}

/*
 * Run statement id (S_DIST_INSERT or S_DIST_UPDATE) with d's name, kernel
 * and command line.  what names it in errors.
 */
static enum bootd_err
run_dist(struct inv *inv, enum stmt id, const struct inv_dist *d,
    const char *what, struct bootd_error *err)
{
	struct db_stmt *s;

	if ((s = stmt(inv, id, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, d->name);
	bind_text(s, 2, d->kernel);
	bind_text(s, 3, d->cmdline != NULL ? d->cmdline : "");
	return run(inv, s, what, err);
}

static enum bootd_err
insert_initrds(struct inv *inv, const struct inv_dist *d,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;
	size_t i;

	for (i = 0; i < d->ninitrds; i++) {
		if ((s = stmt(inv, S_INITRD_INSERT, err)) == NULL)
			return inv->dbrc;
		bind_text(s, 1, d->name);
		bind_int(s, 2, (int64_t)i);
		bind_text(s, 3, d->initrds[i]);
		if ((rc = run(inv, s, "add initrd", err)) != BOOTD_OK)
			return rc;
	}
	return BOOTD_OK;
}

static enum bootd_err
dist_add(struct inv *inv, const struct inv_dist *d, struct bootd_error *err)
{
	struct inv_dist *old = NULL;
	struct buf b = { 0 };
	enum bootd_err rc;

	if ((rc = check_dist(d, err)) != BOOTD_OK)
		return rc;
	rc = load_dist(inv, d->name, &old, err);
	inv_dist_free(old);
	if (rc == BOOTD_OK)
		return bootd_error_set(err, BOOTD_EEXIST, "distribution %s "
		    "already exists", d->name);
	if (rc != BOOTD_ENOTFOUND)
		return rc;
	if ((rc = run_dist(inv, S_DIST_INSERT, d, "add distribution",
	    err)) != BOOTD_OK ||
	    (rc = insert_initrds(inv, d, err)) != BOOTD_OK)
		return rc;
	describe_dist(d, &b);
	rc = buf_failed(&b) ? nomem(err) : audit(inv, time(NULL), "dist-add",
	    d->name, NULL, buf_str(&b), err);
	buf_free(&b);
	return rc;
}

enum bootd_err
inv_dist_add(struct inv *inv, const struct inv_dist *d,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, dist_add(inv, d, err), err);
}

/*
 * The hosts marked install with distribution name, sorted by FQDN: *n of
 * them, freed by the caller; *rc says whether they could be read.
 */
static struct href *
installing(struct inv *inv, const char *name, size_t *n,
    enum bootd_err *rc, struct bootd_error *err)
{
	struct db_stmt *s;

	*n = 0;
	if ((s = stmt(inv, S_DIST_INSTALLING, err)) == NULL) {
		*rc = inv->dbrc;
		return NULL;
	}
	bind_text(s, 1, name);
	return read_rows(inv, s, sizeof(struct href), fill_ref, n, rc,
	    "list hosts", err);
}

/*
 * Check that every host marked install with d has each attribute d's
 * templates use: BOOTD_EINVAL naming the first host that lacks one.
 */
static enum bootd_err
check_installing(struct inv *inv, const struct inv_dist *d,
    struct bootd_error *err)
{
	struct href *refs;
	enum bootd_err rc;
	size_t i, nr;

	refs = installing(inv, d->name, &nr, &rc, err);
	for (i = 0; rc == BOOTD_OK && i < nr; i++)
		rc = check_attrs(inv, &refs[i], d, err);
	free(refs);
	return rc;
}

/*
 * Remember that the group updated distribution name, once, for
 * dist_check_deferred().
 */
static enum bootd_err
defer_check(struct inv *inv, const char *name, struct bootd_error *err)
{
	char **v;
	size_t i;

	for (i = 0; i < inv->ngroup_updated; i++)
		if (strcmp(inv->group_updated[i], name) == 0)
			return BOOTD_OK;
	if ((v = reallocarray(inv->group_updated, inv->ngroup_updated + 1,
	    sizeof(*v))) == NULL)
		return nomem(err);
	inv->group_updated = v;
	if ((v[inv->ngroup_updated] = strdup(name)) == NULL)
		return nomem(err);
	inv->ngroup_updated++;
	return BOOTD_OK;
}

enum bootd_err
dist_check_deferred(struct inv *inv, struct bootd_error *err)
{
	struct inv_dist *d;
	enum bootd_err rc = BOOTD_OK;
	size_t i;

	for (i = 0; rc == BOOTD_OK && i < inv->ngroup_updated; i++) {
		rc = load_dist(inv, inv->group_updated[i], &d, err);
		if (rc == BOOTD_ENOTFOUND) {
			rc = BOOTD_OK;	/* removed since: no host has it */
			continue;
		}
		if (rc == BOOTD_OK)
			rc = check_installing(inv, d, err);
		inv_dist_free(d);
	}
	return rc;
}

static enum bootd_err
dist_update(struct inv *inv, const struct inv_dist *d,
    struct bootd_error *err)
{
	struct inv_dist *old = NULL;
	struct buf o = { 0 }, n = { 0 };
	enum bootd_err rc;

	if ((rc = check_dist(d, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_dist(inv, d->name, &old, err)) != BOOTD_OK)
		return rc;
	if ((rc = run_dist(inv, S_DIST_UPDATE, d, "update distribution",
	    err)) != BOOTD_OK ||
	    (rc = run_text(inv, S_INITRD_DELETE, d->name, "update initrds",
	    err)) != BOOTD_OK ||
	    (rc = insert_initrds(inv, d, err)) != BOOTD_OK)
		goto out;
	/* Hosts about to install it must have what its templates use:
	 * now, or as the group ends (inv_defer_dist_checks()). */
	rc = inv->grouped && inv->group_defer ? defer_check(inv, d->name,
	    err) : check_installing(inv, d, err);
	if (rc != BOOTD_OK)
		goto out;
	describe_dist(old, &o);
	describe_dist(d, &n);
	rc = buf_failed(&o) || buf_failed(&n) ? nomem(err) : audit(inv,
	    time(NULL), "dist-update", d->name, buf_str(&o), buf_str(&n), err);
out:
	buf_free(&o);
	buf_free(&n);
	inv_dist_free(old);
	return rc;
}

enum bootd_err
inv_dist_update(struct inv *inv, const struct inv_dist *d,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, dist_update(inv, d, err), err);
}

static enum bootd_err
dist_remove(struct inv *inv, const char *name, struct bootd_error *err)
{
	struct inv_dist *old = NULL;
	struct buf users = { 0 }, o = { 0 };
	struct db_stmt *s;
	enum bootd_err rc;
	int64_t total = 0;
	int src, n = 0;

	if ((rc = valid_name("distribution", name, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_dist(inv, name, &old, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_DIST_USERS, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	bind_text(s, 1, name);
	while ((src = step(inv, s)) > 0) {
		total = db_column_int64(s, 1);
		buf_printf(&users, "%s%s", n++ > 0 ? ", " : "",
		    db_column_text(s, 0));
	}
	if (src < 0)
		rc = dberr(inv, "list hosts", err);
	db_reset(s);
	if (rc != BOOTD_OK)
		goto out;
	if (total > 0) {
		rc = bootd_error_set(err, BOOTD_EINVAL, "distribution %s is "
		    "used by %lld host%s: %s%s", name, (long long)total,
		    total > 1 ? "s" : "", buf_str(&users),
		    total > n ? ", ..." : "");
		goto out;
	}
	if ((rc = run_text(inv, S_DIST_DELETE, name, "remove distribution",
	    err)) != BOOTD_OK)
		goto out;
	describe_dist(old, &o);
	rc = buf_failed(&o) ? nomem(err) : audit(inv, time(NULL),
	    "dist-remove", name, buf_str(&o), NULL, err);
out:
	buf_free(&users);
	buf_free(&o);
	inv_dist_free(old);
	return rc;
}

enum bootd_err
inv_dist_remove(struct inv *inv, const char *name, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, dist_remove(inv, name, err), err);
}

enum bootd_err
inv_dist_get(struct inv *inv, const char *name, struct inv_dist **out,
    struct bootd_error *err)
{
	enum bootd_err rc;

	*out = NULL;
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	rc = tx_end(inv, load_dist(inv, name, out, err), err);
	if (rc != BOOTD_OK) {
		inv_dist_free(*out);
		*out = NULL;
	}
	return rc;
}

enum bootd_err
inv_dist_installing(struct inv *inv, const char *name,
    int (*fn)(const char *, void *), void *arg, struct bootd_error *err)
{
	struct href *refs;
	enum bootd_err rc;
	size_t i, n;

	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	refs = installing(inv, name, &n, &rc, err);
	rc = tx_end(inv, rc, err);
	for (i = 0; rc == BOOTD_OK && i < n; i++)
		if (fn(refs[i].fqdn, arg) != 0)
			break;
	free(refs);
	return rc;
}

enum bootd_err
inv_dist_each(struct inv *inv, int (*fn)(const struct inv_dist *, void *),
    void *arg, struct bootd_error *err)
{
	struct inv_dist **ds = NULL;
	char **names = NULL;
	size_t i, n = 0;
	struct db_stmt *s;
	enum bootd_err rc = BOOTD_OK;

	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_DIST_NAMES, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	names = read_rows(inv, s, sizeof(*names), fill_text, &n, &rc,
	    "list distributions", err);
	if (rc != BOOTD_OK)
		goto out;
	if (n > 0 && (ds = calloc(n, sizeof(*ds))) == NULL) {
		rc = nomem(err);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = load_dist(inv, names[i], &ds[i], err)) != BOOTD_OK)
			goto out;
out:
	rc = tx_end(inv, rc, err);
	for (i = 0; i < n; i++) {
		if (rc == BOOTD_OK && ds != NULL && fn != NULL &&
		    fn(ds[i], arg) != 0)
			fn = NULL;	/* stop */
		if (ds != NULL)
			inv_dist_free(ds[i]);
		free(names[i]);
	}
	free(ds);
	free(names);
	return rc;
}
