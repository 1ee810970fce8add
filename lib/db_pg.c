/*
 * db_pg.c - the PostgreSQL driver of db.h, on libpq
 *
 * A connection is one PGconn, opened from the URI as given (libpq picks
 * among several hosts by target_session_attrs); a statement is a named
 * server-side prepared statement ("b<n>", PQsendPrepare) with its
 * parameters kept here as text until PQsendQueryPrepared runs it at the
 * first step.
 * Results come as text, all rows at once: bootd reads single rows and
 * pages of at most a few hundred.
 *
 * Every statement is sent without waiting (the connection is
 * non-blocking) and its results awaited with poll(2), for at most the
 * handle's deadline (db_set_deadline(); await()): the server's kernel
 * may acknowledge every packet of a server that never answers (a backend
 * stopped, a COMMIT waiting for a synchronous standby that is gone), where
 * connect_timeout, keepalives and tcp_user_timeout see nothing wrong.
 *
 * Errors are classified by SQLSTATE, and by the connection's state: a
 * connection that libpq reports bad is DB_ERR_CONN whatever the message
 * ("server closed the connection unexpectedly", 57P01 "terminating
 * connection due to administrator command" when a server shuts down).
 * Notices (e.g. DROP ... IF EXISTS) are dropped: libboot never prints.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "db_driver.h"

#define CONN(db)	((PGconn *)(db)->conn)
#define STMT(st)	((struct pgstmt *)(st)->h)

/*
 * Defaults a URI may override (pg_connect()).  A server can go silent
 * instead of refusing: powered off, a link or firewall that drops.  Then
 * connect_timeout bounds each host's connection attempt (libpq tries every
 * host of the URI in turn, and twice for prefer-standby), and on an open
 * connection TCP keepalives find the silence when idle and
 * tcp_user_timeout when a query is unanswered: 5 s, not the kernel's
 * quarter of an hour, so that a worker moves on to another server while
 * nginx still waits for its answer (fastcgi_read_timeout, 15 s).  Unix
 * sockets ignore the TCP ones.
 */
#define CONNECT_TIMEOUT	"2"		/* seconds, per host */
#define KEEPALIVES_IDLE	"5"		/* seconds idle before a probe */
#define KEEPALIVES_INTERVAL "2"		/* seconds between probes */
#define KEEPALIVES_COUNT "2"		/* probes lost: connection lost */
#define TCP_USER_TIMEOUT "5000"		/* ms a sent query may go unacked */
/*
 * A session left idle inside a transaction (a bootctl suspended with ^Z
 * or cut off in the middle of a change) ends after this, unless the role
 * or database sets a bound of its own: it would hold the writers' lock,
 * every done answered 503 meanwhile.  No client of bootd's waits for
 * anything but the server inside a transaction: bootctl asks for
 * confirmation and reads its input before it begins.
 */
#define IDLE_IN_TRANSACTION "30s"

/*
 * The server's statement_timeout: the deadline less this fraction of it,
 * 1/10 (pg_set_timeout()).
 */
#define STATEMENT_MARGIN 10

/* Cancel requests under way at once in a process (cancel()). */
#define CANCELS_MAX	4

struct pgstmt {
	char		 name[16];	/* "b<n>": n unique in the db */
	char		**vals;		/* [nparams], NULL for NULL */
	PGresult	*res;		/* of the run, NULL before */
	int		 row;		/* current row, -1 before the first */
	int		 nrows;
};

/*
 * Copy msg into buf as one line: newlines become "; ", trailing space
 * and the final newline go.
 */
static const char *
oneline(const char *msg, char *buf, size_t size)
{
	size_t n = 0;

	for (; *msg != '\0' && n + 3 < size; msg++) {
		if (*msg == '\n') {
			if (msg[1] == '\0')
				break;
			buf[n++] = ';';
			buf[n++] = ' ';
		} else if (*msg != '\r' && *msg != '\t') {
			buf[n++] = *msg;
		} else {
			buf[n++] = ' ';
		}
	}
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return buf;
}

/*
 * Copy libpq's message msg into buf as oneline() does, every password of
 * db's URI masked first (libpq may quote the URI, or a part of it): a
 * password cut at the end of buf, then masked, would show its beginning.
 */
static const char *
message(const struct db *db, const char *msg, char *buf, size_t size)
{
	char *copy;

	if ((copy = strdup(msg)) == NULL)
		return oneline("out of memory", buf, size);
	db_scrub(copy, db->where);
	oneline(copy, buf, size);
	free(copy);
	return buf;
}

/*
 * Record a failure: res (may be NULL) is the failed result; the class
 * comes from its SQLSTATE, or is DB_ERR_CONN when the connection is gone.
 */
static enum bootd_err
fail(struct db *db, PGresult *res, const char *what, struct bootd_error *err)
{
	const char *state = NULL, *msg = NULL, *severity = NULL, *file = NULL;
	enum db_errclass class = DB_ERR_OTHER;
	enum bootd_err code = BOOTD_EDB;
	char buf[200];

	if (res != NULL) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		severity = PQresultErrorField(res,
		    PG_DIAG_SEVERITY_NONLOCALIZED);
		file = PQresultErrorField(res, PG_DIAG_SOURCE_FILE);
	}
	if (msg == NULL)
		msg = PQerrorMessage(CONN(db));
	msg = message(db, msg, buf, sizeof(buf));
	if (*msg == '\0')
		msg = "out of memory";
	if (state == NULL)
		state = "";
	/*
	 * An error of libpq's own, without a SQLSTATE, on a connection made:
	 * the server went away.  Its status may still read CONNECTION_OK
	 * then (libpq 15 after "server closed the connection unexpectedly"
	 * once a server is killed, pg_ctl stop -m immediate or a crash):
	 * only the next call finds the connection bad.  So does a FATAL
	 * error, whatever its SQLSTATE: the server ends the session (40001
	 * for a recovery conflict that terminates it, not a busy one).
	 * And so is a session whose prepared statements no longer fit the
	 * schema: a migration changed a type they return, and the server
	 * refuses to run them again ("cached plan must not change result
	 * type", 0A000 from plancache.c); only a new session prepares them
	 * anew, so the handle is as good as lost and its user connects
	 * again (db_reconnect(), the worker's lost()).
	 */
	if (PQstatus(CONN(db)) == CONNECTION_BAD ||
	    (severity != NULL && (strcmp(severity, "FATAL") == 0 ||
	    strcmp(severity, "PANIC") == 0)) ||
	    (res != NULL && *state == '\0') ||
	    strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 ||
	    (strcmp(state, "0A000") == 0 && file != NULL &&
	    strcmp(file, "plancache.c") == 0)) {
		class = DB_ERR_CONN;		/* connection, shutdown */
	} else if (strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0) {
		class = DB_ERR_BUSY;	/* serialization, deadlock, lock */
		code = BOOTD_EBUSY;
	} else if (strcmp(state, "25006") == 0) {
		class = DB_ERR_READONLY;	/* read-only transaction */
	} else if (strcmp(state, "57014") == 0) {
		class = DB_ERR_CANCELLED;	/* statement_timeout */
	} else if (strncmp(state, "23", 2) == 0) {
		class = DB_ERR_CONSTRAINT;
		code = strcmp(state, "23505") == 0 ? BOOTD_EEXIST :
		    BOOTD_EINVAL;
	} else if (res == NULL || strcmp(state, "53200") == 0) {
		code = BOOTD_ENOMEM;	/* no result, or out of memory */
	}
	return db_fail(db, class, code, err, "%s: %s", what, msg);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static atomic_int cancels;	/* cancel() requests under way */

static void *
cancel_run(void *arg)
{
	char buf[256];

	PQcancel(arg, buf, sizeof(buf));	/* nobody to tell if it fails */
	PQfreeCancel(arg);
	atomic_fetch_sub(&cancels, 1);
	return NULL;
}

/*
 * Ask the server of c to cancel what c runs, without waiting: a stopped
 * backend then stops its statement when it runs again, and a COMMIT
 * waiting for a synchronous standby lets go of its locks (the advisory
 * lock of the inventory's writers among them).  The request is a
 * connection of its own to the postmaster, and PQcancel() waits for the
 * postmaster to close it, without a bound: a postmaster stopped with its
 * backends would hold the caller.  So it is sent by a detached thread,
 * with every signal blocked, at most CANCELS_MAX at a time in the process
 * (beyond that, or when a thread cannot be made, nothing is sent: the
 * backend ends when it finds its client gone).  Call it before PQfinish(c).
 */
static void
cancel(PGconn *c)
{
	PGcancel *cn;
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int made = 0;

	if (atomic_fetch_add(&cancels, 1) >= CANCELS_MAX ||
	    (cn = PQgetCancel(c)) == NULL) {
		atomic_fetch_sub(&cancels, 1);
		return;
	}
	sigfillset(&all);
	if (pthread_attr_init(&attr) == 0) {
		pthread_sigmask(SIG_SETMASK, &all, &old);
		made = pthread_attr_setdetachstate(&attr,
		    PTHREAD_CREATE_DETACHED) == 0 &&
		    pthread_create(&t, &attr, cancel_run, cn) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	if (!made) {
		PQfreeCancel(cn);
		atomic_fetch_sub(&cancels, 1);
	}
}

/*
 * Wait for the results of what was just sent on db's connection (sent:
 * what the PQsend* call returned) and return the last, or the first that
 * failed: *out, freed by the caller with PQclear().  Waits at most
 * db->deadline_ms (0: no bound).  Past it, or when the connection cannot
 * be waited on (poll(2) fails), the statement is cancelled and the
 * connection closed (db->conn NULL).  BOOTD_OK with *out set, else what
 * fail() or db_fail() say with *out NULL: DB_ERR_CONN when the connection
 * is lost or given up, BOOTD_ENOMEM when no result could be made.
 */
static enum bootd_err
await(struct db *db, int sent, const char *what, PGresult **out,
    struct bootd_error *err)
{
	PGconn *c = CONN(db);
	PGresult *res, *last = NULL;
	struct pollfd pfd;
	int64_t end = 0, left = -1;
	int flushed = 0, broken = !sent, gone = 0;
	char why[200];

	*out = NULL;
	if (db->deadline_ms > 0)
		end = mono_ms() + db->deadline_ms;
	for (;;) {
		if (!broken && (flushed = PQflush(c)) < 0)
			broken = 1;
		/*
		 * PQgetResult() waits, without a bound, while libpq is busy:
		 * it is called only when libpq is not, with a result in, or
		 * with the connection found broken and closed (its error
		 * result, then NULL, at once).
		 */
		if ((broken || flushed == 0) && !PQisBusy(c)) {
			if ((res = PQgetResult(c)) == NULL)
				break;
			if (last == NULL ||
			    PQresultStatus(last) != PGRES_FATAL_ERROR) {
				PQclear(last);
				last = res;
			} else {
				PQclear(res);
			}
			continue;
		}
		if (broken) {		/* but open: libpq would wait */
			if (*message(db, PQerrorMessage(c), why,
			    sizeof(why)) == '\0')
				snprintf(why, sizeof(why), "connection broken");
			gone = 1;
			break;
		}
		if (end > 0 && (left = end - mono_ms()) <= 0) {
			snprintf(why, sizeof(why), "no answer from the server "
			    "in %d ms", db->deadline_ms);
			gone = 1;
			break;
		}
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN | (flushed == 1 ? POLLOUT : 0);
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			snprintf(why, sizeof(why), "cannot wait for the "
			    "server: poll: %s", strerror(errno));
			gone = 1;
			break;
		}
		if ((pfd.revents & (POLLIN | POLLERR | POLLHUP)) != 0 &&
		    !PQconsumeInput(c))
			broken = 1;
		pfd.revents = 0;
	}
	if (gone) {			/* given up */
		PQclear(last);
		cancel(c);
		PQfinish(c);
		db->conn = NULL;
		return db_fail(db, DB_ERR_CONN, BOOTD_EDB, err, "%s: %s: "
		    "connection closed", what, why);
	}
	if (last == NULL)
		return fail(db, NULL, what, err);
	*out = last;
	return BOOTD_OK;
}

/*
 * Send sql (one statement or several) and await() its results; "what"
 * names it in errors.  On success *out (may be NULL: not wanted) gets
 * the last result, freed by the caller with PQclear().
 */
static enum bootd_err
query(struct db *db, const char *sql, const char *what, PGresult **out,
    struct bootd_error *err)
{
	PGresult *res;
	enum bootd_err rc;

	if (out != NULL)
		*out = NULL;
	if ((rc = await(db, PQsendQuery(CONN(db), sql), what, &res, err)) !=
	    BOOTD_OK)
		return rc;
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = fail(db, res, what, err);
		PQclear(res);
		return rc;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return BOOTD_OK;
}

/* Run sql and expect no rows; "what" names it in errors. */
static enum bootd_err
run(struct db *db, const char *sql, const char *what,
    struct bootd_error *err)
{
	return query(db, sql, what, NULL, err);
}

static void
no_notices(void *arg, const char *msg)
{
}

/*
 * The lock timeout, and the server's statement_timeout a tenth shorter
 * than the deadline (STATEMENT_MARGIN): a backstop that ends a statement
 * merely slow with an error and keeps the connection, or one whose
 * client is gone.  Equal, the two would race, and the client's deadline,
 * counted from before the send where the server's timeout starts with
 * the statement, would mostly win: the connection closed and made again
 * for every slow statement.  A tenth (150 ms of a lookup's 1.5 s) leaves
 * room for the round trip and the server's error to arrive first; the
 * deadline still bounds a server that does not answer at all, and a
 * COMMIT, which the server runs outside statement_timeout (a COMMIT
 * waiting for a synchronous standby).  Without a deadline, the
 * session's own statement_timeout (a role's or database's) stays.
 */
static enum bootd_err
pg_set_timeout(struct db *db, struct bootd_error *err)
{
	char sql[96], st[48];
	int d = db->deadline_ms;

	if (d > 0)
		snprintf(st, sizeof(st), "SET statement_timeout = %d",
		    d - d / STATEMENT_MARGIN);
	else
		snprintf(st, sizeof(st), "RESET statement_timeout");
	/* 0 would mean "wait forever" to PostgreSQL: 1 ms is "do not". */
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d; %s",
	    db->timeout_ms > 0 ? db->timeout_ms : 1, st);
	return run(db, sql, "set timeouts", err);
}

static enum bootd_err
pg_connect(struct db *db, struct bootd_error *err)
{
	/*
	 * Keywords are applied in order and the URI (dbname, expanded) may
	 * override those before it; client_encoding after it may not.
	 */
	const char *const keys[] = { "connect_timeout", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	    "fallback_application_name", "dbname", "client_encoding", NULL };
	const char *const vals[] = { CONNECT_TIMEOUT, KEEPALIVES_IDLE,
	    KEEPALIVES_INTERVAL, KEEPALIVES_COUNT, TCP_USER_TIMEOUT, "bootd",
	    db->where, "UTF8", NULL };
	enum bootd_err rc;
	PGresult *res;
	PGconn *c;
	char buf[200];

	if ((c = PQconnectdbParams(keys, vals, 1)) == NULL)
		return db_fail(db, DB_ERR_OTHER, BOOTD_ENOMEM, err,
		    "out of memory");
	if (PQstatus(c) != CONNECTION_OK) {
		message(db, PQerrorMessage(c), buf, sizeof(buf));
		rc = db_fail(db, DB_ERR_CONN, BOOTD_EDB, err, "cannot "
		    "connect to PostgreSQL: %s", buf);
		PQfinish(c);
		return rc;
	}
	PQsetNoticeProcessor(c, no_notices, NULL);
	if (PQsetnonblocking(c, 1) != 0) {
		PQfinish(c);
		return db_fail(db, DB_ERR_CONN, BOOTD_EDB, err, "cannot "
		    "connect to PostgreSQL: cannot make the connection "
		    "non-blocking");
	}
	db->conn = c;
	if (db->mode == DB_RDONLY && (rc = run(db,
	    "SET default_transaction_read_only = on",
	    "set connection options", err)) != BOOTD_OK)
		goto fail;
	if ((rc = run(db, "SELECT set_config("
	    "'idle_in_transaction_session_timeout', '" IDLE_IN_TRANSACTION
	    "', false) WHERE current_setting("
	    "'idle_in_transaction_session_timeout') = '0'",
	    "set connection options", err)) != BOOTD_OK)
		goto fail;
	/*
	 * Writes that are answered as done are on disk when the server says
	 * committed, whatever a role's or database's synchronous_commit:
	 * off, a common tuning, becomes on; local, remote_write, on and
	 * remote_apply stay as they are.
	 */
	if (db->mode != DB_RDONLY && (rc = run(db, "SELECT set_config("
	    "'synchronous_commit', 'on', false) WHERE current_setting("
	    "'synchronous_commit') = 'off'", "set connection options",
	    err)) != BOOTD_OK)
		goto fail;
	if ((rc = pg_set_timeout(db, err)) != BOOTD_OK)
		goto fail;
	/*
	 * Servers before PostgreSQL 14 do not report in_hot_standby: ask
	 * them once per connection.  One promoted later refuses no write:
	 * pg_begin() does, as on a standby, and the connection made again
	 * asks again.
	 */
	db->recovery = 0;
	if (PQparameterStatus(c, "in_hot_standby") == NULL) {
		if ((rc = query(db, "SELECT pg_is_in_recovery()",
		    "ask for recovery", &res, err)) != BOOTD_OK)
			goto fail;
		db->recovery = PQntuples(res) == 1 &&
		    strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
	}
	return BOOTD_OK;
fail:
	if (db->conn != NULL)		/* not given up by await() */
		PQfinish(c);
	db->conn = NULL;
	return rc;
}

static void
pg_disconnect(struct db *db)
{
	PQfinish(CONN(db));
	db->conn = NULL;
}

/*
 * The server reports in_hot_standby with every change (PostgreSQL 14 and
 * later); before, what it said at connect (pg_connect()).
 */
static int
pg_is_standby(const struct db *db)
{
	const char *v = PQparameterStatus(CONN(db), "in_hot_standby");

	if (v == NULL)
		return db->recovery;
	return strcmp(v, "on") == 0;
}

static int
pg_in_txn(const struct db *db)
{
	switch (PQtransactionStatus(CONN(db))) {
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
	case PQTRANS_ACTIVE:
		return 1;
	default:
		return 0;
	}
}

static enum bootd_err
pg_exec(struct db *db, const char *sql, struct bootd_error *err)
{
	return run(db, sql, "exec", err);
}

static enum bootd_err
pg_begin(struct db *db, enum db_txn txn, struct bootd_error *err)
{
	if (txn == DB_TXN_READ)
		return run(db, "BEGIN ISOLATION LEVEL REPEATABLE READ, "
		    "READ ONLY", "begin", err);
	/*
	 * A standby refuses SERIALIZABLE with "feature not supported";
	 * what matters to the caller is that writes need the primary.
	 */
	if (pg_is_standby(db))
		return db_fail(db, DB_ERR_READONLY, BOOTD_EDB, err, "begin: "
		    "the server is a hot standby: writes need the primary");
	return run(db, "BEGIN ISOLATION LEVEL SERIALIZABLE", "begin", err);
}

static enum bootd_err
pg_commit(struct db *db, struct bootd_error *err)
{
	/* COMMIT of a failed transaction rolls back without an error. */
	if (PQtransactionStatus(CONN(db)) == PQTRANS_INERROR) {
		run(db, "ROLLBACK", "rollback", NULL);
		return db_fail(db, DB_ERR_OTHER, BOOTD_EDB, err, "commit: a "
		    "statement of the transaction failed; rolled back");
	}
	return run(db, "COMMIT", "commit", err);
}

static enum bootd_err
pg_prepare(struct db_stmt *st, struct bootd_error *err)
{
	struct db *db = st->db;
	struct pgstmt *s;
	PGresult *res;
	enum bootd_err rc;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (st->nparams > 0 &&
	    (s->vals = calloc(st->nparams, sizeof(*s->vals))) == NULL)) {
		free(s);
		return db_fail(db, DB_ERR_OTHER, BOOTD_ENOMEM, err,
		    "out of memory");
	}
	snprintf(s->name, sizeof(s->name), "b%u", st->name);
	s->row = -1;
	if ((rc = await(db, PQsendPrepare(CONN(db), s->name, st->sql, 0,
	    NULL), "prepare", &res, err)) != BOOTD_OK ||
	    PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (res != NULL)
			rc = fail(db, res, "prepare", err);
		PQclear(res);
		free(s->vals);
		free(s);
		return rc;
	}
	PQclear(res);
	st->h = s;
	return BOOTD_OK;
}

static void
pg_reset(struct db_stmt *st)
{
	struct pgstmt *s = STMT(st);
	int i;

	PQclear(s->res);
	s->res = NULL;
	s->row = -1;
	s->nrows = 0;
	for (i = 0; i < st->nparams; i++) {
		free(s->vals[i]);
		s->vals[i] = NULL;
	}
}

static void
pg_unprepare(struct db_stmt *st, int server)
{
	struct pgstmt *s = STMT(st);
	char sql[32];

	pg_reset(st);
	if (server && PQstatus(CONN(st->db)) == CONNECTION_OK &&
	    PQtransactionStatus(CONN(st->db)) != PQTRANS_INERROR) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		run(st->db, sql, "deallocate", NULL);
	}
	free(s->vals);
	free(s);
	st->h = NULL;
}

static enum bootd_err
pg_bind_text(struct db_stmt *st, int i, const char *v,
    struct bootd_error *err)
{
	struct pgstmt *s = STMT(st);
	char *copy = NULL;

	if (v != NULL && (copy = strdup(v)) == NULL)
		return db_fail(st->db, DB_ERR_OTHER, BOOTD_ENOMEM, err,
		    "out of memory");
	free(s->vals[i - 1]);
	s->vals[i - 1] = copy;
	return BOOTD_OK;
}

static enum bootd_err
pg_bind_int64(struct db_stmt *st, int i, int64_t v, struct bootd_error *err)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	return pg_bind_text(st, i, num, err);
}

/*
 * Did res come from an INSERT, UPDATE, DELETE or MERGE?  (PQcmdTuples()
 * counts a SELECT's rows too.)
 */
static int
writes(PGresult *res)
{
	static const char *const tags[] = { "INSERT ", "UPDATE ", "DELETE ",
	    "MERGE " };
	const char *tag = PQcmdStatus(res);
	size_t i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strncmp(tag, tags[i], strlen(tags[i])) == 0)
			return 1;
	return 0;
}

static enum bootd_err
pg_step(struct db_stmt *st, int *row, struct bootd_error *err)
{
	struct pgstmt *s = STMT(st);
	PGresult *res;
	ExecStatusType status;
	enum bootd_err rc;

	if (s->res == NULL) {
		if ((rc = await(st->db, PQsendQueryPrepared(CONN(st->db),
		    s->name, st->nparams, (const char *const *)s->vals, NULL,
		    NULL, 0), "step", &res, err)) != BOOTD_OK)
			return rc;
		status = PQresultStatus(res);
		if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
			rc = fail(st->db, res, "step", err);
			PQclear(res);
			return rc;
		}
		s->res = res;
		s->row = -1;
		s->nrows = PQntuples(res);
		st->changes = writes(res) ? strtoll(PQcmdTuples(res), NULL,
		    10) : 0;
	}
	if (s->row < s->nrows)
		s->row++;
	*row = s->row < s->nrows;
	return BOOTD_OK;
}

static int
pg_column_count(struct db_stmt *st)
{
	struct pgstmt *s = STMT(st);

	if (s->res == NULL || s->row < 0 || s->row >= s->nrows)
		return 0;
	return PQnfields(s->res);
}

static int
pg_column_is_null(struct db_stmt *st, int i)
{
	return PQgetisnull(STMT(st)->res, STMT(st)->row, i);
}

static const char *
pg_column_text(struct db_stmt *st, int i)
{
	struct pgstmt *s = STMT(st);

	if (PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

static int64_t
pg_column_int64(struct db_stmt *st, int i)
{
	const char *v = pg_column_text(st, i);

	return v == NULL ? 0 : strtoll(v, NULL, 10);
}

const struct db_driver db_pg_driver = {
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.is_standby = pg_is_standby,
	.in_txn = pg_in_txn,
	.set_timeout = pg_set_timeout,
	.exec = pg_exec,
	.begin = pg_begin,
	.commit = pg_commit,
	.prepare = pg_prepare,
	.unprepare = pg_unprepare,
	.reset = pg_reset,
	.bind_text = pg_bind_text,
	.bind_int64 = pg_bind_int64,
	.step = pg_step,
	.column_count = pg_column_count,
	.column_is_null = pg_column_is_null,
	.column_text = pg_column_text,
	.column_int64 = pg_column_int64,
};
