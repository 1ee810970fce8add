/*
 * inv_boot.c - the boot lookup (inv_lookup), the hot path of every boot, and
 * its query plans
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "inv.h"
#include "inv_int.h"
#include "mac.h"

/* The hot path -------------------------------------------------------- */

void
inv_boot_free(struct inv_boot *b)
{
	size_t i;

	if (b == NULL)
		return;
	inv_host_free(b->host);
	inv_dist_free(b->dist);
	for (i = 0; i < b->nmanual; i++)
		inv_dist_free(b->manual[i]);
	free(b->manual);
	memset(b, 0, sizeof(*b));
}

/* Append the attribute in columns 6 and 7 of S_LOOKUP's row to h. */
static enum bootd_err
lookup_attr(struct db_stmt *s, struct inv_host *h, size_t *cap,
    struct bootd_error *err)
{
	struct inv_kv *p, *kv;

	if (db_column_is_null(s, 6))
		return BOOTD_OK;	/* the host has no attributes */
	if (h->nattrs == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		if ((p = reallocarray(h->attrs, *cap, sizeof(*p))) == NULL)
			return nomem(err);
		h->attrs = p;
	}
	kv = &h->attrs[h->nattrs];
	if (col_dup(s, 6, &kv->key))
		return nomem(err);
	if (col_dup(s, 7, &kv->value)) {
		free(kv->key);
		return nomem(err);
	}
	h->nattrs++;
	return BOOTD_OK;
}

/*
 * Make sure the next statement starts a new read transaction, on the
 * newest snapshot: a handle keeps its snapshot while any of its
 * statements is active or a transaction is open.  Every function resets
 * its statements and ends its transactions; this keeps a slip elsewhere
 * from serving boots from an old snapshot.
 */
static void
end_reads(struct inv *inv)
{
	db_reset_active(inv->db);
	/* Never the caller's own grouped transaction (inv_begin()). */
	if (!inv->grouped)
		db_rollback(inv->db, NULL);
}

/*
 * The lookup proper: one S_LOOKUP for the host with its token and
 * attributes, and one S_LOOKUP_DIST for each distribution the script
 * offers.  No BEGIN/COMMIT on SQLite: it keeps the implicit read
 * transaction of a statement until the last active statement of the
 * handle is reset, and S_LOOKUP stays active (on its first row) until
 * every distribution is read, so the whole answer comes from one
 * snapshot.  (PostgreSQL has no such thing: see inv_lookup().)  The
 * host's MACs and last boot are left out: no script needs them.
 *
 * With host_only set, a host that needs its distribution read too is
 * not finished: *more is set to 1 and the caller looks up again.
 */
static enum bootd_err
lookup(struct inv *inv, const char *canon, int64_t now,
    const char *const *manual, size_t nmanual, int host_only, int *more,
    struct inv_boot *out, struct bootd_error *err)
{
	struct inv_host *h;
	struct inv_dist *d;
	struct db_stmt *s;
	const char *action;
	enum bootd_err rc;
	size_t i, cap = 0;
	int src;

	if ((s = stmt(inv, S_LOOKUP, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, canon);
	bind_int(s, 2, now);
	if ((rc = first_row(inv, s, "read host", err)) != BOOTD_OK) {
		if (rc == BOOTD_ENOTFOUND)
			bootd_error_set(err, rc, "no host has MAC %s", canon);
		return rc;
	}
	if ((out->host = h = calloc(1, sizeof(*h))) == NULL) {
		rc = nomem(err);
		goto out;
	}
	action = db_column_text(s, 2);
	h->action = action != NULL && strcmp(action, "install") == 0 ?
	    INV_ACTION_INSTALL : INV_ACTION_LOCAL;
	h->token_expires = db_column_is_null(s, 4) ? 0 :
	    db_column_int64(s, 5);
	if (col_dup(s, 0, &h->fqdn) || col_dup(s, 1, &h->env) ||
	    col_dup(s, 3, &h->dist) || col_dup(s, 4, &h->token)) {
		rc = nomem(err);
		goto out;
	}
	/* While s is on its first row: the same snapshot. */
	if (h->action == INV_ACTION_INSTALL && h->dist != NULL &&
	    h->token != NULL) {
		if (host_only) {
			*more = 1;
			rc = BOOTD_OK;
			goto out;
		}
		if ((rc = load_dist(inv, h->dist, &out->dist, err)) !=
		    BOOTD_OK)
			goto out;
	}
	if (nmanual > 0 && manual != NULL) {
		if ((out->manual = calloc(nmanual, sizeof(*out->manual))) ==
		    NULL) {
			rc = nomem(err);
			goto out;
		}
		for (i = 0; i < nmanual; i++) {
			if (manual[i] == NULL)
				continue;
			rc = load_dist(inv, manual[i], &d, err);
			if (rc == BOOTD_ENOTFOUND)
				continue;
			if (rc != BOOTD_OK)
				goto out;
			out->manual[out->nmanual++] = d;
		}
	}
	rc = BOOTD_OK;
	do {
		if ((rc = lookup_attr(s, h, &cap, err)) != BOOTD_OK)
			goto out;
	} while ((src = step(inv, s)) > 0);
	if (src < 0)
		rc = dberr(inv, "read attributes", err);
out:
	db_reset(s);	/* ends the read transaction */
	return rc;
}

enum bootd_err
inv_lookup(struct inv *inv, const char *mac, int64_t now,
    const char *const *manual, size_t nmanual, struct inv_boot *out,
    struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1];
	enum bootd_err rc;
	int host_only, txn, more;

	memset(out, 0, sizeof(*out));
	if ((rc = mac_canon(mac, canon, err)) != BOOTD_OK)
		return rc;
	end_reads(inv);
	/* Inside the caller's group: with the hosts it holds back. */
	if ((rc = group_reads(inv, err)) != BOOTD_OK)
		return rc;
	/*
	 * PostgreSQL gives each statement outside a transaction a snapshot
	 * of its own.  A boot whose answer is S_LOOKUP alone (local boot,
	 * no distribution offered by name: the usual one) takes one round
	 * trip; one that needs distributions too is read in a read-only
	 * transaction (REPEATABLE READ, which a hot standby serves), the
	 * host read again in it.  On SQLite, and inside the caller's
	 * inv_begin(), one pass without a transaction of its own.  (One
	 * call of lookup(), so that the compiler keeps it inline.)
	 */
	host_only = inv->pg && !inv->grouped && (nmanual == 0 ||
	    manual == NULL);
	txn = inv->pg && !inv->grouped && !host_only;
	do {
		more = 0;
		if (txn && (rc = tx_read(inv, err)) != BOOTD_OK)
			break;
		rc = lookup(inv, canon, now, manual, nmanual, host_only, &more,
		    out, err);
		if (txn)
			rc = tx_end(inv, rc, err);
		if (more)
			inv_boot_free(out);	/* a host only: again */
		host_only = 0;
		txn = 1;
	} while (more);
	if (rc != BOOTD_OK)
		inv_boot_free(out);
	return rc;
}

/*
 * The plan of statement id, which has nparams parameters, into plan
 * (buf_reset() first), one line each ending in '\n'.
 */
static enum bootd_err
plan_of(struct inv *inv, enum stmt id, int nparams, struct buf *plan,
    struct bootd_error *err)
{
	struct buf sql = { 0 };
	struct db_stmt *s = NULL;
	enum bootd_err rc = BOOTD_OK;
	int i, src, col = 3;	/* SQLite's columns: id, parent, notused,
				   detail */

	if (!inv->pg) {
		buf_printf(&sql, "EXPLAIN QUERY PLAN %s", stmt_sql(inv, id));
	} else {
		/*
		 * The generic plan: PREPARE, then EXPLAIN EXECUTE with
		 * plan_cache_mode = force_generic_plan (PostgreSQL 16's
		 * EXPLAIN (GENERIC_PLAN) in 15's words).
		 */
		col = 0;
		buf_printf(&sql, "PREPARE inv_plan AS %s", stmt_sql(inv, id));
		if (buf_failed(&sql)) {
			rc = nomem(err);
			goto out;
		}
		if ((rc = exec_sql(inv, buf_str(&sql))) != BOOTD_OK) {
			rc = dberr(inv, "prepare plan", err);
			goto out;
		}
		buf_reset(&sql);
		buf_puts(&sql, "EXPLAIN EXECUTE inv_plan(");
		for (i = 0; i < nparams; i++)
			buf_puts(&sql, i > 0 ? ", NULL" : "NULL");
		buf_puts(&sql, ")");
	}
	if (buf_failed(&sql)) {
		rc = nomem(err);
		goto out;
	}
	if ((s = prepare_once(inv, buf_str(&sql), err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	while ((src = step(inv, s)) > 0)
		buf_printf(plan, "%s\n", db_column_text(s, col));
	if (src < 0)
		rc = dberr(inv, "explain query plan", err);
	else if (buf_failed(plan))
		rc = nomem(err);
out:
	db_finalize(s);
	if (inv->pg)
		exec_sql(inv, "DEALLOCATE inv_plan");
	buf_free(&sql);
	return rc;
}

enum bootd_err
inv_lookup_plans(struct inv *inv,
    int (*fn)(const char *sql, const char *plan, void *arg), void *arg,
    struct bootd_error *err)
{
	static const struct {
		enum stmt	id;
		int		nparams;
	} st[] = { { S_LOOKUP, 2 }, { S_LOOKUP_DIST, 1 } };
	struct buf plan = { 0 };
	enum bootd_err rc = BOOTD_OK;
	size_t i;

	if (inv->pg && exec_sql(inv, "SET plan_cache_mode = "
	    "force_generic_plan; SET enable_seqscan = off; "
	    "SET enable_sort = off") != BOOTD_OK)
		return dberr(inv, "set plan options", err);
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		buf_reset(&plan);
		if ((rc = plan_of(inv, st[i].id, st[i].nparams, &plan, err)) !=
		    BOOTD_OK)
			break;
		if (fn(stmt_sql(inv, st[i].id), buf_str(&plan), arg) != 0)
			break;
	}
	if (inv->pg)
		exec_sql(inv, "RESET plan_cache_mode; RESET enable_seqscan; "
		    "RESET enable_sort");
	buf_free(&plan);
	return rc;
}
