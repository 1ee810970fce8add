/*
 * dist.c - dist and env verbs: distributions and environments
 */
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"
#include "valid.h"

/*
 * env add: a --group this system has no group of is refused, as chgrp
 * refuses one: a typo would leave the environment to nobody (admins only)
 * without a word.  --force names it anyway, for a group made later (or
 * known only to the machines bootctl runs on next).
 */
int
verb_env_add(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;
	const char *group = a->group != NULL ? a->group : "";

	if (a->force && a->group == NULL) {
		warnmsg("env add: --force goes with --group (usage: bootctl "
		    "env add NAME [--group GROUP [--force]])");
		return EXIT_USAGE;
	}
	if (group[0] != '\0' && !a->force && getgrnam(group) == NULL &&
	    valid_group(group, NULL) == BOOTD_OK) {
		rc = bootd_error_set(&ctx->err, BOOTD_ENOTFOUND, "env add: no "
		    "group \"%s\" on this system (create it first, or name it "
		    "anyway with --force)", group);
		return fail(ctx, rc);
	}
	rc = inv_env_add(ctx->inv, a->argv[0], group, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

int
verb_env_remove(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_env_remove(ctx->inv, a->argv[0], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
env_list_cb(const struct inv_env *e, void *arg)
{
	struct table *t = arg;

	table_add(t, e->name);
	table_add(t, e->group[0] != '\0' ? e->group : "(admins only)");
	return 0;
}

static int
env_json_cb(const struct inv_env *e, void *arg)
{
	struct json_list *jl = arg;
	json_t *o;

	if ((o = json_object()) != NULL &&
	    (json_object_set_new(o, "name", json_str(e->name)) ||
	    json_object_set_new(o, "group", json_str(e->group[0] != '\0' ?
	    e->group : NULL)))) {
		json_decref(o);
		o = NULL;
	}
	json_list_add(jl, o);
	return jl->failed;
}

int
verb_env_list(struct ctx *ctx, struct args *a)
{
	struct json_list jl;
	struct table t;
	enum bootd_err rc;

	if (a->json) {
		json_list_start(&jl, "environments");
		rc = jl.failed ? BOOTD_OK : inv_env_each(ctx->inv,
		    env_json_cb, &jl, &ctx->err);
		return json_list_done(ctx, &jl, rc);
	}
	table_head(&t, "ENV", "GROUP", NULL);
	rc = inv_env_each(ctx->inv, env_list_cb, &t, &ctx->err);
	return table_done(ctx, &t, rc);
}

int
verb_dist_add(struct ctx *ctx, struct args *a)
{
	struct inv_dist d;
	enum bootd_err rc;

	if (a->kernel == NULL || a->ninitrds == 0 || a->cmdline == NULL) {
		warnmsg("dist add: --kernel, --initrd and --cmdline are "
		    "required (see bootctl dist add --help)");
		return EXIT_USAGE;
	}
	d.name = a->argv[0];
	d.kernel = (char *)a->kernel;
	d.initrds = a->initrds;
	d.ninitrds = a->ninitrds;
	d.cmdline = (char *)a->cmdline;
	rc = inv_dist_add(ctx->inv, &d, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

/* What installs_render() asks of each host: its exit status so far. */
struct renders {
	struct ctx	*ctx;
	int		 status;
};

/* inv_dist_installing()'s call: check fqdn; 1 (stop) when refused. */
static int
install_renders_cb(const char *fqdn, void *arg)
{
	struct renders *r = arg;
	struct inv_host h = { 0 };
	enum bootd_err rc;

	h.fqdn = (char *)fqdn;
	if ((rc = install_renders(r->ctx, &h)) == BOOTD_OK)
		return 0;
	warnmsg("dist update: %s: %s; nothing was changed", fqdn,
	    r->ctx->err.text[0] != '\0' ? r->ctx->err.text :
	    bootd_strerror(rc));
	r->status = EXIT_FAIL;
	return 1;
}

/*
 * Every host marked install with distribution name can have its install
 * script made safely with the distribution as the update leaves it, as
 * set-reinstall checks (install_renders()): else bootd would boot it
 * locally instead of installing it.  Inside the update's transaction.
 * Returns the exit status, the reason printed with the host.
 */
static int
installs_render(struct ctx *ctx, const char *name)
{
	struct renders r = { ctx, EXIT_OK };
	enum bootd_err rc;

	if ((rc = inv_dist_installing(ctx->inv, name, install_renders_cb, &r,
	    &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	return r.status;
}

int
verb_dist_update(struct ctx *ctx, struct args *a)
{
	struct inv_dist *old = NULL, d;
	enum bootd_err rc;
	int status;

	if (a->kernel == NULL && a->ninitrds == 0 && a->cmdline == NULL) {
		warnmsg("dist update: nothing to change (see bootctl dist "
		    "update --help)");
		return EXIT_USAGE;
	}
	if (group_begin(ctx) != EXIT_OK)
		return EXIT_FAIL;
	if ((rc = inv_dist_get(ctx->inv, a->argv[0], &old, &ctx->err)) !=
	    BOOTD_OK) {
		inv_rollback(ctx->inv);
		return fail(ctx, rc);
	}
	d.name = old->name;
	d.kernel = a->kernel != NULL ? (char *)a->kernel : old->kernel;
	d.initrds = a->ninitrds != 0 ? a->initrds : old->initrds;
	d.ninitrds = a->ninitrds != 0 ? a->ninitrds : old->ninitrds;
	d.cmdline = a->cmdline != NULL ? (char *)a->cmdline : old->cmdline;
	if ((rc = inv_dist_update(ctx->inv, &d, &ctx->err)) != BOOTD_OK)
		status = fail(ctx, rc);
	else
		status = installs_render(ctx, d.name);
	if (status == EXIT_OK)
		status = group_commit(ctx);
	else
		inv_rollback(ctx->inv);
	inv_dist_free(old);
	return status;
}

static int
dist_list_cb(const struct inv_dist *d, void *arg)
{
	struct table *t = arg;
	char n[32];

	snprintf(n, sizeof(n), "%zu", d->ninitrds);
	table_add(t, d->name);
	table_add(t, n);
	table_add(t, d->kernel);
	return 0;
}

/* A distribution as JSON (see JSON OUTPUT in bootctl(8)). */
static json_t *
dist_json(const struct inv_dist *d)
{
	json_t *o, *initrds;
	size_t i;
	int bad = 0;

	o = json_object();
	if ((initrds = json_array()) == NULL || o == NULL) {
		json_decref(o);
		json_decref(initrds);
		return NULL;
	}
	for (i = 0; i < d->ninitrds; i++)
		bad |= json_array_append_new(initrds, json_str(d->initrds[i]));
	bad |= json_object_set_new(o, "name", json_str(d->name));
	bad |= json_object_set_new(o, "kernel", json_str(d->kernel));
	bad |= json_object_set_new(o, "initrds", initrds);
	bad |= json_object_set_new(o, "cmdline", json_str(d->cmdline));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
dist_json_cb(const struct inv_dist *d, void *arg)
{
	struct json_list *jl = arg;

	json_list_add(jl, dist_json(d));
	return jl->failed;
}

int
verb_dist_list(struct ctx *ctx, struct args *a)
{
	struct json_list jl;
	struct table t;
	enum bootd_err rc;

	if (a->json) {
		json_list_start(&jl, "distributions");
		rc = jl.failed ? BOOTD_OK : inv_dist_each(ctx->inv,
		    dist_json_cb, &jl, &ctx->err);
		return json_list_done(ctx, &jl, rc);
	}
	table_head(&t, "DIST", "INITRDS", "KERNEL", NULL);
	rc = inv_dist_each(ctx->inv, dist_list_cb, &t, &ctx->err);
	return table_done(ctx, &t, rc);
}

int
verb_dist_show(struct ctx *ctx, struct args *a)
{
	struct inv_dist *d = NULL;
	enum bootd_err rc;
	size_t i;

	if ((rc = inv_dist_get(ctx->inv, a->argv[0], &d, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	if (a->json) {
		json_t *doc = dist_json(d);

		inv_dist_free(d);
		return json_emit(doc);
	}
	show_line("name:", d->name);
	show_line("kernel:", d->kernel);
	for (i = 0; i < d->ninitrds; i++)
		show_line("initrd:", d->initrds[i]);
	show_line("cmdline:", d->cmdline);
	inv_dist_free(d);
	return EXIT_OK;
}

int
verb_dist_remove(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_dist_remove(ctx->inv, a->argv[0], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}
