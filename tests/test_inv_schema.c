/*
 * test_inv_schema.c - opening an inventory and its schema: creation,
 * reopening, a file that is no inventory, URIs that cannot be opened,
 * every statement prepared, a replaced file; the schema versions and the
 * migrations of both engines (each SQLite version, the frozen version 1
 * database tests/data/inv-v1.sql, a failing one, PostgreSQL's, several
 * processes at once); the constraints the schema holds against raw SQL.
 * One of the test_inv_*.c programs: fixture and helpers in inv_fixture.c.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "inv.h"
#include "inv_int.h"	/* stmt(): test_statements_prepare */
#include "migrations.h"
#include "inv_fixture.h"

/*
 * SQL counting the tables called name (a literal) of the database under
 * test (SQLite: sqlite_master has no "schema_version": counted as if it
 * had, for the tests' sake, as PRAGMA user_version is always there).
 */
#define TABLE_COUNT(name) (pguri != NULL ?				\
	"SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "	\
	"AND tablename = '" name "'" :					\
	strcmp(name, "schema_version") == 0 ? "SELECT 1" :		\
	"SELECT count(*) FROM sqlite_master WHERE name = '" name "'")

START_TEST(test_open_create)
{
	struct inv_counts c;
	struct inv_env *e;
	int v;

	OK(inv_schema_version(inv, &v, &err_));
	ck_assert_int_eq(v, inv_schema_latest());
	ck_assert_int_ge(inv_schema_latest(), 1);
	OK(inv_env_get(inv, "default", &e, &err_));
	ck_assert_str_eq(e->name, "default");
	ck_assert_str_eq(e->group, "");
	inv_env_free(e);
	OK(inv_counts(inv, &c, &err_));
	ck_assert_int_eq(c.hosts, 0);
	ck_assert_int_eq(c.envs, 1);
	ck_assert_int_eq(c.dists, 0);
	ck_assert_int_eq(sql_int(VERSION_SQL()), inv_schema_latest());
	if (pguri == NULL)
		ck_assert_int_eq(sql_int("SELECT count(*) FROM "
		    "pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	ck_assert_int_eq(inv_stale(inv), 0);
	/* A second open of the same file neither migrates nor fails. */
	{
		struct inv *i2;

		OK(inv_open(dbpath, INV_RDWR, &i2, &err_));
		inv_close(i2);
		OK(inv_open(dbpath, INV_RDONLY, &i2, &err_));
		inv_close(i2);
	}
	inv_close(NULL);
}
END_TEST

/*
 * A change opened on an SQLite file that is no inventory refuses and
 * leaves the file as it was: the events database named by mistake took
 * the inventory's later migrations (its versions count from 1 too), and
 * bootd then refused it as newer than its own; another program's file
 * took the whole schema.  A new, empty file is still made an inventory.
 */
START_TEST(test_open_not_an_inventory)
{
	struct bootd_error err;
	struct inv *i2 = NULL;
	char other[600];
	struct db *db;
	struct db_stmt *s;
	int row, k;
	static const char *const made[] = {
		"CREATE TABLE boot_event (id INTEGER PRIMARY KEY); "
		    "PRAGMA user_version = 3",
		"CREATE TABLE t (x); PRAGMA user_version = 0",
	};
	static const char *const why[] = {
		"(schema version 3 without its tables)",
		"(tables of another schema)",
	};

	snprintf(other, sizeof(other), "%s/other.db", dir);
	for (k = 0; k < 2; k++) {
		rm_db(other);
		ck_assert_int_eq(sql_exec(other, made[k]), 0);
		ck_assert_int_eq(inv_open(other, INV_RDWR, &i2, &err),
		    BOOTD_EDB);
		ck_assert_ptr_null(i2);
		ck_assert_msg(strstr(err.text, "is not a bootd inventory") &&
		    strstr(err.text, why[k]), "%s", err.text);
		db = own_db(other);
		OK(db_prepare(db, "SELECT (SELECT user_version FROM "
		    "pragma_user_version), (SELECT count(*) FROM sqlite_schema)",
		    &s, &err_));
		OK(db_step(s, &row, &err_));
		ck_assert_int_eq(db_column_int64(s, 0), k == 0 ? 3 : 0);
		ck_assert_int_eq(db_column_int64(s, 1), 1);
		db_close(db);
	}
	rm_db(other);
	ck_assert_int_eq(close(open(other, O_WRONLY | O_CREAT | O_EXCL,
	    0600)), 0);
	OK(inv_open(other, INV_RDWR, &i2, &err_));	/* empty: made one */
	inv_close(i2);
	OK(inv_open(other, INV_RDWR, &i2, &err_));
	inv_close(i2);
}
END_TEST

/* Foreign keys are on for a handle that did not migrate, too. */
START_TEST(test_fk_on_reopen)
{
	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_attr_set(inv, "web1", "k", "v", &err_));
	inv_close(inv);
	OK(inv_open(dbpath, INV_RDWR, &inv, &err_));
	OK(inv_host_remove(inv, "web1", &err_));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM nic"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM host_attr"), 0);
}
END_TEST

/* PRAGMA cache_size of inv's own connection (SQLite). */
static int64_t
cache_size(void)
{
	struct bootd_error err = { "" };
	struct db_stmt *s;
	int64_t v;
	int row;

	ck_assert_int_eq(db_prepare(inv->db, "PRAGMA cache_size", &s, &err),
	    BOOTD_OK);
	ck_assert_int_eq(db_step(s, &row, &err), BOOTD_OK);
	ck_assert_int_eq(row, 1);
	v = db_column_int64(s, 0);
	db_finalize(s);
	return v;
}

/* inv_cache_mib() sizes the handle's own page cache (SQLite only). */
START_TEST(test_cache_mib)
{
	if (inv->pg)
		return;		/* nothing to size: the server caches */
	ck_assert_int_eq(cache_size(), -2000);	/* SQLite's default */
	inv_cache_mib(inv, 16);
	ck_assert_int_eq(cache_size(), -16 * 1024);
	inv_cache_mib(inv, 0);	/* no size: left as it was */
	ck_assert_int_eq(cache_size(), -16 * 1024);
	host("web1.example.org", "52:54:00:00:00:01");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM host"), 1);
}
END_TEST

/*
 * A PostgreSQL URI that names no reachable server, or that libpq cannot
 * parse, fails with one line that names the URI with its password
 * masked and never holds the password itself; nothing is created (no
 * file named after it).  Needs no server: runs on both engines.
 */
START_TEST(test_open_uri_errors)
{
	static const char *const uris[] = {
		/* No server there (a socket directory that does not exist). */
		"postgresql://bootd:Sekr1tPw@/bootd?host=/nonexistent-bootd",
		"postgres:///bootd?host=/nonexistent-bootd&password=Sekr1tPw",
		/* libpq quotes what it cannot parse: the password, here. */
		"postgresql://bootd:Sekr1tPw%zz@localhost/bootd",
		"postgresql://bootd:Sekr1tPw@[::1/bootd",
		"postgresql:///bootd?password=Sekr1tPw%00",
	};
	struct bootd_error err;
	struct inv *i2;
	size_t k;
	enum inv_mode m;

	for (k = 0; k < N(uris); k++) {
		for (m = INV_RDONLY; m <= INV_CREATE; m++) {
			i2 = (struct inv *)&err;  /* set to NULL on failure */
#ifdef BOOTD_WITH_POSTGRESQL
			ck_assert_int_eq(inv_open(uris[k], m, &i2, &err),
			    BOOTD_EDB);
			ck_assert_ptr_nonnull(strstr(err.text,
			    "cannot open database"));
			ck_assert_ptr_nonnull(strstr(err.text, "***"));
#else
			ck_assert_int_eq(inv_open(uris[k], m, &i2, &err),
			    BOOTD_EINVAL);
#endif
			ck_assert_ptr_null(i2);
			assert_clean(&err);
			ck_assert_msg(strstr(err.text, "Sekr1t") == NULL,
			    "password in \"%s\"", err.text);
			ck_assert_int_eq(access("postgresql:", F_OK), -1);
			ck_assert_int_eq(access("postgres:", F_OK), -1);
		}
	}
}
END_TEST

/*
 * Every statement of the inventory's table prepares on the engine under
 * test: PostgreSQL refuses at prepare time what SQLite takes (a parameter
 * whose type it cannot tell, a function it lacks), also in statements no
 * other test happens to run.
 */
START_TEST(test_statements_prepare)
{
	struct bootd_error err = { "" };
	int id;

	for (id = 0; id < S__MAX; id++) {
		ck_assert_ptr_nonnull(sqltab[id]);
		ck_assert_msg(stmt(inv, id, &err) != NULL, "statement %d (%s): "
		    "%s", id, stmt_sql(inv, id), err.text);
	}
}
END_TEST

START_TEST(test_stale)
{
	char moved[160];

	ck_assert_int_eq(inv_stale(inv), 0);
	SQLITE_ONLY("a database on a server has no file to replace");
	snprintf(moved, sizeof(moved), "%s/moved.db", dir);
	ck_assert_int_eq(rename(dbpath, moved), 0);
	ck_assert_int_eq(inv_stale(inv), 1);
	/* Another file at the same path is not the one opened. */
	{
		struct inv *other;

		OK(inv_open(dbpath, INV_CREATE, &other, &err_));
		inv_close(other);
	}
	ck_assert_int_eq(inv_stale(inv), 1);
}
END_TEST

/*
 * The PostgreSQL schema: its migrations start at version 3 and reach the
 * SQLite inventory's latest.  A database without bootd's schema is
 * refused by INV_RDONLY and INV_RDWR (nothing made), a schema of every
 * older version is refused by INV_RDONLY and INV_RDWR and migrated by
 * INV_CREATE.
 */
START_TEST(test_migrate_pg)
{
	struct bootd_error err;
	struct inv *i2;
	struct inv_env *e;
	char want[160];
	int j, k, latest = inv_schema_latest();

	ck_assert_int_ge(pg_inv_nmigrations, 1);
	for (j = 0; j < pg_inv_nmigrations; j++)
		ck_assert_int_eq(pg_inv_migrations[j].version, j + 3);
	ck_assert_int_eq(pg_inv_migrations[pg_inv_nmigrations - 1].version,
	    latest);
	PG_ONLY("PostgreSQL's migrations need a server");
	inv_close(inv);
	inv = NULL;
	pg_reset();
	snprintf(want, sizeof(want), "has no bootd schema yet (schema "
	    "version 0): create it with \"bootctl init\"");
	ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err), BOOTD_EDB);
	ck_assert_ptr_nonnull(strstr(err.text, want));
	ck_assert_int_eq(inv_open(dbpath, INV_RDWR, &i2, &err), BOOTD_EDB);
	ck_assert_ptr_nonnull(strstr(err.text, want));
	ck_assert_int_eq(sql_int(TABLE_COUNT("schema_version")), 0);
	ck_assert_int_eq(sql_int(TABLE_COUNT("env")), 0);
	for (k = 0; k < pg_inv_nmigrations - 1; k++) {
		pg_reset();
		for (j = 0; j <= k; j++)
			ck_assert_int_eq(sql_exec(dbpath,
			    pg_inv_migrations[j].sql), 0);
		ck_assert_int_eq(sql_int(VERSION_SQL()),
		    pg_inv_migrations[k].version);
		snprintf(want, sizeof(want), "database schema version %d is "
		    "older than this bootd (%d): upgrade it with \"bootctl "
		    "init\"", pg_inv_migrations[k].version, latest);
		ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err),
		    BOOTD_EDB);
		ck_assert_str_eq(err.text, want);
		/*
		 * Only INV_CREATE (bootctl init) migrates a shared
		 * database: bootd's writers (INV_RDWR) must not upgrade
		 * the schema under the other sites' older bootd.
		 */
		ck_assert_int_eq(inv_open(dbpath, INV_RDWR, &i2, &err),
		    BOOTD_EDB);
		ck_assert_str_eq(err.text, want);
		ck_assert_int_eq(sql_int(VERSION_SQL()),
		    pg_inv_migrations[k].version);
		OK(inv_open(dbpath, INV_CREATE, &i2, &err_));
		OK(inv_env_get(i2, INV_DEFAULT_ENV, &e, &err_));
		inv_env_free(e);
		OK(inv_discovered_forget(i2, "52:54:00:00:00:01", NULL, NULL,
		    NOW, &err_));
		inv_close(i2);
		ck_assert_int_eq(sql_int(VERSION_SQL()), latest);
	}
}
END_TEST

/*
 * Processes that open an empty database with INV_CREATE at once make
 * its schema once: each waits for the migration before it, then finds
 * nothing to do.
 */
START_TEST(test_create_concurrent)
{
	pid_t pid[4];
	size_t i;
	int status;

	PG_ONLY("SQLite's BEGIN IMMEDIATE serializes migrations");
	inv_close(inv);
	inv = NULL;
	pg_reset();
	for (i = 0; i < N(pid); i++) {
		ck_assert_int_ne(pid[i] = fork(), -1);
		if (pid[i] == 0) {
			struct bootd_error err = { "" };
			struct inv *i2;

			if (inv_open(dbpath, INV_CREATE, &i2, &err) !=
			    BOOTD_OK) {
				fprintf(stderr, "child: %s\n", err.text);
				_exit(1);
			}
			inv_close(i2);
			_exit(0);
		}
	}
	for (i = 0; i < N(pid); i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "an INV_CREATE failed (status %d)", status);
	}
	ck_assert_int_eq(sql_int(VERSION_SQL()), inv_schema_latest());
	ck_assert_int_eq(sql_int("SELECT count(*) FROM env"), 1);
}
END_TEST

START_TEST(test_version_newer)
{
	struct inv *i2 = NULL;
	struct bootd_error err;
	char sql[64], want[160];

	inv_close(inv);
	inv = NULL;
	snprintf(sql, sizeof(sql), pguri != NULL ? "UPDATE schema_version "
	    "SET version = %d" : "PRAGMA user_version = %d",
	    inv_schema_latest() + 1);
	ck_assert_int_eq(sql_exec(dbpath, sql), SQLITE_OK);
	snprintf(want, sizeof(want), "database schema version %d is newer "
	    "than this bootd (%d); upgrade bootd", inv_schema_latest() + 1,
	    inv_schema_latest());
	ck_assert_int_eq(inv_open(dbpath, INV_RDWR, &i2, &err),
	    BOOTD_EVERSION);
	ck_assert_str_eq(err.text, want);
	ck_assert_ptr_null(i2);
	ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err),
	    BOOTD_EVERSION);
	ck_assert_int_eq(inv_open(dbpath, INV_CREATE, &i2, &err),
	    BOOTD_EVERSION);
	ck_assert_int_eq(sql_int(VERSION_SQL()),
	    inv_schema_latest() + 1);
}
END_TEST

START_TEST(test_garbage_file)
{
	struct inv *i2 = NULL;
	struct bootd_error err;
	char junk[8192];
	size_t i;
	int fd;

	SQLITE_ONLY("about files that are no SQLite database");
	inv_close(inv);
	inv = NULL;
	rm_db(dbpath);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 % 251);
	memcpy(junk, "not a database\n", 15);
	ck_assert_int_ne(fd = open(dbpath, O_WRONLY | O_CREAT | O_TRUNC,
	    0600), -1);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (int)sizeof(junk));
	close(fd);
	ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err), BOOTD_EDB);
	ck_assert_ptr_null(i2);
	assert_clean(&err);
	ck_assert_ptr_nonnull(strstr(err.text, "not"));
	ck_assert_int_eq(inv_open(dbpath, INV_RDWR, &i2, &err), BOOTD_EDB);
	ck_assert_int_eq(inv_open(dbpath, INV_CREATE, &i2, &err), BOOTD_EDB);
	assert_clean(&err);
}
END_TEST

/*
 * For every version k below the latest: build a database at version k by
 * applying migrations 1..k by hand, then inv_open() migrates it.
 */
START_TEST(test_migrate_each_version)
{
	struct inv *i2;
	struct bootd_error err;
	sqlite3 *db;
	char sql[64];
	int k, j, v;

	SQLITE_ONLY("the SQLite migrations (test_migrate_pg has PostgreSQL's)");
	inv_close(inv);
	inv = NULL;
	ck_assert_int_eq(inv_nmigrations, inv_schema_latest());
	for (j = 0; j < inv_nmigrations; j++)
		ck_assert_int_eq(inv_migrations[j].version, j + 1);
	for (k = 0; k < inv_schema_latest(); k++) {
		rm_db(dbpath);
		ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
		for (j = 0; j < k; j++)
			ck_assert_int_eq(sqlite3_exec(db,
			    inv_migrations[j].sql, NULL, NULL, NULL),
			    SQLITE_OK);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", k);
		ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(db);

		/* Read-only refuses an outdated schema and changes nothing. */
		ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err),
		    BOOTD_EDB);
		ck_assert_ptr_nonnull(strstr(err.text, k == 0 ?
		    "has no bootd schema yet" : "older"));
		ck_assert_ptr_nonnull(strstr(err.text, "\"bootctl init\""));
		ck_assert_int_eq(sql_int(VERSION_SQL()), k);

		ck_assert_msg(inv_open(dbpath, INV_RDWR, &i2, &err) ==
		    BOOTD_OK, "from version %d: %s", k, err.text);
		OK(inv_schema_version(i2, &v, &err_));
		ck_assert_int_eq(v, inv_schema_latest());
		inv = i2;
		host("web1.example.org", "52:54:00:00:00:01");
		std_dist("d1");
		OK(inv_set_reinstall(inv, "web1", "d1", NOW, 60, NULL, &err_));
		inv_close(inv);
		inv = NULL;
		ck_assert_int_eq(sql_int("SELECT count(*) FROM env WHERE "
		    "name = 'default'"), 1);
	}
}
END_TEST

/* The schema objects of the database at path, as text. */
static char *
schema_of(const char *path)
{
	struct buf b = { 0 };
	sqlite3 *db;
	sqlite3_stmt *s;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, "
	    "sql FROM sqlite_master ORDER BY type, name", -1, &s, NULL),
	    SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		buf_printf(&b, "%s %s %s\n%s\n", sqlite3_column_text(s, 0),
		    sqlite3_column_text(s, 1), sqlite3_column_text(s, 2),
		    sqlite3_column_text(s, 3) ? (const char *)
		    sqlite3_column_text(s, 3) : "");
	sqlite3_finalize(s);
	sqlite3_close(db);
	return b.data;
}

/*
 * tests/data/inv-v1.sql is a populated version-1 database, frozen: its
 * schema is what migration 1 makes, and opening it read-write keeps every
 * row reachable through the API whatever migrations follow.
 */
START_TEST(test_migrate_v1_fixture)
{
	char *sql, *want, *got, other[160];
	struct inv_host *h;
	struct inv_boot b;
	struct audit_seen as = { 0, "" };
	struct inv_counts c;
	sqlite3 *db;

	SQLITE_ONLY("a version 1 inventory is an SQLite file");
	inv_close(inv);
	inv = NULL;
	rm_db(dbpath);
	sql = source_file("tests/data/inv-v1.sql");
	ck_assert_int_eq(sql_exec(dbpath, sql), SQLITE_OK);
	free(sql);
	ck_assert_int_eq(sql_int(VERSION_SQL()), 1);

	/* Migration 1 still makes exactly the frozen schema. */
	snprintf(other, sizeof(other), "%s/other.db", dir);
	ck_assert_int_eq(sqlite3_open(other, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, inv_migrations[0].sql, NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	want = schema_of(dbpath);
	got = schema_of(other);
	ck_assert_ptr_nonnull(strstr(want, "CREATE TABLE nic"));
	ck_assert_str_eq(got, want);
	free(want);
	free(got);

	OK(inv_open(dbpath, INV_RDWR, &inv, &err_));
	ck_assert_int_eq(sql_int(VERSION_SQL()), inv_schema_latest());
	OK(inv_host_get(inv, "web1", &h, &err_));
	ck_assert_str_eq(h->fqdn, "web1.example.org");
	ck_assert_str_eq(h->env, "prod");
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	ck_assert_uint_eq(h->nmacs, 2);
	ck_assert_str_eq(h->attrs[0].key, "role");
	inv_host_free(h);
	OK(inv_lookup(inv, "52-54-00-00-00-11", NOW, NULL, 0, &b, &err_));
	ck_assert_str_eq(b.host->token, "0123456789abcdef0123456789abcdef");
	ck_assert_ptr_nonnull(b.dist);
	ck_assert_uint_eq(b.dist->ninitrds, 2);
	ck_assert_str_eq(b.dist->initrds[1],
	    "http://boot.example.org/images/firmware.cpio.gz");
	inv_boot_free(&b);
	OK(inv_audit_each(inv, NULL, audit_cb, &as, &err_));
	ck_assert_int_ge(as.n, 2);
	OK(inv_counts(inv, &c, &err_));
	ck_assert_int_eq(c.hosts, 2);
	ck_assert_int_eq(c.nics, 3);
	ck_assert_int_eq(c.installing, 1);
	/* Boot events left the inventory (they move to the events file:
	 * test_events); what version 1 recorded waits in legacy_* tables. */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('boot_event', 'discovered')"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM legacy_boot_event"), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM legacy_discovered"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM legacy_seen"), 2);
	/* The revoked token stays refused, the live one works once. */
	ck_assert_int_eq(inv_install_done(inv,
	    "00000000000000000000000000000001", NULL, 0, NOW, NULL, NULL),
	    BOOTD_EEXPIRED);
	OK(inv_install_done(inv, "0123456789abcdef0123456789abcdef", NULL, 0,
	    NOW, NULL, &err_));
	ck_assert_int_eq(inv_install_done(inv,
	    "0123456789abcdef0123456789abcdef", NULL, 0, NOW, NULL, NULL),
	    BOOTD_EEXPIRED);
}
END_TEST

/* A failing migration leaves the database at its old version. */
START_TEST(test_migrate_failure_rolls_back)
{
	struct inv *i2;
	struct bootd_error err;

	inv_close(inv);
	inv = NULL;
	if (pguri != NULL)
		pg_reset();
	else
		rm_db(dbpath);
	if (pguri != NULL) {
		/* Version 0 but a table in the way of the first migration. */
		ck_assert_int_eq(sql_exec(dbpath, "CREATE TABLE host "
		    "(x integer); CREATE TABLE keepme (y integer)"), 0);
	} else {
		/*
		 * An inventory of version 1 (a file with tables of another
		 * schema is refused before any migration:
		 * test_open_not_an_inventory) with a column in the way of
		 * the second migration.
		 */
		ck_assert_int_eq(sql_exec(dbpath, inv_migrations[0].sql), 0);
		ck_assert_int_eq(sql_exec(dbpath, "PRAGMA user_version = 1; "
		    "ALTER TABLE token ADD COLUMN fetched_from TEXT; "
		    "CREATE TABLE keepme (y integer)"), 0);
	}
	/* (PostgreSQL: only INV_CREATE makes a schema where none is.) */
	ck_assert_int_eq(inv_open(dbpath, pguri != NULL ? INV_CREATE :
	    INV_RDWR, &i2, &err), BOOTD_EDB);
	ck_assert_ptr_nonnull(strstr(err.text, "migration"));
	assert_clean(&err);
	ck_assert_int_eq(sql_int(TABLE_COUNT("schema_version")),
	    pguri != NULL ? 0 : 1);
	if (pguri == NULL) {
		ck_assert_int_eq(sql_int(VERSION_SQL()), 1);
		ck_assert_int_eq(sql_int("SELECT count(*) FROM "
		    "pragma_table_info('token') WHERE name = 'fetched_at'"), 0);
	} else
		ck_assert_int_eq(sql_int(TABLE_COUNT("env")), 0);
	ck_assert_int_eq(sql_int(TABLE_COUNT("keepme")), 1);
}
END_TEST

/* The constraints live in the schema: raw SQL cannot break them. */
START_TEST(test_schema_constraints)
{
	static const char *const bad[] = {
		"INSERT INTO nic (mac, host) VALUES ('52:54:00:AB:CD:EF', 1)",
		"INSERT INTO nic (mac, host) VALUES ('52-54-00-ab-cd-ef', 1)",
		"INSERT INTO nic (mac, host) VALUES ('525400abcdef', 1)",
		"INSERT INTO nic (mac, host) VALUES ('52:54:00:ab:cd:ef ', 1)",
		"INSERT INTO nic (mac, host) VALUES ('52:54:00:ab:cd:ef', 99)",
		"UPDATE host SET action = 'install' WHERE id = 1",
		"UPDATE host SET action = 'reboot' WHERE id = 1",
		"INSERT INTO host (fqdn) VALUES ('UPPER.example.org')",
		"INSERT INTO host (fqdn) VALUES ('web1.example.org')",
		"INSERT INTO host (fqdn, env) VALUES ('x.org', 'noenv')",
		"UPDATE host SET dist = 'nodist' WHERE id = 1",
		"DELETE FROM dist WHERE name = 'd1'",
		"DELETE FROM env WHERE name = 'default'",
		"INSERT INTO host_attr VALUES (1, 'k', 'a b')",
		"INSERT INTO host_attr VALUES (1, 'k', '${x}')",
		"INSERT INTO host_attr VALUES (1, 'K', 'v')",
		("INSERT INTO token (token, host, created, expires) VALUES "
		    "('XYZ', 1, 0, 1)"),
		"UPDATE token SET fetched_from = '10.0.0.1'",
		"UPDATE token SET fetched_from = '10.0.0.1;x', fetched_at = 1",
		"UPDATE token SET fetched_from = 'host', fetched_at = 1",
		"UPDATE token SET fetched_at = 1",
	};
	struct inv_host *h;
	struct bootd_error err;
	char *before, *after;
	struct db *db;
	size_t i;

	host("web1.example.org", "52:54:00:00:00:01");
	host("web2.example.org", "52:54:00:00:00:02");
	std_dist("d1");
	OK(inv_host_set_dist(inv, "web2", "d1", &err_));
	OK(inv_set_reinstall(inv, "web2", "d1", NOW, 60, NULL, &err_));
	before = dump();
	/* db_open() turns SQLite's foreign keys on. */
	db = own_db(dbpath);
	for (i = 0; i < N(bad); i++) {
		ck_assert_int_ne(db_exec(db, bad[i], &err), BOOTD_OK);
		ck_assert_msg(db_errclass(db) == DB_ERR_CONSTRAINT, "not "
		    "refused by a constraint: %s (%s)", bad[i], err.text);
	}
	/* A second unused token for a host: the partial unique index. */
	ck_assert_int_eq(db_exec(db, "INSERT INTO token (token, host, "
	    "created, expires) VALUES ('0123456789abcdef0123456789abcdef', "
	    "2, 0, 1)", &err), BOOTD_EEXIST);
	/* Clearing the dist of an installing host. */
	ck_assert_int_ne(db_exec(db, "UPDATE host SET dist = NULL WHERE "
	    "id = 2", &err), BOOTD_OK);
	ck_assert_int_eq(db_errclass(db), DB_ERR_CONSTRAINT);
	db_close(db);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* And removing a host cascades to its NICs. */
	OK(inv_host_remove(inv, "web2", &err_));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM nic WHERE host = 2"),
	    0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM token"), 0);
	ck_assert_int_eq(inv_host_get(inv, "web2", &h, NULL),
	    BOOTD_ENOTFOUND);
}
END_TEST


static Suite *
inv_schema_suite(void)
{
	Suite *s = suite_create("inv");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_open_create);
	tcase_add_test(tc, test_fk_on_reopen);
	tcase_add_test(tc, test_cache_mib);
	if (pguri == NULL)
		tcase_add_test(tc, test_open_not_an_inventory);
	tcase_add_test(tc, test_open_uri_errors);
	tcase_add_test(tc, test_statements_prepare);
	tcase_add_test(tc, test_stale);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_version_newer);
	tcase_add_test(tc, test_garbage_file);
	tcase_add_test(tc, test_migrate_each_version);
	tcase_add_test(tc, test_migrate_v1_fixture);
	tcase_add_test(tc, test_migrate_failure_rolls_back);
	tcase_add_test(tc, test_migrate_pg);
	tcase_add_test(tc, test_create_concurrent);
	tcase_add_test(tc, test_schema_constraints);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return inv_test_main(inv_schema_suite);
}
