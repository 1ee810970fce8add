/*
 * inv.c - the SQLite inventory: hosts, NICs, environments, distributions,
 * attributes, install tokens and the audit log
 *
 * The schema is sql/NNN-*.sql, compiled in as inv_migrations[].  Every
 * statement is prepared once per handle (lazily, on first use) and kept in
 * struct inv; each use resets it and clears its bindings.  Every change runs
 * inside BEGIN IMMEDIATE ... COMMIT together with its audit row; any failure
 * rolls the whole change back.  Between inv_begin() and inv_commit() the
 * changes share the caller's one transaction instead, each inside a
 * savepoint of its own, so that a bulk change is one commit, all or nothing.
 *
 * Boot events, discovered MACs and last seen times are not here: they
 * live in the events database (events.c).  The inventory runs
 * synchronous=FULL: a change is on disk once its commit returns.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

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

#include <sqlite3.h>

#include "buf.h"
#include "inv.h"
#include "mac.h"
#include "migrations.h"
#include "tmpl.h"
#include "valid.h"

#define DEFAULT_BUSY_MS	5000
#define FQDN_BUF	254	/* 253 characters and the NUL */
#define QBUF		72	/* a user-supplied value quoted in a message */

/* Every statement this module runs, prepared at most once per handle. */
enum stmt {
	S_BEGIN,
	S_BEGIN_READ,
	S_COMMIT,
	S_ROLLBACK,
	S_VERSION,
	S_AUDIT,
	S_HOST_BY_FQDN,
	S_HOST_BY_MAC,
	S_HOST_BY_SHORT,
	S_HOST_FULL,
	S_HOST_ENV,
	S_LOOKUP,
	S_LOOKUP_DIST,
	S_HOST_MACS,
	S_HOST_ATTRS,
	S_HOST_IDS,
	S_HOST_INSERT,
	S_HOST_DELETE,
	S_HOST_RENAME,
	S_HOST_SET_ENV,
	S_HOST_SET_DIST,
	S_HOST_SET_ACTION,
	S_NIC_INSERT,
	S_NIC_DELETE,
	S_NIC_COUNT,
	S_ATTR_GET,
	S_ATTR_SET,
	S_ATTR_DELETE,
	S_ENV_GET,
	S_ENV_ALL,
	S_ENV_INSERT,
	S_ENV_DELETE,
	S_ENV_SET_GROUP,
	S_ENV_USERS,
	S_DIST_NAMES,
	S_DIST_INSERT,
	S_DIST_UPDATE,
	S_DIST_DELETE,
	S_DIST_USERS,
	S_DIST_INSTALLING,
	S_INITRD_INSERT,
	S_INITRD_DELETE,
	S_TOKEN_REVOKE,
	S_TOKEN_INSERT,
	S_TOKEN_GET,
	S_TOKEN_USE,
	S_TOKEN_FETCH_GET,
	S_TOKEN_FETCH_SET,
	S_AUDIT_ALL,
	S_AUDIT_OBJ,
	S_COUNTS,
	S_FORGET_SET,
	S_FORGET_GET,
	S__MAX
};

#define HOST_COLS \
	"h.id, h.fqdn, h.env, h.action, h.dist, t.token, t.expires"
#define LIVE_TOKEN \
	"LEFT JOIN token t ON t.host = h.id AND t.used_at IS NULL " \
	"AND t.revoked = 0 AND t.expires > ?2 "

static const char *const sqltab[S__MAX] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_BEGIN_READ] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_VERSION] = "PRAGMA user_version",
	[S_AUDIT] = "INSERT INTO audit (time, actor, op, object, old, new) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_HOST_BY_FQDN] = "SELECT id, fqdn FROM host WHERE fqdn = ?1",
	[S_HOST_BY_MAC] = "SELECT h.id, h.fqdn FROM nic n "
	    "JOIN host h ON h.id = n.host WHERE n.mac = ?1",
	[S_HOST_BY_SHORT] = "SELECT id, fqdn FROM host "
	    "WHERE substr(fqdn, 1, instr(fqdn || '.', '.') - 1) = ?1 "
	    "ORDER BY fqdn LIMIT 4",
	[S_HOST_FULL] = "SELECT " HOST_COLS " FROM host h " LIVE_TOKEN
	    "WHERE h.id = ?1",
	[S_HOST_ENV] = "SELECT e.name, e.unix_group FROM host h "
	    "JOIN env e ON e.name = h.env WHERE h.id = ?1",
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
	    "WHERE n.mac = ?1 ORDER BY a.key",
	/* A distribution with its initrds, one row each (a NULL url: none). */
	[S_LOOKUP_DIST] = "SELECT d.name, d.kernel, d.cmdline, i.url "
	    "FROM dist d LEFT JOIN dist_initrd i ON i.dist = d.name "
	    "WHERE d.name = ?1 ORDER BY i.pos",
	[S_HOST_MACS] = "SELECT mac FROM nic WHERE host = ?1 ORDER BY mac",
	[S_HOST_ATTRS] = "SELECT key, value FROM host_attr WHERE host = ?1 "
	    "ORDER BY key",
	[S_HOST_IDS] = "SELECT id FROM host ORDER BY fqdn",
	[S_HOST_INSERT] = "INSERT INTO host (fqdn, env) VALUES (?1, ?2)",
	[S_HOST_DELETE] = "DELETE FROM host WHERE id = ?1",
	[S_HOST_RENAME] = "UPDATE host SET fqdn = ?2 WHERE id = ?1",
	[S_HOST_SET_ENV] = "UPDATE host SET env = ?2 WHERE id = ?1",
	[S_HOST_SET_DIST] = "UPDATE host SET dist = ?2 WHERE id = ?1",
	[S_HOST_SET_ACTION] = "UPDATE host SET action = ?2, dist = ?3 "
	    "WHERE id = ?1",
	[S_NIC_INSERT] = "INSERT INTO nic (mac, host) VALUES (?1, ?2)",
	[S_NIC_DELETE] = "DELETE FROM nic WHERE mac = ?1",
	[S_NIC_COUNT] = "SELECT count(*) FROM nic WHERE host = ?1",
	[S_ATTR_GET] = "SELECT value FROM host_attr WHERE host = ?1 "
	    "AND key = ?2",
	[S_ATTR_SET] = "INSERT INTO host_attr (host, key, value) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (host, key) "
	    "DO UPDATE SET value = excluded.value",
	[S_ATTR_DELETE] = "DELETE FROM host_attr WHERE host = ?1 AND key = ?2",
	[S_ENV_GET] = "SELECT name, unix_group FROM env WHERE name = ?1",
	[S_ENV_ALL] = "SELECT name, unix_group FROM env ORDER BY name",
	[S_ENV_INSERT] = "INSERT INTO env (name, unix_group) VALUES (?1, ?2)",
	[S_ENV_DELETE] = "DELETE FROM env WHERE name = ?1",
	[S_ENV_SET_GROUP] = "UPDATE env SET unix_group = ?2 WHERE name = ?1",
	[S_ENV_USERS] = "SELECT count(*) FROM host WHERE env = ?1",
	[S_DIST_NAMES] = "SELECT name FROM dist ORDER BY name",
	[S_DIST_INSERT] = "INSERT INTO dist (name, kernel, cmdline) "
	    "VALUES (?1, ?2, ?3)",
	[S_DIST_UPDATE] = "UPDATE dist SET kernel = ?2, cmdline = ?3 "
	    "WHERE name = ?1",
	[S_DIST_DELETE] = "DELETE FROM dist WHERE name = ?1",
	[S_DIST_USERS] = "SELECT fqdn, count(*) OVER () FROM host "
	    "WHERE dist = ?1 ORDER BY fqdn LIMIT 3",
	[S_DIST_INSTALLING] = "SELECT id, fqdn FROM host WHERE dist = ?1 "
	    "AND action = 'install' ORDER BY fqdn",
	[S_INITRD_INSERT] = "INSERT INTO dist_initrd (dist, pos, url) "
	    "VALUES (?1, ?2, ?3)",
	[S_INITRD_DELETE] = "DELETE FROM dist_initrd WHERE dist = ?1",
	[S_TOKEN_REVOKE] = "UPDATE token SET revoked = 1 WHERE host = ?1 "
	    "AND used_at IS NULL AND revoked = 0",
	[S_TOKEN_INSERT] = "INSERT INTO token (token, host, created, expires) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[S_TOKEN_GET] = "SELECT t.host, h.fqdn, t.expires, t.used_at, "
	    "t.revoked, h.action, h.dist, t.fetched_from FROM token t "
	    "JOIN host h ON h.id = t.host WHERE t.token = ?1",
	[S_TOKEN_USE] = "UPDATE token SET used_at = ?2 WHERE token = ?1",
	[S_TOKEN_FETCH_GET] = "SELECT t.token, h.fqdn, t.fetched_from "
	    "FROM nic n JOIN host h ON h.id = n.host JOIN token t "
	    "ON t.host = h.id AND t.used_at IS NULL AND t.revoked = 0 "
	    "AND t.expires > ?2 WHERE n.mac = ?1",
	/* At most one change of address a minute (FETCH_INTERVAL). */
	[S_TOKEN_FETCH_SET] = "UPDATE token SET fetched_from = ?2, "
	    "fetched_at = ?3 WHERE token = ?1 AND used_at IS NULL "
	    "AND revoked = 0 AND fetched_from IS NOT ?2 "
	    "AND (fetched_at IS NULL OR fetched_at <= ?3 - 60)",
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
	    "SELECT ?1, coalesce((SELECT max(id) FROM audit WHERE "
	    "object = ?1 AND op IN ('host-add', 'host-rename')), 0), "
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
	    "VALUES (?1, ?2) ON CONFLICT (mac) DO UPDATE SET "
	    "forgotten_at = max(forgotten_at, excluded.forgotten_at)",
	[S_FORGET_GET] = "SELECT forgotten_at FROM discovered_forgotten "
	    "WHERE mac = ?1",
	[S_COUNTS] = "SELECT (SELECT count(*) FROM host), "
	    "(SELECT count(*) FROM nic), (SELECT count(*) FROM dist), "
	    "(SELECT count(*) FROM env), "
	    "(SELECT count(*) FROM host WHERE action = 'install')",
};

struct inv {
	sqlite3		*db;
	char		*path;		/* as given to inv_open() */
	enum inv_mode	 mode;
	int		 have_ident;	/* dev/ino below are valid */
	dev_t		 dev;
	ino_t		 ino;
	char		*actor;		/* for the audit log */
	sqlite3_stmt	*st[S__MAX];	/* prepared on first use */
	inv_authorizer	 authz;		/* NULL: every change allowed */
	void		*authz_arg;
	int		 grouped;	/* inside inv_begin() ... inv_commit() */
};

/* A resolved host: its row id and FQDN. */
struct href {
	int64_t	id;
	char	fqdn[FQDN_BUF];
};

/* Helpers ------------------------------------------------------------- */

/*
 * Turn the handle's last SQLite error into a bootd error: busy and locked
 * become BOOTD_EBUSY, constraint failures BOOTD_EEXIST (unique) or
 * BOOTD_EINVAL, the rest BOOTD_EDB.  The text is "what: sqlite message".
 */
static enum bootd_err
dberr(struct inv *inv, const char *what, struct bootd_error *err)
{
	int ext = sqlite3_extended_errcode(inv->db);
	enum bootd_err code;

	switch (ext & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = BOOTD_EBUSY;
		break;
	case SQLITE_NOMEM:
		code = BOOTD_ENOMEM;
		break;
	case SQLITE_CONSTRAINT:
		code = (ext == SQLITE_CONSTRAINT_UNIQUE ||
		    ext == SQLITE_CONSTRAINT_PRIMARYKEY) ? BOOTD_EEXIST :
		    BOOTD_EINVAL;
		break;
	default:
		code = BOOTD_EDB;
		break;
	}
	return bootd_error_set(err, code, "%s: %s", what,
	    sqlite3_errmsg(inv->db));
}

static enum bootd_err
nomem(struct bootd_error *err)
{
	return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
}

/*
 * Return statement id of inv, prepared on first use, reset and with its
 * bindings cleared; NULL (with err filled) if it cannot be prepared.
 */
static sqlite3_stmt *
stmt(struct inv *inv, enum stmt id, struct bootd_error *err)
{
	sqlite3_stmt *s;

	if ((s = inv->st[id]) == NULL) {
		if (sqlite3_prepare_v3(inv->db, sqltab[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
			dberr(inv, "prepare", err);
			return NULL;
		}
		inv->st[id] = s;
		return s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

/*
 * Step s, which returns no row, and reset it.  what names it in errors.
 */
static enum bootd_err
run(struct inv *inv, sqlite3_stmt *s, const char *what,
    struct bootd_error *err)
{
	enum bootd_err rc = BOOTD_OK;

	if (sqlite3_step(s) != SQLITE_DONE)
		rc = dberr(inv, what, err);
	sqlite3_reset(s);
	return rc;
}

/*
 * Step s once for a single integer (a count).  s is reset afterwards.
 */
static enum bootd_err
run_int(struct inv *inv, sqlite3_stmt *s, int64_t *v, const char *what,
    struct bootd_error *err)
{
	enum bootd_err rc = BOOTD_OK;

	if (sqlite3_step(s) == SQLITE_ROW)
		*v = sqlite3_column_int64(s, 0);
	else
		rc = dberr(inv, what, err);
	sqlite3_reset(s);
	return rc;
}

/*
 * Run statement id, which returns no row, with ?1 bound to text.  what
 * names it in errors.
 */
static enum bootd_err
run_text(struct inv *inv, enum stmt id, const char *text, const char *what,
    struct bootd_error *err)
{
	sqlite3_stmt *s;

	if ((s = stmt(inv, id, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, text);
	return run(inv, s, what, err);
}

/*
 * Run statement id, which returns no row, with ?1 bound to the row id of a
 * host and ?2 to text.  what names it in errors.
 */
static enum bootd_err
run_host(struct inv *inv, enum stmt id, int64_t host, const char *text,
    const char *what, struct bootd_error *err)
{
	sqlite3_stmt *s;

	if ((s = stmt(inv, id, err)) == NULL)
		return BOOTD_EDB;
	sqlite3_bind_int64(s, 1, host);
	bind_text(s, 2, text);
	return run(inv, s, what, err);
}

/*
 * Step s (bound) to its first row.  BOOTD_OK leaves s on that row for the
 * caller to read and then reset; otherwise s is reset and the result is
 * BOOTD_ENOTFOUND (no row, err untouched) or a database error named by
 * what.
 */
static enum bootd_err
first_row(struct inv *inv, sqlite3_stmt *s, const char *what,
    struct bootd_error *err)
{
	enum bootd_err rc;

	switch (sqlite3_step(s)) {
	case SQLITE_ROW:
		return BOOTD_OK;
	case SQLITE_DONE:
		rc = BOOTD_ENOTFOUND;
		break;
	default:
		rc = dberr(inv, what, err);
		break;
	}
	sqlite3_reset(s);
	return rc;
}

/* Copy a text column (NULL stays NULL).  Returns -1 on allocation failure. */
static int
col_dup(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char *t;

	*out = NULL;
	if ((t = sqlite3_column_text(s, i)) == NULL)
		return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : -1;
	if ((*out = strdup((const char *)t)) == NULL)
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
static void *
read_rows(struct inv *inv, sqlite3_stmt *s, size_t size,
    enum bootd_err (*fill)(sqlite3_stmt *, void *, struct bootd_error *),
    size_t *n, enum bootd_err *rc, const char *what, struct bootd_error *err)
{
	char *v = NULL;
	size_t cap = 0;
	void *p;
	int src;

	*n = 0;
	*rc = BOOTD_OK;
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
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
	if (*rc == BOOTD_OK && src != SQLITE_DONE)
		*rc = dberr(inv, what, err);
	sqlite3_reset(s);
	return v;
}

/* fill for read_rows(): column 0 into a char *. */
static enum bootd_err
fill_text(sqlite3_stmt *s, void *elem, struct bootd_error *err)
{
	return col_dup(s, 0, elem) ? nomem(err) : BOOTD_OK;
}

/* fill for read_rows(): column 0 into an int64_t. */
static enum bootd_err
fill_id(sqlite3_stmt *s, void *elem, struct bootd_error *err)
{
	*(int64_t *)elem = sqlite3_column_int64(s, 0);
	return BOOTD_OK;
}

/* fill for read_rows() and others: a struct href from columns 0 and 1. */
static enum bootd_err
fill_ref(sqlite3_stmt *s, void *elem, struct bootd_error *err)
{
	struct href *ref = elem;

	ref->id = sqlite3_column_int64(s, 0);
	snprintf(ref->fqdn, sizeof(ref->fqdn), "%s",
	    (const char *)sqlite3_column_text(s, 1));
	return BOOTD_OK;
}

/* Copy s lowercased (ASCII) into out of size bytes; 0, or -1 if too long. */
static int
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

static const char *
q(const char *s, char *buf)
{
	return valid_quote(s, buf, QBUF);
}

/* Transactions -------------------------------------------------------- */

/*
 * Inside a grouped transaction (inv_begin()), each change and each read
 * runs in a savepoint of its own: a failed change undoes only itself, and
 * the caller decides whether the whole group commits.
 */
static enum bootd_err
tx_savepoint(struct inv *inv, const char *sql, struct bootd_error *err)
{
	if (sqlite3_exec(inv->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return dberr(inv, "savepoint", err);
	return BOOTD_OK;
}

static enum bootd_err
tx_begin(struct inv *inv, struct bootd_error *err)
{
	sqlite3_stmt *s;

	if (inv->mode == INV_RDONLY)
		return bootd_error_set(err, BOOTD_EPERM,
		    "inventory %s is open read-only", inv->path);
	if (inv->grouped)
		return tx_savepoint(inv, "SAVEPOINT inv_change", err);
	if ((s = stmt(inv, S_BEGIN, err)) == NULL)
		return BOOTD_EDB;
	return run(inv, s, "begin transaction", err);
}

static enum bootd_err
tx_read(struct inv *inv, struct bootd_error *err)
{
	sqlite3_stmt *s;

	if (inv->grouped)
		return tx_savepoint(inv, "SAVEPOINT inv_change", err);
	if ((s = stmt(inv, S_BEGIN_READ, err)) == NULL)
		return BOOTD_EDB;
	return run(inv, s, "begin transaction", err);
}

/*
 * End the transaction begun by tx_begin() or tx_read(): commit when rc is
 * BOOTD_OK, else roll back.  Returns rc, or the commit's error.
 */
static enum bootd_err
tx_end(struct inv *inv, enum bootd_err rc, struct bootd_error *err)
{
	sqlite3_stmt *s;
	int i;

	/* No statement may stay active across the end of a transaction. */
	for (i = 0; i < S__MAX; i++)
		if (inv->st[i] != NULL)
			sqlite3_reset(inv->st[i]);
	if (inv->grouped) {
		if (rc != BOOTD_OK)
			sqlite3_exec(inv->db, "ROLLBACK TO inv_change", NULL,
			    NULL, NULL);
		if (sqlite3_exec(inv->db, "RELEASE inv_change", NULL, NULL,
		    NULL) != SQLITE_OK && rc == BOOTD_OK)
			rc = dberr(inv, "release savepoint", err);
		return rc;
	}
	if (rc == BOOTD_OK) {
		if ((s = stmt(inv, S_COMMIT, err)) == NULL)
			rc = BOOTD_EDB;
		else
			rc = run(inv, s, "commit", err);
	}
	if (rc != BOOTD_OK && !sqlite3_get_autocommit(inv->db)) {
		if ((s = stmt(inv, S_ROLLBACK, NULL)) != NULL)
			run(inv, s, "rollback", NULL);
		else
			sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

enum bootd_err
inv_begin(struct inv *inv, struct bootd_error *err)
{
	enum bootd_err rc;

	if (inv->grouped)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "a grouped transaction is already open");
	if ((rc = tx_begin(inv, err)) == BOOTD_OK)
		inv->grouped = 1;
	return rc;
}

enum bootd_err
inv_commit(struct inv *inv, struct bootd_error *err)
{
	if (!inv->grouped)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no grouped transaction is open");
	inv->grouped = 0;
	return tx_end(inv, BOOTD_OK, err);
}

void
inv_rollback(struct inv *inv)
{
	if (!inv->grouped)
		return;
	inv->grouped = 0;
	tx_end(inv, BOOTD_EDB, NULL);
}

/*
 * A time in an audit row's values, as every output of bootctl gives
 * times: RFC 3339 UTC, "2026-01-02T03:04:05Z".  Returns out.
 */
static const char *
audit_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
	return out;
}

static enum bootd_err
audit(struct inv *inv, int64_t now, const char *op, const char *object,
    const char *old, const char *new_, struct bootd_error *err)
{
	sqlite3_stmt *s;

	if ((s = stmt(inv, S_AUDIT, err)) == NULL)
		return BOOTD_EDB;
	sqlite3_bind_int64(s, 1, now);
	bind_text(s, 2, inv->actor);
	bind_text(s, 3, op);
	bind_text(s, 4, object);
	bind_text(s, 5, old);
	bind_text(s, 6, new_);
	return run(inv, s, "audit", err);
}

/* Open, close, schema ------------------------------------------------- */

int
inv_schema_latest(void)
{
	if (inv_nmigrations == 0)
		return 0;
	return inv_migrations[inv_nmigrations - 1].version;
}

static enum bootd_err
read_version(struct inv *inv, int *version, struct bootd_error *err)
{
	sqlite3_stmt *s;
	int rc;

	/* Not cached: it runs before and after a migration changes it. */
	if (sqlite3_prepare_v2(inv->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK)
		return dberr(inv, "read schema version", err);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return dberr(inv, "read schema version", err);
	return BOOTD_OK;
}

/*
 * Return 1 when PRAGMA foreign_key_check finds a violation, 0 when none,
 * -1 on error.
 */
static int
fk_violations(struct inv *inv)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(inv->db, "PRAGMA foreign_key_check", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
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
	char sql[64], *msg = NULL;
	enum bootd_err rc;
	int i, v, latest = inv_schema_latest();

	if (sqlite3_exec(inv->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return dberr(inv, "begin migration", err);
	/* Read again: another process may have migrated meanwhile. */
	if ((rc = read_version(inv, &v, err)) != BOOTD_OK)
		goto fail;
	for (i = 0; i < inv_nmigrations; i++) {
		if (inv_migrations[i].version <= v)
			continue;
		if (sqlite3_exec(inv->db, inv_migrations[i].sql, NULL, NULL,
		    &msg) != SQLITE_OK) {
			rc = bootd_error_set(err, BOOTD_EDB,
			    "%s: migration %s failed: %s", inv->path,
			    inv_migrations[i].name, msg != NULL ? msg :
			    sqlite3_errmsg(inv->db));
			sqlite3_free(msg);
			goto fail;
		}
	}
	if (fk_violations(inv) != 0) {
		rc = bootd_error_set(err, BOOTD_EDB, "%s: migration to schema "
		    "version %d leaves foreign key violations", inv->path,
		    latest);
		goto fail;
	}
	if (v < latest) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", latest);
		if (sqlite3_exec(inv->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = dberr(inv, "set schema version", err);
			goto fail;
		}
	}
	if (sqlite3_exec(inv->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = dberr(inv, "commit migration", err);
		goto fail;
	}
	return BOOTD_OK;
fail:
	if (!sqlite3_get_autocommit(inv->db))
		sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
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
 * Process-wide SQLite settings, made before SQLite's first use: no
 * memory statistics.  Nothing reads them, and keeping them takes a global
 * mutex around every allocation SQLite makes (7% of the instructions of
 * a boot lookup).  Where SQLite is already initialised, sqlite3_config()
 * refuses and its settings stay.
 */
static void
sqlite_setup(void)
{
	static int done;

	if (!done) {
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		done = 1;
	}
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

enum bootd_err
inv_open(const char *path, enum inv_mode mode, struct inv **out,
    struct bootd_error *err)
{
	struct inv *inv;
	struct stat sb;
	enum bootd_err rc;
	int flags, v, persist, latest = inv_schema_latest();
	char qp[QBUF], why[200];

	*out = NULL;
	if (path == NULL || *path == '\0')
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no database path given");
	sqlite_setup();
	if ((inv = calloc(1, sizeof(*inv))) == NULL)
		return nomem(err);
	inv->mode = mode;
	if ((inv->path = strdup(path)) == NULL ||
	    (inv->actor = strdup("unknown")) == NULL) {
		rc = nomem(err);
		goto fail;
	}
	switch (mode) {
	case INV_RDONLY:
		flags = SQLITE_OPEN_READONLY;
		break;
	case INV_RDWR:
		flags = SQLITE_OPEN_READWRITE;
		break;
	case INV_CREATE:
		flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
		if ((rc = create_file(path, err)) != BOOTD_OK)
			goto fail;
		break;
	default:
		rc = bootd_error_set(err, BOOTD_EINVAL, "bad open mode");
		goto fail;
	}
	if (sqlite3_open_v2(path, &inv->db, flags | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		rc = bootd_error_set(err, BOOTD_EDB, "cannot open database "
		    "\"%s\": %s", q(path, qp), perm_problem(path,
		    mode != INV_RDONLY, why, sizeof(why)) != NULL ? why :
		    inv->db != NULL ? sqlite3_errmsg(inv->db) :
		    "out of memory");
		goto fail;
	}
	/* SQLite opens a file it may not write read-only, silently. */
	if (mode != INV_RDONLY && sqlite3_db_readonly(inv->db, "main") == 1) {
		rc = bootd_error_set(err, BOOTD_EDB, "cannot change database "
		    "\"%s\": %s", q(path, qp), perm_problem(path, 1, why,
		    sizeof(why)) != NULL ? why : "it opened read-only");
		goto fail;
	}
	sqlite3_extended_result_codes(inv->db, 1);
	sqlite3_busy_timeout(inv->db, DEFAULT_BUSY_MS);
	/*
	 * Keep the -wal and -shm files when the last connection closes, so
	 * that the ones the service user (or root, for it) made stay the
	 * only ones: a setgid bootctl never creates them for its caller
	 * (dbdir.h).
	 */
	persist = 1;
	sqlite3_file_control(inv->db, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &persist);
	if (stat(path, &sb) == 0) {
		inv->have_ident = 1;
		inv->dev = sb.st_dev;
		inv->ino = sb.st_ino;
	}

	/* The first real read tells a database from any other file. */
	if (read_version(inv, &v, NULL) != BOOTD_OK) {
		rc = sqlite3_errcode(inv->db) == SQLITE_BUSY ?
		    BOOTD_EBUSY : BOOTD_EDB;
		if (perm_problem(path, mode != INV_RDONLY, why,
		    sizeof(why)) != NULL)
			bootd_error_set(err, rc, "cannot open database \"%s\": "
			    "%s", q(path, qp), why);
		else
			bootd_error_set(err, rc, "\"%s\" is not a usable bootd "
			    "database: %s", q(path, qp),
			    sqlite3_errmsg(inv->db));
		goto fail;
	}
	if (v > latest) {
		rc = bootd_error_set(err, BOOTD_EVERSION, "database schema "
		    "version %d is newer than this bootd (%d); upgrade bootd",
		    v, latest);
		goto fail;
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
	if (sqlite3_exec(inv->db, "PRAGMA synchronous = FULL; "
	    "PRAGMA temp_store = MEMORY", NULL, NULL, NULL) != SQLITE_OK) {
		rc = dberr(inv, "set connection options", err);
		goto fail;
	}
	if (mode == INV_RDONLY) {
		if (v == 0) {
			rc = bootd_error_set(err, BOOTD_EDB, "database \"%s\" "
			    "has no bootd schema yet (schema version 0): "
			    "create it with \"bootctl init\"", q(path, qp));
			goto fail;
		}
		if (v < latest) {
			rc = bootd_error_set(err, BOOTD_EDB, "database schema "
			    "version %d is older than this bootd (%d): upgrade "
			    "it with \"bootctl init\"", v, latest);
			goto fail;
		}
	} else {
		/*
		 * WAL lets readers go on while one writer writes.  It is a
		 * property of the file; failing to switch (another
		 * connection holds it in rollback mode) is not fatal.
		 */
		sqlite3_exec(inv->db, "PRAGMA journal_mode = WAL", NULL, NULL,
		    NULL);
		if (v < latest) {
			sqlite3_exec(inv->db, "PRAGMA foreign_keys = OFF",
			    NULL, NULL, NULL);
			if ((rc = migrate(inv, err)) != BOOTD_OK)
				goto fail;
		}
	}
	if (sqlite3_exec(inv->db, "PRAGMA foreign_keys = ON", NULL, NULL,
	    NULL) != SQLITE_OK) {
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
	int i;

	if (inv == NULL)
		return;
	for (i = 0; i < S__MAX; i++)
		sqlite3_finalize(inv->st[i]);
	sqlite3_close(inv->db);
	free(inv->path);
	free(inv->actor);
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
	sqlite3_busy_timeout(inv->db, ms < 0 ? 0 : ms);
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
inv_stale(struct inv *inv)
{
	struct stat sb;

	if (inv == NULL || !inv->have_ident)
		return 0;
	if (stat(inv->path, &sb) == -1)
		return 1;
	return sb.st_dev != inv->dev || sb.st_ino != inv->ino;
}

/* Host resolution ----------------------------------------------------- */

/*
 * Find the host that statement id (S_HOST_BY_FQDN or S_HOST_BY_MAC) finds
 * by key (a lowercase FQDN or a canonical MAC) into ref.  Returns
 * BOOTD_OK, BOOTD_ENOTFOUND (no row, err untouched) or a database error.
 */
static enum bootd_err
find_ref(struct inv *inv, enum stmt id, const char *key, struct href *ref,
    struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc;

	if ((s = stmt(inv, id, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, key);
	if ((rc = first_row(inv, s, "find host", err)) == BOOTD_OK) {
		fill_ref(s, ref, NULL);
		sqlite3_reset(s);
	}
	return rc;
}

static enum bootd_err
resolve(struct inv *inv, const char *name, struct href *ref,
    struct bootd_error *err)
{
	char low[FQDN_BUF], canon[MAC_STRLEN + 1], qn[QBUF];
	struct buf list = { 0 };
	sqlite3_stmt *s;
	enum bootd_err rc;
	int n, src;

	if (name == NULL || *name == '\0')
		return bootd_error_set(err, BOOTD_EINVAL, "host name is empty");
	/*
	 * A dotted name is an FQDN; a dotless one is looked up among short
	 * names, which include dotless FQDNs, so that a host named "db1"
	 * cannot silently shadow db1.example.org: both make it ambiguous.
	 * valid_fqdn() keeps MAC-shaped names out of the FQDNs.
	 */
	if (strchr(name, '.') != NULL &&
	    lower_copy(name, low, sizeof(low)) == 0 &&
	    (rc = find_ref(inv, S_HOST_BY_FQDN, low, ref, err)) !=
	    BOOTD_ENOTFOUND)
		return rc;
	if (mac_canon(name, canon, NULL) == BOOTD_OK &&
	    (rc = find_ref(inv, S_HOST_BY_MAC, canon, ref, err)) !=
	    BOOTD_ENOTFOUND)
		return rc;
	if (strchr(name, '.') == NULL &&
	    lower_copy(name, low, sizeof(low)) == 0) {
		if ((s = stmt(inv, S_HOST_BY_SHORT, err)) == NULL)
			return BOOTD_EDB;
		bind_text(s, 1, low);
		n = 0;
		rc = BOOTD_OK;
		while ((src = sqlite3_step(s)) == SQLITE_ROW) {
			if (n++ == 0)
				fill_ref(s, ref, NULL);
			if (n <= 3)
				buf_printf(&list, "%s%s", n > 1 ? ", " : "",
				    (const char *)sqlite3_column_text(s, 1));
			else
				buf_puts(&list, ", ...");
		}
		if (src != SQLITE_DONE)
			rc = dberr(inv, "find host", err);
		sqlite3_reset(s);
		if (rc == BOOTD_OK && n > 1)
			rc = bootd_error_set(err, BOOTD_EINVAL, "host name "
			    "\"%s\" is ambiguous: %s", q(name, qn),
			    buf_str(&list));
		buf_free(&list);
		if (rc != BOOTD_OK || n == 1)
			return rc;
	}
	return bootd_error_set(err, BOOTD_ENOTFOUND, "no host \"%s\" (by "
	    "FQDN, MAC or short name)", q(name, qn));
}

enum bootd_err
inv_host_resolve(struct inv *inv, const char *host, char **fqdn,
    struct bootd_error *err)
{
	struct href ref;
	enum bootd_err rc;

	*fqdn = NULL;
	if ((rc = resolve(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if ((*fqdn = strdup(ref.fqdn)) == NULL)
		return nomem(err);
	return BOOTD_OK;
}

/* Authorization ------------------------------------------------------- */

static enum bootd_err	env_get(struct inv *, const char *, struct inv_env **,
			    struct bootd_error *);

void
inv_set_authorizer(struct inv *inv, inv_authorizer fn, void *arg)
{
	inv->authz = fn;
	inv->authz_arg = arg;
}

/*
 * Ask the authorizer whether host fqdn may be put into (or changed in)
 * environment env, with env's group as this transaction reads it.
 */
static enum bootd_err
authorize_env(struct inv *inv, const char *fqdn, const char *env,
    struct bootd_error *err)
{
	struct inv_env *e = NULL;
	enum bootd_err rc;

	if (inv->authz == NULL)
		return BOOTD_OK;
	if ((rc = env_get(inv, env, &e, err)) != BOOTD_OK)
		return rc;
	rc = inv->authz(fqdn, e->name, e->group, inv->authz_arg, err);
	inv_env_free(e);
	return rc;
}

/*
 * Ask the authorizer about the host ref, by its row id: its environment
 * and group as this transaction reads them, so that a host renamed or
 * moved since the caller looked is judged as it is now.
 */
static enum bootd_err
authorize_host(struct inv *inv, const struct href *ref,
    struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc;
	char env[80], group[40];

	if (inv->authz == NULL)
		return BOOTD_OK;
	if ((s = stmt(inv, S_HOST_ENV, err)) == NULL)
		return BOOTD_EDB;
	sqlite3_bind_int64(s, 1, ref->id);
	if ((rc = first_row(inv, s, "read environment", err)) ==
	    BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "host vanished while reading "
		    "it");
	if (rc != BOOTD_OK)
		return rc;
	snprintf(env, sizeof(env), "%s",
	    (const char *)sqlite3_column_text(s, 0));
	snprintf(group, sizeof(group), "%s",
	    (const char *)sqlite3_column_text(s, 1));
	sqlite3_reset(s);
	return inv->authz(ref->fqdn, env, group, inv->authz_arg, err);
}

/* resolve() for a change: the host found must pass the authorizer. */
static enum bootd_err
resolve_for_change(struct inv *inv, const char *name, struct href *ref,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = resolve(inv, name, ref, err)) != BOOTD_OK)
		return rc;
	return authorize_host(inv, ref, err);
}

/* Loading hosts and distributions ------------------------------------- */

void
inv_host_free(struct inv_host *h)
{
	size_t i;

	if (h == NULL)
		return;
	free(h->fqdn);
	free(h->env);
	free(h->dist);
	for (i = 0; i < h->nmacs; i++)
		free(h->macs[i]);
	free(h->macs);
	for (i = 0; i < h->nattrs; i++) {
		free(h->attrs[i].key);
		free(h->attrs[i].value);
	}
	free(h->attrs);
	free(h->token);
	free(h);
}

/* fill for read_rows(): a struct inv_kv from columns 0 and 1. */
static enum bootd_err
fill_kv(sqlite3_stmt *s, void *elem, struct bootd_error *err)
{
	struct inv_kv *kv = elem;

	if (col_dup(s, 0, &kv->key))
		return nomem(err);
	if (col_dup(s, 1, &kv->value)) {
		free(kv->key);
		return nomem(err);
	}
	return BOOTD_OK;
}

/*
 * Load the host whose row s (S_HOST_FULL, bound) returns, with
 * its MACs and attributes.  BOOTD_ENOTFOUND (err untouched) when s returns
 * no row.  The caller frees *out with inv_host_free().
 */
static enum bootd_err
load_host(struct inv *inv, sqlite3_stmt *s, struct inv_host **out,
    struct bootd_error *err)
{
	struct inv_host *h;
	sqlite3_stmt *m;
	enum bootd_err rc = BOOTD_OK;
	int64_t id;
	const char *action;

	*out = NULL;
	if ((rc = first_row(inv, s, "read host", err)) != BOOTD_OK)
		return rc;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		sqlite3_reset(s);
		return nomem(err);
	}
	id = sqlite3_column_int64(s, 0);
	action = (const char *)sqlite3_column_text(s, 3);
	h->action = action != NULL && strcmp(action, "install") == 0 ?
	    INV_ACTION_INSTALL : INV_ACTION_LOCAL;
	h->token_expires = sqlite3_column_type(s, 5) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(s, 6);
	if (col_dup(s, 1, &h->fqdn) || col_dup(s, 2, &h->env) ||
	    col_dup(s, 4, &h->dist) || col_dup(s, 5, &h->token)) {
		sqlite3_reset(s);
		rc = nomem(err);
		goto fail;
	}
	sqlite3_reset(s);

	if ((m = stmt(inv, S_HOST_MACS, err)) == NULL) {
		rc = BOOTD_EDB;
		goto fail;
	}
	sqlite3_bind_int64(m, 1, id);
	h->macs = read_rows(inv, m, sizeof(*h->macs), fill_text, &h->nmacs,
	    &rc, "read NICs", err);
	if (rc != BOOTD_OK)
		goto fail;

	if ((m = stmt(inv, S_HOST_ATTRS, err)) == NULL) {
		rc = BOOTD_EDB;
		goto fail;
	}
	sqlite3_bind_int64(m, 1, id);
	h->attrs = read_rows(inv, m, sizeof(*h->attrs), fill_kv, &h->nattrs,
	    &rc, "read attributes", err);
	if (rc != BOOTD_OK)
		goto fail;
	*out = h;
	return BOOTD_OK;
fail:
	inv_host_free(h);
	return rc;
}

static enum bootd_err
load_host_id(struct inv *inv, int64_t id, int64_t now, struct inv_host **out,
    struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc;

	if ((s = stmt(inv, S_HOST_FULL, err)) == NULL)
		return BOOTD_EDB;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	rc = load_host(inv, s, out, err);
	if (rc == BOOTD_ENOTFOUND)
		bootd_error_set(err, rc, "host vanished while reading it");
	return rc;
}

void
inv_dist_free(struct inv_dist *d)
{
	size_t i;

	if (d == NULL)
		return;
	free(d->name);
	free(d->kernel);
	for (i = 0; i < d->ninitrds; i++)
		free(d->initrds[i]);
	free(d->initrds);
	free(d->cmdline);
	free(d);
}

/*
 * Load the distribution called name with its initrds, in one statement
 * (S_LOOKUP_DIST): for a boot and for every other reader.
 * BOOTD_ENOTFOUND with a message when there is none.  The caller frees
 * *out with inv_dist_free().
 */
static enum bootd_err
load_dist(struct inv *inv, const char *name, struct inv_dist **out,
    struct bootd_error *err)
{
	struct inv_dist *d = NULL;
	sqlite3_stmt *s;
	enum bootd_err rc;
	size_t cap = 0;
	char **p, qn[QBUF];
	int src = SQLITE_DONE;

	*out = NULL;
	if ((s = stmt(inv, S_LOOKUP_DIST, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, name);
	if ((rc = first_row(inv, s, "read distribution", err)) ==
	    BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "no distribution \"%s\"",
		    q(name, qn));
	if (rc != BOOTD_OK)
		return rc;
	if ((d = calloc(1, sizeof(*d))) == NULL || col_dup(s, 0, &d->name) ||
	    col_dup(s, 1, &d->kernel) || col_dup(s, 2, &d->cmdline)) {
		rc = nomem(err);
		goto out;
	}
	do {
		if (sqlite3_column_type(s, 3) == SQLITE_NULL)
			break;		/* no initrd at all */
		if (d->ninitrds == cap) {
			cap = cap ? cap * 2 : 2;
			if ((p = reallocarray(d->initrds, cap,
			    sizeof(*p))) == NULL) {
				rc = nomem(err);
				goto out;
			}
			d->initrds = p;
		}
		if (col_dup(s, 3, &d->initrds[d->ninitrds])) {
			rc = nomem(err);
			goto out;
		}
		d->ninitrds++;
	} while ((src = sqlite3_step(s)) == SQLITE_ROW);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = dberr(inv, "read initrds", err);
out:
	sqlite3_reset(s);
	if (rc == BOOTD_OK)
		*out = d;
	else
		inv_dist_free(d);
	return rc;
}

/*
 * "env=E action=A dist=D macs=M1,M2" for the audit log.
 */
static enum bootd_err
describe_host(struct inv *inv, int64_t id, struct buf *b,
    struct bootd_error *err)
{
	struct inv_host *h;
	enum bootd_err rc;
	size_t i;

	if ((rc = load_host_id(inv, id, (int64_t)time(NULL), &h, err)) !=
	    BOOTD_OK)
		return rc;
	buf_printf(b, "env=%s action=%s dist=%s macs=", h->env,
	    h->action == INV_ACTION_INSTALL ? "install" : "local",
	    h->dist != NULL ? h->dist : "-");
	for (i = 0; i < h->nmacs; i++)
		buf_printf(b, "%s%s", i > 0 ? "," : "", h->macs[i]);
	inv_host_free(h);
	return buf_failed(b) ? nomem(err) : BOOTD_OK;
}

/*
 * "kernel=K initrds=I1,I2 cmdline=C" for the audit log.
 */
static void
describe_dist(const struct inv_dist *d, struct buf *b)
{
	size_t i;

	buf_printf(b, "kernel=%s initrds=", d->kernel);
	for (i = 0; i < d->ninitrds; i++)
		buf_printf(b, "%s%s", i > 0 ? "," : "", d->initrds[i]);
	buf_printf(b, " cmdline=%s", d->cmdline != NULL ? d->cmdline : "");
}

/* Template attribute checks ------------------------------------------- */

/*
 * Look up attribute key of host id; when it is there and o is not NULL,
 * append "key=value" to o.  Returns BOOTD_OK, BOOTD_ENOTFOUND (err
 * untouched) or a database error.
 */
static enum bootd_err
attr_get(struct inv *inv, int64_t id, const char *key, struct buf *o,
    struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc;

	if ((s = stmt(inv, S_ATTR_GET, err)) == NULL)
		return BOOTD_EDB;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, key);
	if ((rc = first_row(inv, s, "read attribute", err)) == BOOTD_OK) {
		if (o != NULL)
			buf_printf(o, "%s=%s", key, sqlite3_column_text(s, 0));
		sqlite3_reset(s);
	}
	return rc;
}

struct need_ctx {
	struct inv	*inv;
	int64_t		 host;
	char		 missing[80];
	int		 failed;	/* a database error happened */
};

static int
need_attr(const char *key, void *arg)
{
	struct need_ctx *c = arg;
	enum bootd_err rc;

	rc = attr_get(c->inv, c->host, key, NULL, NULL);
	if (rc == BOOTD_OK)
		return 0;
	if (rc != BOOTD_ENOTFOUND)
		c->failed = 1;
	else
		valid_quote(key, c->missing, sizeof(c->missing));
	return 1;
}

/*
 * Check that host (id, fqdn) has every attribute d's templates use.
 * BOOTD_EINVAL naming the first missing one.
 */
static enum bootd_err
check_attrs(struct inv *inv, const struct href *ref, const struct inv_dist *d,
    struct bootd_error *err)
{
	struct need_ctx c;
	struct bootd_error terr;
	enum bootd_err rc;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.inv = inv;
	c.host = ref->id;
	for (i = 0; i < d->ninitrds + 2; i++) {
		const char *t = i == 0 ? d->kernel : i == 1 ? d->cmdline :
		    d->initrds[i - 2];
		if (t == NULL)
			continue;
		rc = tmpl_each_attr(t, need_attr, &c, &terr);
		if (c.failed)
			return dberr(inv, "read attributes", err);
		if (c.missing[0] != '\0')
			return bootd_error_set(err, BOOTD_EINVAL, "host %s "
			    "lacks attribute \"%s\" used by distribution %s",
			    ref->fqdn, c.missing, d->name);
		if (rc != BOOTD_OK)
			return bootd_error_set(err, rc, "distribution %s: %s",
			    d->name, terr.text);
	}
	return BOOTD_OK;
}

struct uses_ctx {
	const char	*key;
	int		 found;
};

static int
uses_attr(const char *key, void *arg)
{
	struct uses_ctx *c = arg;

	if (strcmp(key, c->key) == 0) {
		c->found = 1;
		return 1;
	}
	return 0;
}

/* Return 1 when one of d's templates uses {{attr.key}}. */
static int
dist_uses_attr(const struct inv_dist *d, const char *key)
{
	struct uses_ctx c = { key, 0 };
	size_t i;

	tmpl_each_attr(d->kernel, uses_attr, &c, NULL);
	if (d->cmdline != NULL)
		tmpl_each_attr(d->cmdline, uses_attr, &c, NULL);
	for (i = 0; i < d->ninitrds; i++)
		tmpl_each_attr(d->initrds[i], uses_attr, &c, NULL);
	return c.found;
}

/* Hosts and NICs ------------------------------------------------------ */

/*
 * Refuse mac (canonical) when a host has it: BOOTD_EEXIST naming both.
 */
static enum bootd_err
mac_free(struct inv *inv, const char *mac, struct bootd_error *err)
{
	struct href owner;
	enum bootd_err rc;

	rc = find_ref(inv, S_HOST_BY_MAC, mac, &owner, err);
	if (rc == BOOTD_ENOTFOUND)
		return BOOTD_OK;
	if (rc != BOOTD_OK)
		return rc;
	return bootd_error_set(err, BOOTD_EEXIST, "MAC %s already belongs "
	    "to host %s", mac, owner.fqdn);
}

/*
 * Refuse fqdn (lowercase) when a host has it: BOOTD_EEXIST.
 */
static enum bootd_err
fqdn_free(struct inv *inv, const char *fqdn, struct bootd_error *err)
{
	struct href dup;
	enum bootd_err rc;

	rc = find_ref(inv, S_HOST_BY_FQDN, fqdn, &dup, err);
	if (rc == BOOTD_ENOTFOUND)
		return BOOTD_OK;
	if (rc != BOOTD_OK)
		return rc;
	return bootd_error_set(err, BOOTD_EEXIST, "host %s already exists",
	    fqdn);
}

static enum bootd_err
insert_nic(struct inv *inv, int64_t host, const char *mac,
    struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc;

	if ((rc = mac_free(inv, mac, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_NIC_INSERT, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, mac);
	sqlite3_bind_int64(s, 2, host);
	return run(inv, s, "add NIC", err);
}

/* fill for read_rows() and env_get(): a new struct inv_env *. */
static enum bootd_err
fill_env(sqlite3_stmt *s, void *elem, struct bootd_error *err)
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
static enum bootd_err
env_get(struct inv *inv, const char *name, struct inv_env **out,
    struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc;
	char qn[QBUF];

	if ((s = stmt(inv, S_ENV_GET, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, name);
	if ((rc = first_row(inv, s, "read environment", err)) ==
	    BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "no environment \"%s\"",
		    q(name, qn));
	if (rc == BOOTD_OK) {
		if (out != NULL)
			rc = fill_env(s, out, err);
		sqlite3_reset(s);
	}
	return rc;
}

/*
 * The host and NIC rows of a new host, validated and authorized; ref
 * gets its row id and lowercase FQDN.  No audit row: the callers write
 * theirs.
 */
static enum bootd_err
host_add_row(struct inv *inv, const char *fqdn, const char *const *macs,
    size_t nmacs, const char *env, struct href *ref, struct bootd_error *err)
{
	char low[FQDN_BUF], (*canon)[MAC_STRLEN + 1] = NULL;
	sqlite3_stmt *s;
	enum bootd_err rc;
	int64_t id;
	size_t i, j;

	if ((rc = valid_fqdn(fqdn, err)) != BOOTD_OK)
		return rc;
	lower_copy(fqdn, low, sizeof(low));
	if (env == NULL)
		env = INV_DEFAULT_ENV;
	if ((rc = valid_name("environment", env, err)) != BOOTD_OK)
		return rc;
	if (nmacs == 0 || macs == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "host %s needs at "
		    "least one MAC", low);
	if ((canon = calloc(nmacs, sizeof(*canon))) == NULL)
		return nomem(err);
	for (i = 0; i < nmacs; i++) {
		struct bootd_error merr;
		char qm[QBUF];

		if (mac_canon(macs[i], canon[i], &merr) != BOOTD_OK) {
			rc = bootd_error_set(err, BOOTD_EINVAL, "invalid MAC "
			    "\"%s\": %s", q(macs[i], qm), merr.text);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(canon[i], canon[j]) == 0) {
				rc = bootd_error_set(err, BOOTD_EINVAL,
				    "MAC %s is given twice", canon[i]);
				goto out;
			}
	}
	if ((rc = env_get(inv, env, NULL, err)) != BOOTD_OK ||
	    (rc = authorize_env(inv, low, env, err)) != BOOTD_OK ||
	    (rc = fqdn_free(inv, low, err)) != BOOTD_OK)
		goto out;
	if ((s = stmt(inv, S_HOST_INSERT, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	bind_text(s, 1, low);
	bind_text(s, 2, env);
	if ((rc = run(inv, s, "add host", err)) != BOOTD_OK)
		goto out;
	id = sqlite3_last_insert_rowid(inv->db);
	for (i = 0; i < nmacs; i++)
		if ((rc = insert_nic(inv, id, canon[i], err)) != BOOTD_OK)
			goto out;
	ref->id = id;
	snprintf(ref->fqdn, sizeof(ref->fqdn), "%s", low);
out:
	free(canon);
	return rc;
}

static enum bootd_err
host_add(struct inv *inv, const char *fqdn, const char *const *macs,
    size_t nmacs, const char *env, struct bootd_error *err)
{
	struct buf b = { 0 };
	struct href ref;
	enum bootd_err rc;

	if ((rc = host_add_row(inv, fqdn, macs, nmacs, env, &ref, err)) !=
	    BOOTD_OK)
		return rc;
	if ((rc = describe_host(inv, ref.id, &b, err)) == BOOTD_OK)
		rc = audit(inv, time(NULL), "host-add", ref.fqdn, NULL,
		    buf_str(&b), err);
	buf_free(&b);
	return rc;
}

enum bootd_err
inv_host_add(struct inv *inv, const char *fqdn, const char *const *macs,
    size_t nmacs, const char *env, struct bootd_error *err)
{
	return inv_host_add_dist(inv, fqdn, macs, nmacs, env, NULL, err);
}

static enum bootd_err	host_set_dist(struct inv *, const char *,
			    const char *, struct bootd_error *);

enum bootd_err
inv_host_add_dist(struct inv *inv, const char *fqdn,
    const char *const *macs, size_t nmacs, const char *env,
    const char *dist, struct bootd_error *err)
{
	char low[FQDN_BUF];
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	rc = host_add(inv, fqdn, macs, nmacs, env, err);
	/* The new host by its FQDN: this transaction holds the write lock. */
	if (rc == BOOTD_OK && dist != NULL) {
		lower_copy(fqdn, low, sizeof(low));
		rc = host_set_dist(inv, low, dist, err);
	}
	return tx_end(inv, rc, err);
}

/*
 * inv_host_import(): one host with everything it has, in one change and
 * one audit row, for imports of many hosts.
 */
static enum bootd_err
host_import(struct inv *inv, const struct inv_host *h,
    struct bootd_error *err)
{
	struct inv_dist *d = NULL;
	struct buf b = { 0 };
	struct href ref;
	sqlite3_stmt *s;
	enum bootd_err rc;
	size_t i;

	if (h->action != INV_ACTION_LOCAL)
		return bootd_error_set(err, BOOTD_EINVAL, "host %s: an "
		    "imported host starts with local boot", h->fqdn);
	for (i = 0; i < h->nattrs; i++)
		if ((rc = valid_attr(h->attrs[i].key, h->attrs[i].value,
		    err)) != BOOTD_OK)
			return rc;
	if (h->dist != NULL &&
	    ((rc = valid_name("distribution", h->dist, err)) != BOOTD_OK ||
	    (rc = load_dist(inv, h->dist, &d, err)) != BOOTD_OK))
		return rc;
	inv_dist_free(d);
	/* host_add() validates, authorizes and writes host and NICs. */
	if ((rc = host_add_row(inv, h->fqdn, (const char *const *)h->macs,
	    h->nmacs, h->env, &ref, err)) != BOOTD_OK)
		return rc;
	if (h->dist != NULL && (rc = run_host(inv, S_HOST_SET_DIST, ref.id,
	    h->dist, "set distribution", err)) != BOOTD_OK)
		return rc;
	for (i = 0; i < h->nattrs; i++) {
		if ((s = stmt(inv, S_ATTR_SET, err)) == NULL)
			return BOOTD_EDB;
		sqlite3_bind_int64(s, 1, ref.id);
		bind_text(s, 2, h->attrs[i].key);
		bind_text(s, 3, h->attrs[i].value);
		if ((rc = run(inv, s, "set attribute", err)) != BOOTD_OK)
			return rc;
	}
	buf_printf(&b, "env=%s action=local dist=%s macs=", h->env,
	    h->dist != NULL ? h->dist : "-");
	for (i = 0; i < h->nmacs; i++)
		buf_printf(&b, "%s%s", i > 0 ? "," : "", h->macs[i]);
	for (i = 0; i < h->nattrs; i++)
		buf_printf(&b, "%s%s=%s", i > 0 ? "," : " attrs=",
		    h->attrs[i].key, h->attrs[i].value);
	rc = buf_failed(&b) ? nomem(err) : audit(inv, time(NULL), "host-add",
	    ref.fqdn, NULL, buf_str(&b), err);
	buf_free(&b);
	return rc;
}

enum bootd_err
inv_host_import(struct inv *inv, const struct inv_host *h,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_import(inv, h, err), err);
}

static enum bootd_err
host_remove(struct inv *inv, const char *host, struct bootd_error *err)
{
	struct href ref;
	struct buf b = { 0 };
	sqlite3_stmt *s;
	enum bootd_err rc;

	if ((rc = resolve_for_change(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if ((rc = describe_host(inv, ref.id, &b, err)) != BOOTD_OK)
		goto out;
	if ((s = stmt(inv, S_HOST_DELETE, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, ref.id);
	if ((rc = run(inv, s, "remove host", err)) != BOOTD_OK)
		goto out;
	rc = audit(inv, time(NULL), "host-remove", ref.fqdn, buf_str(&b),
	    NULL, err);
out:
	buf_free(&b);
	return rc;
}

enum bootd_err
inv_host_remove(struct inv *inv, const char *host, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_remove(inv, host, err), err);
}

static enum bootd_err
host_rename(struct inv *inv, const char *host, const char *newfqdn,
    struct bootd_error *err)
{
	char low[FQDN_BUF];
	struct href ref;
	enum bootd_err rc;

	if ((rc = valid_fqdn(newfqdn, err)) != BOOTD_OK)
		return rc;
	lower_copy(newfqdn, low, sizeof(low));
	if ((rc = resolve_for_change(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if (strcmp(ref.fqdn, low) == 0)
		return bootd_error_set(err, BOOTD_EINVAL, "host %s is already "
		    "called %s", ref.fqdn, low);
	if ((rc = fqdn_free(inv, low, err)) != BOOTD_OK)
		return rc;
	if ((rc = run_host(inv, S_HOST_RENAME, ref.id, low, "rename host",
	    err)) != BOOTD_OK)
		return rc;
	return audit(inv, time(NULL), "host-rename", low, ref.fqdn, low, err);
}

enum bootd_err
inv_host_rename(struct inv *inv, const char *host, const char *newfqdn,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_rename(inv, host, newfqdn, err), err);
}

static enum bootd_err
host_set_env(struct inv *inv, const char *host, const char *env,
    struct bootd_error *err)
{
	struct href ref;
	struct inv_host *h;
	enum bootd_err rc;

	if ((rc = valid_name("environment", env, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_for_change(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if ((rc = env_get(inv, env, NULL, err)) != BOOTD_OK ||
	    (rc = authorize_env(inv, ref.fqdn, env, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_host_id(inv, ref.id, 0, &h, err)) != BOOTD_OK)
		return rc;
	if ((rc = run_host(inv, S_HOST_SET_ENV, ref.id, env,
	    "set environment", err)) != BOOTD_OK)
		goto out;
	{
		char o[80], n[80];

		snprintf(o, sizeof(o), "env=%s", h->env);
		snprintf(n, sizeof(n), "env=%s", env);
		rc = audit(inv, time(NULL), "host-set-env", ref.fqdn, o, n,
		    err);
	}
out:
	inv_host_free(h);
	return rc;
}

enum bootd_err
inv_host_set_env(struct inv *inv, const char *host, const char *env,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_set_env(inv, host, env, err), err);
}

static enum bootd_err
host_set_dist(struct inv *inv, const char *host, const char *dist,
    struct bootd_error *err)
{
	struct href ref;
	struct inv_host *h = NULL;
	struct inv_dist *d = NULL;
	enum bootd_err rc;
	char o[80], n[80];

	if (dist != NULL &&
	    (rc = valid_name("distribution", dist, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_for_change(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if (dist != NULL && (rc = load_dist(inv, dist, &d, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_host_id(inv, ref.id, 0, &h, err)) != BOOTD_OK)
		goto out;
	if (h->action == INV_ACTION_INSTALL) {
		if (d == NULL) {
			rc = bootd_error_set(err, BOOTD_EINVAL, "host %s is "
			    "marked for reinstall; set it to local boot "
			    "before clearing its distribution", ref.fqdn);
			goto out;
		}
		if ((rc = check_attrs(inv, &ref, d, err)) != BOOTD_OK)
			goto out;
	}
	if ((rc = run_host(inv, S_HOST_SET_DIST, ref.id, dist,
	    "set distribution", err)) != BOOTD_OK)
		goto out;
	snprintf(o, sizeof(o), "dist=%s", h->dist != NULL ? h->dist : "-");
	snprintf(n, sizeof(n), "dist=%s", dist != NULL ? dist : "-");
	rc = audit(inv, time(NULL), "host-set-dist", ref.fqdn, o, n, err);
out:
	inv_host_free(h);
	inv_dist_free(d);
	return rc;
}

enum bootd_err
inv_host_set_dist(struct inv *inv, const char *host, const char *dist,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_set_dist(inv, host, dist, err), err);
}

static enum bootd_err
nic_add(struct inv *inv, const char *host, const char *mac,
    struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1], qm[QBUF];
	struct bootd_error merr;
	struct href ref;
	enum bootd_err rc;

	if (mac_canon(mac, canon, &merr) != BOOTD_OK)
		return bootd_error_set(err, BOOTD_EINVAL, "invalid MAC "
		    "\"%s\": %s", q(mac, qm), merr.text);
	if ((rc = resolve_for_change(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if ((rc = insert_nic(inv, ref.id, canon, err)) != BOOTD_OK)
		return rc;
	return audit(inv, time(NULL), "nic-add", ref.fqdn, NULL, canon, err);
}

enum bootd_err
inv_nic_add(struct inv *inv, const char *host, const char *mac,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, nic_add(inv, host, mac, err), err);
}

static enum bootd_err
nic_remove(struct inv *inv, const char *mac, struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1], qm[QBUF];
	struct bootd_error merr;
	struct href ref;
	sqlite3_stmt *s;
	enum bootd_err rc;
	int64_t n = 0;

	if (mac_canon(mac, canon, &merr) != BOOTD_OK)
		return bootd_error_set(err, BOOTD_EINVAL, "invalid MAC "
		    "\"%s\": %s", q(mac, qm), merr.text);
	if ((rc = find_ref(inv, S_HOST_BY_MAC, canon, &ref, err)) ==
	    BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "no host has MAC %s", canon);
	if (rc != BOOTD_OK || (rc = authorize_host(inv, &ref, err)) !=
	    BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_NIC_COUNT, err)) == NULL)
		return BOOTD_EDB;
	sqlite3_bind_int64(s, 1, ref.id);
	if ((rc = run_int(inv, s, &n, "count NICs", err)) != BOOTD_OK)
		return rc;
	if (n <= 1)
		return bootd_error_set(err, BOOTD_EINVAL, "MAC %s is the last "
		    "NIC of host %s; remove the host instead", canon, ref.fqdn);
	if ((rc = run_text(inv, S_NIC_DELETE, canon, "remove NIC", err)) !=
	    BOOTD_OK)
		return rc;
	return audit(inv, time(NULL), "nic-remove", ref.fqdn, canon, NULL,
	    err);
}

enum bootd_err
inv_nic_remove(struct inv *inv, const char *mac, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, nic_remove(inv, mac, err), err);
}

enum bootd_err
inv_host_get(struct inv *inv, const char *host, struct inv_host **out,
    struct bootd_error *err)
{
	struct href ref;
	enum bootd_err rc;

	*out = NULL;
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve(inv, host, &ref, err)) == BOOTD_OK)
		rc = load_host_id(inv, ref.id, (int64_t)time(NULL), out, err);
	rc = tx_end(inv, rc, err);
	if (rc != BOOTD_OK) {
		inv_host_free(*out);
		*out = NULL;
	}
	return rc;
}

enum bootd_err
inv_host_each(struct inv *inv, int (*fn)(const struct inv_host *, void *),
    void *arg, struct bootd_error *err)
{
	struct inv_host **hs = NULL;
	int64_t *ids = NULL, now = (int64_t)time(NULL);
	size_t i, n = 0;
	sqlite3_stmt *s;
	enum bootd_err rc;
	int stop = 0;

	/* Read everything first, so that fn may use the handle freely. */
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_HOST_IDS, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	ids = read_rows(inv, s, sizeof(*ids), fill_id, &n, &rc, "list hosts",
	    err);
	if (rc != BOOTD_OK)
		goto out;
	if (n > 0 && (hs = calloc(n, sizeof(*hs))) == NULL) {
		rc = nomem(err);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = load_host_id(inv, ids[i], now, &hs[i], err)) !=
		    BOOTD_OK)
			goto out;
out:
	rc = tx_end(inv, rc, err);
	for (i = 0; i < n && hs != NULL; i++) {
		if (rc == BOOTD_OK && !stop && fn(hs[i], arg) != 0)
			stop = 1;
		inv_host_free(hs[i]);
	}
	free(hs);
	free(ids);
	return rc;
}

/*
 * Prepare sql for a one-off listing (not kept on the handle: the
 * listings below run once per call of a command-line tool).  NULL, with
 * err filled, when it cannot be prepared.
 */
static sqlite3_stmt *
stmt_once(struct inv *inv, const char *sql, struct bootd_error *err)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(inv->db, sql, -1, &s, NULL) != SQLITE_OK) {
		dberr(inv, "prepare", err);
		return NULL;
	}
	return s;
}

/* qsort() order of struct inv_host pointers: by FQDN. */
static int
host_fqdn_cmp(const void *a, const void *b)
{
	const struct inv_host *const *x = a, *const *y = b;

	return strcmp((*x)->fqdn, (*y)->fqdn);
}

/*
 * Append the text of column col of s to the array *v of *n strings.
 * Returns 0, or -1 out of memory.
 */
static int
push_text(char ***v, size_t *n, sqlite3_stmt *s, int col)
{
	char **p;

	if ((p = reallocarray(*v, *n + 1, sizeof(**v))) == NULL)
		return -1;
	*v = p;
	if (col_dup(s, col, &p[*n]) || p[*n] == NULL)
		return -1;
	(*n)++;
	return 0;
}

/*
 * Read every host with its NICs and attributes in three statements (hosts,
 * all NICs, all attributes, each in host id order, merged as they are
 * read), one snapshot: a constant number of scans whatever the number of
 * hosts, where inv_host_each() runs three lookups per host.
 */
static enum bootd_err
host_list(struct inv *inv, struct inv_host ***out, size_t *n,
    struct bootd_error *err)
{
	static const char *const sql[3] = {
		"SELECT " HOST_COLS " FROM host h " LIVE_TOKEN "ORDER BY h.id",
		"SELECT host, mac FROM nic ORDER BY host, mac",
		"SELECT host, key, value FROM host_attr ORDER BY host, key",
	};
	sqlite3_stmt *s[3] = { NULL, NULL, NULL };
	struct inv_host **hs = NULL, *h, **p;
	int64_t *ids = NULL, *q, id, now = (int64_t)time(NULL);
	struct inv_kv *kv;
	const char *action;
	enum bootd_err rc = BOOTD_OK;
	size_t cap = 0, i, j;
	int src = SQLITE_DONE, k;

	*out = NULL;
	*n = 0;
	for (k = 0; k < 3; k++)
		if ((s[k] = stmt_once(inv, sql[k], err)) == NULL) {
			rc = BOOTD_EDB;
			goto out;
		}
	sqlite3_bind_int64(s[0], 2, now);
	while ((src = sqlite3_step(s[0])) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((p = reallocarray(hs, cap, sizeof(*hs))) == NULL) {
				rc = nomem(err);
				goto out;
			}
			hs = p;
			if ((q = reallocarray(ids, cap, sizeof(*ids))) ==
			    NULL) {
				rc = nomem(err);
				goto out;
			}
			ids = q;
		}
		if ((h = calloc(1, sizeof(*h))) == NULL) {
			rc = nomem(err);
			goto out;
		}
		hs[*n] = h;
		ids[(*n)++] = sqlite3_column_int64(s[0], 0);
		action = (const char *)sqlite3_column_text(s[0], 3);
		h->action = action != NULL && strcmp(action, "install") == 0 ?
		    INV_ACTION_INSTALL : INV_ACTION_LOCAL;
		h->token_expires = sqlite3_column_type(s[0], 5) ==
		    SQLITE_NULL ? 0 : sqlite3_column_int64(s[0], 6);
		if (col_dup(s[0], 1, &h->fqdn) || col_dup(s[0], 2, &h->env) ||
		    col_dup(s[0], 4, &h->dist) || col_dup(s[0], 5, &h->token)) {
			rc = nomem(err);
			goto out;
		}
	}
	if (src != SQLITE_DONE) {
		rc = dberr(inv, "list hosts", err);
		goto out;
	}
	/* Ids ascend in both lists: walk them together. */
	for (i = 0; (src = sqlite3_step(s[1])) == SQLITE_ROW; ) {
		id = sqlite3_column_int64(s[1], 0);
		while (i < *n && ids[i] < id)
			i++;
		if (i == *n || ids[i] != id)
			continue;
		if (push_text(&hs[i]->macs, &hs[i]->nmacs, s[1], 1)) {
			rc = nomem(err);
			goto out;
		}
	}
	if (src != SQLITE_DONE) {
		rc = dberr(inv, "list NICs", err);
		goto out;
	}
	for (i = 0; (src = sqlite3_step(s[2])) == SQLITE_ROW; ) {
		id = sqlite3_column_int64(s[2], 0);
		while (i < *n && ids[i] < id)
			i++;
		if (i == *n || ids[i] != id)
			continue;
		h = hs[i];
		if ((kv = reallocarray(h->attrs, h->nattrs + 1,
		    sizeof(*kv))) == NULL) {
			rc = nomem(err);
			goto out;
		}
		h->attrs = kv;
		kv += h->nattrs;
		if (col_dup(s[2], 1, &kv->key) || kv->key == NULL) {
			rc = nomem(err);
			goto out;
		}
		if (col_dup(s[2], 2, &kv->value) || kv->value == NULL) {
			free(kv->key);
			rc = nomem(err);
			goto out;
		}
		h->nattrs++;
	}
	if (src != SQLITE_DONE)
		rc = dberr(inv, "list attributes", err);
out:
	for (k = 0; k < 3; k++)
		sqlite3_finalize(s[k]);
	free(ids);
	if (rc != BOOTD_OK) {
		for (j = 0; j < *n; j++)
			inv_host_free(hs[j]);
		free(hs);
		*n = 0;
		return rc;
	}
	if (*n > 0)
		qsort(hs, *n, sizeof(*hs), host_fqdn_cmp);
	*out = hs;
	return BOOTD_OK;
}

enum bootd_err
inv_host_list(struct inv *inv, struct inv_host ***out, size_t *n,
    struct bootd_error *err)
{
	enum bootd_err rc;

	*out = NULL;
	*n = 0;
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	rc = host_list(inv, out, n, err);
	if ((rc = tx_end(inv, rc, err)) != BOOTD_OK) {
		inv_host_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void
inv_host_list_free(struct inv_host **hs, size_t n)
{
	size_t i;

	if (hs == NULL)
		return;
	for (i = 0; i < n; i++)
		inv_host_free(hs[i]);
	free(hs);
}

enum bootd_err
inv_host_names(struct inv *inv, const char *prefix,
    int (*fn)(const char *, void *), void *arg, struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc = BOOTD_OK;
	char hi[FQDN_BUF + 1];
	int src;

	if (strlen(prefix) > INV_FQDN_MAX)
		return BOOTD_OK;	/* no FQDN is that long */
	/* FQDNs are [a-z0-9.-]: every one starting with prefix sorts
	 * between prefix and prefix followed by '~'. */
	snprintf(hi, sizeof(hi), "%s~", prefix);
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt_once(inv, "SELECT fqdn FROM host WHERE fqdn >= ?1 "
	    "AND fqdn < ?2 ORDER BY fqdn", err)) == NULL)
		return tx_end(inv, BOOTD_EDB, err);
	bind_text(s, 1, prefix);
	bind_text(s, 2, hi);
	while ((src = sqlite3_step(s)) == SQLITE_ROW)
		if (fn((const char *)sqlite3_column_text(s, 0), arg) != 0)
			break;
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = dberr(inv, "list host names", err);
	sqlite3_finalize(s);
	return tx_end(inv, rc, err);
}

/* Attributes ---------------------------------------------------------- */

static enum bootd_err
attr_set(struct inv *inv, const char *host, const char *key,
    const char *value, struct bootd_error *err)
{
	struct href ref;
	struct buf o = { 0 }, n = { 0 };
	sqlite3_stmt *s;
	enum bootd_err rc;

	if ((rc = valid_attr(key, value, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_for_change(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if ((rc = attr_get(inv, ref.id, key, &o, err)) == BOOTD_ENOTFOUND)
		rc = BOOTD_OK;
	if (rc != BOOTD_OK)
		goto out;
	if ((s = stmt(inv, S_ATTR_SET, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, ref.id);
	bind_text(s, 2, key);
	bind_text(s, 3, value);
	if ((rc = run(inv, s, "set attribute", err)) != BOOTD_OK)
		goto out;
	buf_printf(&n, "%s=%s", key, value);
	if (buf_failed(&o) || buf_failed(&n)) {
		rc = nomem(err);
		goto out;
	}
	rc = audit(inv, time(NULL), "attr-set", ref.fqdn,
	    o.len > 0 ? buf_str(&o) : NULL, buf_str(&n), err);
out:
	buf_free(&o);
	buf_free(&n);
	return rc;
}

enum bootd_err
inv_attr_set(struct inv *inv, const char *host, const char *key,
    const char *value, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, attr_set(inv, host, key, value, err), err);
}

static enum bootd_err
attr_unset(struct inv *inv, const char *host, const char *key,
    struct bootd_error *err)
{
	struct href ref;
	struct inv_host *h = NULL;
	struct inv_dist *d = NULL;
	struct buf o = { 0 };
	enum bootd_err rc;

	if ((rc = valid_attr_key(key, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_for_change(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if ((rc = attr_get(inv, ref.id, key, &o, err)) == BOOTD_ENOTFOUND)
		rc = bootd_error_set(err, rc, "host %s has no attribute %s",
		    ref.fqdn, key);
	if (rc != BOOTD_OK)
		goto out;
	if ((rc = load_host_id(inv, ref.id, 0, &h, err)) != BOOTD_OK)
		goto out;
	if (h->dist != NULL) {
		if ((rc = load_dist(inv, h->dist, &d, err)) != BOOTD_OK)
			goto out;
		if (dist_uses_attr(d, key)) {
			rc = bootd_error_set(err, BOOTD_EINVAL, "attribute %s "
			    "of host %s is used by its distribution %s",
			    key, ref.fqdn, d->name);
			goto out;
		}
	}
	if ((rc = run_host(inv, S_ATTR_DELETE, ref.id, key, "unset attribute",
	    err)) != BOOTD_OK)
		goto out;
	rc = buf_failed(&o) ? nomem(err) : audit(inv, time(NULL),
	    "attr-unset", ref.fqdn, buf_str(&o), NULL, err);
out:
	buf_free(&o);
	inv_host_free(h);
	inv_dist_free(d);
	return rc;
}

enum bootd_err
inv_attr_unset(struct inv *inv, const char *host, const char *key,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, attr_unset(inv, host, key, err), err);
}

/* Environments -------------------------------------------------------- */

static enum bootd_err
env_add(struct inv *inv, const char *name, const char *group,
    struct bootd_error *err)
{
	sqlite3_stmt *s;
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
		return BOOTD_EDB;
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
	sqlite3_stmt *s;
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
		rc = BOOTD_EDB;
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
	sqlite3_stmt *s;
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
		rc = BOOTD_EDB;
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
	sqlite3_stmt *s;
	enum bootd_err rc;

	if ((s = stmt(inv, S_ENV_ALL, err)) == NULL)
		return BOOTD_EDB;
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

/* Distributions ------------------------------------------------------- */

static enum bootd_err
check_dist(const struct inv_dist *d, struct bootd_error *err)
{
	struct bootd_error verr;
	enum bootd_err rc;
	size_t i;

	if (d == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "no distribution");
	if ((rc = valid_name("distribution", d->name, err)) != BOOTD_OK)
		return rc;
	if ((rc = valid_url_template(d->kernel, &verr)) != BOOTD_OK)
		return bootd_error_set(err, rc, "kernel: %s", verr.text);
	if (d->ninitrds == 0 || d->initrds == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "distribution %s "
		    "needs at least one initrd", d->name);
	for (i = 0; i < d->ninitrds; i++)
		if ((rc = valid_url_template(d->initrds[i], &verr)) !=
		    BOOTD_OK)
			return bootd_error_set(err, rc, "initrd %zu: %s",
			    i + 1, verr.text);
	if ((rc = valid_cmdline_template(d->cmdline != NULL ? d->cmdline :
	    "", err)) != BOOTD_OK)
		return rc;
	return BOOTD_OK;
}

/*
 * Run statement id (S_DIST_INSERT or S_DIST_UPDATE) with d's name, kernel
 * and command line.  what names it in errors.
 */
static enum bootd_err
run_dist(struct inv *inv, enum stmt id, const struct inv_dist *d,
    const char *what, struct bootd_error *err)
{
	sqlite3_stmt *s;

	if ((s = stmt(inv, id, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, d->name);
	bind_text(s, 2, d->kernel);
	bind_text(s, 3, d->cmdline != NULL ? d->cmdline : "");
	return run(inv, s, what, err);
}

static enum bootd_err
insert_initrds(struct inv *inv, const struct inv_dist *d,
    struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc;
	size_t i;

	for (i = 0; i < d->ninitrds; i++) {
		if ((s = stmt(inv, S_INITRD_INSERT, err)) == NULL)
			return BOOTD_EDB;
		bind_text(s, 1, d->name);
		sqlite3_bind_int64(s, 2, (int64_t)i);
		bind_text(s, 3, d->initrds[i]);
		if ((rc = run(inv, s, "add initrd", err)) != BOOTD_OK)
			return rc;
	}
	return BOOTD_OK;
}

static enum bootd_err
dist_add(struct inv *inv, const struct inv_dist *d, struct bootd_error *err)
{
	struct inv_dist *old = NULL;
	struct buf b = { 0 };
	enum bootd_err rc;

	if ((rc = check_dist(d, err)) != BOOTD_OK)
		return rc;
	rc = load_dist(inv, d->name, &old, err);
	inv_dist_free(old);
	if (rc == BOOTD_OK)
		return bootd_error_set(err, BOOTD_EEXIST, "distribution %s "
		    "already exists", d->name);
	if (rc != BOOTD_ENOTFOUND)
		return rc;
	if ((rc = run_dist(inv, S_DIST_INSERT, d, "add distribution",
	    err)) != BOOTD_OK ||
	    (rc = insert_initrds(inv, d, err)) != BOOTD_OK)
		return rc;
	describe_dist(d, &b);
	rc = buf_failed(&b) ? nomem(err) : audit(inv, time(NULL), "dist-add",
	    d->name, NULL, buf_str(&b), err);
	buf_free(&b);
	return rc;
}

enum bootd_err
inv_dist_add(struct inv *inv, const struct inv_dist *d,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, dist_add(inv, d, err), err);
}

static enum bootd_err
dist_update(struct inv *inv, const struct inv_dist *d,
    struct bootd_error *err)
{
	struct inv_dist *old = NULL;
	struct buf o = { 0 }, n = { 0 };
	struct href *refs = NULL;
	sqlite3_stmt *s;
	enum bootd_err rc;
	size_t i, nr = 0;

	if ((rc = check_dist(d, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_dist(inv, d->name, &old, err)) != BOOTD_OK)
		return rc;
	if ((rc = run_dist(inv, S_DIST_UPDATE, d, "update distribution",
	    err)) != BOOTD_OK ||
	    (rc = run_text(inv, S_INITRD_DELETE, d->name, "update initrds",
	    err)) != BOOTD_OK ||
	    (rc = insert_initrds(inv, d, err)) != BOOTD_OK)
		goto out;
	/* Hosts about to install it must have what its templates use. */
	if ((s = stmt(inv, S_DIST_INSTALLING, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	bind_text(s, 1, d->name);
	refs = read_rows(inv, s, sizeof(*refs), fill_ref, &nr, &rc,
	    "list hosts", err);
	for (i = 0; rc == BOOTD_OK && i < nr; i++)
		rc = check_attrs(inv, &refs[i], d, err);
	if (rc != BOOTD_OK)
		goto out;
	describe_dist(old, &o);
	describe_dist(d, &n);
	rc = buf_failed(&o) || buf_failed(&n) ? nomem(err) : audit(inv,
	    time(NULL), "dist-update", d->name, buf_str(&o), buf_str(&n), err);
out:
	buf_free(&o);
	buf_free(&n);
	free(refs);
	inv_dist_free(old);
	return rc;
}

enum bootd_err
inv_dist_update(struct inv *inv, const struct inv_dist *d,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, dist_update(inv, d, err), err);
}

static enum bootd_err
dist_remove(struct inv *inv, const char *name, struct bootd_error *err)
{
	struct inv_dist *old = NULL;
	struct buf users = { 0 }, o = { 0 };
	sqlite3_stmt *s;
	enum bootd_err rc;
	int64_t total = 0;
	int src, n = 0;

	if ((rc = valid_name("distribution", name, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_dist(inv, name, &old, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_DIST_USERS, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	bind_text(s, 1, name);
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		total = sqlite3_column_int64(s, 1);
		buf_printf(&users, "%s%s", n++ > 0 ? ", " : "",
		    (const char *)sqlite3_column_text(s, 0));
	}
	if (src != SQLITE_DONE)
		rc = dberr(inv, "list hosts", err);
	sqlite3_reset(s);
	if (rc != BOOTD_OK)
		goto out;
	if (total > 0) {
		rc = bootd_error_set(err, BOOTD_EINVAL, "distribution %s is "
		    "used by %lld host%s: %s%s", name, (long long)total,
		    total > 1 ? "s" : "", buf_str(&users),
		    total > n ? ", ..." : "");
		goto out;
	}
	if ((rc = run_text(inv, S_DIST_DELETE, name, "remove distribution",
	    err)) != BOOTD_OK)
		goto out;
	describe_dist(old, &o);
	rc = buf_failed(&o) ? nomem(err) : audit(inv, time(NULL),
	    "dist-remove", name, buf_str(&o), NULL, err);
out:
	buf_free(&users);
	buf_free(&o);
	inv_dist_free(old);
	return rc;
}

enum bootd_err
inv_dist_remove(struct inv *inv, const char *name, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, dist_remove(inv, name, err), err);
}

enum bootd_err
inv_dist_get(struct inv *inv, const char *name, struct inv_dist **out,
    struct bootd_error *err)
{
	enum bootd_err rc;

	*out = NULL;
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	rc = tx_end(inv, load_dist(inv, name, out, err), err);
	if (rc != BOOTD_OK) {
		inv_dist_free(*out);
		*out = NULL;
	}
	return rc;
}

enum bootd_err
inv_dist_each(struct inv *inv, int (*fn)(const struct inv_dist *, void *),
    void *arg, struct bootd_error *err)
{
	struct inv_dist **ds = NULL;
	char **names = NULL;
	size_t i, n = 0;
	sqlite3_stmt *s;
	enum bootd_err rc = BOOTD_OK;

	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_DIST_NAMES, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	names = read_rows(inv, s, sizeof(*names), fill_text, &n, &rc,
	    "list distributions", err);
	if (rc != BOOTD_OK)
		goto out;
	if (n > 0 && (ds = calloc(n, sizeof(*ds))) == NULL) {
		rc = nomem(err);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = load_dist(inv, names[i], &ds[i], err)) != BOOTD_OK)
			goto out;
out:
	rc = tx_end(inv, rc, err);
	for (i = 0; i < n; i++) {
		if (rc == BOOTD_OK && ds != NULL && fn != NULL &&
		    fn(ds[i], arg) != 0)
			fn = NULL;	/* stop */
		if (ds != NULL)
			inv_dist_free(ds[i]);
		free(names[i]);
	}
	free(ds);
	free(names);
	return rc;
}

/* Reinstall ----------------------------------------------------------- */

/*
 * Fill out with INV_TOKEN_LEN random lowercase hex digits and a NUL.
 */
static enum bootd_err
make_token(char out[INV_TOKEN_LEN + 1], struct bootd_error *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[INV_TOKEN_LEN / 2];
	size_t got = 0;
	ssize_t r;
	int fd, i;

	while (got < sizeof(raw)) {
		r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
	}
	if (got < sizeof(raw)) {
		if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
			return bootd_error_set(err, BOOTD_ESYS, "/dev/urandom: "
			    "%s", strerror(errno));
		while (got < sizeof(raw)) {
			r = read(fd, raw + got, sizeof(raw) - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(fd);
				return bootd_error_set(err, BOOTD_ESYS,
				    "/dev/urandom: %s", r < 0 ?
				    strerror(errno) : "short read");
			}
			got += (size_t)r;
		}
		close(fd);
	}
	for (i = 0; i < INV_TOKEN_LEN / 2; i++) {
		out[i * 2] = hex[raw[i] >> 4];
		out[i * 2 + 1] = hex[raw[i] & 0xf];
	}
	out[INV_TOKEN_LEN] = '\0';
	return BOOTD_OK;
}

static enum bootd_err
revoke_tokens(struct inv *inv, int64_t host, struct bootd_error *err)
{
	sqlite3_stmt *s;

	if ((s = stmt(inv, S_TOKEN_REVOKE, err)) == NULL)
		return BOOTD_EDB;
	sqlite3_bind_int64(s, 1, host);
	return run(inv, s, "revoke tokens", err);
}

static enum bootd_err
set_action(struct inv *inv, int64_t host, const char *action,
    const char *dist, struct bootd_error *err)
{
	sqlite3_stmt *s;

	if ((s = stmt(inv, S_HOST_SET_ACTION, err)) == NULL)
		return BOOTD_EDB;
	sqlite3_bind_int64(s, 1, host);
	bind_text(s, 2, action);
	bind_text(s, 3, dist);
	return run(inv, s, "set boot action", err);
}

static enum bootd_err
set_reinstall(struct inv *inv, const char *host, const char *dist,
    int64_t now, long ttl, char token[INV_TOKEN_LEN + 1],
    struct bootd_error *err)
{
	char tok[INV_TOKEN_LEN + 1], o[160], n[160], when[32];
	struct href ref;
	struct inv_host *h = NULL;
	struct inv_dist *d = NULL;
	sqlite3_stmt *s;
	enum bootd_err rc;

	if (ttl <= 0)
		return bootd_error_set(err, BOOTD_EINVAL, "token lifetime "
		    "must be positive, not %ld", ttl);
	if (dist != NULL &&
	    (rc = valid_name("distribution", dist, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_for_change(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_host_id(inv, ref.id, now, &h, err)) != BOOTD_OK)
		return rc;
	if (dist == NULL)
		dist = h->dist;
	if (dist == NULL) {
		rc = bootd_error_set(err, BOOTD_EINVAL, "host %s has no "
		    "distribution; name one to install", ref.fqdn);
		goto out;
	}
	if ((rc = load_dist(inv, dist, &d, err)) != BOOTD_OK ||
	    (rc = check_attrs(inv, &ref, d, err)) != BOOTD_OK ||
	    (rc = make_token(tok, err)) != BOOTD_OK ||
	    (rc = revoke_tokens(inv, ref.id, err)) != BOOTD_OK)
		goto out;
	if ((s = stmt(inv, S_TOKEN_INSERT, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	bind_text(s, 1, tok);
	sqlite3_bind_int64(s, 2, ref.id);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, now + (int64_t)ttl);
	if ((rc = run(inv, s, "store token", err)) != BOOTD_OK ||
	    (rc = set_action(inv, ref.id, "install", d->name, err)) !=
	    BOOTD_OK)
		goto out;
	snprintf(o, sizeof(o), "action=%s dist=%s",
	    h->action == INV_ACTION_INSTALL ? "install" : "local",
	    h->dist != NULL ? h->dist : "-");
	snprintf(n, sizeof(n), "action=install dist=%s expires=%s",
	    d->name, audit_time(now + (int64_t)ttl, when));
	if ((rc = audit(inv, now, "set-reinstall", ref.fqdn, o, n, err)) !=
	    BOOTD_OK)
		goto out;
	if (token != NULL)
		memcpy(token, tok, sizeof(tok));
out:
	inv_host_free(h);
	inv_dist_free(d);
	return rc;
}

enum bootd_err
inv_set_reinstall(struct inv *inv, const char *host, const char *dist,
    int64_t now, long ttl, char token[INV_TOKEN_LEN + 1],
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, set_reinstall(inv, host, dist, now, ttl, token,
	    err), err);
}

static enum bootd_err
set_local(struct inv *inv, const char *host, struct bootd_error *err)
{
	struct href ref;
	struct inv_host *h = NULL;
	enum bootd_err rc;
	char o[160];

	if ((rc = resolve_for_change(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_host_id(inv, ref.id, 0, &h, err)) != BOOTD_OK)
		return rc;
	/*
	 * Already booting locally: a token it may still hold (an expired
	 * or used one counts for nothing) is revoked, but nothing changes
	 * that an operator would read, so no "local -> local" row.
	 */
	if (h->action == INV_ACTION_LOCAL) {
		rc = revoke_tokens(inv, ref.id, err);
		goto out;
	}
	if ((rc = revoke_tokens(inv, ref.id, err)) != BOOTD_OK ||
	    (rc = set_action(inv, ref.id, "local", h->dist, err)) != BOOTD_OK)
		goto out;
	snprintf(o, sizeof(o), "action=%s",
	    h->action == INV_ACTION_INSTALL ? "install" : "local");
	rc = audit(inv, time(NULL), "set-local", ref.fqdn, o, "action=local",
	    err);
out:
	inv_host_free(h);
	return rc;
}

enum bootd_err
inv_set_local(struct inv *inv, const char *host, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, set_local(inv, host, err), err);
}

enum bootd_err
inv_addr_canon(const char *addr, char out[INV_ADDR_MAX + 1],
    struct bootd_error *err)
{
	struct in6_addr a6;
	struct in_addr a4;
	char qa[QBUF];

	if (addr == NULL || *addr == '\0')
		return bootd_error_set(err, BOOTD_EINVAL, "no client address");
	if (strlen(addr) > INV_ADDR_MAX)
		return bootd_error_set(err, BOOTD_EINVAL, "client address "
		    "\"%s\" is too long", q(addr, qa));
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		inet_ntop(AF_INET, &a4, out, INV_ADDR_MAX + 1);
		return BOOTD_OK;
	}
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return bootd_error_set(err, BOOTD_EINVAL, "client address "
		    "\"%s\" is not an IPv4 or IPv6 address", q(addr, qa));
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		inet_ntop(AF_INET, &a4, out, INV_ADDR_MAX + 1);
	} else
		inet_ntop(AF_INET6, &a6, out, INV_ADDR_MAX + 1);
	return BOOTD_OK;
}

/*
 * Read the live token of the host owning MAC canon into tok, its host
 * into fqdn and its recorded fetch address into from ("" when none).
 * BOOTD_ENOTFOUND (err untouched) when there is none.
 */
static enum bootd_err
fetch_get(struct inv *inv, const char *canon, int64_t now,
    char tok[INV_TOKEN_LEN + 1], char fqdn[FQDN_BUF],
    char from[INV_ADDR_MAX + 1], struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc;
	const char *t;

	if ((s = stmt(inv, S_TOKEN_FETCH_GET, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, canon);
	sqlite3_bind_int64(s, 2, now);
	if ((rc = first_row(inv, s, "read token", err)) != BOOTD_OK)
		return rc;
	snprintf(tok, INV_TOKEN_LEN + 1, "%s",
	    (const char *)sqlite3_column_text(s, 0));
	snprintf(fqdn, FQDN_BUF, "%s", (const char *)sqlite3_column_text(s, 1));
	t = (const char *)sqlite3_column_text(s, 2);
	snprintf(from, INV_ADDR_MAX + 1, "%s", t != NULL ? t : "");
	sqlite3_reset(s);
	return BOOTD_OK;
}

/* The write half of inv_token_fetched(), inside its transaction. */
static enum bootd_err
token_fetched(struct inv *inv, const char *canon, const char *addr,
    int64_t now, struct bootd_error *err)
{
	char tok[INV_TOKEN_LEN + 1], fqdn[FQDN_BUF], from[INV_ADDR_MAX + 1];
	char o[64], n[64];
	sqlite3_stmt *s;
	enum bootd_err rc;

	/* Read again: the token may have changed since the first look. */
	if ((rc = fetch_get(inv, canon, now, tok, fqdn, from, err)) != BOOTD_OK)
		return rc == BOOTD_ENOTFOUND ? bootd_error_set(err, rc,
		    "no live install token for MAC %s", canon) : rc;
	if (strcmp(from, addr) == 0)
		return BOOTD_OK;
	if ((s = stmt(inv, S_TOKEN_FETCH_SET, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, tok);
	bind_text(s, 2, addr);
	sqlite3_bind_int64(s, 3, now);
	if ((rc = run(inv, s, "record install script fetch", err)) != BOOTD_OK)
		return rc;
	/*
	 * Changed less than a minute ago: keep the address (and write no
	 * audit row), so that fetching from alternating addresses cannot
	 * grow the inventory by more than one row a minute and token.
	 */
	if (sqlite3_changes(inv->db) == 0)
		return BOOTD_OK;
	snprintf(o, sizeof(o), "fetched_from=%s", from);
	snprintf(n, sizeof(n), "fetched_from=%s", addr);
	return audit(inv, now, "install-fetch", fqdn, from[0] != '\0' ? o :
	    NULL, n, err);
}

enum bootd_err
inv_token_fetched(struct inv *inv, const char *mac, const char *addr,
    int64_t now, struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1], a[INV_ADDR_MAX + 1];
	char tok[INV_TOKEN_LEN + 1], fqdn[FQDN_BUF], from[INV_ADDR_MAX + 1];
	enum bootd_err rc;

	if ((rc = mac_canon(mac, canon, err)) != BOOTD_OK ||
	    (rc = inv_addr_canon(addr, a, err)) != BOOTD_OK)
		return rc;
	/* The same address again (the usual case): a read, no write. */
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	rc = tx_end(inv, fetch_get(inv, canon, now, tok, fqdn, from, err), err);
	if (rc == BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "no live install token for "
		    "MAC %s", canon);
	if (rc != BOOTD_OK || strcmp(from, a) == 0)
		return rc;
	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, token_fetched(inv, canon, a, now, err), err);
}

static enum bootd_err
install_done(struct inv *inv, const char *token, const char *addr,
    int bind_addr, int64_t now, struct inv_done *out,
    struct bootd_error *err)
{
	struct href ref;
	sqlite3_stmt *s;
	enum bootd_err rc = BOOTD_OK;
	int64_t expires;
	int used, revoked;
	char qt[QBUF], o[160], n[160], *dist = NULL;
	const char *from;

	if ((s = stmt(inv, S_TOKEN_GET, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, token);
	if ((rc = first_row(inv, s, "read token", err)) == BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "unknown install token \"%s\"",
		    q(token, qt));
	if (rc != BOOTD_OK)
		return rc;
	fill_ref(s, &ref, NULL);
	snprintf(out->fqdn, sizeof(out->fqdn), "%s", ref.fqdn);
	from = (const char *)sqlite3_column_text(s, 7);
	snprintf(out->fetched_from, sizeof(out->fetched_from), "%s",
	    from != NULL ? from : "");
	expires = sqlite3_column_int64(s, 2);
	used = sqlite3_column_type(s, 3) != SQLITE_NULL;
	revoked = sqlite3_column_int(s, 4) != 0;
	if (col_dup(s, 6, &dist))
		rc = nomem(err);
	sqlite3_reset(s);
	if (rc != BOOTD_OK)
		return rc;
	if (used)
		rc = bootd_error_set(err, BOOTD_EEXPIRED, "install token of "
		    "host %s was already used", ref.fqdn);
	else if (revoked)
		rc = bootd_error_set(err, BOOTD_EEXPIRED, "install token of "
		    "host %s was revoked", ref.fqdn);
	else if (expires <= now)
		rc = bootd_error_set(err, BOOTD_EEXPIRED, "install token of "
		    "host %s expired", ref.fqdn);
	if (rc != BOOTD_OK)
		goto out;
	out->mismatch = addr == NULL || strcmp(addr, out->fetched_from) != 0;
	if (out->mismatch && bind_addr) {
		rc = bootd_error_set(err, BOOTD_EPERM, "done for host %s from "
		    "%s, but its install script was %s%s", ref.fqdn,
		    addr != NULL ? addr : "an unknown address",
		    out->fetched_from[0] != '\0' ? "fetched from " :
		    "never fetched", out->fetched_from);
		goto out;
	}
	if ((s = stmt(inv, S_TOKEN_USE, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	bind_text(s, 1, token);
	sqlite3_bind_int64(s, 2, now);
	if ((rc = run(inv, s, "use token", err)) != BOOTD_OK ||
	    (rc = set_action(inv, ref.id, "local", dist, err)) != BOOTD_OK)
		goto out;
	snprintf(o, sizeof(o), "action=install dist=%s",
	    dist != NULL ? dist : "-");
	snprintf(n, sizeof(n), "action=local done_from=%s fetched_from=%s",
	    addr != NULL ? addr : "-",
	    out->fetched_from[0] != '\0' ? out->fetched_from : "-");
	rc = audit(inv, now, "install-done", ref.fqdn, o, n, err);
out:
	free(dist);
	return rc;
}

enum bootd_err
inv_install_done(struct inv *inv, const char *token, const char *addr,
    int bind_addr, int64_t now, struct inv_done *out,
    struct bootd_error *err)
{
	struct inv_done scratch;
	char a[INV_ADDR_MAX + 1];
	enum bootd_err rc;

	if (out == NULL)
		out = &scratch;
	memset(out, 0, sizeof(*out));
	if (token == NULL || *token == '\0')
		return bootd_error_set(err, BOOTD_ENOTFOUND, "no install "
		    "token given");
	/* An address that is none counts as unknown: never a match. */
	if (addr != NULL && inv_addr_canon(addr, a, NULL) == BOOTD_OK)
		addr = a;
	else
		addr = NULL;
	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, install_done(inv, token, addr, bind_addr, now, out,
	    err), err);
}

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
lookup_attr(sqlite3_stmt *s, struct inv_host *h, size_t *cap,
    struct bootd_error *err)
{
	struct inv_kv *p, *kv;

	if (sqlite3_column_type(s, 6) == SQLITE_NULL)
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
	sqlite3_stmt *s = NULL;

	while ((s = sqlite3_next_stmt(inv->db, s)) != NULL)
		if (sqlite3_stmt_busy(s))
			sqlite3_reset(s);
	/* Never the caller's own grouped transaction (inv_begin()). */
	if (!inv->grouped && !sqlite3_get_autocommit(inv->db))
		sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * The lookup proper: one S_LOOKUP for the host with its token and
 * attributes, and one S_LOOKUP_DIST for each distribution the script
 * offers.  No BEGIN/COMMIT: SQLite keeps the implicit read transaction
 * of a statement until the last active statement of the handle is
 * reset, and S_LOOKUP stays active (on its first row) until every
 * distribution is read, so the whole answer comes from one snapshot.
 * The host's MACs and last boot are left out: no script needs them.
 */
static enum bootd_err
lookup(struct inv *inv, const char *canon, int64_t now,
    const char *const *manual, size_t nmanual, struct inv_boot *out,
    struct bootd_error *err)
{
	struct inv_host *h;
	struct inv_dist *d;
	sqlite3_stmt *s;
	const char *action;
	enum bootd_err rc;
	size_t i, cap = 0;
	int src;

	if ((s = stmt(inv, S_LOOKUP, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, canon);
	sqlite3_bind_int64(s, 2, now);
	if ((rc = first_row(inv, s, "read host", err)) != BOOTD_OK) {
		if (rc == BOOTD_ENOTFOUND)
			bootd_error_set(err, rc, "no host has MAC %s", canon);
		return rc;
	}
	if ((out->host = h = calloc(1, sizeof(*h))) == NULL) {
		rc = nomem(err);
		goto out;
	}
	action = (const char *)sqlite3_column_text(s, 2);
	h->action = action != NULL && strcmp(action, "install") == 0 ?
	    INV_ACTION_INSTALL : INV_ACTION_LOCAL;
	h->token_expires = sqlite3_column_type(s, 4) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(s, 5);
	if (col_dup(s, 0, &h->fqdn) || col_dup(s, 1, &h->env) ||
	    col_dup(s, 3, &h->dist) || col_dup(s, 4, &h->token)) {
		rc = nomem(err);
		goto out;
	}
	/* While s is on its first row: the same snapshot. */
	if (h->action == INV_ACTION_INSTALL && h->dist != NULL &&
	    h->token != NULL &&
	    (rc = load_dist(inv, h->dist, &out->dist, err)) != BOOTD_OK)
		goto out;
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
	} while ((src = sqlite3_step(s)) == SQLITE_ROW);
	if (src != SQLITE_DONE)
		rc = dberr(inv, "read attributes", err);
out:
	sqlite3_reset(s);	/* ends the read transaction */
	return rc;
}

enum bootd_err
inv_lookup(struct inv *inv, const char *mac, int64_t now,
    const char *const *manual, size_t nmanual, struct inv_boot *out,
    struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1];
	enum bootd_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mac_canon(mac, canon, err)) != BOOTD_OK)
		return rc;
	end_reads(inv);
	if ((rc = lookup(inv, canon, now, manual, nmanual, out, err)) !=
	    BOOTD_OK)
		inv_boot_free(out);
	return rc;
}

enum bootd_err
inv_lookup_plans(struct inv *inv,
    int (*fn)(const char *sql, const char *plan, void *arg), void *arg,
    struct bootd_error *err)
{
	static const enum stmt ids[] = { S_LOOKUP, S_LOOKUP_DIST };
	struct buf sql = { 0 }, plan = { 0 };
	sqlite3_stmt *s = NULL;
	enum bootd_err rc = BOOTD_OK;
	size_t i;
	int src;

	for (i = 0; rc == BOOTD_OK && i < sizeof(ids) / sizeof(ids[0]); i++) {
		buf_reset(&sql);
		buf_reset(&plan);
		buf_printf(&sql, "EXPLAIN QUERY PLAN %s", sqltab[ids[i]]);
		if (buf_failed(&sql)) {
			rc = nomem(err);
			break;
		}
		if (sqlite3_prepare_v2(inv->db, buf_str(&sql), -1, &s, NULL) !=
		    SQLITE_OK) {
			rc = dberr(inv, "explain query plan", err);
			break;
		}
		/* Columns: id, parent, notused, detail. */
		while ((src = sqlite3_step(s)) == SQLITE_ROW)
			buf_printf(&plan, "%s\n",
			    (const char *)sqlite3_column_text(s, 3));
		if (src != SQLITE_DONE)
			rc = dberr(inv, "explain query plan", err);
		else if (buf_failed(&plan))
			rc = nomem(err);
		else if (fn(sqltab[ids[i]], buf_str(&plan), arg) != 0)
			break;
		sqlite3_finalize(s);
		s = NULL;
	}
	sqlite3_finalize(s);
	buf_free(&sql);
	buf_free(&plan);
	return rc;
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
fill_audit(sqlite3_stmt *s, void *elem, struct bootd_error *err)
{
	struct inv_audit *a = elem;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->time = sqlite3_column_int64(s, 1);
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
	sqlite3_stmt *s;
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

/* Discovered MACs ------------------------------------------------------ */

static enum bootd_err
discovered_forget(struct inv *inv, const char *mac, const char *fqdn,
    const char *evidence, int64_t now, struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1], qm[QBUF];
	struct bootd_error merr;
	sqlite3_stmt *s;
	enum bootd_err rc;

	if (mac_canon(mac, canon, &merr) != BOOTD_OK)
		return bootd_error_set(err, BOOTD_EINVAL, "invalid MAC "
		    "\"%s\": %s", q(mac, qm), merr.text);
	if ((s = stmt(inv, S_FORGET_SET, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, canon);
	sqlite3_bind_int64(s, 2, now);
	if ((rc = run(inv, s, "forget discovered MAC", err)) != BOOTD_OK)
		return rc;
	if (fqdn == NULL)
		return audit(inv, now, "discovered-forget", canon, evidence,
		    NULL, err);
	{
		struct buf b = { 0 };

		buf_printf(&b, "mac=%s%s%s", canon, evidence != NULL ? " " : "",
		    evidence != NULL ? evidence : "");
		rc = buf_failed(&b) ? nomem(err) : audit(inv, now,
		    "discovered-adopt", fqdn, NULL, buf_str(&b), err);
		buf_free(&b);
	}
	return rc;
}

enum bootd_err
inv_discovered_forget(struct inv *inv, const char *mac, const char *fqdn,
    const char *evidence, int64_t now, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, discovered_forget(inv, mac, fqdn, evidence, now,
	    err), err);
}

enum bootd_err
inv_discovered_forgotten(struct inv *inv, const char *mac, int64_t *at,
    struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc;
	int src;

	*at = 0;
	if ((s = stmt(inv, S_FORGET_GET, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, mac);
	if ((src = sqlite3_step(s)) == SQLITE_ROW)
		*at = sqlite3_column_int64(s, 0);
	rc = src == SQLITE_ROW || src == SQLITE_DONE ? BOOTD_OK :
	    dberr(inv, "read forgotten MACs", err);
	sqlite3_reset(s);
	return rc;
}

enum bootd_err
inv_counts(struct inv *inv, struct inv_counts *c, struct bootd_error *err)
{
	sqlite3_stmt *s;
	enum bootd_err rc = BOOTD_OK;

	memset(c, 0, sizeof(*c));
	if ((s = stmt(inv, S_COUNTS, err)) == NULL)
		return BOOTD_EDB;
	if (sqlite3_step(s) == SQLITE_ROW) {
		c->hosts = sqlite3_column_int64(s, 0);
		c->nics = sqlite3_column_int64(s, 1);
		c->dists = sqlite3_column_int64(s, 2);
		c->envs = sqlite3_column_int64(s, 3);
		c->installing = sqlite3_column_int64(s, 4);
	} else
		rc = dberr(inv, "count inventory", err);
	sqlite3_reset(s);
	return rc;
}
