/*
 * events.c - the events database: boot events, discovered MACs and when
 * each host's MACs last booted, in an SQLite file of their own or in the
 * schema "events" of the inventory's PostgreSQL database
 *
 * DESIGN.  Boot events live in their own file beside the inventory
 * (config "events_database", by default bootd.db -> bootd-events.db),
 * not in the inventory, for four reasons:
 *
 *  1. Readers of the inventory are never invalidated by event commits:
 *     SQLite's page cache and PRAGMA data_version change only when the
 *     inventory itself changes, so a worker's cached answer stays good
 *     through any number of recorded boots.
 *  2. Durability splits cleanly: the inventory runs synchronous=FULL
 *     (operator changes and an installer's "done" are durable once
 *     acknowledged); this file runs synchronous=NORMAL in WAL mode, so a
 *     commit costs no fsync and a power loss may lose the last batch of
 *     events, never an inventory change.
 *  3. A flood from the boot network grows only this file, and this file
 *     is capped: at most daemon.events_max boot events and
 *     daemon.discovered_max discovered MACs, the oldest going first, and
 *     a WAL truncated to EVENTS_WAL_LIMIT after each checkpoint.
 *  4. bootctl's write transactions on the inventory and the batch
 *     commits here never wait for each other's write lock.
 *
 * Caps without counting: the table "counts" holds the number of rows of
 * boot_event and discovered, so enforcing a cap after each batch is one
 * read of that row and, when over, one indexed delete of the oldest rows.
 * The functions here and in events_record.c keep it exact: each
 * transaction adds up what its statements inserted and deleted (struct
 * delta) and updates the row once, before its commit.  Schema version 1
 * had a trigger do it for every row instead: a quarter of the recorder's
 * instructions per event (44.6k against 33.3k, bench/profile, batches of
 * 128), so sql/events/002-counts-per-batch.sql dropped them.  Hence
 * nothing but these two files may write those two tables.  Boot events go
 * in record order (their id); discovered MACs by last seen (an index).
 * Every row removed that way is counted in struct events_stats (metric
 * bootd_events_evicted_total).
 *
 * events_record.c records a batch (events_record()): in runs of
 * different MACs, a few statements a run (record_rows() says why), in
 * one transaction that evicts what is over the caps (ev_evict()) and
 * updates the counts row (ev_add_counts()) before its commit.
 *
 * Known MACs get a row in "seen" (last seen, what was served): only MACs
 * that belonged to a host when they booted, so the boot network cannot
 * grow it.  A host's last seen time is the newest of its MACs'.
 * events_seen.c keeps those rows: written with each batch, or held and
 * written later by a sweep (SQLite), and read past the sweep's mark.
 * events_int.h is what the three files share.
 *
 * On PostgreSQL (events_database a URI) the events are the schema "events"
 * of the inventory's database, for the reasons given in
 * sql/postgresql/events/001-initial.sql; the connection's search_path is
 * "events", so the same statements find the same tables.  What differs: the
 * schema version is a row (events.schema_version), not PRAGMA user_version;
 * migrations wait for each other on an advisory lock; the SQLite file's
 * PRAGMAs, WAL checkpoints and legacy import do not exist there; writers run
 * in parallel, READ COMMITTED, and a batch that deadlocks with another is
 * done again (PG_TXN says why).  The statements are written once for both:
 * no two-argument max(), every column beside "excluded" named with its
 * table, no placeholder left unused.  Listings page by MAC in the database's
 * collation: canonical MACs (fixed width, hex digits and colons at the same
 * places) sort alike in every collation.  A lost connection or a read-only
 * server (a hot standby) makes a call fail as unavailable
 * (events_unavailable()); the caller opens a new handle later, never
 * db_reconnect() (which would lose the search_path).
 *
 * The events speak SQL through db.h, as the inventory does (inv.c): what is
 * SQLite's own is PRAGMAs, run as SQL, and the two calls of db_sqlite.h.
 * Statements are prepared once per handle, on first use, and reset after
 * each use, as in inv.c.  The schema is sql/events/NNN-*.sql, compiled in as
 * events_migrations[] and versioned with PRAGMA user_version, separately
 * from the inventory's.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "db_sqlite.h"
#include "events_int.h"
#include "migrations.h"

#define PAGE_ROWS	 256		/* rows per page of a listing */
/*
 * The WAL is cut back to EVENTS_WAL_LIMIT bytes whenever a checkpoint
 * empties it (PRAGMA journal_size_limit).  After a commit that leaves
 * WAL_CHECKPOINT_PAGES pages or more in it (4 MiB at 4 KiB pages), the
 * committing connection checkpoints it in RESTART mode
 * (db_sqlite_checkpoint_after()), so the WAL stays below about that plus
 * one transaction.
 */
#define EVENTS_WAL_LIMIT	(4L * 1024 * 1024)
#define WAL_CHECKPOINT_PAGES	1000

static const char *const sqltab[S__MAX] = {
	[S_COUNTS] = "SELECT events, discovered FROM counts",
	[S_COUNTS_ADD] = "UPDATE counts SET events = events + $1, "
	    "discovered = discovered + $2",
	[S_EVENT_EVICT] = "DELETE FROM boot_event WHERE id IN "
	    "(SELECT id FROM boot_event ORDER BY id LIMIT $1)",
	[S_DISC_EVICT] = "DELETE FROM discovered WHERE mac IN "
	    "(SELECT mac FROM discovered ORDER BY last_seen LIMIT $1)",
	[S_EVENT_PRUNE] = "DELETE FROM boot_event WHERE id IN "
	    "(SELECT id FROM boot_event WHERE time < $1 ORDER BY time "
	    "LIMIT $2)",
	[S_DISC_PRUNE] = "DELETE FROM discovered WHERE mac IN "
	    "(SELECT mac FROM discovered WHERE last_seen < $1 "
	    "ORDER BY last_seen LIMIT $2)",
	[S_SEEN_GET] = "SELECT last_seen, last_served FROM seen "
	    "WHERE mac = $1",
	[S_DISC_PAGE] = "SELECT mac, first_seen, last_seen, count, params, "
	    "addr FROM discovered WHERE mac > $1 ORDER BY mac LIMIT $2",
	[S_DISC_GET] = "SELECT mac, first_seen, last_seen, count, params, "
	    "addr FROM discovered WHERE mac = $1",
	/* A page of boot events by time, after ($1, $2), up to $3: the
	 * time index finds the start of each page. */
	[S_BOOT_PAGE] = "SELECT id, time, mac, host, served, params, addr "
	    "FROM boot_event WHERE time >= $1 AND time <= $3 "
	    "AND (time > $1 OR id > $2) ORDER BY time, id LIMIT $4",
	/*
	 * SQLite only, where "seen" is written later (events_defer_seen()):
	 * how far it is complete, and the newest event.
	 */
	[S_SEEN_UPTO] = "SELECT seen_upto, "
	    "(SELECT coalesce(max(id), 0) FROM boot_event) FROM counts",
	[S_SEEN_MARK] = "UPDATE counts SET seen_upto = $1 "
	    "WHERE seen_upto < $1",
	[S_SEEN_MARK_ALL] = "UPDATE counts SET seen_upto = "
	    "(SELECT coalesce(max(id), 0) FROM boot_event)",
	/* Known MACs' boots past the mark, each MAC's newest last. */
	[S_SEEN_TAIL] = "SELECT mac, time, served FROM boot_event "
	    "WHERE id > $1 AND host IS NOT NULL ORDER BY mac, time, id",
	/* What a recorder killed before writing it held: again, in order. */
	[S_SEEN_FOLD] = "SELECT mac, host, time, served FROM boot_event "
	    "WHERE id > $1 AND host IS NOT NULL ORDER BY id",
};

/*
 * Moving what an upgraded inventory set aside (events_import()).  "inv"
 * is the inventory, attached; $1 and $2 are the caps (-1: none).
 */
static const char *const import_sql[] = {
	"INSERT INTO main.boot_event (time, mac, host, served, params) "
	    "SELECT time, mac, host, served, params FROM "
	    "(SELECT * FROM inv.legacy_boot_event ORDER BY id DESC LIMIT $1) "
	    "ORDER BY id",
	"INSERT INTO main.discovered (mac, first_seen, last_seen, count, "
	    "params) SELECT mac, first_seen, last_seen, count, params FROM "
	    "(SELECT * FROM inv.legacy_discovered ORDER BY last_seen DESC "
	    "LIMIT $2) WHERE true ON CONFLICT (mac) DO UPDATE SET "
	    "first_seen = min(first_seen, excluded.first_seen), "
	    "last_seen = max(last_seen, excluded.last_seen), "
	    "count = max(count, excluded.count)",
	"INSERT INTO main.seen (mac, host, last_seen, last_served) "
	    "SELECT mac, host, last_seen, coalesce(last_served, 'unknown') "
	    "FROM inv.legacy_seen WHERE true ON CONFLICT (mac) DO UPDATE SET "
	    "host = excluded.host, last_seen = excluded.last_seen, "
	    "last_served = excluded.last_served "
	    "WHERE excluded.last_seen > seen.last_seen",
	"DROP TABLE inv.legacy_boot_event",
	"DROP TABLE inv.legacy_discovered",
	"DROP TABLE inv.legacy_seen",
};
/*
 * How the events' write transactions run on PostgreSQL, set right after
 * db_begin() (before any statement, so PostgreSQL takes it): READ
 * COMMITTED, not db.h's SERIALIZABLE.  Writers are several when bootd
 * runs on several sites, each recorder writing its batches to the one
 * primary, in parallel: every statement of a batch is right on its own
 * under READ COMMITTED (the upserts are atomic, the counts row is changed
 * by adding to it, an eviction deletes what is there and counts what it
 * deleted), while SERIALIZABLE failed one of two writers at once on the
 * counts row (test_events' two writers).  Two batches can still lock the
 * same rows in opposite orders (a MAC both saw, the oldest rows both
 * evict): one fails as a deadlock, and events_record() (events_record.c)
 * does it again, at most PG_TRIES times, rather than lose it.  One lock
 * for all writers would avoid that, but would make every site wait for
 * the others' whole batches, each a round trip per statement to a
 * primary that may be far away.  Commits are durable as any
 * (synchronous_commit stays on): with it off a crash of the server lost
 * the last batches, events that no counter would ever show as dropped;
 * the fsync is one per batch, not per event.
 */
#define PG_TXN	"SET TRANSACTION ISOLATION LEVEL READ COMMITTED"
/* Where the statements find the tables on PostgreSQL: schema "events". */
#define PG_SEARCH_PATH "SET search_path = events"
/* Migrations of the events schema wait for each other on this lock. */
#define PG_MIGRATE_LOCK "SELECT pg_advisory_xact_lock(" \
	"hashtext('bootd events schema'))"
#define RECOUNT "UPDATE main.counts SET " \
	"events = (SELECT count(*) FROM main.boot_event), " \
	"discovered = (SELECT count(*) FROM main.discovered)"
#define LEGACY_COUNT "SELECT count(*) FROM inv.sqlite_master " \
	"WHERE type = 'table' AND name IN ('legacy_boot_event', " \
	"'legacy_discovered', 'legacy_seen')"

/* Helpers ------------------------------------------------------------- */

/*
 * Quote a path or URI for a message, shortened to fit; a URI's password
 * shows as "***" (db_where_print()).
 */
static const char *
q(const char *s, char buf[QBUF])
{
	return db_where_print(s, buf, QBUF);
}

/*
 * Turn the last failure of a db.h call on ev (kept by ev_step(), exec_sql()
 * and the others in ev->dbrc and ev->dbe) into a bootd error: busy and
 * locked become BOOTD_EBUSY, constraint failures BOOTD_EINVAL, out of
 * memory BOOTD_ENOMEM, the rest BOOTD_EDB.  The text is "what: engine
 * message".
 */
enum bootd_err
ev_dberr(struct events *ev, const char *what, struct bootd_error *err)
{
	enum bootd_err code = ev->dbrc == BOOTD_EEXIST ? BOOTD_EINVAL :
	    ev->dbrc;

	return bootd_error_set(err, code, "%s: %s", what,
	    db_engine_msg(ev->dbe.text));
}

/*
 * Keep rc, the failure of a db.h call, for ev_dberr(), and its class for
 * events_unavailable() (later calls, a rollback say, change the handle's).
 */
static int
failed(struct events *ev, enum bootd_err rc)
{
	ev->dbrc = rc;
	ev->lastclass = db_errclass(ev->db);
	return -1;
}

/*
 * Step s to its next row: 1 when there is one, 0 when there are no more,
 * -1 on failure (ev_dberr() says which).
 */
int
ev_step(struct events *ev, struct db_stmt *s)
{
	enum bootd_err rc;
	int row;

	if ((rc = db_step(s, &row, &ev->dbe)) != BOOTD_OK)
		return failed(ev, rc);
	ev->lastclass = DB_ERR_NONE;	/* the server serves again */
	return row;
}

/* Run sql (no parameters, no rows): BOOTD_OK, or ev_dberr()'s failure. */
static enum bootd_err
exec_sql(struct events *ev, const char *sql)
{
	enum bootd_err rc;

	if ((rc = db_exec(ev->db, sql, &ev->dbe)) != BOOTD_OK)
		failed(ev, rc);
	return rc;
}

/*
 * Prepare sql for one use (not kept on the handle); NULL, with err
 * filled (what names it), when it cannot be prepared.
 */
static struct db_stmt *
prepare_once(struct events *ev, const char *sql, const char *what,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;

	if ((rc = db_prepare(ev->db, sql, &s, &ev->dbe)) != BOOTD_OK) {
		failed(ev, rc);
		ev_dberr(ev, what, err);
		return NULL;
	}
	return s;
}

/*
 * Return statement id of ev, prepared on first use, reset and with its
 * bindings cleared; NULL (with err filled) if it cannot be prepared.
 */
struct db_stmt *
ev_stmt(struct events *ev, enum stmt id, struct bootd_error *err)
{
	struct db_stmt *s;

	if ((s = ev->st[id]) == NULL) {
		if ((s = prepare_once(ev, sqltab[id], "prepare", err)) ==
		    NULL)
			return NULL;
		ev->st[id] = s;
		return s;
	}
	db_reset(s);
	return s;
}

/* Step s, which returns no row, and reset it.  what names it in errors. */
enum bootd_err
ev_run(struct events *ev, struct db_stmt *s, const char *what,
    struct bootd_error *err)
{
	enum bootd_err rc = BOOTD_OK;

	if (ev_step(ev, s) != 0)
		rc = ev_dberr(ev, what, err);
	db_reset(s);
	return rc;
}

enum bootd_err
ev_tx_begin(struct events *ev, struct bootd_error *err)
{
	enum bootd_err rc;

	if (ev->rdonly)
		return bootd_error_set(err, BOOTD_EPERM,
		    "events database %s is open read-only", ev->name);
	if ((rc = db_begin(ev->db, DB_TXN_WRITE, &ev->dbe)) != BOOTD_OK) {
		failed(ev, rc);
		return ev_dberr(ev, "begin transaction", err);
	}
	if (ev->pg && exec_sql(ev, PG_TXN) != BOOTD_OK) {
		rc = ev_dberr(ev, "begin transaction", err);
		db_rollback(ev->db, NULL);
		return rc;
	}
	return BOOTD_OK;
}

/*
 * End the transaction begun by ev_tx_begin(): commit when rc is BOOTD_OK,
 * else roll back.  Returns rc, or the commit's error.
 */
enum bootd_err
ev_tx_end(struct events *ev, enum bootd_err rc, struct bootd_error *err)
{
	enum bootd_err crc;

	/* No statement may stay active across the end of a transaction. */
	db_reset_active(ev->db);
	if (rc == BOOTD_OK &&
	    (crc = db_commit(ev->db, &ev->dbe)) != BOOTD_OK) {
		failed(ev, crc);
		rc = ev_dberr(ev, "commit", err);
	}
	/* Nothing to do when no transaction is open (db.h). */
	if (rc != BOOTD_OK)
		db_rollback(ev->db, NULL);
	return rc;
}

/* Open, close, schema ------------------------------------------------- */

int
events_schema_latest(void)
{
	if (events_nmigrations == 0)
		return 0;
	return events_migrations[events_nmigrations - 1].version;
}

/*
 * The migrations of ev's engine: sql/events/ for SQLite,
 * sql/postgresql/events/ for PostgreSQL (the same versions).
 */
static const struct migration *
migrations(const struct events *ev, int *n)
{
	*n = ev->pg ? pg_events_nmigrations : events_nmigrations;
	return ev->pg ? pg_events_migrations : events_migrations;
}

/* An integer from sql, one row and column, prepared for this one use. */
static enum bootd_err
read_int(struct events *ev, const char *sql, int *v, struct bootd_error *err)
{
	struct db_stmt *s;
	int row;

	if ((s = prepare_once(ev, sql, "read schema version", err)) == NULL)
		return ev->dbrc;
	if ((row = ev_step(ev, s)) > 0)
		*v = (int)db_column_int64(s, 0);
	db_finalize(s);
	if (row <= 0)
		return ev_dberr(ev, "read schema version", err);
	return BOOTD_OK;
}

/*
 * The schema version: SQLite's PRAGMA user_version; on PostgreSQL the
 * row of events.schema_version, 0 while there is no such table (no
 * schema "events" yet, as a new SQLite file is at 0).  Not cached: it
 * runs before and after a migration changes it.
 */
static enum bootd_err
read_version(struct events *ev, int *version, struct bootd_error *err)
{
	enum bootd_err rc;
	int exists = 0;

	if (!ev->pg)
		return read_int(ev, "PRAGMA user_version", version, err);
	/* Asked first: a statement naming a missing table fails. */
	if ((rc = read_int(ev, "SELECT CASE WHEN to_regclass("
	    "'events.schema_version') IS NULL THEN 0 ELSE 1 END", &exists,
	    err)) != BOOTD_OK)
		return rc;
	*version = 0;
	if (!exists)
		return BOOTD_OK;
	return read_int(ev, "SELECT version FROM events.schema_version",
	    version, err);
}

/*
 * Bring the schema to the latest version, in one transaction.  On
 * PostgreSQL the version is read under an advisory lock, in READ
 * COMMITTED so that the read sees what a migration that held the lock
 * before committed (bootd on several sites, bootctl init): each file
 * records its own version there.  SQLite's write lock does the same,
 * and the version is PRAGMA user_version.
 */
static enum bootd_err
migrate(struct events *ev, struct bootd_error *err)
{
	const struct migration *m;
	char sql[64];
	enum bootd_err rc;
	int i, n, v, latest = events_schema_latest();

	m = migrations(ev, &n);
	if ((rc = db_begin(ev->db, DB_TXN_WRITE, &ev->dbe)) != BOOTD_OK) {
		failed(ev, rc);
		return ev_dberr(ev, "begin migration", err);
	}
	if (ev->pg && (exec_sql(ev, "SET TRANSACTION ISOLATION LEVEL "
	    "READ COMMITTED") != BOOTD_OK || exec_sql(ev, PG_MIGRATE_LOCK) !=
	    BOOTD_OK)) {
		rc = ev_dberr(ev, "lock the events schema", err);
		goto fail;
	}
	/* Read again: another worker may have migrated meanwhile. */
	if ((rc = read_version(ev, &v, err)) != BOOTD_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		if (m[i].version <= v)
			continue;
		if (exec_sql(ev, m[i].sql) != BOOTD_OK) {
			rc = bootd_error_set(err, BOOTD_EDB,
			    "%s: events migration %s failed: %s", ev->name,
			    m[i].name, db_engine_msg(ev->dbe.text));
			goto fail;
		}
	}
	if (!ev->pg && v < latest) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", latest);
		if (exec_sql(ev, sql) != BOOTD_OK) {
			rc = ev_dberr(ev, "set schema version", err);
			goto fail;
		}
	}
	if ((rc = db_commit(ev->db, &ev->dbe)) != BOOTD_OK) {
		failed(ev, rc);
		rc = ev_dberr(ev, "commit migration", err);
		goto fail;
	}
	return BOOTD_OK;
fail:
	db_rollback(ev->db, NULL);
	return rc;
}

/*
 * Create the file if it does not exist yet, mode EVENTS_FILE_MODE
 * whatever the umask; an existing file is left as it is; a symbolic link
 * is not followed.
 */
static enum bootd_err
create_file(const char *path, struct bootd_error *err)
{
	char qp[QBUF];
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    EVENTS_FILE_MODE);
	if (fd == -1) {
		if (errno == EEXIST)
			return BOOTD_OK;
		return bootd_error_set(err, BOOTD_ESYS, "cannot create events "
		    "database \"%s\": %s", q(path, qp), strerror(errno));
	}
	if (fchmod(fd, EVENTS_FILE_MODE) == -1) {
		close(fd);
		return bootd_error_set(err, BOOTD_ESYS, "cannot set the mode "
		    "of events database \"%s\": %s", q(path, qp),
		    strerror(errno));
	}
	close(fd);
	return BOOTD_OK;
}

/*
 * Open path, a file or a PostgreSQL URI (read-only when rdonly), read
 * its schema version into *v and refuse a newer one.  On failure *out is
 * NULL.
 */
static enum bootd_err
open_db(const char *path, int rdonly, struct events **out, int *v,
    struct bootd_error *err)
{
	struct events *ev;
	enum bootd_err rc;

	*out = NULL;
	if ((ev = calloc(1, sizeof(*ev))) == NULL ||
	    (ev->path = strdup(path)) == NULL) {
		free(ev);
		return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
	}
	ev->rdonly = rdonly;
	ev->pg = db_is_uri(path);
	q(path, ev->name);
	/*
	 * SQLite: busy timeout 5 s, extended codes, foreign keys on;
	 * PostgreSQL: connect_timeout 2 s a host unless the URI sets it
	 * (db_pg.c pg_connect()).
	 */
	if ((rc = db_open(path, rdonly ? DB_RDONLY : DB_RDWR, &ev->db,
	    &ev->dbe)) != BOOTD_OK) {
		rc = bootd_error_set(err, rc == BOOTD_ENOMEM ? rc : BOOTD_EDB,
		    "cannot open events database \"%s\": %s", ev->name,
		    db_open_reason(ev->dbe.text, path));
		goto fail;
	}
	/*
	 * PostgreSQL: the statements name the tables without a schema, as
	 * on SQLite, and find them in "events", the one schema on the
	 * path.  A setting of this connection: events.c never calls
	 * db_reconnect(), which would open one without it; after a lost
	 * connection the caller opens a new handle (events_unavailable()).
	 */
	if (ev->pg && exec_sql(ev, PG_SEARCH_PATH) != BOOTD_OK) {
		rc = ev_dberr(ev, "set connection options", err);
		goto fail;
	}
	/*
	 * Keep -wal and -shm when the last connection closes, as the
	 * inventory does: bootd (the service user) makes them, and a setgid
	 * bootctl never creates them for its caller (dbdir.h).
	 */
	if (!ev->pg)
		db_sqlite_persist_wal(ev->db, "main", NULL);
	/* The first real read tells a database from any other file. */
	if (read_version(ev, v, NULL) != BOOTD_OK) {
		rc = db_errclass(ev->db) == DB_ERR_BUSY ? BOOTD_EBUSY :
		    BOOTD_EDB;
		bootd_error_set(err, rc, "\"%s\" is not a usable bootd events "
		    "database: %s", ev->name, db_engine_msg(ev->dbe.text));
		goto fail;
	}
	if (*v > events_schema_latest()) {
		rc = bootd_error_set(err, BOOTD_EVERSION, "events database "
		    "schema version %d is newer than this bootd (%d); upgrade "
		    "bootd", *v, events_schema_latest());
		goto fail;
	}
	/* Temporary tables in memory: bootctl runs setgid. */
	if (!ev->pg && exec_sql(ev, "PRAGMA temp_store = MEMORY") !=
	    BOOTD_OK) {
		rc = ev_dberr(ev, "set connection options", err);
		goto fail;
	}
	*out = ev;
	return BOOTD_OK;
fail:
	events_close(ev);
	return rc;
}

enum bootd_err
events_open(const char *path, int create, struct events **out,
    struct bootd_error *err)
{
	struct events *ev;
	enum bootd_err rc;
	char sql[160];
	int v;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no events database path given");
	if (!db_is_uri(path) && create &&
	    (rc = create_file(path, err)) != BOOTD_OK)
		return rc;
	if ((rc = open_db(path, 0, &ev, &v, err)) !=
	    BOOTD_OK)
		return rc;
	if (ev->pg) {
		/* A database without the schema is a missing file. */
		if (v == 0 && !create) {
			rc = bootd_error_set(err, BOOTD_EDB, "database \"%s\" "
			    "has no schema \"events\"", ev->name);
			goto fail;
		}
		/*
		 * Shared by every site's recorder: only bootctl init
		 * (create) upgrades it, never one site's newer bootd under
		 * the others'.
		 */
		if (v < events_schema_latest() && !create) {
			rc = bootd_error_set(err, BOOTD_EDB, "events schema "
			    "version %d is older than this bootd (%d): upgrade "
			    "it with \"bootctl init\"", v,
			    events_schema_latest());
			goto fail;
		}
		goto migrate;
	}
	/*
	 * WAL: readers (bootctl, metrics) go on while bootd writes.  NORMAL:
	 * a commit costs no fsync; a power loss may lose the last commits
	 * (the events of the last moments), never corrupt the file.  The
	 * WAL is checkpointed after commits that leave WAL_CHECKPOINT_PAGES
	 * in it (db_sqlite_checkpoint_after()) and cut back to
	 * EVENTS_WAL_LIMIT bytes when a checkpoint empties it.
	 */
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = %ld",
	    EVENTS_WAL_LIMIT);
	if (exec_sql(ev, sql) != BOOTD_OK) {
		rc = ev_dberr(ev, "set connection options", err);
		goto fail;
	}
	db_sqlite_checkpoint_after(ev->db, WAL_CHECKPOINT_PAGES, NULL);
migrate:
	if (v < events_schema_latest() && (rc = migrate(ev, err)) != BOOTD_OK)
		goto fail;
	*out = ev;
	return BOOTD_OK;
fail:
	events_close(ev);
	return rc;
}

enum bootd_err
events_open_readonly(const char *path, struct events **out,
    struct bootd_error *err)
{
	struct events *ev;
	struct stat sb;
	enum bootd_err rc;
	char qp[QBUF];
	int v, tables = 0;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no events database path given");
	if (!db_is_uri(path) && stat(path, &sb) == -1) {
		if (errno == ENOENT)
			return bootd_error_set(err, BOOTD_ENOTFOUND, "no events "
			    "database \"%s\" yet", q(path, qp));
		return bootd_error_set(err, BOOTD_ESYS, "events database "
		    "\"%s\": %s", q(path, qp), strerror(errno));
	}
	if ((rc = open_db(path, 1, &ev, &v, err)) !=
	    BOOTD_OK)
		return rc;
	/*
	 * No schema yet is no file yet: on PostgreSQL, and on SQLite an
	 * empty file, which the recorder has just made and not yet migrated
	 * (a worker asked for the metrics in that moment, and logged an
	 * error).  A file of version 0 with tables is not bootd's: older.
	 */
	if (v == 0 && !ev->pg && read_int(ev, "SELECT count(*) FROM "
	    "sqlite_master", &tables, err) != BOOTD_OK) {
		events_close(ev);
		return BOOTD_EDB;
	}
	if (v == 0 && (ev->pg || tables == 0)) {
		rc = bootd_error_set(err, BOOTD_ENOTFOUND, "no events schema "
		    "in database \"%s\" yet", ev->name);
		events_close(ev);
		return rc;
	}
	if (v < events_schema_latest()) {
		rc = bootd_error_set(err, BOOTD_EDB, "events database \"%s\" "
		    "has schema version %d, older than this bootd (%d); bootd "
		    "upgrades it when it starts", ev->name, v,
		    events_schema_latest());
		events_close(ev);
		return rc;
	}
	*out = ev;
	return BOOTD_OK;
}

void
events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	db_close(ev->db);	/* and every statement of ev->st */
	free(ev->tail);
	seen_held_free(&ev->held);
	seen_held_free(&ev->sweep);
	free(ev->order);
	free(ev->order_tmp);
	free(ev->path);
	free(ev);
}

void
events_set_busy_timeout(struct events *ev, int ms)
{
	db_set_timeout(ev->db, ms, NULL);
}

void
events_set_pause(struct events *ev, void (*pause)(void *), void *arg)
{
	ev->pause = pause;
	ev->pause_arg = arg;
}

void
events_set_deadline(struct events *ev, int ms)
{
	db_set_deadline(ev->db, ms, NULL);
}

int
events_unavailable(const struct events *ev)
{
	return ev != NULL && (ev->lastclass == DB_ERR_CONN ||
	    ev->lastclass == DB_ERR_READONLY ||
	    ev->lastclass == DB_ERR_CANCELLED);
}

char *
events_default_path(const char *database)
{
	static const char suffix[] = "-events.db";
	const char *base;
	size_t n;
	char *p;

	if (database == NULL)
		return NULL;
	/* The events live in the same PostgreSQL database. */
	if (db_is_uri(database))
		return strdup(database);
	n = strlen(database);
	base = strrchr(database, '/');
	base = base != NULL ? base + 1 : database;
	/* "x.db" -> "x-events.db"; a basename of only ".db" is kept. */
	if (n >= 3 && strcmp(database + n - 3, ".db") == 0 &&
	    database + n - 3 > base)
		n -= 3;
	if ((p = malloc(n + sizeof(suffix))) == NULL)
		return NULL;
	memcpy(p, database, n);
	memcpy(p + n, suffix, sizeof(suffix));
	return p;
}

/* Writing ------------------------------------------------------------- */

/* Read the row counts into *events and *discovered (0 on failure). */
static enum bootd_err
read_counts(struct events *ev, int64_t *events, int64_t *discovered,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc = BOOTD_OK;

	*events = *discovered = 0;
	if ((s = ev_stmt(ev, S_COUNTS, err)) == NULL)
		return BOOTD_EDB;
	if (ev_step(ev, s) > 0) {
		*events = db_column_int64(s, 0);
		*discovered = db_column_int64(s, 1);
	} else
		rc = ev_dberr(ev, "count events", err);
	db_reset(s);
	return rc;
}

/* Add d to the counts row.  Inside the transaction that made d. */
enum bootd_err
ev_add_counts(struct events *ev, const struct delta *d,
    struct bootd_error *err)
{
	struct db_stmt *s;

	if (d->events == 0 && d->discovered == 0)
		return BOOTD_OK;
	if ((s = ev_stmt(ev, S_COUNTS_ADD, err)) == NULL)
		return BOOTD_EDB;
	bind_int(s, 1, d->events);
	bind_int(s, 2, d->discovered);
	return ev_run(ev, s, "count boot events", err);
}

/*
 * Delete the oldest rows of each table over its cap in lim (0: none),
 * adding the number removed to *evicted.  d holds what the transaction
 * changed so far (the counts row does not have it yet); the rows
 * removed are taken off it.  Inside a transaction.
 */
enum bootd_err
ev_evict(struct events *ev, const struct events_limits *lim, struct delta *d,
    long *evicted, struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;
	int64_t nev, ndisc;

	if (lim == NULL || (lim->max_events <= 0 && lim->max_discovered <= 0))
		return BOOTD_OK;
	if ((rc = read_counts(ev, &nev, &ndisc, err)) != BOOTD_OK)
		return rc;
	nev += d->events;
	ndisc += d->discovered;
	if (lim->max_events > 0 && nev > lim->max_events) {
		if ((s = ev_stmt(ev, S_EVENT_EVICT, err)) == NULL)
			return BOOTD_EDB;
		bind_int(s, 1, nev - lim->max_events);
		if ((rc = ev_run(ev, s, "evict old boot events", err)) !=
		    BOOTD_OK)
			return rc;
		*evicted += db_changes(s);
		d->events -= db_changes(s);
	}
	if (lim->max_discovered > 0 && ndisc > lim->max_discovered) {
		if ((s = ev_stmt(ev, S_DISC_EVICT, err)) == NULL)
			return BOOTD_EDB;
		bind_int(s, 1, ndisc - lim->max_discovered);
		if ((rc = ev_run(ev, s, "evict old discovered MACs", err)) !=
		    BOOTD_OK)
			return rc;
		*evicted += db_changes(s);
		d->discovered -= db_changes(s);
	}
	return BOOTD_OK;
}

/*
 * The statement *sp, made on first use from head, rows rows of (cols
 * placeholders) and tail: record_rows()'s statements, whose number of
 * rows varies.  NULL with err filled when it cannot be prepared.
 */
struct db_stmt *
ev_rows_stmt(struct events *ev, struct db_stmt **sp, const char *head,
    int rows, int cols, const char *tail, struct bootd_error *err)
{
	char sql[4096];
	size_t len;
	int r, c, n = 0;

	if (*sp != NULL) {
		db_reset(*sp);
		return *sp;
	}
	len = (size_t)snprintf(sql, sizeof(sql), "%s", head);
	for (r = 0; r < rows && len < sizeof(sql); r++)
		for (c = 0; c < cols && len < sizeof(sql); c++)
			len += (size_t)snprintf(sql + len, sizeof(sql) - len,
			    "%s$%d%s", c > 0 ? ", " : r > 0 ? ", (" : "(",
			    ++n, c == cols - 1 ? ")" : "");
	if (len < sizeof(sql))
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s",
		    tail);
	if (len >= sizeof(sql)) {
		bootd_error_set(err, BOOTD_EDB, "prepare: a statement of %d "
		    "rows of %d values is longer than %zu bytes", rows, cols,
		    sizeof(sql) - 1);
		return NULL;
	}
	return *sp = prepare_once(ev, sql, "prepare", err);
}

enum bootd_err
events_prune(struct events *ev, int64_t before, long max, int64_t *deleted,
    struct bootd_error *err)
{
	struct db_stmt *s;
	struct delta d = { 0, 0 };
	enum bootd_err rc;
	int64_t n = 0;

	if (deleted != NULL)
		*deleted = 0;
	if (max <= 0)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "prune boot events: batch size must be positive");
	if ((rc = ev_tx_begin(ev, err)) != BOOTD_OK)
		return rc;
	if ((s = ev_stmt(ev, S_EVENT_PRUNE, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	bind_int(s, 1, before);
	bind_int(s, 2, max);
	if ((rc = ev_run(ev, s, "prune boot events", err)) != BOOTD_OK)
		goto out;
	d.events = -db_changes(s);
	if (d.events != 0 && (rc = seen_mark_pruned(ev, err)) != BOOTD_OK)
		goto out;
	if ((s = ev_stmt(ev, S_DISC_PRUNE, err)) == NULL) {
		rc = BOOTD_EDB;
		goto out;
	}
	bind_int(s, 1, before);
	bind_int(s, 2, max);
	if ((rc = ev_run(ev, s, "prune discovered MACs", err)) != BOOTD_OK)
		goto out;
	d.discovered = -db_changes(s);
	n = -(d.events + d.discovered);
	rc = ev_add_counts(ev, &d, err);
out:
	if ((rc = ev_tx_end(ev, rc, err)) == BOOTD_OK && deleted != NULL)
		*deleted = n;
	return rc;
}

/* Run one statement of events_import() with the caps bound. */
static enum bootd_err
import_step(struct events *ev, const char *sql, long max_events,
    long max_discovered, int64_t *moved, struct bootd_error *err)
{
	struct db_stmt *s;
	int64_t changes;
	int row;

	if ((s = prepare_once(ev, sql, "move old boot events", err)) == NULL)
		return ev->dbrc;
	/* The caps, where the statement has them ($1, $2). */
	if (strstr(sql, "$1") != NULL)
		bind_int(s, 1, max_events > 0 ? max_events : -1);
	if (strstr(sql, "$2") != NULL)
		bind_int(s, 2, max_discovered > 0 ? max_discovered : -1);
	row = ev_step(ev, s);
	changes = db_changes(s);
	db_finalize(s);
	if (row != 0)
		return ev_dberr(ev, "move old boot events", err);
	/* Rows moved: those the INSERTs wrote, not the DROPs' count. */
	if (strncmp(sql, "INSERT", 6) == 0)
		*moved += changes;
	return BOOTD_OK;
}

/* The number of legacy_* tables in the attached inventory, or -1. */
static int
legacy_tables(struct events *ev)
{
	struct db_stmt *s;
	int n = -1;

	if ((s = prepare_once(ev, LEGACY_COUNT, "read inventory schema",
	    NULL)) == NULL)
		return -1;
	if (ev_step(ev, s) > 0)
		n = db_column_int64(s, 0);
	db_finalize(s);
	return n;
}

enum bootd_err
events_import(struct events *ev, const char *inventory_path,
    const struct events_limits *lim, int64_t *moved, struct bootd_error *err)
{
	struct db_stmt *s;
	struct delta none = { 0, 0 };
	enum bootd_err rc = BOOTD_OK;
	int64_t n = 0;
	long evicted = 0;
	size_t i;
	int found;

	if (moved != NULL)
		*moved = 0;
	if (ev->rdonly)
		return bootd_error_set(err, BOOTD_EPERM,
		    "events database %s is open read-only", ev->name);
	/* Nothing to move: a PostgreSQL inventory never had events. */
	if (ev->pg)
		return BOOTD_OK;
	if ((s = prepare_once(ev, "ATTACH DATABASE $1 AS inv",
	    "attach inventory", err)) == NULL)
		return ev->dbrc;
	bind_text(s, 1, inventory_path);
	if (ev_step(ev, s) != 0) {
		rc = ev_dberr(ev, "attach inventory", err);
		db_finalize(s);
		return rc;
	}
	db_finalize(s);
	/* As every inventory connection: keep its -wal and -shm (dbdir.h). */
	db_sqlite_persist_wal(ev->db, "inv", NULL);
	/*
	 * And its durability, whatever this file's: the move drops the
	 * inventory's legacy tables, a change to it like any other.
	 */
	if (exec_sql(ev, "PRAGMA inv.synchronous = FULL") != BOOTD_OK) {
		rc = ev_dberr(ev, "set the inventory's durability", err);
		goto detach;
	}

	/* Cheap test first: after the move there is nothing to lock. */
	if ((found = legacy_tables(ev)) == 0)
		goto detach;
	/*
	 * BEGIN IMMEDIATE takes the write lock of both files: prepared here,
	 * after the ATTACH, so that it names both.
	 */
	if ((rc = db_begin(ev->db, DB_TXN_WRITE, &ev->dbe)) != BOOTD_OK) {
		failed(ev, rc);
		rc = ev_dberr(ev, "lock inventory and events database", err);
		goto detach;
	}
	/* Look again under the lock: another worker may have moved it. */
	if ((found = legacy_tables(ev)) < 0)
		rc = ev_dberr(ev, "read inventory schema", err);
	else if (found > 0 && found < 3)
		rc = bootd_error_set(err, BOOTD_EDB, "inventory %s has only "
		    "some of the legacy_* tables of boot events", inventory_path);
	for (i = 0; found == 3 && rc == BOOTD_OK &&
	    i < sizeof(import_sql) / sizeof(import_sql[0]); i++)
		rc = import_step(ev, import_sql[i], lim != NULL ?
		    lim->max_events : 0, lim != NULL ? lim->max_discovered : 0,
		    &n, err);
	/*
	 * The counts, taken again from the tables: a move is rare, and its
	 * upserts do not say what they inserted.
	 */
	if (found == 3 && rc == BOOTD_OK && exec_sql(ev, RECOUNT) != BOOTD_OK)
		rc = ev_dberr(ev, "count boot events", err);
	if (rc == BOOTD_OK)
		rc = ev_evict(ev, lim, &none, &evicted, err);
	/*
	 * In WAL mode a commit spanning two files is atomic per file only:
	 * SQLite commits this file first, so a crash in between leaves the
	 * rows here and the legacy tables there, and the next call copies
	 * them once more (events duplicated, discovered MACs and last seen
	 * times merge).  Nothing is lost.
	 */
	rc = ev_tx_end(ev, rc, err);
detach:
	exec_sql(ev, "DETACH DATABASE inv");
	if (rc == BOOTD_OK && moved != NULL)
		*moved = n;
	return rc;
}

enum bootd_err
events_discovered_each(struct events *ev, long limit,
    int (*fn)(const struct events_discovered *, void *), void *arg,
    struct bootd_error *err)
{
	struct events_discovered d;
	struct db_stmt *s;
	char last[MAC_STRLEN + 1] = "";
	const char *mac;
	long total = 0, rows, want;
	int src;

	for (;;) {
		want = PAGE_ROWS;
		if (limit > 0 && limit - total < want)
			want = limit - total;
		if (want <= 0)
			return BOOTD_OK;
		if ((s = ev_stmt(ev, S_DISC_PAGE, err)) == NULL)
			return BOOTD_EDB;
		/* Bound by value: last changes while the page is read. */
		bind_text(s, 1, last);
		bind_int(s, 2, want);
		rows = 0;
		while ((src = ev_step(ev, s)) > 0) {
			mac = db_column_text(s, 0);
			if (mac == NULL)
				continue;
			memset(&d, 0, sizeof(d));
			d.mac = mac;
			d.first_seen = db_column_int64(s, 1);
			d.last_seen = db_column_int64(s, 2);
			d.count = db_column_int64(s, 3);
			d.params = db_column_text(s, 4);
			d.addr = db_column_text(s, 5);
			snprintf(last, sizeof(last), "%s", mac);
			rows++;
			total++;
			if (fn(&d, arg) != 0) {
				db_reset(s);
				return BOOTD_OK;
			}
		}
		if (src < 0) {
			db_reset(s);
			return ev_dberr(ev, "list discovered MACs", err);
		}
		/* Reset ends the page's read transaction. */
		db_reset(s);
		if (rows < want)
			return BOOTD_OK;
	}
}

/* Fill d from a row of S_DISC_PAGE or S_DISC_GET; 0, or -1 for no MAC. */
static int
disc_row(struct db_stmt *s, struct events_discovered *d)
{
	memset(d, 0, sizeof(*d));
	if ((d->mac = db_column_text(s, 0)) == NULL)
		return -1;
	d->first_seen = db_column_int64(s, 1);
	d->last_seen = db_column_int64(s, 2);
	d->count = db_column_int64(s, 3);
	d->params = db_column_text(s, 4);
	d->addr = db_column_text(s, 5);
	return 0;
}

enum bootd_err
events_discovered_get(struct events *ev, const char *mac,
    int (*fn)(const struct events_discovered *, void *), void *arg,
    struct bootd_error *err)
{
	struct events_discovered d;
	struct db_stmt *s;
	enum bootd_err rc = BOOTD_OK;
	int src;

	if ((s = ev_stmt(ev, S_DISC_GET, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, mac);
	if ((src = ev_step(ev, s)) > 0 && disc_row(s, &d) == 0)
		fn(&d, arg);
	else if (src >= 0)
		rc = bootd_error_set(err, BOOTD_ENOTFOUND, "MAC %s is not in "
		    "the discovered list", mac);
	else
		rc = ev_dberr(ev, "read discovered MAC", err);
	db_reset(s);
	return rc;
}

enum bootd_err
events_boots_each(struct events *ev, int64_t since, int64_t until,
    int (*fn)(const struct events_event *, void *), void *arg,
    struct bootd_error *err)
{
	struct events_event e;
	struct db_stmt *s;
	int64_t last_time = since, last_id = -1;
	long rows;
	int src;

	if (until <= 0)
		until = INT64_MAX;
	for (;;) {
		if ((s = ev_stmt(ev, S_BOOT_PAGE, err)) == NULL)
			return BOOTD_EDB;
		bind_int(s, 1, last_time);
		bind_int(s, 2, last_id);
		bind_int(s, 3, until);
		bind_int(s, 4, PAGE_ROWS);
		rows = 0;
		while ((src = ev_step(ev, s)) > 0) {
			rows++;
			last_id = db_column_int64(s, 0);
			last_time = db_column_int64(s, 1);
			memset(&e, 0, sizeof(e));
			e.time = last_time;
			e.mac = db_column_text(s, 2);
			e.fqdn = db_column_text(s, 3);
			e.served = db_column_text(s, 4);
			e.params = db_column_text(s, 5);
			e.addr = db_column_text(s, 6);
			if (e.mac == NULL || e.served == NULL)
				continue;
			if (fn(&e, arg) != 0) {
				db_reset(s);
				return BOOTD_OK;
			}
		}
		if (src < 0) {
			db_reset(s);
			return ev_dberr(ev, "list boot events", err);
		}
		/* Reset ends the page's read transaction. */
		db_reset(s);
		if (rows < PAGE_ROWS)
			return BOOTD_OK;
	}
}

enum bootd_err
events_counts(struct events *ev, struct events_counts *c,
    struct bootd_error *err)
{
	memset(c, 0, sizeof(*c));
	return read_counts(ev, &c->events, &c->discovered, err);
}
