/*
 * test_events.c - the events database, on real files under /tmp and,
 * when BOOTD_TEST_PG holds a PostgreSQL URI, in the schema "events" of
 * that database instead (made empty before each case):
 *
 *   python3 tests/pg.py exec --standby -- build/tests/test_events
 *
 * (CTest test_events_pg).  Also from pg.py: BOOTD_TEST_PG_RESTART, a
 * shell command that restarts the server (a lost connection), and
 * BOOTD_TEST_PG_STANDBY, a hot standby's URI (a read-only server).
 * Exits 77 (skipped) when given a URI and built without PostgreSQL.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "buf.h"
#include "check_util.h"
#include "db.h"
#include "events.h"
#include "inv.h"
#include "migrations.h"

static char		 dir[64];
static char		 evpath[128];
static char		 invpath[128];
static const char	*pg;		/* BOOTD_TEST_PG, or NULL: SQLite */
static const char	*where;		/* of the events: evpath, or pg */
static struct events	*ev;

/* Fixture -------------------------------------------------------------- */

static void	sql_exec(const char *sql);
static void	counts_exact(const char *when);
static int	exec_at(const char *path, const char *sql);

/* PostgreSQL: no schema "events" left, as no file on SQLite. */
static void
drop_schema(void)
{
	sql_exec("DROP SCHEMA IF EXISTS events CASCADE");
}

static void
setup(void)
{
	struct bootd_error err = { "" };

	snprintf(dir, sizeof(dir), "/tmp/bootd-test-events-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(evpath, sizeof(evpath), "%s/bootd-events.db", dir);
	snprintf(invpath, sizeof(invpath), "%s/bootd.db", dir);
	where = pg != NULL ? pg : evpath;
	if (pg != NULL)
		drop_schema();
	ck_assert_msg(events_open(where, 1, &ev, &err) == BOOTD_OK, "%s",
	    err.text);
}

static void
teardown(void)
{
	events_close(ev);
	ev = NULL;
	rm_db(evpath);
	rm_db(invpath);
	rmdir(dir);
}

/* Helpers -------------------------------------------------------------- */

/* One integer from a query on the file at path. */
static long long
int_at(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/*
 * A connection of the test's own to the events, through db.h: the file,
 * or the database with search_path "events" (the statements name no
 * schema, as events.c's).
 */
static struct db *
test_db(void)
{
	struct bootd_error err = { "" };
	struct db *db;

	ck_assert_msg(db_open(where, DB_RDWR, &db, &err) == BOOTD_OK, "%s",
	    err.text);
	if (pg != NULL)
		ck_assert_msg(db_exec(db, "SET search_path = events", &err) ==
		    BOOTD_OK, "%s", err.text);
	return db;
}

/* One integer from a query on the events, -1 when there is no row. */
static long long
sql_int(const char *sql)
{
	struct bootd_error err = { "" };
	struct db *db = test_db();
	struct db_stmt *s;
	long long v = -1;
	int row;

	ck_assert_msg(db_prepare(db, sql, &s, &err) == BOOTD_OK, "%s: %s", sql,
	    err.text);
	ck_assert_msg(db_step(s, &row, &err) == BOOTD_OK, "%s: %s", sql,
	    err.text);
	if (row)
		v = db_column_int64(s, 0);
	db_close(db);
	return v;
}

/* Run sql (statements without rows) on the events; it must succeed. */
static void
sql_exec(const char *sql)
{
	struct bootd_error err = { "" };
	struct db *db = test_db();

	ck_assert_msg(db_exec(db, sql, &err) == BOOTD_OK, "%s: %s", sql,
	    err.text);
	db_close(db);
}

/* The schema version, as the engine keeps it. */
static long long
schema_version(void)
{
	return sql_int(pg != NULL ? "SELECT version FROM schema_version" :
	    "PRAGMA user_version");
}

/* Set the schema version, as the engine keeps it. */
static void
set_schema_version(int v)
{
	char sql[80];

	snprintf(sql, sizeof(sql), pg != NULL ? "UPDATE schema_version SET "
	    "version = %d" : "PRAGMA user_version = %d", v);
	sql_exec(sql);
}

/* Triggers on the events' tables. */
static long long
triggers(void)
{
	return sql_int(pg != NULL ? "SELECT count(*) FROM pg_trigger t "
	    "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON "
	    "n.oid = c.relnamespace WHERE n.nspname = 'events' AND NOT "
	    "t.tgisinternal" : "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'trigger'");
}

/*
 * Make the events at schema version 1 only, as an older bootd left
 * them: the first migration of the engine, as compiled in.  ev closed.
 */
static void
make_v1(void)
{
	events_close(ev);
	ev = NULL;
	if (pg != NULL) {
		drop_schema();
		sql_exec(pg_events_migrations[0].sql);
	} else {
		rm_db(evpath);
		ck_assert_int_eq(exec_at(evpath, events_migrations[0].sql),
		    SQLITE_OK);
		ck_assert_int_eq(exec_at(evpath, "PRAGMA user_version = 1"),
		    SQLITE_OK);
	}
	ck_assert_int_eq(schema_version(), 1);
}

static int
exec_at(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static struct events_event
boot(const char *mac, const char *fqdn, int64_t t)
{
	struct events_event e = { mac, fqdn, fqdn != NULL ? "local" :
	    "unknown", "platform=efi", "127.0.0.1", t };

	return e;
}

static void
record1(const char *mac, const char *fqdn, int64_t t,
    const struct events_limits *lim, long *evicted)
{
	struct events_event e = boot(mac, fqdn, t);
	struct events_stats st;

	OK(events_record(ev, &e, 1, lim, &st, &err_));
	ck_assert_int_eq(st.written, 1);
	if (evicted != NULL)
		*evicted += st.evicted;
}

static int
disc_cb(const struct events_discovered *d, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s:%lld:%lld:%lld:%s:%s,", d->mac,
	    (long long)d->first_seen, (long long)d->last_seen,
	    (long long)d->count, d->params != NULL ? d->params : "-",
	    d->addr != NULL ? d->addr : "-");
	return 0;
}

/* The discovered MACs, in order, "mac,mac,". */
static char *
disc_macs(void)
{
	struct bootd_error err = { "" };
	struct buf b = { 0 };
	struct db *db = test_db();
	struct db_stmt *s;
	int row;

	ck_assert_int_eq(db_prepare(db, "SELECT mac FROM discovered "
	    "ORDER BY mac", &s, &err), BOOTD_OK);
	while (db_step(s, &row, &err) == BOOTD_OK && row)
		buf_printf(&b, "%s,", db_column_text(s, 0));
	db_close(db);
	buf_puts(&b, "");
	return b.data;
}

/* Core ----------------------------------------------------------------- */

START_TEST(test_open)
{
	struct events *e2;
	struct bootd_error err;
	struct stat sb;
	char other[160];

	ck_assert_int_eq(schema_version(), events_schema_latest());
	ck_assert_int_gt(events_schema_latest(), 0);
	/* Both engines' migrations end at the same version. */
	ck_assert_int_eq(pg_events_migrations[pg_events_nmigrations - 1].
	    version, events_schema_latest());

	/* Opening again neither migrates nor fails; read-only works. */
	OK(events_open(where, 0, &e2, &err_));
	events_close(e2);
	OK(events_open_readonly(where, &e2, &err_));
	events_close(e2);
	events_close(NULL);

	if (pg != NULL) {
		/* A database without the schema: a missing file. */
		events_close(ev);
		ev = NULL;
		drop_schema();
		ck_assert_int_eq(events_open_readonly(pg, &e2, &err),
		    BOOTD_ENOTFOUND);
		ck_assert_ptr_null(e2);
		ck_assert_int_eq(events_open(pg, 0, &e2, &err), BOOTD_EDB);
		ck_assert_ptr_nonnull(strstr(err.text, "no schema"));
		ck_assert_ptr_null(e2);
		ck_assert_int_eq(sql_int("SELECT count(*) FROM "
		    "pg_namespace WHERE nspname = 'events'"), 0);
		/* Created, and again by a second handle: nothing to do. */
		OK(events_open(pg, 1, &ev, &err_));
		OK(events_open(pg, 1, &e2, &err_));
		events_close(e2);
		ck_assert_int_eq(schema_version(), events_schema_latest());
		return;
	}
	ck_assert_int_eq(sql_int("SELECT count(*) FROM pragma_journal_mode "
	    "WHERE journal_mode = 'wal'"), 1);
	ck_assert_int_eq(stat(evpath, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, EVENTS_FILE_MODE);

	/* A missing file: created only when asked to. */
	snprintf(other, sizeof(other), "%s/missing.db", dir);
	ck_assert_int_ne(events_open(other, 0, &e2, &err), BOOTD_OK);
	ck_assert_ptr_null(e2);
	ck_assert_int_eq(events_open_readonly(other, &e2, &err),
	    BOOTD_ENOTFOUND);
	ck_assert_ptr_null(e2);
	ck_assert_int_eq(access(other, F_OK), -1);
}
END_TEST

START_TEST(test_default_path)
{
	static const struct {
		const char *db, *want;
	} v[] = {
		{ "/var/lib/bootd/db/bootd.db",
		    "/var/lib/bootd/db/bootd-events.db" },
		{ "inventory", "inventory-events.db" },
		{ "/srv/x.sqlite", "/srv/x.sqlite-events.db" },
		{ "/srv/.db", "/srv/.db-events.db" },
		{ "a.db.db", "a.db-events.db" },
		/* PostgreSQL: the schema "events" of the same database. */
		{ "postgresql://db1,db2/bootd?target_session_attrs=read-write",
		    "postgresql://db1,db2/bootd?target_session_attrs=read-write" },
	};
	char *p;
	size_t i;

	for (i = 0; i < N(v); i++) {
		p = events_default_path(v[i].db);
		ck_assert_str_eq(p, v[i].want);
		free(p);
	}
	ck_assert_ptr_null(events_default_path(NULL));
}
END_TEST

/* A batch is one transaction: rows, last seen, discovered list. */
START_TEST(test_record_batch)
{
	struct events_event evs[4] = {
		boot("52:54:00:00:00:01", "web1.example.org", NOW),
		boot("52:54:00:00:00:99", NULL, NOW + 5),
		boot("52:54:00:00:00:99", NULL, NOW + 9),
		boot("52:54:00:00:00:02", "web1.example.org", NOW + 3),
	};
	const char *macs[] = { "52:54:00:00:00:01", "52:54:00:00:00:02",
	    "52:54:00:00:00:03" };
	struct events_stats st;
	struct events_counts c;
	struct bootd_error err;
	struct buf b = { 0 };
	char served[32];
	int64_t seen;

	evs[2].params = NULL;
	evs[2].addr = "10.0.0.7";
	evs[3].served = "install";
	OK(events_record(ev, evs, N(evs), NULL, &st, &err_));
	ck_assert_int_eq(st.written, 4);
	ck_assert_int_eq(st.evicted, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 4);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event WHERE "
	    "addr = '127.0.0.1'"), 3);
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.events, 4);
	ck_assert_int_eq(c.discovered, 1);

	/* A host's last boot is the newest of its MACs'. */
	OK(events_seen(ev, macs, N(macs), &seen, served, sizeof(served),
	    &err_));
	ck_assert_int_eq(seen, NOW + 3);
	ck_assert_str_eq(served, "install");
	OK(events_seen(ev, macs + 2, 1, &seen, served, sizeof(served),
	    &err_));
	ck_assert_int_eq(seen, 0);
	ck_assert_str_eq(served, "");

	OK(events_discovered_each(ev, 0, disc_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "52:54:00:00:00:99:1700000005:"
	    "1700000009:2:-:10.0.0.7,");
	buf_free(&b);

	/* One bad event refuses the whole batch: nothing is stored. */
	evs[1].mac = "52-54-00-00-00-98";
	ck_assert_int_eq(events_record(ev, evs, N(evs), NULL, &st, &err),
	    BOOTD_EINVAL);
	ck_assert_int_eq(st.written, 0);
	ck_assert_ptr_nonnull(strstr(err.text, "canonical"));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 4);
	OK(events_record(ev, NULL, 0, NULL, NULL, &err_));
}
END_TEST

/* Every row of the events' tables, in a fixed order, as text. */
static char *
dump(void)
{
	static const char *const sql[] = {
		"SELECT id, time, mac, host, served, params, addr "
		    "FROM boot_event ORDER BY id",
		"SELECT mac, host, last_seen, last_served FROM seen "
		    "ORDER BY mac",
		"SELECT mac, first_seen, last_seen, count, params, addr "
		    "FROM discovered ORDER BY mac",
		"SELECT events, discovered FROM counts",
	};
	struct bootd_error err = { "" };
	struct buf b = { 0 };
	struct db *db = test_db();
	struct db_stmt *s;
	size_t i;
	int c, row;

	for (i = 0; i < N(sql); i++) {
		ck_assert_int_eq(db_prepare(db, sql[i], &s, &err), BOOTD_OK);
		while (db_step(s, &row, &err) == BOOTD_OK && row) {
			for (c = 0; c < db_column_count(s); c++)
				buf_printf(&b, "%s|", db_column_is_null(s, c) ?
				    "NULL" : db_column_text(s, c));
			buf_puts(&b, "\n");
		}
		buf_puts(&b, "--\n");
	}
	db_close(db);
	return b.data;
}

/*
 * A batch is stored as its events one by one would be: boot events in
 * order, "seen", "discovered" and the counts alike, whatever the mix of
 * known and unknown MACs, MACs met again within the batch (also as a
 * host's after an unknown boot, and back), times out of order.
 * events_record() writes runs of different MACs with one statement each.
 */
START_TEST(test_batch_as_one_by_one)
{
	static const char *const hosts[] = { "a.example.org",
	    "b.example.org", NULL };
	static const char *const words[] = { "local", "install", "unknown",
	    "failsafe" };
	static const char *const params[] = { "platform=efi", NULL,
	    "platform=pcbios&buildarch=i386" };
	struct events_event evs[300];
	char macs[N(evs)][18];
	char *batch, *single;
	size_t i, n = N(evs);
	unsigned x = 12345;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		/* First all different (whole runs of CHUNK and part of one),
		 * then 9 MACs over again. */
		snprintf(macs[i], sizeof(macs[i]), "52:54:00:00:%02x:%02x",
		    (unsigned)(i < 150 ? i / 256 : 0),
		    (unsigned)(i < 150 ? i % 256 : (x >> 8) % 9));
		evs[i] = boot(macs[i], hosts[(x >> 12) % N(hosts)],
		    NOW + (int64_t)((x >> 16) % 50));
		if (evs[i].fqdn != NULL)
			evs[i].served = words[(x >> 20) % N(words)];
		evs[i].params = params[(x >> 24) % N(params)];
		evs[i].addr = (x >> 28) % 3 == 0 ? NULL : "10.0.0.9";
	}
	OK(events_record(ev, evs, n, NULL, NULL, &err_));
	batch = dump();
	/* Again from nothing, one event per call. */
	events_close(ev);
	ev = NULL;
	if (pg != NULL)
		drop_schema();
	else
		rm_db(evpath);
	OK(events_open(where, 1, &ev, &err_));
	for (i = 0; i < n; i++)
		OK(events_record(ev, &evs[i], 1, NULL, NULL, &err_));
	single = dump();
	for (i = 0; batch[i] != '\0' && batch[i] == single[i]; i++)
		;
	ck_assert_msg(batch[i] == single[i], "batch and one by one differ "
	    "at byte %zu: \"%.60s\" against \"%.60s\"", i, batch + i,
	    single + i);
	ck_assert_ptr_nonnull(strstr(batch, "|NULL|"));	/* some of each */
	counts_exact("after a mixed batch");
	free(batch);
	free(single);
}
END_TEST

/*
 * events_set_pause(): events_record() calls the pause between the
 * statements of a batch, one run of at most CHUNK (64) different MACs
 * each, and not before the first; the batch stays one transaction (a
 * reader sees none of it during a pause) and is stored whole.
 */
static int	paused;
static long long paused_seen;	/* boot events a reader saw, at most */

static void
count_pause(void *arg)
{
	long long n = sql_int("SELECT count(*) FROM boot_event");

	ck_assert_ptr_eq(arg, &paused);
	paused++;
	if (n > paused_seen)
		paused_seen = n;
}

START_TEST(test_pause_between_statements)
{
	struct events_event evs[150];
	struct events_stats st;
	char macs[N(evs)][18];
	size_t i;

	for (i = 0; i < N(evs); i++) {
		snprintf(macs[i], sizeof(macs[i]), "52:54:00:00:%02x:%02x",
		    (unsigned)(i / 256), (unsigned)(i % 256));
		evs[i] = boot(macs[i], i % 3 == 0 ? NULL : "a.example.org",
		    NOW);
	}
	OK(events_record(ev, evs, 10, NULL, NULL, &err_));
	ck_assert_int_eq(paused, 0);		/* no pause by default */
	events_set_pause(ev, count_pause, &paused);
	OK(events_record(ev, evs + 10, 10, NULL, &st, &err_));
	ck_assert_int_eq(paused, 0);		/* one statement: none */
	paused_seen = 0;
	OK(events_record(ev, evs + 20, 130, NULL, &st, &err_));
	ck_assert_int_eq(st.written, 130);
	ck_assert_int_eq(paused, 2);		/* runs of 64, 64 and 2 */
	ck_assert_int_eq(paused_seen, 20);	/* the batches before */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 150);
	counts_exact("after a batch with pauses");
	events_set_pause(ev, NULL, NULL);
	OK(events_record(ev, evs, 130, NULL, NULL, &err_));
	ck_assert_int_eq(paused, 2);
}
END_TEST

/*
 * The events of test_seen_*: 400 boots over 12 known MACs and 3 unknown
 * ones, times out of order and tied, served words varying, the first
 * boots of MAC 9 as an unknown machine's.
 */
#define SEEN_EVENTS	400
static char seen_macs[SEEN_EVENTS][18];

static void
seen_events(struct events_event *evs, size_t n, unsigned seed)
{
	static const char *const words[] = { "local", "install", "failsafe" };
	static const char *const hosts[] = { "a.example.org",
	    "b.example.org" };
	unsigned x = seed;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		snprintf(seen_macs[i], sizeof(seen_macs[i]),
		    "52:54:00:00:00:%02x", (x >> 8) % 15);
		evs[i] = boot(seen_macs[i], (x >> 8) % 15 >= 12 ||
		    ((x >> 8) % 15 == 9 && i < 50) ? NULL :
		    hosts[(x >> 14) % 2], NOW + (int64_t)((x >> 16) % 20));
		if (evs[i].fqdn != NULL)
			evs[i].served = words[(x >> 20) % N(words)];
	}
}

/* Each MAC's last seen time and what it got, as a reader has them. */
static char *
seen_read(void)
{
	struct events *r;
	struct buf b = { 0 };
	char mac[18], served[16];
	const char *m = mac;
	int64_t when;
	int i;

	OK(events_open_readonly(where, &r, &err_));
	for (i = 0; i < 16; i++) {
		snprintf(mac, sizeof(mac), "52:54:00:00:00:%02x", i);
		OK(events_seen(r, &m, 1, &when, served, sizeof(served),
		    &err_));
		buf_printf(&b, "%s %lld %s\n", mac, (long long)when, served);
	}
	events_close(r);
	buf_puts(&b, "");
	return b.data;
}

/* Sweep until done; the number of slices. */
static int
sweep_all(long rows)
{
	int more, slices = 0;

	do {
		OK(events_write_seen(ev, rows, &more, &err_));
		slices++;
		ck_assert_int_lt(slices, 10000);
	} while (more);
	return slices;
}

/*
 * Last seen times held and written later (events_defer_seen()) end as
 * those written with each batch, byte for byte; meanwhile "seen" is not
 * written, yet a reader's last seen times are exact (it reads the boots
 * past the mark), and a sweep ends although boots keep coming, its mark
 * at the newest boot event of when it began.
 */
START_TEST(test_seen_deferred)
{
	struct events_event evs[SEEN_EVENTS];
	char *direct, *direct_read, *deferred, *now;
	size_t i;
	int more, slices;

	seen_events(evs, N(evs), 777);
	for (i = 0; i < N(evs); i += 40)
		OK(events_record(ev, evs + i, 40, NULL, NULL, &err_));
	direct = dump();
	direct_read = seen_read();
	/* Not deferred: as before; on PostgreSQL, deferring changes nothing. */
	ck_assert_int_gt(sql_int("SELECT count(*) FROM seen"), 8);
	if (pg == NULL)		/* complete, readers have nothing past it */
		ck_assert_int_eq(sql_int("SELECT seen_upto FROM counts"),
		    sql_int("SELECT max(id) FROM boot_event"));
	if (pg != NULL) {
		OK(events_defer_seen(ev, &err_));
		OK(events_write_seen(ev, 5, &more, &err_));
		ck_assert_int_eq(more, 0);
		ck_assert_uint_eq(events_seen_held(ev), 0);
		free(direct);
		free(direct_read);
		return;
	}

	events_close(ev);
	rm_db(evpath);
	OK(events_open(where, 1, &ev, &err_));
	OK(events_defer_seen(ev, &err_));
	for (i = 0; i < 200; i += 40)
		OK(events_record(ev, evs + i, 40, NULL, NULL, &err_));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM seen"), 0);
	ck_assert_uint_gt(events_seen_held(ev), 100);
	/* A sweep of 2 MACs a slice, the rest of the boots coming. */
	OK(events_write_seen(ev, 2, &more, &err_));
	ck_assert_int_eq(more, 1);
	ck_assert_uint_eq(events_seen_held(ev), 0);	/* the sweep's now */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM seen"), 2);
	for (i = 200, slices = 1; i < N(evs); i += 40) {
		OK(events_record(ev, evs + i, 40, NULL, NULL, &err_));
		if (more) {
			OK(events_write_seen(ev, 2, &more, &err_));
			slices++;
		}
	}
	if (more)
		slices += sweep_all(2);
	ck_assert_int_le(slices, 12 / 2);	/* its 12 MACs, no more */
	/* Complete up to the 200 boots held when it began. */
	ck_assert_int_eq(sql_int("SELECT seen_upto FROM counts"),
	    sql_int("SELECT id FROM boot_event ORDER BY id LIMIT 1 "
	    "OFFSET 199"));
	now = seen_read();
	ck_assert_str_eq(now, direct_read);
	free(now);
	/* The next sweep writes the rest: the same tables. */
	sweep_all(1000);
	ck_assert_int_eq(sql_int("SELECT seen_upto FROM counts"),
	    sql_int("SELECT max(id) FROM boot_event"));
	deferred = dump();
	ck_assert_str_eq(deferred, direct);
	now = seen_read();
	ck_assert_str_eq(now, direct_read);
	free(now);
	free(deferred);
	free(direct);
	free(direct_read);
}
END_TEST

/*
 * A sweep writes each MAC's newest boot, in MAC order, a slice at a time
 * (events_seen.c, sweep_begin()): MACs that differ in each of their six
 * bytes, held out of that order, three of them twice: an older boot held
 * later, a tie (the one held later wins) and a newer one.
 */
START_TEST(test_seen_sweep_order)
{
	static const char *const macs[] = {	/* in MAC order */
		"00:00:00:00:00:ff", "00:00:00:00:ff:00", "00:00:00:ff:00:00",
		"00:00:ff:00:00:00", "00:ff:00:00:00:00", "0a:00:00:00:00:01",
		"a0:00:00:00:00:00", "ff:ff:ff:ff:ff:fe",
	};
	static const struct {
		int		 mac;
		const char	*fqdn;
		int64_t		 time;
	} held[] = {
		{ 7, "a.example.org", NOW + 10 }, { 3, "a.example.org", NOW + 10 },
		{ 5, "a.example.org", NOW + 10 }, { 0, "a.example.org", NOW + 10 },
		{ 6, "a.example.org", NOW + 10 }, { 1, "a.example.org", NOW + 10 },
		{ 4, "a.example.org", NOW + 10 }, { 2, "a.example.org", NOW + 10 },
		{ 5, "b.example.org", NOW + 5 }, { 0, "b.example.org", NOW + 10 },
		{ 3, "b.example.org", NOW + 20 },
	};
	char q[160];
	size_t i;
	int more;

	OK(events_defer_seen(ev, &err_));
	for (i = 0; i < N(held); i++)
		record1(macs[held[i].mac], held[i].fqdn, held[i].time, NULL,
		    NULL);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM seen"), 0);
	for (i = 0; i < N(macs); i++) {
		OK(events_write_seen(ev, 1, &more, &err_));
		ck_assert_int_eq(sql_int("SELECT count(*) FROM seen"),
		    (long long)i + 1);
		snprintf(q, sizeof(q), "SELECT count(*) FROM seen WHERE "
		    "mac = '%s'", macs[i]);
		ck_assert_msg(sql_int(q) == 1, "slice %zu: not %s", i, macs[i]);
		ck_assert_int_eq(more, i + 1 < N(macs));
	}
	snprintf(q, sizeof(q), "SELECT last_seen FROM seen WHERE mac = '%s' "
	    "AND host = 'a.example.org'", macs[5]);
	ck_assert_int_eq(sql_int(q), NOW + 10);
	snprintf(q, sizeof(q), "SELECT last_seen FROM seen WHERE mac = '%s' "
	    "AND host = 'b.example.org'", macs[0]);
	ck_assert_int_eq(sql_int(q), NOW + 10);
	snprintf(q, sizeof(q), "SELECT last_seen FROM seen WHERE mac = '%s' "
	    "AND host = 'b.example.org'", macs[3]);
	ck_assert_int_eq(sql_int(q), NOW + 20);
	ck_assert_int_eq(sql_int("SELECT seen_upto FROM counts"),
	    sql_int("SELECT max(id) FROM boot_event"));
}
END_TEST

/*
 * A handle closed (a recorder killed) with boots held and a sweep half
 * done: readers stay exact, and the next handle that defers takes the
 * boots past the mark again and writes them: the same tables as written
 * with each batch.
 */
START_TEST(test_seen_recovered)
{
	struct events_event evs[SEEN_EVENTS];
	char *direct, *direct_read, *now;
	size_t i;
	int more;

	seen_events(evs, N(evs), 4242);
	for (i = 0; i < N(evs); i += 50)
		OK(events_record(ev, evs + i, 50, NULL, NULL, &err_));
	direct = dump();
	direct_read = seen_read();
	events_close(ev);
	rm_db(evpath);

	OK(events_open(where, 1, &ev, &err_));
	OK(events_defer_seen(ev, &err_));
	for (i = 0; i < 250; i += 50)
		OK(events_record(ev, evs + i, 50, NULL, NULL, &err_));
	sweep_all(1000);
	for (i = 250; i < N(evs); i += 50)
		OK(events_record(ev, evs + i, 50, NULL, NULL, &err_));
	OK(events_write_seen(ev, 3, &more, &err_));
	ck_assert_int_eq(more, 1);
	events_close(ev);		/* what it held is gone */
	ev = NULL;
	now = seen_read();
	ck_assert_str_eq(now, direct_read);
	free(now);

	OK(events_open(where, 0, &ev, &err_));
	OK(events_defer_seen(ev, &err_));
	ck_assert_uint_eq(events_seen_held(ev), (size_t)sql_int(
	    "SELECT count(*) FROM boot_event WHERE host IS NOT NULL AND "
	    "id > (SELECT seen_upto FROM counts)"));
	ck_assert_uint_gt(events_seen_held(ev), 100);
	sweep_all(4);
	now = dump();
	ck_assert_str_eq(now, direct);
	free(now);
	now = seen_read();
	ck_assert_str_eq(now, direct_read);
	free(now);
	free(direct);
	free(direct_read);
}
END_TEST

/*
 * A prune that takes the newest boots makes SQLite number the next ones
 * from below the mark again: the mark goes back with them, and so does
 * the end of a sweep under way, so that a reader stays exact and a
 * handle that comes next takes the new boots again.  Fails without
 * seen_mark_pruned() (the reader and the fold miss the boot at NOW).
 */
START_TEST(test_seen_after_prune)
{
	const char *mac[] = { "52:54:00:00:00:01", "52:54:00:00:00:02",
	    "52:54:00:00:00:03", "52:54:00:00:00:04" };
	struct events *r;
	int64_t deleted, when;
	char served[16];
	int i, more;

	OK(events_defer_seen(ev, &err_));
	for (i = 0; i < 5; i++)
		record1(mac[0], "web1.example.org", NOW - 1000 + i, NULL,
		    NULL);
	sweep_all(1024);
	ck_assert_int_eq(sql_int("SELECT seen_upto FROM counts"), 5);
	OK(events_prune(ev, NOW - 10, 100, &deleted, &err_));
	ck_assert_int_eq(deleted, 5);
	ck_assert_int_eq(sql_int("SELECT seen_upto FROM counts"), 0);
	record1(mac[0], "web1.example.org", NOW, NULL, NULL);	/* held */
	ck_assert_int_eq(sql_int("SELECT max(id) FROM boot_event"), 1);
	OK(events_open_readonly(where, &r, &err_));
	OK(events_seen(r, &mac[0], 1, &when, served, sizeof(served), &err_));
	events_close(r);
	ck_assert_int_eq(when, NOW);
	events_close(ev);		/* killed: what it held is gone */
	OK(events_open(where, 0, &ev, &err_));
	OK(events_defer_seen(ev, &err_));
	ck_assert_uint_eq(events_seen_held(ev), 1);
	sweep_all(1024);
	ck_assert_int_eq(sql_int("SELECT last_seen FROM seen"), NOW);
	ck_assert_int_eq(sql_int("SELECT seen_upto FROM counts"), 1);

	/* A prune in the middle of a sweep: its end goes back too. */
	for (i = 1; i < 4; i++)
		record1(mac[i], "web2.example.org", NOW + i, NULL, NULL);
	OK(events_write_seen(ev, 1, &more, &err_));
	ck_assert_int_eq(more, 1);
	OK(events_prune(ev, NOW + 100, 100, &deleted, &err_));
	ck_assert_int_eq(deleted, 4);
	record1(mac[0], "web1.example.org", NOW + 200, NULL, NULL);
	sweep_all(1);
	ck_assert_int_eq(sql_int("SELECT seen_upto FROM counts"), 0);
	OK(events_open_readonly(where, &r, &err_));
	OK(events_seen(r, &mac[0], 1, &when, served, sizeof(served), &err_));
	events_close(r);
	ck_assert_int_eq(when, NOW + 200);
}
END_TEST

/* A MAC that boots as a host's leaves the discovered list. */
START_TEST(test_known_leaves_discovered)
{
	struct events_counts c;

	record1("52:54:00:00:00:99", NULL, NOW, NULL, NULL);
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.discovered, 1);
	record1("52:54:00:00:00:99", "new.example.org", NOW + 1, NULL, NULL);
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.discovered, 0);
	ck_assert_int_eq(c.events, 2);
	/* An older event recorded late does not move last seen back. */
	record1("52:54:00:00:00:99", "new.example.org", NOW - 50, NULL, NULL);
	ck_assert_int_eq(sql_int("SELECT last_seen FROM seen"), NOW + 1);
}
END_TEST

/* Caps ----------------------------------------------------------------- */

/* Over events_max, the oldest events go first, and are counted. */
START_TEST(test_cap_events)
{
	struct events_limits lim = { 5, 0, 0 };
	struct events_event evs[6];
	struct events_stats st;
	struct events_counts c;
	long evicted = 0;
	int i;

	for (i = 0; i < 8; i++)
		record1("52:54:00:00:00:01", "web1.example.org", NOW + i,
		    &lim, &evicted);
	ck_assert_int_eq(evicted, 3);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 5);
	ck_assert_int_eq(sql_int("SELECT min(time) FROM boot_event"), NOW + 3);
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.events, 5);

	/* A batch larger than the room left keeps its newest rows. */
	for (i = 0; i < 6; i++)
		evs[i] = boot("52:54:00:00:00:01", "web1.example.org",
		    NOW + 100 + i);
	OK(events_record(ev, evs, N(evs), &lim, &st, &err_));
	ck_assert_int_eq(st.written, 6);
	ck_assert_int_eq(st.evicted, 6);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 5);
	ck_assert_int_eq(sql_int("SELECT min(time) FROM boot_event"),
	    NOW + 101);

	/* Without a cap nothing goes. */
	record1("52:54:00:00:00:01", "web1.example.org", NOW + 200, NULL,
	    &evicted);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 6);
	/* The counters stay exact whatever deletes rows. */
	ck_assert_int_eq(sql_int("SELECT events FROM counts"),
	    sql_int("SELECT count(*) FROM boot_event"));
}
END_TEST

/* Over discovered_max, the MACs last seen longest ago go first. */
START_TEST(test_cap_discovered)
{
	struct events_limits lim = { 0, 3, 0 };
	long evicted = 0;
	char *macs;

	record1("52:54:00:00:00:0a", NULL, NOW + 1, &lim, &evicted);
	record1("52:54:00:00:00:0b", NULL, NOW + 2, &lim, &evicted);
	record1("52:54:00:00:00:0c", NULL, NOW + 3, &lim, &evicted);
	record1("52:54:00:00:00:0a", NULL, NOW + 4, &lim, &evicted); /* again */
	ck_assert_int_eq(evicted, 0);
	record1("52:54:00:00:00:0d", NULL, NOW + 5, &lim, &evicted);
	ck_assert_int_eq(evicted, 1);
	macs = disc_macs();
	ck_assert_str_eq(macs, "52:54:00:00:00:0a,52:54:00:00:00:0c,"
	    "52:54:00:00:00:0d,");
	free(macs);
	ck_assert_int_eq(sql_int("SELECT discovered FROM counts"), 3);
	/* Events themselves are not capped here. */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 5);

	/* Lowering the cap takes effect at the next record. */
	lim.max_discovered = 1;
	record1("52:54:00:00:00:0e", NULL, NOW + 6, &lim, &evicted);
	ck_assert_int_eq(evicted, 4);
	macs = disc_macs();
	ck_assert_str_eq(macs, "52:54:00:00:00:0e,");
	free(macs);
}
END_TEST

/* Retention: old events go, oldest first and at most max at a time;
 * hosts' last seen times stay. */
START_TEST(test_prune)
{
	const char *mac = "52:54:00:00:00:01";
	struct events_counts c;
	struct bootd_error err;
	int64_t deleted = -1, seen;
	char served[32];
	int i;

	for (i = 0; i < 5; i++)		/* NOW-1000..NOW-600 */
		record1(mac, "web1.example.org", NOW - 1000 + i * 100, NULL,
		    NULL);
	record1(mac, "web1.example.org", NOW, NULL, NULL);
	record1("52:54:00:00:00:99", NULL, NOW - 1000, NULL, NULL);
	record1("52:54:00:00:00:99", NULL, NOW - 650, NULL, NULL);

	/* Older than NOW-700: four rows; a batch of 2 takes the oldest. */
	OK(events_prune(ev, NOW - 700, 2, &deleted, &err_));
	ck_assert_int_eq(deleted, 2);
	ck_assert_int_eq(sql_int("SELECT min(time) FROM boot_event"),
	    NOW - 1000 + 100);
	OK(events_prune(ev, NOW - 700, 100, &deleted, &err_));
	ck_assert_int_eq(deleted, 2);
	OK(events_prune(ev, NOW - 700, 100, &deleted, &err_));
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 4);

	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.discovered, 1);
	OK(events_prune(ev, NOW - 640, 100, &deleted, &err_));
	ck_assert_int_eq(deleted, 3);		/* 2 events, 1 MAC */
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.discovered, 0);
	ck_assert_int_eq(c.events, 2);
	OK(events_seen(ev, &mac, 1, &seen, served, sizeof(served), &err_));
	ck_assert_int_eq(seen, NOW);

	ck_assert_int_eq(events_prune(ev, NOW, 0, NULL, &err), BOOTD_EINVAL);
}
END_TEST

/* Listings stream in pages: all rows once, in order; limit; stop. */
struct each_arg {
	int	n;
	int	stop_after;
	char	last[18];
	int	ordered;
};

static int
each_cb(const struct events_discovered *d, void *arg)
{
	struct each_arg *a = arg;

	if (strcmp(d->mac, a->last) <= 0)
		a->ordered = 0;
	snprintf(a->last, sizeof(a->last), "%s", d->mac);
	a->n++;
	return a->stop_after > 0 && a->n >= a->stop_after;
}

START_TEST(test_discovered_each)
{
	struct events_event evs[700];
	char macs[700][18];
	struct each_arg a;
	int i;

	for (i = 0; i < 700; i++) {
		snprintf(macs[i], sizeof(macs[i]), "52:54:00:00:%02x:%02x",
		    (699 - i) / 256, (699 - i) % 256);
		evs[i] = boot(macs[i], NULL, NOW + i);
	}
	OK(events_record(ev, evs, 700, NULL, NULL, &err_));
	memset(&a, 0, sizeof(a));
	a.ordered = 1;
	OK(events_discovered_each(ev, 0, each_cb, &a, &err_));
	ck_assert_int_eq(a.n, 700);
	ck_assert_int_eq(a.ordered, 1);
	memset(&a, 0, sizeof(a));
	OK(events_discovered_each(ev, 300, each_cb, &a, &err_));
	ck_assert_int_eq(a.n, 300);
	memset(&a, 0, sizeof(a));
	a.stop_after = 257;
	OK(events_discovered_each(ev, 0, each_cb, &a, &err_));
	ck_assert_int_eq(a.n, 257);
}
END_TEST

/* Limits --------------------------------------------------------------- */

/* A writer holding the lock makes a record wait, then fail as busy. */
START_TEST(test_busy)
{
	struct events_event e = boot("52:54:00:00:00:99", NULL, NOW);
	struct bootd_error err;
	struct events_counts c;
	struct db *db = test_db();

	/*
	 * SQLite: the file's write lock.  PostgreSQL: the counts row's,
	 * which every batch updates.
	 */
	OK(db_begin(db, DB_TXN_WRITE, &err_));
	OK(db_exec(db, "UPDATE counts SET events = events", &err_));
	events_set_busy_timeout(ev, 20);
	ck_assert_int_eq(events_record(ev, &e, 1, NULL, NULL, &err),
	    BOOTD_EBUSY);
	/* Busy is no reason to go elsewhere. */
	ck_assert_int_eq(events_unavailable(ev), 0);
	/* Readers go on (WAL; MVCC). */
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.events, 0);
	OK(db_commit(db, &err_));
	db_close(db);
	OK(events_record(ev, &e, 1, NULL, NULL, &err_));
	ck_assert_int_eq(sql_int("SELECT events FROM counts"), 1);
}
END_TEST

START_TEST(test_rdonly)
{
	struct events_event e = boot("52:54:00:00:00:99", NULL, NOW);
	struct events *ro;
	struct events_counts c;
	struct bootd_error err;

	record1("52:54:00:00:00:98", NULL, NOW, NULL, NULL);
	OK(events_open_readonly(where, &ro, &err_));
	ck_assert_int_eq(events_record(ro, &e, 1, NULL, NULL, &err),
	    BOOTD_EPERM);
	ck_assert_int_eq(events_prune(ro, NOW + 10, 10, NULL, &err),
	    BOOTD_EPERM);
	ck_assert_int_eq(events_import(ro, invpath, NULL, NULL, &err),
	    BOOTD_EPERM);
	OK(events_counts(ro, &c, &err_));
	ck_assert_int_eq(c.discovered, 1);
	events_close(ro);
}
END_TEST

/*
 * Two writers at once, each its own process and handle (bootd on two
 * sites writing to one PostgreSQL; on SQLite the recorder and its
 * replacement after a reload, for a moment): every batch is written,
 * none fails on the other's updates of the counts row, and the counts
 * stay exact through both writers' evictions.  Each writer sends MACs of
 * its own and MACs both send, so that their upserts meet.
 */
#define WRITERS		2
#define WRITER_BATCHES	60
START_TEST(test_concurrent_writers)
{
	struct events_limits lim = { 150, 40, 0 };
	struct events_counts c;
	pid_t pid[WRITERS];
	int w, st;

	for (w = 0; w < WRITERS; w++) {
		ck_assert_int_ne(pid[w] = fork(), -1);
		if (pid[w] > 0)
			continue;
		{
			struct bootd_error err = { "" };
			struct events_event evs[6];
			struct events *e;
			char macs[6][18];
			int b, k, bad = 0;

			if (events_open(where, 0, &e, &err) != BOOTD_OK) {
				fprintf(stderr, "writer %d: %s\n", w, err.text);
				_exit(2);
			}
			/*
			 * SQLite's busy handler is not fair: a writer may
			 * wait out many of the other's batches (under
			 * valgrind, seconds).  Waiting is not what is tested.
			 */
			events_set_busy_timeout(e, 60000);
			for (b = 0; b < WRITER_BATCHES && !bad; b++) {
				for (k = 0; k < 6; k++) {
					/* 4 of its own, 2 both send. */
					snprintf(macs[k], sizeof(macs[k]),
					    "52:54:%02x:00:%02x:%02x", k < 4 ?
					    w + 1 : 0, b, k);
					evs[k] = boot(macs[k], k == 5 ?
					    "web1.example.org" : NULL,
					    NOW + b);
				}
				if (events_record(e, evs, 6, &lim, NULL,
				    &err) != BOOTD_OK) {
					fprintf(stderr, "writer %d, batch %d: "
					    "%s\n", w, b, err.text);
					bad = 1;
				}
			}
			events_close(e);
			_exit(bad);
		}
	}
	for (w = 0; w < WRITERS; w++) {
		ck_assert_int_eq(waitpid(pid[w], &st, 0), pid[w]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "writer %d failed (status %d)", w, st);
	}
	counts_exact("after two writers");
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_le(c.events, 150 + 6);
	ck_assert_int_le(c.discovered, 40 + 5);
	record1("52:54:00:00:00:99", NULL, NOW + 1000, &lim, NULL);
	counts_exact("and one more batch");
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.events, 150);
	ck_assert_int_eq(c.discovered, 40);
}
END_TEST

/* Schema versions ------------------------------------------------------ */

/* A file from a newer bootd is refused, read-write and read-only. */
START_TEST(test_newer_schema)
{
	struct events *e2;
	struct bootd_error err;

	events_close(ev);
	ev = NULL;
	set_schema_version(events_schema_latest() + 1);
	ck_assert_int_eq(events_open(where, 1, &e2, &err), BOOTD_EVERSION);
	ck_assert_ptr_null(e2);
	ck_assert_ptr_nonnull(strstr(err.text, "newer"));
	ck_assert_int_eq(events_open_readonly(where, &e2, &err),
	    BOOTD_EVERSION);
	ck_assert_int_eq(schema_version(), events_schema_latest() + 1);

	/* Read-only never migrates an older schema; read-write does. */
	make_v1();
	ck_assert_int_eq(events_open_readonly(where, &e2, &err), BOOTD_EDB);
	ck_assert_ptr_nonnull(strstr(err.text, "older"));
	ck_assert_int_eq(schema_version(), 1);
	/* PostgreSQL: only create (bootctl init) migrates a shared schema. */
	if (pg != NULL) {
		ck_assert_int_eq(events_open(where, 0, &ev, &err), BOOTD_EDB);
		ck_assert_ptr_nonnull(strstr(err.text, "older"));
		ck_assert_int_eq(schema_version(), 1);
	}
	OK(events_open(where, pg != NULL, &ev, &err_));
	ck_assert_int_eq(schema_version(), events_schema_latest());
	if (pg != NULL)
		return;
	/* An empty SQLite file (the recorder is making it): not yet. */
	events_close(ev);
	ev = NULL;
	rm_db(evpath);
	ck_assert_int_eq(exec_at(evpath, "PRAGMA user_version = 0"),
	    SQLITE_OK);
	ck_assert_int_eq(events_open_readonly(evpath, &e2, &err),
	    BOOTD_ENOTFOUND);
	ck_assert_ptr_null(e2);
	OK(events_open(evpath, 0, &ev, &err_));
	/* An SQLite file of version 0 with a table: not bootd's. */
	events_close(ev);
	ev = NULL;
	rm_db(evpath);
	ck_assert_int_eq(exec_at(evpath, "CREATE TABLE x (y)"), SQLITE_OK);
	ck_assert_int_eq(events_open_readonly(evpath, &e2, &err), BOOTD_EDB);
	ck_assert_ptr_nonnull(strstr(err.text, "older"));
	OK(events_open(evpath, 0, &ev, &err_));
	ck_assert_int_eq(schema_version(), events_schema_latest());

	/* Not a database at all. */
	events_close(ev);
	ev = NULL;
	rm_db(evpath);
	ck_assert_int_eq(exec_at(invpath, "CREATE TABLE x (y)"), SQLITE_OK);
	{
		FILE *f = fopen(evpath, "w");

		ck_assert_ptr_nonnull(f);
		fputs("this is not an SQLite database, but long enough to "
		    "look at its header................................"
		    "...........................................\n", f);
		fclose(f);
	}
	ck_assert_int_eq(events_open(evpath, 1, &e2, &err), BOOTD_EDB);
	ck_assert_ptr_null(e2);
}
END_TEST

/*
 * The row counts equal the rows: the counts row, then count(*) of each
 * table, for the asserts to print both.
 */
static void
counts_exact(const char *when)
{
	struct events_counts c;

	OK(events_counts(ev, &c, &err_));
	ck_assert_msg(c.events == sql_int("SELECT count(*) FROM boot_event"),
	    "%s: counts.events %lld, rows %lld", when, (long long)c.events,
	    sql_int("SELECT count(*) FROM boot_event"));
	ck_assert_msg(c.discovered ==
	    sql_int("SELECT count(*) FROM discovered"),
	    "%s: counts.discovered %lld, rows %lld", when,
	    (long long)c.discovered,
	    sql_int("SELECT count(*) FROM discovered"));
}

/*
 * An events database made at schema version 1 (row counts kept by
 * triggers), with rows and its counts row made wrong: the upgrade drops
 * the triggers and counts again, and from then on the counts stay exact
 * through batches (new and known discovered MACs, known MACs leaving the
 * list), evictions under both caps, and pruning.
 */
START_TEST(test_upgrade_v1_counts)
{
	struct events_limits lim = { 6, 3, 0 };
	struct events_event evs[5];
	struct events_stats st;
	struct events_counts c;
	char mac[18];
	int64_t deleted;
	int i;

	make_v1();
	sql_exec("INSERT INTO boot_event (time, mac, host, served) VALUES "
	    "(1700000001, '52:54:00:00:00:01', 'web1.example.org', 'local'), "
	    "(1700000002, '52:54:00:00:00:99', NULL, 'unknown'), "
	    "(1700000003, '52:54:00:00:00:98', NULL, 'unknown'); "
	    "INSERT INTO discovered (mac, first_seen, last_seen) VALUES "
	    "('52:54:00:00:00:99', 1700000002, 1700000002), "
	    "('52:54:00:00:00:98', 1700000003, 1700000003); "
	    "UPDATE counts SET events = 40, discovered = 1");
	ck_assert_int_eq(triggers(), 4);

	OK(events_open(where, pg != NULL, &ev, &err_));
	ck_assert_int_eq(schema_version(), events_schema_latest());
	ck_assert_int_eq(triggers(), 0);
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.events, 3);
	ck_assert_int_eq(c.discovered, 2);

	/*
	 * One batch: a new discovered MAC, one seen again, one of them
	 * booting as a host's (it leaves the list), a known MAC.
	 */
	evs[0] = boot("52:54:00:00:00:97", NULL, NOW + 10);
	evs[1] = boot("52:54:00:00:00:99", NULL, NOW + 11);
	evs[2] = boot("52:54:00:00:00:97", NULL, NOW + 12);
	evs[3] = boot("52:54:00:00:00:98", "db1.example.org", NOW + 13);
	evs[4] = boot("52:54:00:00:00:01", "web1.example.org", NOW + 14);
	OK(events_record(ev, evs, N(evs), NULL, &st, &err_));
	counts_exact("after a batch");
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.events, 8);
	ck_assert_int_eq(c.discovered, 2);

	/* Over both caps: the oldest go, in the same transaction. */
	for (i = 0; i < 5; i++) {
		snprintf(mac, sizeof(mac), "52:54:00:00:01:%02x", i);
		evs[i] = boot(strdup(mac), NULL, NOW + 20 + i);
	}
	OK(events_record(ev, evs, N(evs), &lim, &st, &err_));
	for (i = 0; i < 5; i++)
		free((char *)evs[i].mac);
	ck_assert_int_eq(st.evicted, (8 + 5 - 6) + (2 + 5 - 3));
	counts_exact("after evictions");
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.events, 6);
	ck_assert_int_eq(c.discovered, 3);

	/* Pruning, in two bounded runs. */
	OK(events_prune(ev, NOW + 23, 2, &deleted, &err_));
	ck_assert_int_eq(deleted, 3);		/* 2 events, 1 MAC */
	counts_exact("after pruning");
	OK(events_prune(ev, NOW + 1000, 100, &deleted, &err_));
	counts_exact("after pruning all");
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.events, 0);
	ck_assert_int_eq(c.discovered, 0);

	/* And from empty again. */
	evs[0] = boot("52:54:00:00:00:96", NULL, NOW + 30);
	evs[1] = boot("52:54:00:00:00:96", NULL, NOW + 31);
	OK(events_record(ev, evs, 2, &lim, &st, &err_));
	counts_exact("after one more batch");
	OK(events_counts(ev, &c, &err_));
	ck_assert_int_eq(c.events, 2);
	ck_assert_int_eq(c.discovered, 1);
}
END_TEST

/* Moving events out of an upgraded inventory ---------------------------- */

/*
 * tests/data/inv-v1.sql, a version-1 inventory with boot events: opened
 * read-write it sets them aside; events_import() moves them here once,
 * and the discovered list and last seen times stay visible.
 */
START_TEST(test_import_v1)
{
	const char *web1[] = { "52:54:00:00:00:01", "52:54:00:00:00:11" };
	const char *db1[] = { "52:54:00:00:00:02" };
	struct events_limits lim = { 1000, 1000, 0 };
	struct inv *inv;
	struct inv_host *h;
	struct buf b = { 0 };
	char *sql, served[32];
	int64_t moved = -1, seen;

	sql = source_file("tests/data/inv-v1.sql");
	ck_assert_int_eq(exec_at(invpath, sql), SQLITE_OK);
	free(sql);
	OK(inv_open(invpath, INV_RDWR, &inv, &err_));
	ck_assert_int_eq(int_at(invpath, "PRAGMA user_version"),
	    inv_schema_latest());

	/* Something else boots meanwhile: it is kept alongside. */
	record1("52:54:00:00:00:77", NULL, NOW + 500, &lim, NULL);
	OK(events_import(ev, invpath, &lim, &moved, &err_));
	/* 2 events, 1 discovered MAC, 2 MACs of web1 seen. */
	ck_assert_int_eq(moved, 5);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 3);

	OK(events_discovered_each(ev, 0, disc_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "52:54:00:00:00:77:1700000500:"
	    "1700000500:1:platform=efi:127.0.0.1,52:54:00:00:00:99:"
	    "1700000100:1700000100:1:platform=efi:-,");
	buf_free(&b);
	OK(events_seen(ev, web1, N(web1), &seen, served, sizeof(served),
	    &err_));
	ck_assert_int_eq(seen, 1700000000);
	ck_assert_str_eq(served, "local");
	OK(events_seen(ev, db1, N(db1), &seen, served, sizeof(served),
	    &err_));
	ck_assert_int_eq(seen, 0);

	/* The inventory keeps nothing of it, and everything else. */
	ck_assert_int_eq(int_at(invpath, "SELECT count(*) FROM sqlite_master "
	    "WHERE name LIKE 'legacy%' OR name IN ('boot_event', "
	    "'discovered')"), 0);
	OK(inv_host_get(inv, "web1", &h, &err_));
	ck_assert_uint_eq(h->nmacs, 2);
	inv_host_free(h);

	/* Once: a second import has nothing to move. */
	OK(events_import(ev, invpath, &lim, &moved, &err_));
	ck_assert_int_eq(moved, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 3);
	inv_close(inv);
}
END_TEST

/* The import copies at most the caps, the newest rows. */
START_TEST(test_import_capped)
{
	struct events_limits lim = { 1, 1, 0 };
	struct inv *inv;
	char *sql;
	int64_t moved;

	sql = source_file("tests/data/inv-v1.sql");
	ck_assert_int_eq(exec_at(invpath, sql), SQLITE_OK);
	free(sql);
	OK(inv_open(invpath, INV_RDWR, &inv, &err_));
	OK(events_import(ev, invpath, &lim, &moved, &err_));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 1);
	ck_assert_int_eq(sql_int("SELECT time FROM boot_event"), 1700000100);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM discovered"), 1);
	inv_close(inv);
}
END_TEST

/*
 * The move holds the write lock of the inventory too: while another
 * process writes the inventory it waits, then fails busy and moves
 * nothing, so two workers can never both copy the same rows.
 */
START_TEST(test_import_locks_inventory)
{
	struct inv *inv;
	struct bootd_error err;
	sqlite3 *db;
	char *sql;
	int64_t moved = -1;

	sql = source_file("tests/data/inv-v1.sql");
	ck_assert_int_eq(exec_at(invpath, sql), SQLITE_OK);
	free(sql);
	OK(inv_open(invpath, INV_RDWR, &inv, &err_));
	inv_close(inv);
	ck_assert_int_eq(sqlite3_open(invpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE; DELETE FROM audit "
	    "WHERE id < 0", NULL, NULL, NULL), SQLITE_OK);
	events_set_busy_timeout(ev, 20);
	ck_assert_int_eq(events_import(ev, invpath, NULL, &moved, &err),
	    BOOTD_EBUSY);
	ck_assert_int_eq(moved, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 0);
	ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	OK(events_import(ev, invpath, NULL, &moved, &err_));
	ck_assert_int_eq(moved, 5);
}
END_TEST

/* PostgreSQL ----------------------------------------------------------- */

/* A message about a URI never shows its password. */
START_TEST(test_uri_password_hidden)
{
	struct events *e2;
	struct bootd_error err = { "" };

	ck_assert_int_ne(events_open("postgresql://bootd:s3cret@/bootd?"
	    "host=/nonexistent&password=s3cret&connect_timeout=2", 1, &e2,
	    &err), BOOTD_OK);
	ck_assert_ptr_null(e2);
	ck_assert_ptr_null(strstr(err.text, "s3cret"));
	ck_assert_ptr_nonnull(strstr(err.text, "postgresql://bootd:***@/bootd?"
	    "host=/nonexistent&password=***"));
	ck_assert_int_ne(events_open_readonly("postgres://u:s3cret@h/db", &e2,
	    &err), BOOTD_OK);
	ck_assert_ptr_null(strstr(err.text, "s3cret"));
}
END_TEST

/* An inventory on PostgreSQL never had events to move. */
START_TEST(test_import_pg)
{
	int64_t moved = -1;

	record1("52:54:00:00:00:99", NULL, NOW, NULL, NULL);
	OK(events_import(ev, pg, NULL, &moved, &err_));
	ck_assert_int_eq(moved, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM boot_event"), 1);
}
END_TEST

/*
 * The server restarts: the handle's connection is gone, the next batch
 * fails as unavailable, and a new handle records again.  Then a hot
 * standby: it opens (the schema replayed there), a batch fails as
 * unavailable (a write on a read-only server), reads go on.
 */
START_TEST(test_unavailable)
{
	const char *restart = getenv("BOOTD_TEST_PG_RESTART");
	const char *sb = getenv("BOOTD_TEST_PG_STANDBY");
	struct events_event e = boot("52:54:00:00:00:99", NULL, NOW);
	struct events_counts c;
	struct events *s = NULL;
	struct bootd_error err;
	int i;

	record1("52:54:00:00:00:98", NULL, NOW, NULL, NULL);
	ck_assert_int_eq(events_unavailable(ev), 0);
	ck_assert_int_eq(events_unavailable(NULL), 0);
	if (restart == NULL || *restart == '\0') {
		fprintf(stderr, "test_unavailable: BOOTD_TEST_PG_RESTART not "
		    "set: server not restarted\n");
	} else {
		ck_assert_int_eq(system(restart), 0);
		ck_assert_int_ne(events_record(ev, &e, 1, NULL, NULL, &err),
		    BOOTD_OK);
		ck_assert_int_eq(events_unavailable(ev), 1);
		events_close(ev);
		OK(events_open(pg, 1, &ev, &err_));
		OK(events_record(ev, &e, 1, NULL, NULL, &err_));
		OK(events_counts(ev, &c, &err_));
		ck_assert_int_eq(c.events, 2);
	}
	if (sb == NULL || *sb == '\0') {
		fprintf(stderr, "test_unavailable: BOOTD_TEST_PG_STANDBY not "
		    "set: no standby case\n");
		return;
	}
	/* Until the standby has replayed the schema: bounded tries. */
	for (i = 0; i < 600; i++) {
		if (events_open(sb, 1, &s, &err) == BOOTD_OK)
			break;
		usleep(50 * 1000);
	}
	ck_assert_msg(s != NULL, "standby: %s", err.text);
	ck_assert_int_eq(events_record(s, &e, 1, NULL, NULL, &err), BOOTD_EDB);
	ck_assert_int_eq(events_unavailable(s), 1);
	ck_assert_int_eq(events_prune(s, NOW + 10, 10, NULL, &err), BOOTD_EDB);
	ck_assert_int_eq(events_unavailable(s), 1);
	OK(events_counts(s, &c, &err_));
	events_close(s);
	/* Read-only, as bootctl on a standby. */
	for (i = 0; i < 600; i++) {
		ck_assert_int_eq(events_open_readonly(sb, &s, &err), BOOTD_OK);
		OK(events_counts(s, &c, &err_));
		events_close(s);
		if (c.events == sql_int("SELECT events FROM counts"))
			break;
		usleep(50 * 1000);
	}
	ck_assert_int_eq(c.events, sql_int("SELECT events FROM counts"));
}
END_TEST

/* A new inventory has nothing to move; its legacy tables go. */
START_TEST(test_import_new_inventory)
{
	struct inv *inv;
	int64_t moved = -1;

	OK(inv_open(invpath, INV_CREATE, &inv, &err_));
	OK(events_import(ev, invpath, NULL, &moved, &err_));
	ck_assert_int_eq(moved, 0);
	ck_assert_int_eq(int_at(invpath, "SELECT count(*) FROM sqlite_master "
	    "WHERE name LIKE 'legacy%'"), 0);
	inv_close(inv);
}
END_TEST

static Suite *
events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open);
	tcase_add_test(tc, test_default_path);
	tcase_add_test(tc, test_record_batch);
	tcase_add_test(tc, test_batch_as_one_by_one);
	tcase_add_test(tc, test_pause_between_statements);
	tcase_add_test(tc, test_seen_deferred);
	if (pg == NULL) {
		tcase_add_test(tc, test_seen_sweep_order);
		tcase_add_test(tc, test_seen_recovered);
		tcase_add_test(tc, test_seen_after_prune);
	}
	tcase_add_test(tc, test_known_leaves_discovered);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_discovered_each);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cap_events);
	tcase_add_test(tc, test_cap_discovered);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_rdonly);
	tcase_add_test(tc, test_uri_password_hidden);
	suite_add_tcase(s, tc);

	/* A deadlock waits PostgreSQL's deadlock_timeout (1 s) each. */
	tc = tcase_create("writers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrent_writers);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_newer_schema);
	tcase_add_test(tc, test_upgrade_v1_counts);
	if (pg == NULL) {
		/* Moving an SQLite inventory's events into the file. */
		tcase_add_test(tc, test_import_v1);
		tcase_add_test(tc, test_import_capped);
		tcase_add_test(tc, test_import_locks_inventory);
		tcase_add_test(tc, test_import_new_inventory);
	} else {
		tcase_add_test(tc, test_import_pg);
	}
	suite_add_tcase(s, tc);

	if (pg != NULL) {
		tc = tcase_create("unavailable");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, test_unavailable);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	struct bootd_error err = { "" };
	struct db *db;

	pg = getenv("BOOTD_TEST_PG");
	if (pg != NULL && *pg == '\0')
		pg = NULL;
	if (pg == NULL) {
		printf("BOOTD_TEST_PG not set: SQLite only (CTest "
		    "test_events_pg runs PostgreSQL)\n");
	} else if (db_open(pg, DB_RDWR, &db, &err) == BOOTD_EINVAL) {
		printf("skipped: %s\n", err.text);
		return 77;
	} else {
		db_close(db);
		printf("events on PostgreSQL (BOOTD_TEST_PG)\n");
	}
	return check_run(events_suite());
}
