/*
 * db.h - SQL drivers: one connection to SQLite or PostgreSQL, prepared
 * statements, rows, transactions, error classes and reconnection
 *
 * DESIGN.  The inventory (and the events) speak SQL through this small
 * interface, the shape of PowerDNS's generic SQL backends (SSql,
 * SSqlStatement) and Dovecot's lib-sql (a table of driver functions).  One
 * driver per engine, each in its own file: db_sqlite.c (SQLite, always
 * built) and db_pg.c (libpq; built when BOOTD_WITH_POSTGRESQL is on).
 * Nothing above the drivers includes sqlite3.h or libpq-fe.h; the little
 * SQLite has that SQL cannot reach is in db_sqlite.h.
 *
 * Statements are written once, with PostgreSQL's placeholders $1..$n.  The
 * SQLite driver rewrites them to ?1..?n (never to $n, which SQLite reads
 * as a name numbered by first appearance: "SELECT $2, $1" would bind
 * backwards).  Placeholders inside string literals, quoted identifiers,
 * comments and PostgreSQL dollar-quoted strings are left alone, and so is
 * a $ within a name (x$1 is a name to PostgreSQL); E'...' strings are not
 * understood (do not use them).  Where the dialects
 * differ, the caller asks db_engine() and picks the text.
 *
 * A statement is prepared once (db_prepare) and kept: each use is
 * db_reset(), the db_bind_*() calls, then db_step() until it reports no
 * more rows.  PostgreSQL statements are named server-side prepared
 * statements (PQsendPrepare/PQsendQueryPrepared, text results, the whole
 * result read at the first step); SQLite's are sqlite3_stmt.  Prepared
 * statements belong to one connection: db_reconnect() opens a new one and
 * prepares every statement of the handle again on it.
 *
 * Errors.  Every function that can fail returns an enum bootd_err and
 * fills err (may be NULL) with one line: what failed and the engine's
 * message.  The codes are those inv.c has always used: BOOTD_EBUSY
 * (locked, or a transaction that lost a race: do it again later),
 * BOOTD_EEXIST (a unique constraint), BOOTD_EINVAL (another constraint),
 * BOOTD_ENOMEM, BOOTD_EDB (everything else).  Beside the code, the handle
 * keeps the class of its last failure, db_errclass(), which says what to
 * do about it: wait (busy), go to another server (read-only), reconnect
 * (connection), or give up on this value (constraint).
 *
 * Transactions.  db_begin(DB_TXN_WRITE) is SQLite's BEGIN IMMEDIATE (one
 * writer at a time) and PostgreSQL's BEGIN ISOLATION LEVEL SERIALIZABLE:
 * both give writers the outcome of one at a time; where PostgreSQL finds
 * they did not, a statement or the COMMIT fails as busy (SQLSTATE 40001)
 * and the caller does the whole transaction again, as after SQLITE_BUSY.
 * db_begin(DB_TXN_READ) is a snapshot: SQLite's BEGIN, PostgreSQL's
 * REPEATABLE READ, READ ONLY (allowed on a hot standby).  A connection
 * lost inside a transaction loses the transaction.
 *
 * Not thread-safe: one handle per process or thread, as bootd's workers
 * and recorder each have their own.  A handle must not cross a fork():
 * open it in the process that uses it.
 */
#ifndef BOOTD_DB_H
#define BOOTD_DB_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct db;		/* one connection and its statements (opaque) */
struct db_stmt;		/* a prepared statement of one struct db (opaque) */

enum db_engine {
	DB_SQLITE,		/* a file path */
	DB_POSTGRESQL,		/* a postgresql:// or postgres:// URI */
	DB_ENGINE__MAX
};

enum db_mode {
	DB_RDONLY,	/* SQLite: read-only open; PostgreSQL: every
			   transaction read-only (writes fail DB_ERR_READONLY) */
	DB_RDWR,	/* read and write; the database must exist */
	DB_CREATE	/* SQLite: create the file (umask's mode) if missing;
			   PostgreSQL: as DB_RDWR, the database must exist */
};

/* What the last failure on a handle means for the caller. */
enum db_errclass {
	DB_ERR_NONE = 0,	/* the last call succeeded */
	DB_ERR_BUSY,		/* locked, lock timeout, deadlock or
				   serialization failure: try again later */
	DB_ERR_READONLY,	/* a write on a read-only handle, file or
				   hot standby: writes need the primary */
	DB_ERR_CONN,		/* no connection: lost, server shut down,
				   none reachable, file cannot be opened,
				   or a session whose prepared statements
				   a migration outdated; db_reconnect() */
	DB_ERR_CONSTRAINT,	/* unique, check, foreign key or not null
				   refused the values */
	DB_ERR_OTHER,		/* anything else: SQL error, out of memory */
	DB_ERR_CANCELLED,	/* the server cancelled the statement: past
				   its statement_timeout (a tenth under the
				   deadline), or by an administrator; the
				   server is slow, not gone, and the
				   connection stays good: try again later */
	DB_ERR__MAX
};

enum db_txn {
	DB_TXN_READ,		/* a consistent snapshot for several reads */
	DB_TXN_WRITE		/* writes, serialized with other writers */
};

/*
 * Return 1 when where names a PostgreSQL database (a postgresql:// or
 * postgres:// URI), 0 when it is a path for SQLite.  This function can't
 * fail.
 */
int		 db_is_uri(const char *where);

/*
 * Write where (a path, or a URI) into out (size bytes, at least 1) for a log
 * line or a message: a URI's passwords, in its user information and as
 * password= and sslpassword= parameters, become "***".  Returns out.  This
 * function can't fail (a longer text is cut).
 */
const char	*db_where_print(const char *where, char *out, size_t size);

/*
 * Mask in text (NUL-terminated, changed in place, never made longer)
 * every copy of a password of the URI where: libpq quotes a URI it cannot
 * parse, or a part of it, in its messages ("invalid percent-encoded
 * token: ...").  Nothing for a path.  This function can't fail.
 */
void		 db_scrub(char *text, const char *where);

/*
 * Is the URI parameter name s (n bytes, percent-encoded as libpq accepts
 * it) the name want?  This function can't fail.
 */
int		 db_uri_param_is(const char *s, size_t n, const char *want);

/*
 * Open a connection to where: an SQLite file path, or a PostgreSQL URI,
 * passed to libpq as it is, so that it may name several hosts
 * ("postgresql://db1,db2/bootd?target_session_attrs=read-write" or, over
 * unix sockets, "postgresql:///bootd?host=/run/a,/run/b") and carry any
 * libpq parameter.  PostgreSQL connections get connect_timeout=2 (per host),
 * TCP keepalives after 5 s idle and tcp_user_timeout=5000, unless the URI
 * says otherwise (db_pg.c says why), application_name "bootd" unless it
 * names one, and client_encoding UTF8.  SQLite connections get foreign keys
 * on, the busy timeout 5 s and extended result codes.
 *
 * On success *out is the handle, closed with db_close().  On failure *out
 * is NULL: BOOTD_EINVAL (no path, a URI and no PostgreSQL driver built
 * in, or a URI with an "@" in its user or password not written %40),
 * BOOTD_ENOMEM, or BOOTD_EDB (no server reachable, or the file cannot
 * be opened; err says why, without the URI's password).
 */
enum bootd_err	 db_open(const char *where, enum db_mode mode, struct db **out,
		    struct bootd_error *err);

/*
 * Close the connection and free the handle and every statement still
 * prepared on it.  db may be NULL.  This function can't fail.
 */
void		 db_close(struct db *db);

/* The engine of db.  This function can't fail. */
enum db_engine	 db_engine(const struct db *db);

/*
 * Close the connection and open a new one to the same place (for a URI,
 * libpq picks the server again: after a failover the promoted one), then
 * prepare every statement of db again on it.  Statements lose their
 * bindings and position.  Any transaction was lost with the old
 * connection.  Returns BOOTD_EDB with class DB_ERR_CONN when no server
 * can be reached; db stays usable for another db_reconnect(), and every
 * other call fails with DB_ERR_CONN until one succeeds.
 */
enum bootd_err	 db_reconnect(struct db *db, struct bootd_error *err);

/*
 * Is db connected to a PostgreSQL hot standby (in recovery)?  Reported by
 * the server with every change (a promotion clears it), read without a
 * round trip; a server before PostgreSQL 14, which reports no such thing,
 * is asked once at connect, so a promotion shows at the next connection.
 * 0 for SQLite and when not connected.  This function can't fail.
 */
int		 db_is_standby(const struct db *db);

/*
 * How long a statement waits for a lock another connection holds before
 * it fails as busy, in milliseconds (0: do not wait).  SQLite's busy
 * timeout, PostgreSQL's lock_timeout (1 ms for 0: there 0 is forever);
 * kept across db_reconnect().  The default is 5000.
 */
enum bootd_err	 db_set_timeout(struct db *db, int ms, struct bootd_error *err);

/*
 * How long one call may wait for the PostgreSQL server, in milliseconds,
 * from sending a statement to its last row (0, the default: no bound).
 * Past it the server is taken for gone, though its kernel may still
 * acknowledge every packet (a stopped backend, a COMMIT waiting for a
 * synchronous standby that is away): the running statement is cancelled,
 * the connection closed, and the call fails BOOTD_EDB with class
 * DB_ERR_CONN, so that db_reconnect() lets libpq pick a server again.
 * The server's statement_timeout is set a tenth shorter, which ends a
 * statement that is merely slow with an error (class DB_ERR_CANCELLED) on
 * a connection that stays good, before the deadline gives the connection
 * up.  Kept across db_reconnect().  Nothing for SQLite, whose file
 * answers or is locked (db_set_timeout()).
 */
enum bootd_err	 db_set_deadline(struct db *db, int ms,
		    struct bootd_error *err);

/*
 * The class of the last failure of a call on db or one of its statements;
 * DB_ERR_NONE when that call succeeded.  This function can't fail.
 */
enum db_errclass db_errclass(const struct db *db);

/*
 * The engine's own message in text, the text of an error a db.h call
 * filled ("call: message"): the message without the name of the call, for
 * a caller that names what failed itself ("read host: database is
 * locked").  Any other text is returned whole.  This function can't fail.
 */
const char	*db_engine_msg(const char *text);

/*
 * The engine's reason in text, the message of a db_open() of path that
 * failed ("cannot open database "path": reason"), for a caller that
 * names the path itself.  Any other text is returned whole.  This
 * function can't fail.
 */
const char	*db_open_reason(const char *text, const char *path);

/* A short constant name of class ("busy", "read-only"...). */
const char	*db_errclass_name(enum db_errclass class);

/*
 * Run sql, one or more statements separated by semicolons, without
 * parameters or rows (schema, settings).  Not rewritten: SQL that differs
 * by engine is the caller's.  Outside a transaction PostgreSQL runs the
 * statements as one (all or none); SQLite keeps those before a failing
 * one: inside db_begin() both keep or undo them together.
 */
enum bootd_err	 db_exec(struct db *db, const char *sql, struct bootd_error *err);

/*
 * Begin, commit or roll back a transaction (see DESIGN above).  A write
 * transaction on a hot standby fails at once as DB_ERR_READONLY.
 * db_rollback() outside a transaction does nothing and succeeds.
 */
enum bootd_err	 db_begin(struct db *db, enum db_txn txn,
		    struct bootd_error *err);
enum bootd_err	 db_commit(struct db *db, struct bootd_error *err);
enum bootd_err	 db_rollback(struct db *db, struct bootd_error *err);

/*
 * Prepare sql, one statement with placeholders $1..$n (at most
 * DB_MAX_PARAMS: SQLite's own limit before 3.32, so every SQLite takes it;
 * the events' statements of many rows use up to 384), on db.  On success
 * *out belongs to db: free it with db_finalize(), or db_close() frees it.
 */
#define DB_MAX_PARAMS	999
enum bootd_err	 db_prepare(struct db *db, const char *sql,
		    struct db_stmt **out, struct bootd_error *err);

/* Free st.  st may be NULL.  This function can't fail. */
void		 db_finalize(struct db_stmt *st);

/*
 * Make st ready to be bound and run again: forget its rows and set every
 * parameter to NULL.  Needed before binding a statement that has been
 * stepped.  This function can't fail.
 */
void		 db_reset(struct db_stmt *st);

/*
 * db_reset() every statement of db that is active: run and neither reset
 * nor stepped past its last row since.  An active SQLite statement keeps
 * its read transaction, and with it an old snapshot, open; this ends
 * them all, without touching the others.  This function can't fail.
 */
void		 db_reset_active(struct db *db);

/*
 * Bind parameter i (1 for $1) of st.  db_bind_text() copies v; a NULL v
 * binds NULL.  BOOTD_EINVAL for an index out of range or a statement
 * stepped since its last reset.
 */
enum bootd_err	 db_bind_text(struct db_stmt *st, int i, const char *v,
		    struct bootd_error *err);
enum bootd_err	 db_bind_int64(struct db_stmt *st, int i, int64_t v,
		    struct bootd_error *err);
enum bootd_err	 db_bind_null(struct db_stmt *st, int i,
		    struct bootd_error *err);

/*
 * db_bind_text() without the copy where the engine allows it (SQLite):
 * v must stay as it is until st is reset or finalized.  For values bound
 * by the thousand (a bulk change's audit rows), where the copy is a good
 * part of the statement's cost.
 */
enum bootd_err	 db_bind_text_ref(struct db_stmt *st, int i, const char *v,
		    struct bootd_error *err);

/*
 * Run st (at the first step after a reset) and move to its next row: *row
 * is 1 when a row is there for the db_column_*() functions, 0 when there
 * are no more (then db_changes() is known).  On failure st needs
 * db_reset() before its next use.
 */
enum bootd_err	 db_step(struct db_stmt *st, int *row, struct bootd_error *err);

/*
 * The current row's columns (0 for the first); db_column_count() is 0
 * when there is no current row (it is read once per row, at the step: the
 * functions below cost one driver call each).  db_column_text() returns
 * NULL for NULL; the text is borrowed: valid until the next db_step(),
 * db_reset() or db_finalize() of st.  db_column_int64() returns 0 for
 * NULL or text that is no number.  Column numbers out of range read as
 * NULL.  These functions can't fail.
 */
int		 db_column_count(struct db_stmt *st);
int		 db_column_is_null(struct db_stmt *st, int i);
const char	*db_column_text(struct db_stmt *st, int i);
int64_t		 db_column_int64(struct db_stmt *st, int i);

/*
 * Rows inserted, updated or deleted by st's last completed run: 0 before
 * one and for statements that only read.  Rows changed by cascades and
 * triggers do not count.  This function can't fail.
 */
int64_t		 db_changes(struct db_stmt *st);

#endif /* BOOTD_DB_H */
