/*
 * inv.c - the inventory on SQLite or PostgreSQL: opening, the schema and
 * its migrations, transactions, and the table of statements with the
 * helpers that run them.  Each concept has a file of its own (inv_host.c,
 * inv_dist.c, inv_env.c, inv_token.c, inv_boot.c, inv_audit.c,
 * inv_discovered.c); inv_int.h is what they share.
 *
 * The inventory speaks SQL through db.h, never to an engine itself: its
 * statements are written with placeholders $1..$n, prepared with
 * db_prepare(), and failures come as db.h's codes and classes.  Only the
 * open path below does what is SQLite's own (PRAGMAs, through db_exec(),
 * and the two calls of db_sqlite.h) or PostgreSQL's own (the table
 * schema_version, an advisory lock around migrations).
 *
 * Statements are written once where the dialects agree (sqltab[]); the few
 * that SQLite and PostgreSQL spell differently have a PostgreSQL text in
 * sqltab_pg[], which stmt() takes instead when it prepares a statement on
 * PostgreSQL.  The choice is made once per handle and statement, at the
 * first use: a lookup on SQLite costs what it did.
 *
 * The schema is sql/NNN-*.sql, compiled in as inv_migrations[], and, for
 * PostgreSQL, sql/postgresql/NNN-*.sql (pg_inv_migrations[], from version
 * 3): a schema version means the same tables on either engine.  SQLite
 * keeps the version in PRAGMA user_version, PostgreSQL in the table
 * schema_version, which each of its files updates.  Every statement is
 * prepared once per handle (lazily, on first use) and kept in struct inv;
 * each use resets it and clears its bindings.  Every change runs inside
 * a write transaction, one writer at a time (SQLite's BEGIN IMMEDIATE,
 * PostgreSQL's READ COMMITTED under an advisory lock: tx_start())
 * together with its audit row; any failure rolls the
 * whole change back.  Between inv_begin() and inv_commit() the changes
 * share the caller's one transaction instead, so that a bulk change is
 * one commit, all or nothing: a change that fails fails the group (on
 * PostgreSQL a failed statement spoils the whole transaction anyway).
 *
 * Boot events, discovered MACs and last seen times are not here: they
 * live in the events database (events.c).  The SQLite inventory runs
 * synchronous=FULL: a change is on disk once its commit returns (as it is
 * on PostgreSQL, with its default synchronous_commit).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "db_sqlite.h"
#include "inv.h"
#include "inv_int.h"
#include "migrations.h"
#include "valid.h"

/* Changes in one group from which PostgreSQL's statistics are refreshed. */
#define GROUP_ANALYZE	100

/* Bytes of a read-only inventory mapped into memory (PRAGMA mmap_size). */
#define INV_MMAP_SIZE	"1073741824"

/* A host with its environment and what it boots (authorize_row()). */
#define HOST_ENV "SELECT h.id, h.fqdn, e.name, e.unix_group, h.action, " \
	"h.dist FROM host h JOIN env e ON e.name = h.env "

/* One row of S_AUDIT_BATCH's VALUES: placeholders a to f. */
#define AUDIT_ROW(a, b, c, d, e, f) \
	"($" #a ", $" #b ", $" #c ", $" #d ", $" #e ", $" #f ")"

/* The text of every statement of enum stmt (inv_int.h). */
const char *const sqltab[S__MAX] = {
	[S_AUDIT] = "INSERT INTO audit (time, actor, op, object, old, new) "
	    "VALUES ($1, $2, $3, $4, $5, $6)",
	/* AUDIT_BATCH rows at once, in order (ids ascend as they are). */
	[S_AUDIT_BATCH] = "INSERT INTO audit (time, actor, op, object, old, "
	    "new) VALUES "
	    AUDIT_ROW(1, 2, 3, 4, 5, 6) ", " AUDIT_ROW(7, 8, 9, 10, 11, 12) ", "
	    AUDIT_ROW(13, 14, 15, 16, 17, 18) ", "
	    AUDIT_ROW(19, 20, 21, 22, 23, 24) ", "
	    AUDIT_ROW(25, 26, 27, 28, 29, 30) ", "
	    AUDIT_ROW(31, 32, 33, 34, 35, 36) ", "
	    AUDIT_ROW(37, 38, 39, 40, 41, 42) ", "
	    AUDIT_ROW(43, 44, 45, 46, 47, 48) ", "
	    AUDIT_ROW(49, 50, 51, 52, 53, 54) ", "
	    AUDIT_ROW(55, 56, 57, 58, 59, 60) ", "
	    AUDIT_ROW(61, 62, 63, 64, 65, 66) ", "
	    AUDIT_ROW(67, 68, 69, 70, 71, 72) ", "
	    AUDIT_ROW(73, 74, 75, 76, 77, 78) ", "
	    AUDIT_ROW(79, 80, 81, 82, 83, 84) ", "
	    AUDIT_ROW(85, 86, 87, 88, 89, 90) ", "
	    AUDIT_ROW(91, 92, 93, 94, 95, 96),
	[S_HOST_BY_FQDN] = "SELECT id, fqdn FROM host WHERE fqdn = $1",
	[S_HOST_BY_MAC] = "SELECT h.id, h.fqdn FROM nic n "
	    "JOIN host h ON h.id = n.host WHERE n.mac = $1",
	[S_HOST_BY_SHORT] = "SELECT id, fqdn FROM host "
	    "WHERE substr(fqdn, 1, instr(fqdn || '.', '.') - 1) = $1 "
	    "ORDER BY fqdn LIMIT 4",
	[S_HOST_FULL] = "SELECT " HOST_COLS " FROM host h " LIVE_TOKEN
	    "WHERE h.id = $1",
	[S_HOST_FULL_BY_FQDN] = "SELECT " HOST_COLS " FROM host h "
	    LIVE_TOKEN "WHERE h.fqdn = $1",
	/* A host to change, its environment and what it boots. */
	[S_HOST_ENV] = HOST_ENV "WHERE h.id = $1",
	[S_HOST_ENV_BY_FQDN] = HOST_ENV "WHERE h.fqdn = $1",
	/*
	 * The boot lookup: one row per attribute of the host (one row with
	 * a NULL key when it has none), in key order, each carrying the
	 * host's fields.  Every join is a primary-key or unique-index
	 * search (tests/test_plan.c checks the plans).
	 */
	[S_LOOKUP] = "SELECT h.fqdn, h.env, h.action, h.dist, t.token, "
	    "t.expires, a.key, a.value FROM nic n "
	    "JOIN host h ON h.id = n.host " LIVE_TOKEN
	    "LEFT JOIN host_attr a ON a.host = h.id "
	    "WHERE n.mac = $1 ORDER BY a.key",
	/* A distribution with its initrds, one row each (a NULL url: none). */
	[S_LOOKUP_DIST] = "SELECT d.name, d.kernel, d.cmdline, i.url "
	    "FROM dist d LEFT JOIN dist_initrd i ON i.dist = d.name "
	    "WHERE d.name = $1 ORDER BY i.pos",
	[S_HOST_MACS] = "SELECT mac FROM nic WHERE host = $1 ORDER BY mac",
	[S_HOST_ATTRS] = "SELECT key, value FROM host_attr WHERE host = $1 "
	    "ORDER BY key",
	[S_HOST_IDS] = "SELECT id FROM host ORDER BY fqdn",
	[S_HOST_INSERT] = "INSERT INTO host (fqdn, env) VALUES ($1, $2) "
	    "RETURNING id",
	[S_HOST_DELETE] = "DELETE FROM host WHERE id = $1",
	[S_HOST_RENAME] = "UPDATE host SET fqdn = $2 WHERE id = $1",
	[S_HOST_SET_ENV] = "UPDATE host SET env = $2 WHERE id = $1",
	[S_HOST_SET_DIST] = "UPDATE host SET dist = $2 WHERE id = $1",
	/* Without dist: its index is not touched (most changes keep it). */
	[S_HOST_SET_ACTION] = "UPDATE host SET action = $2 WHERE id = $1",
	[S_HOST_SET_INSTALL] = "UPDATE host SET action = 'install', "
	    "dist = $2 WHERE id = $1",
	/*
	 * INSTALL_BATCH hosts at once (a group's set-reinstalls): SQLite
	 * keeps a statement journal for each UPDATE that sets dist (its
	 * foreign key), a copy of every page the statement touches.
	 */
	[S_HOST_SET_INSTALL_BATCH] = "UPDATE host SET action = 'install', "
	    "dist = $1 WHERE id IN ("
	    "$2, $3, $4, $5, $6, $7, $8, $9, "
	    "$10, $11, $12, $13, $14, $15, $16, $17, "
	    "$18, $19, $20, $21, $22, $23, $24, $25, "
	    "$26, $27, $28, $29, $30, $31, $32, $33, "
	    "$34, $35, $36, $37, $38, $39, $40, $41, "
	    "$42, $43, $44, $45, $46, $47, $48, $49, "
	    "$50, $51, $52, $53, $54, $55, $56, $57, "
	    "$58, $59, $60, $61, $62, $63, $64, $65)",
	[S_NIC_INSERT] = "INSERT INTO nic (mac, host) VALUES ($1, $2)",
	[S_NIC_DELETE] = "DELETE FROM nic WHERE mac = $1",
	[S_NIC_COUNT] = "SELECT count(*) FROM nic WHERE host = $1",
	[S_ATTR_GET] = "SELECT value FROM host_attr WHERE host = $1 "
	    "AND key = $2",
	[S_ATTR_SET] = "INSERT INTO host_attr (host, key, value) "
	    "VALUES ($1, $2, $3) ON CONFLICT (host, key) "
	    "DO UPDATE SET value = excluded.value",
	[S_ATTR_DELETE] = "DELETE FROM host_attr WHERE host = $1 AND key = $2",
	[S_ENV_GET] = "SELECT name, unix_group FROM env WHERE name = $1",
	[S_ENV_ALL] = "SELECT name, unix_group FROM env ORDER BY name",
	[S_ENV_INSERT] = "INSERT INTO env (name, unix_group) VALUES ($1, $2)",
	[S_ENV_DELETE] = "DELETE FROM env WHERE name = $1",
	[S_ENV_SET_GROUP] = "UPDATE env SET unix_group = $2 WHERE name = $1",
	[S_ENV_USERS] = "SELECT count(*) FROM host WHERE env = $1",
	[S_DIST_NAMES] = "SELECT name FROM dist ORDER BY name",
	[S_DIST_INSERT] = "INSERT INTO dist (name, kernel, cmdline) "
	    "VALUES ($1, $2, $3)",
	[S_DIST_UPDATE] = "UPDATE dist SET kernel = $2, cmdline = $3 "
	    "WHERE name = $1",
	[S_DIST_DELETE] = "DELETE FROM dist WHERE name = $1",
	[S_DIST_USERS] = "SELECT fqdn, count(*) OVER () FROM host "
	    "WHERE dist = $1 ORDER BY fqdn LIMIT 3",
	[S_DIST_INSTALLING] = "SELECT id, fqdn FROM host WHERE dist = $1 "
	    "AND action = 'install' ORDER BY fqdn",
	[S_INITRD_INSERT] = "INSERT INTO dist_initrd (dist, pos, url) "
	    "VALUES ($1, $2, $3)",
	[S_INITRD_DELETE] = "DELETE FROM dist_initrd WHERE dist = $1",
	[S_TOKEN_REVOKE] = "UPDATE token SET revoked = 1 WHERE host = $1 "
	    "AND used_at IS NULL AND revoked = 0",
	[S_TOKEN_INSERT] = "INSERT INTO token (token, host, created, expires) "
	    "VALUES ($1, $2, $3, $4)",
	[S_TOKEN_GET] = "SELECT t.host, h.fqdn, t.expires, t.used_at, "
	    "t.revoked, h.action, h.dist, t.fetched_from FROM token t "
	    "JOIN host h ON h.id = t.host WHERE t.token = $1",
	[S_TOKEN_USE] = "UPDATE token SET used_at = $2 WHERE token = $1",
	[S_TOKEN_FETCH_GET] = "SELECT t.token, h.fqdn, t.fetched_from "
	    "FROM nic n JOIN host h ON h.id = n.host JOIN token t "
	    "ON t.host = h.id AND t.used_at IS NULL AND t.revoked = 0 "
	    "AND t.expires > $2 WHERE n.mac = $1",
	/* At most one change of address a minute (FETCH_INTERVAL). */
	[S_TOKEN_FETCH_SET] = "UPDATE token SET fetched_from = $2, "
	    "fetched_at = $3 WHERE token = $1 AND used_at IS NULL "
	    "AND revoked = 0 AND fetched_from IS NOT $2 "
	    "AND (fetched_at IS NULL OR fetched_at <= $3 - 60)",
	[S_AUDIT_ALL] = "SELECT id, time, actor, op, object, old, new "
	    "FROM audit ORDER BY id",
	/*
	 * The rows of a host: those naming it, and, through each
	 * host-rename row (object the new name, old the old one), those
	 * that named it by its earlier names before it was renamed.  A name
	 * is reused when a host is renamed or removed and another one takes
	 * it, so under each name only the current holder's lifetime counts:
	 * from the last row that gave the name to a host (host-add, written
	 * by add, import and discovered adopt alike, or a host-rename to
	 * it) to the end, or, for an earlier name, to the rename that left
	 * it (lo <= id < hi).  When that start is a rename, the walk goes on
	 * with the old name before it; each step goes back in time, so the
	 * walk ends.  A name no host ever had (an environment, a
	 * distribution, a MAC) starts at 0: all its rows.
	 */
	[S_AUDIT_OBJ] = "WITH RECURSIVE names (name, lo, hi) AS ("
	    "SELECT $1, coalesce((SELECT max(id) FROM audit WHERE "
	    "object = $1 AND op IN ('host-add', 'host-rename')), 0), "
	    "9223372036854775807 UNION "
	    "SELECT a.old, coalesce((SELECT max(b.id) FROM audit b WHERE "
	    "b.object = a.old AND b.op IN ('host-add', 'host-rename') AND "
	    "b.id < a.id), 0), a.id FROM names n JOIN audit a "
	    "ON a.id = n.lo AND a.object = n.name "
	    "WHERE a.op = 'host-rename' AND a.old IS NOT NULL) "
	    "SELECT id, time, actor, op, object, old, new FROM audit "
	    "WHERE id IN (SELECT a.id FROM names n JOIN audit a "
	    "ON a.object = n.name AND a.id >= n.lo AND a.id < n.hi) "
	    "ORDER BY id",
	[S_FORGET_SET] = "INSERT INTO discovered_forgotten (mac, forgotten_at) "
	    "VALUES ($1, $2) ON CONFLICT (mac) DO UPDATE SET "
	    "forgotten_at = max(forgotten_at, excluded.forgotten_at)",
	[S_FORGET_GET] = "SELECT forgotten_at FROM discovered_forgotten "
	    "WHERE mac = $1",
	[S_COUNTS] = "SELECT (SELECT count(*) FROM host), "
	    "(SELECT count(*) FROM nic), (SELECT count(*) FROM dist), "
	    "(SELECT count(*) FROM env), "
	    "(SELECT count(*) FROM host WHERE action = 'install')",
};

/*
 * The statements PostgreSQL spells differently; NULL: sqltab[]'s text
 * serves both.  The same parameters, columns and meaning as there.
 */
const char *const sqltab_pg[S__MAX] = {
	/* The first label, by the expression index host_short. */
	[S_HOST_BY_SHORT] = "SELECT id, fqdn FROM host "
	    "WHERE split_part(fqdn, '.', 1) = $1 ORDER BY fqdn LIMIT 4",
	/* IS NOT compares only with NULL or booleans here. */
	[S_TOKEN_FETCH_SET] = "UPDATE token SET fetched_from = $2, "
	    "fetched_at = $3 WHERE token = $1 AND used_at IS NULL "
	    "AND revoked = 0 AND fetched_from IS DISTINCT FROM $2 "
	    "AND (fetched_at IS NULL OR fetched_at <= $3 - 60)",
	/* max() of two values is GREATEST(). */
	[S_FORGET_SET] = "INSERT INTO discovered_forgotten (mac, forgotten_at) "
	    "VALUES ($1, $2) ON CONFLICT (mac) DO UPDATE SET forgotten_at = "
	    "GREATEST(discovered_forgotten.forgotten_at, "
	    "excluded.forgotten_at)",
};

/* Helpers ------------------------------------------------------------- */

/*
 * Turn the last failure of a db.h call on inv (kept by step(),
 * exec_sql() and the others in inv->dbrc and inv->dbe) into a bootd
 * error: its code (db.h's: BOOTD_EBUSY for busy and locked, BOOTD_EEXIST
 * for a unique constraint, BOOTD_EINVAL for another, BOOTD_ENOMEM,
 * BOOTD_EDB) and the text "what: engine message".
 */
enum bootd_err
dberr(struct inv *inv, const char *what, struct bootd_error *err)
{
	return bootd_error_set(err, inv->dbrc, "%s: %s", what,
	    db_engine_msg(inv->dbe.text));
}

/* Keep rc, the failure of a db.h call, for dberr(). */
static int
failed(struct inv *inv, enum bootd_err rc)
{
	inv->dbrc = rc;
	inv->dbclass = db_errclass(inv->db);
	return -1;
}

/*
 * Step s to its next row: 1 when there is one, 0 when there are no more,
 * -1 on failure (dberr() says which).
 */
int
step(struct inv *inv, struct db_stmt *s)
{
	enum bootd_err rc;
	int row;

	if ((rc = db_step(s, &row, &inv->dbe)) != BOOTD_OK)
		return failed(inv, rc);
	inv->dbclass = DB_ERR_NONE;
	return row;
}

/* Run sql (no parameters, no rows): BOOTD_OK, or dberr()'s failure. */
enum bootd_err
exec_sql(struct inv *inv, const char *sql)
{
	enum bootd_err rc;

	if ((rc = db_exec(inv->db, sql, &inv->dbe)) != BOOTD_OK)
		failed(inv, rc);
	return rc;
}

enum bootd_err
nomem(struct bootd_error *err)
{
	return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
}

/* The text of statement id for the engine of inv.  This function can't fail. */
const char *
stmt_sql(const struct inv *inv, enum stmt id)
{
	if (inv->pg && sqltab_pg[id] != NULL)
		return sqltab_pg[id];
	return sqltab[id];
}

/*
 * Return statement id of inv, prepared on first use, reset and with its
 * bindings cleared; NULL (with err filled) if it cannot be prepared: the
 * caller returns inv->dbrc, the code of that failure (BOOTD_EBUSY when
 * PostgreSQL waited too long for a lock that preparing takes).
 */
struct db_stmt *
stmt(struct inv *inv, enum stmt id, struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;

	if ((s = inv->st[id]) == NULL) {
		if ((rc = db_prepare(inv->db, stmt_sql(inv, id), &s,
		    &inv->dbe)) != BOOTD_OK) {
			failed(inv, rc);
			dberr(inv, "prepare", err);
			return NULL;
		}
		inv->st[id] = s;
		return s;
	}
	db_reset(s);
	return s;
}

/*
 * Bind parameter i of s.  Binding fails only for an index the statement
 * does not have or a statement not reset: mistakes of this file, which
 * its tests would see as wrong results.
 */
void
bind_text(struct db_stmt *s, int i, const char *v)
{
	db_bind_text(s, i, v, NULL);
}

void
bind_ref(struct db_stmt *s, int i, const char *v)
{
	db_bind_text_ref(s, i, v, NULL);
}

void
bind_int(struct db_stmt *s, int i, int64_t v)
{
	db_bind_int64(s, i, v, NULL);
}

/*
 * Step s, which returns no row, and reset it.  what names it in errors.
 */
enum bootd_err
run(struct inv *inv, struct db_stmt *s, const char *what,
    struct bootd_error *err)
{
	enum bootd_err rc = BOOTD_OK;

	if (step(inv, s) != 0)
		rc = dberr(inv, what, err);
	db_reset(s);
	return rc;
}

/*
 * Step s once for a single integer (a count).  s is reset afterwards.
 */
enum bootd_err
run_int(struct inv *inv, struct db_stmt *s, int64_t *v, const char *what,
    struct bootd_error *err)
{
	enum bootd_err rc = BOOTD_OK;

	if (step(inv, s) > 0)
		*v = db_column_int64(s, 0);
	else
		rc = dberr(inv, what, err);
	db_reset(s);
	return rc;
}

/*
 * Run statement id, which returns no row, with $1 bound to text.  what
 * names it in errors.
 */
enum bootd_err
run_text(struct inv *inv, enum stmt id, const char *text, const char *what,
    struct bootd_error *err)
{
	struct db_stmt *s;

	if ((s = stmt(inv, id, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, text);
	return run(inv, s, what, err);
}

/*
 * Run statement id, which returns no row, with $1 bound to the row id of a
 * host and $2 to text.  what names it in errors.
 */
enum bootd_err
run_host(struct inv *inv, enum stmt id, int64_t host, const char *text,
    const char *what, struct bootd_error *err)
{
	struct db_stmt *s;

	if ((s = stmt(inv, id, err)) == NULL)
		return BOOTD_EDB;
	bind_int(s, 1, host);
	bind_text(s, 2, text);
	return run(inv, s, what, err);
}

/*
 * Prepare sql for a one-off statement (not kept on the handle: listings
 * that run once per call of a command-line tool, query plans).  NULL,
 * with err filled, when it cannot be prepared.  The caller frees it with
 * db_finalize().
 */
struct db_stmt *
prepare_once(struct inv *inv, const char *sql, struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;

	if ((rc = db_prepare(inv->db, sql, &s, &inv->dbe)) != BOOTD_OK) {
		failed(inv, rc);
		dberr(inv, "prepare", err);
		return NULL;
	}
	return s;
}

/*
 * Step s (bound) to its first row.  BOOTD_OK leaves s on that row for the
 * caller to read and then reset; otherwise s is reset and the result is
 * BOOTD_ENOTFOUND (no row, err untouched) or a database error named by
 * what.
 */
enum bootd_err
first_row(struct inv *inv, struct db_stmt *s, const char *what,
    struct bootd_error *err)
{
	enum bootd_err rc;

	switch (step(inv, s)) {
	case 1:
		return BOOTD_OK;
	case 0:
		rc = BOOTD_ENOTFOUND;
		break;
	default:
		rc = dberr(inv, what, err);
		break;
	}
	db_reset(s);
	return rc;
}

/* Copy a text column (NULL stays NULL).  Returns -1 on allocation failure. */
int
col_dup(struct db_stmt *s, int i, char **out)
{
	const char *t;

	*out = NULL;
	if ((t = db_column_text(s, i)) == NULL)
		return db_column_is_null(s, i) ? 0 : -1;
	if ((*out = strdup(t)) == NULL)
		return -1;
	return 0;
}

/*
 * Step s (bound) through all its rows into a new array of elements of
 * size bytes, each filled from its row by fill(s, element, err), and reset
 * s.  fill leaves nothing to free when it fails.  Returns the array (NULL
 * when empty) and its length in *n, also on failure: the caller frees the
 * *n elements and the array.  *rc is BOOTD_OK, fill's error, BOOTD_ENOMEM
 * or a database error named by what.
 */
void *
read_rows(struct inv *inv, struct db_stmt *s, size_t size,
    enum bootd_err (*fill)(struct db_stmt *, void *, struct bootd_error *),
    size_t *n, enum bootd_err *rc, const char *what, struct bootd_error *err)
{
	char *v = NULL;
	size_t cap = 0;
	void *p;
	int src;

	*n = 0;
	*rc = BOOTD_OK;
	while ((src = step(inv, s)) > 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((p = reallocarray(v, cap, size)) == NULL) {
				*rc = nomem(err);
				break;
			}
			v = p;
		}
		if ((*rc = fill(s, v + *n * size, err)) != BOOTD_OK)
			break;
		(*n)++;
	}
	if (*rc == BOOTD_OK && src < 0)
		*rc = dberr(inv, what, err);
	db_reset(s);
	return v;
}

/* fill for read_rows(): column 0 into a char *. */
enum bootd_err
fill_text(struct db_stmt *s, void *elem, struct bootd_error *err)
{
	return col_dup(s, 0, elem) ? nomem(err) : BOOTD_OK;
}

/* fill for read_rows(): column 0 into an int64_t. */
enum bootd_err
fill_id(struct db_stmt *s, void *elem, struct bootd_error *err)
{
	*(int64_t *)elem = db_column_int64(s, 0);
	return BOOTD_OK;
}

/* fill for read_rows() and others: a struct href from columns 0 and 1. */
enum bootd_err
fill_ref(struct db_stmt *s, void *elem, struct bootd_error *err)
{
	struct href *ref = elem;

	ref->id = db_column_int64(s, 0);
	col_copy(s, 1, ref->fqdn, sizeof(ref->fqdn));
	return BOOTD_OK;
}

void
col_copy(struct db_stmt *s, int i, char *out, size_t size)
{
	const char *t = db_column_text(s, i);
	size_t n;

	n = t != NULL ? strlen(t) : 0;
	if (n >= size)
		n = size - 1;
	memcpy(out, t != NULL ? t : "", n);
	out[n] = '\0';
}

/* Copy s lowercased (ASCII) into out of size bytes; 0, or -1 if too long. */
int
lower_copy(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= size)
			return -1;
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' :
		    s[i];
	}
	out[i] = '\0';
	return 0;
}

const char *
q(const char *s, char *buf)
{
	return valid_quote(s, buf, QBUF);
}

/* Transactions -------------------------------------------------------- */

/*
 * Inside a grouped transaction (inv_begin()), a change or a read is no
 * transaction of its own, and no savepoint either: the callers roll the
 * whole group back when one change fails, and a savepoint per change cost
 * a quarter of a bulk set-reinstall (SQLite copies every page a change
 * touches into its statement journal; PostgreSQL takes a round trip each
 * way).  So a failed change marks the group failed instead (tx_end()), and
 * inv_commit() refuses it.
 */
/*
 * The inventory's writers on PostgreSQL, one at a time as on SQLite (BEGIN
 * IMMEDIATE): READ COMMITTED instead of db.h's SERIALIZABLE, then this
 * advisory lock (keys "boot", 2), held to the end of the transaction.
 * Every statement after the lock sees what the writer before committed,
 * so two writers of one row (an installer's done and the fetch note of
 * its script, bootctl and bootd) wait for each other, at most the busy
 * timeout (lock_timeout: then busy), instead of one failing with a
 * serialization error that every caller would have to repeat.  The
 * migrations' lock is ("boot", 1).
 */
#define PG_WRITER "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; " \
	"SELECT pg_advisory_xact_lock(1651470196, 2)"

/* db_begin() of txn, or dberr()'s failure. */
static enum bootd_err
tx_start(struct inv *inv, enum db_txn txn, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = db_begin(inv->db, txn, &inv->dbe)) != BOOTD_OK) {
		failed(inv, rc);
		return dberr(inv, "begin transaction", err);
	}
	inv->writing = txn == DB_TXN_WRITE;
	if (inv->pg && txn == DB_TXN_WRITE &&
	    exec_sql(inv, PG_WRITER) != BOOTD_OK) {
		rc = dberr(inv, "begin transaction", err);
		db_rollback(inv->db, NULL);
		return rc;
	}
	return BOOTD_OK;
}

/* Forget what the group remembers of the inventory (inv->group_dist). */
static void
group_forget(struct inv *inv)
{
	inv_dist_free(inv->group_dist);
	inv->group_dist = NULL;
}

/* What a group ends with, committed or not: nothing held back. */
static void
group_end(struct inv *inv)
{
	size_t i;

	inv->grouped = 0;
	group_forget(inv);
	audit_drop(inv);
	for (i = 0; i < inv->ngroup_updated; i++)
		free(inv->group_updated[i]);
	free(inv->group_updated);
	inv->group_updated = NULL;
	inv->ngroup_updated = 0;
	inv->group_defer = 0;
	inv->ninstall = 0;
}

/*
 * Inside a group of changes, write the hosts its set-reinstalls hold back
 * marked install, for a read or change of them; a failure fails the group.
 */
enum bootd_err
group_reads(struct inv *inv, struct bootd_error *err)
{
	enum bootd_err rc;

	if (!inv->grouped || inv->ninstall == 0)
		return BOOTD_OK;
	if ((rc = install_flush(inv, err)) != BOOTD_OK)
		inv->group_failed = 1;
	return rc;
}

enum bootd_err
tx_begin(struct inv *inv, struct bootd_error *err)
{
	if (inv->mode == INV_RDONLY)
		return bootd_error_set(err, BOOTD_EPERM,
		    "inventory %s is open read-only", inv->path);
	if (inv->grouped && inv->group_read)
		return bootd_error_set(err, BOOTD_EINVAL, "a change inside "
		    "a group of reads");
	if (inv->grouped) {
		inv->group_writes++;
		inv->group_change = 1;
		group_forget(inv);
		return group_reads(inv, err);
	}
	return tx_start(inv, DB_TXN_WRITE, err);
}

enum bootd_err
tx_read(struct inv *inv, struct bootd_error *err)
{
	if (inv->grouped) {
		inv->group_change = 0;
		return group_reads(inv, err);
	}
	return tx_start(inv, DB_TXN_READ, err);
}

/*
 * End the transaction begun by tx_begin() or tx_read(): commit when rc is
 * BOOTD_OK, else roll back.  Returns rc, or the commit's error.
 */
enum bootd_err
tx_end(struct inv *inv, enum bootd_err rc, struct bootd_error *err)
{
	enum bootd_err crc;

	/* No statement may stay active across the end of a transaction. */
	db_reset_active(inv->db);
	if (inv->grouped) {
		if (rc != BOOTD_OK && inv->group_change)
			inv->group_failed = 1;
		return rc;
	}
	/* Counted even when the commit fails: it may have happened. */
	if (rc == BOOTD_OK && inv->writing)
		inv->commits++;
	if (rc == BOOTD_OK &&
	    (crc = db_commit(inv->db, &inv->dbe)) != BOOTD_OK) {
		failed(inv, crc);
		rc = dberr(inv, "commit", err);
	}
	/* Nothing to do when no transaction is open (db.h). */
	if (rc != BOOTD_OK)
		db_rollback(inv->db, NULL);
	return rc;
}

/* Open a group: of changes (inv_begin()), or of reads (inv_read_begin()). */
static enum bootd_err
group_open(struct inv *inv, int read, struct bootd_error *err)
{
	enum bootd_err rc;

	if (inv->grouped)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "a grouped transaction is already open");
	rc = read ? tx_start(inv, DB_TXN_READ, err) : tx_begin(inv, err);
	if (rc == BOOTD_OK) {
		inv->grouped = 1;
		inv->group_read = read;
		inv->group_writes = 0;
		inv->group_failed = 0;
		group_forget(inv);
	}
	return rc;
}

enum bootd_err
inv_begin(struct inv *inv, struct bootd_error *err)
{
	return group_open(inv, 0, err);
}

enum bootd_err
inv_commit(struct inv *inv, struct bootd_error *err)
{
	enum bootd_err rc;

	if (!inv->grouped || inv->group_read)
		return bootd_error_set(err, BOOTD_EINVAL, inv->grouped ?
		    "the group open is of reads: nothing to commit" :
		    "no grouped transaction is open");
	if (inv->group_failed) {
		inv_rollback(inv);
		return bootd_error_set(err, BOOTD_EDB, "a change of the group "
		    "failed: nothing was changed");
	}
	if ((rc = install_flush(inv, err)) != BOOTD_OK ||
	    (rc = dist_check_deferred(inv, err)) != BOOTD_OK ||
	    (rc = audit_flush(inv, err)) != BOOTD_OK) {
		inv_rollback(inv);
		return rc;
	}
	group_end(inv);
	rc = tx_end(inv, BOOTD_OK, err);
	/*
	 * PostgreSQL plans by its statistics of each table, which autovacuum
	 * refreshes only a minute or so after a bulk change.  Until then a
	 * set-reinstall of 5,000 hosts at once left the token table counted
	 * as empty, and the lookup of an install script's token started from
	 * every open token: 52 ms instead of 0.3, at the moment those 5,000
	 * machines boot.  So a large group refreshes them at once (ANALYZE
	 * samples: a fraction of a second at 1,000,000 hosts), at most once
	 * a minute per handle: the recorder's groups of fetch notes are
	 * large too in an install storm.
	 */
	if (rc == BOOTD_OK && inv->pg && inv->group_writes >= GROUP_ANALYZE &&
	    time(NULL) - inv->analyzed >= 60) {
		inv->analyzed = time(NULL);
		exec_sql(inv, "ANALYZE host, nic, token, host_attr");
	}
	return rc;
}

enum bootd_err
inv_defer_dist_checks(struct inv *inv, struct bootd_error *err)
{
	if (!inv->grouped || inv->group_read)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no group of changes is open");
	inv->group_defer = 1;
	return BOOTD_OK;
}

void
inv_rollback(struct inv *inv)
{
	if (!inv->grouped)
		return;
	group_end(inv);
	tx_end(inv, BOOTD_EDB, NULL);
}

enum bootd_err
inv_read_begin(struct inv *inv, struct bootd_error *err)
{
	return group_open(inv, 1, err);
}

void
inv_read_end(struct inv *inv)
{
	if (inv->grouped && inv->group_read)
		inv_rollback(inv);	/* a read: nothing to keep */
}

/* Open, close, schema ------------------------------------------------- */

int
inv_schema_latest(void)
{
	if (inv_nmigrations == 0)
		return 0;
	return inv_migrations[inv_nmigrations - 1].version;
}

/*
 * Run sql, a one-off query of one integer column, into *v: 1 when it
 * returned a row, 0 when none, -1 on failure (dberr() says which).
 */
static int
query_int(struct inv *inv, const char *sql, int64_t *v)
{
	struct db_stmt *s;
	enum bootd_err rc;
	int row;

	if ((rc = db_prepare(inv->db, sql, &s, &inv->dbe)) != BOOTD_OK)
		return failed(inv, rc);
	if ((row = step(inv, s)) > 0)
		*v = db_column_int64(s, 0);
	db_finalize(s);
	return row;
}

/*
 * The schema version: SQLite's user_version; on PostgreSQL the row of
 * the table schema_version, 0 when there is no such table (nothing of
 * bootd's in the database yet).  Not cached: it runs before and after a
 * migration changes it.
 */
static enum bootd_err
read_version(struct inv *inv, int *version, struct bootd_error *err)
{
	int64_t v = 0;
	int row;

	/*
	 * The table is looked for in the catalog with the statement's own
	 * snapshot: to_regclass() may answer from a cache that has not
	 * yet seen the table another migration just made.
	 */
	if (!inv->pg)
		row = query_int(inv, "PRAGMA user_version", &v);
	else if ((row = query_int(inv, "SELECT count(*) FROM pg_tables "
	    "WHERE schemaname = current_schema() AND "
	    "tablename = 'schema_version'", &v)) > 0 && v == 1)
		row = query_int(inv, "SELECT version FROM schema_version", &v);
	if (row < 0)
		return dberr(inv, "read schema version", err);
	*version = row > 0 ? (int)v : 0;
	return BOOTD_OK;
}

/*
 * Return 1 when PRAGMA foreign_key_check finds a violation, 0 when none,
 * -1 on error.
 */
static int
fk_violations(struct inv *inv)
{
	struct db_stmt *s;
	int row;

	if (db_prepare(inv->db, "PRAGMA foreign_key_check", &s, NULL) !=
	    BOOTD_OK)
		return -1;
	row = step(inv, s);
	db_finalize(s);
	return row;
}

/*
 * SQLite: migrate only a file that holds an inventory of version v (its
 * tables env and host) or nothing at all (a new one).  Any other database
 * named by mistake is left as it is: the events database, whose versions
 * count from 1 too, took the inventory's later migrations and was then
 * refused by bootd as newer than its own; another program's file took
 * the whole schema.  PostgreSQL: its schema is bootd's own (pg_tables).
 */
static enum bootd_err
inventory_or_empty(struct inv *inv, int v, struct bootd_error *err)
{
	char qp[QBUF];
	int64_t n;

	if (inv->pg)
		return BOOTD_OK;
	if (query_int(inv, v > 0 ? "SELECT count(*) FROM sqlite_schema "
	    "WHERE type = 'table' AND name IN ('env', 'host')" :
	    "SELECT count(*) FROM sqlite_schema", &n) <= 0)
		return dberr(inv, "read the schema", err);
	if (v > 0 && n != 2)
		return bootd_error_set(err, BOOTD_EDB, "\"%s\" is not a bootd "
		    "inventory (schema version %d without its tables): left "
		    "as it is", q(inv->path, qp), v);
	if (v == 0 && n != 0)
		return bootd_error_set(err, BOOTD_EDB, "\"%s\" is not a bootd "
		    "inventory (tables of another schema): left as it is",
		    q(inv->path, qp));
	return BOOTD_OK;
}

/*
 * Bring the schema from its version to the latest, in one transaction.
 * Foreign keys are off meanwhile (the caller turns them on afterwards), so
 * that a migration may rebuild a table the way SQLite documents for
 * ALTER TABLE; the result is checked before the commit.
 */
static enum bootd_err
migrate(struct inv *inv, struct bootd_error *err)
{
	const struct migration *m = inv_migrations;
	char sql[64];
	enum bootd_err rc;
	int i, n = inv_nmigrations, v, latest = inv_schema_latest();

	if (inv->pg) {
		m = pg_inv_migrations;
		n = pg_inv_nmigrations;
		/*
		 * READ COMMITTED, and one migration at a time by an
		 * advisory lock (keys "boot", 1: the inventory's): a
		 * second process waits for the first, then reads the
		 * version it left, with a snapshot taken after the lock.
		 */
		if (exec_sql(inv, "BEGIN; SELECT pg_advisory_xact_lock("
		    "1651470196, 1)") != BOOTD_OK)
			return dberr(inv, "begin migration", err);
	} else if ((rc = db_begin(inv->db, DB_TXN_WRITE, &inv->dbe)) !=
	    BOOTD_OK) {
		failed(inv, rc);
		return dberr(inv, "begin migration", err);
	}
	/* Read again: another process may have migrated meanwhile. */
	if ((rc = read_version(inv, &v, err)) != BOOTD_OK ||
	    (rc = inventory_or_empty(inv, v, err)) != BOOTD_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		if (m[i].version <= v)
			continue;
		if (exec_sql(inv, m[i].sql) != BOOTD_OK) {
			rc = bootd_error_set(err, BOOTD_EDB,
			    "%s: migration %s failed: %s", inv->path,
			    m[i].name, db_engine_msg(inv->dbe.text));
			goto fail;
		}
	}
	if (inv->pg) {
		/* Each file records its version; they must reach ours. */
		if ((rc = read_version(inv, &v, err)) != BOOTD_OK)
			goto fail;
		if (v != latest) {
			rc = bootd_error_set(err, BOOTD_EDB, "%s: migrations "
			    "leave schema version %d, not %d", inv->path, v,
			    latest);
			goto fail;
		}
	} else if (fk_violations(inv) != 0) {
		rc = bootd_error_set(err, BOOTD_EDB, "%s: migration to schema "
		    "version %d leaves foreign key violations", inv->path,
		    latest);
		goto fail;
	}
	if (!inv->pg && v < latest) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", latest);
		if (exec_sql(inv, sql) != BOOTD_OK) {
			rc = dberr(inv, "set schema version", err);
			goto fail;
		}
	}
	if ((rc = db_commit(inv->db, &inv->dbe)) != BOOTD_OK) {
		failed(inv, rc);
		rc = dberr(inv, "commit migration", err);
		goto fail;
	}
	return BOOTD_OK;
fail:
	db_rollback(inv->db, NULL);
	return rc;
}

/*
 * Create the database file if it does not exist yet, with mode
 * INV_FILE_MODE whatever the umask: the daemon's user and the operators
 * of group bootd (bootctl is setgid bootd) both write it, and SQLite gives
 * its -wal and -shm files the database's mode.  An existing file is left
 * as it is; a symbolic link is not followed.
 */
static enum bootd_err
create_file(const char *path, struct bootd_error *err)
{
	char qp[QBUF];
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    INV_FILE_MODE);
	if (fd == -1) {
		if (errno == EEXIST)
			return BOOTD_OK;
		return bootd_error_set(err, BOOTD_ESYS, "cannot create "
		    "database \"%s\": %s", q(path, qp), strerror(errno));
	}
	if (fchmod(fd, INV_FILE_MODE) == -1) {
		close(fd);
		return bootd_error_set(err, BOOTD_ESYS, "cannot set the mode "
		    "of database \"%s\": %s", q(path, qp), strerror(errno));
	}
	close(fd);
	return BOOTD_OK;
}

/*
 * Whether the effective user may do what (R_OK, W_OK, X_OK) to path;
 * when not for lack of permission, write why into buf ("no read
 * permission on the file ...", with its owner and mode) and return 0.
 * Any other failure (ENOENT...) counts as allowed: it is not about
 * permissions.
 */
static int
perm_ok(const char *path, int what, const char *kind, const char *note,
    char *buf, size_t size)
{
	struct passwd *pw;
	struct group *gr;
	struct stat sb;
	char u[32], g[32], qp[QBUF];

	if (faccessat(AT_FDCWD, path, what, AT_EACCESS) == 0 ||
	    errno != EACCES)
		return 1;
	if (stat(path, &sb) == -1)
		return 1;
	if ((pw = getpwuid(sb.st_uid)) != NULL)
		snprintf(u, sizeof(u), "%s", pw->pw_name);
	else
		snprintf(u, sizeof(u), "%ld", (long)sb.st_uid);
	if ((gr = getgrgid(sb.st_gid)) != NULL)
		snprintf(g, sizeof(g), "%s", gr->gr_name);
	else
		snprintf(g, sizeof(g), "%ld", (long)sb.st_gid);
	snprintf(buf, size, "no %s permission on the %s \"%s\" (%s:%s, "
	    "mode %04o) for uid %ld gid %ld%s",
	    what == R_OK ? "read" : what == W_OK ? "write" :
	    what == X_OK ? "search" : "read and write", kind, q(path, qp), u, g,
	    (unsigned)(sb.st_mode & 07777), (long)geteuid(), (long)getegid(),
	    note);
	return 0;
}

/*
 * When permissions are why the database at path cannot be opened (or,
 * with write, changed), say which: its directory (searched; written, when
 * the -wal and -shm files are to be made), the file, its -wal and -shm
 * (which readers write too).  NULL when they are not the reason.
 */
static const char *
perm_problem(const char *path, int write, char *buf, size_t size)
{
	static const char *const sides[] = { "-wal", "-shm" };
	char dir[PATH_MAX], side[PATH_MAX];
	const char *slash;
	size_t i;
	int missing = 0;

	if ((slash = strrchr(path, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (!perm_ok(dir, X_OK, "directory", "", buf, size) ||
	    !perm_ok(path, R_OK, "file", "", buf, size) ||
	    (write && !perm_ok(path, W_OK, "file", "", buf, size)))
		return buf;
	for (i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", path, sides[i]);
		if (access(side, F_OK) == -1 && errno == ENOENT)
			missing = 1;
		else if (!perm_ok(side, R_OK | W_OK, "file", "", buf, size))
			return buf;
	}
	if (missing && !perm_ok(dir, W_OK, "directory", ": the -wal and -shm "
	    "files are made there", buf, size))
		return buf;
	return NULL;
}

/*
 * Open and check the SQLite file path as inv_open() describes, into
 * inv->db; v gets its schema version.
 */
static enum bootd_err
open_file(struct inv *inv, const char *path, enum inv_mode mode, int *v,
    struct bootd_error *err)
{
	struct stat sb;
	enum bootd_err rc;
	enum db_mode dmode;
	char qp[QBUF], why[200];

	switch (mode) {
	case INV_RDONLY:
		dmode = DB_RDONLY;
		break;
	case INV_RDWR:
		dmode = DB_RDWR;
		break;
	default:
		dmode = DB_CREATE;
		if ((rc = create_file(path, err)) != BOOTD_OK)
			return rc;
		break;
	}
	/* Foreign keys on, busy timeout 5 s, extended codes: db_open(). */
	if ((rc = db_open(path, dmode, &inv->db, &inv->dbe)) != BOOTD_OK)
		return bootd_error_set(err, rc == BOOTD_ENOMEM ? rc : BOOTD_EDB,
		    "cannot open database \"%s\": %s", q(path, qp),
		    perm_problem(path, mode != INV_RDONLY, why,
		    sizeof(why)) != NULL ? why : db_open_reason(inv->dbe.text, path));
	/* SQLite opens a file it may not write read-only, silently. */
	if (mode != INV_RDONLY && db_sqlite_readonly(inv->db))
		return bootd_error_set(err, BOOTD_EDB, "cannot change database "
		    "\"%s\": %s", q(path, qp), perm_problem(path, 1, why,
		    sizeof(why)) != NULL ? why : "it opened read-only");
	/*
	 * Keep the -wal and -shm files when the last connection closes, so
	 * that the ones the service user (or root, for it) made stay the
	 * only ones: a setgid bootctl never creates them for its caller
	 * (dbdir.h).
	 */
	db_sqlite_persist_wal(inv->db, "main", NULL);
	if (stat(path, &sb) == 0) {
		inv->have_ident = 1;
		inv->dev = sb.st_dev;
		inv->ino = sb.st_ino;
	}

	/* The first real read tells a database from any other file. */
	if (read_version(inv, v, NULL) != BOOTD_OK) {
		rc = db_errclass(inv->db) == DB_ERR_BUSY ? BOOTD_EBUSY :
		    BOOTD_EDB;
		if (perm_problem(path, mode != INV_RDONLY, why,
		    sizeof(why)) != NULL)
			return bootd_error_set(err, rc, "cannot open database "
			    "\"%s\": %s", q(path, qp), why);
		return bootd_error_set(err, rc, "\"%s\" is not a usable "
		    "bootd database: %s", q(path, qp),
		    db_engine_msg(inv->dbe.text));
	}
	/*
	 * FULL: an operator's change or an installer's "done" is on disk
	 * once acknowledged, whatever power does next (boot events, which
	 * may lose their last moments, live in the events database).
	 * Temporary tables in memory: bootctl runs setgid, and SQLite would
	 * otherwise take their directory from the environment.  Every
	 * inventory connection that writes comes through here, except the
	 * recorder's move of legacy events, which attaches the inventory and
	 * sets the same (events_import()); tests/integration/
	 * test_durability.py sees each writer sync the WAL before its commit
	 * returns.
	 */
	if (exec_sql(inv, "PRAGMA synchronous = FULL; "
	    "PRAGMA temp_store = MEMORY") != BOOTD_OK)
		return dberr(inv, "set connection options", err);
	if (mode == INV_RDONLY) {
		/*
		 * Read the file through a shared mapping instead of
		 * pread(2) into a private page cache: a boot lookup at 1M
		 * hosts made five pread(2) calls, about 3 us more a lookup.
		 * The mapped pages are the kernel's page cache, shared by
		 * every reader; they count in a process's VmRSS (as
		 * RssFile), not in its own memory (RssAnon).  Pages the
		 * last commits left in the WAL are still read from there.
		 * The mapping outlives other connections' commits (SQLite
		 * would drop it at each: db_sqlite_map.c says what that
		 * cost).  Without a mapping (the pragma fails or SQLite was
		 * built without) reads fall back to pread(2).  Like any
		 * mapping of a file, one cut short under a reader (the
		 * inventory overwritten in place instead of replaced) would
		 * stop that process with SIGBUS: the master then starts
		 * another worker.
		 */
		exec_sql(inv, "PRAGMA mmap_size = " INV_MMAP_SIZE);
	} else {
		/*
		 * WAL lets readers go on while one writer writes.  It is a
		 * property of the file; failing to switch (another
		 * connection holds it in rollback mode) is not fatal.
		 */
		exec_sql(inv, "PRAGMA journal_mode = WAL");
	}
	return BOOTD_OK;
}

/*
 * A set-reinstall of 10,000 hosts of 1,000,000 dirties some 2,800 pages
 * (tokens and their indexes, hosts, audit rows).  In SQLite's default
 * cache of 2 MiB (500 pages) the transaction spilled them to the WAL and
 * read them back as it went: 13,600 pwrite(2) and 11,200 pread(2) calls
 * before and during the commit's checkpoint; with 16 MiB, 5,700 and
 * 3,100.  The instructions bootctl runs stay the same: the saving is the
 * kernel's.  bootd's processes keep the default: a worker's memory must
 * stay small and flat.
 */
void
inv_cache_mib(struct inv *inv, int mib)
{
	char sql[64];

	if (inv->pg || mib <= 0)
		return;
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", mib * 1024);
	exec_sql(inv, sql);	/* an optimisation: failing is harmless */
}

/*
 * Connect to the PostgreSQL database at uri as inv_open() describes, into
 * inv->db; v gets its schema version.  inv->path is the URI masked.
 */
static enum bootd_err
open_uri(struct inv *inv, const char *uri, enum inv_mode mode, int *v,
    struct bootd_error *err)
{
	enum bootd_err rc;
	char qp[QBUF];

	if ((rc = db_open(uri, mode == INV_RDONLY ? DB_RDONLY : DB_RDWR,
	    &inv->db, &inv->dbe)) != BOOTD_OK) {
		return bootd_error_set(err, rc == BOOTD_ENOMEM ? rc : BOOTD_EDB,
		    "cannot open database \"%s\": %s", q(inv->path, qp),
		    db_engine_msg(inv->dbe.text));
	}
	inv->pg = 1;
	if (read_version(inv, v, NULL) != BOOTD_OK)
		return bootd_error_set(err, db_errclass(inv->db) ==
		    DB_ERR_BUSY ? BOOTD_EBUSY : BOOTD_EDB, "cannot read the "
		    "schema version of database \"%s\": %s", q(inv->path, qp),
		    db_engine_msg(inv->dbe.text));
	/*
	 * A database that exists is not yet one of bootd's: only
	 * INV_CREATE makes the schema in one that has none (a URI naming
	 * the wrong database fails, instead of filling it).
	 */
	if (*v == 0 && mode == INV_RDWR)
		return bootd_error_set(err, BOOTD_EDB, "database \"%s\" has "
		    "no bootd schema yet (schema version 0): create it with "
		    "\"bootctl init\"", q(inv->path, qp));
	return BOOTD_OK;
}

enum bootd_err
inv_open(const char *path, enum inv_mode mode, struct inv **out,
    struct bootd_error *err)
{
	struct inv *inv;
	enum bootd_err rc;
	int v = 0, latest = inv_schema_latest();
	char qp[QBUF], masked[512];

	*out = NULL;
	if (path == NULL || *path == '\0')
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no database path given");
	if (mode != INV_RDONLY && mode != INV_RDWR && mode != INV_CREATE)
		return bootd_error_set(err, BOOTD_EINVAL, "bad open mode");
	if ((inv = calloc(1, sizeof(*inv))) == NULL)
		return nomem(err);
	inv->mode = mode;
	if (db_is_uri(path))
		db_where_print(path, masked, sizeof(masked));
	if ((inv->path = strdup(db_is_uri(path) ? masked : path)) == NULL ||
	    (inv->actor = strdup("unknown")) == NULL) {
		rc = nomem(err);
		goto fail;
	}
	if (db_is_uri(path))
		rc = open_uri(inv, path, mode, &v, err);
	else
		rc = open_file(inv, path, mode, &v, err);
	if (rc != BOOTD_OK)
		goto fail;
	if (v > latest) {
		rc = bootd_error_set(err, BOOTD_EVERSION, "database schema "
		    "version %d is newer than this bootd (%d); upgrade bootd",
		    v, latest);
		goto fail;
	}
	/*
	 * A PostgreSQL inventory is shared by the boot servers of every
	 * site: only bootctl init (INV_CREATE) changes its schema, never a
	 * bootd that happens to be upgraded first, under the other sites'
	 * older ones (which would then refuse it).
	 */
	if (mode == INV_RDONLY || (inv->pg && mode == INV_RDWR)) {
		if (v == 0) {
			rc = bootd_error_set(err, BOOTD_EDB, "database \"%s\" "
			    "has no bootd schema yet (schema version 0): "
			    "create it with \"bootctl init\"",
			    q(inv->path, qp));
			goto fail;
		}
		if (v < latest) {
			rc = bootd_error_set(err, BOOTD_EDB, "database schema "
			    "version %d is older than this bootd (%d): upgrade "
			    "it with \"bootctl init\"", v, latest);
			goto fail;
		}
	} else if (v < latest) {
		/* PostgreSQL always enforces foreign keys. */
		if (!inv->pg)
			exec_sql(inv, "PRAGMA foreign_keys = OFF");
		if ((rc = migrate(inv, err)) != BOOTD_OK)
			goto fail;
	}
	if (!inv->pg && exec_sql(inv, "PRAGMA foreign_keys = ON") !=
	    BOOTD_OK) {
		rc = dberr(inv, "set connection options", err);
		goto fail;
	}
	*out = inv;
	return BOOTD_OK;
fail:
	inv_close(inv);
	return rc;
}

void
inv_close(struct inv *inv)
{
	if (inv == NULL)
		return;
	db_close(inv->db);	/* and every statement of inv->st */
	group_end(inv);
	buf_free(&inv->audit_text);
	free(inv->path);
	free(inv->actor);
	explicit_bzero(inv->rnd, sizeof(inv->rnd));	/* future tokens */
	free(inv);
}

enum bootd_err
inv_schema_version(struct inv *inv, int *version, struct bootd_error *err)
{
	return read_version(inv, version, err);
}

void
inv_set_busy_timeout(struct inv *inv, int ms)
{
	db_set_timeout(inv->db, ms, NULL);
}

void
inv_set_deadline(struct inv *inv, int ms)
{
	db_set_deadline(inv->db, ms, NULL);
}

enum bootd_err
inv_set_actor(struct inv *inv, const char *actor)
{
	char *p;
	size_t i;

	if (actor == NULL || *actor == '\0')
		actor = "unknown";
	for (i = 0; actor[i] != '\0'; i++)
		if ((unsigned char)actor[i] < 0x20 || actor[i] == 0x7f)
			return BOOTD_EINVAL;
	if ((p = strdup(actor)) == NULL)
		return BOOTD_ENOMEM;
	free(inv->actor);
	inv->actor = p;
	return BOOTD_OK;
}

int
inv_unavailable(const struct inv *inv)
{
	return inv != NULL && (inv->dbclass == DB_ERR_CONN ||
	    inv->dbclass == DB_ERR_READONLY);
}

int
inv_is_standby(const struct inv *inv)
{
	return inv != NULL && inv->db != NULL && db_is_standby(inv->db);
}

enum bootd_err
inv_standby_replay(struct inv *inv, int64_t *replayed, int64_t *behind,
    struct bootd_error *err)
{
	if (!inv_is_standby(inv))
		return bootd_error_set(err, BOOTD_EINVAL, "not a hot standby");
	if (query_int(inv, "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), "
	    "'0/0')::bigint", replayed) != 1 ||
	    query_int(inv, "SELECT pg_wal_lsn_diff(coalesce("
	    "pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), "
	    "pg_last_wal_replay_lsn())::bigint", behind) != 1)
		return dberr(inv, "read the standby's replay", err);
	if (*behind < 0)
		*behind = 0;
	return BOOTD_OK;
}

/*
 * SQLite's data_version changes when another connection commits; the
 * handle's own commits are counted in inv->commits.  PostgreSQL has no
 * such number.
 */
void
inv_mark(struct inv *inv, struct inv_mark *m)
{
	memset(m, 0, sizeof(*m));
	if (inv->pg || query_int(inv, "PRAGMA data_version", &m->version) <= 0)
		return;
	m->commits = inv->commits;
	m->known = 1;
}

int
inv_unchanged(struct inv *inv, const struct inv_mark *m)
{
	struct inv_mark now;

	if (!m->known)
		return 0;
	inv_mark(inv, &now);
	return now.known && now.version == m->version &&
	    now.commits == m->commits;
}

int
inv_stale(struct inv *inv)
{
	struct stat sb;

	if (inv == NULL || !inv->have_ident)
		return 0;
	if (stat(inv->path, &sb) == -1)
		return 1;
	return sb.st_dev != inv->dev || sb.st_ino != inv->ino;
}


enum bootd_err
inv_counts(struct inv *inv, struct inv_counts *c, struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc = BOOTD_OK;

	memset(c, 0, sizeof(*c));
	if ((rc = group_reads(inv, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_COUNTS, err)) == NULL)
		return inv->dbrc;
	if (step(inv, s) > 0) {
		c->hosts = db_column_int64(s, 0);
		c->nics = db_column_int64(s, 1);
		c->dists = db_column_int64(s, 2);
		c->envs = db_column_int64(s, 3);
		c->installing = db_column_int64(s, 4);
	} else
		rc = dberr(inv, "count inventory", err);
	db_reset(s);
	return rc;
}
