/*
 * db_driver.h - what a driver of db.h provides, and what db.c keeps for
 * it: private to lib/db*.c
 *
 * db.c does everything engines share (the handle, its list of statements,
 * placeholders, argument checks, error classes, reconnecting) and calls
 * the driver through struct db_driver, as Dovecot's lib-sql calls a
 * struct sql_db_vfuncs.  A driver keeps its connection in db->conn and a
 * statement's handle in st->h.
 */
#ifndef BOOTD_DB_DRIVER_H
#define BOOTD_DB_DRIVER_H

#include <stdint.h>

#include "db.h"

#define DB_DEFAULT_TIMEOUT_MS	5000

struct db {
	const struct db_driver	*drv;
	enum db_engine		 engine;
	enum db_mode		 mode;
	char			*where;		/* path or URI, to reconnect */
	int			 timeout_ms;	/* db_set_timeout() */
	int			 deadline_ms;	/* db_set_deadline(), 0: none */
	int			 recovery;	/* PostgreSQL before 14: in
						   recovery at connect */
	enum db_errclass	 errclass;	/* of the last call */
	unsigned		 names;		/* statements named so far */
	struct db_stmt		*stmts;		/* every statement, a list */
	void			*conn;		/* the driver's; NULL when
						   not connected */
};

struct db_stmt {
	struct db		*db;
	struct db_stmt		*prev, *next;	/* in db->stmts */
	char			*sql;		/* as given, with $n */
	int			 nparams;	/* highest n of $n */
	unsigned		 name;		/* unique in its db */
	int			 prepared;	/* h is on the current
						   connection */
	int			 stepped;	/* run since the last reset */
	int			 done;		/* stepped past the last row */
	int			 ncols;		/* columns of the current row,
						   0 when there is none */
	int			 bound;		/* a parameter bound since
						   the last reset */
	int64_t			 changes;	/* of the last completed run */
	void			*h;		/* the driver's */
};

/*
 * A driver.  Functions that can fail report through db_fail().  db.c
 * calls them only with a connection (db->conn != NULL, except connect)
 * and, for statement functions, a prepared statement (st->prepared).  A
 * driver that gives up its connection inside a call (a server silent past
 * db->deadline_ms, or one it cannot wait for) closes it, sets db->conn
 * NULL and fails DB_ERR_CONN; its statements stay st->prepared until
 * db_reconnect() or db_finalize().
 */
struct db_driver {
	/* Connect to db->where as db->mode says, applying db->timeout_ms;
	   on success set db->conn. */
	enum bootd_err	 (*connect)(struct db *, struct bootd_error *);
	/* Close db->conn (statements are unprepared already); set NULL. */
	void		 (*disconnect)(struct db *);
	int		 (*is_standby)(const struct db *);
	int		 (*in_txn)(const struct db *);
	/* Apply db->timeout_ms and db->deadline_ms to db->conn. */
	enum bootd_err	 (*set_timeout)(struct db *, struct bootd_error *);
	enum bootd_err	 (*exec)(struct db *, const char *,
			    struct bootd_error *);
	enum bootd_err	 (*begin)(struct db *, enum db_txn,
			    struct bootd_error *);
	enum bootd_err	 (*commit)(struct db *, struct bootd_error *);
	/* Prepare st->sql on db->conn into st->h. */
	enum bootd_err	 (*prepare)(struct db_stmt *, struct bootd_error *);
	/* Free st->h; with server set, also what the server keeps for it
	   (the connection is still good). */
	void		 (*unprepare)(struct db_stmt *, int server);
	void		 (*reset)(struct db_stmt *);
	enum bootd_err	 (*bind_text)(struct db_stmt *, int, const char *,
			    struct bootd_error *);
	/* bind_text without a copy (db_bind_text_ref()); NULL: copy. */
	enum bootd_err	 (*bind_text_ref)(struct db_stmt *, int,
			    const char *, struct bootd_error *);
	enum bootd_err	 (*bind_int64)(struct db_stmt *, int, int64_t,
			    struct bootd_error *);
	/* Run (first call after a reset: set st->changes when done) and
	   advance. */
	enum bootd_err	 (*step)(struct db_stmt *, int *,
			    struct bootd_error *);
	int		 (*column_count)(struct db_stmt *);
	int		 (*column_is_null)(struct db_stmt *, int);
	const char	*(*column_text)(struct db_stmt *, int);
	int64_t		 (*column_int64)(struct db_stmt *, int);
};

extern const struct db_driver	db_sqlite_driver;
#ifdef BOOTD_WITH_POSTGRESQL
extern const struct db_driver	db_pg_driver;
#endif

/*
 * Scan sql for placeholders $n outside literals, quoted identifiers,
 * comments and dollar-quoted strings.  Return the highest n (0 when
 * none), or -1 when an n exceeds DB_MAX_PARAMS.  When rewrite is not NULL
 * (as long as sql plus its NUL), write sql there with every such $n
 * as ?n.  This function can't fail otherwise.
 */
int		 db_params(const char *sql, char *rewrite);

/*
 * Record a failure on db: set its class, fill err with the message made
 * one line (SQLite's can quote a CHECK across lines: every run of white
 * space becomes one space), return code.
 */
enum bootd_err	 db_fail(struct db *db, enum db_errclass class,
		    enum bootd_err code, struct bootd_error *err,
		    const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));

/*
 * db_sqlite_map.c: the VFS SQLite's read-only connections open the file
 * with, which keeps its mapping across other connections' commits;
 * registered once, before the first connection (0: SQLITE_OK).
 */
#define DB_SQLITE_MAP_VFS	"bootd-map"
int		 db_sqlite_map_register(void);

#endif /* BOOTD_DB_DRIVER_H */
