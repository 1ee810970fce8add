/*
 * access.c - who runs bootctl, and what it may change
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootctl.h"

/* Whether the caller's real groups include the group called name. */
bool
in_group(const struct ctx *ctx, const char *name)
{
	struct group *gr;
	int i;

	if (name == NULL || name[0] == '\0')
		return false;
	if ((gr = getgrnam(name)) == NULL)
		return false;
	for (i = 0; i < ctx->ngroups; i++)
		if (ctx->groups[i] == gr->gr_gid)
			return true;
	return false;
}

/* Fill ctx->uid, groups and admin from the real ids.  0 or EXIT_FAIL. */
int
identify(struct ctx *ctx)
{
	int n;

	ctx->uid = getuid();
	if ((n = getgroups(0, NULL)) < 0) {
		warnmsg("getgroups: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if ((ctx->groups = calloc((size_t)n + 1, sizeof(gid_t))) == NULL) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	if ((n = getgroups(n, ctx->groups + 1)) < 0) {
		warnmsg("getgroups: %s", strerror(errno));
		return EXIT_FAIL;
	}
	ctx->groups[0] = getgid();
	ctx->ngroups = n + 1;
	ctx->admin = ctx->uid == 0 ||
	    (ctx->cfg != NULL && in_group(ctx, ctx->cfg->admin_group));
	return EXIT_OK;
}

/*
 * Open the file a caller named (import's document, --from), for reading,
 * as the caller: with the real uid and gid as the effective ones while
 * open() runs, so that bootctl, run setgid (or setuid), never reads for
 * its caller a file only its own ids may read (the inventory itself),
 * which an error message would then show part of.  "-" is standard
 * input.  what names the file in messages ("import", "--from").  Returns
 * the stream, or NULL with the reason printed.
 */
FILE *
open_as_caller(const char *path, const char *what)
{
	uid_t euid = geteuid();
	gid_t egid = getegid();
	FILE *f;
	int saved;

	if (strcmp(path, "-") == 0)
		return stdin;
	if ((egid != getgid() && setegid(getgid()) != 0) ||
	    (euid != getuid() && seteuid(getuid()) != 0)) {
		warnmsg("%s: dropping privileges: %s", what, strerror(errno));
		return NULL;
	}
	f = fopen(path, "r");
	saved = errno;
	if ((euid != geteuid() && seteuid(euid) != 0) ||
	    (egid != getegid() && setegid(egid) != 0)) {
		warnmsg("%s: restoring privileges: %s", what, strerror(errno));
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	if (f == NULL)
		warnmsg("%s: %s: %s", what, path, strerror(saved));
	return f;
}

/* "USER (uid N)" of the real uid, for the audit log. */
void
actor_name(uid_t uid, char *out, size_t len)
{
	struct passwd *pw;

	if ((pw = getpwuid(uid)) != NULL && pw->pw_name != NULL)
		snprintf(out, len, "%s (uid %lu)", pw->pw_name,
		    (unsigned long)uid);
	else
		snprintf(out, len, "#%lu (uid %lu)", (unsigned long)uid,
		    (unsigned long)uid);
}

/*
 * May the caller change hosts in environment env?  Returns BOOTD_OK,
 * BOOTD_EPERM, or an inventory error; *group gets the environment's group
 * (caller frees) when not NULL.
 */
enum bootd_err
env_allowed(struct ctx *ctx, const char *env, char **group)
{
	struct inv_env *e = NULL;
	enum bootd_err rc;
	bool ok;

	if (group != NULL)
		*group = NULL;
	if ((rc = inv_env_get(ctx->inv, env, &e, &ctx->err)) != BOOTD_OK)
		return rc;
	ok = ctx->admin || in_group(ctx, e->group);
	if (group != NULL && (*group = strdup(e->group)) == NULL)
		rc = BOOTD_ENOMEM;
	inv_env_free(e);
	if (rc != BOOTD_OK)
		return bootd_error_set(&ctx->err, rc, "out of memory");
	return ok ? BOOTD_OK : BOOTD_EPERM;
}

const char *
group_label(const char *group)
{
	return group != NULL && group[0] != '\0' ? group : "none, admins only";
}

/*
 * The authorizer libboot calls inside the transaction of every change to
 * a host (inv_set_authorizer()): env_allowed()'s rule, applied to the
 * host's environment as that transaction reads it.
 */
enum bootd_err
authorize(const char *fqdn, const char *env, const char *group, void *arg,
    struct bootd_error *err)
{
	struct ctx *ctx = arg;

	if (ctx->admin)
		return BOOTD_OK;
	/*
	 * A change of many hosts asks once per host, mostly about the same
	 * group: the last answer is kept (getgrnam() reads /etc/group).
	 */
	if (ctx->authz_group == NULL || strcmp(ctx->authz_group, group) != 0) {
		free(ctx->authz_group);
		if ((ctx->authz_group = strdup(group)) == NULL)
			return bootd_error_set(err, BOOTD_ENOMEM,
			    "out of memory");
		ctx->authz_ok = in_group(ctx, group);
	}
	if (ctx->authz_ok)
		return BOOTD_OK;
	return bootd_error_set(err, BOOTD_EPERM, "permission denied: %s, "
	    "environment %s (group %s)", fqdn, env, group_label(group));
}

/*
 * Look up host and check the caller may change it.  On success *out is
 * the host (caller frees with inv_host_free()) and EXIT_OK is returned;
 * otherwise the reason has been printed and EXIT_FAIL is returned.
 */
int
host_for_change(struct ctx *ctx, const char *host, struct inv_host **out)
{
	struct inv_host *h = NULL;
	enum bootd_err rc;
	char *group = NULL;

	*out = NULL;
	if ((rc = inv_host_get(ctx->inv, host, &h, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	rc = env_allowed(ctx, h->env, &group);
	if (rc == BOOTD_EPERM) {
		warnmsg("permission denied: %s is in environment %s (group %s)",
		    h->fqdn, h->env, group_label(group));
		free(group);
		inv_host_free(h);
		return EXIT_FAIL;
	}
	free(group);
	if (rc != BOOTD_OK) {
		inv_host_free(h);
		return fail(ctx, rc);
	}
	*out = h;
	return EXIT_OK;
}

/* Check the caller may put hosts into environment env. */
int
env_for_change(struct ctx *ctx, const char *env)
{
	enum bootd_err rc;
	char *group = NULL;

	rc = env_allowed(ctx, env, &group);
	if (rc == BOOTD_EPERM)
		warnmsg("permission denied: environment %s (group %s)", env,
		    group_label(group));
	free(group);
	if (rc == BOOTD_EPERM)
		return EXIT_FAIL;
	if (rc != BOOTD_OK)
		return fail(ctx, rc);
	return EXIT_OK;
}

/* Check distribution name exists (before a change that needs it). */
int
dist_exists(struct ctx *ctx, const char *name)
{
	struct inv_dist *d = NULL;
	enum bootd_err rc;

	if ((rc = inv_dist_get(ctx->inv, name, &d, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	inv_dist_free(d);
	return EXIT_OK;
}
