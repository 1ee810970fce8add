/*
 * select.c - the hosts a change names, and changes of several hosts in one transaction
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"

/* Free n hosts from hosts_for_change().  Accepts NULL. */
void
hosts_free(struct inv_host **hs, int n)
{
	int i;

	if (hs == NULL)
		return;
	for (i = 0; i < n; i++)
		inv_host_free(hs[i]);
	free(hs);
}

/* qsort() order of struct inv_host pointers: by FQDN. */
static int
host_cmp(const void *a, const void *b)
{
	const struct inv_host *const *x = a, *const *y = b;

	return strcmp((*x)->fqdn, (*y)->fqdn);
}

/*
 * Resolve and authorize every host named in a->argv, before any change,
 * so a list with one bad or forbidden name changes nothing.  A host named
 * twice is refused.  On success *out holds a->argc hosts (free them with
 * hosts_free()) and EXIT_OK is returned; else the reason was printed.
 */
int
hosts_for_change(struct ctx *ctx, struct args *a, struct inv_host ***out)
{
	struct inv_host **hs, **byname;
	int i;

	*out = NULL;
	if ((hs = calloc((size_t)a->argc, sizeof(*hs))) == NULL) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < a->argc; i++) {
		if (host_for_change(ctx, a->argv[i], &hs[i]) != EXIT_OK) {
			hosts_free(hs, a->argc);
			return EXIT_FAIL;
		}
	}
	/* A host named twice (by two spellings, say): sorted, they meet. */
	if ((byname = malloc((size_t)a->argc * sizeof(*byname))) == NULL) {
		warnmsg("out of memory");
		hosts_free(hs, a->argc);
		return EXIT_FAIL;
	}
	memcpy(byname, hs, (size_t)a->argc * sizeof(*byname));
	qsort(byname, (size_t)a->argc, sizeof(*byname), host_cmp);
	for (i = 1; i < a->argc; i++) {
		if (strcmp(byname[i - 1]->fqdn, byname[i]->fqdn) == 0) {
			warnmsg("%s named twice", byname[i]->fqdn);
			free(byname);
			hosts_free(hs, a->argc);
			return EXIT_FAIL;
		}
	}
	free(byname);
	*out = hs;
	return EXIT_OK;
}

/*
 * Open the one transaction a change of several hosts runs in: all of them
 * or none.  Returns the exit status.
 */
int
group_begin(struct ctx *ctx)
{
	enum bootd_err rc;

	if ((rc = inv_begin(ctx->inv, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	return EXIT_OK;
}

/*
 * Report the failure of the change of host fqdn on one line and roll back
 * the whole transaction: no host was changed.  Returns EXIT_FAIL.
 */
int
group_fail(struct ctx *ctx, enum bootd_err rc, const char *fqdn, int nhosts)
{
	inv_rollback(ctx->inv);
	warnmsg("%s: %s%s", fqdn, ctx->err.text[0] != '\0' ? ctx->err.text :
	    bootd_strerror(rc), nhosts > 1 ? " (no host was changed)" : "");
	return EXIT_FAIL;
}

/* Commit the transaction of group_begin().  Returns the exit status. */
int
group_commit(struct ctx *ctx)
{
	enum bootd_err rc;

	if ((rc = inv_commit(ctx->inv, &ctx->err)) != BOOTD_OK) {
		inv_rollback(ctx->inv);
		return fail(ctx, rc);
	}
	return EXIT_OK;
}

/*
 * Apply change (inv_host_remove, inv_set_local...) to every host named in
 * a, all resolved and authorized first, in one transaction: all or none.
 * Returns the exit status.
 */
int
change_hosts(struct ctx *ctx, struct args *a,
    enum bootd_err (*change)(struct inv *, const char *, struct bootd_error *))
{
	struct inv_host **hs;
	enum bootd_err rc;
	int i, status;

	if (hosts_for_change(ctx, a, &hs) != EXIT_OK)
		return EXIT_FAIL;
	if ((status = group_begin(ctx)) != EXIT_OK) {
		hosts_free(hs, a->argc);
		return status;
	}
	for (i = 0; i < a->argc; i++) {
		if ((rc = change(ctx->inv, hs[i]->fqdn, &ctx->err)) !=
		    BOOTD_OK) {
			status = group_fail(ctx, rc, hs[i]->fqdn, a->argc);
			hosts_free(hs, a->argc);
			return status;
		}
	}
	hosts_free(hs, a->argc);
	return group_commit(ctx);
}
