/*
 * inv_env.c - environments: the group of operators that may change a host
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inv.h"
#include "inv_int.h"
#include "valid.h"

static enum bootd_err
fill_env(struct db_stmt *s, void *elem, struct bootd_error *err)
{
	struct inv_env *e, **out = elem;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return nomem(err);
	if (col_dup(s, 0, &e->name) || col_dup(s, 1, &e->group)) {
		inv_env_free(e);
		return nomem(err);
	}
	*out = e;
	return BOOTD_OK;
}

/*
 * Find environment name and, when out is not NULL, load it into *out (the
 * caller frees it with inv_env_free()).  BOOTD_ENOTFOUND with a message
 * when there is none.
 */
enum bootd_err
env_get(struct inv *inv, const char *name, struct inv_env **out,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;
	char qn[QBUF];

	if ((s = stmt(inv, S_ENV_GET, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, name);
	if ((rc = first_row(inv, s, "read environment", err)) ==
	    BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "no environment \"%s\"",
		    q(name, qn));
	if (rc == BOOTD_OK) {
		if (out != NULL)
			rc = fill_env(s, out, err);
		db_reset(s);
	}
	return rc;
}

/* Environments -------------------------------------------------------- */

static enum bootd_err
env_add(struct inv *inv, const char *name, const char *group,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;
	char n[80];

	if (group == NULL)
		group = "";
	if ((rc = valid_name("environment", name, err)) != BOOTD_OK ||
	    (rc = valid_group(group, err)) != BOOTD_OK)
		return rc;
	rc = env_get(inv, name, NULL, NULL);
	if (rc == BOOTD_OK)
		return bootd_error_set(err, BOOTD_EEXIST, "environment %s "
		    "already exists", name);
	if (rc != BOOTD_ENOTFOUND)
		return env_get(inv, name, NULL, err);
	if ((s = stmt(inv, S_ENV_INSERT, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, name);
	bind_text(s, 2, group);
	if ((rc = run(inv, s, "add environment", err)) != BOOTD_OK)
		return rc;
	snprintf(n, sizeof(n), "group=%s", group);
	return audit(inv, time(NULL), "env-add", name, NULL, n, err);
}

enum bootd_err
inv_env_add(struct inv *inv, const char *name, const char *group,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, env_add(inv, name, group, err), err);
}

static enum bootd_err
env_set_group(struct inv *inv, const char *name, const char *group,
    struct bootd_error *err)
{
	struct inv_env *e = NULL;
	struct db_stmt *s;
	enum bootd_err rc;
	char o[80], n[80];

	if (group == NULL)
		group = "";
	if ((rc = valid_name("environment", name, err)) != BOOTD_OK ||
	    (rc = valid_group(group, err)) != BOOTD_OK)
		return rc;
	if ((rc = env_get(inv, name, &e, err)) != BOOTD_OK)
		return rc;
	if (strcmp(e->group, group) == 0)
		goto out;	/* nothing changes, nothing is audited */
	if ((s = stmt(inv, S_ENV_SET_GROUP, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	bind_text(s, 1, name);
	bind_text(s, 2, group);
	if ((rc = run(inv, s, "set group of environment", err)) != BOOTD_OK)
		goto out;
	snprintf(o, sizeof(o), "group=%s", e->group);
	snprintf(n, sizeof(n), "group=%s", group);
	rc = audit(inv, time(NULL), "env-set-group", name, o, n, err);
out:
	inv_env_free(e);
	return rc;
}

enum bootd_err
inv_env_set_group(struct inv *inv, const char *name, const char *group,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, env_set_group(inv, name, group, err), err);
}

static enum bootd_err
env_remove(struct inv *inv, const char *name, struct bootd_error *err)
{
	struct inv_env *e = NULL;
	struct db_stmt *s;
	enum bootd_err rc;
	int64_t n = 0;
	char o[80];

	if ((rc = valid_name("environment", name, err)) != BOOTD_OK)
		return rc;
	if (strcmp(name, INV_DEFAULT_ENV) == 0)
		return bootd_error_set(err, BOOTD_EINVAL, "environment %s "
		    "cannot be removed", name);
	if ((rc = inv_env_get(inv, name, &e, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_ENV_USERS, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	bind_text(s, 1, name);
	if ((rc = run_int(inv, s, &n, "count hosts", err)) != BOOTD_OK)
		goto out;
	if (n > 0) {
		rc = bootd_error_set(err, BOOTD_EINVAL, "environment %s is "
		    "used by %lld host%s", name, (long long)n, n > 1 ? "s" : "");
		goto out;
	}
	if ((rc = run_text(inv, S_ENV_DELETE, name, "remove environment",
	    err)) != BOOTD_OK)
		goto out;
	snprintf(o, sizeof(o), "group=%s", e->group);
	rc = audit(inv, time(NULL), "env-remove", name, o, NULL, err);
out:
	inv_env_free(e);
	return rc;
}

enum bootd_err
inv_env_remove(struct inv *inv, const char *name, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, env_remove(inv, name, err), err);
}

void
inv_env_free(struct inv_env *e)
{
	if (e == NULL)
		return;
	free(e->name);
	free(e->group);
	free(e);
}

enum bootd_err
inv_env_get(struct inv *inv, const char *name, struct inv_env **out,
    struct bootd_error *err)
{
	*out = NULL;
	return env_get(inv, name, out, err);
}

enum bootd_err
inv_env_each(struct inv *inv, int (*fn)(const struct inv_env *, void *),
    void *arg, struct bootd_error *err)
{
	struct inv_env **es;
	size_t i, n;
	struct db_stmt *s;
	enum bootd_err rc;

	if ((s = stmt(inv, S_ENV_ALL, err)) == NULL)
		return inv->dbrc;
	es = read_rows(inv, s, sizeof(*es), fill_env, &n, &rc,
	    "list environments", err);
	for (i = 0; i < n; i++) {
		if (rc == BOOTD_OK && fn != NULL && fn(es[i], arg) != 0)
			fn = NULL;	/* stop */
		inv_env_free(es[i]);
	}
	free(es);
	return rc;
}
