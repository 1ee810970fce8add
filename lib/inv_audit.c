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

/* Insert one audit row. */
static enum bootd_err
audit_one(struct inv *inv, int64_t now, const char *actor, const char *op,
    const char *object, const char *old, const char *new_,
    struct bootd_error *err)
{
	struct db_stmt *s;

	if ((s = stmt(inv, S_AUDIT, err)) == NULL)
		return inv->dbrc;
	bind_int(s, 1, now);
	bind_ref(s, 2, actor);
	bind_ref(s, 3, op);
	bind_ref(s, 4, object);
	bind_ref(s, 5, old);
	bind_ref(s, 6, new_);
	return run(inv, s, "audit", err);
}

/*
 * Outside a group the row is written at once.  Inside one it is held
 * back and written with the next AUDIT_BATCH - 1 in one statement, or
 * by inv_commit() (audit_flush()): a statement per row was a sixth of a
 * bulk set-reinstall.  A failure to write them fails the change that
 * filled the batch, or the commit: the group is rolled back either way.
 */
enum bootd_err
audit(struct inv *inv, int64_t now, const char *op, const char *object,
    const char *old, const char *new_, struct bootd_error *err)
{
	const char *v[5] = { inv->actor, op, object, old, new_ };
	struct audit_row *r;
	enum bootd_err rc;
	size_t i;

	if (!inv->grouped)
		return audit_one(inv, now, inv->actor, op, object, old, new_,
		    err);
	if (inv->naudit == AUDIT_BATCH &&
	    (rc = audit_flush(inv, err)) != BOOTD_OK)
		return rc;
	r = &inv->audit_rows[inv->naudit];
	r->time = now;
	for (i = 0; i < 5; i++) {
		if (v[i] == NULL) {
			r->at[i] = AUDIT_NULL;
			continue;
		}
		r->at[i] = inv->audit_text.len;
		buf_append(&inv->audit_text, v[i], strlen(v[i]) + 1);
	}
	if (buf_failed(&inv->audit_text))
		return nomem(err);
	inv->naudit++;
	return BOOTD_OK;
}

/* Column i of held-back row r, or NULL. */
static const char *
audit_col(struct inv *inv, const struct audit_row *r, int i)
{
	return r->at[i] == AUDIT_NULL ? NULL :
	    inv->audit_text.data + r->at[i];
}

enum bootd_err
audit_flush(struct inv *inv, struct bootd_error *err)
{
	const struct audit_row *r;
	struct db_stmt *s;
	enum bootd_err rc = BOOTD_OK;
	size_t i;
	int c;

	if (inv->naudit == AUDIT_BATCH) {
		if ((s = stmt(inv, S_AUDIT_BATCH, err)) == NULL) {
			rc = inv->dbrc;
			goto out;
		}
		for (i = 0; i < AUDIT_BATCH; i++) {
			r = &inv->audit_rows[i];
			bind_int(s, (int)i * 6 + 1, r->time);
			for (c = 0; c < 5; c++)
				bind_ref(s, (int)i * 6 + 2 + c,
				    audit_col(inv, r, c));
		}
		rc = run(inv, s, "audit", err);
		goto out;
	}
	for (i = 0; i < inv->naudit && rc == BOOTD_OK; i++) {
		r = &inv->audit_rows[i];
		rc = audit_one(inv, r->time, audit_col(inv, r, 0),
		    audit_col(inv, r, 1), audit_col(inv, r, 2),
		    audit_col(inv, r, 3), audit_col(inv, r, 4), err);
	}
out:
	audit_drop(inv);
	return rc;
}

void
audit_drop(struct inv *inv)
{
	inv->naudit = 0;
	buf_reset(&inv->audit_text);
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
	char low[INV_EXACT_NAME_MAX];
	size_t i, n;
	struct db_stmt *s;
	enum bootd_err rc;

	/* The group's rows first: a change it made is in the log. */
	if (inv->grouped && (rc = audit_flush(inv, err)) != BOOTD_OK) {
		inv->group_failed = 1;
		return rc;
	}
	if (object != NULL) {
		/*
		 * A host named any way it can be named, else the FQDN the
		 * name spells (a host that is gone), else the name.  Only a
		 * name that is no host falls back: an ambiguous short name
		 * is refused here as everywhere else.
		 */
		if ((rc = resolve(inv, object, &ref, err)) == BOOTD_OK)
			object = ref.fqdn;
		else if (rc == BOOTD_ENOTFOUND) {
			if (err != NULL)	/* not an error here */
				err->text[0] = '\0';
			object = inv_name_fqdn(object, low);
		} else
			return rc;
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
