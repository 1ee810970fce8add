/*
 * history.c - what was recorded: discovered MACs, the audit log
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"

/*
 * Print one discovered MAC as it is read: fixed-width columns, so that
 * the listing streams instead of being held in memory.  A MAC that a host
 * has been given since it booted is left out, and so is one forgotten
 * (or adopted) after it last asked.
 */
struct discovered_arg {
	struct ctx	*ctx;
	long		 limit;		/* rows to print; 0 = all */
	long		 printed;
	struct json_list *jl;		/* --json: rows go here instead */
};

/* One discovered MAC as JSON (see JSON OUTPUT in bootctl(8)). */
static json_t *
discovered_json(const struct events_discovered *d)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "mac", json_str(d->mac)) ||
	    json_set_time(o, "first_seen", d->first_seen) ||
	    json_set_time(o, "last_seen", d->last_seen) ||
	    json_object_set_new(o, "count", json_integer(d->count)) ||
	    json_object_set_new(o, "params", json_str(d->params != NULL &&
	    d->params[0] != '\0' ? d->params : NULL))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
discovered_cb(const struct events_discovered *d, void *arg)
{
	struct discovered_arg *da = arg;
	struct buf b = { 0 };
	char first[32], last[32], *fqdn = NULL;
	int64_t forgotten = 0;

	if (inv_host_resolve(da->ctx->inv, d->mac, &fqdn, NULL) == BOOTD_OK) {
		free(fqdn);
		return 0;
	}
	/* Forgotten (or adopted) since it last asked (adopt.c). */
	if (inv_discovered_forgotten(da->ctx->inv, d->mac, &forgotten, NULL) ==
	    BOOTD_OK && forgotten >= d->last_seen)
		return 0;
	if (da->jl != NULL) {
		json_list_add(da->jl, discovered_json(d));
		da->printed++;
		return da->jl->failed ||
		    (da->limit > 0 && da->printed >= da->limit);
	}
	safe_append(&b, d->params != NULL && d->params[0] != '\0' ?
	    d->params : "-");
	printf("%-17s  %-20s  %-20s  %8lld  %s\n", d->mac,
	    fmt_time(d->first_seen, first), fmt_time(d->last_seen, last),
	    (long long)d->count, buf_failed(&b) ? "?" : buf_str(&b));
	buf_free(&b);
	da->printed++;
	return ferror(stdout) || (da->limit > 0 && da->printed >= da->limit);
}

int
verb_discovered_list(struct ctx *ctx, struct args *a)
{
	struct discovered_arg da = { ctx, 0, 0, NULL };
	struct json_list jl;
	struct events *ev;
	enum bootd_err rc;
	char *end;

	if (a->limit != NULL) {
		errno = 0;
		da.limit = strtol(a->limit, &end, 10);
		if (errno != 0 || *end != '\0' || end == a->limit ||
		    da.limit < 1) {
			warnmsg("discovered list: --limit: expected a positive "
			    "number");
			return EXIT_USAGE;
		}
	}
	if (a->json) {
		json_list_start(&jl, "discovered");
		da.jl = &jl;
		rc = BOOTD_OK;
		if (!jl.failed && (ev = events_db(ctx)) != NULL)
			rc = events_discovered_each(ev, 0, discovered_cb, &da,
			    &ctx->err);
		return json_list_done(ctx, &jl, rc);
	}
	printf("%-17s  %-20s  %-20s  %8s  %s\n", "MAC", "FIRST-SEEN",
	    "LAST-SEEN", "COUNT", "PARAMS");
	if ((ev = events_db(ctx)) == NULL)
		return EXIT_OK;		/* nothing seen yet */
	rc = events_discovered_each(ev, 0, discovered_cb, &da, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
audit_cb(const struct inv_audit *au, void *arg)
{
	struct table *t = arg;
	struct buf change = { 0 };
	char tm[32];

	table_add(t, fmt_time(au->time, tm));
	table_add(t, au->actor);
	table_add(t, au->op);
	table_add(t, au->object);
	append_audit_value(&change, au->op, au->old_value);
	buf_puts(&change, " -> ");
	append_audit_value(&change, au->op, au->new_value);
	if (buf_failed(&change))
		t->failed = true;
	table_add(t, buf_str(&change));
	buf_free(&change);
	return 0;
}

/* One audit row as JSON (see JSON OUTPUT in bootctl(8)). */
static int
audit_json_cb(const struct inv_audit *au, void *arg)
{
	struct json_list *jl = arg;
	json_t *o;

	if ((o = json_object()) != NULL &&
	    (json_object_set_new(o, "id", json_integer(au->id)) ||
	    json_set_time(o, "time", au->time) ||
	    json_object_set_new(o, "actor", json_str(au->actor)) ||
	    json_object_set_new(o, "op", json_str(au->op)) ||
	    json_object_set_new(o, "object", json_str(au->object)) ||
	    json_object_set_new(o, "old", json_str(au->old_value)) ||
	    json_object_set_new(o, "new", json_str(au->new_value)))) {
		json_decref(o);
		o = NULL;
	}
	json_list_add(jl, o);
	return jl->failed;
}

static int
audit_count_cb(const struct inv_audit *au, void *arg)
{
	(void)au;
	return ++*(int *)arg > 0;	/* one is enough */
}

int
verb_audit(struct ctx *ctx, struct args *a)
{
	struct json_list jl;
	struct table t;
	const char *object = NULL;
	char *fqdn = NULL, x[INV_EXACT_NAME_MAX];
	enum bootd_err rc;
	int n = 0;

	if (a->argc == 1) {
		/*
		 * A host, named so that inv_audit_each() finds it alone; a
		 * removed host no longer resolves: use the name given.  An
		 * ambiguous name is refused, as by every verb.
		 */
		object = a->argv[0];
		rc = inv_host_resolve(ctx->inv, a->argv[0], &fqdn, &ctx->err);
		if (rc == BOOTD_OK)
			object = inv_exact_name(fqdn, x);
		else if (rc != BOOTD_ENOTFOUND)
			return fail(ctx, rc);
		/* A name that never was a host is an error, as in history. */
		else if ((rc = inv_audit_each(ctx->inv, object, audit_count_cb,
		    &n, &ctx->err)) != BOOTD_OK)
			return fail(ctx, rc);
		else if (n == 0) {
			warnmsg("audit: no host \"%s\", now or in the audit "
			    "log", object);
			return EXIT_FAIL;
		}
	}
	if (a->json) {
		json_list_start(&jl, "audit");
		rc = jl.failed ? BOOTD_OK : inv_audit_each(ctx->inv, object,
		    audit_json_cb, &jl, &ctx->err);
		free(fqdn);
		return json_list_done(ctx, &jl, rc);
	}
	table_head(&t, "TIME", "ACTOR", "OP", "OBJECT", "CHANGE", NULL);
	rc = inv_audit_each(ctx->inv, object, audit_cb, &t, &ctx->err);
	free(fqdn);
	return table_done(ctx, &t, rc);
}
