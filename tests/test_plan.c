/*
 * test_plan.c - every statement of the boot lookup is an indexed search
 *
 * A boot costs the same on 1k hosts as on 1M only while each statement
 * inv_lookup() runs finds its rows through a primary key or an index.
 * inv_lookup_plans() hands over the real SQL of the lookup and SQLite's
 * EXPLAIN QUERY PLAN for it; each line of a plan must be a SEARCH using an
 * index.  A full scan ("SCAN t", "SCAN TABLE t" before SQLite 3.36, also
 * "SCAN t USING COVERING INDEX i", which reads the whole index), a sort
 * ("USE TEMP B-TREE") or an index SQLite would build for each run
 * ("AUTOMATIC ... INDEX") fails the test.  Plans are checked on an empty
 * database and on one with rows and ANALYZE statistics, which can change
 * the planner's choices.
 *
 * When BOOTD_TEST_PG holds a PostgreSQL URI (tests/pg.py exec), the same
 * on that database: inv_lookup_plans() gives PostgreSQL's generic plan
 * made with sequential scans and sorts priced out, and a "Seq Scan" (no
 * index can serve the statement) or a "Sort" below the top of the plan
 * (one that feeds a join) fails the test.  A Sort at the top orders the
 * rows of one host: PostgreSQL keeps the order of a nested loop's outer
 * side only, and the outer side here is the NIC found by its key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "check_util.h"
#include "db.h"
#include "inv.h"

#define HOSTS	3000	/* rows for the statistics */

static char		 dir[64];
static char		 dbpath[512];	/* the file, or the URI */
static const char	*pguri;		/* BOOTD_TEST_PG, or NULL */
static struct inv	*inv;

/* SQLite: remove the case's inventory and its directory. */
static void
remove_db(void)
{
	if (pguri != NULL)
		return;
	rm_db(dbpath);
	rmdir(dir);
}

/* Run sql on the PostgreSQL database with a connection of our own. */
static void
pg_exec(const char *sql)
{
	struct bootd_error err = { "" };
	struct db *db;

	ck_assert_msg(db_open(pguri, DB_RDWR, &db, &err) == BOOTD_OK, "%s",
	    err.text);
	ck_assert_msg(db_exec(db, sql, &err) == BOOTD_OK, "%s: %s", sql,
	    err.text);
	db_close(db);
}

/* Create the database at the latest schema; leave it closed. */
static void
create_db(void)
{
	struct bootd_error err = { "" };
	int version = -1;

	if (pguri != NULL) {
		/* The database emptied: nothing of bootd's left in it. */
		snprintf(dbpath, sizeof(dbpath), "%s", pguri);
		pg_exec("DROP SCHEMA IF EXISTS events CASCADE; DROP SCHEMA "
		    "IF EXISTS public CASCADE; CREATE SCHEMA public");
	} else {
		snprintf(dir, sizeof(dir), "/tmp/bootd-test-plan-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(dir));
		snprintf(dbpath, sizeof(dbpath), "%s/inv.db", dir);
	}
	ck_assert_msg(inv_open(dbpath, INV_CREATE, &inv, &err) == BOOTD_OK,
	    "%s", err.text);
	ck_assert_int_eq(inv_schema_version(inv, &version, &err), BOOTD_OK);
	ck_assert_int_eq(version, inv_schema_latest());
	inv_close(inv);
	inv = NULL;
}

/* Open it as the daemon does, read-only. */
static void
open_ro(void)
{
	struct bootd_error err = { "" };

	ck_assert_msg(inv_open(dbpath, INV_RDONLY, &inv, &err) == BOOTD_OK,
	    "%s", err.text);
}

static void
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK,
	    "%s: %s", sql, msg != NULL ? msg : "?");
}

/*
 * Fill the database with HOSTS hosts (every tenth installing, with a
 * token), two attributes each, three distributions, and run ANALYZE.
 */
static void
populate(void)
{
	sqlite3 *db;
	char sql[512];
	int i;

	if (pguri != NULL) {
		/* The same rows; host ids given, as SQLite's are. */
		pg_exec("INSERT INTO dist (name, kernel, cmdline) SELECT "
		    "'d' || g, 'http://b/{{dist}}/linux', 'role={{attr.role}}' "
		    "FROM generate_series(0, 2) g; "
		    "INSERT INTO dist_initrd SELECT 'd' || g, p, "
		    "'http://b/i' || p FROM generate_series(0, 2) g, "
		    "generate_series(0, 1) p; "
		    "INSERT INTO host (id, fqdn, action, dist) OVERRIDING "
		    "SYSTEM VALUE SELECT g, 'h' || g || '.example.org', "
		    "CASE WHEN g % 10 = 0 THEN 'install' ELSE 'local' END, "
		    "'d' || g % 3 FROM generate_series(1, 3000) g; "
		    "INSERT INTO nic SELECT '52:54:00:00:' || "
		    "lpad(to_hex(g >> 8 & 255), 2, '0') || ':' || "
		    "lpad(to_hex(g & 255), 2, '0'), g "
		    "FROM generate_series(1, 3000) g; "
		    "INSERT INTO host_attr SELECT g, 'role', 'web' "
		    "FROM generate_series(1, 3000) g; "
		    "INSERT INTO host_attr SELECT g, 'rack', 'r' || g % 40 "
		    "FROM generate_series(1, 3000) g; "
		    "INSERT INTO token (token, host, created, expires) SELECT "
		    "lpad(to_hex(g), 32, '0'), g, 1, 2 "
		    "FROM generate_series(10, 3000, 10) g; "
		    "ANALYZE");
		return;
	}
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	exec(db, "BEGIN");
	for (i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO dist (name, kernel, "
		    "cmdline) VALUES ('d%d', 'http://b/{{dist}}/linux', "
		    "'role={{attr.role}}'); INSERT INTO dist_initrd VALUES "
		    "('d%d', 0, 'http://b/i0'), ('d%d', 1, 'http://b/i1')",
		    i, i, i);
		exec(db, sql);
	}
	for (i = 1; i <= HOSTS; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO host (id, fqdn, action, "
		    "dist) VALUES (%d, 'h%d.example.org', '%s', 'd%d'); "
		    "INSERT INTO nic VALUES ('52:54:00:00:%02x:%02x', %d); "
		    "INSERT INTO host_attr VALUES (%d, 'role', 'web'), "
		    "(%d, 'rack', 'r%d')", i, i, i % 10 ? "local" : "install",
		    i % 3, (i >> 8) & 0xff, i & 0xff, i, i, i, i % 40);
		exec(db, sql);
		if (i % 10 == 0) {
			snprintf(sql, sizeof(sql), "INSERT INTO token (token, "
			    "host, created, expires) VALUES ('%032x', %d, 1, "
			    "2)", i, i);
			exec(db, sql);
		}
	}
	exec(db, "COMMIT");
	exec(db, "ANALYZE");
	sqlite3_close(db);
}

static void
setup_empty(void)
{
	create_db();
	open_ro();
}

static void
setup_analyzed(void)
{
	create_db();
	populate();
	open_ro();
}

static void
teardown(void)
{
	inv_close(inv);
	inv = NULL;
	remove_db();
}

/*
 * The same for PostgreSQL's EXPLAIN: the first line with a sequential
 * scan or a sort below the plan's top node, or none of the plan when it
 * has no index scan at all.
 */
static int
plan_unindexed_pg(const char *plan, char *bad, size_t size)
{
	const char *line, *end, *node;
	char l[256];

	for (line = plan; *line != '\0'; line = *end ? end + 1 : end) {
		if ((end = strchr(line, '\n')) == NULL)
			end = line + strlen(line);
		snprintf(l, sizeof(l), "%.*s", (int)(end - line), line);
		node = l + strspn(l, " ");
		if (strncmp(node, "->", 2) == 0)
			node += 2 + strspn(node + 2, " ");
		/* A node's line: "Sort  (cost=...)"; "Sort Key: ..." is not. */
		if (strstr(l, "Seq Scan") != NULL || (line != plan &&
		    (strncmp(node, "Sort  (", 7) == 0 ||
		    strncmp(node, "Incremental Sort  (", 19) == 0))) {
			snprintf(bad, size, "%s", l);
			return 1;
		}
	}
	if (strstr(plan, "Index") == NULL) {
		snprintf(bad, size, "no index scan");
		return 1;
	}
	return 0;
}

/*
 * The first line of plan that is not an indexed search, copied into bad
 * (size bytes); 0 when every line is one.
 */
static int
plan_unindexed(const char *plan, char *bad, size_t size)
{
	const char *line, *end;
	char l[256];

	for (line = plan; *line != '\0'; line = *end ? end + 1 : end) {
		if ((end = strchr(line, '\n')) == NULL)
			end = line + strlen(line);
		snprintf(l, sizeof(l), "%.*s", (int)(end - line), line);
		if (strncmp(l, "SEARCH ", 7) != 0 ||
		    strstr(l, " USING ") == NULL ||
		    strstr(l, "AUTOMATIC") != NULL ||
		    strstr(l, "TEMP B-TREE") != NULL) {
			snprintf(bad, size, "%s", l);
			return 1;
		}
	}
	return 0;
}

struct seen {
	int	n;		/* statements checked */
	char	failure[1024];
};

static int
check_plan(const char *sql, const char *plan, void *arg)
{
	struct seen *s = arg;
	char bad[256];

	s->n++;
	if (*plan == '\0')
		snprintf(s->failure, sizeof(s->failure), "no plan for %s", sql);
	else if (pguri != NULL ? plan_unindexed_pg(plan, bad, sizeof(bad)) :
	    plan_unindexed(plan, bad, sizeof(bad)))
		snprintf(s->failure, sizeof(s->failure), "\"%s\" in the plan "
		    "of %s", bad, sql);
	return s->failure[0] != '\0';
}

static void
assert_lookup_indexed(void)
{
	struct bootd_error err = { "" };
	struct seen s = { 0, "" };

	ck_assert_msg(inv_lookup_plans(inv, check_plan, &s, &err) ==
	    BOOTD_OK, "%s", err.text);
	ck_assert_msg(s.failure[0] == '\0', "%s", s.failure);
	ck_assert_int_ge(s.n, 2);	/* the host, a distribution */
}

START_TEST(test_lookup_indexed_empty)
{
	assert_lookup_indexed();
}
END_TEST

START_TEST(test_lookup_indexed_analyzed)
{
	struct bootd_error err = { "" };
	struct inv_boot b;

	assert_lookup_indexed();
	/* The data is what the plans were made for: a real lookup. */
	ck_assert_int_eq(inv_lookup(inv, "52:54:00:00:00:0a", 1, NULL, 0, &b,
	    &err), BOOTD_OK);
	ck_assert_str_eq(b.host->fqdn, "h10.example.org");
	ck_assert_ptr_nonnull(b.dist);
	ck_assert_uint_eq(b.dist->ninitrds, 2);
	ck_assert_uint_eq(b.host->nattrs, 2);
	inv_boot_free(&b);
}
END_TEST

/* The check itself tells a scan, a sort and an automatic index. */
START_TEST(test_checker_refuses)
{
	const char *bad[] = {
		"SEARCH n USING PRIMARY KEY (mac=?)\nSCAN h\n",
		"SCAN TABLE host\n",
		"SCAN a USING COVERING INDEX sqlite_autoindex_host_attr_1\n",
		("SEARCH h USING INTEGER PRIMARY KEY (rowid=?)\n"
		    "USE TEMP B-TREE FOR ORDER BY\n"),
		"SEARCH t USING AUTOMATIC COVERING INDEX (host=?)\n",
	};
	const char *bad_pg[] = {
		("Nested Loop\n  ->  Index Scan using nic_pkey on nic n\n"
		    "  ->  Seq Scan on host h\n"),
		("Merge Join\n  ->  Sort  (cost=1..2)\n        Sort Key: h.id\n"
		    "        ->  Index Scan using x on y\n"),
		"Result\n  One-Time Filter: false\n",
	};
	sqlite3 *db;
	sqlite3_stmt *s;
	char plan[1024] = "", line[256];
	size_t i;

	if (pguri != NULL) {
		struct bootd_error err = { "" };
		struct db *pg;
		struct db_stmt *st;
		int row;

		for (i = 0; i < sizeof(bad_pg) / sizeof(bad_pg[0]); i++)
			ck_assert_msg(plan_unindexed_pg(bad_pg[i], line,
			    sizeof(line)), "accepted: %s", bad_pg[i]);
		ck_assert_int_eq(plan_unindexed_pg("Sort  (cost=1..2)\n  "
		    "Sort Key: a.key\n  ->  Nested Loop\n        ->  "
		    "Index Scan using nic_pkey on nic n\n              Index "
		    "Cond: (mac = $1)\n", line, sizeof(line)), 0);
		/* A real plan of an unindexed query on this PostgreSQL. */
		ck_assert_int_eq(db_open(pguri, DB_RDWR, &pg, &err), BOOTD_OK);
		ck_assert_int_eq(db_exec(pg, "SET enable_seqscan = off", &err),
		    BOOTD_OK);
		ck_assert_int_eq(db_prepare(pg, "EXPLAIN SELECT fqdn FROM host "
		    "WHERE action = 'x'", &st, &err), BOOTD_OK);
		while (db_step(st, &row, &err) == BOOTD_OK && row)
			snprintf(plan + strlen(plan), sizeof(plan) -
			    strlen(plan), "%s\n", db_column_text(st, 0));
		db_close(pg);
		ck_assert_msg(plan_unindexed_pg(plan, line, sizeof(line)),
		    "accepted: %s", plan);
		return;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(plan_unindexed(bad[i], line, sizeof(line)),
		    "accepted: %s", bad[i]);
	ck_assert_int_eq(plan_unindexed("SEARCH n USING PRIMARY KEY "
	    "(mac=?)\nSEARCH h USING INTEGER PRIMARY KEY (rowid=?)\n", line,
	    sizeof(line)), 0);

	/* And a real plan of an unindexed query on this SQLite. */
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT "
	    "fqdn FROM host WHERE action = 'x'", -1, &s, NULL),
	    SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		snprintf(plan + strlen(plan), sizeof(plan) - strlen(plan),
		    "%s\n", (const char *)sqlite3_column_text(s, 3));
	sqlite3_finalize(s);
	sqlite3_close(db);
	ck_assert_msg(plan_unindexed(plan, line, sizeof(line)),
	    "accepted: %s", plan);
}
END_TEST

static Suite *
plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc;

	tc = tcase_create("empty");
	tcase_add_checked_fixture(tc, setup_empty, teardown);
	tcase_add_test(tc, test_lookup_indexed_empty);
	tcase_add_test(tc, test_checker_refuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("analyzed");
	tcase_add_checked_fixture(tc, setup_analyzed, teardown);
	tcase_add_test(tc, test_lookup_indexed_analyzed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if ((pguri = getenv("BOOTD_TEST_PG")) != NULL && *pguri == '\0')
		pguri = NULL;
	if (pguri == NULL)
		printf("BOOTD_TEST_PG not set: SQLite only\n");

	return check_run(plan_suite());
}
