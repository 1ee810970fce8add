/*
 * db_sqlite.c - the SQLite driver of db.h
 *
 * A connection is one sqlite3 handle on a file; a statement one
 * sqlite3_stmt, prepared from the statement's text with $n rewritten to
 * ?n (db_params()).  Foreign keys are on for every connection (PostgreSQL
 * always enforces them).  Errors are classified by SQLite's extended
 * result codes; a foreign key refused by ON DELETE RESTRICT comes as
 * SQLITE_CONSTRAINT_TRIGGER and is a constraint like any other.
 *
 * Also here: the few calls of db_sqlite.h, what SQLite offers only
 * through its C API.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db_driver.h"
#include "db_sqlite.h"

#define CONN(db)	((sqlite3 *)(db)->conn)
#define STMT(st)	((sqlite3_stmt *)(st)->h)

/*
 * Record SQLite's last error on db's connection: class and code from its
 * extended result code, the text "what: message".
 */
static enum bootd_err
fail(struct db *db, const char *what, struct bootd_error *err)
{
	int ext = sqlite3_extended_errcode(CONN(db));
	enum db_errclass class;
	enum bootd_err code = BOOTD_EDB;

	switch (ext & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		class = DB_ERR_BUSY;
		code = BOOTD_EBUSY;
		break;
	case SQLITE_READONLY:
		class = DB_ERR_READONLY;
		break;
	case SQLITE_CANTOPEN:
		class = DB_ERR_CONN;
		break;
	case SQLITE_CONSTRAINT:
		class = DB_ERR_CONSTRAINT;
		code = (ext == SQLITE_CONSTRAINT_UNIQUE ||
		    ext == SQLITE_CONSTRAINT_PRIMARYKEY) ? BOOTD_EEXIST :
		    BOOTD_EINVAL;
		break;
	case SQLITE_NOMEM:
		class = DB_ERR_OTHER;
		code = BOOTD_ENOMEM;
		break;
	default:
		class = DB_ERR_OTHER;
		break;
	}
	return db_fail(db, class, code, err, "%s: %s", what,
	    sqlite3_errmsg(CONN(db)));
}

static enum bootd_err
lite_set_timeout(struct db *db, struct bootd_error *err)
{
	sqlite3_busy_timeout(CONN(db), db->timeout_ms);
	return BOOTD_OK;
}

static int	map_vfs;	/* DB_SQLITE_MAP_VFS is registered */

/*
 * Process-wide SQLite settings, made before SQLite's first use: no
 * memory statistics.  Nothing reads them, and keeping them takes a global
 * mutex around every allocation SQLite makes (7% of the instructions of
 * a boot lookup).  Where SQLite is already initialised, sqlite3_config()
 * refuses and its settings stay.  Then the VFS of read-only connections
 * (db_sqlite_map.c).
 */
static void
setup(void)
{
	static int done;

	if (!done) {
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		map_vfs = db_sqlite_map_register() == SQLITE_OK;
		done = 1;
	}
}

static enum bootd_err
lite_connect(struct db *db, struct bootd_error *err)
{
	sqlite3 *h = NULL;
	enum bootd_err rc;
	int flags;

	setup();
	switch (db->mode) {
	case DB_RDONLY:
		flags = SQLITE_OPEN_READONLY;
		break;
	case DB_CREATE:
		flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
		break;
	default:
		flags = SQLITE_OPEN_READWRITE;
		break;
	}
	if (sqlite3_open_v2(db->where, &h, flags | SQLITE_OPEN_NOMUTEX,
	    db->mode == DB_RDONLY && map_vfs ? DB_SQLITE_MAP_VFS : NULL) !=
	    SQLITE_OK) {
		rc = h == NULL ? db_fail(db, DB_ERR_OTHER, BOOTD_ENOMEM, err,
		    "out of memory") : db_fail(db, DB_ERR_CONN, BOOTD_EDB, err,
		    "cannot open database \"%s\": %s", db->where,
		    sqlite3_errmsg(h));
		sqlite3_close(h);
		return rc;
	}
	db->conn = h;
	sqlite3_extended_result_codes(h, 1);
	lite_set_timeout(db, err);
	if (sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		rc = fail(db, "set connection options", err);
		sqlite3_close(h);
		db->conn = NULL;
		return rc;
	}
	return BOOTD_OK;
}

static void
lite_disconnect(struct db *db)
{
	sqlite3_close(CONN(db));
	db->conn = NULL;
}

static int
lite_is_standby(const struct db *db)
{
	return 0;
}

static int
lite_in_txn(const struct db *db)
{
	return !sqlite3_get_autocommit(CONN(db));
}

static enum bootd_err
lite_exec(struct db *db, const char *sql, struct bootd_error *err)
{
	char *msg = NULL;
	enum bootd_err rc;

	if (sqlite3_exec(CONN(db), sql, NULL, NULL, &msg) == SQLITE_OK)
		return BOOTD_OK;
	rc = fail(db, "exec", err);
	sqlite3_free(msg);
	return rc;
}

static enum bootd_err
lite_begin(struct db *db, enum db_txn txn, struct bootd_error *err)
{
	/* IMMEDIATE: take the write lock now, not at the first write. */
	if (sqlite3_exec(CONN(db), txn == DB_TXN_WRITE ? "BEGIN IMMEDIATE" :
	    "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, "begin", err);
	return BOOTD_OK;
}

static enum bootd_err
lite_commit(struct db *db, struct bootd_error *err)
{
	if (sqlite3_exec(CONN(db), "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, "commit", err);
	return BOOTD_OK;
}

static enum bootd_err
lite_prepare(struct db_stmt *st, struct bootd_error *err)
{
	struct db *db = st->db;
	sqlite3_stmt *s = NULL;
	const char *tail;
	char *sql;
	int rc;

	if ((sql = malloc(strlen(st->sql) + 1)) == NULL)
		return db_fail(db, DB_ERR_OTHER, BOOTD_ENOMEM, err,
		    "out of memory");
	db_params(st->sql, sql);
	rc = sqlite3_prepare_v3(CONN(db), sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &s, &tail);
	if (rc != SQLITE_OK) {
		free(sql);
		return fail(db, "prepare", err);
	}
	tail += strspn(tail, " \t\r\n;");
	rc = *tail != '\0';	/* tail points into sql */
	free(sql);
	if (s == NULL || rc) {
		sqlite3_finalize(s);
		return db_fail(db, DB_ERR_OTHER, BOOTD_EINVAL, err,
		    "prepare: not exactly one statement");
	}
	st->h = s;
	return BOOTD_OK;
}

static void
lite_unprepare(struct db_stmt *st, int server)
{
	sqlite3_finalize(STMT(st));
	st->h = NULL;
}

static void
lite_reset(struct db_stmt *st)
{
	sqlite3_reset(STMT(st));
	if (st->bound)		/* else there is nothing to clear */
		sqlite3_clear_bindings(STMT(st));
}

static enum bootd_err
lite_bind_text(struct db_stmt *st, int i, const char *v,
    struct bootd_error *err)
{
	int rc;

	if (v == NULL)
		rc = sqlite3_bind_null(STMT(st), i);
	else
		rc = sqlite3_bind_text(STMT(st), i, v, -1, SQLITE_TRANSIENT);
	if (rc != SQLITE_OK)
		return fail(st->db, "bind", err);
	return BOOTD_OK;
}

/* lite_bind_text() without the copy: v outlives the binding. */
static enum bootd_err
lite_bind_text_ref(struct db_stmt *st, int i, const char *v,
    struct bootd_error *err)
{
	int rc;

	if (v == NULL)
		rc = sqlite3_bind_null(STMT(st), i);
	else
		rc = sqlite3_bind_text(STMT(st), i, v, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return fail(st->db, "bind", err);
	return BOOTD_OK;
}

static enum bootd_err
lite_bind_int64(struct db_stmt *st, int i, int64_t v,
    struct bootd_error *err)
{
	if (sqlite3_bind_int64(STMT(st), i, v) != SQLITE_OK)
		return fail(st->db, "bind", err);
	return BOOTD_OK;
}

static enum bootd_err
lite_step(struct db_stmt *st, int *row, struct bootd_error *err)
{
	switch (sqlite3_step(STMT(st))) {
	case SQLITE_ROW:
		*row = 1;
		return BOOTD_OK;
	case SQLITE_DONE:
		/* sqlite3_changes64() still counts an earlier write. */
		st->changes = sqlite3_stmt_readonly(STMT(st)) ? 0 :
		    sqlite3_changes64(CONN(st->db));
		return BOOTD_OK;
	default:
		return fail(st->db, "step", err);
	}
}

static int
lite_column_count(struct db_stmt *st)
{
	return sqlite3_data_count(STMT(st));
}

static int
lite_column_is_null(struct db_stmt *st, int i)
{
	return sqlite3_column_type(STMT(st), i) == SQLITE_NULL;
}

static const char *
lite_column_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(STMT(st), i);
}

static int64_t
lite_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(STMT(st), i);
}

const struct db_driver db_sqlite_driver = {
	.connect = lite_connect,
	.disconnect = lite_disconnect,
	.is_standby = lite_is_standby,
	.in_txn = lite_in_txn,
	.set_timeout = lite_set_timeout,
	.exec = lite_exec,
	.begin = lite_begin,
	.commit = lite_commit,
	.prepare = lite_prepare,
	.unprepare = lite_unprepare,
	.reset = lite_reset,
	.bind_text = lite_bind_text,
	.bind_text_ref = lite_bind_text_ref,
	.bind_int64 = lite_bind_int64,
	.step = lite_step,
	.column_count = lite_column_count,
	.column_is_null = lite_column_is_null,
	.column_text = lite_column_text,
	.column_int64 = lite_column_int64,
};

/* db_sqlite.h ----------------------------------------------------------- */

enum bootd_err
db_sqlite_persist_wal(struct db *db, const char *schema,
    struct bootd_error *err)
{
	int on = 1;

	if (db->engine != DB_SQLITE)
		return BOOTD_OK;
	if (db->conn == NULL)
		return db_fail(db, DB_ERR_CONN, BOOTD_EDB, err,
		    "not connected to the database");
	if (sqlite3_file_control(CONN(db), schema, SQLITE_FCNTL_PERSIST_WAL,
	    &on) != SQLITE_OK)
		return db_fail(db, DB_ERR_OTHER, BOOTD_EDB, err, "keep the "
		    "-wal and -shm files: no database \"%s\"", schema);
	return BOOTD_OK;
}

/* sqlite3_wal_hook() of db_sqlite_checkpoint_after(); arg is the pages. */
static int
checkpoint_hook(void *arg, sqlite3 *h, const char *schema, int nframes)
{
	if (nframes >= (int)(intptr_t)arg)
		sqlite3_wal_checkpoint_v2(h, schema,
		    SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	return SQLITE_OK;
}

enum bootd_err
db_sqlite_checkpoint_after(struct db *db, int pages, struct bootd_error *err)
{
	if (db->engine != DB_SQLITE)
		return BOOTD_OK;
	if (db->conn == NULL)
		return db_fail(db, DB_ERR_CONN, BOOTD_EDB, err,
		    "not connected to the database");
	if (pages > 0)
		sqlite3_wal_hook(CONN(db), checkpoint_hook,
		    (void *)(intptr_t)pages);
	else
		sqlite3_wal_hook(CONN(db), NULL, NULL);
	return BOOTD_OK;
}

int
db_sqlite_readonly(const struct db *db)
{
	if (db->engine != DB_SQLITE || db->conn == NULL)
		return 0;
	return sqlite3_db_readonly(CONN(db), "main") == 1;
}
