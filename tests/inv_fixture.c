/*
 * inv_fixture.c - the fixture, helpers and main() of the test_inv_*.c
 * programs: the inventory's tests, on real SQLite files under /tmp and,
 * when BOOTD_TEST_PG holds a PostgreSQL URI (tests/pg.py exec), on a
 * database of that server: bootd_test_icu, made with ICU en-US as its
 * default collation, so that nothing bootd sorts depends on the
 * database's.  Each test then starts from it emptied (its schemas public
 * and events dropped) instead of a new file.  Tests about what only an
 * SQLite file has (modes, WAL, a replaced file, PRAGMAs, the SQLite
 * migrations) skip themselves there, saying so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "buf.h"
#include "check_util.h"
#include "db.h"
#include "inv.h"
#include "inv_fixture.h"

char		 dir[64];
char		 dbpath[512];
const char	*pguri;
const char	*sburi;
struct inv	*inv;

/* Fixture -------------------------------------------------------------- */

static void
setup_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/bootd-test-inv-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/inv.db", dir);
}

void
teardown_dir(void)
{
	char p[256];

	inv_close(inv);
	inv = NULL;
	rm_db(dbpath);
	snprintf(p, sizeof(p), "%s/other.db", dir);
	rm_db(p);
	snprintf(p, sizeof(p), "%s/moved.db", dir);
	rm_db(p);
	rmdir(dir);
}

/* Empty the PostgreSQL database: nothing of bootd's left in it. */
void
pg_reset(void)
{
	struct bootd_error err = { "" };
	struct db *db;

	ck_assert_msg(db_open(pguri, DB_RDWR, &db, &err) == BOOTD_OK, "%s",
	    err.text);
	ck_assert_msg(db_exec(db, "DROP SCHEMA IF EXISTS events CASCADE; "
	    "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public",
	    &err) == BOOTD_OK, "%s", err.text);
	db_close(db);
}

void
setup(void)
{
	struct bootd_error err = { "" };

	setup_dir();
	if (pguri != NULL) {
		pg_reset();
		snprintf(dbpath, sizeof(dbpath), "%s", pguri);
	}
	ck_assert_msg(inv_open(dbpath, INV_CREATE, &inv, &err) == BOOTD_OK,
	    "%s", err.text);
}

/* Helpers -------------------------------------------------------------- */

/* An error text is one line of printable ASCII. */
void
assert_clean(const struct bootd_error *err)
{
	size_t i;

	ck_assert_str_ne(err->text, "");
	for (i = 0; err->text[i] != '\0'; i++)
		ck_assert_msg((unsigned char)err->text[i] >= 0x20 &&
		    (unsigned char)err->text[i] < 0x7f,
		    "raw byte 0x%02x in \"%s\"", (unsigned char)err->text[i],
		    err->text);
}

void
host(const char *fqdn, const char *mac)
{
	const char *macs[1] = { mac };
	struct bootd_error err = { "" };

	ck_assert_msg(inv_host_add(inv, fqdn, macs, 1, NULL, &err) ==
	    BOOTD_OK, "%s", err.text);
}

void
dist(const char *name, const char *kernel, const char *initrd,
    const char *cmdline)
{
	char *initrds[1] = { (char *)initrd };
	struct inv_dist d = { (char *)name, (char *)kernel, initrds, 1,
	    (char *)cmdline };
	struct bootd_error err = { "" };

	ck_assert_msg(inv_dist_add(inv, &d, &err) == BOOTD_OK, "%s",
	    err.text);
}

void
std_dist(const char *name)
{
	dist(name, "http://boot/images/{{dist}}/linux",
	    "http://boot/images/{{dist}}/initrd.gz",
	    "auto=true url={{base_url}}/preseed/{{fqdn}}");
}

/* A connection of the test's own to the database under test. */
struct db *
own_db(const char *path)
{
	struct bootd_error err = { "" };
	struct db *db;

	ck_assert_msg(db_open(path, DB_CREATE, &db, &err) == BOOTD_OK, "%s",
	    err.text);
	return db;
}

/* Everything in the database, as text, in a fixed order. */
char *
dump(void)
{
	static const char *const q[] = {
		"SELECT name, unix_group FROM env ORDER BY name",
		"SELECT name, kernel, cmdline FROM dist ORDER BY name",
		"SELECT dist, pos, url FROM dist_initrd ORDER BY dist, pos",
		"SELECT id, fqdn, env, action, dist FROM host ORDER BY id",
		"SELECT mac, host FROM nic ORDER BY mac",
		"SELECT host, key, value FROM host_attr ORDER BY host, key",
		("SELECT token, host, created, expires, used_at, "
		    "revoked, fetched_from, fetched_at "
		    "FROM token ORDER BY token"),
		("SELECT id, time, actor, op, object, old, new "
		    "FROM audit ORDER BY id"),
		NULL,	/* the schema version */
	};
	struct bootd_error err = { "" };
	struct buf b = { 0 };
	struct db *db = own_db(dbpath);
	struct db_stmt *s;
	const char *t;
	size_t i;
	int c, row;

	for (i = 0; i < N(q); i++) {
		ck_assert_msg(db_prepare(db, q[i] != NULL ? q[i] :
		    VERSION_SQL(), &s, &err) == BOOTD_OK, "%s", err.text);
		buf_printf(&b, "[%zu]\n", i);
		while (db_step(s, &row, &err) == BOOTD_OK && row) {
			for (c = 0; c < db_column_count(s); c++) {
				t = db_column_text(s, c);
				buf_printf(&b, "%s|", t != NULL ? t : "NULL");
			}
			buf_puts(&b, "\n");
		}
		db_finalize(s);
	}
	db_close(db);
	ck_assert(!buf_failed(&b));
	return b.data;
}

long long
sql_int(const char *sql)
{
	struct bootd_error err = { "" };
	struct db *db = own_db(dbpath);
	struct db_stmt *s;
	long long v = -1;
	int row;

	ck_assert_msg(db_prepare(db, sql, &s, &err) == BOOTD_OK, "%s: %s",
	    sql, err.text);
	if (db_step(s, &row, &err) == BOOTD_OK && row)
		v = db_column_int64(s, 0);
	db_close(db);
	return v;
}

/*
 * Run sql on the database with a connection of our own (foreign keys
 * on): 0 (SQLITE_OK), or 1 when it fails.
 */
int
sql_exec(const char *path, const char *sql)
{
	struct db *db = own_db(path);
	int rc;

	rc = db_exec(db, sql, NULL) == BOOTD_OK ? 0 : 1;
	db_close(db);
	return rc;
}

/*
 * Make every op (INSERT, UPDATE...) on table fail with msg, by a trigger
 * called name; refusal_drop() removes it.
 */
void
refusal(const char *name, const char *op, const char *table, const char *msg)
{
	char sql[512];

	if (pguri != NULL)
		snprintf(sql, sizeof(sql), "CREATE FUNCTION %s() RETURNS "
		    "trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION "
		    "'%s'; END$$; CREATE TRIGGER %s BEFORE %s ON %s FOR EACH "
		    "ROW EXECUTE FUNCTION %s()", name, msg, name, op, table,
		    name);
	else
		snprintf(sql, sizeof(sql), "CREATE TRIGGER %s BEFORE %s ON %s "
		    "BEGIN SELECT RAISE(ABORT, '%s'); END", name, op, table,
		    msg);
	ck_assert_int_eq(sql_exec(dbpath, sql), 0);
}

void
refusal_drop(const char *name, const char *table)
{
	char sql[256];

	if (pguri != NULL)
		snprintf(sql, sizeof(sql), "DROP TRIGGER %s ON %s; DROP "
		    "FUNCTION %s()", name, table, name);
	else
		snprintf(sql, sizeof(sql), "DROP TRIGGER %s", name);
	ck_assert_int_eq(sql_exec(dbpath, sql), 0);
}

int
audit_cb(const struct inv_audit *a, void *arg)
{
	struct audit_seen *as = arg;

	as->n++;
	snprintf(as->last, sizeof(as->last), "%s|%s|%s|%s|%s", a->actor,
	    a->op, a->object, a->old_value ? a->old_value : "NULL",
	    a->new_value ? a->new_value : "NULL");
	return 0;
}

/* The last audit row (about object, or any), and the number of rows. */
int
last_audit(const char *object, char *out, size_t size)
{
	struct audit_seen as = { 0, "" };

	OK(inv_audit_each(inv, object, audit_cb, &as, &err_));
	snprintf(out, size, "%s", as.last);
	return as.n;
}

/* inv_env_each()'s call: "name:group," into a struct buf. */
int
env_cb(const struct inv_env *e, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s:%s,", e->name, e->group);
	return 0;
}

/* uri with "dbname=bootd_test_icu" added, into u of size bytes. */
static void
icu_uri(const char *uri, char *u, size_t size)
{
	/* A later dbname parameter overrides the URI's path. */
	snprintf(u, size, "%s%sdbname=bootd_test_icu", uri,
	    strchr(uri, '?') != NULL ? "&" : "?");
}

/*
 * Make the tests' own database in the server of BOOTD_TEST_PG, with a
 * language's collation by default (ICU en-US: "web-2" sorts before
 * "web1"), and return its URI: what bootd sorts must not depend on it.
 */
static const char *
use_icu_db(const char *uri)
{
	static char u[512];
	struct bootd_error err = { "" };
	struct db *db;

	if (db_open(uri, DB_RDWR, &db, &err) != BOOTD_OK ||
	    db_exec(db, "DROP DATABASE IF EXISTS bootd_test_icu", &err) !=
	    BOOTD_OK || db_exec(db, "CREATE DATABASE bootd_test_icu "
	    "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
	    "LOCALE 'C'", &err) != BOOTD_OK) {
		fprintf(stderr, "test_inv: %s\n", err.text);
		exit(EXIT_FAILURE);
	}
	db_close(db);
	icu_uri(uri, u, sizeof(u));
	return u;
}

int
inv_test_main(Suite *(*suite)(void))
{
	if ((pguri = getenv("BOOTD_TEST_PG")) != NULL && *pguri == '\0')
		pguri = NULL;
	if (pguri == NULL)
		printf("BOOTD_TEST_PG not set: SQLite only\n");
	else
		pguri = use_icu_db(pguri);
	if (pguri != NULL && (sburi = getenv("BOOTD_TEST_PG_STANDBY")) !=
	    NULL && *sburi != '\0') {
		static char u[512];

		icu_uri(sburi, u, sizeof(u));
		sburi = u;
	} else
		sburi = NULL;

	return check_run(suite());
}
