/*
 * inv_audit.c - the audit log: the row every change writes with it, and reading
 * the log back (inv_audit_each)
 */
#include <time.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "inv.h"
#include "inv_int.h"
#include "valid.h"

/*
 * A time in an audit row's values, as every output of bootctl gives
 * times: RFC 3339 UTC, "2026-01-02T03:04:05Z".  Returns out.
 */
const char *
audit_time(int64_t t, char out[32])
{
	/* A bulk change writes one time thousands of times: the last. */
	static int64_t last_t;
	static char last[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (last[0] != '\0' && t == last_t) {
		memcpy(out, last, sizeof(last));
		return out;
	}
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
	last_t = t;
	memcpy(last, out, sizeof(last));
	return out;
}

enum bootd_err
audit(struct inv *inv, int64_t now, const char *op, const char *object,
    const char *old, const char *new_, struct bootd_error *err)
{
	struct db_stmt *s;

	if ((s = stmt(inv, S_AUDIT, err)) == NULL)
		return inv->dbrc;
	bind_int(s, 1, now);
	bind_text(s, 2, inv->actor);
	bind_text(s, 3, op);
	bind_text(s, 4, object);
	bind_text(s, 5, old);
	bind_text(s, 6, new_);
	return run(inv, s, "audit", err);
}

/* Listings ------------------------------------------------------------ */

static void
audit_clear(struct inv_audit *a)
{
	free(a->actor);
	free(a->op);
	free(a->object);
	free(a->old_value);
	free(a->new_value);
}

/* fill for read_rows(): a struct inv_audit from S_AUDIT_ALL or _OBJ. */
static enum bootd_err
fill_audit(struct db_stmt *s, void *elem, struct bootd_error *err)
{
	struct inv_audit *a = elem;

	memset(a, 0, sizeof(*a));
	a->id = db_column_int64(s, 0);
	a->time = db_column_int64(s, 1);
	if (col_dup(s, 2, &a->actor) || col_dup(s, 3, &a->op) ||
	    col_dup(s, 4, &a->object) || col_dup(s, 5, &a->old_value) ||
	    col_dup(s, 6, &a->new_value)) {
		audit_clear(a);
		return nomem(err);
	}
	return BOOTD_OK;
}

enum bootd_err
inv_audit_each(struct inv *inv, const char *object,
    int (*fn)(const struct inv_audit *, void *), void *arg,
    struct bootd_error *err)
{
	struct inv_audit *as;
	struct href ref;
	char low[FQDN_BUF];
	size_t i, n;
	struct db_stmt *s;
	enum bootd_err rc;

	if (object != NULL) {
		/* A host named any way it can be named, else the name. */
		if (resolve(inv, object, &ref, NULL) == BOOTD_OK)
			object = ref.fqdn;
		else if (lower_copy(object, low, sizeof(low)) == 0 &&
		    valid_fqdn(low, NULL) == BOOTD_OK && strchr(low, '.'))
			object = low;
	}
	if ((s = stmt(inv, object != NULL ? S_AUDIT_OBJ : S_AUDIT_ALL,
	    err)) == NULL)
		return BOOTD_EDB;
	if (object != NULL)
		bind_text(s, 1, object);
	as = read_rows(inv, s, sizeof(*as), fill_audit, &n, &rc,
	    "read audit log", err);
	for (i = 0; i < n; i++) {
		if (rc == BOOTD_OK && fn != NULL && fn(&as[i], arg) != 0)
			fn = NULL;	/* stop */
		audit_clear(&as[i]);
	}
	free(as);
	return rc;
}
