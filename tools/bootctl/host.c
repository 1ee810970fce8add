/*
 * host.c - host, nic and attr verbs
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"
#include "dbdir.h"
#include "mac.h"
#include "valid.h"

int
verb_host_add(struct ctx *ctx, struct args *a)
{
	const char *env = a->env != NULL ? a->env : INV_DEFAULT_ENV;
	enum bootd_err rc;
	int ret;

	if ((ret = env_for_change(ctx, env)) != EXIT_OK)
		return ret;
	if (a->dist != NULL && (ret = dist_exists(ctx, a->dist)) != EXIT_OK)
		return ret;
	/* Host and distribution in one transaction: a refusal leaves no
	 * host behind, and nothing needs undoing. */
	rc = inv_host_add_dist(ctx->inv, a->argv[0],
	    (const char *const *)a->argv + 1, (size_t)a->argc - 1, env,
	    a->dist, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

/*
 * Select the hosts of a change verb and apply c to them: the common body
 * of the verbs below, once their values are checked.
 */
static int
select_and_apply(struct ctx *ctx, struct args *a, const struct change *c)
{
	struct inv_host **hs;
	int n, status;

	if (hosts_select(ctx, a, true, &hs, &n) != EXIT_OK)
		return EXIT_FAIL;
	status = change_apply(ctx, a, hs, n, c);
	hosts_free(hs, n);
	return status;
}

static void
remove_describe(struct ctx *ctx, struct args *a, const struct inv_host *h,
    struct buf *b)
{
	buf_puts(b, "removed");
}

static enum bootd_err
remove_apply(struct ctx *ctx, struct args *a, const struct inv_host *h)
{
	char x[INV_EXACT_NAME_MAX];

	return inv_host_remove(ctx->inv, inv_exact_name(h->fqdn, x), &ctx->err);
}

int
verb_host_remove(struct ctx *ctx, struct args *a)
{
	static const struct change c = { remove_describe,
	    remove_apply, NULL, false };

	return select_and_apply(ctx, a, &c);
}

int
verb_host_rename(struct ctx *ctx, struct args *a)
{
	char x[INV_EXACT_NAME_MAX];
	enum bootd_err rc;

	rc = inv_host_rename(ctx->inv, inv_exact_name(ctx->host->fqdn, x),
	    a->argv[1], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

/*
 * The events database, opened read-only on first use.  NULL when there is
 * none yet (nothing seen: not an error); a file that cannot be read is
 * reported once on stderr and then treated the same.
 */
struct events *
events_db(struct ctx *ctx)
{
	struct bootd_error e;
	struct dbdir dir;
	struct stat sb;
	enum bootd_err rc;

	if (ctx->ev_tried)
		return ctx->ev;
	ctx->ev_tried = true;
	/* On PostgreSQL: schema "events" of the inventory's database. */
	if (ctx->uri)
		goto open;
	/*
	 * Its directory passes the inventory's checks and has the same
	 * owner; setgid, its -wal and -shm must exist and be that owner's
	 * (lstat, not access(): the directory is the group's to search),
	 * so SQLite never makes them for the caller.
	 */
	rc = dbdir_check(ctx->evpath, &dir, &e);
	if (rc == BOOTD_ENOTFOUND)
		return NULL;
	if (rc == BOOTD_OK && dir.uid != ctx->dbuid)
		rc = bootd_error_set(&e, BOOTD_EPERM, "its directory belongs "
		    "to uid %lu, the inventory's to uid %lu",
		    (unsigned long)dir.uid, (unsigned long)ctx->dbuid);
	if (rc == BOOTD_OK && ctx->setid) {
		if (lstat(ctx->evpath, &sb) == -1 && errno == ENOENT)
			return NULL;
		rc = dbdir_check_files(ctx->evpath, ctx->dbuid, &e);
	}
	if (rc != BOOTD_OK) {
		warnmsg("last seen times and discovered MACs unavailable: %s",
		    e.text);
		return NULL;
	}
open:
	rc = events_open_readonly(ctx->evpath, &ctx->ev, &e);
	if (rc != BOOTD_OK && rc != BOOTD_ENOTFOUND)
		warnmsg("last seen times and discovered MACs unavailable: %s",
		    e.text);
	return ctx->ev;
}

/* When host h last booted and what it got: "-" and "" when never. */
static void
host_seen(struct ctx *ctx, const struct inv_host *h, char tm[32],
    char *served, size_t size)
{
	struct events *ev;
	int64_t when = 0;

	served[0] = '\0';
	if ((ev = events_db(ctx)) != NULL &&
	    events_seen(ev, (const char *const *)h->macs, h->nmacs, &when,
	    served, size, &ctx->err) != BOOTD_OK) {
		warnmsg("%s", ctx->err.text);
		when = 0;
		served[0] = '\0';
	}
	fmt_time(when, tm);
}

/*
 * Host h as JSON (see JSON OUTPUT in bootctl(8)): with full, as host show
 * gives it (attributes, the token to callers allowed to change h, last
 * boot); else as host list does.  NULL when out of memory.
 */
json_t *
host_json(struct ctx *ctx, const struct inv_host *h, bool full)
{
	json_t *o, *macs, *attrs;
	char served[32];
	int64_t when = 0;
	struct events *ev;
	size_t i;
	int bad = 0;

	o = json_object();
	macs = json_array();
	attrs = full ? json_object() : NULL;
	if (o == NULL || macs == NULL || (full && attrs == NULL)) {
		json_decref(o);
		json_decref(macs);
		json_decref(attrs);
		return NULL;
	}
	for (i = 0; i < h->nmacs; i++)
		bad |= json_array_append_new(macs, json_str(h->macs[i]));
	bad |= json_object_set_new(o, "fqdn", json_str(h->fqdn));
	bad |= json_object_set_new(o, "environment", json_str(h->env));
	bad |= json_object_set_new(o, "action",
	    json_str(action_name(h->action)));
	bad |= json_object_set_new(o, "distribution", json_str(h->dist));
	bad |= json_object_set_new(o, "macs", macs);
	if (full) {
		for (i = 0; i < h->nattrs; i++)
			bad |= json_object_set_new(attrs, h->attrs[i].key,
			    json_str(h->attrs[i].value));
		bad |= json_object_set_new(o, "attrs", attrs);
		/* The token only to who may change the host (as the text). */
		bad |= json_object_set_new(o, "token", json_str(h->token !=
		    NULL && env_allowed(ctx, h->env, NULL) == BOOTD_OK ?
		    h->token : NULL));
		bad |= json_set_time(o, "token_expires", h->token != NULL ?
		    h->token_expires : 0);
		served[0] = '\0';
		if ((ev = events_db(ctx)) != NULL &&
		    events_seen(ev, (const char *const *)h->macs, h->nmacs,
		    &when, served, sizeof(served), &ctx->err) != BOOTD_OK) {
			warnmsg("%s", ctx->err.text);
			when = 0;
			served[0] = '\0';
		}
		bad |= json_set_time(o, "last_seen", when);
		bad |= json_object_set_new(o, "last_served",
		    json_str(served[0] != '\0' ? served : NULL));
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
verb_host_show(struct ctx *ctx, struct args *a)
{
	struct inv_host *h = NULL;
	struct buf b = { 0 };
	enum bootd_err rc;
	char t[32], served[32];
	size_t i;

	if ((rc = inv_host_get(ctx->inv, a->argv[0], &h, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	if (a->json) {
		json_t *doc = host_json(ctx, h, true);

		inv_host_free(h);
		return json_emit(doc);
	}
	show_line("fqdn:", h->fqdn);
	show_line("environment:", h->env);
	show_line("action:", action_name(h->action));
	show_line("distribution:", h->dist);
	for (i = 0; i < h->nmacs; i++)
		show_line("mac:", h->macs[i]);
	for (i = 0; i < h->nattrs; i++) {
		buf_reset(&b);
		buf_printf(&b, "%s=%s", h->attrs[i].key, h->attrs[i].value);
		show_line("attr:", buf_str(&b));
	}
	/*
	 * The token lets its holder end the install; show it only to those
	 * who may change the host anyway.
	 */
	if (h->token != NULL && env_allowed(ctx, h->env, NULL) == BOOTD_OK)
		show_line("token:", h->token);
	show_line("token-expires:", fmt_time(h->token_expires, t));
	host_seen(ctx, h, t, served, sizeof(served));
	show_line("last-seen:", t);
	show_line("last-served:", served);
	buf_free(&b);
	inv_host_free(h);
	return EXIT_OK;
}

void
host_row(struct ctx *ctx, struct table *t, const struct inv_host *h,
    bool status)
{
	struct buf macs = { 0 };
	char tm[32], served[32];
	size_t i;

	table_add(t, h->fqdn);
	if (status) {
		table_add(t, action_name(h->action));
		table_add(t, h->dist);
		table_add(t, fmt_time(h->token != NULL ? h->token_expires : 0,
		    tm));
		host_seen(ctx, h, tm, served, sizeof(served));
		table_add(t, tm);
		table_add(t, served);
		return;
	}
	table_add(t, h->env);
	table_add(t, action_name(h->action));
	table_add(t, h->dist);
	for (i = 0; i < h->nmacs; i++)
		buf_printf(&macs, "%s%s", i ? "," : "", h->macs[i]);
	if (buf_failed(&macs))
		t->failed = true;
	table_add(t, buf_str(&macs));
	buf_free(&macs);
}

int
verb_host_list(struct ctx *ctx, struct args *a)
{
	struct table t;
	struct inv_host **hs;
	json_t *doc, *list;
	int i, n, ret;

	if (hosts_select(ctx, a, false, &hs, &n) != EXIT_OK)
		return EXIT_FAIL;
	if (a->json) {
		doc = json_object();
		if ((list = json_array()) == NULL ||
		    json_object_set_new(doc, "hosts", list) != 0) {
			json_decref(doc);
			doc = NULL;
		}
		for (i = 0; doc != NULL && i < n; i++)
			if (json_array_append_new(list,
			    host_json(ctx, hs[i], false)) != 0) {
				json_decref(doc);
				doc = NULL;
			}
		hosts_free(hs, n);
		return json_emit(doc);
	}
	table_head(&t, "HOST", "ENV", "ACTION", "DIST", "MACS", NULL);
	for (i = 0; i < n; i++)
		host_row(ctx, &t, hs[i], false);
	ret = table_done(ctx, &t, BOOTD_OK);
	hosts_free(hs, n);
	return ret;
}

static void
set_env_describe(struct ctx *ctx, struct args *a, const struct inv_host *h,
    struct buf *b)
{
	buf_printf(b, "environment %s -> %s", h->env, a->values[0]);
}

static enum bootd_err
set_env_apply(struct ctx *ctx, struct args *a, const struct inv_host *h)
{
	char x[INV_EXACT_NAME_MAX];

	return inv_host_set_env(ctx->inv, inv_exact_name(h->fqdn, x),
	    a->values[0], &ctx->err);
}

int
verb_host_set_env(struct ctx *ctx, struct args *a)
{
	static const struct change c = { set_env_describe,
	    set_env_apply, NULL, false };

	if (env_for_change(ctx, a->values[0]) != EXIT_OK)
		return EXIT_FAIL;
	return select_and_apply(ctx, a, &c);
}

static void
set_dist_describe(struct ctx *ctx, struct args *a, const struct inv_host *h,
    struct buf *b)
{
	buf_printf(b, "distribution %s -> %s", h->dist != NULL ? h->dist : "-",
	    a->values[0]);
}

static enum bootd_err
set_dist_apply(struct ctx *ctx, struct args *a, const struct inv_host *h)
{
	char x[INV_EXACT_NAME_MAX];
	const char *dist = a->values[0];

	return inv_host_set_dist(ctx->inv, inv_exact_name(h->fqdn, x),
	    strcmp(dist, "-") == 0 ? NULL : dist, &ctx->err);
}

int
verb_host_set_dist(struct ctx *ctx, struct args *a)
{
	static const struct change c = { set_dist_describe,
	    set_dist_apply, NULL, true };

	if (strcmp(a->values[0], "-") != 0 &&
	    dist_exists(ctx, a->values[0]) != EXIT_OK)
		return EXIT_FAIL;
	return select_and_apply(ctx, a, &c);
}

int
verb_nic_add(struct ctx *ctx, struct args *a)
{
	char x[INV_EXACT_NAME_MAX];
	enum bootd_err rc;

	rc = inv_nic_add(ctx->inv, inv_exact_name(ctx->host->fqdn, x),
	    a->argv[1], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

int
verb_nic_remove(struct ctx *ctx, struct args *a)
{
	char mac[MAC_STRLEN + 1];
	struct inv_host *h;
	enum bootd_err rc;

	if ((rc = mac_canon(a->argv[0], mac, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	if (host_for_change(ctx, mac, &h) != EXIT_OK)
		return EXIT_FAIL;
	inv_host_free(h);
	rc = inv_nic_remove(ctx->inv, mac, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

/* The value of attribute key of h, or "-". */
static const char *
attr_value(const struct inv_host *h, const char *key)
{
	size_t i;

	for (i = 0; i < h->nattrs; i++)
		if (strcmp(h->attrs[i].key, key) == 0)
			return h->attrs[i].value;
	return "-";
}

static void
attr_set_describe(struct ctx *ctx, struct args *a, const struct inv_host *h,
    struct buf *b)
{
	buf_printf(b, "attr %s %s -> %s", a->values[0],
	    attr_value(h, a->values[0]), a->values[1]);
}

static enum bootd_err
attr_set_apply(struct ctx *ctx, struct args *a, const struct inv_host *h)
{
	char x[INV_EXACT_NAME_MAX];

	return inv_attr_set(ctx->inv, inv_exact_name(h->fqdn, x), a->values[0],
	    a->values[1], &ctx->err);
}

int
verb_attr_set(struct ctx *ctx, struct args *a)
{
	static const struct change c = { attr_set_describe,
	    attr_set_apply, NULL, true };
	enum bootd_err rc;

	/* Checked before any host is, as libboot checks them again. */
	if ((rc = valid_attr_key(a->values[0], &ctx->err)) != BOOTD_OK ||
	    (rc = valid_attr_value(a->values[1], &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	return select_and_apply(ctx, a, &c);
}

/*
 * Hosts chosen by selectors that lack the attribute have nothing to
 * unset: skipped.  A host named one by one without it is an error
 * (libboot's), as a named host that cannot be changed always is.
 */
static bool
attr_unset_skip(struct ctx *ctx, struct args *a, const struct inv_host *h)
{
	size_t i;

	if (!selectors_given(a))
		return false;
	for (i = 0; i < h->nattrs; i++)
		if (strcmp(h->attrs[i].key, a->values[0]) == 0)
			return false;
	return true;
}

static void
attr_unset_describe(struct ctx *ctx, struct args *a, const struct inv_host *h,
    struct buf *b)
{
	if (attr_unset_skip(ctx, a, h))
		buf_printf(b, "attr %s not set; skipped", a->values[0]);
	else
		buf_printf(b, "attr %s %s -> -", a->values[0],
		    attr_value(h, a->values[0]));
}

static enum bootd_err
attr_unset_apply(struct ctx *ctx, struct args *a, const struct inv_host *h)
{
	char x[INV_EXACT_NAME_MAX];

	return inv_attr_unset(ctx->inv, inv_exact_name(h->fqdn, x),
	    a->values[0], &ctx->err);
}

int
verb_attr_unset(struct ctx *ctx, struct args *a)
{
	static const struct change c = { attr_unset_describe,
	    attr_unset_apply, attr_unset_skip, false };

	return select_and_apply(ctx, a, &c);
}
