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

int
verb_host_remove(struct ctx *ctx, struct args *a)
{
	return change_hosts(ctx, a, inv_host_remove);
}

int
verb_host_rename(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_host_rename(ctx->inv, ctx->host->fqdn, a->argv[1], &ctx->err);
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
host_list_cb(const struct inv_host *h, void *arg)
{
	struct host_list_arg *la = arg;

	if (la->env == NULL || strcmp(la->env, h->env) == 0)
		host_row(la->ctx, la->t, h, la->status);
	return 0;
}

int
verb_host_list(struct ctx *ctx, struct args *a)
{
	struct table t;
	struct host_list_arg la = { ctx, &t, a->env, false };
	struct inv_env *e = NULL;
	enum bootd_err rc;

	if (a->env != NULL) {
		if ((rc = inv_env_get(ctx->inv, a->env, &e, &ctx->err)) !=
		    BOOTD_OK)
			return fail(ctx, rc);
		inv_env_free(e);
	}
	table_head(&t, "HOST", "ENV", "ACTION", "DIST", "MACS", NULL);
	rc = inv_host_each(ctx->inv, host_list_cb, &la, &ctx->err);
	return table_done(ctx, &t, rc);
}

int
verb_host_set_env(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	if (env_for_change(ctx, a->argv[1]) != EXIT_OK)
		return EXIT_FAIL;
	rc = inv_host_set_env(ctx->inv, ctx->host->fqdn, a->argv[1],
	    &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

int
verb_host_set_dist(struct ctx *ctx, struct args *a)
{
	const char *dist = a->argv[1];
	enum bootd_err rc;

	if (strcmp(dist, "-") == 0)
		dist = NULL;
	rc = inv_host_set_dist(ctx->inv, ctx->host->fqdn, dist, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

int
verb_nic_add(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_nic_add(ctx->inv, ctx->host->fqdn, a->argv[1], &ctx->err);
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

int
verb_attr_set(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_attr_set(ctx->inv, ctx->host->fqdn, a->argv[1], a->argv[2],
	    &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

int
verb_attr_unset(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_attr_unset(ctx->inv, ctx->host->fqdn, a->argv[1], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}
